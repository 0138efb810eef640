"""Momentum cycling of OneCycleLR and CyclicLR, checked by the weight of a one-weight model.

Oracles, independent of keras_lr:

- the (LR, momentum) of each step comes from PyTorch's own
  `torch.optim.lr_scheduler.OneCycleLR` / `CyclicLR` (`cycle_momentum=True`);
- each update of the one-weight model (`Dense(1, use_bias=False)`, zero
  kernel, batch size 1, loss = the prediction, so the gradient of step `t` is
  the input `x_t`) is Keras' update formula of the optimizer (SGD, Nesterov
  SGD, RMSprop with momentum, Adam, AdamW, Adamax, Lion) written out by hand
  below in float32 numpy, with PyTorch's LR and momentum of that step;
- Nadam's formula is not written out: a cycle whose bounds are both the
  optimizer's own `beta_1` must train exactly as Keras' plain Nadam.

The kernel is compared after every step (every execution under
`steps_per_execution`).
"""

import keras
import numpy as np
import pytest
from momentum_oracles import torch_schedule
from numpy.testing import assert_allclose

import keras_lr

# The inputs, one per step (batch size 1): dyadic, both signs, |x| <= 1 (exact in float16).
X = np.array([1.0, -0.5, 0.75, 0.25, -1.0, 0.5, 1.0, -0.25], "float32").reshape(-1, 1)
STEPS = len(X)  # per epoch
EPOCHS = 3
TOTAL = STEPS * EPOCHS


def prediction_loss(y_true, y_pred):
    """Per sample: the prediction itself, so the kernel's gradient is the input."""
    return keras.ops.mean(y_pred, axis=-1)


# ------------------------------------------------------------------ oracles


def hand_kernels(name, lrs, momentums, grads, **options):
    """The kernel after each step: Keras' update of `name`, by hand, in float32."""
    f = np.float32
    w, slot, second = f(0), f(0), f(0)
    beta_2 = f(options.get("beta_2", 0.999 if name != "lion" else 0.99))
    eps = f(1e-7)
    kernels = []
    for t, (lr, b, g) in enumerate(zip(lrs.astype("float32"), momentums.astype("float32"), grads)):
        g = f(g)
        if name in ("sgd", "nesterov"):
            slot = b * slot - lr * g
            w = w + (b * slot - lr * g if name == "nesterov" else slot)
        elif name == "rmsprop":
            rho = f(0.9)
            second = rho * second + (f(1) - rho) * g * g
            slot = b * slot + lr * g / np.sqrt(second + eps)
            w = w - slot
        elif name in ("adam", "adamw"):
            if name == "adamw":
                w = w - w * f(options["weight_decay"]) * lr
            step = f(t + 1)
            slot = slot + (g - slot) * (f(1) - b)
            second = second + (g * g - second) * (f(1) - beta_2)
            alpha = lr * np.sqrt(f(1) - beta_2**step) / (f(1) - b**step)
            w = w - slot * alpha / (np.sqrt(second) + eps)
        elif name == "adamax":
            step = f(t + 1)
            slot = slot + (g - slot) * (f(1) - b)
            second = np.maximum(beta_2 * second, np.abs(g))
            w = w - lr * slot / ((f(1) - b**step) * (second + eps))
        elif name == "lion":
            w = w - lr * np.sign(slot * b + g * (f(1) - b))
            slot = slot * beta_2 + g * (f(1) - beta_2)
        else:
            raise AssertionError(name)
        kernels.append(float(w))
    return np.asarray(kernels)


def grads_of(n, start=0):
    return X[(np.arange(start, start + n)) % STEPS, 0]


OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(0.1, momentum=0.9),
    "nesterov": lambda: keras.optimizers.SGD(0.1, momentum=0.5, nesterov=True),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.1, momentum=0.9),
    "adam": lambda: keras.optimizers.Adam(0.1),
    "adamw": lambda: keras.optimizers.AdamW(0.1, weight_decay=0.25),
    "adamax": lambda: keras.optimizers.Adamax(0.1),
    "lion": lambda: keras.optimizers.Lion(0.1, beta_1=0.5),
}
OPTIONS = {"adamw": {"weight_decay": 0.25}}
USER_VALUE = {"sgd": 0.9, "nesterov": 0.5, "rmsprop": 0.9, "adam": 0.9, "adamw": 0.9, "adamax": 0.9, "lion": 0.5}


