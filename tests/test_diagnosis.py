"""The range test's diagnosis, on hand-built curves: one curve per diagnosis.

Each curve is built here with numpy (fixed seeds): the LRs are an exponential
ramp, the batch losses a closed-form shape plus noise, the smoothed losses the
finder's bias-corrected EMA written out by hand (beta 0.98), and the run is cut
where the finder's stop rule (`smoothed - best > 3 * |best|`) fires, with the
`stop_lr` and `stop_reason` the finder would record. Every case is clear-cut
(its fall, or its lack of one, is far from any threshold), so the tests pin the
diagnosis and the properties of the suggestion, not the values of the rule's
constants (`keras_lr.core.FELL_Z`, ...), which are read from the module
where a test needs one.

The property tests (hypothesis) check that the diagnosis and the default
suggestion do not change when the loss is shifted by a constant or scaled by a
positive factor.
"""

import dataclasses
import json
import math
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from range_test_oracles import exp_ramp, hand_smoothed, hand_stop_index

import keras_lr
from keras_lr import core

BETA = 0.98  # LRFinder's default smoothing
STOP_FACTOR = 4.0  # LRFinder's default stop rule: smoothed > 4 * best
# The documented fallback (README, "How to choose"): an order of magnitude below the divergence.
FALLBACK_DIVISOR = 10.0


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------ the finder, by hand
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@dataclasses.dataclass
class Case:
    """A hand-built run: what the finder would have recorded."""

    lrs: np.ndarray
    raw: np.ndarray
    losses: np.ndarray
    stop_reason: str
    stop_lr: float | None
    config: dict

    def curve(self):
        return core.Curve(
            self.lrs,
            self.losses,
            raw_losses=self.raw,
            num_steps=self.config["num_steps"],
            stop_lr=self.stop_lr,
            stop_reason=self.stop_reason,
        )

    def result(self):
        run = keras_lr.RangeTestRun(
            steps=list(range(len(self.lrs))),
            lrs=[float(v) for v in self.lrs],
            losses=[float(v) for v in self.losses],
            raw_losses=[float(v) for v in self.raw],
            stop_reason=self.stop_reason,
            stop_lr=self.stop_lr,
        )
        return keras_lr.RangeTest([run], self.config)


def record(start_lr, end_lr, num_steps, shape, noise=0.0, seed=0):
    """The run the finder records on `raw = shape(log10(lr)) + noise * N(0, 1)`.

    The ramp runs from `start_lr` to `end_lr` in `num_steps` steps; the run is
    cut at the step where the stop rule fires (`stop_reason="diverged"`, and
    `stop_lr` that step's LR), or runs all steps (`"num_steps"`).
    """
    lrs = exp_ramp(start_lr, end_lr, num_steps)
    rng = np.random.default_rng(seed)
    raw = shape(np.log10(lrs)) + noise * rng.normal(size=num_steps)
    losses = np.array(hand_smoothed(raw, BETA))  # the finder's EMA, by hand
    stop = hand_stop_index(losses, STOP_FACTOR)
    config = {
        "start_lr": start_lr,
        "end_lr": end_lr,
        "num_steps": num_steps,
        "mode": "exponential",
        "beta": BETA,
        "stop_factor": STOP_FACTOR,
    }
    if stop is None:
        return Case(lrs, raw, losses, "num_steps", None, config)
    end = stop + 1  # the finder records the point at which it stops
    return Case(lrs[:end], raw[:end], losses[:end], "diverged", float(lrs[stop]), config)


# A long noisy plateau at 1 (noise 0.05), then an exponential blow-up (in log-LR)
# past lr=1e-2: the loss never falls, it diverges.
FLAT_LEVEL, FLAT_NOISE = 1.0, 0.05


def flat_shape(x):
    return FLAT_LEVEL + 10.0 ** (2.0 * (x + 2.0))


def flat_then_divergent(seed=0):
    case = record(1e-6, 1.0, 200, flat_shape, noise=FLAT_NOISE, seed=seed)
    assert case.stop_reason == "diverged" and len(case.lrs) > 100  # 4 decades of plateau
    return case


def noisy_plateau(seed=1):
    """A noisy plateau over the whole ramp: it neither falls nor diverges."""
    case = record(1e-5, 1e-1, 150, lambda x: np.ones_like(x), noise=0.05, seed=seed)
    assert case.stop_reason == "num_steps" and len(case.lrs) == 150
    return case


