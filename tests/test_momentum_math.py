"""The momentum schedules equal PyTorch's cycled momentum step for step.

Oracle: `torch.optim.lr_scheduler.OneCycleLR` and `CyclicLR` with
`cycle_momentum=True`, stepped on a momentum SGD; their `param_groups[0]`
gives the (LR, momentum) PyTorch uses at each step.
"""

import math

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from momentum_oracles import torch_schedule
from numpy.testing import assert_allclose

from keras_lr import schedule_math, schedules


@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("anneal_strategy", ["cos", "linear"])
def test_one_cycle_momentum_is_pytorchs(anneal_strategy, three_phase):
    total = 57
    _, expected = torch_schedule(
        total, "one_cycle", max_lr=1.0, total_steps=total, pct_start=0.3, anneal_strategy=anneal_strategy,
        three_phase=three_phase, base_momentum=0.8, max_momentum=0.97,
    )
    schedule = schedules.OneCycleMomentum(total, 0.3, anneal_strategy, 0.8, 0.97, three_phase)
    assert_allclose(schedule.values(np.arange(total)), expected, rtol=2e-7, atol=1e-7)


def test_one_cycle_momentum_is_not_the_mirrored_lr():
    """The LR falls below its start in the last phase; PyTorch's momentum only returns to max."""
    total = 100
    lrs, momentums = torch_schedule(total, "one_cycle", max_lr=1.0, total_steps=total)
    low, high = lrs[0], lrs.max()
    mirrored = 0.95 - (lrs - low) / (high - low) * (0.95 - 0.85)
    assert mirrored.max() > 0.95 + 1e-3  # the mirror would overshoot max_momentum
    assert momentums.max() == pytest.approx(0.95)
    assert_allclose(schedules.OneCycleMomentum(total).values(np.arange(total)), momentums, rtol=2e-7)


def test_three_phase_momentum_is_held_at_max_in_the_last_phase():
    total, pct = 40, 0.25
    values = schedules.OneCycleMomentum(total, pct, three_phase=True).values(np.arange(total))
    last_phase_start = int(2 * pct * total - 2)
    assert_allclose(values[last_phase_start:], 0.95, rtol=1e-7)
    assert values[int(pct * total) - 1] == pytest.approx(0.85)


def test_one_cycle_momentum_holds_max_after_the_cycle():
    schedule = schedules.OneCycleMomentum(100, base_momentum=0.8, max_momentum=0.9)
    assert_allclose(schedule.values([99, 100, 10**6, 2**31 - 1]), 0.9, rtol=1e-7)


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
@pytest.mark.parametrize("down", [None, 7])
def test_cyclic_momentum_is_pytorchs(mode, down):
    n = 80
    _, expected = torch_schedule(
        n, "cyclic", base_lr=0.1, max_lr=1.0, step_size_up=5, step_size_down=down, mode=mode, gamma=0.97,
        base_momentum=0.7, max_momentum=0.95,
    )
    schedule = schedules.CyclicMomentum(0.7, 0.95, 5, mode=mode, gamma=0.97, step_size_down=down)
    assert_allclose(schedule.values(np.arange(n)), expected, rtol=2e-7, atol=1e-7)


def test_cyclic_momentum_with_a_scale_fn_is_pytorchs():
    n = 60
    _, expected = torch_schedule(
        n, "cyclic", base_lr=0.1, max_lr=1.0, step_size_up=4, scale_fn=lambda x: 1.0 / x, scale_mode="cycle",
    )
    schedule = schedules.CyclicMomentum(0.8, 0.9, 4, scale_fn=lambda x: 1.0 / x)
    assert_allclose(schedule.values(np.arange(n)), expected, rtol=2e-7, atol=1e-7)


