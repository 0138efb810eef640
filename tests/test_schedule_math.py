"""The schedule formulas against independent oracles, in graphs, and as properties.

Every expected value comes from outside keras_lr: a PyTorch scheduler stepped
on a dummy parameter, a Keras built-in schedule, or a float64 closed form
written out in the test. Step `t` of ours is compared with the LR that PyTorch
uses for update `t` (read from `param_groups` before `scheduler.step()`).
"""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np
import pytest
import torch
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from keras import ops

from keras_lr import schedule_math
from keras_lr import schedules as S

RTOL = 1e-5
ATOL = 1e-7
HUGE_STEP = 2**31
# Every oracle comparison runs over the same number of steps: one array shape,
# so JAX compiles each op once for the whole module.
N = 4000
T = np.arange(N)
TORCH_SCHED = torch.optim.lr_scheduler


# --------------------------------------------------------------------------- oracles


def torch_lrs(make_scheduler, num_steps, lr=1.0):
    """The LR a PyTorch scheduler uses for each of the first `num_steps` updates."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = make_scheduler(optimizer)
        out = []
        for _ in range(num_steps):
            out.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
    return np.asarray(out, dtype=np.float64)


def keras_builtin_values(schedule, steps):
    """Evaluates a Keras built-in schedule at each step, one step at a time.

    Keras' `CosineDecay` with warmup branches with `ops.cond`, so it only takes
    a scalar step: it is mapped over the steps (vectorized where the backend
    can, to keep the test fast).
    """
    steps = np.asarray(steps, dtype=np.int64)
    backend = keras.config.backend()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        out = jax.vmap(schedule)(jnp.asarray(steps, dtype=jnp.int32))
    elif backend == "tensorflow":
        import tensorflow as tf

        out = tf.vectorized_map(schedule, tf.constant(steps))
    else:
        return np.asarray([ops.convert_to_numpy(schedule(int(s))) for s in steps], np.float64)
    return np.asarray(ops.convert_to_numpy(out), dtype=np.float64)


def keras_vector_values(schedule, steps):
    """Evaluates a branch-free Keras built-in schedule on a vector of steps."""
    steps = ops.convert_to_tensor(np.asarray(steps, dtype=np.float32))
    return np.asarray(ops.convert_to_numpy(schedule(steps)), dtype=np.float64)


def cyclic_reference(t, base_lr, max_lr, up, down, scale_fn, scale_mode):
    """PyTorch's CyclicLR closed form, in float64."""
    t = np.asarray(t, dtype=np.float64)
    total = up + down
    ratio = up / total
    cycle = np.floor(1 + t / total)
    x = 1.0 + t / total - cycle
    height = np.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
    z = cycle if scale_mode == "cycle" else t
    return base_lr + (max_lr - base_lr) * height * scale_fn(z)


def warmup_hold_cosine_reference(
    t, peak_lr, total_steps, warmup_steps, warmup_start_lr, hold_steps, min_lr, cycles,
    cycle_mul, peak_mul,
):
    """The WarmupCosine spec, written out step by step in float64."""
    decay = total_steps - warmup_steps - hold_steps
    if cycle_mul == 1:
        lengths = [decay / cycles] * cycles
    else:
        first = decay * (cycle_mul - 1) / (cycle_mul**cycles - 1)
        lengths = [first * cycle_mul**i for i in range(cycles)]
    starts = np.concatenate([[0.0], np.cumsum(lengths)])
    assert math.isclose(starts[-1], decay)
    out = []
    for s in np.asarray(t, dtype=np.float64):
        if s < warmup_steps:
            out.append(warmup_start_lr + (peak_lr - warmup_start_lr) * s / warmup_steps)
        elif s < warmup_steps + hold_steps:
            out.append(peak_lr)
        elif s >= total_steps:
            out.append(min_lr)
        else:
            u = s - warmup_steps - hold_steps
            i = min(int(np.searchsorted(starts, u, side="right")) - 1, cycles - 1)
            f = (u - starts[i]) / lengths[i]
            peak = peak_lr * peak_mul**i
            out.append(min_lr + (peak - min_lr) * 0.5 * (1 + math.cos(math.pi * f)))
    return np.asarray(out)


def assert_lr_close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------- Cyclic


@pytest.mark.parametrize(
    "mode, gamma, torch_gamma",
    [("triangular", 1.0, 1.0), ("triangular2", 1.0, 1.0), ("exp_range", 0.9995, 0.9995)],
)
def test_cyclic_modes_match_torch(mode, gamma, torch_gamma):
    expected = torch_lrs(
        lambda opt: TORCH_SCHED.CyclicLR(
            opt, base_lr=0.1, max_lr=0.6, step_size_up=300, mode=mode, gamma=torch_gamma,
            cycle_momentum=False,
        ),
        N,
    )
    schedule = S.Cyclic(0.1, 0.6, step_size=300, mode=mode, gamma=gamma)
    assert_lr_close(schedule.values(T), expected)


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic_asymmetric_matches_torch(mode):
    """An up half of 150 steps and a down half of 450 steps (`step_size_down`)."""
    gamma = 0.9995 if mode == "exp_range" else 1.0
    expected = torch_lrs(
        lambda opt: TORCH_SCHED.CyclicLR(
            opt, base_lr=0.1, max_lr=0.6, step_size_up=150, step_size_down=450, mode=mode,
            gamma=gamma, cycle_momentum=False,
        ),
        N,
    )
    schedule = S.Cyclic(0.1, 0.6, step_size=150, step_size_down=450, mode=mode, gamma=gamma)
    assert_lr_close(schedule.values(T), expected)


def _half_sine(x):
    return 0.5 * (1 + ops.sin(x * math.pi / 2))


def _slow_cosine(x):
    # A function of the global step: its float32 argument stays well conditioned.
    return 0.5 * (1 + ops.cos(x * math.pi / 12000))


@pytest.mark.parametrize(
    "scale_mode, ours, theirs",
    [
        ("cycle", _half_sine, lambda x: 0.5 * (1 + math.sin(x * math.pi / 2))),
        ("iterations", _slow_cosine, lambda x: 0.5 * (1 + math.cos(x * math.pi / 12000))),
    ],
)
def test_cyclic_scale_fn_matches_torch(scale_mode, ours, theirs):
    expected = torch_lrs(
        lambda opt: TORCH_SCHED.CyclicLR(
            opt, base_lr=0.1, max_lr=0.6, step_size_up=250, step_size_down=250, scale_fn=theirs,
            scale_mode=scale_mode, cycle_momentum=False,
        ),
        N,
    )
    # `mode` is ignored when a scale_fn is given, as in PyTorch.
    schedule = S.Cyclic(
        0.1, 0.6, step_size=250, mode="triangular2", scale_fn=ours, scale_mode=scale_mode
    )
    assert_lr_close(schedule.values(T), expected)


