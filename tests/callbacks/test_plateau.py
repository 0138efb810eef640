"""`keras_lr.ReduceLROnPlateau`: Keras' plateau logic, also on top of schedules.

Expected values come from independent sources: Keras' own
`keras.callbacks.ReduceLROnPlateau` on a float LR (the oracle for the plateau
logic and for the epochs at which it reduces), closed forms written out here
for the scaled schedules, and the one-weight model of conftest.py, whose
kernel is minus the running sum of the LRs that the train step used.
"""

import math
import os
import warnings

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose

import keras_lr

STEPS = 6  # batches per epoch in `one_weight.fit`


class Scripted(keras.callbacks.Callback):
    """Writes `values[epoch]` to `logs[name]`: a monitored metric under test control."""

    def __init__(self, values, name="score"):
        super().__init__()
        self.values = list(values)
        self.name = name

    def on_epoch_end(self, epoch, logs=None):
        logs[self.name] = self.values[epoch]


class EpochLR(keras.callbacks.Callback):
    """Reads the float LR variable at each epoch start (what the next epoch uses)."""

    def __init__(self):
        super().__init__()
        self.lrs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.lrs.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


# A metric that improves, stalls, improves once more and stalls again.
SCORES = [5.0, 4.0, 3.0, 3.0, 3.0, 3.0, 2.99995, 3.0, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5]

KERAS_CASES = [
    dict(factor=0.5, patience=2),
    dict(factor=0.5, patience=1, cooldown=2),
    dict(factor=0.2, patience=2, min_delta=0.0),  # 2.99995 counts as an improvement
    dict(factor=0.1, patience=1, min_lr=0.0015),  # floors at min_lr, then stops
    dict(factor=0.5, patience=0),
]


def keras_reduction_epochs(one_weight, epochs, **kwargs):
    """The epochs at whose end Keras' own callback reduces a float LR."""
    model = one_weight.model(0.01)
    reader = EpochLR()
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="score", mode="min", **kwargs)
    one_weight.fit(model, [Scripted(SCORES), plateau, reader], epochs=epochs)
    lrs = reader.lrs + [float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))]
    return [e for e in range(epochs) if lrs[e + 1] < lrs[e]]


# A NaN first value: Keras starts from best=inf, so the NaN is no improvement.
NAN_FIRST = [math.nan, *SCORES[1:]]