# A clean valley: flat at 2.5 up to 1e-4, a sigmoid fall of 2.0 centred at 1e-3
# over about 2 decades (10% to 90% of it in 4.4 * 0.45 decades), then a rise.
VALLEY_CENTRE, VALLEY_WIDTH = -3.0, 0.45


def valley_shape(x, centre=VALLEY_CENTRE):
    return 0.5 + 2.0 * (1.0 - sigmoid((x - centre) / VALLEY_WIDTH)) + 10.0 ** (2.0 * (x + 1.0))


def clean_valley(seed=2):
    case = record(1e-6, 10.0, 300, valley_shape, noise=0.02, seed=seed)
    assert case.stop_reason == "diverged"
    return case


def immediate_divergence(seed=3):
    """The loss blows up tenfold per step from the first one: the rule stops within 3 points."""
    case = record(1e-1, 10.0, 100, lambda x: 10.0 ** ((x + 1.0) / 0.0202), noise=0.01, seed=seed)
    assert case.stop_reason == "diverged" and len(case.lrs) <= 3
    return case


def all_nan():
    """The loss was NaN at the first step: nothing recorded, stopped at `start_lr`."""
    config = {
        "start_lr": 1e-4,
        "end_lr": 1.0,
        "num_steps": 100,
        "mode": "exponential",
        "beta": BETA,
        "stop_factor": STOP_FACTOR,
    }
    empty = np.zeros(0)
    return Case(empty, empty, empty, "nan", 1e-4, config)


def early_fall(seed=4):
    """The valley's fall, but `start_lr` is at its centre: the loss falls from the first point."""
    case = record(1e-3, 10.0, 600, lambda x: valley_shape(x, centre=-3.0), noise=0.02, seed=seed)
    assert case.stop_reason == "diverged"
    return case


CASES = {
    "flat_then_divergent": flat_then_divergent,
    "noisy_plateau": noisy_plateau,
    "clean_valley": clean_valley,
    "immediate_divergence": immediate_divergence,
    "all_nan": all_nan,
    "early_fall": early_fall,
}


def ramp_step(case):
    """The ratio of two successive LRs of the ramp."""
    config = case.config
    return (config["end_lr"] / config["start_lr"]) ** (1.0 / (config["num_steps"] - 1))


def lines_labelled(ax, word):
    return [line for line in ax.get_lines() if word in line.get_label()]


# ------------------------------------------------------------------ flat, then divergent
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flat_then_divergent_is_diagnosed_as_no_fall_and_a_divergence(seed):
    case = flat_then_divergent(seed)
    for diagnosis in (core.diagnose(case.curve()), case.result().diagnosis):
        assert not diagnosis.fell
        assert diagnosis.drop < diagnosis.threshold
        assert diagnosis.diverged
        # Read lag-free, the blow-up starts before the causal 4x rule stops the test, and
        # not before the closed form has begun to rise: half a decade later it is beyond noise.
        assert diagnosis.divergence_lr <= case.stop_lr
        x = math.log10(diagnosis.divergence_lr) + 0.5
        assert flat_shape(np.array([x]))[0] - FLAT_LEVEL > FLAT_NOISE
        assert diagnosis.points == 0
        assert diagnosis.fallback
        assert not diagnosis.reliable
        assert any("never fell" in reason for reason in diagnosis.reasons), diagnosis.reasons


def test_flat_then_divergent_falls_back_on_the_divergence_with_a_warning():
    case = flat_then_divergent()
    assert issubclass(core.FallbackWarning, UserWarning)
    expected = case.result().diagnosis.divergence_lr / FALLBACK_DIVISOR
    for read in (case.result().suggestion, lambda: core.rules.robust(case.curve())):
        with pytest.warns(core.FallbackWarning) as caught:
            lr = read()
        assert lr == expected
        message = str(caught[0].message)
        assert "never fell" in message  # what happened
        assert "diverged" in message
        assert "num_steps" in message and "batch" in message  # what to try
        # The LRs to check it at: 10**1.5 below the fallback up to the fallback itself (the
        # range the trials' candidates span), and the call that runs those trials.
        assert f"from {lr / 10**1.5:.2g} to {lr:.2g}" in message
        assert "confirm(" in message


