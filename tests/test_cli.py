"""Tests of the `keras-lr` command (`keras_lr_cli.main`), in-process.

Expected learning rates are closed forms computed here with numpy, never with
keras_lr.
"""

import csv
import json
import math
import os
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
from cli_checks import assert_usage_error

import keras_lr
from keras_lr_cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["step", "learning_rate"]
    steps = np.array([int(r[0]) for r in rows[1:]])
    lrs = np.array([float(r[1]) for r in rows[1:]])
    return steps, lrs


def assert_png(path):
    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC
    assert os.path.getsize(path) > 5_000


# ---------------------------------------------------------------- help
def test_help_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "keras_lr_cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: keras-lr")
    for command in ("demo", "plot", "find"):
        assert command in result.stdout


def test_schedule_help_lists_constructor_arguments(capsys):
    assert main(["plot", "cyclic", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--base-lr", "--max-lr", "--step-size", "--mode", "--gamma", "--step-size-down"):
        assert option in out
    assert "--scale-fn" not in out  # a Python function: not a command-line option
    assert main(["plot", "one-cycle", "--help"]) == 0
    out = capsys.readouterr().out
    for option in (
        "--max-lr",
        "--total-steps",
        "--pct-start",
        "--anneal-strategy",
        "--three-phase",
    ):
        assert option in out


def test_plot_lists_every_schedule(capsys):
    assert main(["plot", "--help"]) == 0
    out = capsys.readouterr().out
    for name in (
        "constant",
        "exponential",
        "step",
        "polynomial",
        "piecewise",
        "warmup-cosine",
        "cyclic",
        "one-cycle",
    ):
        assert name in out


# ---------------------------------------------------------------- plot
def cyclic_closed_form(t, base_lr, max_lr, step_size, mode):
    cycle = np.floor(1 + t / (2 * step_size))
    x = np.abs(t / step_size - 2 * cycle + 1)
    scale = 1.0 if mode == "triangular" else 1.0 / 2.0 ** (cycle - 1)
    return base_lr + (max_lr - base_lr) * np.maximum(0.0, 1.0 - x) * scale


@pytest.mark.parametrize("mode", ["triangular", "triangular2"])
def test_plot_cyclic_writes_png_and_csv(tmp_path, capsys, mode):
    png, table = tmp_path / "clr.png", tmp_path / "clr.csv"
    argv = ["plot", "cyclic", "--base-lr", "1e-3", "--max-lr", "6e-3", "--step-size", "50"]
    argv += ["--mode", mode, "--steps", "400", "-o", str(png), "--csv", str(table)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert str(png) in out and str(table) in out
    assert_png(png)
    steps, lrs = read_csv(table)
    np.testing.assert_array_equal(steps, np.arange(400))
    expected = cyclic_closed_form(steps.astype(float), 1e-3, 6e-3, 50, mode)
    np.testing.assert_allclose(lrs, expected, rtol=1e-5, atol=1e-9)
    assert lrs.max() == pytest.approx(6e-3, rel=1e-6)


def test_plot_piecewise_parses_lists(tmp_path):
    table = tmp_path / "pw.csv"
    argv = ["plot", "piecewise", "--boundaries", "100,200", "--values", "0.1,0.01,0.001"]
    argv += ["--steps", "300", "-o", str(tmp_path / "pw.png"), "--csv", str(table)]
    assert main(argv) == 0
    steps, lrs = read_csv(table)
    expected = np.select([steps < 100, steps < 200], [0.1, 0.01], 0.001)
    np.testing.assert_allclose(lrs, expected, rtol=1e-6)


def test_plot_exponential_parses_bools(tmp_path):
    table = tmp_path / "exp.csv"
    argv = ["plot", "exponential", "--initial-lr", "0.1", "--decay-rate", "0.5"]
    argv += ["--decay-steps", "10", "--staircase", "false", "--steps", "50"]
    argv += ["-o", str(tmp_path / "exp.png"), "--csv", str(table)]
    assert main(argv) == 0
    steps, lrs = read_csv(table)
    np.testing.assert_allclose(lrs, 0.1 * 0.5 ** (steps / 10.0), rtol=1e-5)


def test_plot_warmup_cosine_total_steps_defaults_to_steps(tmp_path):
    table = tmp_path / "wc.csv"
    argv = ["plot", "warmup-cosine", "--peak-lr", "0.1", "--warmup-steps", "10"]
    argv += ["--min-lr", "0.01", "--steps", "60", "--log-y"]
    argv += ["-o", str(tmp_path / "wc.png"), "--csv", str(table)]
    assert main(argv) == 0
    steps, lrs = read_csv(table)
    t = steps.astype(float)
    cosine = 0.01 + 0.5 * (0.1 - 0.01) * (1 + np.cos(np.pi * (t - 10) / 50))
    expected = np.where(t < 10, 0.1 * t / 10, cosine)
    np.testing.assert_allclose(lrs, expected, rtol=1e-5, atol=1e-8)


def test_plot_one_cycle_bool_flag_without_value(tmp_path):
    png = tmp_path / "sub" / "oc.png"  # the folder is created
    argv = ["plot", "one-cycle", "--max-lr", "0.1", "--total-steps", "100", "--three-phase"]
    assert main(argv + ["-o", str(png)]) == 0
    assert_png(png)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["plot", "nope", "--steps", "10"], ["invalid choice: 'nope'", "cyclic", "one-cycle"]),
        (["plot", "constant", "--value", "0.1", "--steps", "-5"], ["--steps", "-5"]),
        (["plot", "constant", "--value", "0.1", "--steps", "2.5"], ["--steps"]),
        (
            ["plot", "cyclic", "--base-lr", "1e-3", "--max-lr", "abc", "--steps", "10"],
            ["--max-lr", "abc"],
        ),
        (["plot", "cyclic", "--base-lr", "1e-2", "--max-lr", "1e-3", "--steps", "10"], ["max_lr"]),
        (["plot", "cyclic", "--max-lr", "1e-3", "--steps", "10"], ["--base-lr"]),
        (["plot", "cyclic", "--base-lr", "1", "--max-lr", "2", "--mode", "sine"], ["--mode"]),
        (
            [
                "plot",
                "piecewise",
                "--boundaries",
                "100,200",
                "--values",
                "0.1,0.01",
                "--steps",
                "9",
            ],
            ["values"],
        ),
        (
            ["plot", "piecewise", "--boundaries", "1,x", "--values", "1,2,3", "--steps", "9"],
            ["--boundaries"],
        ),
        (
            [
                "plot",
                "exponential",
                "--initial-lr",
                "1",
                "--decay-rate",
                "0.5",
                "--staircase",
                "maybe",
            ],
            ["--staircase"],
        ),
        (["plot", "constant", "--value", "nan", "--steps", "3"], ["--value"]),
        (["plot", "constant", "--value", "1"], ["--steps"]),
        (["plot", "constant", "--value", "1", "--steps", "3", "--bogus", "1"], ["--bogus"]),
        (["demo", "--steps", "1"], ["--steps"]),
        (["demo", "--backend", "theano"], ["--backend"]),
        (["demo", "--suggestion", "median"], ["--suggestion", "valley"]),
        (["frobnicate"], ["frobnicate"]),
        ([], ["command"]),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(capsys, argv, fragments):
    assert_usage_error(capsys, argv, *fragments)


def test_missing_files(tmp_path, capsys, saved_model):
    model, data = saved_model
    missing = str(tmp_path / "missing.keras")
    assert_usage_error(capsys, ["find", missing, data], "not found", "missing.keras")
    assert_usage_error(capsys, ["find", model, str(tmp_path / "no.npz")], "not found", "no.npz")
    assert_usage_error(capsys, ["find", str(tmp_path), data], "directory")


def test_bad_npz(tmp_path, capsys, saved_model):
    model, data = saved_model
    assert_usage_error(
        capsys, ["find", model, data, "--x-key", "inputs"], "--x-key", "'inputs'", "'x', 'y'"
    )
    assert_usage_error(capsys, ["find", model, data, "--y-key", "labels"], "--y-key", "'x', 'y'")
    npy = tmp_path / "single.npy"
    np.save(npy, np.zeros(3))
    assert_usage_error(capsys, ["find", model, str(npy)], "numpy.savez")
    junk = tmp_path / "junk.npz"
    junk.write_text("not an archive")
    assert_usage_error(capsys, ["find", model, str(junk)], "junk.npz")
    assert_usage_error(capsys, ["find", data, data], "MODEL.keras", "numpy arrays")


def test_uncompiled_model(tmp_path, capsys, saved_model):
    _, data = saved_model
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    path = str(tmp_path / "uncompiled.keras")
    model.save(path)
    assert_usage_error(capsys, ["find", path, data], "compile")


def test_finder_errors_from_keras_lr(capsys, saved_model):
    model, data = saved_model
    assert_usage_error(
        capsys, ["find", model, data, "--start-lr", "1", "--end-lr", "0.1"], "end_lr"
    )
    assert_usage_error(capsys, ["find", model, data, "--batch-size", "0"], "--batch-size")


# ---------------------------------------------------------------- find
@pytest.fixture
def saved_model(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    data = str(tmp_path / "data.npz")
    np.savez(data, x=x, y=y)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    path = str(tmp_path / "model.keras")
    model.save(path)
    return path, data


def test_find_prints_suggestions_and_writes_json_and_png(tmp_path, capsys, saved_model):
    model, data = saved_model
    png, result = tmp_path / "finder.png", tmp_path / "out" / "finder.json"
    before = os.path.getmtime(model)
    argv = ["find", model, data, "--batch-size", "32", "--num-steps", "40", "--start-lr", "1e-5"]
    argv += ["-o", str(png), "--json", str(result)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    for method in ("valley", "steepest", "minimum", "range"):
        assert method in out
    assert_png(png)
    saved = json.loads(result.read_text())
    assert 5 <= len(saved["lrs"]) <= 40
    assert saved["config"]["start_lr"] == 1e-5
    assert saved["lrs"][0] == pytest.approx(1e-5, rel=1e-5)
    assert np.all(np.diff(saved["lrs"]) > 0)
    assert os.path.getmtime(model) == before


def test_find_quiet_without_targets_key(tmp_path, capsys, saved_model):
    model, data = saved_model
    arrays = dict(np.load(data))
    other = tmp_path / "named.npz"
    np.savez(other, features=arrays["x"], labels=arrays["y"])
    argv = ["find", model, str(other), "--x-key", "features", "--y-key", "labels"]
    assert main(argv + ["--num-steps", "20", "-q", "--jit-compile", "off"]) == 0
    out = capsys.readouterr().out
    assert "Suggested learning rates" in out
    assert "Epoch" not in out


# ---------------------------------------------------------------- demo
@pytest.mark.slow
def test_demo_writes_figures_and_reports_accuracy(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # the demo needs no scikit-learn
    out_dir = tmp_path / "demo"
    argv = ["demo", "--out", str(out_dir), "--steps", "40", "--epochs", "1"]
    argv += ["--backend", keras.config.backend()]  # the current one: no new process
    assert main(argv) == 0
    out = capsys.readouterr().out
    for name in ("lr_finder.png", "schedule.png", "history.png"):
        assert_png(out_dir / name)
        assert name in out
    assert str(out_dir) in out
    assert "Suggested learning rates" in out
    line = next(line for line in out.splitlines() if line.startswith("Validation accuracy:"))
    accuracy = float(line.split()[2])
    assert 0.0 <= accuracy <= 1.0
    finder = json.loads((out_dir / "lr_finder.json").read_text())
    assert len(finder["lrs"]) >= 5


def test_demo_out_must_be_a_directory(tmp_path, capsys):
    path = tmp_path / "file.txt"
    path.write_text("x")
    assert_usage_error(capsys, ["demo", "--out", str(path)], "directory")


def test_find_with_several_runs_reports_the_spread(tmp_path, capsys, saved_model):
    model, data = saved_model
    result = tmp_path / "runs.json"
    argv = ["find", model, data, "--num-steps", "40", "--start-lr", "1e-5", "--num-runs", "3"]
    argv += ["--seed", "7", "--json", str(result), "-q"]
    assert main(argv) == 0
    out, _ = capsys.readouterr()
    saved = json.loads(result.read_text())
    assert len(saved["runs"]) == 3
    # The spread line agrees with the per-run suggestions, recomputed here from the saved runs.
    # Each run is read alone, with its batch losses, as a one-run result.
    runs = [keras_lr.RangeTestRun.from_dict(run) for run in saved["runs"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", keras_lr.core.UnreliableSuggestionWarning)
        picks = [keras_lr.RangeTest([run], saved["config"]).suggestion() for run in runs]
    spread = np.log10(max(picks) / min(picks))
    assert f"Spread of the suggestion over the runs: {spread:.2f} decades" in out
    # Reliable needs the runs to agree and the mean curve's diagnosis to be reliable.
    reliable = keras_lr.RangeTest(runs, saved["config"]).diagnosis.reliable
    assert ("NOT reliable" in out) == (not reliable)
    assert not reliable or spread < 0.5
    assert_usage_error(capsys, ["find", model, data, "--num-runs", "0"], "--num-runs")


# ---------------------------------------------------------------- find --trials
def test_find_with_trials_chooses_the_lowest_score_and_leaves_the_model_file(
    tmp_path, capsys, saved_model
):
    model, data = saved_model
    before = os.path.getmtime(model)
    png, trials_json = tmp_path / "finder.png", tmp_path / "trials" / "trials.json"
    argv = ["find", model, data, "--num-steps", "30", "--start-lr", "1e-5", "--seed", "1", "-q"]
    argv += ["--trials", "--trials-budget", "40", "--trials-json", str(trials_json), "-o", str(png)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    saved = json.loads(trials_json.read_text())
    trials = saved["trials"]
    # The model's own LR (SGD(0.01) in the saved file) is always a candidate.
    assert [t["lr"] for t in trials if t["source"] == "optimizer"] == [pytest.approx(0.01)]
    assert len(trials) >= 3
    # Each trial trained for the budget (40 steps) unless it diverged.
    for trial in trials:
        if not trial["diverged"]:
            assert len(trial["raw_losses"]) == 40
    # The choice is the candidate with the lowest score, recomputed here from the file.
    scores = [(t["score"] if t["score"] is not None else math.inf) for t in trials]
    assert saved["best_lr"] == trials[int(np.argmin(scores))]["lr"]
    assert f"Chosen: lr={saved['best_lr']:.3g}" in out
    assert saved["budget"] == 40 and saved["range_test_steps"] == 30
    assert_png(png)
    assert os.path.getmtime(model) == before


def test_find_seed_repeats_a_single_run(tmp_path, capsys, saved_model):
    model, data = saved_model
    runs = []
    for name in ("a.json", "b.json"):
        path = tmp_path / name
        argv = ["find", model, data, "--num-steps", "25", "--seed", "5", "-q", "--json", str(path)]
        assert main(argv) == 0
        runs.append(json.loads(path.read_text()))
    capsys.readouterr()
    assert runs[0]["raw_losses"] == runs[1]["raw_losses"]


@pytest.mark.parametrize(
    "extra, fragments",
    [
        (["--trials-budget", "10"], ["--trials-budget", "--trials"]),
        (["--trials-json", "t.json"], ["--trials-json", "--trials"]),
        (["--trials", "--trials-budget", "0"], ["--trials-budget"]),
    ],
)
def test_find_trials_options_need_trials(capsys, saved_model, extra, fragments):
    model, data = saved_model
    assert_usage_error(capsys, ["find", model, data, *extra], *fragments)


def test_find_trials_json_and_json_must_differ(tmp_path, capsys, saved_model):
    model, data = saved_model
    same = str(tmp_path / "out.json")
    argv = ["find", model, data, "--trials", "--json", same, "--trials-json", same]
    assert_usage_error(capsys, argv, "--json", "--trials-json", "same file")