@pytest.mark.parametrize("scores", [SCORES, NAN_FIRST], ids=["scores", "nan_first"])
@pytest.mark.parametrize("case", KERAS_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_float_lr_behaves_like_keras(one_weight, case, scores):
    epochs = len(scores)
    runs = []
    for plateau_class in (keras.callbacks.ReduceLROnPlateau, keras_lr.ReduceLROnPlateau):
        model = one_weight.model(0.01)
        reader = EpochLR()
        plateau = plateau_class(monitor="score", mode="min", **case)
        history, recorder = one_weight.fit(model, [Scripted(scores), plateau, reader], epochs=epochs)
        runs.append((reader.lrs, recorder.epoch_kernels, history.history["learning_rate"]))
    (keras_lrs, keras_kernels, keras_logged), (lrs, kernels, logged) = runs
    assert len(set(keras_lrs)) > 1, "the oracle never reduced: the case tests nothing"
    assert_allclose(lrs, keras_lrs, rtol=1e-6)
    assert_allclose(kernels, keras_kernels, rtol=1e-6)
    assert_allclose(logged, keras_logged, rtol=1e-6)


def scaled_lrs(raw, reductions, factor, min_lr, steps_per_epoch=STEPS):
    """`max(f * s, min(s, min_lr))`, `f = factor ** (reductions before the step's epoch)`."""
    raw = np.asarray(raw, "float64")
    epoch = np.arange(raw.size) // steps_per_epoch
    f = factor ** np.array([sum(r < e for r in reductions) for e in epoch])
    return np.maximum(f * raw, np.minimum(raw, min_lr))


def cosine_lrs(n, peak, total, warmup, min_lr=0.0):
    t = np.arange(n, dtype="float64")
    cos = min_lr + (peak - min_lr) * 0.5 * (1 + np.cos(np.pi * np.clip(t - warmup, 0, None) / (total - warmup)))
    return np.where(t < warmup, peak * t / warmup, np.where(t >= total, min_lr, cos))


def keras_linear_decay(total):
    return keras.optimizers.schedules.PolynomialDecay(0.1, total, end_learning_rate=0.01)


def linear_decay_lrs(n, total):
    t = np.minimum(np.arange(n, dtype="float64"), total)
    return 0.01 + (0.1 - 0.01) * (1 - t / total)


SCHEDULES = {
    "keras_lr": (
        lambda total: keras_lr.schedules.WarmupCosine(0.1, total, warmup_steps=8),
        lambda n, total: cosine_lrs(n, 0.1, total, 8),
    ),
    "keras": (keras_linear_decay, linear_decay_lrs),
}


@pytest.mark.parametrize("kind", sorted(SCHEDULES))
def test_scales_the_optimizers_own_schedule(one_weight, kind):
    """Keras' callback cannot touch a schedule (tf#36612); this one scales it."""
    epochs, total = 10, 10 * STEPS
    make, expected = SCHEDULES[kind]
    case = dict(factor=0.5, patience=2)
    reductions = keras_reduction_epochs(one_weight, epochs, **case)
    assert len(reductions) >= 2

    model = one_weight.model(optimizer=keras.optimizers.SGD(learning_rate=make(total)))
    plateau = keras_lr.ReduceLROnPlateau(monitor="score", mode="min", **case)
    history, recorder = one_weight.fit(model, [Scripted(SCORES), plateau], epochs=epochs)
    lrs = scaled_lrs(expected(epochs * STEPS, total), reductions, 0.5, 0.0)
    one_weight.assert_lrs_applied(recorder, lrs)
    assert plateau.reductions == reductions
    # the logged LR is the one of each epoch's last update
    assert_allclose(history.history["learning_rate"], lrs[STEPS - 1 :: STEPS], rtol=1e-5)

    keras_model = one_weight.model(optimizer=keras.optimizers.SGD(learning_rate=make(total)))
    keras_plateau = keras.callbacks.ReduceLROnPlateau(monitor="score", mode="min", **case)
    with pytest.raises(TypeError, match="not settable"):
        one_weight.fit(keras_model, [Scripted(SCORES), keras_plateau], epochs=epochs)


@pytest.mark.parametrize("plateau_first", [False, True])
def test_scales_a_scheduler_callback(one_weight, plateau_first):
    epochs, total = 10, 10 * STEPS
    case = dict(factor=0.5, patience=2)
    reductions = keras_reduction_epochs(one_weight, epochs, **case)
    model = one_weight.model(0.01)
    scheduler = keras_lr.WarmupCosineLR(0.1, total, warmup_steps=8)
    plateau = keras_lr.ReduceLROnPlateau(monitor="score", mode="min", **case)
    callbacks = [Scripted(SCORES), plateau, scheduler] if plateau_first else [Scripted(SCORES), scheduler, plateau]
    history, recorder = one_weight.fit(model, callbacks, epochs=epochs)
    lrs = scaled_lrs(cosine_lrs(epochs * STEPS, 0.1, total, 8), reductions, 0.5, 0.0)
    one_weight.assert_lrs_applied(recorder, lrs)
    assert_allclose(scheduler.learning_rates, lrs, rtol=1e-5)
    assert_allclose(history.history["learning_rate"], lrs[STEPS - 1 :: STEPS], rtol=1e-5)


def test_min_lr_floors_the_scaled_schedule_but_never_raises_it(one_weight):
    """Warmup from 0 stays below `min_lr`; the reduced cosine stops at `min_lr`."""
    epochs, total, min_lr = 12, 12 * STEPS, 0.02
    case = dict(factor=0.1, patience=1)
    reductions = keras_reduction_epochs(one_weight, epochs, **case)
    model = one_weight.model(0.01)
    scheduler = keras_lr.WarmupCosineLR(0.1, total, warmup_steps=8)
    plateau = keras_lr.ReduceLROnPlateau(monitor="score", mode="min", min_lr=min_lr, **case)
    _, recorder = one_weight.fit(model, [Scripted(SCORES), scheduler, plateau], epochs=epochs)
    raw = cosine_lrs(epochs * STEPS, 0.1, total, 8)
    # Keras' rule: no reduction once the LR of the last update is at min_lr.
    applied, factor = [], 1.0
    for e in range(epochs):
        epoch_raw = raw[e * STEPS : (e + 1) * STEPS]
        epoch_lrs = np.maximum(factor * epoch_raw, np.minimum(epoch_raw, min_lr))
        applied.extend(epoch_lrs)
        if e in reductions and epoch_lrs[-1] > np.float32(min_lr):
            factor *= 0.1
    applied = np.array(applied)
    one_weight.assert_lrs_applied(recorder, applied)
    assert np.any(applied[:8] < min_lr), "the warmup part is left below min_lr"
    assert np.all(applied >= np.minimum(raw, min_lr) - 1e-9)
    assert np.all(applied <= raw + 1e-9)
    assert np.sum(np.isclose(applied, min_lr)) > STEPS, "the floor holds the reduced cosine"


def test_epoch_unit_scheduler(one_weight):
    epochs = 10
    case = dict(factor=0.5, patience=2)
    reductions = keras_reduction_epochs(one_weight, epochs, **case)
    model = one_weight.model(0.01)
    scheduler = keras_lr.ExponentialLR(0.1, 0.9)
    plateau = keras_lr.ReduceLROnPlateau(monitor="score", mode="min", **case)
    _, recorder = one_weight.fit(model, [Scripted(SCORES), scheduler, plateau], epochs=epochs)
    per_epoch = 0.1 * 0.9 ** np.arange(epochs)
    lrs = scaled_lrs(np.repeat(per_epoch, STEPS), reductions, 0.5, 0.0)
    one_weight.assert_lrs_applied(recorder, lrs)


def test_monitors_a_real_validation_loss(one_weight):
    """End to end with `val_loss`: a never-improving loss reduces every `patience` epochs."""
    model = one_weight.model(optimizer=keras.optimizers.SGD(learning_rate=keras_lr.schedules.Constant(0.1)))
    model.compile(optimizer=model.optimizer, loss=one_weight.flat_mean_prediction)
    x, y = one_weight.data(24)
    plateau = keras_lr.ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.0)
    recorder = one_weight.KernelRecorder()
    model.fit(x, y, batch_size=4, epochs=5, validation_data=(x, y), callbacks=[plateau, recorder], verbose=0)
    # val_loss is 0 every epoch: epoch 0 sets best, each later epoch waits 1 and reduces.
    lrs = scaled_lrs(np.full(5 * STEPS, 0.1), [1, 2, 3, 4], 0.5, 0.0)
    one_weight.assert_lrs_applied(recorder, lrs)