def test_flat_then_divergent_default_suggestion_is_the_fallback():
    case = flat_then_divergent()
    with pytest.warns(core.FallbackWarning):
        assert core.suggest(case.curve()) == (
            case.result().diagnosis.divergence_lr / FALLBACK_DIVISOR
        )


def test_flat_then_divergent_plot_marks_the_divergence_and_the_fallback():
    case = flat_then_divergent()
    result = case.result()
    ax = result.plot()  # the default skip_end hides the last points ...
    [curve] = lines_labelled(ax, "lag-free loss")
    assert max(curve.get_xdata()) < case.stop_lr
    [stop] = lines_labelled(ax, "diverged")  # ... but the divergence is marked
    np.testing.assert_array_equal(stop.get_xdata(), [case.stop_lr, case.stop_lr])
    fallback = lines_labelled(ax, "fallback")
    assert len(fallback) == 1, [line.get_label() for line in ax.get_lines()]
    np.testing.assert_allclose(
        fallback[0].get_xdata(),
        [case.result().diagnosis.divergence_lr / FALLBACK_DIVISOR],
        rtol=1e-12,
    )


def test_the_diagnosis_holds_python_types_and_is_json_ready():
    diagnosis = flat_then_divergent().result().diagnosis
    for field in ("fell", "diverged", "fallback", "reliable"):
        assert type(getattr(diagnosis, field)) is bool, field
    json.dumps(dataclasses.asdict(diagnosis))


# ------------------------------------------------------------------ a noisy plateau
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noisy_plateau_neither_fell_nor_diverged(seed):
    case = noisy_plateau(seed)
    diagnosis = case.result().diagnosis
    assert not diagnosis.fell
    assert diagnosis.drop < diagnosis.threshold
    assert not diagnosis.diverged
    assert diagnosis.divergence_lr is None
    assert not diagnosis.fallback
    assert not diagnosis.reliable
    assert diagnosis.points == 0


def test_noisy_plateau_has_no_suggestion():
    case = noisy_plateau()
    for read in (case.result().suggestion, lambda: core.rules.robust(case.curve())):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an error, not a fallback
            with pytest.raises(ValueError, match="No learning rate can be read") as error:
                read()
        message = str(error.value)
        assert "never fell" in message
        assert "`end_lr`" in message and "`num_steps`" in message  # what to try


def test_noisy_plateau_has_no_range():
    with pytest.raises(ValueError):
        noisy_plateau().result().suggest_range()


# ------------------------------------------------------------------ a clean valley
def shape_landmarks(shape, start_lr, end_lr):
    """From the closed form, on a fine grid: the LR where the shape has fallen 10% of its
    drop (from its value at `start_lr` to its minimum), and the LR of its minimum."""
    x = np.linspace(math.log10(start_lr), math.log10(end_lr), 200_001)
    values = shape(x)
    bottom = int(np.argmin(values))
    drop = values[0] - values[bottom]
    fallen = int(np.argmax(values <= values[0] - 0.1 * drop))
    return 10.0 ** x[fallen], 10.0 ** x[bottom]


def test_clean_valley_is_diagnosed_reliable():
    case = clean_valley()
    diagnosis = case.result().diagnosis
    _, bottom_lr = shape_landmarks(valley_shape, 1e-6, 10.0)
    assert diagnosis.fell
    assert diagnosis.drop > 10 * diagnosis.threshold
    assert diagnosis.reliable and diagnosis.reasons == ()
    assert not diagnosis.fallback
    assert diagnosis.diverged and diagnosis.divergence_lr <= case.stop_lr
    assert diagnosis.points >= core.MIN_DESCENT_POINTS
    # The smoothing may move the minimum of an asymmetric valley a little: a factor of 3.
    assert bottom_lr / 3 < diagnosis.bottom_lr < bottom_lr * 3


def test_clean_valley_suggestion_lies_in_the_descent():
    case = clean_valley()
    fallen_lr, bottom_lr = shape_landmarks(valley_shape, 1e-6, 10.0)
    tolerance = ramp_step(case) ** 2  # two ramp steps
    for read in (case.result().suggestion, lambda: core.rules.robust(case.curve())):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no fallback warning
            lr = read()
        assert fallen_lr / tolerance <= lr <= bottom_lr * tolerance, (fallen_lr, lr, bottom_lr)


