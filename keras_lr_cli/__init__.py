"""The `keras-lr` command's entry point: argument parsing without Keras.

```
keras-lr demo [--out DIR] [--steps N] [--backend NAME]
keras-lr plot SCHEDULE [--param VALUE ...] --steps N [-o out.png] [--csv out.csv]
keras-lr find MODEL.keras DATA.npz [--x-key x] [--y-key y] [--num-runs N] [-o finder.png] [--json out.json]
```

Run `keras-lr COMMAND --help` for the options of each command. The same
commands run as `python -m keras_lr_cli` and `python -m keras_lr`.

This module is outside the `keras_lr` package on purpose: `import keras_lr`
imports Keras and a backend (several seconds), which `--help` and a mistyped
argument should not wait for. So this module imports only the standard
library. It reads the schedules' constructor arguments and docstrings from
the source of `keras_lr/schedules.py` (with `ast`, without running it), checks
every argument, input file and output path, and only then imports
`keras_lr.cli`, which runs the command with Keras.

Bad input (a missing file, swapped arguments, an unknown name, a bad number,
an output that cannot be written, a schedule argument that keras_lr rejects)
prints one line, `keras-lr: error: ...`, on stderr and returns exit code 2,
before any training starts.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import inspect
import math
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import typing
import zipfile
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "SCHEDULES", "CommandError"]

PROG = "keras-lr"
BACKENDS = ("tensorflow", "jax", "torch")

#: `keras-lr plot` names and the `keras_lr.schedules` class each one builds.
SCHEDULES = {
    "constant": "Constant",
    "exponential": "ExponentialDecay",
    "step": "StepDecay",
    "polynomial": "Polynomial",
    "piecewise": "Piecewise",
    "warmup-cosine": "WarmupCosine",
    "cyclic": "Cyclic",
    "one-cycle": "OneCycle",
}

#: The most steps `keras-lr plot` evaluates (`keras_lr.plotting.MAX_PLOT_STEPS`).
MAX_PLOT_STEPS = 10_000_000
#: The most steps of a range test from the command line (`find --num-steps`, `demo --steps`).
MAX_RANGE_TEST_STEPS = 1_000_000
#: The largest integer any option takes (int64's maximum).
MAX_INT = 2**63 - 1
#: The figure formats matplotlib writes with its default backends.
FIGURE_FORMATS = (
    "png", "pdf", "svg", "svgz", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp", "pgf", "raw",
    "rgba", "avif",
)  # fmt: skip

# Constructor arguments that cannot be given on a command line (a Python
# function) and the ones that only matter together with them.
_NOT_ON_COMMAND_LINE = {"scale_fn", "scale_mode"}
_STR_CHOICES = {"anneal_strategy": ("cos", "linear")}
_REEXEC_GUARD = "KERAS_LR_CLI_BACKEND_SWITCHED"


class CommandError(Exception):
    """A problem with the user's input, reported as one line with exit code 2."""


class _UsageError(Exception):
    """An argparse error, reported as one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose errors are one line and do not exit the process."""

    def error(self, message: str) -> typing.NoReturn:
        raise _UsageError(f"{message} (see '{self.prog} --help')")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=min(100, _terminal_width()))


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns - 2
    except OSError:
        return 98


# ---------------------------------------------------------------- keras_lr's source, read
def _package_dir() -> str | None:
    """The directory of the `keras_lr` package, found without importing it."""
    spec = importlib.util.find_spec("keras_lr")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return locations[0] if locations else None


def _module_tree(name: str) -> ast.Module | None:
    """The syntax tree of `keras_lr/<name>.py`, or None without its source."""
    directory = _package_dir()
    path = os.path.join(directory, f"{name}.py") if directory else None
    if path is None or not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return ast.parse(f.read(), path)


def _constant(tree: ast.Module | None, name: str) -> Any:
    """The literal value of a module-level `name = ...`, or None."""
    for node in tree.body if tree else []:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name) and target.id == name:
                try:
                    return ast.literal_eval(node.value)
                except ValueError:
                    return None
    return None


