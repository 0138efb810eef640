"""Schedules given values they cannot honour: refused by name, never a silently different LR.

- horizons past the exact step range (`2**31 - 1`, int32), where steps
  saturate and the schedule stops moving;
- cosine cycles and cyclic half-cycles shorter than one step, which fall
  between two steps;
- learning rates past float32's largest value (inf in the optimizer);
- a user's function that gives NaN, inf or a negative LR during a `fit`.

Expected values are closed forms written here, or the updates of a one-weight
model (`loss = w`, plain SGD: each update moves `w` by exactly `-lr`).
"""

import math

import keras
import numpy as np
import pytest
from keras import ops

import keras_lr
from keras_lr import schedules as S

LIMIT = 2**31 - 1
BEYOND = 10**12


def assert_refused(call, name, *fragments):
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)
    assert f"Argument `{name}` must be" in message, message
    assert f"Received: {name}=" in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


# ---------------------------------------------------------------- horizons past 2**31 - 1
HORIZONS = [
    (lambda v: S.WarmupCosine(1e-3, v), "total_steps"),
    (lambda v: S.WarmupCosine(1e-3, 2 * v, warmup_steps=v), "warmup_steps"),
    (lambda v: S.WarmupCosine(1e-3, 2 * v, hold_steps=v), "hold_steps"),
    (lambda v: S.Polynomial(1e-3, v), "total_steps"),
    (lambda v: S.Exponential(1e-3, 0.5, decay_steps=v), "decay_steps"),
    (lambda v: S.StepDecay(1e-3, v), "decay_steps"),
    (lambda v: S.Piecewise([10, v], [1e-3, 1e-4, 1e-5]), "boundaries"),
    (lambda v: S.Join([S.Constant(1e-3), S.Constant(1e-4)], [v]), "boundaries"),
    (lambda v: S.Cyclic(1e-4, 1e-3, step_size=v), "step_size"),
    (lambda v: S.Cyclic(1e-4, 1e-3, step_size=10, step_size_down=v), "step_size_down"),
    (lambda v: S.OneCycle(1e-3, v), "total_steps"),
    (lambda v: S.Warmup(S.Constant(1e-3), v), "warmup_steps"),
    # The callbacks build these schedules, in either unit.
    (lambda v: keras_lr.WarmupCosineLR(1e-3, v), "total_steps"),
    (lambda v: keras_lr.WarmupCosineLR(1e-3, v, unit="epoch"), "total_steps"),
    (lambda v: keras_lr.ExponentialLR(1e-3, 0.5, decay_steps=v), "decay_steps"),
    (lambda v: keras_lr.CyclicLR(1e-4, 1e-3, v), "step_size"),
    (lambda v: keras_lr.OneCycleLR(1e-3, v), "total_steps"),
]


@pytest.mark.parametrize("make, name", HORIZONS, ids=[f"{i}-{n}" for i, (_, n) in enumerate(HORIZONS)])
def test_a_horizon_past_the_exact_step_range_is_refused(make, name):
    message = assert_refused(lambda: make(BEYOND), name, "2147483647", "int32")
    assert f"{name}={BEYOND}" in message or f"{name}={float(BEYOND)}" in message


def test_the_example_of_a_horizon_of_10_12_steps_is_refused_with_the_limit():
    message = assert_refused(lambda: S.WarmupCosine(1e-3, 10**12), "total_steps")
    assert "must be <= 2147483647" in message
    assert message.endswith("Received: total_steps=1000000000000")


def test_one_cycle_may_end_exactly_at_the_last_exact_step():
    # Its last step is total_steps - 1: 2**31 steps end at 2**31 - 1.
    S.OneCycle(1.0, 2**31)
    assert_refused(lambda: S.OneCycle(1.0, 2**31 + 1), "total_steps", "2147483648")


