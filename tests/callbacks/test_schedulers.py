"""Scheduler callbacks: the LR each update actually used inside `fit`.

Every expected LR comes from an independent source: a closed form written out
below with numpy/math, a PyTorch scheduler (`torch.optim.lr_scheduler`) or a
Keras built-in schedule. The `one_weight` fixture (see conftest.py) turns the
kernel of a one-weight model into the running sum of the LRs applied.
"""

import math
import re
import warnings

import keras
import numpy as np
import pytest
import torch
from keras.src.utils.python_utils import is_default
from numpy.testing import assert_allclose

import keras_lr

STEPS = 6  # batches per epoch in the default `one_weight.fit`


# Independent expectations ----------------------------------------------------


def warmup_hold_cosine_lrs(n, peak, total, warmup, start, hold, min_lr, cycles, peak_mul):
    """Linear warmup, hold, then `cycles` equal cosine cycles; `min_lr` after `total`."""
    out = []
    decay = total - warmup - hold
    length = decay / cycles
    for t in range(n):
        if t < warmup:
            lr = start + (peak - start) * t / warmup
        elif t < warmup + hold:
            lr = peak
        elif t >= total:
            lr = min_lr
        else:
            s = t - warmup - hold
            i = math.floor(s / length)
            f = (s - i * length) / length
            lr = min_lr + (peak * peak_mul**i - min_lr) * 0.5 * (1 + math.cos(math.pi * f))
        out.append(lr)
    return np.array(out)


def smith_triangular2_lrs(n, base, high, step_size):
    """Smith (2015), section 3.1, with the amplitude halved each cycle."""
    t = np.arange(n, dtype="float64")
    cycle = np.floor(1 + t / (2 * step_size))
    x = np.abs(t / step_size - 2 * cycle + 1)
    return base + (high - base) * np.maximum(0, 1 - x) / 2 ** (cycle - 1)


def exponential_lrs(t, initial, rate, decay_steps, min_lr, staircase):
    p = np.asarray(t, "float64") / decay_steps
    if staircase:
        p = np.floor(p)
    return np.maximum(min_lr, initial * rate**p)


def torch_lrs(n, make_scheduler, lr=1.0, last=None):
    """The LR PyTorch uses at each of `n` steps.

    With `last`, PyTorch runs `last` steps and its final LR is held after them
    (keras_lr's OneCycle holds it; PyTorch's OneCycleLR raises instead).
    """
    param = torch.nn.Parameter(torch.zeros(()))
    optimizer = torch.optim.SGD([param], lr=lr)
    scheduler = make_scheduler(optimizer)
    length = n if last is None else last
    out = []
    for i in range(length):
        out.append(optimizer.param_groups[0]["lr"])
        if i + 1 < length:
            optimizer.step()
            scheduler.step()
    return np.array(out + [out[-1]] * (n - length))


def keras_lrs(schedule, n):
    """A Keras built-in schedule at steps 0..n-1, one scalar step at a time."""
    return np.array(
        [
            float(keras.ops.convert_to_numpy(schedule(keras.ops.convert_to_tensor(float(t)))))
            for t in range(n)
        ]
    )


# Per-step exactness on a fit -------------------------------------------------

N_STEPS = 6 * STEPS  # six epochs of six updates

EXACT_CASES = {
    "warmup_hold_cosine_2_cycles": (
        lambda: keras_lr.WarmupCosineLR(
            0.1,
            30,
            warmup_steps=5,
            warmup_start_lr=0.01,
            hold_steps=3,
            min_lr=0.005,
            cycles=2,
            peak_mul=0.5,
        ),
        lambda: warmup_hold_cosine_lrs(N_STEPS, 0.1, 30, 5, 0.01, 3, 0.005, 2, 0.5),
    ),
    "warmup_cosine_vs_keras_CosineDecay": (
        lambda: keras_lr.WarmupCosineLR(
            0.1, 30, warmup_steps=7, warmup_start_lr=0.02, min_lr=0.004
        ),
        lambda: keras_lrs(
            keras.optimizers.schedules.CosineDecay(
                initial_learning_rate=0.02,
                decay_steps=23,
                alpha=0.04,
                warmup_target=0.1,
                warmup_steps=7,
            ),
            N_STEPS,
        ),
    ),
    "cosine_restarts_vs_torch": (
        lambda: keras_lr.WarmupCosineLR(0.1, N_STEPS, min_lr=0.01, cycles=2, cycle_mul=2.0),
        lambda: torch_lrs(
            N_STEPS,
            lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
                o, T_0=12, T_mult=2, eta_min=0.01
            ),
            lr=0.1,
        ),
    ),
    "cyclic_triangular2": (
        lambda: keras_lr.CyclicLR(0.01, 0.1, step_size=4, mode="triangular2"),
        lambda: smith_triangular2_lrs(N_STEPS, 0.01, 0.1, 4),
    ),
    "cyclic_exp_range_vs_torch": (
        lambda: keras_lr.CyclicLR(
            0.01, 0.1, step_size=5, mode="exp_range", gamma=0.95, step_size_down=3
        ),
        lambda: torch_lrs(
            N_STEPS,
            lambda o: torch.optim.lr_scheduler.CyclicLR(
                o,
                0.01,
                0.1,
                step_size_up=5,
                step_size_down=3,
                mode="exp_range",
                gamma=0.95,
                cycle_momentum=False,
            ),
        ),
    ),
    "cyclic_scale_fn_vs_torch": (
        lambda: keras_lr.CyclicLR(0.01, 0.1, step_size=3, scale_fn=lambda c: 1.0 / c),
        lambda: torch_lrs(
            N_STEPS,
            lambda o: torch.optim.lr_scheduler.CyclicLR(
                o,
                0.01,
                0.1,
                step_size_up=3,
                scale_fn=lambda c: 1.0 / c,
                scale_mode="cycle",
                cycle_momentum=False,
            ),
        ),
    ),
    "exponential_step_unit": (
        lambda: keras_lr.ExponentialLR(
            0.1, 0.8, decay_steps=2, min_lr=0.02, staircase=False, unit="step"
        ),
        lambda: exponential_lrs(np.arange(N_STEPS), 0.1, 0.8, 2, 0.02, staircase=False),
    ),
    "exponential_step_unit_staircase": (
        lambda: keras_lr.ExponentialLR(0.1, 0.7, decay_steps=4, min_lr=0.01, unit="step"),
        lambda: exponential_lrs(np.arange(N_STEPS), 0.1, 0.7, 4, 0.01, staircase=True),
    ),
    "one_cycle_cos_vs_torch": (
        lambda: keras_lr.OneCycleLR(0.1, 30),
        lambda: torch_lrs(
            N_STEPS,
            lambda o: torch.optim.lr_scheduler.OneCycleLR(
                o, max_lr=0.1, total_steps=30, cycle_momentum=False
            ),
            last=30,
        ),
    ),
    "one_cycle_linear_three_phase_vs_torch": (
        lambda: keras_lr.OneCycleLR(
            0.2,
            33,
            pct_start=0.25,
            anneal_strategy="linear",
            div_factor=10.0,
            final_div_factor=100.0,
            three_phase=True,
        ),
        lambda: torch_lrs(
            N_STEPS,
            lambda o: torch.optim.lr_scheduler.OneCycleLR(
                o,
                max_lr=0.2,
                total_steps=33,
                pct_start=0.25,
                anneal_strategy="linear",
                div_factor=10.0,
                final_div_factor=100.0,
                three_phase=True,
                cycle_momentum=False,
            ),
            last=33,
        ),
    ),
}


