"""Backend-neutral learning-rate formulas: pure functions of the optimizer step.

Every formula of keras_lr lives here, once. The schedule classes
(`keras_lr.schedules`), the scheduler callbacks and the LR finder all call these
functions; none of them re-derives a formula.

Conventions:

- `step` is the 0-based optimizer step: the value returned for `step=t` is the
  learning rate used for update number `t` (the Keras optimizer evaluates its
  schedule as `schedule(optimizer.iterations)` before incrementing it).
- `step` may be a Python number, a numpy array, a backend tensor or a Keras
  variable. It is cast to float32 first, so huge steps (up to 2**31 and beyond)
  never overflow an int32.
- Only `keras.ops` is used and there is no Python branching on tensors, so the
  same function runs traced inside `model.fit` on TensorFlow, JAX and PyTorch,
  and eagerly on a numpy array of steps for previews and plots.
- Hyperparameters are Python numbers, checked by the callers (the schedule
  classes). Branching on them is fine: it happens once, at trace time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from keras import ops

StepFn = Callable[[Any], Any]

__all__ = [
    "as_step",
    "constant",
    "exponential",
    "polynomial",
    "linear",
    "piecewise",
    "step_decay",
    "cosine_restarts",
    "warmup_hold_cosine",
    "cyclic",
    "triangular_scale",
    "triangular2_scale",
    "exp_range_scale",
    "one_cycle",
    "join",
    "warmup",
    "shift",
    "scaled",
    "range_test_ramp",
]


def as_step(step: Any) -> Any:
    """Casts a step (number, array, tensor or variable) to a float32 tensor."""
    return ops.cast(step, "float32")


def _fill(like: Any, value: Any) -> Any:
    """A tensor shaped like `like` holding `value` (a number or a tensor)."""
    return ops.zeros_like(like) + value


def _pow(base: float, exponent: Any) -> Any:
    """`base ** exponent` for a positive Python `base` and a float tensor exponent.

    Written as `exp(exponent * log(base))`: exact enough in float32, and it
    underflows to 0 instead of producing NaN for huge exponents.
    """
    if base == 1.0:
        return ops.ones_like(exponent)
    return ops.exp(exponent * math.log(base))


def constant(step: Any, value: float) -> Any:
    """`lr(t) = value`."""
    return _fill(as_step(step), value)


def exponential(
    step: Any,
    initial_lr: float,
    decay_rate: float,
    decay_steps: float = 1.0,
    min_lr: float = 0.0,
    staircase: bool = False,
) -> Any:
    """Exponential decay with a floor.

    .. math::
        lr(t) = \\max(min\\_lr,\\ initial\\_lr \\cdot decay\\_rate^{p}),\\quad
        p = t / decay\\_steps \\ (\\lfloor t / decay\\_steps \\rfloor
        \\text{ if staircase})

    With `decay_steps=1`, `staircase=True` and `t` the epoch, this is
    `initial_lr * decay_rate ** epoch` with a floor. With `staircase=True`
    it is PyTorch's `StepLR(step_size=decay_steps, gamma=decay_rate)`, and
    with `decay_steps=1` PyTorch's `ExponentialLR(gamma=decay_rate)`.
    """
    t = as_step(step)
    p = t / decay_steps
    if staircase:
        p = ops.floor(p)
    lr = initial_lr * _pow(decay_rate, p)
    return ops.maximum(lr, min_lr)


def polynomial(
    step: Any,
    initial_lr: float,
    decay_steps: float,
    end_lr: float = 0.0,
    power: float = 1.0,
) -> Any:
    """Polynomial decay from `initial_lr` to `end_lr` over `decay_steps`.

    .. math::
        lr(t) = (initial\\_lr - end\\_lr)\\,(1 - \\min(t, D)/D)^{power} + end\\_lr

    This equals Keras' `PolynomialDecay(cycle=False)`. With `power=1` it is a
    linear ramp, which may go up as well as down; after `decay_steps` it holds
    `end_lr`.
    """
    t = ops.clip(as_step(step), 0.0, float(decay_steps))
    remaining = 1.0 - t / decay_steps
    if power != 1.0:
        remaining = ops.power(remaining, power)
    # Two algebraically equal forms; each is evaluated where it does not
    # cancel, so both ends are exact in float32 even when `end_lr >> initial_lr`.
    near_start = initial_lr + (end_lr - initial_lr) * (1.0 - remaining)
    near_end = end_lr + (initial_lr - end_lr) * remaining
    return ops.where(remaining >= 0.5, near_start, near_end)


def linear(step: Any, start_lr: Any, end_lr: Any, steps: float) -> Any:
    """Linear ramp from `start_lr` at `t=0` to `end_lr` at `t=steps`, then held.

    `start_lr` and `end_lr` may be tensors (the warmup of `warmup()` ramps
    towards the value of another schedule). This is `polynomial(power=1)`.
    """
    return polynomial(step, start_lr, steps, end_lr, power=1.0)


def piecewise(step: Any, boundaries: Sequence[float], values: Sequence[float]) -> Any:
    """Piecewise-constant LR that changes AT each boundary.

    `lr(t) = values[i]` for `boundaries[i-1] <= t < boundaries[i]`: `values[0]`
    before the first boundary and `values[-1]` from the last one on. This is
    PyTorch's `MultiStepLR` convention (there the LR changes at the milestone
    step). Keras' `PiecewiseConstantDecay` changes one step later (`t > b`).
    """
    t = as_step(step)
    lr = _fill(t, values[0])
    for boundary, value in zip(boundaries, values[1:]):
        lr = ops.where(t >= boundary, _fill(t, value), lr)
    return lr


def step_decay(
    step: Any, initial_lr: float, step_size: float, gamma: float, min_lr: float = 0.0
) -> Any:
    """Step decay: multiply by `gamma` every `step_size` steps, with a floor.

    `lr(t) = max(min_lr, initial_lr * gamma ** floor(t / step_size))`: PyTorch's
    `StepLR` and d2l's `FactorScheduler`. It is the staircase `exponential()`.
    """
    return exponential(step, initial_lr, gamma, step_size, min_lr, staircase=True)


def _restart_tables(
    peak_lr: float, decay_steps: float, min_lr: float, cycles: int, cycle_mul: float, peak_mul: float
) -> tuple[list[float], list[float], list[float]]:
    """Start, length and peak of each cosine cycle, computed once in float64."""
    if cycle_mul == 1.0:
        lengths = [decay_steps / cycles] * cycles
    else:
        first = decay_steps * (cycle_mul - 1.0) / (cycle_mul**cycles - 1.0)
        lengths = [first * cycle_mul**i for i in range(cycles)]
    starts = [0.0]
    for length in lengths[:-1]:
        starts.append(starts[-1] + length)
    peaks = [max(peak_lr * peak_mul**i, min_lr) for i in range(cycles)]
    return starts, lengths, peaks


def cosine_restarts(
    step: Any,
    peak_lr: float,
    decay_steps: float,
    min_lr: float = 0.0,
    cycles: int = 1,
    cycle_mul: float = 1.0,
    peak_mul: float = 1.0,
) -> Any:
    """Cosine annealing over `decay_steps`, split into `cycles` warm restarts.

    The cycle lengths form a geometric series with ratio `cycle_mul` that fills
    `decay_steps` exactly: the first lasts
    `L0 = decay_steps * (cycle_mul - 1) / (cycle_mul**cycles - 1)` steps
    (`decay_steps / cycles` when `cycle_mul == 1`). In cycle `i`, at the
    fraction `f` in [0, 1) of that cycle:

    .. math::
        lr = min\\_lr + (\\max(peak\\_lr \\cdot peak\\_mul^{i}, min\\_lr) - min\\_lr)
        \\cdot \\tfrac{1}{2}(1 + \\cos(\\pi f))

    From `decay_steps` on the LR is `min_lr`. With `cycles=1` this is Keras'
    `CosineDecay` (with `alpha = min_lr / peak_lr`); with `peak_mul=1` and an
    integer `cycle_mul` it is PyTorch's `CosineAnnealingWarmRestarts` within
    the budget. The cycle boundaries are computed once in float64 (they are
    fixed by the hyperparameters), so they are exact even for `cycle_mul`
    close to 1.
    """
    starts, lengths, peaks = _restart_tables(
        peak_lr, decay_steps, min_lr, cycles, cycle_mul, peak_mul
    )
    s = ops.maximum(as_step(step), 0.0)
    if cycles == 1:
        start, length, peak = starts[0], lengths[0], peaks[0]
    else:
        later_starts = ops.convert_to_tensor(starts[1:], dtype="float32")
        index = ops.sum(ops.cast(ops.expand_dims(s, -1) >= later_starts, "int32"), axis=-1)
        start = ops.take(ops.convert_to_tensor(starts, dtype="float32"), index)
        length = ops.take(ops.convert_to_tensor(lengths, dtype="float32"), index)
        peak = ops.take(ops.convert_to_tensor(peaks, dtype="float32"), index)
    fraction = ops.clip((s - start) / length, 0.0, 1.0)
    lr = min_lr + (peak - min_lr) * 0.5 * (1.0 + ops.cos(math.pi * fraction))
    lr = ops.maximum(lr, min_lr)
    return ops.where(s >= decay_steps, _fill(s, min_lr), lr)


def warmup_hold_cosine(
    step: Any,
    peak_lr: float,
    total_steps: float,
    warmup_steps: float = 0.0,
    warmup_start_lr: float = 0.0,
    hold_steps: float = 0.0,
    min_lr: float = 0.0,
    cycles: int = 1,
    cycle_mul: float = 1.0,
    peak_mul: float = 1.0,
) -> Any:
    """Linear warmup, then hold at the peak, then cosine decay with restarts.

    A `join()` of three pieces, with `W = warmup_steps`, `H = hold_steps`:

    - `t < W`: `warmup_start_lr + (peak_lr - warmup_start_lr) * t / W`;
    - `W <= t < W + H`: `peak_lr`;
    - `t >= W + H`: `cosine_restarts(t - W - H, peak_lr, total_steps - W - H,
      min_lr, cycles, cycle_mul, peak_mul)`, which is `min_lr` after
      `total_steps`.
    """
    pieces: list[StepFn] = []
    boundaries: list[float] = []
    if warmup_steps > 0:
        pieces.append(lambda t: linear(t, warmup_start_lr, peak_lr, warmup_steps))
        boundaries.append(warmup_steps)
    if hold_steps > 0:
        pieces.append(lambda t: constant(t, peak_lr))
        boundaries.append(warmup_steps + hold_steps)
    decay_steps = total_steps - warmup_steps - hold_steps
    pieces.append(
        lambda t: cosine_restarts(t, peak_lr, decay_steps, min_lr, cycles, cycle_mul, peak_mul)
    )
    return join(step, pieces, boundaries[: len(pieces) - 1])


def triangular_scale(x: Any) -> Any:
    """CLR `triangular` amplitude: constant 1 (a function of the cycle)."""
    return ops.ones_like(x)


def triangular2_scale(cycle: Any) -> Any:
    """CLR `triangular2` amplitude: halved each cycle, `1 / 2**(cycle - 1)`."""
    return _pow(0.5, cycle - 1.0)


def exp_range_scale(step: Any, gamma: float) -> Any:
    """CLR `exp_range` amplitude: `gamma ** t` on the global step."""
    return _pow(gamma, step)


def cyclic(
    step: Any,
    base_lr: float,
    max_lr: float,
    step_size: float,
    step_size_down: float | None = None,
    scale_fn: Callable[[Any], Any] | None = None,
    scale_mode: str = "cycle",
) -> Any:
    """Cyclical learning rate (Smith 2015), as PyTorch's `CyclicLR`.

    With `up = step_size`, `down = step_size_down or step_size`,
    `T = up + down`, and `o = t - T * floor(t / T)` the step inside the cycle:

    .. math::
        cycle = \\lfloor 1 + t / T \\rfloor,\\quad
        h = o / up \\text{ if } o \\le up \\text{ else } (T - o) / down

        lr = base\\_lr + (max\\_lr - base\\_lr)\\cdot h \\cdot scale\\_fn(z)

    where `z = cycle` for `scale_mode="cycle"` and `z = t` for
    `scale_mode="iterations"`. `scale_fn=None` is the triangular policy.
    (PyTorch writes `h` with `x = 1 + t/T - cycle`, which is the same.)
    """
    t = as_step(step)
    up = float(step_size)
    down = up if step_size_down is None else float(step_size_down)
    total = up + down
    # Position inside the cycle, in steps: exact for integer steps, where the
    # textbook `x = 1 + t/T - cycle` loses digits to cancellation in float32.
    index = ops.floor(t / total)
    offset = t - index * total
    index = ops.where(offset < 0.0, index - 1.0, ops.where(offset >= total, index + 1.0, index))
    # Past 2**24, float32 steps are no longer integers: keep the position in range.
    offset = ops.clip(t - index * total, 0.0, total)
    height = ops.where(offset <= up, offset / up, (total - offset) / down)
    scale_fn = scale_fn or triangular_scale
    amplitude = scale_fn(index + 1.0 if scale_mode == "cycle" else t)
    return base_lr + (max_lr - base_lr) * height * amplitude


def one_cycle(
    step: Any,
    max_lr: float,
    total_steps: float,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> Any:
    """One-cycle policy, as PyTorch's `OneCycleLR`, held at its end value.

    `initial = max_lr / div_factor`, `final = initial / final_div_factor`. The
    phases end at steps `pct_start * total_steps - 1`, then (with
    `three_phase`) `2 * pct_start * total_steps - 2`, then `total_steps - 1`;
    each anneals from its start value to its end value by cosine
    (`end + (start - end) / 2 * (1 + cos(pi * pct))`) or linearly. Phases
    are `initial -> max -> final` or, with `three_phase`,
    `initial -> max -> initial -> final`. Past `total_steps - 1` the final
    value is held (PyTorch raises instead).
    """
    initial = max_lr / div_factor
    final = initial / final_div_factor
    up_end = float(pct_start * total_steps) - 1.0
    if three_phase:
        phases = [
            (up_end, initial, max_lr),
            (float(2 * pct_start * total_steps) - 2.0, max_lr, initial),
            (float(total_steps) - 1.0, initial, final),
        ]
    else:
        phases = [(up_end, initial, max_lr), (float(total_steps) - 1.0, max_lr, final)]
    t = ops.minimum(as_step(step), float(total_steps) - 1.0)
    lr = _fill(t, final)
    start_step = 0.0
    pieces = []
    for end_step, start_lr, end_lr in phases:
        pct = ops.clip((t - start_step) / (end_step - start_step), 0.0, 1.0)
        if anneal_strategy == "cos":
            value = end_lr + (start_lr - end_lr) / 2.0 * (ops.cos(math.pi * pct) + 1.0)
        else:
            value = (end_lr - start_lr) * pct + start_lr
        pieces.append((start_step, end_step, value))
        start_step = end_step
    # PyTorch picks the first phase whose end is >= t.
    for _, end_step, value in reversed(pieces):
        lr = ops.where(t <= end_step, value, lr)
    return lr


def join(step: Any, schedules: Sequence[StepFn], boundaries: Sequence[float]) -> Any:
    """Joins schedules at step boundaries, as optax's `join_schedules`.

    `schedules[0]` runs until `boundaries[0]`; from `boundaries[i-1]` on,
    `schedules[i]` runs and sees the shifted step `t - boundaries[i-1]`.
    """
    t = as_step(step)
    lr = schedules[0](t)
    for boundary, schedule in zip(boundaries, schedules[1:]):
        lr = ops.where(t >= boundary, schedule(ops.maximum(t - boundary, 0.0)), lr)
    return lr


def warmup(step: Any, schedule: StepFn, warmup_steps: float, start_lr: float = 0.0) -> Any:
    """Puts a linear warmup in front of any schedule.

    For `t < W` the LR rises linearly from `start_lr` to `schedule(0)`; from `W`
    on it is `schedule(t - W)`. The wrapped schedule starts where warmup ends.
    """
    t = as_step(step)
    if warmup_steps <= 0:
        return schedule(t)
    target = schedule(ops.zeros_like(t))
    return join(t, [lambda s: linear(s, start_lr, target, warmup_steps), schedule], [warmup_steps])


def shift(step: Any, schedule: StepFn, offset: float) -> Any:
    """`schedule(max(t - offset, 0))`: a schedule that starts at step `offset`."""
    return schedule(ops.maximum(as_step(step) - offset, 0.0))


def scaled(lr: Any, factor: Any, min_lr: float = 0.0) -> Any:
    """A learning rate scaled down by `factor`, never cut below `min_lr` by it.

    `max(factor * lr, min(lr, min_lr))`: the plateau reduction applied on top
    of a schedule. The schedule keeps its shape, scaled by `factor`; where
    the scaled LR would fall below `min_lr` it stays at `min_lr`, and where
    the schedule itself is already below `min_lr` (a warmup from 0, the tail
    of a decay) it is left as it is: the scaling never raises an LR.
    """
    return ops.maximum(lr * factor, ops.minimum(lr, min_lr))


def range_test_ramp(
    step: Any, start_lr: float, end_lr: float, num_steps: int, mode: str = "exponential"
) -> Any:
    """The LR range test's ramp: `start_lr` at step 0, `end_lr` at `num_steps - 1`.

    Exponential: `start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))`, the
    non-staircase `exponential()`. Linear: `linear()`. Held at `end_lr` after
    the last step.
    """
    last = float(num_steps - 1)
    i = ops.clip(as_step(step), 0.0, last)
    if mode == "linear":
        return linear(i, start_lr, end_lr, last)
    return exponential(i, start_lr, end_lr / start_lr, last)
