"""The range test's diagnosis on real fits: a loss flat until it diverges, and one that falls.

The flat model has one weight `w` (no bias, starting at 0), inputs `x = +-1`
and targets `y` of pure noise, independent of `x`, trained with plain SGD on
`mean((w * x - y) ** 2)`. Nothing can be learned: while the LR is small, `w`
stays near 0 and the loss sits at `mean(y ** 2)`, about 1. The gradient is
`2 * (mean(x ** 2) * w - mean(x * y))`, so one SGD step maps
`w -> (1 - 2 * lr * mean(x ** 2)) * w + 2 * lr * mean(x * y)`: with
`mean(x ** 2) = 1` in every batch, the iteration is unstable, and the loss
blows up, exactly when `lr > 1 / mean(x ** 2) = 1`. The finder's EMA and its
stop rule (`smoothed > 4 * best`) stop a few ramp steps after that.
"""

import warnings

import keras
import numpy as np
import pytest
from finder_models import assert_same_state, regression_data, training_state
from range_test_oracles import exp_ramp

import keras_lr
from keras_lr import core as suggest  # the suggestion code lives in keras_lr.core

BATCH = 64
# The documented fallback (README, "How to choose"): an order of magnitude below the divergence.
FALLBACK_DIVISOR = 10.0
FLAT_START, FLAT_END, FLAT_STEPS = 1e-2, 100.0, 80


def one_weight_model(learning_rate=0.1):
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mse")
    return model


def noise_data(seed=0):
    """`x = +-1` (so `mean(x ** 2) = 1` in every batch) and targets of pure noise, one batch per step."""
    rng = np.random.default_rng(seed)
    samples = FLAT_STEPS * BATCH
    x = rng.choice(np.array([-1.0, 1.0], "float32"), size=(samples, 1))
    y = rng.normal(size=(samples, 1)).astype("float32")
    return x, y


def instability_lr(x):
    """Plain SGD on `mean((w * x - y) ** 2)` diverges for `lr > 1 / mean(x ** 2)`."""
    return 1.0 / float(np.mean(np.asarray(x, "float64") ** 2))


def test_loss_flat_until_it_diverges(one_torch_thread):
    x, y = noise_data()
    lr_c = instability_lr(x)
    assert lr_c == 1.0
    model = one_weight_model()
    before = training_state(model)
    finder = keras_lr.LRFinder(FLAT_START, FLAT_END, FLAT_STEPS, verbose=0)
    finder.find(model, x, y, batch_size=BATCH, shuffle=False)

    # The run stopped because the loss diverged, a few ramp steps past the instability.
    assert finder.stop_reason == "diverged"
    ramp = exp_ramp(FLAT_START, FLAT_END, FLAT_STEPS)
    stop_lr = finder.runs[0].stop_lr
    np.testing.assert_allclose(stop_lr, ramp[finder.steps[-1]], rtol=1e-6)
    assert lr_c < stop_lr < 5 * lr_c

    diagnosis = finder.diagnosis
    assert not diagnosis.fell
    assert diagnosis.drop < diagnosis.threshold
    assert diagnosis.diverged
    # Read lag-free, the rise starts at the instability, before the causal stop.
    assert lr_c / 3 < diagnosis.divergence_lr <= stop_lr
    assert diagnosis.points == 0
    assert diagnosis.fallback
    assert not diagnosis.reliable

    with pytest.warns(suggest.FallbackWarning, match="never fell"):
        lr = finder.suggestion()
    assert lr == diagnosis.divergence_lr / FALLBACK_DIVISOR
    assert "diverged" in finder.summary()

    # The model is put back bit for bit.
    assert_same_state(before, training_state(model))


def test_a_model_that_learns_is_diagnosed_reliable(one_torch_thread):
    x, y = regression_data(200 * 32, seed=0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    before = training_state(model)
    finder = keras_lr.LRFinder(1e-5, 10.0, 200, verbose=0)
    finder.find(model, x, y, batch_size=32, shuffle=False)

    diagnosis = finder.diagnosis
    assert diagnosis.fell
    assert diagnosis.drop > 3 * diagnosis.threshold  # far beyond its noise
    assert diagnosis.reliable and diagnosis.reasons == ()
    assert not diagnosis.fallback
    assert diagnosis.points >= suggest.MIN_DESCENT_POINTS
    with warnings.catch_warnings():
        warnings.simplefilter("error", suggest.FallbackWarning)
        lr = finder.suggestion()
    # The suggestion lies where the loss fell: at or below the lowest point of the curve.
    assert finder.lrs[0] < lr <= diagnosis.bottom_lr
    assert_same_state(before, training_state(model))
