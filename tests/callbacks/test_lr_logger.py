"""`LRLogger`: the LR of each epoch's last update in the logs, and every step's LR.

Expected LRs are closed forms written out here or Keras built-ins; the
one-weight model (conftest.py) confirms that they are the LRs the updates
actually used, so the logger is checked against what happened, not against
what keras_lr believes happened.
"""

import csv
import math

import keras
import numpy as np
import pytest
from keras.src.utils.python_utils import is_default
from numpy.testing import assert_allclose

import keras_lr

STEPS = 6  # batches per epoch in the default `one_weight.fit`
EPOCHS = 4
N = STEPS * EPOCHS


def read_csv_column(path, column):
    with open(path, newline="") as f:
        return [float(row[column]) for row in csv.DictReader(f)]


def last_of_each_epoch(per_step, steps=STEPS):
    return np.asarray(per_step)[steps - 1 :: steps]


# LR sources: (optimizer, callbacks placed before the logger, LR at steps 0..N-1)


def source_float():
    return keras.optimizers.SGD(learning_rate=0.05), [], np.full(N, 0.05)


def source_keras_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)
    return keras.optimizers.SGD(learning_rate=schedule), [], 0.1 * 0.5 ** (np.arange(N) / 4)


def source_keras_lr_schedule():
    schedule = keras_lr.schedules.Polynomial(0.1, total_steps=20, end_lr=0.01)
    t = np.minimum(np.arange(N), 20)
    return keras.optimizers.SGD(learning_rate=schedule), [], 0.09 * (1 - t / 20) + 0.01


def source_step_scheduler():
    callback = keras_lr.CyclicLR(0.01, 0.1, step_size=5)
    t = np.arange(N)
    triangle = 1 - np.abs(t / 5 - 2 * np.floor(1 + t / 10) + 1)
    return keras.optimizers.SGD(learning_rate=0.5), [callback], 0.01 + 0.09 * triangle


def source_epoch_scheduler():
    callback = keras_lr.ExponentialLR(0.1, 0.5, min_lr=0.02)
    per_epoch = np.maximum(0.02, 0.1 * 0.5 ** np.arange(EPOCHS))
    return keras.optimizers.SGD(learning_rate=0.5), [callback], np.repeat(per_epoch, STEPS)


SOURCES = {
    "float": source_float,
    "keras_schedule_in_optimizer": source_keras_schedule,
    "keras_lr_schedule_in_optimizer": source_keras_lr_schedule,
    "keras_lr_step_scheduler": source_step_scheduler,
    "keras_lr_epoch_scheduler": source_epoch_scheduler,
}


# Every source with the logger last; the scheduler callbacks also with the logger first.
ORDERS = [(source, False) for source in SOURCES] + [
    ("keras_lr_step_scheduler", True),
    ("keras_lr_epoch_scheduler", True),
]


@pytest.mark.parametrize(
    ("source", "logger_first"),
    ORDERS,
    ids=[source + ("-logger_first" if first else "") for source, first in ORDERS],
)
def test_logs_the_lr_of_the_last_update_of_each_epoch(one_weight, tmp_path, source, logger_first):
    optimizer, before, expected = SOURCES[source]()
    logger = keras_lr.LRLogger(per_batch=True)
    path = tmp_path / "log.csv"
    callbacks = [logger, *before] if logger_first else [*before, logger]
    callbacks.append(keras.callbacks.CSVLogger(str(path)))
    model = one_weight.model(optimizer=optimizer)

    history, recorder = one_weight.fit(model, callbacks, epochs=EPOCHS)

    one_weight.assert_lrs_applied(recorder, expected)  # what the updates really used
    assert_allclose(history.history["learning_rate"], last_of_each_epoch(expected), rtol=1e-5)
    assert_allclose(read_csv_column(path, "learning_rate"), last_of_each_epoch(expected), rtol=1e-5)
    assert logger.history["step"] == list(range(N))
    assert_allclose(logger.history["learning_rate"], expected, rtol=1e-5)