# Save and resume ---------------------------------------------------------------


def reducing_run(one_weight, model, callbacks, epochs):
    case = dict(factor=0.5, patience=2)
    reductions = keras_reduction_epochs(one_weight, epochs, **case)
    plateau = keras_lr.ReduceLROnPlateau(monitor="score", mode="min", **case)
    one_weight.fit(model, [Scripted(SCORES), plateau, *callbacks], epochs=epochs)
    return reductions


@pytest.mark.parametrize("checkpoint", [False, True])
def test_the_factor_of_an_optimizer_schedule_survives_save(one_weight, tmp_path, checkpoint):
    epochs, more, total = 7, 3, 10 * STEPS
    model = one_weight.model(
        optimizer=keras.optimizers.SGD(learning_rate=keras_lr.schedules.WarmupCosine(0.1, total, warmup_steps=8))
    )
    path = os.fspath(tmp_path / "model.keras")
    callbacks = [keras.callbacks.ModelCheckpoint(path)] if checkpoint else []
    reductions = reducing_run(one_weight, model, callbacks, epochs)
    assert reductions, "the first run must reduce"
    if not checkpoint:
        model.save(path)
    loaded = keras.saving.load_model(path, custom_objects={"mean_prediction": one_weight.mean_prediction})
    start = one_weight.kernel(loaded)
    plateau = keras_lr.ReduceLROnPlateau(monitor="score", mode="min", factor=0.5, patience=100)
    _, recorder = one_weight.fit(loaded, [Scripted([1.0] * (epochs + more)), plateau], epochs=epochs + more, initial_epoch=epochs)
    lrs = scaled_lrs(cosine_lrs((epochs + more) * STEPS, 0.1, total, 8), reductions, 0.5, 0.0)
    one_weight.assert_lrs_applied(recorder, lrs, start_kernel=start + lrs[: epochs * STEPS].sum())
    assert plateau.scale == pytest.approx(0.5 ** len(reductions))