@pytest.mark.smoke
@pytest.mark.parametrize("case", list(EXACT_CASES))
def test_each_update_uses_the_exact_lr_and_logs_it(one_weight, case):
    make_callback, expected = EXACT_CASES[case]
    expected = expected()
    callback = make_callback()
    model = one_weight.model(learning_rate=0.5)

    history, recorder = one_weight.fit(model, [callback], epochs=6, per_batch=True)

    one_weight.assert_lrs_applied(recorder, expected)
    # Logs: the LR of each epoch's last update, and every step's LR.
    assert_allclose(history.history["learning_rate"], expected[STEPS - 1 :: STEPS], rtol=1e-5)
    assert_allclose(callback.learning_rates, expected, rtol=1e-5)


def test_the_oracles_are_not_trivial():
    # Guards the table above: each case must move the LR, or a callback that does
    # nothing (the optimizer's 0.5) could not be told apart from a wrong schedule.
    for case, (_, expected) in EXACT_CASES.items():
        values = expected()
        assert values.shape == (N_STEPS,), case
        assert np.ptp(values) > 1e-3, case
        assert np.all(values > 0) and np.all(values < 0.5), case


@pytest.mark.smoke
def test_epoch_unit_is_constant_within_an_epoch_and_floored(one_weight):
    callback = keras_lr.ExponentialLR(0.1, 0.5, min_lr=0.02)  # unit="epoch"
    model = one_weight.model(learning_rate=0.5)

    history, recorder = one_weight.fit(model, [callback], epochs=5, per_batch=True)

    per_epoch = np.maximum(0.02, 0.1 * 0.5 ** np.arange(5))  # 0.1 0.05 0.025 0.02 0.02
    one_weight.assert_lrs_applied(recorder, np.repeat(per_epoch, STEPS))
    assert_allclose(history.history["learning_rate"], per_epoch, rtol=1e-6)
    assert_allclose(callback.learning_rates, per_epoch, rtol=1e-6)


def test_epoch_unit_decay_steps_and_no_staircase(one_weight):
    callback = keras_lr.ExponentialLR(0.1, 0.5, decay_steps=2, staircase=False)
    model = one_weight.model(learning_rate=0.5)

    history, recorder = one_weight.fit(model, [callback], epochs=4)

    per_epoch = 0.1 * 0.5 ** (np.arange(4) / 2)
    one_weight.assert_lrs_applied(recorder, np.repeat(per_epoch, STEPS))
    assert_allclose(history.history["learning_rate"], per_epoch, rtol=1e-6)


def test_warmup_cosine_in_epochs(one_weight):
    callback = keras_lr.WarmupCosineLR(
        0.1, 4, warmup_steps=1, warmup_start_lr=0.02, unit="epoch"
    )
    model = one_weight.model(learning_rate=0.5)

    history, recorder = one_weight.fit(model, [callback], epochs=5)

    per_epoch = warmup_hold_cosine_lrs(5, 0.1, 4, 1, 0.02, 0, 0.0, 1, 1.0)
    assert per_epoch[-1] == 0.0  # after total_steps the LR is min_lr
    one_weight.assert_lrs_applied(recorder, np.repeat(per_epoch, STEPS))
    assert_allclose(history.history["learning_rate"], per_epoch, rtol=1e-6, atol=1e-9)