def attribute(name):
    return "momentum" if name in ("sgd", "nesterov", "rmsprop") else "beta_1"


# ------------------------------------------------------------------ helpers
def one_weight_model(optimizer, steps_per_execution=1, dtype=None):
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros", dtype=dtype)]
    )
    model.compile(optimizer=optimizer, loss=prediction_loss, steps_per_execution=steps_per_execution)
    return model


def fit(one_weight, model, callbacks, epochs=EPOCHS, initial_epoch=0):
    recorder = one_weight.KernelRecorder(per_batch=True)
    history = model.fit(
        X,
        np.zeros_like(X),
        batch_size=1,
        epochs=epochs,
        initial_epoch=initial_epoch,
        shuffle=False,
        verbose=0,
        callbacks=[*callbacks, recorder],
    )
    return history, recorder


def assert_trajectory(recorder, expected, rtol=2e-5, atol=1e-6, first_step=0):
    """The kernel recorded after optimizer step `s` is `expected[s - 1]` (steps counted from 0)."""
    steps = np.asarray(recorder.steps)
    assert steps.size and steps[-1] == first_step + len(expected)
    assert_allclose(
        np.asarray(recorder.kernels), expected[steps - first_step - 1], rtol=rtol, atol=atol,
        err_msg=f"kernel at optimizer steps {steps.tolist()}",
    )


ONE_CYCLE = dict(max_lr=0.05, total_steps=TOTAL, pct_start=0.3)


# ------------------------------------------------------------------ exactness
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_one_cycle_momentum_of_each_optimizer_matches_pytorch_and_the_hand_update(one_weight, name):
    lrs, momentums = torch_schedule(TOTAL, "one_cycle", **ONE_CYCLE)
    callback = keras_lr.OneCycleLR(0.05, TOTAL, cycle_momentum=True)
    model = one_weight_model(OPTIMIZERS[name]())

    history, recorder = fit(one_weight, model, [callback])

    expected = hand_kernels(name, lrs, momentums, grads_of(TOTAL), **OPTIONS.get(name, {}))
    assert_trajectory(recorder, expected)
    # The records: every update's momentum, and the last of each epoch in `history`.
    assert_allclose(callback.momentums, momentums, rtol=1e-6)
    assert_allclose(history.history[attribute(name)], momentums[STEPS - 1 :: STEPS], rtol=1e-6)
    assert_allclose(callback.learning_rates, lrs, rtol=1e-5)
    # The optimizer has the user's value again, as a Python float.
    value = getattr(model.optimizer, attribute(name))
    assert type(value) is float and value == USER_VALUE[name]


def test_the_oracle_is_not_trivial():
    """The hand updates tell a cycled momentum from the optimizer's constant one."""
    lrs, momentums = torch_schedule(TOTAL, "one_cycle", **ONE_CYCLE)
    assert np.ptp(momentums) > 0.09
    for name in OPTIMIZERS:
        cycled = hand_kernels(name, lrs, momentums, grads_of(TOTAL), **OPTIONS.get(name, {}))
        constant = np.full(TOTAL, USER_VALUE[name])
        plain = hand_kernels(name, lrs, constant, grads_of(TOTAL), **OPTIONS.get(name, {}))
        assert np.max(np.abs(cycled - plain)) > 1e-3 * np.max(np.abs(plain)), name


CYCLES = {
    "one_cycle_linear_three_phase": (
        "one_cycle",
        dict(max_lr=0.05, total_steps=TOTAL, pct_start=0.25, anneal_strategy="linear", three_phase=True,
             base_momentum=0.7, max_momentum=0.9),
        lambda: keras_lr.OneCycleLR(0.05, TOTAL, pct_start=0.25, anneal_strategy="linear", three_phase=True,
                                    cycle_momentum=True, base_momentum=0.7, max_momentum=0.9),
    ),
    "cyclic_triangular2": (
        "cyclic",
        dict(base_lr=0.01, max_lr=0.05, step_size_up=3, step_size_down=5, mode="triangular2"),
        lambda: keras_lr.CyclicLR(0.01, 0.05, 3, step_size_down=5, mode="triangular2", cycle_momentum=True),
    ),
    "cyclic_exp_range": (
        "cyclic",
        dict(base_lr=0.01, max_lr=0.05, step_size_up=4, mode="exp_range", gamma=0.95,
             base_momentum=0.6, max_momentum=0.95),
        lambda: keras_lr.CyclicLR(0.01, 0.05, 4, mode="exp_range", gamma=0.95, cycle_momentum=True,
                                  base_momentum=0.6, max_momentum=0.95),
    ),
}