@pytest.mark.parametrize("reload", [True, False], ids=["loaded", "same_model"])
@pytest.mark.parametrize("plateau_first", [False, True])
@pytest.mark.parametrize("unit", ["step", "epoch"])
def test_the_factor_on_a_scheduler_callback_lives_with_the_model(one_weight, tmp_path, unit, plateau_first, reload):
    """In memory the factor carries to the next `fit`; a checkpoint does not carry it (no guessing)."""
    epochs, more, total = 7, 3, 10
    model = one_weight.model(0.01)

    def scheduler():
        return _scheduler(unit, total)

    path = os.fspath(tmp_path / "model.keras")
    reductions = reducing_run(one_weight, model, [scheduler(), keras.callbacks.ModelCheckpoint(path)], epochs)
    assert reductions
    if reload:
        loaded = keras.saving.load_model(path, custom_objects={"mean_prediction": one_weight.mean_prediction})
    else:  # a second `fit` of the same model continues with the factor it holds
        loaded = model
    start = one_weight.kernel(loaded)
    plateau = keras_lr.ReduceLROnPlateau(monitor="score", mode="min", factor=0.5, patience=100)
    resumed = [plateau, scheduler()] if plateau_first else [scheduler(), plateau]
    _, recorder = one_weight.fit(
        loaded, [Scripted([1.0] * (epochs + more)), *resumed], epochs=epochs + more, initial_epoch=epochs
    )
    lrs = scaled_lrs(_scheduled_lrs(unit, epochs + more, total), reductions, 0.5, 0.0)
    if reload:  # the loaded model starts unscaled: the second part runs the plain schedule
        lrs[epochs * STEPS :] = _scheduled_lrs(unit, epochs + more, total)[epochs * STEPS :]
    one_weight.assert_lrs_applied(recorder, lrs, start_kernel=start + lrs[: epochs * STEPS].sum())
    assert plateau.scale == (1.0 if reload else pytest.approx(0.5 ** len(reductions), rel=1e-5))


def _scheduler(unit, total):
    if unit == "step":
        return keras_lr.WarmupCosineLR(0.1, total * STEPS, warmup_steps=8)
    return keras_lr.WarmupCosineLR(0.1, total, warmup_steps=2, unit="epoch")


def _scheduled_lrs(unit, epochs, total):
    if unit == "step":
        return cosine_lrs(epochs * STEPS, 0.1, total * STEPS, 8)
    return np.repeat(cosine_lrs(epochs, 0.1, total, 2), STEPS)


