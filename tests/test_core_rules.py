"""The rule registry of `keras_lr.core.rules`, and every rule read through the diagnosis.

The curves are built here with numpy: an exponential ramp, batch losses of a
closed form plus noise (fixed seeds), and the finder's EMA written out by hand.
A rising, a flat and a pure-noise curve tell no LR: every rule, built-in or a
user's, must then say so (`UnreliableSuggestionWarning`), and `suggest_range`
must refuse.
"""

import math
import sys
import warnings

import numpy as np
import pytest
from range_test_oracles import exp_ramp, hand_smoothed

import keras_lr
from keras_lr import core
from keras_lr.core import Curve, rules

N = 150


def run_curve(raw, start=1e-5, end=1e-1):
    """The `Curve` the finder would record for these batch losses (all steps ran)."""
    lrs = exp_ramp(start, end, len(raw))
    smoothed = hand_smoothed(raw, 0.98)
    return Curve(lrs, smoothed, raw_losses=raw, num_steps=len(raw), stop_reason="num_steps")


def x_of(n=N, start=1e-5, end=1e-1):
    return np.log10(exp_ramp(start, end, n))


def rising():
    """The loss rises 3 per decade from the first LR, with a little noise: it never falls."""
    return run_curve(1.0 + 3.0 * (x_of() + 5.0) + 0.01 * np.random.default_rng(0).normal(size=N))


def flat():
    return run_curve(np.full(N, 0.7))


def pure_noise():
    return run_curve(1.0 + 0.05 * np.random.default_rng(1).normal(size=N))


def valley_curve():
    """A clean fall of 2 centred at 1e-3 (a sigmoid in log10 lr), then a rise: reliable."""
    x = x_of(300, 1e-6, 10.0)
    shape = 0.5 + 2.0 / (1.0 + np.exp((x + 3.0) / 0.45)) + 10.0 ** (2.0 * (x + 1.0))
    raw = shape + 0.02 * np.random.default_rng(2).normal(size=300)
    return run_curve(raw, 1e-6, 10.0)


BAD_CURVES = {"rising": rising, "flat": flat, "pure_noise": pure_noise}
NON_DEFAULT = ["consensus", "valley", "steepest", "minimum"]


def own_rule(curve):
    """A user's rule: the LR of the lowest batch loss."""
    return float(curve.lrs[int(np.argmin(curve.raw_losses))])


# ------------------------------------------------------------------ the registry
def test_the_registry_lists_the_built_in_rules_default_first():
    assert rules.DEFAULT == "robust"
    assert rules.names()[0] == rules.DEFAULT
    assert set(rules.names()) >= {"robust", "consensus", "valley", "steepest", "minimum"}
    for name in rules.names():
        assert callable(rules.get(name))


def test_every_built_in_rule_takes_a_curve():
    lrs = exp_ramp(1e-5, 1.0, 101)
    x = np.log10(lrs)
    losses = 1.0 - 0.8 / (1.0 + np.exp(-(x + 3.0) / 0.3)) + 5.0 * np.maximum(x + 1.0, 0.0) ** 2
    curve = Curve(lrs, losses)
    # By hand (tests/test_suggest.py derives them): the steepest point and the valley's
    # middle are the sigmoid's centre, 1e-3; the minimum rule gives 10**-1 / 10.
    assert rules.get("steepest")(curve) == pytest.approx(1e-3, rel=1e-9)
    assert rules.get("valley")(curve) == pytest.approx(1e-3, rel=1e-9)
    assert rules.get("minimum")(curve) == pytest.approx(1e-2, rel=1e-12)
    assert rules.get("consensus")(curve) == pytest.approx(10 ** (-8 / 3), rel=1e-9)


def test_skips_are_curve_attributes_scaled_to_its_spacing():
    lrs = exp_ramp(1e-5, 1.0, 40)
    assert (Curve(lrs, np.ones(40)).skip_start, Curve(lrs, np.ones(40)).skip_end) == (10, 5)
    sampled = Curve(lrs, np.ones(40), every=4)
    assert (sampled.skip_start, sampled.skip_end) == (3, 2)  # ceil(10 / 4), ceil(5 / 4)
    with pytest.raises(ValueError, match=r"Argument `skip_start`.*Received: skip_start=-1"):
        Curve(lrs, np.ones(40), skip_start=-1)


def test_register_a_rule_by_name_and_read_it_through_a_result():
    name = "test_half_minimum"

    @rules.register(name)
    def half_minimum(curve):
        return float(curve.lrs[int(np.argmin(curve.losses))]) / 2

    try:
        assert name in rules.names() and rules.get(name) is half_minimum
        curve = valley_curve()
        expected = float(curve.lrs[int(np.argmin(curve.losses))]) / 2  # by hand
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a reliable curve: no warning
            assert core.suggest(curve, method=name) == expected
        with pytest.raises(ValueError, match="replace=True"):
            rules.register(name)(half_minimum)
    finally:
        rules.unregister(name)
    assert name not in rules.names()
    with pytest.raises(ValueError, match=r"Argument `method`.*Received: method='test_half"):
        core.suggest(valley_curve(), method=name)


def test_built_in_rules_cannot_be_unregistered():
    with pytest.raises(ValueError, match=r"Argument `name`.*Received: name='robust'"):
        rules.unregister("robust")