@pytest.mark.parametrize("case", list(CYCLES))
@pytest.mark.parametrize("name", ["nesterov", "adam"])
def test_cycles_match_pytorch(one_weight, case, name):
    kind, torch_kwargs, make = CYCLES[case]
    lrs, momentums = torch_schedule(TOTAL, kind, **torch_kwargs)
    model = one_weight_model(OPTIMIZERS[name]())
    _, recorder = fit(one_weight, model, [make()])
    assert_trajectory(recorder, hand_kernels(name, lrs, momentums, grads_of(TOTAL)))


@pytest.mark.parametrize("name", ["sgd", "nesterov", "rmsprop"])
def test_a_cycled_momentum_of_zero_still_updates_the_slot(one_weight, name):
    """At a momentum of exactly 0 Keras' SGD/RMSprop would skip the slot: it must still become the step."""
    torch_kwargs = dict(base_lr=0.01, max_lr=0.05, step_size_up=3, base_momentum=0.0, max_momentum=0.9)
    lrs, momentums = torch_schedule(TOTAL, "cyclic", **torch_kwargs)
    assert np.sum(momentums == 0.0) >= 3  # the oracle does reach 0
    model = one_weight_model(OPTIMIZERS[name]())
    callback = keras_lr.CyclicLR(0.01, 0.05, 3, cycle_momentum=True, base_momentum=0.0, max_momentum=0.9)
    _, recorder = fit(one_weight, model, [callback])
    assert_trajectory(recorder, hand_kernels(name, lrs, momentums, grads_of(TOTAL)))
    assert model.optimizer.momentum == USER_VALUE[name]
    assert "_backend_update_step" not in vars(model.optimizer)


@pytest.mark.backends("tensorflow", "jax")  # Keras' torch trainer runs one step per call
@pytest.mark.parametrize("name", ["sgd", "rmsprop", "adam"])
def test_steps_per_execution(one_weight, name):
    """Three steps per call of the train function (the last execution of each epoch is partial)."""
    lrs, momentums = torch_schedule(TOTAL, "one_cycle", **ONE_CYCLE)
    model = one_weight_model(OPTIMIZERS[name](), steps_per_execution=3)
    callback = keras_lr.OneCycleLR(0.05, TOTAL, cycle_momentum=True)
    history, recorder = fit(one_weight, model, [callback])
    assert len(recorder.steps) < TOTAL  # batch hooks ran once per execution
    assert_trajectory(recorder, hand_kernels(name, lrs, momentums, grads_of(TOTAL)))
    assert_allclose(callback.momentums, momentums, rtol=1e-6)
    assert_allclose(history.history[attribute(name)], momentums[STEPS - 1 :: STEPS], rtol=1e-6)


@pytest.mark.parametrize("name", ["nesterov", "adam"])
def test_mixed_float16_cycles_the_inner_optimizer(one_weight, name):
    keras.mixed_precision.set_global_policy("mixed_float16")
    lrs, momentums = torch_schedule(TOTAL, "one_cycle", **ONE_CYCLE)
    model = one_weight_model(OPTIMIZERS[name]())
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    logger = keras_lr.LRLogger(per_batch=True)
    history, recorder = fit(one_weight, model, [keras_lr.OneCycleLR(0.05, TOTAL, cycle_momentum=True), logger])
    assert_trajectory(recorder, hand_kernels(name, lrs, momentums, grads_of(TOTAL)), rtol=1e-3, atol=1e-5)
    assert_allclose(logger.history[attribute(name)], momentums, rtol=1e-6)
    assert_allclose(history.history[attribute(name)], momentums[STEPS - 1 :: STEPS], rtol=1e-6)
    inner = model.optimizer.inner_optimizer
    assert getattr(inner, attribute(name)) == USER_VALUE[name]