KERAS_SCHEDULES = {
    "ExponentialDecay": lambda: keras.optimizers.schedules.ExponentialDecay(
        0.1, decay_steps=5, decay_rate=0.5
    ),
    # Switches after each boundary (t > 7, t > 20), unlike keras_lr's Piecewise.
    "PiecewiseConstantDecay": lambda: keras.optimizers.schedules.PiecewiseConstantDecay(
        [7, 20], [0.1, 0.03, 0.01]
    ),
    "CosineDecay_with_warmup": lambda: keras.optimizers.schedules.CosineDecay(
        0.01, decay_steps=20, alpha=0.1, warmup_target=0.1, warmup_steps=6
    ),
}


@pytest.mark.parametrize("name", list(KERAS_SCHEDULES))
def test_generic_schedule_callback_with_a_keras_schedule(one_weight, name):
    # The docstring: "Applies any keras_lr (or Keras) schedule during `fit`".
    callback = keras_lr.ScheduleCallback(KERAS_SCHEDULES[name]())
    model = one_weight.model(learning_rate=0.5)

    history, recorder = one_weight.fit(model, [callback], epochs=5)

    expected = keras_lrs(KERAS_SCHEDULES[name](), 5 * STEPS)  # evaluated step by step
    one_weight.assert_lrs_applied(recorder, expected)
    assert_allclose(history.history["learning_rate"], expected[STEPS - 1 :: STEPS], rtol=1e-5)
    assert_allclose(callback.learning_rates, expected, rtol=1e-5)


# steps_per_execution ---------------------------------------------------------


@pytest.mark.smoke
@pytest.mark.backends("tensorflow", "jax")
@pytest.mark.parametrize("batches_per_epoch", [8, 10], ids=["full", "partial_last_execution"])
@pytest.mark.parametrize("case", ["warmup_hold_cosine_2_cycles", "one_cycle_cos_vs_torch"])
def test_steps_per_execution(one_weight, case, batches_per_epoch):
    make_callback, expected = EXACT_CASES[case]
    epochs = 3
    n = epochs * batches_per_epoch
    expected = expected()[:n]
    callback = make_callback()
    model = one_weight.model(learning_rate=0.5, steps_per_execution=4)

    history, recorder = one_weight.fit(
        model,
        [callback],
        epochs=epochs,
        steps_per_epoch_of_data=batches_per_epoch,
        per_batch=True,
    )

    assert recorder.epoch_steps == [batches_per_epoch * (e + 1) for e in range(epochs)]
    one_weight.assert_lrs_applied(recorder, expected)
    assert_allclose(
        history.history["learning_rate"],
        expected[batches_per_epoch - 1 :: batches_per_epoch],
        rtol=1e-5,
    )
    assert_allclose(callback.learning_rates, expected, rtol=1e-5)


@pytest.mark.backends("tensorflow", "jax")
def test_epoch_unit_with_steps_per_execution(one_weight):
    callback = keras_lr.ExponentialLR(0.1, 0.5)
    model = one_weight.model(learning_rate=0.5, steps_per_execution=4)

    history, recorder = one_weight.fit(model, [callback], epochs=3, steps_per_epoch_of_data=10)

    per_epoch = 0.1 * 0.5 ** np.arange(3)
    one_weight.assert_lrs_applied(recorder, np.repeat(per_epoch, 10))
    assert_allclose(history.history["learning_rate"], per_epoch, rtol=1e-6)


# Several fit calls, and resuming from a checkpoint ---------------------------

CONTINUATION_CASES = {
    "warmup_cosine": lambda: keras_lr.WarmupCosineLR(
        0.1, 20, warmup_steps=4, warmup_start_lr=0.01, hold_steps=2, min_lr=0.005, cycles=2
    ),
    "one_cycle": lambda: keras_lr.OneCycleLR(0.1, 4 * STEPS),
    "exponential_epoch": lambda: keras_lr.ExponentialLR(0.1, 0.5, min_lr=0.02),
}

CONTINUATION_EXPECTED = {
    "warmup_cosine": lambda: warmup_hold_cosine_lrs(4 * STEPS, 0.1, 20, 4, 0.01, 2, 0.005, 2, 1.0),
    "one_cycle": lambda: torch_lrs(
        4 * STEPS,
        lambda o: torch.optim.lr_scheduler.OneCycleLR(
            o, max_lr=0.1, total_steps=4 * STEPS, cycle_momentum=False
        ),
    ),
    "exponential_epoch": lambda: np.repeat(np.maximum(0.02, 0.1 * 0.5 ** np.arange(4)), STEPS),
}


@pytest.fixture(scope="module")
def uninterrupted():
    """Kernels at epoch ends of an uninterrupted 4-epoch fit, per case (computed once)."""
    cache = {}

    def run(one_weight, case):
        if case not in cache:
            model = one_weight.model(learning_rate=0.5)
            _, recorder = one_weight.fit(model, [CONTINUATION_CASES[case]()], epochs=4)
            cache[case] = recorder
        return cache[case]

    return run


