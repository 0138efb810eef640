"""The `keras-lr` command: a demo, schedule previews and the LR range test.

```
keras-lr demo [--out DIR] [--steps N] [--backend NAME]
keras-lr plot SCHEDULE [--param VALUE ...] --steps N [-o out.png] [--csv out.csv]
keras-lr find MODEL.keras DATA.npz [--x-key x] [--y-key y] [--num-runs N] [-o finder.png] [--json out.json]
```

Run `keras-lr COMMAND --help` for the options of each command. The same
commands run as `python -m keras_lr`.

Keras, the backend and matplotlib are imported inside the commands, not when
this module is imported. Bad input (a missing file, an unknown name, a bad
number, a schedule argument that keras_lr rejects) prints one line,
`keras-lr: error: ...`, on stderr and returns exit code 2.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import math
import os
import re
import subprocess
import sys
import textwrap
import time
import typing
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "SCHEDULES"]

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

# Constructor arguments that cannot be given on a command line (a Python
# function) and the ones that only matter together with them.
_NOT_ON_COMMAND_LINE = {"scale_fn", "scale_mode"}
_STR_CHOICES = {"anneal_strategy": ("cos", "linear")}
_REEXEC_GUARD = "KERAS_LR_CLI_BACKEND_SWITCHED"
_SUGGESTION_NOTES = {
    "consensus": "geometric mean of valley, steepest and minimum",
    "valley": "middle of the longest descent of the loss",
    "steepest": "steepest descent of the loss against log(lr)",
    "minimum": "lowest loss / 10",
}


def _suggestion_methods() -> tuple[tuple[str, ...], str]:
    """keras_lr's suggestion methods and its default one."""
    from keras_lr import suggest

    methods = tuple(suggest.METHODS)
    return methods, getattr(suggest, "DEFAULT_METHOD", methods[0])


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


# ---------------------------------------------------------------- argument types
def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _integer(text: str, minimum: int | None = None) -> int:
    try:
        value = float(text)  # accepts 1e4 as well as 10000
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value != int(value):
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    if minimum is not None and value < minimum:
        raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
    return int(value)


def _int_at_least(minimum: int) -> typing.Callable[[str], int]:
    def parse(text: str) -> int:
        return _integer(text, minimum)

    return parse


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


def _version() -> str:
    from keras_lr import __version__

    return __version__