def test_nadam_with_its_own_beta_1_as_both_bounds_is_keras_nadam(one_weight):
    """A constant cycle at the user's beta_1 trains as Keras' own Nadam; a real cycle does not."""
    plain = one_weight_model(keras.optimizers.Nadam(0.1, beta_1=0.9))
    _, plain_recorder = fit(one_weight, plain, [keras_lr.OneCycleLR(0.05, TOTAL)])
    flat = one_weight_model(keras.optimizers.Nadam(0.1, beta_1=0.9))
    cycle = keras_lr.OneCycleLR(0.05, TOTAL, cycle_momentum=True, base_momentum=0.9, max_momentum=0.9)
    history, flat_recorder = fit(one_weight, flat, [cycle])
    assert_allclose(flat_recorder.kernels, plain_recorder.kernels, rtol=1e-6, atol=1e-7)
    assert history.history["beta_1"] == pytest.approx([0.9] * EPOCHS)
    cycled = one_weight_model(keras.optimizers.Nadam(0.1, beta_1=0.9))
    _, cycled_recorder = fit(one_weight, cycled, [keras_lr.OneCycleLR(0.05, TOTAL, cycle_momentum=True)])
    assert np.max(np.abs(np.subtract(cycled_recorder.kernels, plain_recorder.kernels))) > 1e-4
    assert cycled.optimizer.beta_1 == 0.9


# ------------------------------------------------------------------ continuing
def test_several_fits_and_resume_with_initial_epoch(one_weight, tmp_path):
    """Fit 1 epoch, save, load, fit the rest with a new callback: each update uses its momentum."""
    lrs, momentums = torch_schedule(TOTAL, "one_cycle", **ONE_CYCLE)
    expected = hand_kernels("sgd", lrs, momentums, grads_of(TOTAL))
    model = one_weight_model(OPTIMIZERS["sgd"]())
    _, first = fit(one_weight, model, [keras_lr.OneCycleLR(0.05, TOTAL, cycle_momentum=True)], epochs=1)
    assert_trajectory(first, expected[:STEPS])
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path, custom_objects={"prediction_loss": prediction_loss})
    callback = keras_lr.OneCycleLR(0.05, TOTAL, cycle_momentum=True)
    history, second = fit(one_weight, restored, [callback], epochs=EPOCHS, initial_epoch=1)
    assert_trajectory(second, expected[STEPS:], first_step=STEPS)
    assert_allclose(callback.momentums, momentums[STEPS:], rtol=1e-6)
    assert_allclose(history.history["momentum"], momentums[2 * STEPS - 1 :: STEPS], rtol=1e-6)


