"""`keras-lr find` on a MODEL file that exists but is not a Keras model says what is wrong.

(Keras' own message for such a file is "File not found", which misleads.)
The check reads the file's bytes before Keras is imported.
"""

import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest
from cli_checks import assert_usage_error

import keras_lr

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(keras_lr.__file__)))
NOT_A_MODEL = "is not a Keras model file (.keras zip archive)"


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    np.savez("data.npz", x=x, y=(x[:, 0] > 0).astype("int32"))
    return "data.npz"


def write_zip(path, entries):
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)


def test_random_bytes_named_keras(data, capsys):
    with open("garbage.keras", "wb") as f:
        f.write(np.random.default_rng(1).bytes(1000))
    line = assert_usage_error(
        capsys, ["find", "garbage.keras", data], "MODEL 'garbage.keras'", NOT_A_MODEL
    )
    assert line.endswith("the file (1000 bytes) is not a zip archive"), line
    assert "not found" not in line


def test_empty_file(data, capsys):
    open("empty.keras", "wb").close()
    line = assert_usage_error(capsys, ["find", "empty.keras", data], "'empty.keras'", NOT_A_MODEL)
    assert line.endswith("the file is empty"), line


def test_zip_without_config_json(data, capsys):
    write_zip("notes.keras", {"notes.txt": "hello", "weights.h5": "x"})
    line = assert_usage_error(capsys, ["find", "notes.keras", data], "'notes.keras'", NOT_A_MODEL)
    assert line.endswith("the zip archive holds no config.json (it holds: notes.txt, weights.h5)")


def test_empty_zip(data, capsys):
    write_zip("nothing.keras", {})
    line = assert_usage_error(capsys, ["find", "nothing.keras", data], NOT_A_MODEL)
    assert line.endswith("the zip archive is empty"), line


def test_zip_with_many_entries_is_summarised(data, capsys):
    write_zip("many.keras", {f"f{i}.txt": "x" for i in range(8)})
    line = assert_usage_error(capsys, ["find", "many.keras", data], NOT_A_MODEL)
    assert "f0.txt, f1.txt, f2.txt, f3.txt, f4.txt, ... (8 entries)" in line


def test_a_saved_model_under_another_name_must_be_renamed(data, capsys):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.save("model.keras")
    os.rename("model.keras", "model.zip")
    assert_usage_error(capsys, ["find", "model.zip", data], "'model.zip'", "*.keras", "rename")


def test_a_model_with_a_keras_lr_schedule_loads_in_a_fresh_process(data):
    """The command registers keras_lr's classes before `load_model` (`import keras_lr` does not)."""
    schedule = keras_lr.schedules.WarmupCosine(peak_lr=0.1, total_steps=100, warmup_steps=10)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(
        optimizer=keras.optimizers.SGD(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.save("scheduled.keras")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run(
        [sys.executable, "-m", "keras_lr", "find", "scheduled.keras", data, "--num-steps", "10"]
        + ["-q", "--jit-compile", "off"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Suggested learning rates" in result.stdout