def test_keras_cosine_decay_with_warmup_in_the_optimizer(one_weight):
    schedule = keras.optimizers.schedules.CosineDecay(
        0.01, decay_steps=12, alpha=0.1, warmup_target=0.1, warmup_steps=6
    )
    logger = keras_lr.LRLogger()
    model = one_weight.model(optimizer=keras.optimizers.SGD(learning_rate=schedule))

    history, recorder = one_weight.fit(model, [logger], epochs=EPOCHS)

    t = np.arange(N)
    decay = np.clip(t - 6, 0, 12) / 12
    expected = np.where(
        t < 6, 0.01 + (0.1 - 0.01) * t / 6, 0.1 * (0.9 * 0.5 * (1 + np.cos(np.pi * decay)) + 0.1)
    )
    one_weight.assert_lrs_applied(recorder, expected)
    assert_allclose(history.history["learning_rate"], last_of_each_epoch(expected), rtol=1e-5)


# ReduceLROnPlateau ------------------------------------------------------------


@pytest.mark.parametrize("logger_first", [True, False], ids=["logger_first", "plateau_first"])
def test_reduce_lr_on_plateau(one_weight, tmp_path, logger_first):
    # The loss is constantly 0 (never improves after epoch 0) with gradient 1, so
    # the plateau callback halves the LR at the end of epochs 1, 2, 3, ...
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5)
    logger = keras_lr.LRLogger(per_batch=True)
    path = tmp_path / "log.csv"
    callbacks = [logger, plateau] if logger_first else [plateau, logger]
    callbacks.append(keras.callbacks.CSVLogger(str(path)))
    model = one_weight.model(learning_rate=0.1, loss=one_weight.flat_mean_prediction)

    history, recorder = one_weight.fit(model, callbacks, epochs=EPOCHS)

    per_epoch = np.array([0.1, 0.1, 0.05, 0.025])  # the LR each epoch's updates used
    expected = np.repeat(per_epoch, STEPS)
    one_weight.assert_lrs_applied(recorder, expected)
    assert history.history["loss"] == [0.0] * EPOCHS
    assert_allclose(history.history["learning_rate"], per_epoch, rtol=1e-6)
    assert_allclose(read_csv_column(path, "learning_rate"), per_epoch, rtol=1e-6)
    assert_allclose(logger.history["learning_rate"], expected, rtol=1e-6)


# Mixed precision (LossScaleOptimizer) ----------------------------------------


# A keras_lr scheduler callback under LossScaleOptimizer: test_schedulers.py::test_mixed_float16.
@pytest.mark.parametrize("source", ["float", "keras_schedule_in_optimizer"])
def test_under_loss_scale_optimizer(one_weight, source):
    keras.mixed_precision.set_global_policy("mixed_float16")
    optimizer, before, expected = SOURCES[source]()
    logger = keras_lr.LRLogger(per_batch=True)
    model = one_weight.model(optimizer=optimizer)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)

    history, recorder = one_weight.fit(model, [*before, logger], epochs=EPOCHS)

    one_weight.assert_lrs_applied(recorder, expected, rtol=1e-3, atol=1e-6)
    assert_allclose(history.history["learning_rate"], last_of_each_epoch(expected), rtol=1e-3)
    assert_allclose(logger.history["learning_rate"], expected, rtol=1e-3)


# TensorBoard -----------------------------------------------------------------


@pytest.mark.parametrize("source", ["float", "keras_lr_step_scheduler"])
def test_tensorboard_after_the_logger_writes_events(one_weight, tmp_path, source):
    pytest.importorskip("tensorboard", reason="keras.callbacks.TensorBoard needs tensorboard")
    optimizer, before, expected = SOURCES[source]()
    model = one_weight.model(optimizer=optimizer)
    tensorboard = keras.callbacks.TensorBoard(log_dir=str(tmp_path / "tb"))

    history, _ = one_weight.fit(model, [*before, keras_lr.LRLogger(), tensorboard], epochs=2)

    assert_allclose(
        history.history["learning_rate"], expected[STEPS - 1 : 2 * STEPS : STEPS], rtol=1e-5
    )
    events = list((tmp_path / "tb").rglob("events.out.tfevents*"))
    assert events and all(e.stat().st_size > 0 for e in events)


