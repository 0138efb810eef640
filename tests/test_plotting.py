"""Tests of the matplotlib helpers: finder plots, `plot_schedule` and `plot_history`.

Matplotlib runs headless (the conftest sets `MPLBACKEND=Agg`). The finders are
loaded from a JSON curve written here by hand, so every plotted value is known.
"""

import json
import math

import keras
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from numpy.testing import assert_allclose

import keras_lr

N = 60


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def hand_curve(n=N):
    """A sigmoid fall in log10(lr) centred at 1e-3, then a sharp rise after 1e-1."""
    x = np.linspace(-6.0, 0.0, n)
    lrs = 10.0**x
    losses = 1.0 - 0.8 / (1.0 + np.exp(-(x + 3.0) / 0.3)) + 5.0 * np.maximum(x + 1.0, 0.0) ** 2
    raw = losses + 0.05 * np.sin(np.arange(n))
    return lrs, losses, raw


def write_finder(path, lrs, losses, raw):
    bottom = int(np.argmin(losses)) if len(losses) else None
    result = {
        "config": {
            "start_lr": 1e-6,
            "end_lr": 1.0,
            "num_steps": max(len(lrs), 2),
            "mode": "exponential",
            "beta": 0.98,
            "stop_factor": 4.0,
            "restore": True,
            "verbose": 0,
        },
        "steps": list(range(len(lrs))),
        "lrs": [float(v) for v in lrs],
        "losses": [float(v) for v in losses],
        "raw_losses": [float(v) for v in raw],
        "best_lr": None if bottom is None else float(lrs[bottom]),
        "best_loss": None if bottom is None else float(losses[bottom]),
        "diverged": False,
        "stop_reason": "num_steps",
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(result, f)
    return path


@pytest.fixture
def finder(tmp_path):
    return keras_lr.LRFinder.load(write_finder(tmp_path / "finder.json", *hand_curve()))


# The main line of a range-test plot is the lag-free smoothing the rules read: a Gaussian
# kernel of 0.2 decades (its documented sigma) in log10(lr), by hand. The EMA is the faint one.
SIGMA_DECADES = 0.2
EMA = "EMA of the loss (beta=0.98, lags)"


def hand_lagfree(lrs, raw):
    x = np.log10(np.asarray(lrs, dtype="float64"))
    weights = np.exp(-0.5 * ((x[:, None] - x[None, :]) / SIGMA_DECADES) ** 2)
    return weights @ np.asarray(raw, dtype="float64") / weights.sum(axis=1)


def line_labelled(ax, label):
    lines = [line for line in ax.get_lines() if line.get_label() == label]
    assert len(lines) == 1, [line.get_label() for line in ax.get_lines()]
    return lines[0]


# ---------------------------------------------------------------- finder.plot
def test_plot_draws_the_smoothed_curve_on_a_log_axis(finder):
    lrs, losses, raw = hand_curve()
    ax = finder.plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    assert ax.get_xscale() == "log"
    line = line_labelled(ax, EMA)
    # The first 10 and last 5 points are left out by default.
    assert_allclose(line.get_xdata(), lrs[10 : N - 5], rtol=1e-12)
    assert_allclose(line.get_ydata(), losses[10 : N - 5], rtol=1e-12)
    main = line_labelled(ax, "lag-free loss")
    assert_allclose(main.get_xdata(), lrs[10 : N - 5], rtol=1e-12)
    assert_allclose(main.get_ydata(), hand_lagfree(lrs, raw)[10 : N - 5], rtol=1e-9)
    # The default suggestion is marked inside the recorded range.
    default = keras_lr.core.rules.DEFAULT
    [marker] = [line for line in ax.get_lines() if line.get_label().startswith(default)]
    assert lrs[0] < marker.get_xdata()[0] < lrs[-1]


def test_plot_uses_the_given_axes(finder):
    figures = len(plt.get_fignums())
    fig, ax = plt.subplots()
    assert finder.plot(ax=ax) is ax
    assert len(plt.get_fignums()) == figures + 1
    assert fig.axes == [ax]


def test_plot_marks_the_suggestion(finder):
    lrs, losses, raw = hand_curve()
    expected = lrs[int(np.argmin(losses))] / 10  # "minimum": the LR of the lowest loss / 10
    ax = finder.plot(suggestion="minimum")
    vertical = [line for line in ax.get_lines() if len(line.get_xdata()) == 2]
    assert len(vertical) == 1
    assert_allclose(vertical[0].get_xdata(), [expected, expected], rtol=1e-12)
    [marker] = [line for line in ax.get_lines() if line.get_label().startswith("minimum")]
    assert_allclose(marker.get_xdata(), [expected], rtol=1e-12)
    # On the drawn (lag-free) curve.
    loss_there = np.interp(math.log(expected), np.log(lrs), hand_lagfree(lrs, raw))
    assert_allclose(marker.get_ydata(), [loss_there], rtol=1e-9)


def test_plot_without_suggestion_and_with_raw_losses(finder):
    lrs, losses, raw = hand_curve()
    ax = finder.plot(suggestion=None, show_raw=True, skip_start=0, skip_end=0)
    # The hand curve ran all its steps: the legend says why the test stopped.
    assert sorted(line.get_label() for line in ax.get_lines()) == [
        EMA,
        "batch loss",
        "lag-free loss",
        "stopped: all steps ran",
    ]
    assert_allclose(line_labelled(ax, "batch loss").get_ydata(), raw, rtol=1e-12)
    assert_allclose(line_labelled(ax, "lag-free loss").get_xdata(), lrs, rtol=1e-12)
    assert_allclose(line_labelled(ax, EMA).get_ydata(), losses, rtol=1e-12)


def test_plot_of_a_real_run_shows_the_ramp():
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=lambda y, p: keras.ops.mean(p))
    x = np.ones((80, 1), "float32")
    finder = keras_lr.LRFinder(1e-4, 1.0, 20, verbose=0).find(model, x, x, batch_size=4)
    ax = finder.plot(skip_start=0, skip_end=0, suggestion=None)
    ramp = [1e-4 * (1.0 / 1e-4) ** (i / 19) for i in range(20)]
    assert_allclose(line_labelled(ax, "lag-free loss").get_xdata(), ramp, rtol=1e-6)
    assert ax.get_xscale() == "log"


