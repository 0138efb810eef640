"""The `keras-lr` command on bad input: one line on stderr, exit code 2, before any training.

Every case calls `keras_lr_cli.main` in-process with `LRFinder.find` and
`model.fit` replaced by a guard that fails the test, so that an error which
only comes after the training (or after part of it) is caught. The startup
tests run the command in a fresh Python and check, from `sys.modules`, that
it did not import Keras.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from cli_checks import assert_usage_error

import keras_lr
import keras_lr_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(keras_lr.__file__)))


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A saved model, data files and a directory, in the current directory."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    np.savez("data.npz", x=x, y=y)
    np.savez("empty.npz", x=np.zeros((0, 4), "float32"), y=np.zeros((0,), "int32"))
    np.savez("nokeys.npz")
    x_nan = x.copy()
    x_nan[3, 1] = np.nan
    np.savez("nan.npz", x=x_nan, y=y)
    y_inf = y.astype("float32")
    y_inf[0] = np.inf
    np.savez("inf.npz", x=x, y=y_inf)
    np.savez("short.npz", x=x, y=y[:10])
    np.save("single.npy", x)
    with open("binary.bin", "wb") as f:
        f.write(bytes(range(256)))
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(
        optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    model.save("model.keras")
    os.mkdir("outdir")
    with open("plain.txt", "w") as f:
        f.write("a file")
    return tmp_path


@pytest.fixture
def no_training(monkeypatch):
    """Fails the test if a range test or a `fit` starts."""

    def refuse(*args, **kwargs):
        raise AssertionError("training started before the error")

    monkeypatch.setattr(keras_lr.LRFinder, "find", refuse)
    monkeypatch.setattr(keras.Model, "fit", refuse)


def run_cli(capsys, argv):
    code = keras_lr_cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


FIND = ["find", "model.keras", "data.npz"]
PLOT = ["plot", "constant", "--value", "0.1", "--steps", "5"]

# (argv, fragments the one error line must hold)
CASES = [
    # bad arguments, every command
    ([], ["command"]),
    (["frobnicate"], ["frobnicate"]),
    (["demo", "--steps", "1"], ["--steps"]),
    (["demo", "--steps", "10000000000"], ["--steps", "<= 1000000"]),
    (["demo", "--epochs", "0"], ["--epochs"]),
    (["demo", "--batch-size", "-3"], ["--batch-size"]),
    (["demo", "--start-lr", "0"], ["--start-lr"]),
    (["demo", "--end-lr", "inf"], ["--end-lr"]),
    (["demo", "--seed", "x"], ["--seed"]),
    (["demo", "--seed", "1" + "0" * 400], ["--seed"]),
    (["demo", "--model", "rnn"], ["--model"]),
    (["demo", "--backend", "theano"], ["--backend"]),
    (["demo", "--suggestion", "median"], ["--suggestion"]),
    (FIND[:2], ["DATA.npz"]),
    (FIND + ["--num-steps", "1"], ["--num-steps"]),
    (FIND + ["--num-steps", "1" + "0" * 400], ["--num-steps"]),
    (FIND + ["--num-steps", "1e400"], ["--num-steps"]),
    (FIND + ["--batch-size", "0"], ["--batch-size"]),
    (FIND + ["--num-runs", "0"], ["--num-runs"]),
    (FIND + ["--seed", "-1"], ["--seed"]),
    (FIND + ["--sma", "0"], ["--sma"]),
    (FIND + ["--mode", "cubic"], ["--mode"]),
    (FIND + ["--jit-compile", "maybe"], ["--jit-compile"]),
    (FIND + ["--start-lr", "nan"], ["--start-lr"]),
    (FIND + ["--start-lr", "1", "--end-lr", "0.1"], ["end_lr"]),
    (["plot"], ["SCHEDULE"]),
    (["plot", "nope", "--steps", "10"], ["invalid choice: 'nope'"]),
    (["plot", "constant", "--value", "0.1", "--steps", "0"], ["--steps"]),
    (["plot", "constant", "--value", "0.1", "--steps", "10000000000"], ["--steps", "<= 10000000"]),
    (["plot", "constant", "--value", "0.1"], ["--steps"]),
    (["plot", "constant", "--value", "-1", "--steps", "5"], ["value"]),
    (["plot", "warmup-cosine", "--peak-lr", "1", "--total-steps", "1e12"], ["--total-steps", "--steps"]),
    (["plot", "one-cycle", "--max-lr", "1", "--steps", "10", "--three-phase", "no way"], ["--three-phase"]),
    (["plot", "one-cycle", "--max-lr", "1", "--total-steps", "2.5", "--steps", "5"], ["--total-steps"]),
    (["plot", "cyclic", "--base-lr", "1", "--max-lr", "2", "--steps", "5", "--step-size", "0"], ["step_size"]),
    (["plot", "piecewise", "--boundaries", "2,1", "--values", "1,2,3", "--steps", "5"], ["boundaries"]),
    (["plot", "exponential", "--initial-lr", "1", "--decay-rate", "2", "--steps", "5"], ["decay_rate"]),
    # outputs: directories, paths ending in a separator, unwritable places, no figure format
    (FIND + ["-o", "outdir"], ["-o/--output", "directory"]),
    (FIND + ["-o", "outdir/"], ["-o/--output", "directory"]),
    (FIND + ["-o", "new/dir/"], ["-o/--output", "directory"]),
    (FIND + ["-o", "/proc/x.png"], ["-o/--output", "/proc/x.png"]),
    (FIND + ["-o", "plain.txt/x.png"], ["-o/--output", "not a directory"]),
    (FIND + ["-o", "finder"], ["-o/--output", ".png"]),
    (FIND + ["-o", "finder.json"], ["-o/--output", ".png"]),
    (FIND + ["--json", "outdir"], ["--json", "directory"]),
    (FIND + ["--json", "outdir/"], ["--json", "directory"]),
    (FIND + ["--json", "/proc/x.json"], ["--json", "/proc/x.json"]),
    (PLOT + ["-o", "outdir/"], ["-o/--output", "directory"]),
    (PLOT + ["-o", "outdir"], ["-o/--output", "directory"]),
    (PLOT + ["-o", "/proc/x.png"], ["-o/--output", "/proc/x.png"]),
    (PLOT + ["--csv", "outdir/"], ["--csv", "directory"]),
    (PLOT + ["--csv", "/proc/x.csv"], ["--csv", "/proc/x.csv"]),
    # two options naming one file: an output over an input or over another output
    (FIND + ["-o", "f.png", "--json", "f.png"], ["-o/--output", "--json", "same file"]),
    (FIND + ["--json", "model.keras"], ["MODEL", "--json", "same file"]),
    (FIND + ["-o", "./data.npz"], ["DATA", "-o/--output", "same file"]),
    (PLOT + ["-o", "x.png", "--csv", "outdir/../x.png"], ["-o/--output", "--csv", "same file"]),
    (PLOT + ["--csv", "constant.png"], ["-o/--output", "--csv", "same file"]),
    (["demo", "--out", "plain.txt"], ["--out", "is a file"]),
    (["demo", "--out", "/proc/demo"], ["--out", "/proc/demo"]),
    (["demo", "--out", "plain.txt/sub"], ["--out", "not a directory"]),
    # input files: missing, directories, swapped, not what they should be
    (["find", "missing.keras", "data.npz"], ["not found", "missing.keras"]),
    (["find", "model.keras", "missing.npz"], ["not found", "missing.npz"]),
    (["find", "outdir", "data.npz"], ["directory"]),
    (["find", "data.npz", "model.keras"], ["swapped", "keras-lr find model.keras data.npz"]),
    (["find", "data.npz", "data.npz"], ["MODEL.keras", "numpy arrays"]),
    (["find", "model.keras", "model.keras"], ["DATA.npz", "saved Keras model"]),
    (["find", "binary.bin", "data.npz"], ["cannot load", "binary.bin", "not a Keras model file"]),
    (["find", "model.keras", "binary.bin"], ["cannot read", "binary.bin"]),
    (["find", "model.keras", "single.npy"], ["numpy.savez"]),
    (["find", "model.keras", "empty.npz"], ["'x'", "no samples"]),
    (["find", "model.keras", "nokeys.npz"], ["--x-key", "available keys: none"]),
    (["find", "model.keras", "nan.npz"], ["'x'", "NaN"]),
    (["find", "model.keras", "inf.npz"], ["'y'", "NaN or infinite"]),
    (["find", "model.keras", "short.npz"], ["differ in length"]),
    (FIND + ["--x-key", "inputs"], ["--x-key", "'inputs'"]),
]


@pytest.mark.parametrize("argv, fragments", CASES, ids=[" ".join(c[0]) or "none" for c in CASES])
def test_bad_input_exits_2_with_one_line_before_training(files, no_training, capsys, argv, fragments):
    assert_usage_error(capsys, argv, *fragments)
    assert not os.path.exists("outdir/.png")
    assert os.listdir("outdir") == []


def test_failed_output_checks_leave_no_files_behind(files, no_training, capsys):
    before = sorted(os.listdir("."))
    for argv in (
        FIND + ["-o", "new/dir/"],
        FIND + ["-o", "deep/new/x.png", "--json", "/proc/x.json"],
        FIND + ["-o", "data.png", "--json", "outdir"],
    ):
        assert run_cli(capsys, argv)[0] == 2
    assert sorted(os.listdir(".")) == before


def test_plot_writes_into_new_directories_after_the_check(files, capsys):
    code, _, err = run_cli(capsys, PLOT + ["-o", "a/b/c.png", "--csv", "d/e.csv"])
    assert code == 0, err
    assert os.path.getsize("a/b/c.png") > 0
    with open("d/e.csv") as f:
        rows = [line.split(",") for line in f.read().splitlines()[1:]]
    assert [int(step) for step, _ in rows] == list(range(5))
    np.testing.assert_allclose([float(lr) for _, lr in rows], 0.1, rtol=1e-6)


# ---------------------------------------------------------------- startup without Keras
def python(code):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )


def test_entry_module_imports_no_keras():
    result = python(
        "import sys, keras_lr_cli, keras_lr_cli.parser, keras_lr_cli.options\n"
        "heavy = sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch', "
        "'numpy', 'matplotlib', 'keras_lr_cli.commands') if m in sys.modules)\n"
        "print(heavy)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["demo", "--help"],
        ["find", "--help"],
        ["plot", "--help"],
        *[["plot", name, "--help"] for name in keras_lr_cli.SCHEDULES],
        ["plot", "constant", "--value", "x", "--steps", "3"],
        ["find", "a.keras", "b.npz"],
    ],
)
def test_help_and_usage_errors_import_no_keras(argv):
    result = python(
        "import sys, keras_lr_cli\n"
        f"code = keras_lr_cli.main({argv!r})\n"
        "assert 'keras' not in sys.modules, 'keras was imported'\n"
        "sys.exit(code)"
    )
    assert result.returncode in (0, 2), result.stderr
    assert "keras was imported" not in result.stderr
    assert (result.stdout if result.returncode == 0 else result.stderr).strip()


def test_console_script_is_the_cli_main():
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    assert 'keras-lr = "keras_lr_cli:main"' in text
    assert 'packages = ["keras_lr", "keras_lr_cli"]' in text  # the command beside the package


def test_importing_keras_lr_still_registers_its_classes():
    """`load_model` finds keras_lr's classes after `import keras_lr`."""
    result = python(
        "import keras, keras_lr\n"
        "print(keras.saving.get_registered_object('keras_lr>WarmupCosine') is not None)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"