# Per-step records: steps_per_execution, several fits ------------------------


@pytest.mark.smoke
@pytest.mark.backends("tensorflow", "jax")
@pytest.mark.parametrize("source", ["keras_schedule_in_optimizer", "keras_lr_step_scheduler"])
@pytest.mark.parametrize("batches", [8, 10], ids=["full", "partial_last_execution"])
def test_per_batch_with_steps_per_execution(one_weight, source, batches):
    optimizer, before, _ = SOURCES[source]()
    logger = keras_lr.LRLogger(per_batch=True)
    model = one_weight.model(optimizer=optimizer, steps_per_execution=4)

    history, recorder = one_weight.fit(
        model, [*before, logger], epochs=2, steps_per_epoch_of_data=batches
    )

    n = 2 * batches
    t = np.arange(n)
    if source == "keras_schedule_in_optimizer":
        expected = 0.1 * 0.5 ** (t / 4)
    else:
        expected = 0.01 + 0.09 * (1 - np.abs(t / 5 - 2 * np.floor(1 + t / 10) + 1))
    one_weight.assert_lrs_applied(recorder, expected)
    assert logger.history["step"] == list(range(n))
    assert_allclose(logger.history["learning_rate"], expected, rtol=1e-5)
    assert_allclose(history.history["learning_rate"], expected[batches - 1 :: batches], rtol=1e-5)


def test_per_batch_across_several_fit_calls(one_weight):
    optimizer, before, expected = source_step_scheduler()
    logger = keras_lr.LRLogger(per_batch=True)
    model = one_weight.model(optimizer=optimizer)

    first, _ = one_weight.fit(model, [*before, logger], epochs=2)
    second, recorder = one_weight.fit(model, [*before, logger], epochs=4, initial_epoch=2)

    one_weight.assert_lrs_applied(recorder, expected)
    assert logger.history["step"] == list(range(N))
    assert_allclose(logger.history["learning_rate"], expected, rtol=1e-5)
    logged = first.history["learning_rate"] + second.history["learning_rate"]
    assert_allclose(logged, last_of_each_epoch(expected), rtol=1e-5)


def test_custom_key(one_weight):
    logger = keras_lr.LRLogger(per_batch=True, key="lr")
    model = one_weight.model(learning_rate=0.03)

    history, _ = one_weight.fit(model, [logger], epochs=2)

    assert_allclose(history.history["lr"], [0.03, 0.03], rtol=1e-6)
    assert "learning_rate" not in history.history
    assert set(logger.history) == {"step", "lr"}
    assert_allclose(logger.history["lr"], np.full(2 * STEPS, 0.03), rtol=1e-6)


@pytest.mark.parametrize("key", ["", None, 3])
def test_bad_key(key):
    with pytest.raises(ValueError, match=r"Argument `key` must be .+\. Received: key="):
        keras_lr.LRLogger(key=key)


def test_not_per_batch_keeps_no_step_history(one_weight):
    logger = keras_lr.LRLogger()
    model = one_weight.model(learning_rate=0.02)
    history, _ = one_weight.fit(model, [logger], epochs=2)
    assert_allclose(history.history["learning_rate"], [0.02, 0.02], rtol=1e-6)
    assert logger.history["step"] == [] and logger.history["learning_rate"] == []


# Batch hooks -----------------------------------------------------------------


def test_batch_hook_only_when_per_batch():
    plain = keras_lr.LRLogger()
    for hook in ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"):
        assert is_default(getattr(plain, hook)), hook
    assert not is_default(keras_lr.LRLogger(per_batch=True).on_train_batch_end)


def test_expectations_are_distinct():
    # Each LR source must vary, or a logger that logs a constant could pass.
    for name, make in SOURCES.items():
        if name == "float":
            continue
        _, _, expected = make()
        assert expected.shape == (N,)
        assert not math.isclose(expected.min(), expected.max(), rel_tol=1e-3), name