@pytest.mark.parametrize("points", [0, 1])
def test_plot_needs_two_points(tmp_path, points):
    lrs, losses, raw = (v[:points] for v in hand_curve())
    finder = keras_lr.LRFinder.load(write_finder(tmp_path / "f.json", lrs, losses, raw))
    assert len(finder.lrs) == points
    with pytest.raises(ValueError, match=f"recorded {points} point"):
        finder.plot()
    with pytest.raises(ValueError, match=f"recorded {points} point"):
        finder.plot_loss_change()


def test_plot_of_a_fresh_finder_raises():
    with pytest.raises(ValueError, match="nothing to plot"):
        keras_lr.LRFinder().plot()


# ---------------------------------------------------------------- plot_loss_change
@pytest.mark.parametrize("sma", [1, 4])
def test_plot_loss_change(finder, sma):
    lrs, _, raw = hand_curve()
    change = np.zeros(N)
    for i in range(sma, N):
        change[i] = (raw[i] - raw[i - sma]) / sma
    fig, ax = plt.subplots()
    assert finder.plot_loss_change(sma=sma, ax=ax, y_lim=(-0.5, 0.5)) is ax
    assert ax.get_xscale() == "log"
    assert ax.get_ylim() == (-0.5, 0.5)
    curves = [line for line in ax.get_lines() if len(line.get_xdata()) > 2]
    assert len(curves) == 1
    assert_allclose(curves[0].get_xdata(), lrs[10 : N - 5], rtol=1e-12)
    assert_allclose(curves[0].get_ydata(), change[10 : N - 5], rtol=1e-9, atol=1e-12)


def test_plot_loss_change_returns_new_axes(finder):
    ax = finder.plot_loss_change()
    assert isinstance(ax, matplotlib.axes.Axes)


# ---------------------------------------------------------------- plot_schedule
def triangular(t, base, top, step_size):
    cycle = math.floor(1 + t / (2 * step_size))
    x = abs(t / step_size - 2 * cycle + 1)
    return base + (top - base) * max(0.0, 1.0 - x)


def test_plot_schedule_draws_the_closed_form():
    schedule = keras_lr.schedules.Cyclic(0.1, 0.5, step_size=4)
    fig, ax = plt.subplots()
    assert keras_lr.plot_schedule(schedule, 20, ax=ax) is ax
    [line] = ax.get_lines()
    assert np.array_equal(line.get_xdata(), np.arange(20))
    expected = [triangular(t, 0.1, 0.5, 4) for t in range(20)]
    assert expected[:5] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])
    assert_allclose(line.get_ydata(), expected, rtol=1e-6)
    assert line.get_label() == "Cyclic"


