"""The range-test plot draws the curve the rules read, and the basin the diagnosis found.

The main line must be the lag-free smoothing of the batch losses, computed
here by hand: a Gaussian kernel in log10(lr) of the documented width (0.2
decades, `SMOOTH_DECADES`), every point weighing every other. The finder's
lagging EMA is a faint second line; the basin is a shaded span between the
diagnosis' bounds.
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from numpy.testing import assert_allclose
from range_test_oracles import exp_ramp, hand_smoothed

import keras_lr

SIGMA = 0.2  # decades: the lag-free smoothing's documented width
BETA = 0.98


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def hand_lagfree(lrs, raw):
    x = np.log10(lrs)
    weights = np.exp(-0.5 * ((x[:, None] - x[None, :]) / SIGMA) ** 2)
    return weights @ raw / weights.sum(axis=1)


def valley_result(seed=0):
    """A clean valley (a sigmoid fall of 2 centred at 1e-3, a rise past 1e-2), all 200 steps run."""
    lrs = exp_ramp(1e-6, 1e-1, 200)
    x = np.log10(lrs)
    raw = 0.5 + 2.0 / (1.0 + np.exp((x + 3.0) / 0.45)) + 3.0 * np.maximum(x + 2.0, 0.0) ** 2
    raw = raw + 0.02 * np.random.default_rng(seed).normal(size=200)
    run = keras_lr.RangeTestRun(
        steps=list(range(200)),
        lrs=lrs.tolist(),
        losses=hand_smoothed(raw, BETA),
        raw_losses=raw.tolist(),
        stop_reason="num_steps",
    )
    config = {"start_lr": 1e-6, "end_lr": 1e-1, "num_steps": 200, "beta": BETA}
    return keras_lr.RangeTest([run], config), lrs, raw


def the_line(ax, prefix):
    lines = [line for line in ax.get_lines() if line.get_label().startswith(prefix)]
    assert len(lines) == 1, [line.get_label() for line in ax.get_lines()]
    return lines[0]


def x_span(patch):
    """The x-extent of an `axvspan` patch (a Rectangle, or a Polygon in older matplotlib)."""
    if hasattr(patch, "get_width") and hasattr(patch, "get_x"):
        return patch.get_x(), patch.get_x() + patch.get_width()
    xs = np.asarray(patch.get_xy())[:, 0]
    return xs.min(), xs.max()


@pytest.mark.parametrize("skips", [(0, 0), (10, 5)])
def test_the_main_line_is_the_lag_free_smoothing(skips):
    result, lrs, raw = valley_result()
    skip_start, skip_end = skips
    ax = result.plot(skip_start=skip_start, skip_end=skip_end)
    window = slice(skip_start, 200 - skip_end)
    main = the_line(ax, "lag-free loss")
    assert_allclose(main.get_xdata(), lrs[window], rtol=1e-12)
    assert_allclose(main.get_ydata(), hand_lagfree(lrs, raw)[window], rtol=1e-10)
    # The EMA is still drawn, fainter than the main line.
    ema = the_line(ax, "EMA of the loss")
    assert_allclose(ema.get_ydata(), hand_smoothed(raw, BETA)[window], rtol=1e-12)
    assert (ema.get_alpha() or 1.0) < (main.get_alpha() or 1.0)


def test_the_lag_free_line_leads_the_ema():
    # The point of drawing it: the EMA's minimum lags behind the lag-free one.
    result, lrs, raw = valley_result()
    ax = result.plot(skip_start=0, skip_end=0)
    main, ema = the_line(ax, "lag-free loss"), the_line(ax, "EMA of the loss")
    assert lrs[np.argmin(main.get_ydata())] < lrs[np.argmin(ema.get_ydata())]


def test_the_basin_is_shaded_between_the_diagnosis_bounds():
    result, lrs, raw = valley_result()
    diagnosis = result.diagnosis
    assert diagnosis.fell and diagnosis.reliable
    ax = result.plot()
    [basin] = [p for p in ax.patches if p.get_label().startswith("basin")]
    low, high = x_span(basin)
    assert_allclose([low, high], [diagnosis.basin_low_lr, diagnosis.basin_high_lr], rtol=1e-12)
    # The bounds by hand: the LRs where the hand lag-free loss is within 10% of its
    # drop (from the mean of the first 10% of batch losses) of its minimum.
    smooth = hand_lagfree(lrs, raw)
    drop = raw[:20].mean() - smooth.min()
    inside = lrs[smooth <= smooth.min() + 0.1 * drop]
    assert_allclose([low, high], [inside.min(), inside.max()], rtol=1e-12)
    # The default suggestion sits below the basin, on the drawn line.
    [marker] = [line for line in ax.get_lines() if line.get_label().startswith("robust")]
    lr = marker.get_xdata()[0]
    assert lr < low
    expected = np.interp(np.log(lr), np.log(lrs), smooth)
    assert_allclose(marker.get_ydata(), [expected], rtol=1e-9)


def test_no_basin_without_a_fall():
    lrs = exp_ramp(1e-5, 1e-1, 150)
    raw = 1.0 + 0.05 * np.random.default_rng(1).normal(size=150)
    run = keras_lr.RangeTestRun(
        list(range(150)), lrs.tolist(), hand_smoothed(raw, BETA), raw.tolist(), "num_steps"
    )
    result = keras_lr.RangeTest([run], {"start_lr": 1e-5, "end_lr": 1e-1, "num_steps": 150})
    assert not result.diagnosis.fell and result.diagnosis.basin_low_lr is None
    ax = result.plot()
    assert not [p for p in ax.patches if p.get_label().startswith("basin")]
    assert_allclose(the_line(ax, "lag-free loss").get_ydata(), hand_lagfree(lrs, raw)[10:145])


def test_the_plot_takes_axes_and_returns_them():
    result, _, _ = valley_result()
    fig, ax = plt.subplots()
    assert result.plot(ax=ax) is ax
    assert keras_lr.core.plot_finder(result, ax=ax) is ax
