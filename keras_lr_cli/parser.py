"""The `keras-lr` command's parser and input checks: the standard library only.

`build_parser()` makes the `argparse` parser from the option table
(`keras_lr_cli.options`); `check_args` checks the input files and output
paths. Neither imports Keras, numpy or keras_lr's other modules, so `--help`
and bad input answer at once; `keras_lr_cli.commands` does the work.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import tempfile
import textwrap
import typing
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

from keras_lr_cli.options import (
    DEMO_OPTIONS,
    FIND_OPTIONS,
    MAX_INT,
    MAX_PLOT_STEPS,
    PLOT_OUTPUT_OPTIONS,
    REQUIRED,
    SCHEDULE_FAMILIES,
    Option,
    Param,
    ScheduleFamily,
)

__all__ = ["PROG", "CommandError", "UsageError", "build_parser", "check_args", "one_line"]

PROG = "keras-lr"

#: The figure formats matplotlib writes with its default backends.
FIGURE_FORMATS = (
    "png", "pdf", "svg", "svgz", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp", "pgf", "raw",
    "rgba", "avif",
)  # fmt: skip


class CommandError(Exception):
    """A problem with the user's input, reported as one line with exit code 2."""


class UsageError(Exception):
    """An argparse error, reported as one line with exit code 2."""


def one_line(error: BaseException) -> str:
    """The message of `error` on one line (a KeyError without its quotes, an OSError with its file)."""
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    text = " ".join(str(text).split()) or type(error).__name__
    if isinstance(error, OSError) and error.filename and str(error.filename) not in text:
        text = f"{text}: {error.filename}"
    return text


class _Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose errors are one line and do not exit the process."""

    def error(self, message: str) -> typing.NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


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


def _int_in(minimum: int | None, maximum: int = MAX_INT) -> Callable[[str], int]:
    def parse(text: str) -> int:
        return _integer(text, minimum, maximum)

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


# Each `Param.kind`: the argparse `type` and extra keywords.
_PARAM_KINDS: dict[str, tuple[Callable[[str], Any], dict[str, Any]]] = {
    "float": (_number, {"metavar": "X"}),
    "float_or_none": (_number, {"metavar": "X"}),
    "int": (_int_in(-MAX_INT - 1), {"metavar": "INT"}),
    "bool": (_boolean, {"nargs": "?", "const": True, "metavar": "BOOL"}),
    "floats": (_number_list, {"metavar": "X,X,..."}),
    "str": (str, {"metavar": "TEXT"}),
}


# ---------------------------------------------------------------- parser
def version() -> str:
    """The installed keras-lr's version, read without importing `keras_lr` (which imports Keras)."""
    from importlib import metadata

    try:
        return metadata.version("keras-lr")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The `keras-lr` parser, built from the option table; its errors raise `UsageError`."""
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
              keras-lr find model.keras data.npz --trials -o finder.png

            `keras-lr COMMAND --help` lists the options of a command, and
            `keras-lr plot SCHEDULE --help` the arguments of a schedule."""
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    demo = commands.add_parser(
        "demo",
        help="LR range test and warmup-cosine training on generated 8x8 images",
        formatter_class=_Formatter,
        description=textwrap.dedent(
            """\
            A worked example on 10 classes of 8x8 images generated with numpy
            (noisy, shifted copies of 10 random patterns; no download):

              1. builds a small MLP (or a tiny CNN) with Adam;
              2. runs the LR range test (LRFinder.find) and prints every suggested LR
                 (LRFinder.suggestion) and a CyclicLR range (suggest_range);
              3. trains with WarmupCosineLR peaking at the suggested LR (keras_lr's
                 default suggestion, or --suggestion), logging the LR with LRLogger;
              4. writes lr_finder.png, schedule.png, history.png (and
                 lr_finder.json) and prints the validation accuracy.

            It takes well under a minute on a laptop CPU."""
        ),
    )
    _add_options(demo, DEMO_OPTIONS)
    demo.set_defaults(run="demo")
    find = commands.add_parser(
        "find",
        help="run the LR range test on a saved model and arrays from an .npz file",
        formatter_class=_Formatter,
        description=textwrap.dedent(
            """\
            Loads a saved, compiled Keras model (keras.saving.load_model) and the
            arrays X_KEY and Y_KEY of an .npz file (numpy.savez), runs the LR range
            test (keras_lr.LRFinder.find) and prints the suggested learning rates.
            With --trials, short trials of a few candidate LRs then decide
            (keras_lr.LRFinder.confirm). The model file is not modified."""
        ),
        epilog="example:\n  keras-lr find model.keras data.npz --num-steps 200 -o finder.png"
        " --json finder.json",
    )
    _add_options(find, FIND_OPTIONS)
    find.set_defaults(run="find")
    _add_plot_parser(commands)
    return parser


def _add_options(parser: argparse.ArgumentParser, options: Sequence[Option]) -> None:
    for option in options:
        keywords: dict[str, Any] = {"help": _help_text(option)}
        if option.kind == "flag":
            keywords["action"] = "store_true"
        else:
            keywords["type"] = {
                "int": _int_in(option.minimum, option.maximum),
                "positive": _positive_number,
                "str": str,
                "choice": str,
            }[option.kind]
            if option.choices is not None:
                keywords["choices"] = option.choices
            if option.metavar is not None:
                keywords["metavar"] = option.metavar
        if option.flags[0].startswith("-"):
            parser.add_argument(*option.flags, dest=option.dest, default=option.default, **keywords)
        else:
            parser.add_argument(option.flags[0], **keywords)