def test_a_horizon_at_the_limit_is_exact():
    # Half-way through a cosine over 2**31 - 1 steps, and its end.
    schedule = S.WarmupCosine(1.0, LIMIT, min_lr=0.0)
    t = 2**30
    expected = 0.5 * (1 + math.cos(math.pi * t / LIMIT))
    np.testing.assert_allclose(schedule.values([t, LIMIT]), [expected, 0.0], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(
        S.Piecewise([LIMIT], [1.0, 0.5]).values([LIMIT - 1, LIMIT]), [1.0, 0.5]
    )


# ---------------------------------------------------------------- cycles shorter than a step
def test_cosine_cycles_shorter_than_one_step_are_refused_with_their_length():
    message = assert_refused(
        lambda: S.WarmupCosine(1e-3, total_steps=100, cycles=10**6), "cycles"
    )
    assert "0.0001 steps" in message  # 100 / 10**6


@pytest.mark.parametrize(
    "cycle_mul, shortest",
    [
        # Growing cycles: the first is 100 * (10 - 1) / (10**5 - 1) = 0.0090 steps.
        (10.0, 100 * 9 / (10**5 - 1)),
        # Shrinking cycles: the last is 100 * 0.9 * 0.1**4 / (1 - 0.1**5) = 0.0090 steps.
        (0.1, 100 * 0.9 * 0.1**4 / (1 - 0.1**5)),
    ],
)
def test_a_cycle_mul_that_shrinks_a_cycle_below_one_step_is_refused(cycle_mul, shortest):
    message = assert_refused(
        lambda: S.WarmupCosine(1e-3, 100, cycles=5, cycle_mul=cycle_mul), "cycles"
    )
    assert f"{shortest:.3g} steps" in message


def test_a_cycle_mul_too_large_for_float64_is_refused_not_an_overflow():
    # cycle_mul**cycles overflows float64; the first cycle would be ~1e-300 steps.
    assert_refused(lambda: S.WarmupCosine(1e-3, 1000, cycles=3, cycle_mul=1e200), "cycles")


def test_a_decay_shorter_than_one_step_is_refused():
    assert_refused(
        lambda: S.WarmupCosine(1e-3, total_steps=10.5, warmup_steps=10), "total_steps", "0.5"
    )


def test_cycles_of_exactly_one_step_are_accepted():
    # Three cycles of one step each: each step is a peak.
    np.testing.assert_allclose(
        S.WarmupCosine(1.0, 3, min_lr=0.1, cycles=3).values([0, 1, 2, 3]), [1.0, 1.0, 1.0, 0.1]
    )


@pytest.mark.parametrize("name", ["step_size", "step_size_down"])
def test_a_cyclic_half_cycle_under_one_step_is_refused(name):
    # With step_size=0.5 every step starts a cycle: the LR would stay at base_lr.
    kwargs = {"step_size": 2, name: 0.5}
    assert_refused(lambda: S.Cyclic(0.1, 1.0, **kwargs), name, ">= 1")
    assert_refused(lambda: keras_lr.CyclicLR(0.1, 1.0, **kwargs), name, ">= 1")


# ---------------------------------------------------------------- float32 learning rates
@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: S.Constant(1e39), "value"),
        (lambda: S.Piecewise([5], [1e-3, 1e300]), "values"),
        (lambda: S.WarmupCosine(1e300, 100), "peak_lr"),
        (lambda: S.Cyclic(1e-3, 1e40), "max_lr"),
        (lambda: S.Exponential(1e39, 0.5), "initial_lr"),
        (lambda: S.Polynomial(1e-3, 100, end_lr=1e39), "end_lr"),
        (lambda: S.Polynomial(1e-3, 100, power=1e300), "power"),
        # The initial LR max_lr / div_factor = 1e-3 / 1e-300.
        (lambda: S.OneCycle(1e-3, 100, div_factor=1e-300), "div_factor"),
        (lambda: S.OneCycle(1e-3, 100, final_div_factor=1e-300), "final_div_factor"),
        (lambda: keras_lr.WarmupCosineLR(1e39, 100), "peak_lr"),
    ],
)
def test_a_learning_rate_past_float32_is_refused(make, name):
    # float32(1e39) is inf: the optimizer would train with an infinite LR.
    with np.errstate(over="ignore"):
        assert np.isinf(np.float32(1e39))
    assert_refused(make, name, "3.4028235e+38")


# ---------------------------------------------------------------- NaN, inf or negative LRs in a fit
def one_weight_model(learning_rate=0.1):
    """loss = w (x = 1) with plain SGD: each update moves w by exactly -lr."""
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss=lambda y, p: ops.mean(p)
    )
    return model


def data(n=4):
    return np.ones((n, 1), "float32"), np.zeros((n, 1), "float32")


def decreasing(t):
    """0.1 - 0.01 t: negative from step 11 on."""
    return 0.1 - 0.01 * t


def log_of_step_minus_5(t):
    """log(t - 5): NaN before step 5, -inf at it (for a float or an integer step)."""
    return ops.log(ops.cast(t, "float32") - 5.0)


def fit(model, callback, epochs, n=4):
    x, y = data(n)
    return model.fit(x, y, batch_size=1, epochs=epochs, shuffle=False, verbose=0, callbacks=[callback])


