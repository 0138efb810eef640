"""Tests of the suggestion rules (`keras_lr.core.rules`), the readings of a range-test curve.

The curves are built by hand in log10(lr), on a grid of 0.05 decades:

- a sigmoid descent, `loss = 1 - 0.8 * s(x)` with `s(x) = 1 / (1 + exp(-(x - c) / w))`,
  whose steepest point is its centre `c`;
- then a sharp rise after `x = r`, `+ 5 * (x - r) ** 2`, so the minimum is at `r`;
- optionally a flat start: constant until `x0`, as a range test started far too low.
"""

import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from keras_lr import core
from keras_lr.core import Curve, rules

STEP = 0.05  # decades between two recorded LRs
C, W, R = -3.0, 0.3, -1.0  # sigmoid centre and width, start of the rise


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-(x - C) / W))


def curve(x_start=-5.0, x_end=0.0, flat_until=None):
    """`(x, lrs, losses)` of the hand-built curve from 10**x_start to 10**x_end."""
    n = int(round((x_end - x_start) / STEP)) + 1
    x = np.linspace(x_start, x_end, n)
    s = sigmoid(x)
    if flat_until is not None:
        s = np.maximum(s, sigmoid(flat_until))
    losses = 1.0 - 0.8 * s + 5.0 * np.maximum(x - R, 0.0) ** 2
    return x, 10.0**x, losses


def read(name, lrs, losses, **skips):
    """The raw rule `name` (no diagnosis) on the curve `(lrs, losses)`."""
    return rules.get(name)(Curve(lrs, losses, **skips))


def index_of(x, value):
    i = int(np.argmin(np.abs(x - value)))
    assert abs(x[i] - value) < 1e-9
    return i


# ---------------------------------------------------------------- steepest
@pytest.mark.parametrize("x_start, x_end", [(-5.0, 0.0), (-7.0, 1.0), (-4.2, -0.5)])
def test_steepest_is_the_sigmoid_centre(x_start, x_end):
    _, lrs, losses = curve(x_start, x_end)
    lr = read("steepest", lrs, losses)
    assert abs(math.log10(lr) - C) <= STEP + 1e-9


def test_steepest_skips_the_ends():
    # A steeper fall in the first 10 points is left out by default, not with skip_start=0.
    x, lrs, losses = curve(-5.0, 0.0)
    losses = losses.copy()
    losses[:10] += np.linspace(5.0, 0.0, 10)
    assert abs(math.log10(read("steepest", lrs, losses)) - C) <= STEP + 1e-9
    assert read("steepest", lrs, losses, skip_start=0) < lrs[10]


# ---------------------------------------------------------------- minimum
@pytest.mark.parametrize("flat_until", [None, -4.5])
def test_minimum_is_the_lr_of_the_lowest_loss_over_ten(flat_until):
    x, lrs, losses = curve(-7.0, 1.0, flat_until)
    bottom = index_of(x, R)  # the rise starts at R, the sigmoid falls until then
    assert np.all(np.diff(losses[: bottom + 1]) <= 0) and np.all(np.diff(losses[bottom:]) > 0)
    assert read("minimum", lrs, losses) == lrs[bottom] / 10
    assert read("minimum", lrs, losses) == pytest.approx(10**R / 10, rel=1e-12)


# ---------------------------------------------------------------- valley
def assert_in_middle_of_descent(x, lr, start, end):
    """`lr` is inside the descent `[start, end]` (indices), in its middle half."""
    index = index_of(x, math.log10(lr))
    assert start <= index <= end, f"valley at x={x[index]:.2f}, descent x in [{x[start]}, {x[end]}]"
    middle, quarter = (start + end) / 2, (end - start) / 4
    assert abs(index - middle) <= quarter, (
        f"valley at x={x[index]:.2f}, descent x in [{x[start]:.2f}, {x[end]:.2f}], "
        f"middle x={x[int(middle)]:.2f}"
    )


