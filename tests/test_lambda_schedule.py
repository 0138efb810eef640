"""`keras_lr.schedules.Lambda`: user schedules, in-graph on every backend."""

import math

import keras
import numpy as np
import pytest

import keras_lr


@keras.saving.register_keras_serializable(package="keras_lr_tests")
def inverse_sqrt(step):
    return keras.ops.rsqrt(keras.ops.maximum(step, 1.0))


def one_weight_model(lr=0.5):
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer=keras.optimizers.SGD(lr), loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
    return model


def test_values_match_closed_form():
    steps = np.arange(0, 3000)
    expected = 0.1 / np.sqrt(np.maximum(steps, 1.0))
    schedule = keras_lr.schedules.Lambda(inverse_sqrt, base_lr=0.1)
    np.testing.assert_allclose(schedule.values(steps), expected, rtol=1e-6)
    plain = keras_lr.schedules.Lambda(lambda t: 0.01 * keras.ops.exp(-t / 100.0))
    np.testing.assert_allclose(plain.values(steps), 0.01 * np.exp(-steps / 100.0), rtol=1e-5, atol=1e-12)


def test_fit_uses_the_lambda_lr_at_every_step():
    # d loss / d w = 1, so each SGD update subtracts exactly the LR of that step.
    model = one_weight_model()
    schedule = keras_lr.schedules.Lambda(lambda t: 0.05 * (1.0 + keras.ops.cos(t)))
    callback = keras_lr.ScheduleCallback(schedule)
    x, y = np.ones((24, 1), "float32"), np.zeros((24, 1), "float32")
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[callback])
    used = 0.05 * (1.0 + np.cos(np.arange(12)))
    np.testing.assert_allclose(model.layers[0].kernel.numpy()[0, 0], -used.sum(), rtol=1e-5)


def test_lambda_in_optimizer_survives_save_and_load(tmp_path):
    model = one_weight_model()
    schedule = keras_lr.schedules.Lambda(inverse_sqrt, base_lr=0.2)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=schedule), loss="mean_absolute_error"
    )
    x, y = np.ones((12, 1), "float32"), np.full((12, 1), -100.0, "float32")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    step = int(keras.ops.convert_to_numpy(loaded.optimizer.iterations))
    assert step == 3
    lr = float(keras.ops.convert_to_numpy(loaded.optimizer.learning_rate))
    assert lr == pytest.approx(0.2 / math.sqrt(3), rel=1e-6)


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: 0.1 * float(t),
        lambda t: 0.1 if t > 3 else 0.2,
        lambda t: int(t) * 0.1,
    ],
)
def test_untraceable_function_is_rejected_at_construction(fn):
    with pytest.raises(ValueError, match="Argument `fn` must be traceable"):
        keras_lr.schedules.Lambda(fn)


def test_bad_arguments():
    with pytest.raises(ValueError, match="Argument `fn` must be a function of the step tensor"):
        keras_lr.schedules.Lambda(0.1)
    with pytest.raises(ValueError, match=r"Argument `base_lr` must be > 0. Received: base_lr=0"):
        keras_lr.schedules.Lambda(inverse_sqrt, base_lr=0)
    with pytest.raises(ValueError, match="must return a scalar tensor"):
        keras_lr.schedules.Lambda(lambda t: 0.1)


@pytest.mark.parametrize("unit", ["epoch", "step"])
def test_a_plain_function_returning_a_float_is_a_constant_schedule(unit):
    """As Keras' `LearningRateScheduler` accepts: `lambda epoch: 0.5` sets 0.5 everywhere."""
    model = one_weight_model(lr=0.01)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=lambda y_true, y_pred: keras.ops.mean(y_pred, axis=-1))
    callback = keras_lr.ScheduleCallback(lambda t: 0.5, unit=unit)
    x, y = np.ones((12, 1), "float32"), np.zeros((12, 1), "float32")
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False, callbacks=[callback])
    # Gradient 1 per update: 6 updates at 0.5 each.
    assert model.layers[0].kernel.numpy()[0, 0] == pytest.approx(-3.0, rel=1e-6)
    assert list(callback.learning_rates) == [0.5] * (2 if unit == "epoch" else 6)
    # The user's LR is back: a plain fit moves the weight by 0.01 per update.
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    assert model.layers[0].kernel.numpy()[0, 0] == pytest.approx(-3.03, rel=1e-6)