@pytest.mark.smoke
@pytest.mark.parametrize("case", list(CONTINUATION_CASES))
def test_several_fit_calls_continue_the_schedule(one_weight, uninterrupted, case):
    expected = CONTINUATION_EXPECTED[case]()
    callback = CONTINUATION_CASES[case]()
    model = one_weight.model(learning_rate=0.5)

    first_history, first = one_weight.fit(model, [callback], epochs=2)
    second_history, second = one_weight.fit(model, [callback], epochs=4, initial_epoch=2)

    whole = uninterrupted(one_weight, case)
    one_weight.assert_lrs_applied(whole, expected)
    assert first.epoch_steps + second.epoch_steps == whole.epoch_steps
    assert_allclose(first.epoch_kernels + second.epoch_kernels, whole.epoch_kernels, rtol=1e-6)
    one_weight.assert_lrs_applied(second, expected)
    logged = first_history.history["learning_rate"] + second_history.history["learning_rate"]
    assert_allclose(logged, expected[STEPS - 1 :: STEPS], rtol=1e-5)
    per_record = expected if callback.unit == "step" else expected[::STEPS]
    assert_allclose(callback.learning_rates, per_record, rtol=1e-5)


@pytest.mark.smoke
@pytest.mark.parametrize("case", list(CONTINUATION_CASES))
def test_resume_from_a_checkpoint(one_weight, uninterrupted, case, tmp_path):
    expected = CONTINUATION_EXPECTED[case]()
    path = tmp_path / "ckpt.keras"
    model = one_weight.model(learning_rate=0.5)
    checkpoint = keras.callbacks.ModelCheckpoint(str(path))
    _, first = one_weight.fit(model, [CONTINUATION_CASES[case](), checkpoint], epochs=2)
    del model

    restored = keras.saving.load_model(str(path))
    assert int(keras.ops.convert_to_numpy(restored.optimizer.iterations)) == 2 * STEPS
    callback = CONTINUATION_CASES[case]()  # a new instance, same arguments
    history, second = one_weight.fit(restored, [callback], epochs=4, initial_epoch=2)

    whole = uninterrupted(one_weight, case)
    assert first.epoch_steps + second.epoch_steps == whole.epoch_steps
    assert_allclose(first.epoch_kernels + second.epoch_kernels, whole.epoch_kernels, rtol=1e-6)
    assert_allclose(one_weight.kernel(restored), whole.epoch_kernels[-1], rtol=1e-6)
    one_weight.assert_lrs_applied(second, expected)
    assert_allclose(history.history["learning_rate"], expected[3 * STEPS - 1 :: STEPS], rtol=1e-5)
    per_record = expected[2 * STEPS :] if callback.unit == "step" else expected[2 * STEPS :: STEPS]
    assert_allclose(callback.learning_rates, per_record, rtol=1e-5)


@pytest.mark.smoke
def test_train_end_leaves_the_optimizer_as_the_user_had_it(one_weight):
    callback = keras_lr.CyclicLR(0.01, 0.1, step_size=4, mode="triangular2")
    model = one_weight.model(learning_rate=0.5)
    history, _ = one_weight.fit(model, [callback], epochs=2)

    last = smith_triangular2_lrs(2 * STEPS, 0.01, 0.1, 4)[-1]
    assert history.history["learning_rate"][-1] == pytest.approx(last)
    # The schedule's LRs are in the history; the optimizer keeps the user's float LR.
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == 0.5
    # Without the callback, the next fit trains at the user's LR: no schedule is left behind.
    start = one_weight.kernel(model)
    _, recorder = one_weight.fit(model, epochs=3, initial_epoch=2)
    assert recorder.epoch_steps == [3 * STEPS]
    assert one_weight.kernel(model) == pytest.approx(start - STEPS * 0.5, rel=1e-6)


def test_two_scheduler_callbacks_are_refused(one_weight):
    # Both would set the LR: one of them would record LRs the updates did not use.
    model = one_weight.model(learning_rate=0.5)
    first = keras_lr.CyclicLR(0.01, 0.1, step_size=4)
    second = keras_lr.OneCycleLR(0.1, 20)
    with pytest.raises(ValueError, match="`CyclicLR` and `OneCycleLR` both set the learning rate"):
        one_weight.fit(model, [first, second], epochs=1, steps_per_epoch_of_data=1)


# Distribution ----------------------------------------------------------------


def _distributed_fit(one_weight, make_model):
    callback = keras_lr.WarmupCosineLR(
        0.1, 10, warmup_steps=3, warmup_start_lr=0.01, hold_steps=1, min_lr=0.005, cycles=2
    )
    logger = keras_lr.LRLogger(per_batch=True)
    model = make_model()
    x, y = one_weight.data(32)
    recorder = one_weight.KernelRecorder(per_batch=True)
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=3,
        callbacks=[callback, logger, recorder],
        shuffle=False,
        verbose=0,
    )
    expected = warmup_hold_cosine_lrs(12, 0.1, 10, 3, 0.01, 1, 0.005, 2, 1.0)
    one_weight.assert_lrs_applied(recorder, expected)
    assert_allclose(history.history["learning_rate"], expected[3::4], rtol=1e-5)
    assert logger.history["step"] == list(range(12))
    assert_allclose(logger.history["learning_rate"], expected, rtol=1e-5)


@pytest.mark.backends("jax")
def test_jax_data_parallel(one_weight):
    import jax

    assert len(jax.devices()) == 4
    devices = keras.distribution.list_devices("cpu")
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))

    def make_model():
        model = one_weight.model(learning_rate=0.5)
        kernel = model.layers[-1].kernel
        assert len(kernel.value.sharding.device_set) == 4  # replicated on the 4 devices
        return model

    _distributed_fit(one_weight, make_model)


@pytest.mark.backends("tensorflow")
def test_tf_mirrored_strategy(one_weight, mirrored_strategy):

    strategy = mirrored_strategy
    assert strategy.num_replicas_in_sync == 4

    def make_model():
        with strategy.scope():
            return one_weight.model(learning_rate=0.5)

    _distributed_fit(one_weight, make_model)