def test_the_lr_of_one_cycle_is_unchanged_by_the_shared_phases():
    """`one_cycle` now runs on the same phase code as its momentum: still PyTorch's LR."""
    for three_phase in (False, True):
        lrs, _ = torch_schedule(50, "one_cycle", max_lr=0.3, total_steps=50, three_phase=three_phase)
        got = schedules.OneCycle(0.3, 50, three_phase=three_phase).values(np.arange(50))
        assert_allclose(got, lrs, rtol=2e-6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    total=st.integers(10, 400),
    pct=st.floats(0.1, 0.45),
    anneal=st.sampled_from(["cos", "linear"]),
    three_phase=st.booleans(),
    base=st.floats(0.0, 0.9),
    spread=st.floats(0.0, 0.09),
)
def test_property_one_cycle_momentum_equals_pytorch(total, pct, anneal, three_phase, base, spread):
    assume(pct * total > 1.5)  # every phase lasts a step (PyTorch divides by zero otherwise)
    high = base + spread
    _, expected = torch_schedule(
        total, "one_cycle", max_lr=1.0, total_steps=total, pct_start=pct, anneal_strategy=anneal,
        three_phase=three_phase, base_momentum=base, max_momentum=high,
    )
    got = np.asarray(keras.ops.convert_to_numpy(
        schedule_math.one_cycle_momentum(np.arange(total), total, pct, anneal, base, high, three_phase)
    ))
    assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    up=st.integers(1, 30),
    down=st.one_of(st.none(), st.integers(1, 30)),
    mode=st.sampled_from(["triangular", "triangular2", "exp_range"]),
    gamma=st.floats(0.9, 1.0),
    base=st.floats(0.0, 0.9),
    spread=st.floats(0.0, 0.09),
)
def test_property_cyclic_momentum_equals_pytorch(up, down, mode, gamma, base, spread):
    high = base + spread
    n = 2 * (up + (down or up)) + 3
    _, expected = torch_schedule(
        n, "cyclic", base_lr=0.1, max_lr=1.0, step_size_up=up, step_size_down=down, mode=mode, gamma=gamma,
        base_momentum=base, max_momentum=high,
    )
    schedule = schedules.CyclicMomentum(base, high, up, mode=mode, gamma=gamma, step_size_down=down)
    assert_allclose(schedule.values(np.arange(n)), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "schedule",
    [
        schedules.OneCycleMomentum(100, 0.25, "linear", 0.8, 0.99, True),
        schedules.CyclicMomentum(0.5, 0.7, 3, mode="exp_range", gamma=0.9, step_size_down=4),
    ],
    ids=["one_cycle", "cyclic"],
)
def test_serialization_round_trip(schedule):
    rebuilt = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert type(rebuilt) is type(schedule)
    assert rebuilt.get_config() == schedule.get_config()
    steps = np.arange(30)
    assert_allclose(rebuilt.values(steps), schedule.values(steps), rtol=0)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: schedules.OneCycleMomentum(100, base_momentum=-0.1),
         "Argument `base_momentum` must be in [0, 1). Received: base_momentum=-0.1"),
        (lambda: schedules.OneCycleMomentum(100, max_momentum=1.0),
         "Argument `max_momentum` must be in [0, 1). Received: max_momentum=1.0"),
        (lambda: schedules.CyclicMomentum(0.9, 0.8),
         "Argument `max_momentum` must be >= base_momentum (0.9). Received: max_momentum=0.8"),
        (lambda: schedules.OneCycleMomentum(1), "Argument `total_steps` must be"),
        (lambda: schedules.CyclicMomentum(step_size=0), "Argument `step_size` must be"),
        (lambda: schedules.CyclicMomentum(mode="sine"), "Argument `mode` must be"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ValueError) as raised:
        make()
    assert message in str(raised.value)


def test_docstring_values():
    assert_allclose(schedules.OneCycleMomentum(total_steps=100).values([0, 29, 99]), [0.95, 0.85, 0.95], rtol=1e-6)
    assert_allclose(
        schedules.CyclicMomentum(0.8, 0.9, step_size=2).values(range(5)), [0.9, 0.85, 0.8, 0.85, 0.9], rtol=1e-6
    )
    assert math.isclose(float(schedules.OneCycleMomentum(10).values(4)), 0.85 + 0.1 * 0.5 * (1 - math.cos(math.pi * 2 / 7)), rel_tol=1e-6)


# ------------------------------------------------------------------ plot_schedule
def test_plot_schedule_draws_the_momentum_on_a_twin_axis():
    import matplotlib.pyplot as plt

    import keras_lr

    lrs, momentums = torch_schedule(100, "one_cycle", max_lr=0.01, total_steps=100)
    callback = keras_lr.OneCycleLR(0.01, 100, cycle_momentum=True)
    fig, given_ax = plt.subplots()
    ax = keras_lr.plot_schedule(callback, 100, ax=given_ax)
    assert ax is given_ax
    (lr_line,) = ax.get_lines()
    (momentum_line,) = ax.momentum_axis.get_lines()
    assert_allclose(lr_line.get_ydata(), lrs, rtol=2e-6)
    assert_allclose(momentum_line.get_ydata(), momentums, rtol=2e-7)
    assert ax.momentum_axis.get_ylabel() == "momentum"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["OneCycle", "OneCycleMomentum"]
    # The same with the schedules given separately; without momentum, one axis.
    ax = keras_lr.plot_schedule(callback.schedule, 100, momentum=callback.momentum_schedule)
    assert_allclose(ax.momentum_axis.get_lines()[0].get_ydata(), momentums, rtol=2e-7)
    ax = keras_lr.plot_schedule(keras_lr.OneCycleLR(0.01, 100), 100)
    assert len(ax.figure.axes) == 1 and not hasattr(ax, "momentum_axis")
    plt.close("all")


def test_plot_schedule_refuses_a_bad_momentum():
    import keras_lr

    with pytest.raises(ValueError, match=r"Argument `momentum` must be a momentum schedule"):
        keras_lr.plot_schedule(schedules.OneCycle(0.1, 10), 10, momentum=0.9)