def test_valley_is_in_the_middle_of_the_descent():
    # The range starts where the sigmoid starts to fall (c - 6w) and ends in the rise.
    x, lrs, losses = curve(C - 6 * W, 0.0)
    assert np.all(np.diff(losses[: index_of(x, R) + 1]) < 0)
    assert_in_middle_of_descent(x, read("valley", lrs, losses), 0, index_of(x, R))


@pytest.mark.parametrize("x_start", [-5.0, -7.0, -8.5])
def test_valley_is_in_the_middle_of_the_descent_after_a_flat_start(x_start):
    # A range test started far below the useful LRs: the loss is flat until
    # x0 = c - 5w, then falls until R. The flat start is not part of the descent.
    x0 = C - 5 * W
    x, lrs, losses = curve(x_start, 0.0, flat_until=x0)
    start, end = index_of(x, x0), index_of(x, R)
    assert np.ptp(losses[: start + 1]) < 1e-12 and np.all(np.diff(losses[start : end + 1]) < 0)
    assert_in_middle_of_descent(x, read("valley", lrs, losses), start, end)


def test_valley_on_a_noisy_curve_stays_in_the_descent():
    x, lrs, losses = curve(-5.0, 0.0)
    noisy = losses + np.random.default_rng(0).normal(0.0, 0.002, losses.shape)
    index = index_of(x, math.log10(read("valley", lrs, noisy)))
    # Where the sigmoid has fallen by 5% to 95% of its drop.
    low, high = C - W * math.log(19), C + W * math.log(19)
    assert low <= x[index] <= high


# ---------------------------------------------------------------- suggest_range
def first_grid_point_at_or_after(x, value):
    return int(np.argmax(x >= value - 1e-12))


@pytest.mark.parametrize("flat_until", [None, -4.5])
def test_suggest_range_spans_the_fall(flat_until):
    x, lrs, losses = curve(-5.0, 0.0, flat_until)
    base, top = core.suggest_range(lrs, losses)
    assert base < top

    # Closed form: the sigmoid has fallen by a fraction q of the drop from the first
    # point to the minimum at R where s(x) = s0 + q * (s(R) - s0).
    s0, s_r = (sigmoid(x[0]) if flat_until is None else sigmoid(flat_until)), sigmoid(R)
    for lr, q in ((base, 0.1), (top, 0.9)):
        s = s0 + q * (s_r - s0)
        x_q = C + W * math.log(s / (1 - s))
        assert math.log10(lr) == pytest.approx(x[first_grid_point_at_or_after(x, x_q)], abs=1e-9)
    # Both inside the falling region.
    start = 0 if flat_until is None else index_of(x, flat_until)
    assert lrs[start] < base < top < 10**R


def test_suggest_range_with_other_fractions():
    x, lrs, losses = curve(-5.0, 0.0)
    base, top = core.suggest_range(lrs, losses, low=0.25, high=0.75)
    wide_base, wide_top = core.suggest_range(lrs, losses)
    assert wide_base < base < top < wide_top


def test_suggest_range_needs_a_fall():
    lrs = 10.0 ** np.linspace(-5, 0, 20)
    with pytest.raises(ValueError, match="never fell"):
        core.suggest_range(lrs, np.linspace(1.0, 2.0, 20))


# ---------------------------------------------------------------- consensus and dispatch
def known_curve():
    # From 1e-5 to 1: the loss falls strictly from the first point to the minimum
    # at R = -1 (index 80), so the longest descent is [0, 80] and the valley is
    # its middle, index 40: x = -3. The steepest point is the centre, x = C = -3,
    # and the minimum rule gives 10**R / 10.
    x, lrs, losses = curve(-5.0, 0.0)
    assert index_of(x, R) == 80 and index_of(x, C) == 40
    return lrs, losses