# ------------------------------------------------------------------ read through the diagnosis
@pytest.mark.parametrize("shape", sorted(BAD_CURVES))
@pytest.mark.parametrize("method", [*NON_DEFAULT, own_rule], ids=[*NON_DEFAULT, "own_rule"])
def test_every_rule_warns_on_a_curve_that_tells_no_lr(shape, method):
    curve = BAD_CURVES[shape]()
    diagnosis = core.diagnose(curve)
    assert not diagnosis.reliable
    with pytest.warns(core.UnreliableSuggestionWarning, match="not reliable") as caught:
        lr = core.suggest(curve, method=method)
    assert math.isfinite(lr) and lr > 0
    message = str(caught[0].message)
    for reason in diagnosis.reasons:
        assert reason in message


@pytest.mark.parametrize("shape", sorted(BAD_CURVES))
def test_a_result_warns_for_every_rule_on_such_a_curve(shape):
    curve = BAD_CURVES[shape]()
    run = keras_lr.RangeTestRun(
        steps=list(range(N)),
        lrs=curve.lrs.tolist(),
        losses=curve.losses.tolist(),
        raw_losses=curve.raw_losses.tolist(),
        stop_reason="num_steps",
    )
    result = keras_lr.RangeTest([run], {"start_lr": 1e-5, "end_lr": 1e-1, "num_steps": N})
    for method in NON_DEFAULT:
        with pytest.warns(core.UnreliableSuggestionWarning):
            result.suggestion(method)


@pytest.mark.parametrize("method", [*rules.names(), own_rule])
def test_no_warning_from_any_rule_on_a_reliable_curve(method):
    curve = valley_curve()
    assert core.diagnose(curve).reliable
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        core.suggest(curve, method=method)


def test_the_default_rule_still_raises_on_pure_noise():
    with pytest.raises(ValueError, match="No learning rate can be read"):
        core.suggest(pure_noise())


def test_a_rising_curve_is_said_to_rise_not_to_fall():
    curve = rising()
    diagnosis = core.diagnose(curve)
    assert not diagnosis.reliable
    assert any("rose from the first LRs" in reason for reason in diagnosis.reasons)
    assert not any("falling" in reason for reason in diagnosis.reasons), diagnosis.reasons
    with pytest.warns(core.UnreliableSuggestionWarning) as caught:
        core.suggest(curve)  # the default
    message = " ".join(str(w.message) for w in caught)
    assert "rose from the first LRs" in message and "already falling" not in message


# ------------------------------------------------------------------ suggest_range
@pytest.mark.parametrize("shape", ["pure_noise", "flat"])
def test_suggest_range_refuses_a_curve_that_never_fell_beyond_its_noise(shape):
    with pytest.raises(ValueError, match="never fell beyond its noise"):
        core.suggest_range(BAD_CURVES[shape]())


def test_suggest_range_of_a_pure_noise_validation_curve_is_refused():
    # A validation curve of pure noise (its own batch-free losses): today's code gave numbers.
    noise = 1.0 + 0.05 * np.random.default_rng(3).normal(size=N // 2)
    steps = list(range(0, N, 2))
    lrs = exp_ramp(1e-5, 1e-1, N)
    train = valley_curve()
    run = keras_lr.RangeTestRun(
        steps=list(range(N)),
        lrs=lrs.tolist(),
        losses=train.losses[:N].tolist(),
        raw_losses=train.raw_losses[:N].tolist(),
        stop_reason="num_steps",
        val_steps=steps,
        val_lrs=[float(lrs[s]) for s in steps],
        val_losses=noise.tolist(),
    )
    result = keras_lr.RangeTest(
        [run], {"start_lr": 1e-5, "end_lr": 1e-1, "num_steps": N}, val_every=2
    )
    with pytest.raises(ValueError, match="never fell beyond its noise"):
        result.suggest_range(curve="val")


def test_suggest_range_on_a_reliable_curve_is_silent():
    curve = valley_curve()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        base, top = core.suggest_range(curve)
    assert base < top


# ------------------------------------------------------------------ the deprecated module
def test_the_old_module_warns_and_keeps_the_old_signatures():
    sys.modules.pop("keras_lr.suggest", None)
    with pytest.warns(DeprecationWarning, match="keras_lr.core"):
        import keras_lr.suggest as old
    assert old.METHODS == rules.names() and old.DEFAULT_METHOD == rules.DEFAULT
    lrs = exp_ramp(1e-5, 1.0, 101)
    x = np.log10(lrs)
    losses = 1.0 - 0.8 / (1.0 + np.exp(-(x + 3.0) / 0.3)) + 5.0 * np.maximum(x + 1.0, 0.0) ** 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", core.UnreliableSuggestionWarning)
        assert old.valley(lrs, losses) == pytest.approx(1e-3, rel=1e-9)
        assert old.steepest(lrs, losses, skip_start=0) == pytest.approx(1e-3, rel=1e-9)
        assert old.minimum(lrs, losses) == pytest.approx(1e-2, rel=1e-12)
        assert old.consensus(lrs, losses) == pytest.approx(10 ** (-8 / 3), rel=1e-9)
    assert old.Curve is Curve and old.diagnose is core.diagnose


def test_the_old_range_test_module_warns():
    sys.modules.pop("keras_lr.range_test", None)
    with pytest.warns(DeprecationWarning, match="keras_lr.RangeTest"):
        import keras_lr.range_test as old
    assert old.RangeTest is core.RangeTest and old.RangeTestRun is core.RangeTestRun