@pytest.mark.parametrize(
    "schedule, fragment",
    [
        (S.Lambda(decreasing), "at step 11"),
        (S.Lambda(decreasing, base_lr=1.0), "at step 11"),
        (log_of_step_minus_5, "lr=nan at step 0"),
        (S.Warmup(S.Lambda(decreasing), warmup_steps=2), "at step 13"),
        (S.Scaled(log_of_step_minus_5, factor=0.5), "lr=nan at step 0"),
    ],
    ids=["lambda", "lambda-base-lr", "function", "warmup-of-lambda", "scaled-function"],
)
def test_a_schedule_with_a_bad_lr_during_the_fit_is_refused_before_training(schedule, fragment):
    model = one_weight_model()
    model.optimizer.build(model.trainable_variables)
    with pytest.raises(ValueError) as error:
        fit(model, keras_lr.ScheduleCallback(schedule), epochs=4)  # 16 steps
    message = str(error.value)
    assert "Argument `schedule` must give a finite learning rate >= 0" in message, message
    assert fragment in message, message
    assert "ScheduleCallback" in message
    # Nothing trained: the weight and the optimizer's step are as they were.
    assert float(ops.convert_to_numpy(model.trainable_variables[0])[0, 0]) == 0.0
    assert int(ops.convert_to_numpy(model.optimizer.iterations)) == 0
    # The optimizer's own LR is still the user's: one plain step moves w by -0.1.
    fit(model, keras.callbacks.Callback(), epochs=1, n=1)
    assert float(ops.convert_to_numpy(model.trainable_variables[0])[0, 0]) == pytest.approx(-0.1)


def test_only_the_steps_of_this_fit_are_checked():
    # Negative from step 11: a fit of steps 0..7 runs, each update at 0.1 - 0.01 t.
    model = one_weight_model()
    callback = keras_lr.ScheduleCallback(S.Lambda(decreasing))
    fit(model, callback, epochs=2)  # steps 0..7
    w = float(ops.convert_to_numpy(model.trainable_variables[0])[0, 0])
    assert w == pytest.approx(-sum(0.1 - 0.01 * t for t in range(8)), rel=1e-5)
    # The next fit starts at the optimizer's step 8: steps 8..11 reach the negative LR.
    with pytest.raises(ValueError, match="at step 11"):
        fit(model, callback, epochs=1)
    assert float(ops.convert_to_numpy(model.trainable_variables[0])[0, 0]) == pytest.approx(w)


def test_the_check_starts_at_the_optimizer_step():
    model = one_weight_model()
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(100)
    # Negative from step 107 on: the fit of steps 100..103 runs; the next one, of
    # steps 104..111, is refused (a check from step 0 would see only positive LRs).
    schedule = S.Lambda(lambda t: 0.5325 - 0.005 * t)
    fit(model, keras_lr.ScheduleCallback(schedule), epochs=1)
    with pytest.raises(ValueError, match="at step 107"):
        fit(model, keras_lr.ScheduleCallback(schedule), epochs=2)


def test_an_epoch_schedule_is_checked_over_the_epochs_of_the_fit():
    def per_epoch(epoch):
        return 0.3 - 0.1 * epoch  # negative from epoch 4 on

    model = one_weight_model()
    callback = keras_lr.ScheduleCallback(per_epoch, unit="epoch")
    fit(model, callback, epochs=3, n=1)  # epochs 0, 1, 2: LRs 0.3, 0.2, 0.1
    assert float(ops.convert_to_numpy(model.trainable_variables[0])[0, 0]) == pytest.approx(-0.6)
    with pytest.raises(ValueError, match="at step 4"):
        fit(model, keras_lr.ScheduleCallback(per_epoch, unit="epoch"), epochs=5, n=1)


def test_check_lr_values_samples_a_long_fit_with_its_ends():
    # NaN only at the very last step of a 10**6-step fit: the last step is always checked.
    last = 10**6 - 1
    schedule = S.Lambda(lambda t: ops.where(t >= last, math.nan, 0.1))
    with pytest.raises(ValueError, match=f"at step {last}"):
        S.check_lr_values(schedule, np.arange(10**6), "test")
    S.check_lr_values(schedule, np.arange(last), "test")


def test_check_lr_values_handles_a_schedule_of_a_scalar_step():
    # Keras' CosineDecay with warmup takes one scalar step at a time.
    schedule = keras.optimizers.schedules.CosineDecay(0.0, 100, warmup_target=0.1, warmup_steps=10)
    S.check_lr_values(schedule, np.arange(1000), "test")
    # Negative from its start (-0.1), and after its decay (alpha * target = -0.05): of
    # the steps checked (0, 500 and 999), 500 and 999.
    negative_start = keras.optimizers.schedules.CosineDecay(
        -0.1, 100, warmup_target=0.1, warmup_steps=10
    )
    with pytest.raises(ValueError, match="lr=-0.1"):
        S.check_lr_values(negative_start, np.arange(1000), "test")
    negative_end = keras.optimizers.schedules.CosineDecay(
        0.0, 100, alpha=-0.5, warmup_target=0.1, warmup_steps=10
    )
    with pytest.raises(ValueError, match="lr=-0.05.* at step 500 .*2 of the 3 steps"):
        S.check_lr_values(negative_end, np.arange(1000), "test")