def test_consensus_is_the_geometric_mean_of_the_three_rules():
    lrs, losses = known_curve()
    expected = (10.0**C * 10.0**C * 10.0 ** (R - 1)) ** (1 / 3)  # 10 ** (-8/3)
    assert read("consensus", lrs, losses) == pytest.approx(expected, rel=1e-9)


def test_suggest_dispatches_by_method():
    lrs, losses = known_curve()
    with warnings.catch_warnings():  # the hand curve falls from its first point
        warnings.simplefilter("ignore", core.UnreliableSuggestionWarning)
        assert core.suggest(lrs, losses, "valley") == pytest.approx(10.0**C, rel=1e-9)
        assert core.suggest(lrs, losses, "steepest") == pytest.approx(10.0**C, rel=1e-9)
        assert core.suggest(lrs, losses, "minimum") == pytest.approx(10.0 ** (R - 1), rel=1e-12)
        assert core.suggest(lrs, losses, "consensus") == pytest.approx(10 ** (-8 / 3), rel=1e-9)
        default = core.suggest(lrs, losses)
        assert default == core.suggest(lrs, losses, rules.DEFAULT)


def test_unknown_method():
    x, lrs, losses = curve()
    with pytest.raises(ValueError) as info:
        core.suggest(lrs, losses, "bogus")
    assert "`method`" in str(info.value) and "method='bogus'" in str(info.value)


# ---------------------------------------------------------------- too few points
@pytest.mark.parametrize(
    "function",
    [
        lambda lrs, losses: read("valley", lrs, losses),
        lambda lrs, losses: read("minimum", lrs, losses),
        lambda lrs, losses: read("consensus", lrs, losses),
        lambda lrs, losses: read("robust", lrs, losses),
        core.suggest_range,
    ],
    ids=["valley", "minimum", "consensus", "robust", "suggest_range"],
)
def test_too_few_points(function):
    lrs, losses = [1e-4, 1e-3, 1e-2, 1e-1], [1.0, 0.8, 0.5, 0.9]
    with pytest.raises(core.TooFewPointsError, match="Too few points.*4 recorded"):
        function(lrs, losses)


def test_too_few_points_for_steepest_after_skipping():
    lrs = 10.0 ** np.linspace(-5, 0, 17)
    losses = np.linspace(1.0, 0.2, 17)
    with pytest.raises(ValueError, match="Too few points"):
        read("steepest", lrs, losses)  # 17 - 10 - 5 = 2 points left
    assert read("steepest", lrs[:3], losses[:3], skip_start=0, skip_end=0) in lrs[:3]


def test_lengths_must_match():
    with pytest.raises(ValueError, match="same length"):
        Curve([1e-3, 1e-2, 1e-1, 1.0, 10.0], [1.0, 0.9, 0.8, 0.7])


# ---------------------------------------------------------------- loss_change
@pytest.mark.parametrize("sma", [1, 3, 7])
def test_loss_change_by_hand(sma):
    losses = np.random.default_rng(1).normal(size=25).cumsum()
    expected = np.zeros(25)
    for i in range(sma, 25):
        expected[i] = (losses[i] - losses[i - sma]) / sma
    assert_allclose(core.loss_change(losses, sma), expected, rtol=1e-12, atol=0)


def test_loss_change_of_a_line_is_its_slope():
    losses = 3.0 - 0.25 * np.arange(12)
    change = core.loss_change(list(losses), 4)
    assert np.all(change[:4] == 0.0)
    assert_allclose(change[4:], -0.25, rtol=1e-12)


def test_loss_change_window_longer_than_the_curve():
    assert np.array_equal(core.loss_change([1.0, 2.0, 4.0], 5), np.zeros(3))


@pytest.mark.parametrize("sma", [0, -1, 1.5])
def test_loss_change_rejects_a_bad_window(sma):
    with pytest.raises(ValueError, match=f"`sma`.*Received: sma={sma}"):
        core.loss_change([1.0, 2.0, 3.0], sma)