# ------------------------------------------------------------------ a late fall, a long flat bottom
# The loss falls around 1e-2 and stays low up to `end_lr` (a model that learned during the
# ramp): the basin runs from about 3e-2 to 10, so its centre / 4 would lie inside it.
def late_fall_shape(x):
    return 0.2 + 1.8 * (1.0 - sigmoid((x + 2.0) / 0.2))


def test_a_long_flat_bottom_does_not_pull_the_suggestion_into_the_basin():
    case = record(1e-6, 10.0, 300, late_fall_shape, noise=0.02, seed=5)
    assert case.stop_reason == "num_steps"  # no rise: the bottom runs to the end
    # From the closed form: where the loss enters the basin (within 10% of its drop of the
    # minimum), and the basin's centre / 4 over the ramp's own LRs.
    x = np.linspace(-6.0, 1.0, 200_001)
    values = late_fall_shape(x)
    level = values.min() + 0.1 * (values[0] - values.min())
    entry_lr = 10.0 ** x[int(np.argmax(values <= level))]
    fallen_lr, _ = shape_landmarks(late_fall_shape, 1e-6, 10.0)
    in_basin = case.lrs[late_fall_shape(np.log10(case.lrs)) <= level]
    centre_over_4 = float(np.exp(np.mean(np.log(in_basin)))) / 4
    tolerance = 10.0**0.25  # a quarter of a decade: the smoothing moves the edge a little
    assert centre_over_4 > 2 * entry_lr * tolerance  # the case tells the two readings apart
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", core.UnreliableSuggestionWarning)
        lr = case.result().suggestion()
    assert fallen_lr / tolerance <= lr <= entry_lr * tolerance, (fallen_lr, lr, entry_lr)


# ------------------------------------------------------------------ immediate divergence
def test_immediate_divergence_is_not_reliable_and_has_no_suggestion():
    case = immediate_divergence()
    result = case.result()
    diagnosis = result.diagnosis
    assert diagnosis.diverged and diagnosis.divergence_lr == case.stop_lr
    assert not diagnosis.fell and not diagnosis.fallback
    assert not diagnosis.reliable
    assert any("`start_lr`" in reason for reason in diagnosis.reasons), diagnosis.reasons
    with pytest.raises(ValueError, match="Too few points") as error:
        result.suggestion()
    assert f"{len(case.lrs)} recorded" in str(error.value)
    assert "`start_lr`" in str(error.value)


# ------------------------------------------------------------------ all NaN
def test_all_nan_is_diagnosed_as_not_finite_from_the_first_step():
    case = all_nan()
    result = case.result()
    assert result.stop_lr == case.config["start_lr"]
    diagnosis = result.diagnosis
    assert not diagnosis.fell and not diagnosis.fallback and not diagnosis.reliable
    assert diagnosis.diverged and diagnosis.divergence_lr == case.config["start_lr"]
    assert diagnosis.points == 0 and diagnosis.bottom_lr is None
    [reason] = diagnosis.reasons
    assert "not finite from the first step" in reason
    assert "NaN" in reason and "inf" in reason
    with pytest.raises(ValueError, match="0 recorded"):
        result.suggestion()
    summary = result.summary()
    assert "not finite" in summary and "NaN" in summary


def test_all_nan_suggestion_error_says_the_loss_was_not_finite():
    with pytest.raises(ValueError, match="(?i)not finite|NaN"):
        all_nan().result().suggestion()


# ------------------------------------------------------------------ falling from the start
def test_a_curve_falling_from_the_first_point_is_not_reliable():
    case = early_fall()
    shape = valley_shape(np.log10(case.lrs[:20]))
    assert np.all(np.diff(shape) < 0)  # the shape falls from the very first step
    diagnosis = case.result().diagnosis
    assert diagnosis.fell
    assert not diagnosis.reliable
    assert any("lower `start_lr`" in reason for reason in diagnosis.reasons), diagnosis.reasons