# Mixed precision -------------------------------------------------------------


@pytest.mark.parametrize("dtype", [None, "float32"], ids=["float16_compute", "float32_layer"])
def test_mixed_float16(one_weight, dtype):
    keras.mixed_precision.set_global_policy("mixed_float16")
    callback = keras_lr.WarmupCosineLR(
        1e-2, 20, warmup_steps=4, warmup_start_lr=1e-3, hold_steps=2, min_lr=5e-4, cycles=2
    )
    logger = keras_lr.LRLogger(per_batch=True)
    model = one_weight.model(learning_rate=0.5, dtype=dtype)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.layers[-1].kernel.dtype == "float32"

    history, recorder = one_weight.fit(model, [callback, logger], epochs=4, per_batch=True)

    expected = warmup_hold_cosine_lrs(4 * STEPS, 1e-2, 20, 4, 1e-3, 2, 5e-4, 2, 1.0)
    one_weight.assert_lrs_applied(recorder, expected, rtol=1e-3, atol=1e-6)
    assert_allclose(history.history["learning_rate"], expected[STEPS - 1 :: STEPS], rtol=1e-3)
    assert_allclose(logger.history["learning_rate"], expected, rtol=1e-3)


# Conflicts and bad input -----------------------------------------------------

SCHEDULERS = {
    "ScheduleCallback": lambda: keras_lr.ScheduleCallback(keras_lr.schedules.Constant(0.1)),
    "ExponentialLR": lambda: keras_lr.ExponentialLR(0.1, 0.5),
    "ExponentialLR_step": lambda: keras_lr.ExponentialLR(0.1, 0.5, unit="step"),
    "WarmupCosineLR": lambda: keras_lr.WarmupCosineLR(0.1, 10),
    "CyclicLR": lambda: keras_lr.CyclicLR(0.01, 0.1, 4),
    "OneCycleLR": lambda: keras_lr.OneCycleLR(0.1, 10),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_optimizer_with_its_own_schedule_is_refused(one_weight, name):
    callback = SCHEDULERS[name]()
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    model = one_weight.model(optimizer=keras.optimizers.SGD(learning_rate=schedule))
    x, y = one_weight.data(4)

    with pytest.raises(
        ValueError, match=re.escape(type(callback).__name__) + r".*float `learning_rate`"
    ):
        model.fit(x, y, batch_size=4, epochs=1, callbacks=[callback], verbose=0)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 0


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_uncompiled_model_is_refused(name):
    callback = SCHEDULERS[name]()
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    callback.set_model(model)
    with pytest.raises(ValueError, match=r"compile"):
        callback.on_train_begin()


def _message(name, requirement, received):
    return re.escape(f"Argument `{name}` must be {requirement}. Received: {name}={received}")


BAD_ARGUMENTS = [
    # (factory, argument, requirement regex or None, repr of the received value)
    (lambda: keras_lr.WarmupCosineLR(0.1, 100, warmup_steps=-1), "warmup_steps", ">= 0", "-1"),
    (lambda: keras_lr.WarmupCosineLR(0.1, 100, hold_steps=-2), "hold_steps", ">= 0", "-2"),
    (
        lambda: keras_lr.WarmupCosineLR(0.1, 10, warmup_steps=6, hold_steps=4),
        "total_steps",
        None,
        "10",
    ),
    (lambda: keras_lr.WarmupCosineLR(0.1, 0), "total_steps", None, "0"),
    (lambda: keras_lr.WarmupCosineLR(0, 100), "peak_lr", "> 0", "0"),
    (lambda: keras_lr.WarmupCosineLR(float("nan"), 100), "peak_lr", "a finite number", "nan"),
    (lambda: keras_lr.WarmupCosineLR(True, 100), "peak_lr", None, "True"),
    (
        lambda: keras_lr.WarmupCosineLR(0.1, 100, warmup_start_lr=-0.1),
        "warmup_start_lr",
        None,
        "-0.1",
    ),
    (
        lambda: keras_lr.WarmupCosineLR(0.1, 100, warmup_start_lr=0.2),
        "warmup_start_lr",
        None,
        "0.2",
    ),
    (lambda: keras_lr.WarmupCosineLR(0.1, 100, min_lr=-1e-3), "min_lr", None, "-0.001"),
    (lambda: keras_lr.WarmupCosineLR(0.1, 100, min_lr=0.2), "min_lr", None, "0.2"),
    (lambda: keras_lr.WarmupCosineLR(0.1, 100, cycles=0), "cycles", None, "0"),
    (lambda: keras_lr.WarmupCosineLR(0.1, 100, cycles=1.5), "cycles", None, "1.5"),
    (lambda: keras_lr.WarmupCosineLR(0.1, 100, cycle_mul=0), "cycle_mul", "> 0", "0"),
    (lambda: keras_lr.WarmupCosineLR(0.1, 100, peak_mul=1.5), "peak_mul", None, "1.5"),
    (lambda: keras_lr.WarmupCosineLR(0.1, 100, unit="bogus"), "unit", None, "'bogus'"),
    (lambda: keras_lr.CyclicLR(0.1, 0.05), "max_lr", None, "0.05"),
    (lambda: keras_lr.CyclicLR(0, 0.05), "base_lr", "> 0", "0"),
    (lambda: keras_lr.CyclicLR(0.01, 0.1, step_size=0), "step_size", "> 0", "0"),
    (lambda: keras_lr.CyclicLR(0.01, 0.1, step_size_down=-3), "step_size_down", "> 0", "-3"),
    (lambda: keras_lr.CyclicLR(0.01, 0.1, mode="triangle"), "mode", None, "'triangle'"),
    (lambda: keras_lr.CyclicLR(0.01, 0.1, mode="exp_range", gamma=0), "gamma", None, "0"),
    (lambda: keras_lr.CyclicLR(0.01, 0.1, mode="exp_range", gamma=1.5), "gamma", None, "1.5"),
    (lambda: keras_lr.CyclicLR(0.01, 0.1, scale_fn=3), "scale_fn", "a callable or None", "3"),
    (
        lambda: keras_lr.CyclicLR(0.01, 0.1, scale_fn=abs, scale_mode="epoch"),
        "scale_mode",
        None,
        "'epoch'",
    ),
    (lambda: keras_lr.ExponentialLR(0.1, 0.5, unit="bogus"), "unit", None, "'bogus'"),
    (lambda: keras_lr.ExponentialLR(0, 0.5), "initial_lr", "> 0", "0"),
    (lambda: keras_lr.ExponentialLR(0.1, 0), "decay_rate", "> 0", "0"),
    (lambda: keras_lr.ExponentialLR(0.1, 1.5), "decay_rate", None, "1.5"),
    (lambda: keras_lr.ExponentialLR(0.1, 0.5, decay_steps=0), "decay_steps", "> 0", "0"),
    (lambda: keras_lr.ExponentialLR(0.1, 0.5, min_lr=-1.0), "min_lr", ">= 0", "-1.0"),
    (lambda: keras_lr.ExponentialLR(0.1, 0.5, min_lr=0.2), "min_lr", None, "0.2"),
    (lambda: keras_lr.OneCycleLR(0.1, 100, cycle_momentum=1), "cycle_momentum", None, "1"),
    (lambda: keras_lr.OneCycleLR(0, 100), "max_lr", "> 0", "0"),
    (lambda: keras_lr.OneCycleLR(0.1, 1), "total_steps", "an integer >= 2", "1"),
    (lambda: keras_lr.OneCycleLR(0.1, 10.5), "total_steps", "an integer >= 2", "10.5"),
    (lambda: keras_lr.OneCycleLR(0.1, 100, pct_start=1.0), "pct_start", "in (0, 1)", "1.0"),
    (lambda: keras_lr.OneCycleLR(0.1, 3, pct_start=0.3), "pct_start", None, "0.3"),
    (
        lambda: keras_lr.OneCycleLR(0.1, 100, anneal_strategy="cosine"),
        "anneal_strategy",
        None,
        "'cosine'",
    ),
    (lambda: keras_lr.OneCycleLR(0.1, 100, div_factor=0), "div_factor", "> 0", "0"),
    (lambda: keras_lr.OneCycleLR(0.1, 100, final_div_factor=-1), "final_div_factor", "> 0", "-1"),
    (lambda: keras_lr.ScheduleCallback(0.1), "schedule", None, "0.1"),
    (
        lambda: keras_lr.ScheduleCallback(keras_lr.schedules.Constant(0.1), unit="batch"),
        "unit",
        None,
        "'batch'",
    ),
]


@pytest.mark.parametrize(
    ("factory", "name", "requirement", "received"),
    BAD_ARGUMENTS,
    ids=[f"{i}-{case[1]}" for i, case in enumerate(BAD_ARGUMENTS)],
)
def test_bad_arguments_raise_keras_style_errors(factory, name, requirement, received):
    if requirement is None:
        pattern = (
            re.escape(f"Argument `{name}` must be ")
            + r".+"
            + re.escape(f". Received: {name}={received}")
        )
    else:
        pattern = _message(name, requirement, received)
    with pytest.raises(ValueError, match=pattern):
        factory()


def test_exact_messages_of_the_issue():
    with pytest.raises(ValueError) as info:
        keras_lr.WarmupCosineLR(0.1, 100, warmup_steps=-1)
    assert str(info.value) == "Argument `warmup_steps` must be >= 0. Received: warmup_steps=-1"
    with pytest.raises(ValueError, match=r"`total_steps` must be > .*warmup_steps \+ hold_steps"):
        keras_lr.WarmupCosineLR(0.1, 10, warmup_steps=6, hold_steps=4)
    with pytest.raises(ValueError, match=r"`max_lr` must be >= .*base_lr"):
        keras_lr.CyclicLR(0.1, 0.05)
    with pytest.raises(ValueError, match=r"'triangular', 'triangular2', 'exp_range'"):
        keras_lr.CyclicLR(0.01, 0.1, mode="bogus")
    with pytest.raises(ValueError, match=r"'step', 'epoch'"):
        keras_lr.ExponentialLR(0.1, 0.5, unit="bogus")
    with pytest.raises(ValueError, match=r"`max_momentum` must be >= base_momentum"):
        keras_lr.OneCycleLR(0.1, 100, cycle_momentum=True, base_momentum=0.9, max_momentum=0.8)


def test_edge_arguments_are_accepted():
    keras_lr.WarmupCosineLR(0.1, 10, warmup_steps=0, hold_steps=0, min_lr=0.1)
    keras_lr.CyclicLR(0.1, 0.1)  # max_lr == base_lr
    keras_lr.CyclicLR(0.01, 0.1, mode="exp_range", gamma=1.0)
    keras_lr.ExponentialLR(0.1, 1.0, min_lr=0.1)
    keras_lr.OneCycleLR(0.1, 10, cycle_momentum=False)


# No batch hooks --------------------------------------------------------------


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_schedulers_add_no_batch_hooks(name):
    callback = SCHEDULERS[name]()
    for hook in ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"):
        assert is_default(getattr(callback, hook)), hook


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_schedulers_keep_the_train_loop_asynchronous(name):
    from keras.src import backend
    from keras.src.callbacks.callback_list import CallbackList

    callbacks = CallbackList([SCHEDULERS[name]()], add_history=True)
    assert callbacks._async_train == backend.IS_THREAD_SAFE


# One counter for the applied and the recorded LR ------------------------------


def test_gradient_accumulation_records_the_lr_each_update_used(one_weight):
    """Updates every 2 batches; the schedule sees the micro-step, as a schedule in the optimizer does."""
    optimizer = keras.optimizers.SGD(0.5, gradient_accumulation_steps=2)
    model = one_weight.model(optimizer=optimizer)
    callback = keras_lr.ScheduleCallback(keras_lr.schedules.Piecewise([2, 4, 6], [0.4, 0.3, 0.2, 0.1]))
    logger = keras_lr.LRLogger(per_batch=True)
    x, y = one_weight.data(8 * 4)
    kernels = []

    class Kernel(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            kernels.append(one_weight.kernel(self.model))

    history = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[callback, logger, Kernel()])
    # The weight moves on every second batch (the gradient is 1 in every batch).
    applied = -np.diff(np.concatenate([[0.0], np.asarray(kernels)[1::2]]))
    # Hand-derived: update u ends at micro-step 2u + 1: Piecewise there is .4, .3, .2, .1.
    assert_allclose(applied, [0.4, 0.3, 0.2, 0.1], rtol=1e-6)
    assert_allclose(callback.learning_rates, applied, rtol=1e-6)
    assert logger.history["step"] == [0, 1, 2, 3]
    assert_allclose(logger.history["learning_rate"], applied, rtol=1e-6)
    assert history.history["learning_rate"] == [pytest.approx(0.1)]


def test_gradient_accumulation_matches_the_schedule_in_the_optimizer(one_weight):
    """The same schedule given to the optimizer applies the same LRs (Keras evaluates it at `_iterations`)."""
    schedule = keras_lr.schedules.Piecewise([2, 4, 6], [0.4, 0.3, 0.2, 0.1])
    model = one_weight.model(optimizer=keras.optimizers.SGD(schedule, gradient_accumulation_steps=2))
    logger = keras_lr.LRLogger(per_batch=True)
    one_weight.fit(model, [logger], epochs=1, steps_per_epoch_of_data=8)
    assert one_weight.kernel(model) == pytest.approx(-(0.4 + 0.3 + 0.2 + 0.1), rel=1e-6)
    assert_allclose(logger.history["learning_rate"], [0.4, 0.3, 0.2, 0.1], rtol=1e-6)


def _multi_optimizer_model(one_weight):
    multi = getattr(keras.optimizers, "MultiOptimizer", None)
    if multi is None:
        pytest.skip("this Keras has no MultiOptimizer")
    model = one_weight.model(0.5)
    optimizer = multi(keras.optimizers.OptimizerMap(keras.optimizers.SGD(0.5)))
    model.compile(optimizer=optimizer, loss=one_weight.mean_prediction)
    return model


@pytest.mark.parametrize(
    "make",
    [
        lambda: keras_lr.ScheduleCallback(keras_lr.schedules.Constant(0.1)),
        lambda: keras_lr.ExponentialLR(0.1, 0.5),
        lambda: keras_lr.LRLogger(),
        lambda: keras_lr.ReduceLROnPlateau(monitor="loss"),
    ],
    ids=["step_scheduler", "epoch_scheduler", "logger", "plateau"],
)
def test_a_multi_optimizer_is_refused(one_weight, make):
    model = _multi_optimizer_model(one_weight)
    with pytest.raises(ValueError, match="cannot follow the learning rate of a `MultiOptimizer`"):
        one_weight.fit(model, [make()], epochs=1)
    assert one_weight.kernel(model) == 0.0  # refused before any update


# No retrace on a repeated fit ---------------------------------------------------


@pytest.mark.backends("tensorflow", "jax")
def test_a_second_fit_and_a_later_plain_fit_do_not_retrace(one_weight):
    """Counts the traces of the train step through the loss function (called once per trace)."""
    traces = []

    def counting_loss(y_true, y_pred):
        traces.append(1)
        return keras.ops.mean(y_pred, axis=-1)

    model = one_weight.model(0.5, loss=counting_loss)
    one_weight.fit(model, epochs=1)
    plain = len(traces)
    callback = keras_lr.CyclicLR(0.01, 0.1, step_size=4, mode="triangular2")
    one_weight.fit(model, [callback], epochs=1)
    scheduled = len(traces)
    assert scheduled > plain  # keras_lr's own step was traced once, with the schedule
    start = one_weight.kernel(model)
    one_weight.fit(model, [callback], epochs=2, initial_epoch=1)
    assert len(traces) == scheduled, "the second fit with the same callback retraced"
    lrs = smith_triangular2_lrs(3 * STEPS, 0.01, 0.1, 4)[2 * STEPS :]  # after a plain and a scheduled epoch
    assert one_weight.kernel(model) == pytest.approx(start - lrs.sum(), rel=1e-6)
    start = one_weight.kernel(model)
    one_weight.fit(model, epochs=3, initial_epoch=2)
    assert len(traces) == scheduled, "the plain fit after the scheduled ones retraced"
    assert one_weight.kernel(model) == pytest.approx(start - STEPS * 0.5, rel=1e-6)
    # A recompile gives a new train function: keras_lr's cache does not serve a stale step.
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=counting_loss)
    start = one_weight.kernel(model)
    one_weight.fit(model, [callback], epochs=4, initial_epoch=3)
    assert len(traces) > scheduled
    lrs = smith_triangular2_lrs(STEPS, 0.01, 0.1, 4)  # a new optimizer: its step starts at 0
    assert one_weight.kernel(model) == pytest.approx(start - lrs.sum(), rel=1e-6)