def test_cyclic_keeps_precision_at_large_steps():
    """Steps around one million (exact in float32) against the float64 closed form.

    The textbook phase `x = 1 + t / T - cycle` loses digits in float32 as `t / T`
    grows (1e-3 relative error at this step); the position inside the cycle
    must stay exact for integer steps below 2**24.
    """
    steps = 10**6 + T
    expected = cyclic_reference(steps, 0.1, 0.6, 150, 450, np.ones_like, "cycle")
    schedule = S.Cyclic(0.1, 0.6, step_size=150, step_size_down=450)
    assert_lr_close(schedule.values(steps), expected)


# --------------------------------------------------------------------------- WarmupCosine


@pytest.mark.parametrize(
    "peak_lr, warmup_steps, warmup_start_lr, decay_steps, min_lr",
    [(0.8, 300, 0.02, 3200, 0.05), (2.5, 1000, 0.4, 2000, 0.3)],
)
def test_warmup_cosine_matches_keras_cosine_decay(
    peak_lr, warmup_steps, warmup_start_lr, decay_steps, min_lr
):
    total = warmup_steps + decay_steps
    assert total + 400 <= N  # past total_steps too
    reference = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=warmup_start_lr,
        decay_steps=decay_steps,
        alpha=min_lr / peak_lr,
        warmup_target=peak_lr,
        warmup_steps=warmup_steps,
    )
    schedule = S.WarmupCosine(
        peak_lr, total, warmup_steps=warmup_steps, warmup_start_lr=warmup_start_lr, min_lr=min_lr
    )
    assert_lr_close(schedule.values(T), keras_builtin_values(reference, T))


@pytest.mark.parametrize("cycle_mul, cycles", [(1, 7), (2, 3)])
def test_warmup_cosine_restarts_match_torch(cycle_mul, cycles):
    first, peak_lr, min_lr = 500, 0.7, 0.04
    if cycle_mul == 1:
        total = first * cycles
    else:
        total = first * (cycle_mul**cycles - 1) // (cycle_mul - 1)
    expected = torch_lrs(
        lambda opt: TORCH_SCHED.CosineAnnealingWarmRestarts(
            opt, T_0=first, T_mult=cycle_mul, eta_min=min_lr
        ),
        total,
        lr=peak_lr,
    )
    schedule = S.WarmupCosine(peak_lr, total, min_lr=min_lr, cycles=cycles, cycle_mul=cycle_mul)
    got = schedule.values(T)
    assert_lr_close(got[:total], expected)
    assert_lr_close(got[total:], np.full(N - total, min_lr))  # after total_steps
    # Each restart goes back to the peak exactly at the cycle boundary.
    starts = np.cumsum([0] + [first * cycle_mul**i for i in range(cycles - 1)])
    assert_lr_close(got[starts], np.full(cycles, peak_lr))


def test_warmup_hold_cosine_restarts_match_closed_form():
    kwargs = dict(
        peak_lr=0.8, total_steps=3600, warmup_steps=250, warmup_start_lr=0.03, hold_steps=150,
        min_lr=0.04, cycles=3, cycle_mul=1.5, peak_mul=0.5,
    )
    expected = warmup_hold_cosine_reference(T, **kwargs)
    assert_lr_close(S.WarmupCosine(**kwargs).values(T), expected)
    # The same function of schedule_math directly.
    got = ops.convert_to_numpy(schedule_math.warmup_hold_cosine(T.astype("float32"), **kwargs))
    assert_lr_close(got, expected)


@pytest.mark.parametrize("cycle_mul", [1.01, 0.99])
def test_warmup_cosine_cycle_mul_close_to_one_matches_closed_form(cycle_mul):
    """Restarts land where the float64 geometric series puts them, also for `cycle_mul ~ 1`.

    `(cycle_mul**i - 1) / (cycle_mul - 1)` cancels in float32 when `cycle_mul`
    is close to 1, which moves the restarts by several steps.
    """
    kwargs = dict(
        peak_lr=1.0, total_steps=100_000, warmup_steps=0, warmup_start_lr=0.0, hold_steps=0,
        min_lr=0.01, cycles=5, cycle_mul=cycle_mul, peak_mul=1.0,
    )
    steps = 25 * T  # 0 .. 99_975
    expected = warmup_hold_cosine_reference(steps, **kwargs)
    assert_lr_close(S.WarmupCosine(**kwargs).values(steps), expected)


def test_warmup_starts_at_warmup_start_lr():
    """Step 0 is `warmup_start_lr` to float32 precision, even when it is tiny.

    `(start - peak) * 1 + peak` cancels in float32 when `start << peak`.
    """
    for start, peak in [(1e-6, 1.0), (1e-5, 1e-2)]:
        schedule = S.WarmupCosine(peak, 1000, warmup_steps=100, warmup_start_lr=start)
        assert_lr_close(schedule.values(T)[0], start, rtol=1e-6, atol=0)


def test_warmup_cosine_stays_above_min_lr():
    """`min_lr` is the floor of every cycle, also when `peak_mul` shrinks a peak below it.

    Cycle 2 of 3 peaks at 1.0 * 0.5**2 = 0.25 < min_lr = 0.3: the LR must not
    dip below min_lr (the bound of test_warmup_cosine_bounds).
    """
    schedule = S.WarmupCosine(1.0, 300, min_lr=0.3, cycles=3, peak_mul=0.5)
    got = schedule.values(T)
    assert got.min() >= 0.3 * (1 - 1e-6), (got.argmin(), got.min())


# --------------------------------------------------------------------------- exponential / step


def test_exponential_decay_matches_torch_exponential_lr():
    expected = torch_lrs(lambda opt: TORCH_SCHED.ExponentialLR(opt, gamma=0.999), N, lr=0.7)
    for staircase in (False, True):  # the same at integer steps when decay_steps=1
        schedule = S.Exponential(0.7, 0.999, decay_steps=1, staircase=staircase)
        assert_lr_close(schedule.values(T), expected)


def test_exponential_decay_staircase_matches_torch_step_lr():
    expected = torch_lrs(lambda opt: TORCH_SCHED.StepLR(opt, step_size=250, gamma=0.7), N, 0.7)
    schedule = S.Exponential(0.7, 0.7, decay_steps=250, staircase=True)
    assert_lr_close(schedule.values(T), expected)


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay_matches_keras(staircase):
    reference = keras.optimizers.schedules.ExponentialDecay(
        0.9, decay_steps=170, decay_rate=0.8, staircase=staircase
    )
    schedule = S.Exponential(0.9, 0.8, decay_steps=170, staircase=staircase)
    assert_lr_close(schedule.values(T), keras_vector_values(reference, T))


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay_floor_matches_closed_form(staircase):
    p = np.floor(T / 170) if staircase else T / 170
    expected = np.maximum(0.02, 0.9 * 0.8**p)
    assert expected[0] > 0.02 and expected[-1] == 0.02  # the floor is reached
    schedule = S.Exponential(0.9, 0.8, decay_steps=170, min_lr=0.02, staircase=staircase)
    assert_lr_close(schedule.values(T), expected)