@pytest.mark.parametrize("unit", ["step", "epoch"])
def test_a_plateau_added_on_resume_of_a_run_without_one_starts_unscaled(one_weight, tmp_path, unit):
    """The checkpoint of a scheduled run holds the user's LR: nothing to guess a factor from."""
    epochs, more, total = 4, 3, 10
    model = one_weight.model(0.01)
    path = os.fspath(tmp_path / "model.keras")
    one_weight.fit(model, [_scheduler(unit, total), keras.callbacks.ModelCheckpoint(path)], epochs=epochs)
    loaded = keras.saving.load_model(path, custom_objects={"mean_prediction": one_weight.mean_prediction})
    start = one_weight.kernel(loaded)
    plateau = keras_lr.ReduceLROnPlateau(monitor="score", mode="min", factor=0.5, patience=100)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*schedule unscaled")
        _, recorder = one_weight.fit(
            loaded,
            [Scripted([1.0] * (epochs + more)), _scheduler(unit, total), plateau],
            epochs=epochs + more,
            initial_epoch=epochs,
        )
    lrs = _scheduled_lrs(unit, epochs + more, total)
    one_weight.assert_lrs_applied(recorder, lrs, start_kernel=start + lrs[: epochs * STEPS].sum())
    assert plateau.scale == 1.0


def test_a_plateau_added_after_training_with_a_float_lr_starts_unscaled(one_weight):
    """No factor is guessed from the float LR left in the variable."""
    first, epochs, total = 2, 5, 10
    model = one_weight.model(0.01)
    one_weight.fit(model, epochs=first)
    plateau = keras_lr.ReduceLROnPlateau(monitor="score", mode="min", factor=0.5, patience=100)
    _, recorder = one_weight.fit(
        model, [Scripted([1.0] * epochs), _scheduler("step", total), plateau], epochs=epochs, initial_epoch=first
    )
    lrs = _scheduled_lrs("step", epochs, total)
    lrs[: first * STEPS] = 0.01
    one_weight.assert_lrs_applied(recorder, lrs)
    assert plateau.scale == 1.0


def test_scaled_schedule_serializes():
    inner = keras_lr.schedules.WarmupCosine(0.1, 100, warmup_steps=10)
    scaled = keras_lr.schedules.Scaled(inner, factor=0.25, min_lr=0.01)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(scaled))
    steps = np.arange(0, 120, 7)
    raw = cosine_lrs(120, 0.1, 100, 10)[steps]
    expected = np.maximum(0.25 * raw, np.minimum(raw, 0.01))
    assert_allclose(again.values(steps), expected, rtol=1e-5, atol=1e-8)
    assert_allclose(scaled.values(steps), expected, rtol=1e-5, atol=1e-8)


# Arguments -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(factor=1.0), "Argument `factor` must be in (0, 1). Received: factor=1.0"),
        (dict(factor=0), "Argument `factor` must be in (0, 1). Received: factor=0"),
        (dict(patience=-1), "Argument `patience` must be"),
        (dict(cooldown=1.5), "Argument `cooldown` must be"),
        (dict(mode="up"), "Argument `mode` must be one of"),
        (dict(min_lr=-1e-3), "Argument `min_lr` must be >= 0. Received: min_lr=-0.001"),
        (dict(monitor=""), "Argument `monitor` must be the name of a logged metric"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=_literal(message)):
        keras_lr.ReduceLROnPlateau(**kwargs)


def _literal(text):
    import re

    return re.escape(text)


def test_auto_mode_direction(one_weight):
    model = one_weight.model(0.01)
    maximize = keras_lr.ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=0)
    one_weight.fit(model, [Scripted([0.5, 0.6, 0.6, 0.7], name="val_accuracy"), maximize], epochs=4)
    assert maximize.reductions == [2], "an accuracy that rises is an improvement; a flat one is not"
    unknown = keras_lr.ReduceLROnPlateau(monitor="wobble", factor=0.5, patience=0)
    with pytest.raises(ValueError, match="mode='min'"):
        one_weight.fit(one_weight.model(0.01), [Scripted([1.0, 2.0], name="wobble"), unknown], epochs=2)