def test_plot_schedule_of_a_keras_schedule_on_log_axis():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    ax = keras_lr.plot_schedule(schedule, 30, log_y=True, label="decay")
    assert isinstance(ax, matplotlib.axes.Axes)
    assert ax.get_yscale() == "log"
    [line] = ax.get_lines()
    assert line.get_label() == "decay"
    assert np.array_equal(line.get_xdata(), np.arange(30))
    assert_allclose(line.get_ydata(), [0.1 * 0.5 ** (t / 10) for t in range(30)], rtol=1e-6)


def test_plot_schedule_needs_a_step():
    with pytest.raises(ValueError, match="total_steps=0"):
        keras_lr.plot_schedule(keras_lr.schedules.Cyclic(0.1, 0.5, step_size=4), 0)


# ---------------------------------------------------------------- plot_history
def history(logs):
    h = keras.callbacks.History()
    h.history = logs
    return h


LOGS = {
    "loss": [1.0, 0.6, 0.4, 0.3],
    "val_loss": [1.1, 0.7, 0.5, 0.45],
    "learning_rate": [1e-3, 5e-4, 2.5e-4, 1.25e-4],
}


@pytest.mark.parametrize("as_history", [True, False], ids=["History", "dict"])
def test_plot_history(as_history):
    fig, ax = plt.subplots()
    assert keras_lr.plot_history(history(LOGS) if as_history else LOGS, ax=ax) is ax
    assert sorted(line.get_label() for line in ax.get_lines()) == ["loss", "val_loss"]
    for key in ("loss", "val_loss"):
        line = line_labelled(ax, key)
        assert np.array_equal(line.get_xdata(), [1, 2, 3, 4])
        assert np.array_equal(line.get_ydata(), LOGS[key])
    lr_ax = ax.lr_axis
    assert lr_ax.get_yscale() == "log"
    [lr_line] = lr_ax.get_lines()
    assert np.array_equal(lr_line.get_ydata(), LOGS["learning_rate"])


def test_plot_history_selected_keys_without_lr():
    logs = {k: v for k, v in LOGS.items() if k != "learning_rate"}
    ax = keras_lr.plot_history(logs, keys=["val_loss"])
    assert isinstance(ax, matplotlib.axes.Axes)
    assert [line.get_label() for line in ax.get_lines()] == ["val_loss"]
    assert not hasattr(ax, "lr_axis")


def test_plot_history_refuses_series_of_unequal_length_from_validation_freq():
    # A real Keras history: with validation_freq=2, val_loss has a value every 2nd epoch only.
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    x = np.ones((8, 2), "float32")
    fitted = model.fit(
        x,
        x[:, :1],
        validation_data=(x, x[:, :1]),
        validation_freq=2,
        epochs=4,
        batch_size=4,
        verbose=0,
    )
    assert len(fitted.history["loss"]) == 4 and len(fitted.history["val_loss"]) == 2
    with pytest.raises(ValueError, match=r"Argument `history`.*loss: 4, val_loss: 2.*keys="):
        keras_lr.plot_history(fitted)
    ax = keras_lr.plot_history(fitted, keys=["loss"])  # one value per epoch: drawn
    assert np.array_equal(line_labelled(ax, "loss").get_xdata(), [1, 2, 3, 4])


# ---------------------------------------------------------------- several runs: the band
def hand_runs():
    """Three runs on one ramp of 12 steps, stopped after 12, 9 and 7 points.

    Each run has a validation point every 2 steps. The finder's curves are the
    mean over the runs that reached each step, written out here by hand.
    """
    lrs = 10.0 ** np.linspace(-4.0, 0.0, 12)
    i = np.arange(12, dtype="float64")
    losses = [1.0 - 0.05 * i, 1.1 - 0.06 * i, 0.9 - 0.02 * i**1.5]
    lengths = [12, 9, 7]
    runs = []
    for curve, n in zip(losses, lengths):
        val_steps = list(range(0, n, 2))
        runs.append(
            {
                "steps": list(range(n)),
                "lrs": [float(v) for v in lrs[:n]],
                "losses": [float(v) for v in curve[:n]],
                "raw_losses": [float(v) for v in curve[:n]],
                "stop_reason": "diverged",
                "val_steps": val_steps,
                "val_lrs": [float(lrs[s]) for s in val_steps],
                "val_losses": [float(curve[s] + 0.1) for s in val_steps],
            }
        )
    mean = [np.mean([c[s] for c, n in zip(losses, lengths) if s < n]) for s in range(12)]
    # The band spans each run's lag-free loss (the main line's smoothing, by hand).
    smooth = [hand_lagfree(lrs[:n], c[:n]) for c, n in zip(losses, lengths)]
    low = [min(c[s] for c, n in zip(smooth, lengths) if s < n) for s in range(12)]
    high = [max(c[s] for c, n in zip(smooth, lengths) if s < n) for s in range(12)]
    val_steps = [0, 2, 4, 6, 8, 10]
    val = {s: [c[s] + 0.1 for c, n in zip(losses, lengths) if s < n] for s in val_steps}
    return lrs, runs, mean, low, high, val_steps, val