def _help_text(option: Option) -> str:
    text = option.help
    if option.kind != "flag" and option.default is not None and "default" not in text:
        text += f" (default: {option.default})"
    return text.replace("%", "%%")


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
        + "\n".join(f"  {f.name:<15} {f.class_name}" for f in SCHEDULE_FAMILIES),
    )
    families = parser.add_subparsers(
        dest="schedule", metavar="SCHEDULE", required=True, parser_class=_Parser
    )
    for family in SCHEDULE_FAMILIES:
        _add_schedule_parser(families, family)
    parser.set_defaults(run="plot")


def _add_schedule_parser(families: Any, family: ScheduleFamily) -> None:
    parser = families.add_parser(
        family.name,
        help=f"{family.class_name}: {family.summary}",
        formatter_class=_Formatter,
        description=f"keras_lr.schedules.{family.class_name}: {family.summary}.\n\n"
        + textwrap.indent(family.formula, "  "),
    )
    group = parser.add_argument_group(f"{family.class_name} arguments")
    for param in family.params:
        kind, extra = _PARAM_KINDS[param.kind]
        if param.choices is not None:
            extra = {"choices": param.choices}
        group.add_argument(
            "--" + param.name.replace("_", "-"),
            dest="param_" + param.name,
            type=kind,
            # total_steps, where a schedule needs one, defaults to --steps.
            required=param.required and param.name != "total_steps",
            default=None,  # only what is given goes to the class: its defaults apply
            help=_param_help(param).replace("%", "%%"),
            **extra,
        )
    if family.python_only:
        parser.epilog = (
            f"From Python only: {', '.join(family.python_only)} (keras_lr.schedules."
            f"{family.class_name})."
        )
    output = parser.add_argument_group("output")
    _add_options(output, PLOT_OUTPUT_OPTIONS)
    parser.set_defaults(
        schedule_class_name=family.class_name,
        schedule_params=[p.name for p in family.params],
    )


def _param_help(param: Param) -> str:
    if param.name == "total_steps":
        return f"{param.help} Defaults to --steps."
    if param.default is REQUIRED or "default" in param.help:
        return param.help
    default = str(param.default).lower() if isinstance(param.default, bool) else param.default
    return f"{param.help} Defaults to {default}."


# ---------------------------------------------------------------- checks before running
def _existing_file(path: str, what: str) -> str:
    if not os.path.exists(path):
        raise CommandError(f"{what} not found: {path}")
    if os.path.isdir(path):
        raise CommandError(f"{what} is a directory, not a file: {path}")
    return path


def _zip_names(path: str) -> list[str] | None:
    """The entries of a zip archive, or None when `path` is not one."""
    try:
        if not zipfile.is_zipfile(path):
            return None
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return None


def _file_kind(path: str) -> str | None:
    """What a file holds, from its first bytes: "npz", "keras", "h5", "npy", or None."""
    try:
        with open(path, "rb") as f:
            magic = f.read(8)
    except OSError:
        return None
    if magic.startswith(b"\x93NUMPY"):
        return "npy"
    if magic.startswith(b"\x89HDF\r\n\x1a\n"):
        return "h5"
    names = _zip_names(path)
    if names is None:
        return None
    if "config.json" in names or "metadata.json" in names:
        return "keras"
    if names and all(name.endswith(".npy") for name in names):
        return "npz"
    return None


def _not_a_model_reason(path: str) -> str:
    """Why `path` (an existing file, not a saved model) is not a Keras model file."""
    size = os.path.getsize(path)
    if size == 0:
        return "the file is empty"
    names = _zip_names(path)
    if names is None:
        return f"the file ({size} bytes) is not a zip archive"
    if not names:
        return "the zip archive is empty"
    shown = ", ".join(names[:5]) + (f", ... ({len(names)} entries)" if len(names) > 5 else "")
    return f"the zip archive holds no config.json (it holds: {shown})"


def _check_model_file(path: str, kind: str | None) -> None:
    """`path` is a file Keras can load: a `.keras` zip archive with a config.json, or HDF5."""
    if kind in ("keras", "h5"):
        extension = os.path.splitext(path)[1].lower()
        if kind == "keras" and extension != ".keras":
            raise CommandError(
                f"cannot load MODEL {path!r}: it is a Keras model archive, but "
                "keras.saving.load_model only reads one named *.keras; rename it"
            )
        return
    raise CommandError(
        f"cannot load MODEL {path!r}: it is not a Keras model file (.keras zip archive): "
        f"{_not_a_model_reason(path)}"
    )


def _check_find_inputs(model: str, data: str) -> None:
    """The model and data files exist, are not swapped, and the model is a Keras model file."""
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
    _check_model_file(model, model_kind)


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


def check_args(args: argparse.Namespace) -> None:
    """Every check that needs no Keras, before the command runs.

    Raises:
        CommandError: an input file is missing or not what it should be, or
            an output cannot be written.
    """
    if args.run == "find":
        _check_find_inputs(args.model, args.data)
        for option, value in (
            ("--trials-budget", args.trials_budget),
            ("--trials-json", args.trials_json),
        ):
            if value is not None and not args.trials:
                raise CommandError(f"{option} needs --trials (it sets up the trials)")
        _check_distinct(
            [
                (args.model, "MODEL"),
                (args.data, "DATA"),
                (args.output, "-o/--output"),
                (args.json, "--json"),
                (args.trials_json, "--trials-json"),
            ]
        )
        _check_output_file(args.output, "-o/--output", figure="finder.png")
        _check_output_file(args.json, "--json")
        _check_output_file(args.trials_json, "--trials-json")
    elif args.run == "plot":
        total = getattr(args, "param_total_steps", None)
        if args.steps is None and total is not None and math.ceil(total) > MAX_PLOT_STEPS:
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