def test_step_decay_matches_torch_step_lr():
    expected = torch_lrs(lambda opt: TORCH_SCHED.StepLR(opt, step_size=300, gamma=0.6), N, 0.5)
    assert_lr_close(S.StepDecay(0.5, 300, 0.6).values(T), expected)
    # With a floor: PyTorch's values, clipped from below.
    floored = S.StepDecay(0.5, 300, 0.6, min_lr=0.004).values(T)
    assert_lr_close(floored, np.maximum(expected, 0.004))
    assert floored[-1] == pytest.approx(0.004)


def test_piecewise_matches_torch_multistep_lr():
    milestones = [100, 1000, 1001, 3000]
    expected = torch_lrs(
        lambda opt: TORCH_SCHED.MultiStepLR(opt, milestones=milestones, gamma=0.3), N, lr=0.7
    )
    schedule = S.Piecewise(milestones, [0.7 * 0.3**k for k in range(5)])
    got = schedule.values(T)
    assert_lr_close(got, expected)
    # The value changes AT each boundary, not one step later.
    for k, b in enumerate(milestones):
        assert got[b - 1] == pytest.approx(0.7 * 0.3**k, rel=1e-6)
        assert got[b] == pytest.approx(0.7 * 0.3 ** (k + 1), rel=1e-6)


# --------------------------------------------------------------------------- polynomial


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
@pytest.mark.parametrize("initial_lr, end_lr", [(0.9, 0.05), (0.01, 0.4)])
def test_polynomial_matches_keras_polynomial_decay(power, initial_lr, end_lr):
    reference = keras.optimizers.schedules.PolynomialDecay(
        initial_lr, 3000, end_learning_rate=end_lr, power=power, cycle=False
    )
    schedule = S.Polynomial(initial_lr, 3000, end_lr=end_lr, power=power)
    got = schedule.values(T)
    # Keras computes `1 - t / D` in float32, which cancels in the last steps
    # (where `(1 - t / D) ** 0.5` amplifies it): there the float64 form decides.
    assert_lr_close(got[:2990], keras_vector_values(reference, T)[:2990])
    closed = (initial_lr - end_lr) * (1 - np.minimum(T, 3000) / 3000) ** power + end_lr
    assert_lr_close(got, closed, rtol=2e-6, atol=0)


# --------------------------------------------------------------------------- one cycle