@pytest.fixture
def runs_finder(tmp_path):
    lrs, runs, mean, low, high, val_steps, val = hand_runs()
    path = write_finder(tmp_path / "runs.json", lrs, mean, mean)
    with open(path, encoding="utf-8") as f:
        result = json.load(f)
    result["config"]["num_runs"] = 3
    result["runs"] = runs
    result["val_every"] = 2
    result["val_steps"] = val_steps
    result["val_lrs"] = [float(lrs[s]) for s in val_steps]
    result["val_losses"] = [float(np.mean(val[s])) for s in val_steps]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(result, f)
    return keras_lr.LRFinder.load(path)


def band_of(ax):
    bands = [c for c in ax.collections if c.get_label().startswith("min-max")]
    assert len(bands) == 1, [c.get_label() for c in ax.collections]
    return bands[0]


def assert_band(band, xs, low, high):
    vertices = np.concatenate([path.vertices for path in band.get_paths()])
    assert band.get_label() == "min-max of 3 runs"
    assert_allclose(np.unique(vertices[:, 0]), np.sort(xs), rtol=1e-12)
    points = {(round(float(x), 12), round(float(y), 12)) for x, y in vertices}
    for x, lo, hi in zip(xs, low, high):
        assert (round(float(x), 12), round(float(lo), 12)) in points
        assert (round(float(x), 12), round(float(hi), 12)) in points


def test_plot_of_several_runs_draws_the_min_max_band(runs_finder):
    lrs, _, mean, low, high, val_steps, val = hand_runs()
    ax = runs_finder.plot(skip_start=0, skip_end=0, suggestion=None)
    line = line_labelled(ax, "lag-free loss, mean of 3 runs")
    assert_allclose(line.get_ydata(), hand_lagfree(lrs, mean), rtol=1e-9)
    assert_allclose(line_labelled(ax, EMA).get_ydata(), mean, rtol=1e-12)
    assert_band(band_of(ax), lrs, low, high)
    # The validation curve is drawn too, over the same LR range.
    val_line = line_labelled(ax, "validation loss")
    assert_allclose(val_line.get_xdata(), lrs[val_steps], rtol=1e-12)
    assert_allclose(val_line.get_ydata(), [np.mean(val[s]) for s in val_steps], rtol=1e-12)


def test_the_band_follows_the_skipped_window(runs_finder):
    lrs, _, _, low, high, val_steps, _ = hand_runs()
    ax = runs_finder.plot(skip_start=2, skip_end=1, suggestion=None)
    assert_band(band_of(ax), lrs[2:11], low[2:11], high[2:11])
    shown = [s for s in val_steps if 2 <= s <= 10]
    assert_allclose(line_labelled(ax, "validation loss").get_xdata(), lrs[shown], rtol=1e-12)


def test_plot_of_the_validation_curve_bands_and_marks_it(runs_finder):
    lrs, _, _, _, _, val_steps, val = hand_runs()
    ax = runs_finder.plot(skip_start=0, skip_end=0, suggestion="minimum", curve="val")
    assert_band(
        band_of(ax),
        lrs[val_steps],
        [min(val[s]) for s in val_steps],
        [max(val[s]) for s in val_steps],
    )
    means = [np.mean(val[s]) for s in val_steps]
    best = int(np.argmin(means))
    expected = lrs[val_steps[best]] / 10
    [marker] = [line for line in ax.get_lines() if line.get_label().startswith("minimum")]
    assert_allclose(marker.get_xdata(), [expected], rtol=1e-12)
    loss_there = np.interp(math.log(expected), np.log(lrs[val_steps]), means)
    assert_allclose(marker.get_ydata(), [loss_there], rtol=1e-9)


def test_a_single_run_has_no_band(finder):
    assert len(finder.runs) == 1
    ax = finder.plot()
    assert len(ax.collections) == 0
    with pytest.raises(ValueError, match=r"Argument `curve`.*Received: curve='both'"):
        finder.plot(curve="both")