def test_missing_metric_warns_and_changes_nothing(one_weight):
    model = one_weight.model(0.01)
    plateau = keras_lr.ReduceLROnPlateau(monitor="val_loss", patience=0)
    with pytest.warns(UserWarning, match="val_loss"):
        _, recorder = one_weight.fit(model, [plateau], epochs=2)
    one_weight.assert_lrs_applied(recorder, np.full(2 * STEPS, 0.01))
    assert math.isclose(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)), 0.01, rel_tol=1e-6)


# Mixed precision and distribution ------------------------------------------------


def _plateau_fit(one_weight, model, scheduler=None, epochs=8):
    """A reducing run: the expected LRs are the scaled warmup-cosine of `cosine_lrs`."""
    case = dict(factor=0.5, patience=2)
    reductions = keras_reduction_epochs(one_weight, epochs, **case)
    plateau = keras_lr.ReduceLROnPlateau(monitor="score", mode="min", **case)
    callbacks = [Scripted(SCORES), plateau] + ([scheduler] if scheduler is not None else [])
    _, recorder = one_weight.fit(model, callbacks, epochs=epochs)
    return recorder, scaled_lrs(cosine_lrs(epochs * STEPS, 0.1, 10 * STEPS, 8), reductions, 0.5, 0.0)


def _cosine_schedule():
    return keras_lr.schedules.WarmupCosine(0.1, 10 * STEPS, warmup_steps=8)


@pytest.mark.parametrize("mode", ["optimizer_schedule", "scheduler_callback"])
def test_mixed_float16(one_weight, mode):
    """Under a `LossScaleOptimizer` the inner optimizer's LR is the one scaled."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    if mode == "optimizer_schedule":
        model = one_weight.model(optimizer=keras.optimizers.SGD(learning_rate=_cosine_schedule()))
        scheduler = None
    else:
        model = one_weight.model(0.01)
        scheduler = keras_lr.ScheduleCallback(_cosine_schedule())
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    recorder, lrs = _plateau_fit(one_weight, model, scheduler)
    one_weight.assert_lrs_applied(recorder, lrs, rtol=1e-3, atol=1e-6)


def _distributed_plateau(one_weight, make_model, mode):
    """`make_model(learning_rate)` builds the model and its SGD optimizer in the distribution."""
    if mode == "optimizer_schedule":
        model, scheduler = make_model(_cosine_schedule()), None
    else:
        model, scheduler = make_model(0.01), keras_lr.ScheduleCallback(_cosine_schedule())
    recorder, lrs = _plateau_fit(one_weight, model, scheduler)
    one_weight.assert_lrs_applied(recorder, lrs)


@pytest.mark.backends("jax")
@pytest.mark.parametrize("mode", ["optimizer_schedule", "scheduler_callback"])
def test_jax_data_parallel(one_weight, mode):
    devices = keras.distribution.list_devices("cpu")
    assert len(devices) == 4
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    _distributed_plateau(one_weight, lambda lr: one_weight.model(optimizer=keras.optimizers.SGD(lr)), mode)


@pytest.mark.backends("tensorflow")
@pytest.mark.parametrize("mode", ["optimizer_schedule", "scheduler_callback"])
def test_tf_mirrored_strategy(one_weight, mirrored_strategy, mode):
    def make_model(learning_rate):
        with mirrored_strategy.scope():
            return one_weight.model(optimizer=keras.optimizers.SGD(learning_rate))

    _distributed_plateau(one_weight, make_model, mode)


def test_a_plain_callable_lr_is_refused(one_weight):
    model = one_weight.model(optimizer=keras.optimizers.SGD(learning_rate=lambda: 0.01))
    plateau = keras_lr.ReduceLROnPlateau(monitor="score", patience=0)
    with pytest.raises(ValueError, match="schedules.Lambda"):
        one_weight.fit(model, [Scripted([1.0, 1.0]), plateau], epochs=2)
    assert one_weight.kernel(model) == 0.0, "refused before any update"