def _add_backend_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        help="the Keras backend to run on; the command is re-run in a new process with "
        "KERAS_BACKEND set when it differs from the current one (default: KERAS_BACKEND)",
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
        type=_int_at_least(2),
        default=150,
        metavar="N",
        help="steps of the LR range test (default: 150)",
    )
    parser.add_argument(
        "--epochs",
        type=_int_at_least(1),
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
    parser.add_argument("--seed", type=_integer, default=0, help="random seed (default: 0)")
    _add_backend_option(parser)
    parser.set_defaults(run=_run_demo)


def _add_range_options(parser: argparse.ArgumentParser, start_lr: float, note: str = "") -> None:
    """`--batch-size`, `--start-lr` and `--end-lr`, shared by `demo` and `find`."""
    parser.add_argument(
        "--batch-size",
        type=_int_at_least(1),
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
        type=_int_at_least(2),
        default=100,
        metavar="N",
        help="steps of the ramp; the data is repeated as needed (default: 100)",
    )
    parser.add_argument(
        "--mode",
        choices=("exponential", "linear"),
        default="exponential",
        help="how the LR grows (default: exponential)",
    )
    parser.add_argument(
        "--num-runs",
        type=_int_at_least(1),
        default=1,
        metavar="N",
        help="run the test N times with their own data order and seeds, average the curves "
        "and report the spread of the suggestion (default: 1)",
    )
    parser.add_argument(
        "--seed",
        type=_int_at_least(0),
        default=None,
        metavar="S",
        help="seed of the runs' data orders (default: random)",
    )
    parser.add_argument(
        "--sma",
        type=_int_at_least(1),
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
    parser.set_defaults(run=_run_find)


def _add_plot_parser(commands: Any) -> None:
    from keras_lr import schedules

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
    for name, class_name in SCHEDULES.items():
        _add_schedule_parser(families, name, getattr(schedules, class_name))
    parser.set_defaults(run=_run_plot)


def _docstring_parts(cls: type) -> tuple[str, dict[str, str]]:
    """The description (before `Args:`) and each argument's text, from a Google docstring."""
    doc = inspect.getdoc(cls) or ""
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


def _schedule_params(cls: type) -> list[inspect.Parameter]:
    signature = inspect.signature(cls.__init__)
    return [
        p
        for name, p in signature.parameters.items()
        if name != "self"
        and name not in _NOT_ON_COMMAND_LINE
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def _param_type(cls: type, param: inspect.Parameter) -> tuple[Any, dict[str, Any]]:
    """The argparse `type` and extra keywords for one constructor argument."""
    from keras_lr import schedules

    hint = typing.get_type_hints(cls.__init__).get(param.name)
    args = set(typing.get_args(hint)) - {type(None)}
    if hint is bool:
        return _boolean, {"nargs": "?", "const": True, "metavar": "BOOL"}
    if hint is int:
        return _integer, {"metavar": "INT"}
    if typing.get_origin(hint) in (Sequence, list, tuple):
        return _number_list, {"metavar": "X,X,..."}
    if hint is float or args == {float}:
        return _number, {"metavar": "X"}
    if hint is str:
        choices = _STR_CHOICES.get(param.name)
        if param.name == "mode" and cls is schedules.Cyclic:
            choices = schedules.CYCLIC_MODES
        return str, {"choices": choices} if choices else {"metavar": "TEXT"}
    return str, {"metavar": "VALUE"}


def _add_schedule_parser(families: Any, name: str, cls: type) -> None:
    description, arg_docs = _docstring_parts(cls)
    summary = description.splitlines()[0] if description else cls.__name__
    parser = families.add_parser(
        name,
        help=f"{cls.__name__}: {summary[:1].lower()}{summary[1:]}".rstrip("."),
        formatter_class=_Formatter,
        description=f"keras_lr.schedules.{cls.__name__}\n\n{description}",
    )
    group = parser.add_argument_group(f"{cls.__name__} arguments")
    for param in _schedule_params(cls):
        kind, extra = _param_type(cls, param)
        text = arg_docs.get(param.name, "")
        required = param.default is inspect.Parameter.empty and param.name != "total_steps"
        if param.name == "total_steps":
            text += " Defaults to --steps."
        elif param.default is not inspect.Parameter.empty and "Defaults to" not in text:
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
        type=_int_at_least(1),
        metavar="N",
        help="plot steps 0 .. N-1 (default: --total-steps, where the schedule has one)",
    )
    output.add_argument(
        "-o", "--output", metavar="PNG", help=f"the figure to write (default: {name}.png)"
    )
    output.add_argument("--csv", metavar="FILE", help="also write the values: step,learning_rate")
    output.add_argument("--log-y", action="store_true", help="log scale for the learning rate")
    parser.set_defaults(schedule_class=cls)


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
    backend = getattr(args, "backend", None)
    if backend is not None:
        code = _switch_backend(backend, argv)
        if code is not None:
            return code
    try:
        args.run(args)
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
    """Re-runs the command under `backend` if Keras runs on another; else None.

    Keras fixes its backend when it is first imported, which `import keras_lr`
    has already done, so another backend needs a new process.
    """
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
    return subprocess.call([sys.executable, "-m", "keras_lr", *argv], env=env)


# ---------------------------------------------------------------- helpers
def _pyplot() -> Any:
    """matplotlib.pyplot, on the headless Agg backend unless pyplot is already in use."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_figure(fig: Any, path: str) -> str:
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    try:
        fig.savefig(path, dpi=100)
    finally:
        _pyplot().close(fig)
    return path


def _status(message: str) -> None:
    print(message, flush=True)


def _existing_file(path: str, what: str) -> str:
    if not os.path.exists(path):
        raise CommandError(f"{what} not found: {path}")
    if os.path.isdir(path):
        raise CommandError(f"{what} is a directory, not a file: {path}")
    return path


def _fit_verbose() -> int:
    """Keras progress bars on a terminal, one line per epoch otherwise."""
    return 1 if sys.stdout.isatty() else 2


def _suggestions(finder: Any) -> dict[str, Any]:
    """Every suggestion of `finder`: a float, a (base, max) pair, or the reason it failed."""
    results: dict[str, Any] = {}
    for method in _suggestion_methods()[0]:
        try:
            results[method] = finder.suggestion(method)
        except ValueError as error:
            results[method] = error
    try:
        results["range"] = finder.suggest_range()
    except ValueError as error:
        results["range"] = error
    return results


def _print_suggestions(results: dict[str, Any]) -> None:
    default = _suggestion_methods()[1]
    print("Suggested learning rates:")
    for method, value in results.items():
        if isinstance(value, Exception):
            text = f"n/a ({_one_line(value)})"
        elif method == "range":
            text = f"{value[0]:.3g} .. {value[1]:.3g}  (base_lr, max_lr for CyclicLR)"
        else:
            note = _SUGGESTION_NOTES.get(method, "")
            if method == default:
                note = f"{note}; the default" if note else "the default"
            text = f"{value:<10.3g} ({note})"
        print(f"  {method:<9} {text}")


def _finder_figure(finder: Any, sma: int) -> Any:
    plt = _pyplot()
    fig, (loss_ax, change_ax) = plt.subplots(1, 2, figsize=(11, 4))
    finder.plot(ax=loss_ax, show_raw=True)
    finder.plot_loss_change(sma=sma, ax=change_ax)
    change_ax.set_title(f"Rate of loss change (sma={sma})")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- plot
def _run_plot(args: argparse.Namespace) -> None:
    import numpy as np

    from keras_lr.plotting import plot_schedule

    cls = args.schedule_class
    kwargs = {
        p.name: getattr(args, "param_" + p.name)
        for p in _schedule_params(cls)
        if getattr(args, "param_" + p.name) is not None
    }
    has_total = "total_steps" in inspect.signature(cls.__init__).parameters
    steps = args.steps
    if has_total and "total_steps" not in kwargs:
        if steps is None:
            raise CommandError(
                f"give --steps or --total-steps (see 'keras-lr plot {args.schedule} --help')"
            )
        kwargs["total_steps"] = steps
    if steps is None:
        if not has_total:
            raise CommandError(
                f"the following arguments are required: --steps "
                f"(see 'keras-lr plot {args.schedule} --help')"
            )
        steps = max(1, math.ceil(kwargs["total_steps"]))
    if "values" in kwargs:  # Piecewise's LRs; `--values` on the command line
        kwargs["values"] = list(kwargs["values"])
    schedule = cls(**kwargs)

    lrs = schedule.values(np.arange(steps))
    output = args.output or f"{args.schedule}.png"
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    plot_schedule(schedule, steps, ax=ax, log_y=args.log_y)
    ax.set_title(textwrap.fill(repr(schedule), 90), fontsize=8)
    fig.tight_layout()
    print(f"{args.schedule}: {schedule!r}")
    print(
        f"  {steps} steps; lr at step 0: {lrs[0]:.6g}, last: {lrs[-1]:.6g}, "
        f"min: {lrs.min():.6g}, max: {lrs.max():.6g}"
    )
    print(f"Wrote {_save_figure(fig, output)}")
    if args.csv:
        os.makedirs(os.path.dirname(os.path.abspath(args.csv)), exist_ok=True)
        with open(args.csv, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["step", "learning_rate"])
            writer.writerows((step, repr(float(lr))) for step, lr in enumerate(lrs))
        print(f"Wrote {args.csv}")


# ---------------------------------------------------------------- find
def _load_arrays(path: str, x_key: str, y_key: str | None) -> tuple[Any, Any]:
    import numpy as np

    _existing_file(path, "DATA file")
    try:
        data = np.load(path, allow_pickle=False)
    except ValueError:
        raise CommandError(
            f"cannot read {path}: not an .npz archive of arrays (write one with numpy.savez)"
        ) from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise CommandError(f"{path} holds a single array; save an .npz with numpy.savez")
    with data:
        keys = list(data.files)
        wanted = [("--x-key", x_key)] + ([("--y-key", y_key)] if y_key else [])
        for option, key in wanted:
            if key not in keys:
                raise CommandError(
                    f"{option} {key!r} is not in {path}; available keys: "
                    + (", ".join(repr(k) for k in keys) or "none")
                )
        return data[x_key], (data[y_key] if y_key else None)


def _run_find(args: argparse.Namespace) -> None:
    import keras

    from keras_lr import LRFinder

    _existing_file(args.model, "MODEL file")
    x, y = _load_arrays(args.data, args.x_key, args.y_key or None)
    finder = LRFinder(
        start_lr=args.start_lr,
        end_lr=args.end_lr,
        num_steps=args.num_steps,
        mode=args.mode,
        num_runs=args.num_runs,
        seed=args.seed,
        verbose=0 if args.quiet else _fit_verbose(),
    )
    if not args.quiet:
        _status(f"Loading {args.model} (backend: {keras.config.backend()})")
    try:
        model = keras.saving.load_model(args.model)
    except (ValueError, OSError, KeyError, TypeError) as error:
        raise CommandError(f"cannot load {args.model}: {_one_line(error)}") from None
    if getattr(model, "optimizer", None) is None:
        raise CommandError(
            f"{args.model} was saved without an optimizer; compile the model before "
            "saving it (model.compile(optimizer=..., loss=...))"
        )
    if args.jit_compile != "saved":
        model.jit_compile = args.jit_compile == "on"
    elif keras.config.backend() == "torch" and model.jit_compile and not args.quiet:
        _status(
            "Note: the model was saved with jit_compile=True, which means torch.compile "
            "here; pass --jit-compile off to run it eagerly"
        )
    if not args.quiet:
        _status(
            f"LR range test: {args.num_steps} steps from {args.start_lr:g} to {args.end_lr:g} "
            f"on {len(x)} samples, batch size {args.batch_size}"
        )
    finder.find(model, x, y, batch_size=args.batch_size)
    if args.num_runs > 1:
        print(f"Averaged {args.num_runs} runs: {len(finder.lrs)} points")
    else:
        print(f"Recorded {len(finder.lrs)} points; stopped because " + _stop_text(finder))
    _print_suggestions(_suggestions(finder))
    if args.num_runs > 1:
        verdict = "reliable" if finder.reliable else "NOT reliable (the runs disagree)"
        print(f"Spread of the suggestion over the runs: {finder.spread:.2f} decades: {verdict}")
    if args.output:
        print(f"Wrote {_save_figure(_finder_figure(finder, args.sma), args.output)}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        finder.save(args.json)
        print(f"Wrote {args.json}")


def _stop_text(finder: Any) -> str:
    return {
        "diverged": "the loss diverged",
        "nan": "the loss was not finite",
        "num_steps": "all steps ran",
    }.get(finder.stop_reason, "training ended")


# ---------------------------------------------------------------- demo
def _digits(seed: int) -> tuple[Any, Any, Any, Any]:
    import numpy as np

    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise ImportError(
            "the demo needs scikit-learn for its bundled digits data set: pip install scikit-learn"
        ) from None
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int32")
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=y
    )
    return np.asarray(x_train), np.asarray(x_val), np.asarray(y_train), np.asarray(y_val)


def _demo_model(kind: str) -> Any:
    import keras
    from keras import layers

    if kind == "cnn":
        model = keras.Sequential(
            [
                keras.Input((64,)),
                layers.Reshape((8, 8, 1)),
                layers.Conv2D(16, 3, padding="same", activation="relu"),
                layers.MaxPooling2D(),
                layers.Conv2D(32, 3, padding="same", activation="relu"),
                layers.GlobalAveragePooling2D(),
                layers.Dense(10, activation="softmax"),
            ],
            name="digits_cnn",
        )
    else:
        model = keras.Sequential(
            [
                keras.Input((64,)),
                layers.Dense(128, activation="relu"),
                layers.Dense(64, activation="relu"),
                layers.Dense(10, activation="softmax"),
            ],
            name="digits_mlp",
        )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _run_demo(args: argparse.Namespace) -> None:
    out = os.path.abspath(args.out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise CommandError(f"--out must be a directory: {out} is a file")
    os.makedirs(out, exist_ok=True)

    import keras

    if keras.config.backend() != "torch":
        _demo(args, out)
        return
    # A model this small runs fastest on one thread; on a busy CPU, PyTorch's
    # thread pool can be ten times slower. Put the setting back afterwards.
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _demo(args, out)
    finally:
        torch.set_num_threads(threads)


def _demo(args: argparse.Namespace, out: str) -> None:
    started = time.perf_counter()

    import keras

    import keras_lr

    def elapsed() -> str:
        return f"{time.perf_counter() - started:.1f}s"

    verbose = _fit_verbose()
    _status(f"keras-lr demo: Keras {keras.__version__} on {keras.config.backend()}")
    keras.utils.set_random_seed(args.seed)
    x_train, x_val, y_train, y_val = _digits(args.seed)
    _status(
        f"[1/4] Digits: {len(x_train)} training and {len(x_val)} validation images (8x8); "
        f"a small {args.model.upper()} with Adam"
    )
    model = _demo_model(args.model)

    finder = keras_lr.LRFinder(
        start_lr=args.start_lr, end_lr=args.end_lr, num_steps=args.steps, verbose=verbose
    )
    _status(
        f"[2/4] LR range test: {args.steps} steps, lr from {args.start_lr:g} to "
        f"{args.end_lr:g} ({elapsed()})"
    )
    finder.find(model, x_train, y_train, batch_size=args.batch_size)
    results = _suggestions(finder)
    _print_suggestions(results)
    # The chosen suggestion, else the first one this (possibly short) test allows.
    methods = [args.suggestion] + [m for m in results if m not in (args.suggestion, "range")]
    method = next((m for m in methods if isinstance(results.get(m), float)), None)
    if method is None:
        peak_lr, method = 1e-3, "fallback"
        _status("      no suggestion from so short a test; using lr=1e-3 (try more --steps)")
    else:
        peak_lr = results[method]
        if method != args.suggestion:
            _status(f"      no {args.suggestion!r} suggestion from this test; using {method!r}")
    figure = _finder_figure(finder, sma=5)
    finder_png = _save_figure(figure, os.path.join(out, "lr_finder.png"))
    finder_json = os.path.join(out, "lr_finder.json")
    finder.save(finder_json)

    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    total_steps = args.epochs * steps_per_epoch
    warmup_steps = total_steps // 10
    scheduler = keras_lr.WarmupCosineDecay(
        peak_lr=peak_lr,
        total_steps=total_steps,
        warmup_steps=warmup_steps,
        min_lr=peak_lr / 100,
    )
    logger = keras_lr.LRLogger(per_batch=True)
    _status(
        f"[3/4] Training {args.epochs} epoch{'s' if args.epochs != 1 else ''} ({total_steps} steps): warmup {warmup_steps} "
        f"steps to peak lr {peak_lr:.3g}, cosine down to {peak_lr / 100:.3g} ({elapsed()})"
    )
    history = model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(x_val, y_val),
        callbacks=[scheduler, logger],
        verbose=verbose,
    )

    _status(f"[4/4] Plots and evaluation ({elapsed()})")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    keras_lr.plot_schedule(scheduler.schedule, total_steps, ax=ax, label="WarmupCosine")
    ax.plot(
        logger.history["step"],
        logger.history["learning_rate"],
        ".",
        ms=3,
        color="C1",
        label="LR applied (LRLogger)",
    )
    ax.set_title(
        f"WarmupCosineDecay, peak lr {peak_lr:.3g} (the range test's {method!r} suggestion)"
    )
    ax.legend()
    fig.tight_layout()
    schedule_png = _save_figure(fig, os.path.join(out, "schedule.png"))

    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4))
    keras_lr.plot_history(history, keys=["loss", "val_loss"], ax=loss_ax)
    keras_lr.plot_history(history, keys=["accuracy", "val_accuracy"], ax=acc_ax)
    loss_ax.set_title("Loss")
    acc_ax.set_title("Accuracy")
    fig.tight_layout()
    history_png = _save_figure(fig, os.path.join(out, "history.png"))

    val_loss, val_accuracy = model.evaluate(x_val, y_val, verbose=0)
    print(f"Validation accuracy: {val_accuracy:.4f} (loss {val_loss:.4f})")
    print(f"Done in {elapsed()}. Files in {out}:")
    for path in (finder_png, schedule_png, history_png, finder_json):
        print(f"  {os.path.basename(path)}")


if __name__ == "__main__":
    sys.exit(main())