@pytest.mark.backends("torch")
def test_torch_reads_the_step_from_the_device_once_per_fit_not_per_step(one_weight, monkeypatch):
    """The eager step indexes a device table with a host-side step count: no per-step sync."""
    from keras_lr import _keras

    reads = []
    real = _keras.micro_steps

    def counting(optimizer):
        reads.append(1)
        return real(optimizer)

    monkeypatch.setattr(_keras, "micro_steps", counting)
    counts = []
    for batches in (6, 24):
        reads.clear()
        model = one_weight.model(0.5)
        callback = keras_lr.WarmupCosineLR(0.1, 100, warmup_steps=5)
        _, recorder = one_weight.fit(model, [callback], epochs=2, steps_per_epoch_of_data=batches)
        one_weight.assert_lrs_applied(recorder, warmup_hold_cosine_lrs(2 * batches, 0.1, 100, 5, 0.0, 0, 0.0, 1, 1.0))
        counts.append(len(reads))
    assert counts[0] == counts[1], f"device reads grow with the number of steps: {counts}"


@pytest.mark.parametrize("boundary", [2**24 + 1, 2**31 - 2])
def test_a_callback_is_exact_past_float32_steps(one_weight, boundary):
    # Piecewise switches exactly at `boundary`: updates at boundary - 2, boundary - 1 and
    # boundary use 1.0, 1.0, 0.5 (float32 cannot tell 2**24 from 2**24 + 1). On torch the
    # scheduler reads a host table of the schedule, which must use integer steps too.
    model = one_weight.model(learning_rate=0.1)
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(boundary - 2)
    callback = keras_lr.ScheduleCallback(keras_lr.schedules.Piecewise([boundary], [1.0, 0.5]))
    recorder = one_weight.KernelRecorder(per_batch=True)
    x, y = one_weight.data(3)
    model.fit(x, y, batch_size=1, epochs=1, callbacks=[callback, recorder], shuffle=False, verbose=0)
    kernel_after = dict(zip(recorder.steps, recorder.kernels))
    kernels = [kernel_after[step] for step in (boundary - 1, boundary, boundary + 1)]
    deltas = -np.diff(np.concatenate([[0.0], kernels]))
    assert_allclose(deltas, [1.0, 1.0, 0.5], rtol=1e-6)
    assert_allclose(callback.learning_rates, [1.0, 1.0, 0.5], rtol=1e-6)


