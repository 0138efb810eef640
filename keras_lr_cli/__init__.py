"""The `keras-lr` command.

```
keras-lr demo [--out DIR] [--steps N] [--backend NAME]
keras-lr plot SCHEDULE [--param VALUE ...] --steps N [-o out.png] [--csv out.csv]
keras-lr find MODEL.keras DATA.npz [--x-key x] [--y-key y] [--num-runs N] [-o finder.png] [--json out.json]
```

Run `keras-lr COMMAND --help` for the options of each command. The same
commands run as `python -m keras_lr_cli` and `python -m keras_lr` (which imports Keras first).

- `keras_lr_cli.options`: the option table (data: each schedule family's
  arguments, the commands' options);
- `keras_lr_cli.parser`: the `argparse` parser built from it, and the checks
  of input files and output paths;
- `keras_lr_cli.commands`: the commands, which import Keras.

This package and its parser import only the standard library: `--help` and
a mistyped argument answer at once. Keras is imported only once every
argument, input file and output path has been checked, when `main` runs the
command. That is why the command is a package of its own, beside `keras_lr`
rather than inside it: where Keras is installed, `import keras_lr` imports it
(several seconds), so that keras_lr's serializable classes are registered
before any `keras.saving.load_model`, and any `keras_lr.<module>` import runs
that first.

Bad input (a missing file, swapped arguments, an unknown name, a bad number,
an output that cannot be written, a schedule argument that keras_lr rejects)
prints one line, `keras-lr: error: ...`, on stderr and returns exit code 2,
before any training starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

from keras_lr_cli.options import SCHEDULES
from keras_lr_cli.parser import PROG, CommandError, UsageError, build_parser, check_args, one_line

__all__ = ["main", "SCHEDULES", "CommandError"]

_REEXEC_GUARD = "KERAS_LR_CLI_BACKEND_SWITCHED"


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the `keras-lr` command.

    Args:
        argv: the arguments, without the program name; defaults to
            `sys.argv[1:]`.

    Returns:
        The exit code: 0 on success, 2 for bad input (after a one-line
        `keras-lr: error: ...` on stderr), 1 for other failures, 130 when
        interrupted.

    Example:

    >>> from keras_lr_cli import main
    >>> main(["plot", "constant", "--value", "1e-3", "--steps", "10", "-o", "lr.png"])  # doctest: +SKIP
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
    except UsageError as error:
        return _fail(str(error))
    except SystemExit as exit_:  # --help and --version
        return exit_.code if isinstance(exit_.code, int) else 0
    if args.command is None:
        return _fail("a command is required: demo, plot or find (see 'keras-lr --help')")
    try:
        check_args(args)
    except CommandError as error:
        return _fail(str(error))
    backend = getattr(args, "backend", None)
    if backend is not None:
        code = _switch_backend(backend, argv)
        if code is not None:
            return code
    try:
        from keras_lr_cli import commands

        commands.COMMANDS[args.run](args)
    except CommandError as error:
        return _fail(str(error))
    except (ValueError, OSError, KeyError) as error:
        return _fail(one_line(error))
    except ImportError as error:
        return _fail(one_line(error), code=1)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0


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