@pytest.mark.parametrize("anneal_strategy", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_matches_torch(anneal_strategy, three_phase):
    total, max_lr, div, final_div = 3500, 0.9, 20.0, 50.0
    expected = torch_lrs(
        lambda opt: TORCH_SCHED.OneCycleLR(
            opt, max_lr=max_lr, total_steps=total, pct_start=0.25,
            anneal_strategy=anneal_strategy, div_factor=div, final_div_factor=final_div,
            three_phase=three_phase, cycle_momentum=False,
        ),
        total,
    )
    schedule = S.OneCycle(max_lr, total, 0.25, anneal_strategy, div, final_div, three_phase)
    got = schedule.values(T)
    assert_lr_close(got[:total], expected)
    # PyTorch raises past total_steps; ours holds the final value.
    final = max_lr / div / final_div
    assert_lr_close(got[total:], np.full(N - total, final))


def test_constant():
    steps = np.array([0, 1, 17, 4999, 10**6, HUGE_STEP])
    assert_lr_close(S.Constant(0.037).values(steps), np.full(steps.shape, 0.037))


# --------------------------------------------------------------------------- composition


def test_join_matches_shifted_oracles():
    n, b1, b2 = N, 1200, 3000
    step_lr = torch_lrs(lambda opt: TORCH_SCHED.StepLR(opt, step_size=300, gamma=0.6), b1, 0.5)
    cyclic = torch_lrs(
        lambda opt: TORCH_SCHED.CyclicLR(
            opt, base_lr=0.05, max_lr=0.4, step_size_up=200, mode="triangular2",
            cycle_momentum=False,
        ),
        b2 - b1,
    )
    poly = keras.optimizers.schedules.PolynomialDecay(0.3, 1500, end_learning_rate=0.01, power=2)
    expected = np.concatenate([step_lr, cyclic, keras_vector_values(poly, np.arange(n - b2))])
    joined = S.Join(
        [S.StepDecay(0.5, 300, 0.6), S.Cyclic(0.05, 0.4, 200, mode="triangular2"), poly],
        [b1, b2],
    )
    got = joined.values(np.arange(n))
    assert_lr_close(got, expected)
    # Each piece starts at its own step 0, at the boundary.
    assert got[b1] == pytest.approx(0.05, rel=1e-6)
    assert got[b2] == pytest.approx(0.3, rel=1e-6)


def test_warmup_ramps_to_the_inner_schedule_then_shifts_it():
    n, w, start = N, 400, 0.01
    inner = torch_lrs(lambda opt: TORCH_SCHED.StepLR(opt, step_size=250, gamma=0.7), n - w, 0.5)
    t = np.arange(n)
    expected = np.where(t < w, start + (inner[0] - start) * t / w, inner[np.maximum(t - w, 0)])
    got = S.Warmup(S.StepDecay(0.5, 250, 0.7), w, start_lr=start).values(t)
    assert_lr_close(got, expected)


def test_warmup_around_a_keras_schedule():
    n, w, start = N, 300, 0.02
    inner = keras.optimizers.schedules.ExponentialDecay(0.3, decay_steps=100, decay_rate=0.95)
    t = np.arange(n)
    decayed = 0.3 * 0.95 ** (np.maximum(t - w, 0) / 100)
    expected = np.where(t < w, start + (0.3 - start) * t / w, decayed)
    assert_lr_close(S.Warmup(inner, w, start_lr=start).values(t), expected)


def test_warmup_and_join_functions_directly():
    t = T.astype("float32")
    inner = torch_lrs(lambda opt: TORCH_SCHED.ExponentialLR(opt, gamma=0.998), N, 0.4)

    def decay(s):
        return schedule_math.exponential(s, 0.4, 0.998)

    got = schedule_math.warmup(t, decay, 200, 0.05)
    shifted = inner[np.maximum(t - 200, 0).astype(int)]
    expected = np.where(t < 200, 0.05 + (0.4 - 0.05) * t / 200, shifted)
    assert_lr_close(ops.convert_to_numpy(got), expected)
    got = schedule_math.shift(t, decay, 500)
    assert_lr_close(ops.convert_to_numpy(got), inner[np.maximum(t - 500, 0).astype(int)])


# --------------------------------------------------------------------------- range test ramp


@pytest.mark.parametrize("start_lr, end_lr, num_steps", [(1e-7, 10.0, 100), (1e-5, 1.0, 3500)])
def test_range_test_ramp_exponential(start_lr, end_lr, num_steps):
    i = T
    got = ops.convert_to_numpy(
        schedule_math.range_test_ramp(i, start_lr, end_lr, num_steps, "exponential")
    )
    expected = start_lr * (end_lr / start_lr) ** (np.minimum(i, num_steps - 1) / (num_steps - 1))
    assert_lr_close(got, expected, atol=0)
    assert got[0] == pytest.approx(start_lr, rel=1e-6)
    assert got[num_steps - 1] == pytest.approx(end_lr, rel=1e-6)
    assert_lr_close(got[num_steps:], np.full(N - num_steps, end_lr), rtol=1e-6, atol=0)  # clamped


@pytest.mark.parametrize("start_lr, end_lr, num_steps", [(1e-2, 1.0, 3500), (1e-5, 10.0, 200)])
def test_range_test_ramp_linear(start_lr, end_lr, num_steps):
    i = T
    got = ops.convert_to_numpy(
        schedule_math.range_test_ramp(i, start_lr, end_lr, num_steps, "linear")
    )
    expected = start_lr + (end_lr - start_lr) * np.minimum(i, num_steps - 1) / (num_steps - 1)
    assert_lr_close(got, expected)
    assert got[num_steps - 1] == pytest.approx(end_lr, rel=1e-6)
    assert_lr_close(got[num_steps:], np.full(N - num_steps, end_lr), rtol=1e-6, atol=0)  # clamped
    assert got[0] == pytest.approx(start_lr, rel=1e-6)


# --------------------------------------------------------------------------- in-graph use


def _graph_schedules():
    return {
        "warmup_cosine": S.WarmupCosine(
            0.8, 3000, warmup_steps=200, warmup_start_lr=0.01, hold_steps=100, min_lr=0.02,
            cycles=2, cycle_mul=1.5, peak_mul=0.5,
        ),
        "cyclic_fn": S.Cyclic(0.1, 0.6, 250, scale_fn=_half_sine),
        "exp_range": S.Cyclic(0.1, 0.6, 250, mode="exp_range", gamma=0.999),
        "one_cycle": S.OneCycle(0.9, 2000, three_phase=True),
        "piecewise": S.Piecewise([5, 300], [0.3, 0.2, 0.1]),
        "warmup_join": S.Warmup(
            S.Join([S.StepDecay(0.5, 300, 0.6), S.Polynomial(0.2, 500, 0.01, 2.0)], [900]), 100
        ),
    }


GRAPH_STEPS = [0, 7, 300, 1234, 4000]


@pytest.mark.parametrize("name", sorted(_graph_schedules()))
def test_step_as_variable_and_tensor(name):
    schedule = _graph_schedules()[name]
    expected = schedule.values(GRAPH_STEPS)
    # Keras' optimizer counts steps in an int64 variable (int32 under JAX without x64).
    step_dtype = "int32" if keras.config.backend() == "jax" else "int64"
    step_var = keras.Variable(0, dtype=step_dtype, trainable=False)
    for step, want in zip(GRAPH_STEPS, expected):
        step_var.assign(step)
        assert_lr_close(ops.convert_to_numpy(schedule(step_var)), want, rtol=1e-6, atol=0)
        for dtype in (step_dtype, "int32", "float32"):
            tensor = ops.convert_to_tensor(step, dtype=dtype)
            assert_lr_close(ops.convert_to_numpy(schedule(tensor)), want, rtol=1e-6, atol=0)


@pytest.mark.backends("tensorflow")
@pytest.mark.parametrize("name", sorted(_graph_schedules()))
def test_inside_tf_function(name):
    import tensorflow as tf

    schedule = _graph_schedules()[name]
    expected = schedule.values(GRAPH_STEPS)
    step_var = tf.Variable(0, dtype=tf.int64)

    @tf.function
    def lr_at(step):
        step_var.assign(step)
        return schedule(step_var)

    for step, want in zip(GRAPH_STEPS, expected):
        assert_lr_close(lr_at(tf.constant(step, tf.int64)).numpy(), want, rtol=1e-6, atol=0)
    traced = tf.function(schedule)(tf.constant(GRAPH_STEPS, tf.int64))
    assert_lr_close(traced.numpy(), expected, rtol=1e-6, atol=0)


@pytest.mark.backends("jax")
@pytest.mark.parametrize("name", sorted(_graph_schedules()))
def test_inside_jax_jit(name):
    import jax
    import jax.numpy as jnp

    schedule = _graph_schedules()[name]
    expected = schedule.values(GRAPH_STEPS)
    jitted = jax.jit(schedule)
    for step, want in zip(GRAPH_STEPS, expected):
        assert_lr_close(np.asarray(jitted(jnp.int32(step))), want, rtol=1e-6, atol=0)
    assert_lr_close(np.asarray(jitted(jnp.asarray(GRAPH_STEPS))), expected, rtol=1e-6, atol=0)
    assert_lr_close(np.asarray(jax.vmap(schedule)(jnp.asarray(GRAPH_STEPS))), expected, 1e-6, 0)


# --------------------------------------------------------------------------- huge steps


def _huge_step_cases():
    """(schedule, expected value far past its end, computed by hand)."""
    return [
        (S.Constant(0.1), 0.1),
        (S.Exponential(0.5, 0.9, 10, min_lr=0.01, staircase=False), 0.01),
        (S.Exponential(0.5, 0.9, 10, min_lr=0.01, staircase=True), 0.01),
        (S.StepDecay(0.5, 100, 0.5, min_lr=0.001), 0.001),
        (S.Polynomial(0.5, 100, end_lr=0.02, power=0.5), 0.02),
        (S.Piecewise([10, 20], [0.3, 0.2, 0.1]), 0.1),
        (S.WarmupCosine(1.0, 1000, 100, 0.1, 50, 0.01, 3, 1.5, 0.5), 0.01),
        (S.OneCycle(1.0, 100, div_factor=25, final_div_factor=1e4), 1.0 / 25 / 1e4),
        (S.Warmup(S.StepDecay(0.5, 100, 0.5, min_lr=0.003), 10, 0.01), 0.003),
        (S.Join([S.Constant(0.1), S.Polynomial(0.5, 10, 0.2)], [5]), 0.2),
    ]


@pytest.mark.parametrize("case", range(10))
def test_huge_step_reaches_the_end_value(case):
    schedule, end = _huge_step_cases()[case]
    steps = np.array([HUGE_STEP - 1, HUGE_STEP, 2**32, 2**40], dtype=np.int64)
    assert_lr_close(schedule.values(steps), np.full(4, end), rtol=1e-6, atol=0)
    assert_lr_close(ops.convert_to_numpy(schedule(HUGE_STEP)), end, rtol=1e-6, atol=0)


@pytest.mark.skipif(not hasattr(S, "Lambda"), reason="no Lambda schedule")
def test_huge_step_lambda():
    schedule = S.Lambda(lambda t: ops.rsqrt(ops.maximum(t, 1.0)), base_lr=0.1)
    steps = np.array([HUGE_STEP - 1, HUGE_STEP, 2**32, 2**40], dtype=np.int64)
    assert_lr_close(schedule.values(steps), 0.1 / np.sqrt(steps.astype(np.float64)), 1e-6, 0)


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_huge_step_cyclic_is_finite_and_bounded(mode):
    schedule = S.Cyclic(0.1, 0.5, 7, mode=mode, gamma=0.99, step_size_down=5)
    # Up to 2**31 - 1 the steps are exact, past it they saturate: in range either way.
    steps = [356_621_649, 123_456_789, HUGE_STEP - 7, HUGE_STEP - 1, HUGE_STEP, 2**32, 2**40]
    got = schedule.values(np.array(steps, dtype=np.int64))
    assert np.all(np.isfinite(got))
    assert np.all((got >= 0.1 * (1 - 1e-6)) & (got <= 0.5 * (1 + 1e-6))), (steps, got)
    assert np.isfinite(ops.convert_to_numpy(schedule(HUGE_STEP)))


# --------------------------------------------------------------------------- properties

# Fixed-size lists: one array shape, so JAX compiles each op once.
# Steps of a real run (exact in float32) and anything up to 2**31.
STEPS = st.lists(
    st.integers(0, 2**20) | st.integers(0, HUGE_STEP), min_size=16, max_size=16
)
FRACTIONS = st.lists(st.floats(0.0, 1.0), min_size=16, max_size=16)
UNIT = st.floats(0.0, 1.0)
LR = st.floats(1e-5, 10.0)


@st.composite
def warmup_cosines(draw):
    peak = draw(LR)
    warmup = draw(st.integers(0, 2000))
    hold = draw(st.integers(0, 2000))
    cycles = draw(st.integers(1, 6))
    cycle_mul = draw(st.floats(0.5, 3.0))
    # Every cycle lasts at least one step (shorter cycles are refused).
    lengths = [cycle_mul**i for i in range(cycles)]
    decay = draw(st.integers(math.ceil(sum(lengths) / min(lengths) * (1 + 1e-12)), 10**6))
    return S.WarmupCosine(
        peak,
        warmup + hold + decay,
        warmup_steps=warmup,
        warmup_start_lr=peak * draw(UNIT),
        hold_steps=hold,
        min_lr=peak * draw(UNIT),
        cycles=cycles,
        cycle_mul=cycle_mul,
        peak_mul=draw(st.floats(0.05, 1.0)),
    )


@st.composite
def cyclics(draw, modes=("triangular", "triangular2", "exp_range")):
    base = draw(LR)
    return S.Cyclic(
        base,
        base * draw(st.floats(1.0, 100.0)),
        step_size=draw(st.integers(1, 5000)),
        mode=draw(st.sampled_from(modes)),
        gamma=draw(st.floats(0.9, 1.0)),
        step_size_down=draw(st.none() | st.integers(1, 5000)),
    )


@st.composite
def exponentials(draw):
    initial = draw(LR)
    return S.Exponential(
        initial,
        draw(st.floats(1e-3, 1.0)),
        decay_steps=draw(st.floats(1.0, 1e5)),
        min_lr=initial * draw(UNIT),
        staircase=draw(st.booleans()),
    )


@st.composite
def other_schedules(draw):
    lr = draw(LR)
    kind = draw(st.sampled_from(["constant", "step", "poly", "piecewise", "onecycle", "join"]))
    if kind == "constant":
        return S.Constant(lr)
    if kind == "step":
        return S.StepDecay(lr, draw(st.integers(1, 10**5)), draw(st.floats(0.01, 1.0)), lr * 0.01)
    if kind == "poly":
        power = draw(st.floats(0.1, 4.0))
        return S.Polynomial(lr, draw(st.integers(1, 10**6)), lr * draw(UNIT), power)
    if kind == "piecewise":
        bounds = sorted(set(draw(st.lists(st.integers(1, 10**7), min_size=1, max_size=5))))
        return S.Piecewise(bounds, [lr] * (len(bounds) + 1))
    if kind == "onecycle":
        return S.OneCycle(
            lr, draw(st.integers(100, 10**6)), draw(st.floats(0.05, 0.45)),
            draw(st.sampled_from(["cos", "linear"])), three_phase=draw(st.booleans()),
        )
    inner = S.Warmup(S.Cyclic(lr, 2 * lr, 100), draw(st.integers(1, 1000)), lr * draw(UNIT))
    return S.Join([inner, S.Exponential(lr, 0.5)], [draw(st.integers(1, 10**6))])


def _close_below(bound):
    return bound * (1 - 1e-6) - 1e-12


def _close_above(bound):
    return bound * (1 + 1e-6) + 1e-12


@settings(max_examples=40, deadline=None)
@given(st.one_of(warmup_cosines(), cyclics(), exponentials(), other_schedules()), STEPS)
def test_every_family_is_finite(schedule, steps):
    got = schedule.values(np.asarray(steps, dtype=np.int64))
    assert np.all(np.isfinite(got)), (schedule, steps, got)
    assert np.all(got >= 0)


@settings(max_examples=40, deadline=None)
@given(warmup_cosines(), STEPS)
@example(  # the restart peak 1.0 * 0.5 falls below min_lr: see the test below
    S.WarmupCosine(1.0, 3, warmup_start_lr=1.0, min_lr=1.0, cycles=2, peak_mul=0.5), [2] * 16
)
def test_warmup_cosine_bounds(schedule, steps):
    got = schedule.values(np.asarray(steps, dtype=np.int64))
    low = min(schedule.min_lr, schedule.warmup_start_lr)
    assert np.all(got >= _close_below(low)), (schedule, steps, got)
    assert np.all(got <= _close_above(schedule.peak_lr)), (schedule, steps, got)
    after_warmup = np.asarray(steps) >= schedule.warmup_steps
    assert np.all(got[after_warmup] >= _close_below(schedule.min_lr))


@settings(max_examples=40, deadline=None)
@given(cyclics(), STEPS)
@example(S.Cyclic(1.0, 2.0, 5), [356_621_649] * 16)  # a float32-rounded step above 2**24
def test_cyclic_bounds(schedule, steps):
    got = schedule.values(np.asarray(steps, dtype=np.int64))
    assert np.all(got >= _close_below(schedule.base_lr)), (schedule, steps, got)
    assert np.all(got <= _close_above(schedule.max_lr)), (schedule, steps, got)


@settings(max_examples=40, deadline=None)
@given(exponentials(), STEPS)
def test_exponential_decay_bounds_and_non_increasing(schedule, steps):
    steps = np.sort(np.asarray([0] + steps[1:], dtype=np.int64))
    got = schedule.values(steps)
    assert np.all(got >= _close_below(schedule.min_lr)), (schedule, steps, got)
    assert np.all(got <= _close_above(schedule.initial_lr)), (schedule, steps, got)
    assert got[0] == pytest.approx(schedule.initial_lr, rel=1e-6)
    assert np.all(np.diff(got) <= 0), (schedule, steps, got)


@settings(max_examples=40, deadline=None)
@given(warmup_cosines(), FRACTIONS)
def test_warmup_is_non_decreasing(schedule, fractions):
    steps = np.sort(np.round(np.asarray(fractions) * schedule.warmup_steps))
    got = schedule.values(steps)
    assert np.all(np.diff(got) >= 0), (schedule, steps, got)
    if schedule.warmup_steps > 0:
        assert schedule.values([schedule.warmup_steps])[0] == pytest.approx(schedule.peak_lr, 1e-6)


@settings(max_examples=40, deadline=None)
@given(warmup_cosines(), st.data())
def test_cosine_is_non_increasing_inside_a_cycle(schedule, data):
    s = schedule
    decay = s.total_steps - s.warmup_steps - s.hold_steps
    if s.cycle_mul == 1:
        lengths = [decay / s.cycles] * s.cycles
    else:
        first = decay * (s.cycle_mul - 1) / (s.cycle_mul**s.cycles - 1)
        lengths = [first * s.cycle_mul**i for i in range(s.cycles)]
    i = data.draw(st.integers(0, s.cycles - 1))
    start = s.warmup_steps + s.hold_steps + sum(lengths[:i])
    # Keep clear of the restarts by more than the float32 rounding of the steps.
    margin = max(1e-3 * lengths[i], 8 * float(np.spacing(np.float32(s.total_steps))))
    assume(lengths[i] > 4 * margin)
    fractions = data.draw(FRACTIONS)
    steps = np.sort(start + margin + np.asarray(fractions) * (lengths[i] - 2 * margin))
    got = s.values(steps)
    assert np.all(np.diff(got) <= 1e-6 * s.peak_lr), (s, i, steps, got)


@settings(max_examples=40, deadline=None)
@given(cyclics(modes=("triangular",)), STEPS)
def test_triangular_cyclic_is_periodic(schedule, steps):
    up = schedule.step_size
    down = schedule.step_size_down or up
    period = int(up + down)
    steps = np.asarray(steps, dtype=np.int64)
    steps = np.minimum(steps, HUGE_STEP - 1 - period)
    here = schedule.values(steps)
    there = schedule.values(steps + period)
    # Integer steps are exact up to 2**31 - 1: one period later is the same LR.
    tol = 1e-6 * schedule.max_lr
    assert np.all(np.abs(here - there) <= tol), (schedule, steps, here, there)



@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0, width=32), min_size=1, max_size=20),
    st.floats(1e-4, 1.0),
    st.floats(0.0, 0.5),
)
def test_scaled_is_the_plateau_reduction_closed_form(lrs, factor, min_lr):
    """`max(f * lr, min(lr, min_lr))`: scaled down, never below min_lr, never raised."""
    lr = np.asarray(lrs, "float32")
    got = np.asarray(ops.convert_to_numpy(schedule_math.scaled(ops.convert_to_tensor(lr), factor, min_lr)))
    lr64 = lr.astype("float64")
    expected = np.where(factor * lr64 >= min_lr, factor * lr64, np.minimum(lr64, min_lr))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)
    assert np.all(got <= lr * (1 + 1e-6))