# ------------------------------------------------------------------ summary, save and load
STOP_WORDS = {
    "diverged": "the loss diverged",
    "nan": "the loss was not finite",
    "num_steps": "all {num_steps} steps ran",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_summary_mentions_the_stop_reason_and_the_diagnosis(name):
    case = CASES[name]()
    result = case.result()
    summary = result.summary()
    stop = STOP_WORDS[case.stop_reason].format(num_steps=case.config["num_steps"])
    assert stop in summary
    if case.stop_lr is not None:
        assert f"lr={case.stop_lr:.3g}" in summary
    diagnosis = result.diagnosis
    assert diagnosis.describe() in summary
    assert ("fell by" in summary) == (diagnosis.bottom_lr is not None)
    for reason in diagnosis.reasons:
        assert reason in summary


@pytest.mark.parametrize("name", sorted(CASES))
def test_save_load_keeps_the_stop_and_the_diagnosis(name, tmp_path):
    case = CASES[name]()
    result = case.result()
    path = tmp_path / "range_test.json"
    result.save(path)
    loaded = keras_lr.RangeTest.load(path)
    assert loaded.stop_lr == case.stop_lr
    assert loaded.stop_reason == case.stop_reason
    assert loaded.runs[0].stop_lr == case.stop_lr
    assert loaded.diagnosis == result.diagnosis
    assert loaded.summary() == result.summary()


# ------------------------------------------------------------------ invariance (hypothesis)
def transformed(case, scale, shift):
    """The same run with the loss mapped to `scale * loss + shift` (raw and smoothed)."""
    return dataclasses.replace(
        case, raw=scale * case.raw + shift, losses=scale * case.losses + shift
    )


def read(curve):
    """`(diagnosis, suggestion)`; the suggestion is the error's type when there is none."""
    diagnosis = core.diagnose(curve)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", core.FallbackWarning)
        try:
            lr = core.suggest(curve)
        except ValueError as error:
            lr = type(error)
    return diagnosis, lr


INVARIANT = (
    "fell",
    "diverged",
    "divergence_lr",
    "bottom_lr",
    "points",
    "fallback",
    "reliable",
    "reasons",
)
SCALED = ("drop", "noise", "threshold")
# Exact in floating point: powers of two, and shifts that are small dyadic numbers.
SCALES = st.integers(-6, 6).map(lambda k: 2.0**k)
SHIFTS = st.integers(-64, 64).map(lambda k: k / 8.0)
SHAPES = st.sampled_from(["flat_then_divergent", "noisy_plateau", "clean_valley", "early_fall"])


@settings(max_examples=60, deadline=None)
@given(SHAPES, st.integers(0, 9), SCALES, SHIFTS)
def test_diagnosis_and_suggestion_do_not_change_with_the_loss_scale_and_offset(
    name, seed, scale, shift
):
    case = CASES[name](seed)
    diagnosis, lr = read(case.curve())
    moved, moved_lr = read(transformed(case, scale, shift).curve())
    assert moved_lr == lr
    for field in INVARIANT:
        assert getattr(moved, field) == getattr(diagnosis, field), field
    for field in SCALED:
        assert math.isclose(
            getattr(moved, field), scale * getattr(diagnosis, field), rel_tol=1e-9, abs_tol=1e-9
        ), field


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 9), st.floats(0.01, 100.0), st.floats(-10.0, 10.0))
def test_valley_suggestion_does_not_change_with_any_positive_scale_and_offset(seed, scale, shift):
    """Any positive factor and offset (not only exact ones): the valley's minimum is clear,
    so rounding cannot move the suggestion."""
    case = clean_valley(seed)
    _, lr = read(case.curve())
    moved, moved_lr = read(transformed(case, scale, shift).curve())
    assert moved_lr == lr
    assert moved.fell and moved.reliable


def test_lagfree_is_the_full_gaussian_kernel_and_scales_to_long_curves():
    # The hand-written dense kernel (every point weighs every other) on a 300-point ramp.
    rng = np.random.default_rng(0)
    lrs = np.logspace(-7, 1, 300)
    raw = 1.0 + rng.normal(0.0, 0.1, 300)
    x = np.log10(lrs)
    weights = np.exp(-0.5 * ((x[:, None] - x[None, :]) / core.SMOOTH_DECADES) ** 2)
    np.testing.assert_allclose(
        core.lagfree(lrs, raw), weights @ raw / weights.sum(axis=1), rtol=1e-12
    )
    # A 50,000-step ramp: a dense kernel would need 20 GB; the band is quick and bounded.
    long_lrs = np.logspace(-7, 1, 50_000)
    smooth = core.lagfree(long_lrs, np.ones(50_000))
    np.testing.assert_allclose(smooth, 1.0, rtol=1e-12)