class FailOnce(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch and self.epoch is not None:
            self.epoch = None
            raise RuntimeError("preempted")


def test_backup_and_restore(one_weight, tmp_path):
    lrs, momentums = torch_schedule(TOTAL, "one_cycle", **ONE_CYCLE)
    expected = hand_kernels("adam", lrs, momentums, grads_of(TOTAL))
    model = one_weight_model(OPTIMIZERS["adam"]())
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    callback = keras_lr.OneCycleLR(0.05, TOTAL, cycle_momentum=True)
    fail = FailOnce(epoch=1)
    with pytest.raises(RuntimeError, match="preempted"):
        fit(one_weight, model, [callback, backup, fail])
    assert model.optimizer.beta_1 == 0.9
    _, recorder = fit(one_weight, model, [callback, backup, fail])
    steps = np.asarray(recorder.steps)
    assert steps[0] > STEPS  # resumed after the backed-up epochs
    assert_allclose(recorder.kernels, expected[steps - 1], rtol=2e-5, atol=1e-6)


@pytest.mark.backends("tensorflow", "jax")
def test_a_second_fit_does_not_retrace(one_weight):
    traces = []

    def counting_loss(y_true, y_pred):
        traces.append(1)
        return keras.ops.mean(y_pred, axis=-1)

    lrs, momentums = torch_schedule(TOTAL, "one_cycle", **ONE_CYCLE)
    model = one_weight_model(OPTIMIZERS["nesterov"]())
    model.compile(optimizer=OPTIMIZERS["nesterov"](), loss=counting_loss)
    callback = keras_lr.OneCycleLR(0.05, TOTAL, cycle_momentum=True)
    _, first = fit(one_weight, model, [callback], epochs=1)
    traced = len(traces)
    _, second = fit(one_weight, model, [callback], epochs=EPOCHS, initial_epoch=1)
    assert len(traces) == traced, "the second fit with the same callback retraced"
    expected = hand_kernels("nesterov", lrs, momentums, grads_of(TOTAL))
    assert_trajectory(second, expected[STEPS:], first_step=STEPS)


def test_a_plain_fit_after_a_cycled_one_uses_the_users_momentum(one_weight):
    """After the callback's fit, Keras' SGD(momentum=0.9) continues with 0.9 and the user's LR."""
    model = one_weight_model(keras.optimizers.SGD(0.01, momentum=0.9))
    fit(one_weight, model, [keras_lr.OneCycleLR(0.05, TOTAL, cycle_momentum=True)], epochs=1)
    start = one_weight.kernel(model)
    velocity = float(keras.ops.convert_to_numpy(model.optimizer.momentums[0]).reshape(()))
    _, recorder = fit(one_weight, model, [], epochs=2, initial_epoch=1)
    w, v = np.float32(start), np.float32(velocity)
    expected = []
    for g in grads_of(STEPS):
        v = np.float32(0.9) * v - np.float32(0.01) * g
        w = w + v
        expected.append(float(w))
    assert_allclose(recorder.kernels, np.asarray(expected)[np.asarray(recorder.steps) - STEPS - 1], rtol=1e-5)


# ------------------------------------------------------------------ records, logs, config
def test_lr_logger_logs_the_momentum_per_step_and_per_epoch(one_weight):
    lrs, momentums = torch_schedule(TOTAL, "cyclic", base_lr=0.01, max_lr=0.05, step_size_up=3)
    logger = keras_lr.LRLogger(per_batch=True)
    per_call = 1 if keras.config.backend() == "torch" else 3
    model = one_weight_model(OPTIMIZERS["adam"](), steps_per_execution=per_call)
    history, _ = fit(one_weight, model, [logger, keras_lr.CyclicLR(0.01, 0.05, 3, cycle_momentum=True)])
    assert logger.history["step"] == list(range(TOTAL))
    assert_allclose(logger.history["beta_1"], momentums, rtol=1e-6)
    assert_allclose(logger.history["learning_rate"], lrs, rtol=1e-5)
    assert_allclose(history.history["beta_1"], momentums[STEPS - 1 :: STEPS], rtol=1e-6)


def test_without_cycling_nothing_changes(one_weight):
    callback = keras_lr.OneCycleLR(0.05, TOTAL)
    model = one_weight_model(keras.optimizers.Adagrad(0.1))  # no momentum: fine without cycling
    history, _ = fit(one_weight, model, [callback, keras_lr.LRLogger()])
    assert "momentum" not in history.history and "beta_1" not in history.history
    assert callback.momentum_schedule is None and callback.momentums.size == 0


@pytest.mark.parametrize(
    "callback",
    [
        keras_lr.OneCycleLR(0.05, 100, pct_start=0.25, three_phase=True, cycle_momentum=True,
                            base_momentum=0.8, max_momentum=0.99),
        keras_lr.CyclicLR(0.01, 0.05, 3, mode="exp_range", gamma=0.9, cycle_momentum=True,
                          base_momentum=0.5, max_momentum=0.7, step_size_down=4),
        keras_lr.CyclicLR(0.01, 0.05, 3),
    ],
    ids=["one_cycle", "cyclic", "cyclic_without_momentum"],
)
def test_get_config_round_trip(callback):
    config = callback.get_config()
    rebuilt = type(callback).from_config(config)
    assert rebuilt.get_config() == config
    assert repr(rebuilt.schedule) == repr(callback.schedule)
    assert repr(rebuilt.momentum_schedule) == repr(callback.momentum_schedule)
    assert config["cycle_momentum"] == callback.cycle_momentum


def test_defaults_are_pytorchs_bounds_and_off():
    one_cycle, cyclic = keras_lr.OneCycleLR(0.1, 100), keras_lr.CyclicLR(0.01, 0.1)
    assert (one_cycle.cycle_momentum, one_cycle.base_momentum, one_cycle.max_momentum) == (False, 0.85, 0.95)
    assert (cyclic.cycle_momentum, cyclic.base_momentum, cyclic.max_momentum) == (False, 0.8, 0.9)


# ------------------------------------------------------------------ refusals
NO_MOMENTUM = {
    "Adagrad": lambda: keras.optimizers.Adagrad(0.1),
    "Adadelta": lambda: keras.optimizers.Adadelta(0.1),
    "Adafactor": lambda: keras.optimizers.Adafactor(0.1),
    "Ftrl": lambda: keras.optimizers.Ftrl(0.1),
    "SGD": lambda: keras.optimizers.SGD(0.1),
    "RMSprop": lambda: keras.optimizers.RMSprop(0.1),
}


@pytest.mark.parametrize("make", [lambda: keras_lr.OneCycleLR(0.05, TOTAL, cycle_momentum=True),
                                  lambda: keras_lr.CyclicLR(0.01, 0.05, 3, cycle_momentum=True)],
                         ids=["OneCycleLR", "CyclicLR"])
@pytest.mark.parametrize("name", list(NO_MOMENTUM))
def test_an_optimizer_without_momentum_is_refused(one_weight, name, make):
    model = one_weight_model(NO_MOMENTUM[name]())
    callback = make()
    with pytest.raises(ValueError) as raised:
        fit(one_weight, model, [callback], epochs=1)
    message = str(raised.value)
    assert f"{type(callback).__name__}(cycle_momentum=True)" in message
    assert "cycle_momentum=False" in message
    assert f"Received: optimizer={name}" in message
    if name in ("SGD", "RMSprop"):
        assert "momentum=0.0" in message and "momentum=0.9" in message
    assert one_weight.kernel(model) == 0.0  # nothing trained
    # The same model trains with cycle_momentum=False.
    fit(one_weight, model, [keras_lr.OneCycleLR(0.05, TOTAL)], epochs=1)
    assert one_weight.kernel(model) != 0.0


def test_a_loss_scale_optimizer_without_momentum_is_refused(one_weight):
    keras.mixed_precision.set_global_policy("mixed_float16")
    model = one_weight_model(keras.optimizers.Adagrad(0.1))
    with pytest.raises(ValueError, match="Received: optimizer=Adagrad"):
        fit(one_weight, model, [keras_lr.OneCycleLR(0.05, TOTAL, cycle_momentum=True)], epochs=1)


@pytest.mark.parametrize(
    "kwargs, name, requirement",
    [
        (dict(base_momentum=-0.1), "base_momentum", "in [0, 1)"),
        (dict(max_momentum=1.0), "max_momentum", "in [0, 1)"),
        (dict(base_momentum=0.9, max_momentum=0.8), "max_momentum", ">= base_momentum (0.9)"),
        (dict(cycle_momentum="yes"), "cycle_momentum", ""),
    ],
)
def test_bad_momentum_arguments(kwargs, name, requirement):
    for make in (lambda: keras_lr.OneCycleLR(0.1, 100, **{"cycle_momentum": True, **kwargs}),
                 lambda: keras_lr.CyclicLR(0.01, 0.1, **{"cycle_momentum": True, **kwargs})):
        with pytest.raises(ValueError, match=rf"Argument `{name}` must be") as raised:
            make()
        assert requirement in str(raised.value)


def test_gradient_accumulation_uses_the_momentum_of_the_update_step(one_weight):
    """With k=2, update u happens at micro-step 2u+1 and uses the LR and momentum of that step."""
    lrs, momentums = torch_schedule(TOTAL, "one_cycle", **ONE_CYCLE)
    optimizer = keras.optimizers.SGD(0.1, momentum=0.9, gradient_accumulation_steps=2)
    model = one_weight_model(optimizer)
    callback = keras_lr.OneCycleLR(0.05, TOTAL, cycle_momentum=True)
    fit(one_weight, model, [callback])
    at = np.arange(1, TOTAL, 2)  # the micro-step of each update
    grads = grads_of(TOTAL).reshape(-1, 2).mean(axis=1)
    expected = hand_kernels("sgd", lrs[at], momentums[at], grads)
    assert_allclose(one_weight.kernel(model), expected[-1], rtol=2e-5)
    assert_allclose(callback.momentums, momentums[at], rtol=1e-6)
