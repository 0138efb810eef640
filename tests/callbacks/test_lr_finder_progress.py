"""What the range test prints: one progress bar over its steps, then one line.

`find(..., verbose=1)` runs `fit` quietly: no "Epoch 1/..." lines, whatever the
number of epochs the data needs; the finder draws one `keras.utils.Progbar`
over `num_steps` (one per run with `num_runs > 1`, labelled "run k/n") that
reaches the step the test stopped at, then prints one summary line.
"""

import re
import warnings

import keras
import numpy as np
import pytest
from finder_models import regression_data

import keras_lr

ANSI = re.compile(r"\x1b\[[0-9;]*m")
BATCH = 8


def linear_model(lr=1e-3):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    return model


def printed(capsys):
    """Stdout without the bar's colours, with each `\\r`-redrawn line on its own line."""
    out = ANSI.sub("", capsys.readouterr().out)
    return out.replace("\b", "").replace("\r", "\n")


def bar_counts(out, total):
    """Every `k/total` the bar printed, in order."""
    return [int(k) for k in re.findall(rf"(?m)^\s*(\d+)/{total}\b", out)]


def summary_lines(out):
    return [line for line in out.splitlines() if line.startswith("LRFinder:")]


def test_find_shows_one_bar_over_num_steps_and_one_line(capsys):
    # 80 samples = 10 batches, so 40 steps take 4 epochs of `fit`; the loss
    # falls clearly (SGD diverges only past lr ~0.2), so there is a suggestion.
    x, y = regression_data(80)
    finder = keras_lr.LRFinder(1e-3, 0.15, 40, verbose=1)
    with warnings.catch_warnings():
        # The line says whether the suggestion is reliable: no warning on top.
        warnings.simplefilter("error", keras_lr.core.UnreliableSuggestionWarning)
        finder.find(linear_model(), x, y, batch_size=BATCH)
    out = printed(capsys)

    assert "Epoch" not in out
    counts = bar_counts(out, 40)
    assert counts and counts[-1] == 40
    assert counts == sorted(counts)
    # The bar shows the current LR, the smoothed loss and the best so far.
    last = [line for line in out.splitlines() if re.match(r"\s*40/40\b", line)][-1]
    for name in (" - lr:", " - smoothed_loss:", " - best_loss:"):
        assert name in last
    # The last LR of the ramp, 0.15, printed as Keras' Progbar prints it.
    assert re.search(r"lr: 0\.1500\b", last)
    # One line at the end: the stop reason, the suggestion, its reliability.
    lines = summary_lines(out)
    assert len(lines) == 1
    assert "all 40 steps ran" in lines[0]
    method = keras_lr.core.rules.DEFAULT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", keras_lr.core.UnreliableSuggestionWarning)
        lr = finder.suggestion()
    assert f"suggested lr ({method}): {lr:.3g}" in lines[0]
    assert ("NOT reliable" in lines[0]) == (not finder.diagnosis.reliable)
    assert out.rstrip().splitlines()[-1].startswith("LRFinder:")


def test_the_bar_stops_where_the_test_stopped(capsys):
    # SGD on a linear regression diverges once the LR passes 2 / (largest
    # eigenvalue of the inputs' second moment), about 0.2 here: far before 1e3.
    x, y = regression_data(40)
    finder = keras_lr.LRFinder(1e-3, 1e3, 60, verbose=1)
    finder.find(linear_model(), x, y, batch_size=BATCH)
    out = printed(capsys)

    assert finder.stop_reason in ("diverged", "nan")
    ran = finder.steps[-1] + 1 if finder.stop_reason == "diverged" else None
    counts = bar_counts(out, 60)
    assert "Epoch" not in out
    assert counts and counts[-1] < 60
    if ran is not None:
        assert counts[-1] == ran
    lines = summary_lines(out)
    assert len(lines) == 1
    assert "diverged" in lines[0] or "not finite" in lines[0]


def test_the_finder_as_a_callback_shows_its_bar(capsys):
    x, y = regression_data(40)
    finder = keras_lr.LRFinder(1e-4, 1e-2, 12, verbose=1)
    linear_model().fit(x, y, batch_size=BATCH, epochs=10, callbacks=[finder], verbose=0)
    out = printed(capsys)

    counts = bar_counts(out, 12)
    assert counts and counts[-1] == 12
    lines = summary_lines(out)
    assert len(lines) == 1 and "all 12 steps ran" in lines[0]


def test_several_runs_show_one_bar_per_run(capsys):
    x, y = regression_data(40)
    finder = keras_lr.LRFinder(1e-4, 1e-2, 15, verbose=1, num_runs=2, seed=0)
    finder.find(linear_model(), x, y, batch_size=BATCH)
    out = printed(capsys)

    assert "Epoch" not in out
    first, second = out.index("run 1/2"), out.index("run 2/2")
    assert bar_counts(out[first:second], 15)[-1] == 15
    assert bar_counts(out[second:], 15)[-1] == 15
    lines = summary_lines(out)
    assert len(lines) == 1 and "2 runs" in lines[0]


def test_verbose_2_prints_one_line_per_run_and_verbose_0_nothing(capsys):
    x, y = regression_data(40)
    keras_lr.LRFinder(1e-4, 1e-2, 20, verbose=2).find(linear_model(), x, y, batch_size=BATCH)
    out = printed(capsys)
    assert [line for line in out.splitlines() if line.strip()][0].lstrip().startswith("20/20")
    assert "Epoch" not in out and len(summary_lines(out)) == 1
    assert len([line for line in out.splitlines() if line.strip()]) == 2

    keras_lr.LRFinder(1e-4, 1e-2, 20, verbose=0).find(linear_model(), x, y, batch_size=BATCH)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("verbose", [1, 2])
def test_fit_verbose_passed_to_find_is_still_honoured(capsys, verbose):
    # `find(..., verbose=...)` goes to `fit`, as any other fit argument: the
    # user asked for Keras' epoch lines; the finder stays quiet then.
    x, y = regression_data(16)
    finder = keras_lr.LRFinder(1e-4, 1e-2, 4, verbose=0)
    finder.find(linear_model(), x, y, batch_size=BATCH, verbose=verbose)
    out = printed(capsys)
    assert "Epoch 1/2" in out
    assert np.isfinite(finder.losses).all()


def test_keras_lr_find_command_shows_one_bar(tmp_path, capsys):
    from keras_lr_cli import main

    x, y = regression_data(40)
    data = tmp_path / "data.npz"
    np.savez(data, x=x, y=y)
    model = tmp_path / "model.keras"
    linear_model().save(model)
    argv = ["find", str(model), str(data), "--batch-size", str(BATCH), "--num-steps", "25"]
    assert main(argv + ["--start-lr", "1e-4", "--end-lr", "1e-2"]) == 0
    out = printed(capsys)
    assert "Epoch" not in out
    assert bar_counts(out, 25)[-1] == 25
    assert len(summary_lines(out)) == 1