# --------------------------------------------------------------------------- exact steps to 2**31 - 1
# A float32 step cannot hold 2**24 + 1 (it rounds to 2**24), nor 2**31 - 2 (it
# rounds to 2**31). Each case below is built so that such a rounding changes
# the LR by far more than the tolerance: a boundary, restart, phase end or
# cycle position sits exactly at one of these steps. The expected values are
# closed forms in Python integers and float64, written out by hand.

P24, P31 = 2**24, 2**31 - 1
LARGE_STEPS = [P24 - 1, P24, P24 + 1, P31 - 2, P31]


def _triangle(t, up, down):
    """The triangular height at integer step `t` (Python integers, exact)."""
    offset = t % (up + down)
    return offset / up if offset <= up else (up + down - offset) / down


def _one_cycle_reference(t, max_lr, total, pct, strategy, div, final_div, three_phase):
    """PyTorch's OneCycleLR formula in float64 (phase ends as PyTorch computes them)."""
    initial = max_lr / div
    final = initial / final_div
    if three_phase:
        phases = [
            (float(pct * total) - 1, initial, max_lr),
            (float(2 * pct * total) - 2, max_lr, initial),
            (total - 1, initial, final),
        ]
    else:
        phases = [(float(pct * total) - 1, initial, max_lr), (total - 1, max_lr, final)]
    t = min(t, total - 1)
    start = 0.0
    for end, a, b in phases:
        if t <= end:
            pct_phase = (t - start) / (end - start)
            if strategy == "cos":
                return b + (a - b) / 2 * (math.cos(math.pi * pct_phase) + 1)
            return (b - a) * pct_phase + a
        start = end
    return final