class _Param(typing.NamedTuple):
    """One constructor argument of a schedule, as the parser needs it."""

    name: str
    annotation: str  # as written in the source, e.g. "float | None"
    default: Any  # inspect.Parameter.empty when required


class _ScheduleSpec(typing.NamedTuple):
    class_name: str
    doc: str
    params: list[_Param]


def _schedule_specs() -> dict[str, _ScheduleSpec]:
    """Each `keras-lr plot` schedule's docstring and constructor arguments.

    Read from the source of `keras_lr/schedules.py`; imported (slowly) only
    when the source is not there.
    """
    tree = _module_tree("schedules")
    classes = {
        node.name: node for node in (tree.body if tree else []) if isinstance(node, ast.ClassDef)
    }
    if not all(class_name in classes for class_name in SCHEDULES.values()):
        return _imported_schedule_specs()
    specs = {}
    for name, class_name in SCHEDULES.items():
        node = classes[class_name]
        init = next(
            (f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"),
            None,
        )
        if init is None:
            return _imported_schedule_specs()
        specs[name] = _ScheduleSpec(class_name, ast.get_docstring(node) or "", _params(init))
    return specs


def _params(init: ast.FunctionDef) -> list[_Param]:
    args = init.args
    positional = args.posonlyargs + args.args
    defaults: list[Any] = [inspect.Parameter.empty] * (len(positional) - len(args.defaults))
    defaults += [ast.literal_eval(d) for d in args.defaults]
    kw_defaults = [
        inspect.Parameter.empty if d is None else ast.literal_eval(d) for d in args.kw_defaults
    ]
    params = []
    for arg, default in zip(positional + args.kwonlyargs, defaults + kw_defaults):
        if arg.arg == "self" or arg.arg in _NOT_ON_COMMAND_LINE:
            continue
        annotation = ast.unparse(arg.annotation) if arg.annotation is not None else ""
        params.append(_Param(arg.arg, annotation, default))
    return params


def _imported_schedule_specs() -> dict[str, _ScheduleSpec]:
    from keras_lr import schedules

    specs = {}
    for name, class_name in SCHEDULES.items():
        cls = getattr(schedules, class_name)
        params = [
            _Param(p.name, _annotation_text(p.annotation), p.default)
            for p in inspect.signature(cls.__init__).parameters.values()
            if p.name != "self"
            and p.name not in _NOT_ON_COMMAND_LINE
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        specs[name] = _ScheduleSpec(class_name, inspect.getdoc(cls) or "", params)
    return specs


def _annotation_text(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    return getattr(annotation, "__name__", str(annotation))


def _version() -> str:
    version = _constant(_module_tree("__init__"), "__version__")
    if isinstance(version, str):
        return version
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("keras-lr")
    except PackageNotFoundError:
        return "unknown"


def _suggestion_methods() -> tuple[tuple[str, ...], str]:
    """keras_lr's suggestion methods and its default one (from `keras_lr/suggest.py`)."""
    tree = _module_tree("suggest")
    methods, default = _constant(tree, "METHODS"), _constant(tree, "DEFAULT_METHOD")
    if not isinstance(methods, tuple) or not isinstance(default, str):
        from keras_lr import suggest

        methods, default = tuple(suggest.METHODS), suggest.DEFAULT_METHOD
    return methods, default


# ---------------------------------------------------------------- argument types
def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _integer(text: str, minimum: int | None = None, maximum: int = MAX_INT) -> int:
    try:
        value = int(text.strip().replace("_", ""))
    except ValueError:
        try:
            number = float(text)  # accepts 1e4 as well as 10000
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number != int(number):
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        value = int(number)
    if minimum is not None and value < minimum:
        raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
    if value > maximum:
        raise argparse.ArgumentTypeError(f"must be an integer <= {maximum}, got {text!r}")
    return value


def _int_in(minimum: int, maximum: int = MAX_INT) -> typing.Callable[[str], int]:
    def parse(text: str) -> int:
        return _integer(text, minimum, maximum)

    return parse


def _any_integer(text: str) -> int:
    return _integer(text, -MAX_INT - 1)


def _positive_number(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on", "y", "t"):
        return True
    if lowered in ("0", "false", "no", "off", "n", "f"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _number_list(text: str) -> list[float]:
    items = [item for item in re.split(r"[,\s]+", text.strip()) if item]
    if not items:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")
    try:
        return [_number(item) for item in items]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers (e.g. 100,200), got {text!r}"
        ) from None


# ---------------------------------------------------------------- parser
def _build_parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        formatter_class=_Formatter,
        allow_abbrev=False,
        description=textwrap.dedent(
            """\
            Learning-rate tools for Keras 3 (TensorFlow, JAX, PyTorch): the LR range
            test, schedule previews, and a worked demo.

            The Keras backend comes from KERAS_BACKEND (or ~/.keras/keras.json);
            `demo` and `find` also take --backend."""
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              keras-lr demo --out ./keras-lr-demo
              keras-lr plot cyclic --base-lr 1e-3 --max-lr 6e-3 --step-size 500 \\
                  --mode triangular2 --steps 4000 -o clr.png --csv clr.csv
              keras-lr plot piecewise --boundaries 100,200 --values 0.1,0.01,0.001 \\
                  --steps 300 -o piecewise.png
              keras-lr find model.keras data.npz --num-steps 200 -o finder.png --json finder.json

            `keras-lr COMMAND --help` lists the options of a command, and
            `keras-lr plot SCHEDULE --help` the arguments of a schedule."""
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_demo_parser(commands)
    _add_plot_parser(commands)
    _add_find_parser(commands)
    return parser


def _add_backend_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        help="the Keras backend to run on (default: KERAS_BACKEND); when Keras is already "
        "running on another one, the command is re-run in a new process",
    )


def _add_demo_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "demo",
        help="LR range test and warmup-cosine training on scikit-learn's digits",
        formatter_class=_Formatter,
        description=textwrap.dedent(
            """\
            A worked example on scikit-learn's bundled digits (8x8 images, no download):

              1. builds a small MLP (or a tiny CNN) with Adam;
              2. runs the LR range test (LRFinder.find) and prints every suggested LR
                 (LRFinder.suggestion) and a CyclicLR range (suggest_range);
              3. trains with WarmupCosineDecay peaking at the suggested LR (keras_lr's
                 default suggestion, or --suggestion), logging the LR with LRLogger;
              4. writes lr_finder.png, schedule.png, history.png (and
                 lr_finder.json) and prints the validation accuracy.

            It takes well under a minute on a laptop CPU."""
        ),
    )
    parser.add_argument(
        "--out",
        default="keras-lr-demo",
        metavar="DIR",
        help="where the figures go; created if needed (default: ./keras-lr-demo)",
    )
    parser.add_argument(
        "--steps",
        type=_int_in(2, MAX_RANGE_TEST_STEPS),
        default=150,
        metavar="N",
        help=f"steps of the LR range test, at most {MAX_RANGE_TEST_STEPS} (default: 150)",
    )
    parser.add_argument(
        "--epochs",
        type=_int_in(1),
        default=10,
        metavar="N",
        help="training epochs (default: 10)",
    )
    _add_range_options(parser, start_lr=1e-4, note="; lower LRs do nothing for Adam here")
    parser.add_argument(
        "--model",
        choices=("mlp", "cnn"),
        default="mlp",
        help="a small MLP, or a tiny CNN on the 8x8 images (default: mlp)",
    )
    methods, default = _suggestion_methods()
    parser.add_argument(
        "--suggestion",
        choices=methods,
        default=default,
        help=f"the suggestion to train at (default: {default}, keras_lr's default)",
    )
    parser.add_argument(
        "--seed", type=_int_in(0, 2**32 - 1), default=0, help="random seed (default: 0)"
    )
    _add_backend_option(parser)
    parser.set_defaults(run="demo")


def _add_range_options(parser: argparse.ArgumentParser, start_lr: float, note: str = "") -> None:
    """`--batch-size`, `--start-lr` and `--end-lr`, shared by `demo` and `find`."""
    parser.add_argument(
        "--batch-size",
        type=_int_in(1),
        default=64,
        metavar="N",
        help="batch size (default: 64)",
    )
    parser.add_argument(
        "--start-lr",
        type=_positive_number,
        default=start_lr,
        metavar="LR",
        help=f"LR of the first step of the range test (default: {start_lr:g}{note})",
    )
    parser.add_argument(
        "--end-lr",
        type=_positive_number,
        default=10.0,
        metavar="LR",
        help="LR of the last step of the range test (default: 10)",
    )


def _add_find_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "find",
        help="run the LR range test on a saved model and arrays from an .npz file",
        formatter_class=_Formatter,
        description=textwrap.dedent(
            """\
            Loads a saved, compiled Keras model (keras.saving.load_model) and the
            arrays X_KEY and Y_KEY of an .npz file (numpy.savez), runs the LR range
            test (keras_lr.LRFinder.find) and prints the suggested learning rates.
            The model file is not modified."""
        ),
        epilog="example:\n  keras-lr find model.keras data.npz --num-steps 200 -o finder.png"
        " --json finder.json",
    )
    parser.add_argument("model", metavar="MODEL.keras", help="a saved, compiled Keras model")
    parser.add_argument("data", metavar="DATA.npz", help="an .npz file with the inputs and targets")
    parser.add_argument("--x-key", default="x", help="the inputs' key in DATA.npz (default: x)")
    parser.add_argument(
        "--y-key",
        default="y",
        help="the targets' key in DATA.npz; an empty string for none (default: y)",
    )
    _add_range_options(parser, start_lr=1e-7)
    parser.add_argument(
        "--num-steps",
        type=_int_in(2, MAX_RANGE_TEST_STEPS),
        default=100,
        metavar="N",
        help="steps of the ramp; the data is repeated as needed; at most "
        f"{MAX_RANGE_TEST_STEPS} (default: 100)",
    )
    parser.add_argument(
        "--mode",
        choices=("exponential", "linear"),
        default="exponential",
        help="how the LR grows (default: exponential)",
    )
    parser.add_argument(
        "--num-runs",
        type=_int_in(1, 1000),
        default=1,
        metavar="N",
        help="run the test N times with their own data order and seeds, average the curves "
        "and report the spread of the suggestion (default: 1)",
    )
    parser.add_argument(
        "--seed",
        type=_int_in(0),
        default=None,
        metavar="S",
        help="seed of the runs' data orders (default: random)",
    )
    parser.add_argument(
        "--sma",
        type=_int_in(1),
        default=5,
        metavar="N",
        help="moving window of the loss-change panel of the plot (default: 5)",
    )
    parser.add_argument(
        "-o", "--output", metavar="PNG", help="write the finder plot (loss and loss change)"
    )
    parser.add_argument("--json", metavar="FILE", help="write the recorded curve (LRFinder.save)")
    parser.add_argument(
        "--jit-compile",
        choices=("saved", "on", "off"),
        default="saved",
        help="XLA / torch.compile for the test: as saved with the model, or on, or off "
        "(default: saved; a model saved on JAX or TensorFlow loads with jit_compile=True, "
        "which on torch means a slow torch.compile: use off)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_backend_option(parser)
    parser.set_defaults(run="find")


def _add_plot_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "plot",
        help="preview a learning-rate schedule (PNG, and optionally CSV) without training",
        formatter_class=_Formatter,
        description=textwrap.dedent(
            """\
            Evaluates a keras_lr schedule at steps 0 .. N-1 and plots it. The
            schedule's constructor arguments are options in kebab-case:
            `--base-lr 1e-3`, `--step-size 500`, `--boundaries 100,200`,
            `--three-phase true`. `keras-lr plot SCHEDULE --help` lists them."""
        ),
        epilog="schedules (keras_lr.schedules class):\n"
        + "\n".join(f"  {name:<15} {cls}" for name, cls in SCHEDULES.items()),
    )
    families = parser.add_subparsers(
        dest="schedule", metavar="SCHEDULE", required=True, parser_class=_Parser
    )
    cyclic_modes = _constant(_module_tree("schedules"), "CYCLIC_MODES")
    for name, spec in _schedule_specs().items():
        _add_schedule_parser(families, name, spec, cyclic_modes)
    parser.set_defaults(run="plot")


def _docstring_parts(doc: str) -> tuple[str, dict[str, str]]:
    """The description (before `Args:`) and each argument's text, from a Google docstring."""
    description, _, rest = doc.partition("\nArgs:\n")
    args: dict[str, str] = {}
    current = None
    for line in rest.splitlines():
        if not line.strip():
            break
        match = re.match(r"^ {4}(\w+): (.*)$", line)
        if match:
            current = match.group(1)
            args[current] = match.group(2).strip()
        elif current is not None:
            args[current] += " " + line.strip()
    return description.strip(), args


def _param_type(
    spec: _ScheduleSpec, param: _Param, cyclic_modes: Any
) -> tuple[Any, dict[str, Any]]:
    """The argparse `type` and extra keywords for one constructor argument."""
    hint = param.annotation.replace(" ", "")
    if hint == "bool":
        return _boolean, {"nargs": "?", "const": True, "metavar": "BOOL"}
    if hint == "int":
        return _any_integer, {"metavar": "INT"}
    if re.match(r"^(Sequence|list|tuple)\[", hint):
        return _number_list, {"metavar": "X,X,..."}
    if hint in ("float", "float|None", "Optional[float]"):
        return _number, {"metavar": "X"}
    if hint == "str":
        choices = _STR_CHOICES.get(param.name)
        if param.name == "mode" and spec.class_name == "Cyclic" and cyclic_modes:
            choices = tuple(cyclic_modes)
        return str, {"choices": choices} if choices else {"metavar": "TEXT"}
    return str, {"metavar": "VALUE"}


def _add_schedule_parser(families: Any, name: str, spec: _ScheduleSpec, cyclic_modes: Any) -> None:
    description, arg_docs = _docstring_parts(spec.doc)
    summary = description.splitlines()[0] if description else spec.class_name
    parser = families.add_parser(
        name,
        help=f"{spec.class_name}: {summary[:1].lower()}{summary[1:]}".rstrip("."),
        formatter_class=_Formatter,
        description=f"keras_lr.schedules.{spec.class_name}\n\n{description}",
    )
    group = parser.add_argument_group(f"{spec.class_name} arguments")
    for param in spec.params:
        kind, extra = _param_type(spec, param, cyclic_modes)
        text = arg_docs.get(param.name, "")
        empty = param.default is inspect.Parameter.empty
        required = empty and param.name != "total_steps"
        if param.name == "total_steps":
            text += " Defaults to --steps."
        elif not empty and "Defaults to" not in text:
            text += f" Defaults to {param.default}."
        group.add_argument(
            "--" + param.name.replace("_", "-"),
            dest="param_" + param.name,
            type=kind,
            required=required,
            default=None,
            help=text.replace("%", "%%"),
            **extra,
        )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--steps",
        type=_int_in(1, MAX_PLOT_STEPS),
        metavar="N",
        help="plot steps 0 .. N-1, at most "
        f"{MAX_PLOT_STEPS} (default: --total-steps, where the schedule has one)",
    )
    output.add_argument(
        "-o", "--output", metavar="PNG", help=f"the figure to write (default: {name}.png)"
    )
    output.add_argument("--csv", metavar="FILE", help="also write the values: step,learning_rate")
    output.add_argument("--log-y", action="store_true", help="log scale for the learning rate")
    parser.set_defaults(
        schedule_class_name=spec.class_name,
        schedule_params=[p.name for p in spec.params],
    )


# ---------------------------------------------------------------- checks before running
def _existing_file(path: str, what: str) -> str:
    if not os.path.exists(path):
        raise CommandError(f"{what} not found: {path}")
    if os.path.isdir(path):
        raise CommandError(f"{what} is a directory, not a file: {path}")
    return path


def _file_kind(path: str) -> str | None:
    """What a file holds, from its first bytes: "npz", "keras", "h5", "npy", or None."""
    try:
        with open(path, "rb") as f:
            magic = f.read(8)
        if magic.startswith(b"\x93NUMPY"):
            return "npy"
        if magic.startswith(b"\x89HDF\r\n\x1a\n"):
            return "h5"
        if not zipfile.is_zipfile(path):
            return None
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return None
    if "config.json" in names or "metadata.json" in names:
        return "keras"
    if names and all(name.endswith(".npy") for name in names):
        return "npz"
    return None


def _check_find_inputs(model: str, data: str) -> None:
    """The model and data files exist and are not swapped."""
    _existing_file(model, "MODEL file")
    _existing_file(data, "DATA file")
    model_kind, data_kind = _file_kind(model), _file_kind(data)
    if model_kind in ("npz", "npy") and data_kind in ("keras", "h5"):
        raise CommandError(
            f"the arguments look swapped: {model} holds arrays and {data} a model; "
            f"the model comes first: keras-lr find {data} {model}"
        )
    if model_kind in ("npz", "npy"):
        raise CommandError(
            f"MODEL.keras must be a saved Keras model, but {model} holds numpy arrays "
            "(the first argument is the model, the second the data)"
        )
    if data_kind in ("keras", "h5"):
        raise CommandError(
            f"DATA.npz must be an .npz archive of arrays, but {data} is a saved Keras model "
            "(the first argument is the model, the second the data)"
        )


def _check_output_file(path: str | None, option: str, *, figure: str | None = None) -> None:
    """`path` can be written as a file: not a directory, in a writable place,
    and for a figure (`figure`: an example file name), with a format's extension.

    Checked before the command runs, so that a long range test does not end
    in an error about its output.
    """
    if path is None:
        return
    if not path or path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise CommandError(
            f"{option} must be a file name, not a directory: {path!r}"
            + (f" (e.g. {os.path.join(path or '.', figure)})" if figure else "")
        )
    if figure:
        extension = os.path.splitext(path)[1].lower().lstrip(".")
        if extension not in FIGURE_FORMATS:
            raise CommandError(
                f"{option} must end in a figure format such as .png, .pdf or .svg "
                f"(one of {', '.join('.' + f for f in FIGURE_FORMATS)}): {path!r}"
            )
    _check_writable(path, option, is_dir=False)


def _check_output_dir(path: str, option: str) -> None:
    if os.path.exists(path) and not os.path.isdir(path):
        raise CommandError(f"{option} must be a directory: {os.path.abspath(path)} is a file")
    _check_writable(path, option, is_dir=True)


def _check_writable(path: str, option: str, *, is_dir: bool) -> None:
    """Tries to create `path` (or a scratch entry in it) and removes what it made."""
    path = os.path.abspath(path)
    ancestor = path if is_dir else os.path.dirname(path)
    while not os.path.exists(ancestor):
        parent = os.path.dirname(ancestor)
        if parent == ancestor:
            break
        ancestor = parent
    if not os.path.isdir(ancestor):
        raise CommandError(f"cannot write {option} {path}: {ancestor} is not a directory")
    try:
        if ancestor != (path if is_dir else os.path.dirname(path)):
            os.rmdir(tempfile.mkdtemp(dir=ancestor, prefix=".keras-lr-check-"))
        elif is_dir:
            os.remove(tempfile.mkstemp(dir=ancestor, prefix=".keras-lr-check-")[1])
        else:
            existed = os.path.exists(path)
            with open(path, "ab"):
                pass
            if not existed:
                os.remove(path)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise CommandError(f"cannot write {option} {path}: {reason}") from None


def _check_distinct(files: Sequence[tuple[str | None, str]]) -> None:
    """Refuses two options naming one file: an output would overwrite an input or another output."""
    seen: dict[str, str] = {}
    for path, option in files:
        if path is None:
            continue
        key = os.path.normcase(os.path.realpath(path))
        if key in seen:
            raise CommandError(
                f"{seen[key]} and {option} name the same file ({os.path.abspath(path)}): "
                "one would overwrite the other; give them different names"
            )
        seen[key] = option


def _check_args(args: argparse.Namespace) -> None:
    """Every check that needs no Keras, before the command runs."""
    if args.run == "find":
        _check_find_inputs(args.model, args.data)
        _check_distinct(
            [
                (args.model, "MODEL"),
                (args.data, "DATA"),
                (args.output, "-o/--output"),
                (args.json, "--json"),
            ]
        )
        _check_output_file(args.output, "-o/--output", figure="finder.png")
        _check_output_file(args.json, "--json")
    elif args.run == "plot":
        steps = args.steps
        total = getattr(args, "param_total_steps", None)
        if steps is None and total is not None and math.ceil(total) > MAX_PLOT_STEPS:
            raise CommandError(
                f"--total-steps {total:g} would plot more than {MAX_PLOT_STEPS} steps; "
                "give --steps N to plot the first N"
            )
        output = args.output or f"{args.schedule}.png"
        _check_distinct([(output, "-o/--output"), (args.csv, "--csv")])
        _check_output_file(output, "-o/--output", figure=f"{args.schedule}.png")
        _check_output_file(args.csv, "--csv")
    elif args.run == "demo":
        _check_output_dir(args.out, "--out")


# ---------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    """Runs the `keras-lr` command.

    Args:
        argv: the arguments, without the program name; defaults to
            `sys.argv[1:]`.

    Returns:
        The exit code: 0 on success, 2 for bad input (after a one-line
        `keras-lr: error: ...` on stderr), 1 for other failures, 130 when
        interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _build_parser().parse_args(argv)
    except _UsageError as error:
        return _fail(str(error))
    except SystemExit as exit_:  # --help and --version
        return exit_.code if isinstance(exit_.code, int) else 0
    if args.command is None:
        return _fail("a command is required: demo, plot or find (see 'keras-lr --help')")
    try:
        _check_args(args)
    except CommandError as error:
        return _fail(str(error))
    backend = getattr(args, "backend", None)
    if backend is not None:
        code = _switch_backend(backend, argv)
        if code is not None:
            return code
    try:
        from keras_lr import cli

        getattr(cli, f"_run_{args.run}")(args)
    except CommandError as error:
        return _fail(str(error))
    except (ValueError, OSError, KeyError) as error:
        return _fail(_one_line(error))
    except ImportError as error:
        return _fail(_one_line(error), code=1)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0


def _one_line(error: BaseException) -> str:
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    text = " ".join(str(text).split()) or type(error).__name__
    if isinstance(error, OSError) and error.filename and str(error.filename) not in text:
        text = f"{text}: {error.filename}"
    return text


def _fail(message: str, code: int = 2) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return code


def _switch_backend(backend: str, argv: list[str]) -> int | None:
    """Selects `backend` for Keras; re-runs the command if Keras runs on another.

    Before Keras is imported, setting KERAS_BACKEND is enough. Keras fixes its
    backend when it is first imported, so once it is (when `main` is called
    from Python), another backend needs a new process.
    """
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = backend
        return None
    import keras

    if keras.config.backend() == backend:
        return None
    if os.environ.get(_REEXEC_GUARD):
        return _fail(
            f"could not switch to the {backend} backend: Keras still runs on "
            f"{keras.config.backend()} with KERAS_BACKEND={backend}",
            code=1,
        )
    print(f"{PROG}: switching to the {backend} backend (new process)", flush=True)
    env = dict(os.environ, KERAS_BACKEND=backend, **{_REEXEC_GUARD: "1"})
    return subprocess.call([sys.executable, "-m", "keras_lr_cli", *argv], env=env)


if __name__ == "__main__":
    sys.exit(main())