# Deprecated names, kept one release ------------------------------------------


def test_deprecated_exponent_decay_scheduler(one_weight):
    with pytest.warns(DeprecationWarning, match=r"ExponentDecayScheduler.*keras_lr\.ExponentialLR"):
        callback = keras_lr.ExponentDecayScheduler(0.1, 0.5, decay_steps=2, min_lr=0.03)
    assert isinstance(callback, keras_lr.ExponentialLR)
    assert callback.unit == "epoch"  # the same default
    new = keras_lr.ExponentialLR(0.1, 0.5, decay_steps=2, min_lr=0.03)
    assert callback.schedule.get_config() == new.schedule.get_config()
    # The schedule's config round trip.
    restored = type(callback.schedule).from_config(callback.schedule.get_config())
    assert restored.get_config() == new.schedule.get_config()
    model = one_weight.model(learning_rate=0.5)

    history, recorder = one_weight.fit(model, [callback], epochs=5)

    per_epoch = np.maximum(0.03, 0.1 * 0.5 ** np.floor(np.arange(5) / 2))
    one_weight.assert_lrs_applied(recorder, np.repeat(per_epoch, STEPS))
    assert_allclose(history.history["learning_rate"], per_epoch, rtol=1e-6)


def test_deprecated_warmup_cosine_decay(one_weight):
    with pytest.warns(DeprecationWarning, match=r"WarmupCosineDecay.*keras_lr\.WarmupCosineLR"):
        callback = keras_lr.WarmupCosineDecay(0.1, 20, warmup_steps=4, min_lr=0.01)
    assert isinstance(callback, keras_lr.WarmupCosineLR)
    assert callback.unit == "step"
    new = keras_lr.WarmupCosineLR(0.1, 20, warmup_steps=4, min_lr=0.01)
    assert callback.schedule.get_config() == new.schedule.get_config()
    restored = type(callback.schedule).from_config(callback.schedule.get_config())
    assert restored.get_config() == new.schedule.get_config()
    model = one_weight.model(learning_rate=0.5)

    _, recorder = one_weight.fit(model, [callback], epochs=3)

    expected = warmup_hold_cosine_lrs(3 * STEPS, 0.1, 20, 4, 0.0, 0, 0.01, 1, 1.0)
    one_weight.assert_lrs_applied(recorder, expected)
    assert_allclose(callback.learning_rates, expected, rtol=1e-5, atol=1e-7)


def test_new_callback_names_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        keras_lr.ExponentialLR(0.1, 0.5)
        keras_lr.WarmupCosineLR(0.1, 20)
