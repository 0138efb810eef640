"""`keras-lr --help` answers at once: the parser imports no Keras, no backend, no numpy.

And the CLI is one package, `keras_lr_cli` (beside `keras_lr`, which imports Keras where it is
installed), whose modules form no import circle.
"""

import ast
import os
import subprocess
import sys
import time

import pytest

import keras_lr
import keras_lr_cli

PACKAGE = os.path.dirname(os.path.abspath(keras_lr.__file__))
ROOT = os.path.dirname(PACKAGE)
CLI = os.path.dirname(os.path.abspath(keras_lr_cli.__file__))
HEAVY = ("keras", "tensorflow", "jax", "torch", "numpy", "matplotlib", "sklearn")


def run_python(*args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT
    )


@pytest.mark.parametrize("module", ["keras_lr_cli"])
def test_help_loads_no_keras_backend_or_numpy(module):
    """The parser builds and prints every help page with none of the heavy modules loaded."""
    pages = [["--help"], ["demo", "--help"], ["find", "--help"], ["plot", "--help"]]
    pages += [["plot", name, "--help"] for name in keras_lr_cli.SCHEDULES]
    code = (
        "import contextlib, io, runpy, sys\n"
        f"pages = {pages!r}\n"
        "for page in pages:\n"
        f"    sys.argv = [{module!r}] + page\n"
        "    with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "        try:\n"
        f"            runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
        "        except SystemExit as exit_:\n"
        "            assert exit_.code == 0, (page, exit_.code)\n"
        "    assert out.getvalue().startswith('usage: keras-lr'), page\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = run_python("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_help_imports_per_importtime():
    """`python -X importtime -m keras_lr_cli --help` lists no heavy module."""
    result = run_python("-X", "importtime", "-m", "keras_lr_cli", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: keras-lr")
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "argparse" in imported  # the log is read correctly
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_help_takes_under_a_second():
    """Best of 3: the import check above is the guarantee, this the user's view of it."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        result = run_python("-m", "keras_lr_cli", "--help")
        times.append(time.perf_counter() - started)
        assert result.returncode == 0, result.stderr
    assert min(times) < 1.0, times


# ---------------------------------------------------------------- one package, no circle
def module_level_imports(path):
    """The modules `path` imports when it is imported (not inside functions)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    names = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def cli_modules():
    return {
        "keras_lr_cli" + ("" if name == "__init__.py" else "." + name[:-3]): os.path.join(CLI, name)
        for name in os.listdir(CLI)
        if name.endswith(".py")
    }


def test_parser_and_options_import_only_the_standard_library():
    for module in ("keras_lr_cli.options", "keras_lr_cli.parser", "keras_lr_cli"):
        for name in module_level_imports(cli_modules()[module]):
            top = name.split(".")[0]
            allowed = top in sys.stdlib_module_names or name in (
                "keras_lr_cli.options",
                "keras_lr_cli.parser",
            )
            allowed = allowed or name.startswith(("keras_lr_cli.options.", "keras_lr_cli.parser."))
            assert allowed, f"{module} imports {name} when imported"


def test_no_import_circle_between_the_cli_modules():
    modules = cli_modules()
    edges = {
        module: {name for name in module_level_imports(path) if name in modules}
        for module, path in modules.items()
    }
    # `from keras_lr_cli import X` is an edge to keras_lr_cli's __init__; a submodule's own
    # package being imported first is not (the package finishes before its submodule runs).

    def reaches(start, target, seen=()):
        return any(
            nxt == target or (nxt not in seen and reaches(nxt, target, (*seen, nxt)))
            for nxt in edges[start]
        )

    for module in modules:
        assert not reaches(module, module), f"{module} imports itself through {edges}"
    assert "keras_lr_cli.commands" not in edges["keras_lr_cli"]  # Keras only when a command runs