def _cosine(u, length, peak, min_lr):
    return min_lr + (peak - min_lr) * 0.5 * (1 + math.cos(math.pi * u / length))


def _large_step_cases():
    """name -> (schedule, closed form of the integer step, extra steps to check)."""
    cases = {}
    cases["constant"] = (S.Constant(0.1), lambda t: 0.1, [])
    # Staircase levels that start at 2**24 + 1 and at 127 * (2**24 + 1).
    d = P24 + 1
    cases["exponential_staircase"] = (
        S.Exponential(1.0, 0.9, decay_steps=d, staircase=True),
        lambda t: 0.9 ** (t // d),
        [127 * d - 1, 127 * d],
    )
    # Level 1 starts at the last step of the range.
    cases["exponential_staircase_last"] = (
        S.Exponential(1.0, 0.5, decay_steps=float(P31), staircase=True),
        lambda t: 0.5 ** (t // P31),
        [],
    )
    cases["exponential_smooth"] = (
        S.Exponential(1.0, 1 - 1e-9, decay_steps=3, staircase=False),
        lambda t: (1 - 1e-9) ** (t / 3),
        [],
    )
    cases["step_decay"] = (
        S.StepDecay(1.0, decay_steps=P24 + 1, gamma=0.8),
        lambda t: 0.8 ** (t // (P24 + 1)),
        [],
    )
    # LR = (D - t) / D: exact relative values in the last steps.
    cases["linear_decay"] = (
        S.Polynomial(1.0, total_steps=P24 + 1),
        lambda t: max(P24 + 1 - t, 0) / (P24 + 1),
        [],
    )
    cases["polynomial_to_the_end"] = (
        S.Polynomial(1.0, total_steps=P31, end_lr=0.0, power=2.0),
        lambda t: ((P31 - t) / P31) ** 2,
        [P31 - 3],
    )
    cases["linear_ramp_up"] = (
        S.Polynomial(1e-6, total_steps=P31, end_lr=1.0),
        lambda t: 1e-6 + (1.0 - 1e-6) * t / P31,
        [0, 1],
    )
    bounds = [P24 - 0.5, P24 + 1, P31]
    cases["piecewise"] = (
        S.Piecewise(bounds, [1.0, 0.5, 0.25, 0.125]),
        lambda t: [1.0, 0.5, 0.25, 0.125][sum(t >= b for b in bounds)],
        [],
    )
    # Warmup over 2**24 + 1 steps, 3 steps of hold, then cosine to 2**31 - 1.
    w, h, total = P24 + 1, 3, P31
    cases["warmup_hold_cosine"] = (
        S.WarmupCosine(1.0, total, warmup_steps=w, hold_steps=h, min_lr=0.01),
        lambda t: (
            t / w if t < w else 1.0 if t < w + h
            else _cosine(t - w - h, total - w - h, 1.0, 0.01) if t < total else 0.01
        ),
        [w + h - 1, w + h, w + h + 1],
    )
    # To 0 over 2**31 - 1 steps: the last LRs are ~1e-18, exact in relative terms.
    # (1 + cos(pi * t / T)) / 2 is written as sin(pi / 2 * (T - t) / T) ** 2 in float64.
    cases["cosine_to_zero"] = (
        S.WarmupCosine(1.0, P31),
        lambda t: math.sin(math.pi / 2 * (P31 - t) / P31) ** 2,
        [0, 1, P31 - 3],
    )
    # Two cycles: the restart is at step 2**24 + 1.
    cases["cosine_restart_at_2_24_plus_1"] = (
        S.WarmupCosine(1.0, 2 * (P24 + 1), min_lr=0.01, cycles=2),
        lambda t: _cosine(t % (P24 + 1), P24 + 1, 1.0, 0.01) if t < 2 * (P24 + 1) else 0.01,
        [2 * P24 + 1, 2 * P24 + 2],
    )
    # Cycles of L, 2L, 4L with 7L = 2**31 - 2; peaks 1, 0.5, 0.25.
    big = 306_783_378
    assert 7 * big == P31 - 1

    def geometric(t):
        for i, (start, length) in enumerate([(0, big), (big, 2 * big), (3 * big, 4 * big)]):
            if start <= t < start + length:
                return _cosine(t - start, length, 0.5**i, 0.01)
        return 0.01

    cases["cosine_cycle_mul_near_2_31"] = (
        S.WarmupCosine(1.0, 7 * big, min_lr=0.01, cycles=3, cycle_mul=2.0, peak_mul=0.5),
        geometric,
        [big - 1, big, 3 * big - 1, 3 * big, 3 * big + 1, 7 * big - 1, 7 * big],
    )
    # Two cycles of (2**31 - 1) / 2 steps: the restart is half-way through a step.
    half = P31 / 2
    cases["cosine_fractional_restart"] = (
        S.WarmupCosine(1.0, P31, min_lr=0.01, cycles=2),
        lambda t: _cosine(t if t < half else t - half, half, 1.0, 0.01) if t < P31 else 0.01,
        [P31 // 2, P31 // 2 + 1],
    )
    # Cycles of 6 steps: the position inside the cycle at every large step.
    cases["cyclic_triangular"] = (
        S.Cyclic(1e-9, 1.0, step_size=3),
        lambda t: 1e-9 + (1.0 - 1e-9) * _triangle(t, 3, 3),
        [],
    )
    # Cycles of 2**23 steps: the amplitude halves at each of them.
    cases["cyclic_triangular2"] = (
        S.Cyclic(1e-9, 1.0, step_size=2**22, mode="triangular2"),
        lambda t: 1e-9 + (1.0 - 1e-9) * _triangle(t, 2**22, 2**22) * 0.5 ** (t // 2**23),
        [],
    )
    gamma = 1 - 1e-10
    cases["cyclic_exp_range"] = (
        S.Cyclic(1e-9, 1.0, step_size=3, step_size_down=4, mode="exp_range", gamma=gamma),
        lambda t: 1e-9 + (1.0 - 1e-9) * _triangle(t, 3, 4) * gamma**t,
        [],
    )
    # Cycles of 97 steps (up 1, down 96): 2**24 + 1 = 97 * 172961 starts a cycle.
    assert (P24 + 1) % 97 == 0
    cases["cyclic_scale_fn_cycle"] = (
        S.Cyclic(1e-9, 1.0, step_size=1, step_size_down=96, scale_fn=_inverse, scale_mode="cycle"),
        lambda t: 1e-9 + (1.0 - 1e-9) * _triangle(t, 1, 96) / (t // 97 + 1),
        [],
    )
    cases["cyclic_scale_fn_iterations"] = (
        S.Cyclic(1e-9, 1.0, step_size=3, scale_fn=_slow_decay, scale_mode="iterations"),
        lambda t: 1e-9 + (1.0 - 1e-9) * _triangle(t, 3, 3) * math.exp(-t * 1e-10),
        [],
    )
    # The last phase spans the 8 steps up to 2**31 - 1.
    for strategy in ("cos", "linear"):
        args = (1.0, 2**31, 1 - 8 / 2**31, strategy, 25.0, 1e4, False)
        cases[f"one_cycle_{strategy}"] = (
            S.OneCycle(*args),
            lambda t, args=args: _one_cycle_reference(t, *args),
            [P31 - 9, P31 - 8, P31 - 7, P31 - 3],
        )
    # Three phases, the last one from 2**24 - 2 to 2**24 + 7 (linear), or the
    # 9 steps up to 2**31 - 1 (cos).
    for strategy, total, pct in [
        ("linear", P24 + 8, 2**23 / (P24 + 8)),
        ("cos", 2**31, (2**31 - 8) / 2**32),
    ]:
        args = (1.0, total, pct, strategy, 25.0, 1e4, True)
        cases[f"one_cycle_three_phase_{strategy}"] = (
            S.OneCycle(*args),
            lambda t, args=args: _one_cycle_reference(t, *args),
            [P24 + 6, P24 + 7, P24 + 8, P31 - 10, P31 - 9, P31 - 3],
        )
    inner = S.Piecewise([4, P31 - P24 - 2], [0.5, 0.25, 0.125])
    cases["warmup"] = (
        S.Warmup(inner, warmup_steps=P24 + 1),
        lambda t: (
            0.5 * t / (P24 + 1) if t <= P24
            else [0.5, 0.25, 0.125][(t - P24 - 1 >= 4) + (t - P24 - 1 >= P31 - P24 - 2)]
        ),
        [P24 + 4, P24 + 5, P24 + 6],
    )
    cases["join"] = (
        S.Join(
            [S.Constant(0.1), S.Cyclic(1e-9, 1.0, step_size=3), S.Polynomial(1.0, 2)],
            [P24 + 1, P31 - 1.5],
        ),
        lambda t: (
            0.1 if t < P24 + 1
            else 1e-9 + (1 - 1e-9) * _triangle(t - P24 - 1, 3, 3) if t < P31 - 1.5
            else 1 - (t - (P31 - 1.5)) / 2
        ),
        [P24 + 2, P24 + 3],
    )
    cases["scaled"] = (
        S.Scaled(S.Piecewise([P24 + 1], [1.0, 0.5]), factor=0.5, min_lr=0.3),
        lambda t: 0.5 if t <= P24 else 0.3,
        [],
    )
    return cases


def _inverse(cycle):
    return 1.0 / cycle


def _slow_decay(t):
    return ops.exp(-t * 1e-10)


LARGE_CASES = sorted(_large_step_cases())


def _large_steps_and_expected(name):
    schedule, closed_form, extra = _large_step_cases()[name]
    steps = sorted(set(LARGE_STEPS + extra))
    return schedule, steps, np.asarray([closed_form(t) for t in steps], dtype=np.float64)


def _int_steps(steps):
    """Backend integer steps: int64 as the optimizer counts (int32 under JAX without x64)."""
    dtype = "int32" if keras.config.backend() == "jax" else "int64"
    return ops.convert_to_tensor(np.asarray(steps, dtype=dtype))


@pytest.mark.parametrize("name", LARGE_CASES)
def test_large_steps_host_values(name):
    schedule, steps, expected = _large_steps_and_expected(name)
    assert_lr_close(schedule.values(steps), expected, rtol=2e-6, atol=0)
    # float64 steps that are whole numbers are integer steps too.
    assert_lr_close(schedule.values(np.asarray(steps, "float64")), expected, rtol=2e-6, atol=0)


@pytest.mark.parametrize("name", LARGE_CASES)
def test_large_steps_backend_tensors_and_variable(name):
    schedule, steps, expected = _large_steps_and_expected(name)
    got = ops.convert_to_numpy(schedule(_int_steps(steps)))
    assert_lr_close(got, expected, rtol=2e-6, atol=0)
    step_dtype = "int32" if keras.config.backend() == "jax" else "int64"
    variable = keras.Variable(0, dtype=step_dtype, trainable=False)
    for step, want in zip(steps, expected):
        variable.assign(step)
        assert_lr_close(ops.convert_to_numpy(schedule(variable)), want, rtol=2e-6, atol=0)


@pytest.mark.parametrize("name", LARGE_CASES)
def test_large_steps_traced(name):
    """Inside `tf.function`, `jax.jit`, or the eager torch step, as in `fit`."""
    schedule, steps, expected = _large_steps_and_expected(name)
    backend = keras.config.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        traced = tf.function(schedule)
        got = [traced(tf.constant(step, tf.int64)).numpy() for step in steps]
        got_vector = traced(tf.constant(steps, tf.int64)).numpy()
    elif backend == "jax":
        import jax
        import jax.numpy as jnp

        traced = jax.jit(schedule)
        got = [np.asarray(traced(jnp.int32(step))) for step in steps]
        got_vector = np.asarray(traced(jnp.asarray(steps, dtype=jnp.int32)))
    else:
        import torch as th

        got = [schedule(th.tensor(step, dtype=th.int64)).cpu().numpy() for step in steps]
        got_vector = schedule(th.tensor(steps, dtype=th.int64)).cpu().numpy()
    assert_lr_close(np.asarray(got), expected, rtol=2e-6, atol=0)
    assert_lr_close(got_vector, expected, rtol=2e-6, atol=0)


@pytest.mark.parametrize("mode", ["exponential", "linear"])
def test_large_steps_range_test_ramp(mode):
    """The finder's ramp ends exactly at step `num_steps - 1 = 2**24 + 1`."""
    start, end, last = 1e-7, 10.0, P24 + 1
    steps = LARGE_STEPS
    if mode == "linear":
        expected = [start + (end - start) * min(t, last) / last for t in steps]
    else:
        expected = [start * (end / start) ** (min(t, last) / last) for t in steps]
    for step_tensor in (np.asarray(steps), _int_steps(steps)):
        got = schedule_math.range_test_ramp(step_tensor, start, end, last + 1, mode)
        # float32 exponent of about 18: the exponential is good to ~1e-6 relative.
        assert_lr_close(ops.convert_to_numpy(got), expected, rtol=3e-6, atol=0)
    assert float(ops.convert_to_numpy(schedule_math.range_test_ramp(P24 + 1, start, end, last + 1, mode))) == pytest.approx(end, rel=1e-6)


def test_large_steps_shift():
    """`shift` moves a schedule by 2**24 - 2 steps, exactly, for integer and float steps."""
    inner = S.Piecewise([3], [1.0, 0.5])
    expected = [1.0 if t - (P24 - 2) < 3 else 0.5 for t in LARGE_STEPS]
    for steps in (np.asarray(LARGE_STEPS), _int_steps(LARGE_STEPS)):
        got = schedule_math.shift(steps, inner, P24 - 2)
        assert_lr_close(ops.convert_to_numpy(got), expected, rtol=1e-6, atol=0)
    # A plain function gets the shifted step as float32: small, so exact.
    got = schedule_math.shift(_int_steps(LARGE_STEPS), lambda t: 0.5 + 0.0 * t + t * 1e-3, P24 - 2)
    shifted = np.maximum(np.asarray(LARGE_STEPS) - (P24 - 2), 0)
    assert_lr_close(ops.convert_to_numpy(got), 0.5 + shifted * 1e-3, rtol=1e-6, atol=0)


def test_float_steps_keep_their_fraction():
    """Float steps (below 2**24) are split exactly: a fractional boundary is honoured."""
    schedule = S.Piecewise([2.5, 10], [1.0, 0.5, 0.25])
    steps = np.asarray([2.0, 2.4999, 2.5, 3.0, 9.75, 10.0], dtype="float32")
    expected = [1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    for step_tensor in (steps, ops.convert_to_tensor(steps)):
        assert_lr_close(ops.convert_to_numpy(schedule(step_tensor)), expected, 1e-6, 0)
    assert_lr_close(schedule.values(steps), expected, rtol=1e-6, atol=0)


def test_steps_past_the_int32_range_saturate():
    """Past 2**31 - 1 a step counts as 2**31 - 1, for integer and float steps alike."""
    schedule = S.Cyclic(1e-9, 1.0, step_size=3)
    at_last = schedule.values([P31])[0]
    for steps in ([2**31, 2**32, 2**40], np.asarray([2**31, 2**32, 2**40], "float32")):
        assert_lr_close(schedule.values(steps), np.full(3, at_last), rtol=1e-6, atol=0)
    if keras.config.backend() != "jax":
        big = ops.convert_to_tensor(np.asarray([2**31, 2**40], "int64"))
        assert_lr_close(ops.convert_to_numpy(schedule(big)), np.full(2, at_last), 1e-6, 0)


INT_STEPS = st.lists(st.integers(0, P31), min_size=16, max_size=16)


@settings(max_examples=30, deadline=None)
@given(INT_STEPS, st.integers(1, 10**9), st.integers(1, 10**9))
def test_cyclic_position_is_exact_for_any_integer_step(steps, up, down):
    """The step inside the cycle is the integer remainder, for any step up to 2**31 - 1."""
    schedule = S.Cyclic(1e-9, 1.0, step_size=up, step_size_down=down)
    expected = [1e-9 + (1.0 - 1e-9) * _triangle(t, up, down) for t in steps]
    assert_lr_close(schedule.values(np.asarray(steps)), expected, rtol=2e-6, atol=0)


@settings(max_examples=30, deadline=None)
@given(INT_STEPS, st.lists(st.integers(1, P31), min_size=1, max_size=6, unique=True))
def test_piecewise_piece_is_exact_for_any_integer_step(steps, boundaries):
    boundaries = sorted(boundaries)
    # Boundaries at the steps themselves and one step either side.
    steps = ([b + d for b in boundaries for d in (-1, 0, 1)] + steps)[:16]
    steps = [min(max(t, 0), P31) for t in steps]
    values = [2.0**-k for k in range(len(boundaries) + 1)]
    expected = [values[sum(t >= b for b in boundaries)] for t in steps]
    assert_lr_close(S.Piecewise(boundaries, values).values(np.asarray(steps)), expected, 1e-7, 0)
