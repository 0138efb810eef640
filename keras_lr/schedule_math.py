"""Backend-neutral learning-rate formulas: pure functions of the optimizer step.

Every formula of keras_lr lives here, once. The schedule classes
(`keras_lr.schedules`), the scheduler callbacks and the LR finder all call these
functions; none of them re-derives a formula. What the step conventions
below mean in training: [the schedules guide](../guide/schedules.md).

Conventions:

- `step` is the 0-based optimizer step: the value returned for `step=t` is the
  learning rate used for update number `t` (the Keras optimizer evaluates its
  schedule as `schedule(optimizer.iterations)` before incrementing it).
- `step` may be a Python number, a numpy array, a backend tensor or a Keras
  variable, of an integer dtype (the optimizer's int64 `iterations`, int32
  under JAX) or a float dtype.
- Steps are exact up to `2**31 - 1`. The step is kept as an int32 count of
  whole steps plus, for a float step, a float32 fraction in [0, 1). Which
  piece, cycle, phase or staircase level applies is decided in integer
  arithmetic (an integer division, a remainder, a comparison with the whole
  and fractional parts of a boundary), and only the position inside a
  segment is a float32 number, computed from an integer difference. No
  float64 is needed, so this holds inside `jax.jit` without x64 too. Steps
  below 0 count as 0; steps past `2**31 - 1` count as `2**31 - 1` (an int32
  optimizer counter cannot go further). A float32 step is exact only below
  `2**24`, so pass integer steps.
- Lengths and boundaries are Python numbers. Integers, also given as floats
  (`2000.0`), are exact. A genuinely fractional period (`decay_steps=2.5` in
  `exponential`, `step_size=2.5` in `cyclic` with an odd cycle) falls back to
  float32 division of the step: finite and monotone, but no longer exact past
  `2**24`. Fractional boundaries (piecewise, join, warmup, cosine restarts,
  one-cycle phases) are compared exactly.
- Only `keras.ops` is used and there is no Python branching on tensors, so the
  same function runs traced inside `model.fit` on TensorFlow, JAX and PyTorch,
  and eagerly on a numpy array of steps for previews and plots.
- Hyperparameters are Python numbers, checked by the callers (the schedule
  classes). Branching on them is fine: it happens once, at trace time.
- A schedule given by the user (to `join`, `warmup`, `shift`) receives its
  shifted step as a tensor: a `LearningRateSchedule` (keras_lr's or Keras')
  gets an int32 tensor when the step is a whole number, as the Keras
  optimizer passes an integer step; a plain function gets a float32 tensor
  (exact below `2**24`; wrap it in `keras_lr.schedules.Lambda`, or write a
  `LearningRateSchedule`, to receive the integer step).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_lr import _validation as check

StepFn = Callable[[Any], Any]

__all__ = [
    "INT32_MAX",
    "FLOAT32_MAX",
    "check_horizon",
    "check_lr",
    "shortest_restart_cycle",
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
    "one_cycle_momentum",
    "cyclic_momentum",
    "join",
    "warmup",
    "shift",
    "scaled",
    "range_test_ramp",
]

INT32_MAX = 2**31 - 1
"""The last step at which every formula is exact."""

FLOAT32_MAX = 3.4028234663852886e38
"""The largest float32: a learning rate beyond it is inf in the optimizer."""

# The largest float32 below 2**31 and below 1.
_F32_BELOW_2_31 = 2147483520.0
_F32_BELOW_ONE = 1.0 - 2.0**-24


# --------------------------------------------------------------------------- limits
# The schedule classes check their arguments against these limits, so that
# no formula is ever asked for something its arithmetic cannot hold.


def check_horizon(name: str, value: Any, *, offset: int = 0, zero: bool = False) -> float:
    """Checks a length or boundary in steps: `> 0`, and its last step exact (int32).

    A horizon past `2**31 - 1` would be cut silently: steps saturate there,
    so a `WarmupCosine(1e-3, 10**12)` would stay near its peak for ever.

    Args:
        name: the argument's name, for the message.
        value: the number of steps (a whole or fractional number).
        offset: how far before `value` its last step lies (1 for a length
            whose last step is `value - 1`, as `OneCycle`'s `total_steps`).
        zero: whether 0 is allowed (an optional warmup or hold).

    Returns:
        `value` as a float.

    Raises:
        ValueError: naming the argument and the limit `2**31 - 1`.
    """
    result = check.non_negative(name, value) if zero else check.positive(name, value)
    if result - offset > INT32_MAX:
        limit = INT32_MAX + offset
        check.fail(
            name,
            f"<= {limit} (the last step keras_lr schedules evaluate exactly is {INT32_MAX} = "
            "2**31 - 1, int32)",
            value,
        )
    return result


def check_lr(
    name: str,
    value: Any,
    *,
    zero: bool = False,
    derived: float | None = None,
    what: str | None = None,
    reason: str = "the optimizer's learning rate is float32",
) -> float:
    """Checks a learning rate: `> 0` (or `>= 0`) and at most `FLOAT32_MAX`.

    The optimizer holds the LR in float32, where anything past `FLOAT32_MAX`
    is inf. (A positive LR below float32's range becomes 0 or a subnormal,
    which is what such a tiny LR does anyway, so it is accepted.)

    Args:
        name: the argument's name, for the message.
        value: the argument's value.
        zero: whether 0 is allowed (a floor, the start of a warmup).
        derived: a value computed from `value` (`max_lr / div_factor`) to
            check instead of `value` itself; `what` describes it.
        what: the description of `derived`, for the message.
        reason: why float32 is the limit, for the message.

    Returns:
        `value` as a float.

    Raises:
        ValueError: naming the argument and float32's largest value.
    """
    result = check.non_negative(name, value) if zero else check.positive(name, value)
    checked = result if derived is None else derived
    if checked > FLOAT32_MAX:
        subject = "" if what is None else f"such that {what} (= {checked:.6g}) is "
        check.fail(
            name, f"{subject}<= {FLOAT32_MAX:.8g}, float32's largest value ({reason})", value
        )
    return result


def shortest_restart_cycle(decay_steps: float, cycles: int, cycle_mul: float) -> float:
    """The length of the shortest cycle of `cosine_restarts`, without overflow.

    The lengths form a geometric series `L0 * cycle_mul**i` that sums to
    `decay_steps`: the shortest is the first (`cycle_mul > 1`) or the last
    (`cycle_mul < 1`). Computed in logarithms, so that `cycle_mul**cycles`
    never overflows.
    """
    if cycle_mul == 1.0 or cycles == 1:
        return decay_steps / cycles
    try:  # as `_restart_tables` computes it
        first = decay_steps * (cycle_mul - 1.0) / (cycle_mul**cycles - 1.0)
        return first if cycle_mul > 1 else first * cycle_mul ** (cycles - 1)
    except (OverflowError, ZeroDivisionError):
        pass
    log_mul = math.log(cycle_mul)
    x = cycles * log_mul
    # log |cycle_mul**cycles - 1|
    log_span = x + math.log(-math.expm1(-x)) if x > 0 else math.log(-math.expm1(x))
    log_first = math.log(decay_steps) + math.log(abs(cycle_mul - 1.0)) - log_span
    log_shortest = log_first if cycle_mul > 1 else log_first + (cycles - 1) * log_mul
    return math.exp(min(log_shortest, 700.0))


# --------------------------------------------------------------------------- the split step


class _Step:
    """A step as `whole + frac`: an int32 tensor `>= 0` and a float32 fraction.

    `frac` is None for an integer step (the usual case: the optimizer's
    counter), else a float32 tensor in [0, 1) shaped like `whole`.
    """

    __slots__ = ("whole", "frac")

    def __init__(self, whole: Any, frac: Any = None) -> None:
        self.whole = whole
        self.frac = frac


def _split(step: Any) -> _Step:
    """Splits a step (number, array, tensor, variable) into whole steps and a fraction."""
    if isinstance(step, _Step):
        return step
    if isinstance(step, (int, float, list, tuple, np.ndarray, np.generic)):
        return _split_host(np.asarray(step))
    dtype = keras.backend.standardize_dtype(step.dtype)
    if dtype == "bool" or "int" in dtype:
        if dtype in ("int64", "uint32", "uint64"):
            step = ops.clip(step, 0, INT32_MAX)
        return _Step(ops.maximum(ops.cast(step, "int32"), 0))
    # A float step: floor it in its own precision (float64 where the backend has it).
    x = ops.maximum(step if dtype == "float64" else ops.cast(step, "float32"), 0.0)
    whole = ops.floor(x)
    frac = ops.cast(x - whole, "float32")
    if dtype == "float64":
        return _Step(ops.cast(ops.minimum(whole, float(INT32_MAX)), "int32"), frac)
    # float32 steps from 2**31 on saturate at 2**31 - 1, as integer steps do.
    beyond = ops.cast(whole > _F32_BELOW_2_31, "int32") * (INT32_MAX - int(_F32_BELOW_2_31))
    return _Step(ops.cast(ops.minimum(whole, _F32_BELOW_2_31), "int32") + beyond, frac)


def _split_host(steps: np.ndarray) -> _Step:
    """`_split` of host-side steps, done in numpy (an int64 array would wrap on JAX)."""
    if steps.dtype.kind in "iub":
        return _Step(ops.convert_to_tensor(np.clip(steps, 0, INT32_MAX).astype("int32")))
    x = np.clip(steps.astype("float64"), 0.0, float(INT32_MAX))
    whole = np.floor(x)
    frac = x - whole
    whole = ops.convert_to_tensor(whole.astype("int32"))
    if not np.any(frac):
        return _Step(whole)
    return _Step(whole, ops.convert_to_tensor(frac.astype("float32")))


def _float(s: _Step) -> Any:
    """The step as one float32 tensor (rounded past 2**24)."""
    t = ops.cast(s.whole, "float32")
    return t if s.frac is None else t + s.frac


def _tensor(s: _Step) -> Any:
    """The step for a user's schedule: int32 when it is whole, else float32."""
    return s.whole if s.frac is None else _float(s)


def _zeros(s: _Step) -> Any:
    """A float32 zero tensor shaped like the step."""
    return ops.zeros_like(s.whole, dtype="float32")


def _fill(like: Any, value: Any) -> Any:
    """A tensor shaped like `like` holding `value` (a number or a tensor)."""
    return ops.zeros_like(like) + value


def _parts(b: float) -> tuple[int, float]:
    """A Python number as an integer and a fraction in [0, 1), both exact."""
    whole = math.floor(b)
    return whole, float(b - whole)


def _at_least(s: _Step, b: float) -> Any:
    """`s >= b` for a Python number `b`, exact."""
    whole, frac = _parts(b)
    if whole < 0:
        return s.whole >= 0
    if whole > INT32_MAX:
        return s.whole < 0
    if frac == 0.0:
        return s.whole >= whole
    if s.frac is None:
        return s.whole > whole
    return ops.logical_or(
        s.whole > whole, ops.logical_and(s.whole == whole, s.frac >= frac)
    )


def _after(s: _Step, b: float) -> Any:
    """`s > b` for a Python number `b`, exact."""
    whole, frac = _parts(b)
    if whole < 0:
        return s.whole >= 0
    if whole > INT32_MAX:
        return s.whole < 0
    if s.frac is None:
        return s.whole > whole
    return ops.logical_or(s.whole > whole, ops.logical_and(s.whole == whole, s.frac > frac))


def _count_reached(s: _Step, bounds: Sequence[float]) -> Any:
    """How many of the increasing `bounds` are `<= s`: an int32 index, exact."""
    bounds = [b for b in bounds if b <= INT32_MAX]
    count = ops.zeros_like(s.whole)
    if not bounds:
        return count
    if s.frac is None:  # an integer reaches b from ceil(b) on
        table = ops.convert_to_tensor(np.asarray([max(math.ceil(b), 0) for b in bounds], "int32"))
        return ops.sum(ops.cast(ops.expand_dims(s.whole, -1) >= table, "int32"), axis=-1)
    parts = [_parts(max(b, 0.0)) for b in bounds]
    wholes = ops.convert_to_tensor(np.asarray([w for w, _ in parts], "int32"))
    fracs = ops.convert_to_tensor(np.asarray([f for _, f in parts], "float32"))
    w, f = ops.expand_dims(s.whole, -1), ops.expand_dims(s.frac, -1)
    reached = ops.logical_or(w > wholes, ops.logical_and(w == wholes, f >= fracs))
    return ops.sum(ops.cast(reached, "int32"), axis=-1)


def _since(s: _Step, b: float) -> Any:
    """`s - b` as float32, from an exact integer difference (so exact near `b`)."""
    whole, frac = _parts(b)
    if not 0 <= whole <= INT32_MAX:
        return _float(s) - b
    t = ops.cast(s.whole - whole, "float32")
    if s.frac is not None:
        return t + (s.frac - frac)
    return t - frac if frac else t


def _minus(s: _Step, b: float) -> _Step:
    """The step `max(s - b, 0)`, exact, for a Python number `b`."""
    if b <= 0:
        return s if b == 0 else _split(_float(s) - b)
    whole, frac = _parts(b)
    if whole > INT32_MAX:
        return _Step(ops.zeros_like(s.whole), None if s.frac is None else _zeros(s))
    if frac == 0.0:
        rest = ops.maximum(s.whole - whole, 0)
        if s.frac is None:
            return _Step(rest)
        return _Step(rest, ops.where(s.whole >= whole, s.frac, 0.0))
    f = (_zeros(s) if s.frac is None else s.frac) - frac
    borrow = f < 0.0
    f = ops.where(borrow, ops.minimum(f + 1.0, _F32_BELOW_ONE), f)
    rest = s.whole - whole - ops.cast(borrow, "int32")
    before = rest < 0
    return _Step(ops.where(before, 0, rest), ops.where(before, 0.0, f))


def _at_most(s: _Step, b: int) -> _Step:
    """The step `min(s, b)` for a whole number `b >= 0`."""
    if b > INT32_MAX:
        return s
    whole = ops.minimum(s.whole, b)
    if s.frac is None:
        return _Step(whole)
    return _Step(whole, ops.where(s.whole >= b, 0.0, s.frac))


def _divmod(s: _Step, length: float) -> tuple[Any, _Step]:
    """`(floor(s / length), s mod length)`: a float32 quotient and the remainder step.

    Exact for a whole `length` (integer division of the int32 step). A
    fractional `length` falls back to float32 division of the step.
    """
    if length > INT32_MAX:
        return _zeros(s), s
    if float(length).is_integer():
        n = int(length)
        quotient = ops.floor_divide(s.whole, n)
        return ops.cast(quotient, "float32"), _Step(s.whole - quotient * n, s.frac)
    t = _float(s)
    quotient = ops.floor(t / length)
    rest = t - quotient * length
    quotient = ops.where(
        rest < 0.0, quotient - 1.0, ops.where(rest >= length, quotient + 1.0, quotient)
    )
    return quotient, _split(ops.clip(t - quotient * length, 0.0, length))


def _call(schedule: StepFn) -> Callable[[_Step], Any]:
    """A user's schedule as a function of a split step.

    A `LearningRateSchedule` gets an int32 step when the step is whole, as
    the optimizer passes it; a plain function gets a float32 step.
    """
    if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        return lambda s: schedule(_tensor(s))
    return lambda s: schedule(_float(s))


def as_step(step: Any) -> Any:
    """Casts a step (number, array, tensor or variable) to a float32 tensor.

    For functions written for a float step (`keras_lr.schedules.Lambda`):
    exact below `2**24`; integer steps past `2**31 - 1` are kept as they are.
    """
    if isinstance(step, (int, float, list, tuple, np.ndarray, np.generic)):
        return ops.convert_to_tensor(np.asarray(step, dtype="float32"))
    return ops.cast(step, "float32")


def _pow(base: float, exponent: Any) -> Any:
    """`base ** exponent` for a positive Python `base` and a float tensor exponent.

    Written as `exp(exponent * log(base))`: exact enough in float32, and it
    underflows to 0 instead of producing NaN for huge exponents.
    """
    if base == 1.0:
        return ops.ones_like(exponent)
    return ops.exp(exponent * math.log(base))


def _interpolate(start_lr: Any, end_lr: Any, done: Any, left: Any) -> Any:
    """`start_lr + (end_lr - start_lr) * done`, where `done + left = 1`.

    Each of the two algebraically equal forms is evaluated on the half where
    it does not cancel, so the LR is exact to float32 precision at both ends,
    even when one end is tiny next to the other (`left` is computed from the
    steps left, not as `1 - done`).
    """
    near_start = start_lr + (end_lr - start_lr) * done
    near_end = end_lr + (start_lr - end_lr) * left
    return ops.where(left >= 0.5, near_start, near_end)


def _half_cosine(fraction: Any) -> Any:
    """`(1 - cos(pi * fraction)) / 2`, as `sin(pi * fraction / 2) ** 2` (no cancellation)."""
    return ops.square(ops.sin((math.pi / 2.0) * fraction))


# --------------------------------------------------------------------------- formulas


def constant(step: Any, value: float) -> Any:
    """`lr(t) = value`."""
    return _zeros(_split(step)) + value


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

    `floor(t / decay_steps)` is an integer division, so every staircase level
    starts at its exact step for a whole `decay_steps`; a fractional
    `decay_steps` divides in float32 (exact below `2**24`).
    """
    levels, rest = _divmod(_split(step), decay_steps)
    p = levels if staircase else levels + _float(rest) / decay_steps
    lr = initial_lr * _pow(decay_rate, p)
    return ops.maximum(lr, min_lr)


@check.renamed_keyword("decay_steps", "total_steps", "polynomial")
def polynomial(
    step: Any,
    initial_lr: float,
    total_steps: float,
    end_lr: float = 0.0,
    power: float = 1.0,
) -> Any:
    """Polynomial decay from `initial_lr` to `end_lr` over `total_steps`.

    .. math::
        lr(t) = (initial\\_lr - end\\_lr)\\,(1 - \\min(t, D)/D)^{power} + end\\_lr

    This equals Keras' `PolynomialDecay(cycle=False)`. With `power=1` it is a
    linear ramp, which may go up as well as down; after `total_steps` it holds
    `end_lr`. (`total_steps` was called `decay_steps` before; the old keyword
    still works, with a DeprecationWarning.)
    """
    s = _split(step)
    # The steps done and the steps left, each from an exact integer difference.
    done = ops.clip(_float(s), 0.0, float(total_steps)) / total_steps
    remaining = ops.clip(-_since(s, total_steps), 0.0, float(total_steps)) / total_steps
    if power != 1.0:
        # 1 - (1 - done)**power, without cancellation when `done` is small.
        done = -ops.expm1(power * ops.log1p(-ops.minimum(done, 1.0)))
        remaining = ops.power(remaining, power)
    return _interpolate(initial_lr, end_lr, done, remaining)


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
    The piece is chosen by exact comparisons of the integer step.
    """
    index = _count_reached(_split(step), boundaries)
    return ops.take(ops.convert_to_tensor(np.asarray(values, "float32")), index)


@check.renamed_keyword("step_size", "decay_steps", "step_decay")
def step_decay(
    step: Any, initial_lr: float, decay_steps: float, gamma: float, min_lr: float = 0.0
) -> Any:
    """Step decay: multiply by `gamma` every `decay_steps` steps, with a floor.

    `lr(t) = max(min_lr, initial_lr * gamma ** floor(t / decay_steps))`: PyTorch's
    `StepLR` and d2l's `FactorScheduler`. It is the staircase `exponential()`.
    (`decay_steps` was called `step_size` before; the old keyword still works,
    with a DeprecationWarning.)
    """
    return exponential(step, initial_lr, gamma, decay_steps, min_lr, staircase=True)


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
    the budget. The cycle starts are computed once in float64 (they are
    fixed by the hyperparameters) and compared exactly with the integer step,
    so each restart happens at its exact step, also near `2**31` and for
    `cycle_mul` close to 1.
    """
    starts, lengths, peaks = _restart_tables(
        peak_lr, decay_steps, min_lr, cycles, cycle_mul, peak_mul
    )
    s = _split(step)
    ends = starts[1:] + [float(decay_steps)]
    if cycles == 1:
        elapsed, left = _float(s), -_since(s, decay_steps)
        length, peak = lengths[0], peaks[0]
    else:
        index = _count_reached(s, starts[1:])
        elapsed = _since_table(s, starts, index)
        left = -_since_table(s, ends, index)
        length = ops.take(ops.convert_to_tensor(np.asarray(lengths, "float32")), index)
        peak = ops.take(ops.convert_to_tensor(np.asarray(peaks, "float32")), index)
    done = _half_cosine(ops.clip(elapsed / length, 0.0, 1.0))
    left = _half_cosine(ops.clip(left / length, 0.0, 1.0))
    lr = ops.maximum(_interpolate(peak, min_lr, done, left), min_lr)
    return ops.where(_at_least(s, decay_steps), min_lr, lr)


def _since_table(s: _Step, bounds: Sequence[float], index: Any) -> Any:
    """`s - bounds[index]` as float32, from an exact integer difference."""
    parts = [_parts(min(max(b, 0.0), float(INT32_MAX))) for b in bounds]
    whole = ops.take(ops.convert_to_tensor(np.asarray([w for w, _ in parts], "int32")), index)
    frac = ops.take(ops.convert_to_tensor(np.asarray([f for _, f in parts], "float32")), index)
    elapsed = ops.cast(s.whole - whole, "float32") - frac
    return elapsed if s.frac is None else elapsed + s.frac


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
    pieces: list[Callable[[_Step], Any]] = []
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
    return _join(_split(step), pieces, boundaries[: len(pieces) - 1])


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
    `scale_mode="iterations"`, both float32 tensors. `scale_fn=None` is the
    triangular policy. (PyTorch writes `h` with `x = 1 + t/T - cycle`, which
    is the same.) For a whole `T` the cycle and the step inside it are an
    integer division and remainder, exact up to `2**31 - 1`; a fractional
    `T` divides in float32 (exact below `2**24`, in range above).
    """
    up = float(step_size)
    down = up if step_size_down is None else float(step_size_down)
    total = up + down
    s = _split(step)
    index, offset = _divmod(s, total)
    rising = ops.logical_not(_after(offset, up))
    height = ops.where(rising, _float(offset) / up, -_since(offset, total) / down)
    height = ops.clip(height, 0.0, 1.0)
    scale_fn = scale_fn or triangular_scale
    amplitude = scale_fn(index + 1.0 if scale_mode == "cycle" else _float(s))
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
    (`end + (start - end) / 2 * (1 + cos(pi * pct))`, evaluated without
    cancellation at either end) or linearly. Phases
    are `initial -> max -> final` or, with `three_phase`,
    `initial -> max -> initial -> final`. Past `total_steps - 1` the final
    value is held (PyTorch raises instead). The phase ends are compared
    exactly with the integer step.
    """
    initial = max_lr / div_factor
    final = initial / final_div_factor
    ends = _one_cycle_ends(total_steps, pct_start, three_phase)
    values = [initial, max_lr, initial, final] if three_phase else [initial, max_lr, final]
    return _anneal_phases(step, total_steps, ends, values, anneal_strategy)


def _join(s: _Step, pieces: Sequence[Callable[[_Step], Any]], boundaries: Sequence[float]) -> Any:
    """`join()` of functions of a split step."""
    lr = pieces[0](s)
    for boundary, piece in zip(boundaries, pieces[1:]):
        lr = ops.where(_at_least(s, boundary), piece(_minus(s, boundary)), lr)
    return lr


def join(step: Any, schedules: Sequence[StepFn], boundaries: Sequence[float]) -> Any:
    """Joins schedules at step boundaries, as optax's `join_schedules`.

    `schedules[0]` runs until `boundaries[0]`; from `boundaries[i-1]` on,
    `schedules[i]` runs and sees the shifted step `t - boundaries[i-1]` (for a
    `LearningRateSchedule`, an int32 tensor when it is a whole number: exact
    up to `2**31 - 1`).
    """
    return _join(_split(step), [_call(schedule) for schedule in schedules], boundaries)


def warmup(step: Any, schedule: StepFn, warmup_steps: float, start_lr: float = 0.0) -> Any:
    """Puts a linear warmup in front of any schedule.

    For `t < W` the LR rises linearly from `start_lr` to `schedule(0)`; from `W`
    on it is `schedule(t - W)`. The wrapped schedule starts where warmup ends.
    """
    s = _split(step)
    inner = _call(schedule)
    if warmup_steps <= 0:
        return inner(s)
    target = inner(_Step(ops.zeros_like(s.whole)))
    return _join(s, [lambda t: linear(t, start_lr, target, warmup_steps), inner], [warmup_steps])


def shift(step: Any, schedule: StepFn, offset: float) -> Any:
    """`schedule(max(t - offset, 0))`: a schedule that starts at step `offset`."""
    return _call(schedule)(_minus(_split(step), offset))


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
    last = int(num_steps) - 1
    i = _at_most(_split(step), last)
    if mode == "linear":
        return linear(i, start_lr, end_lr, last)
    return exponential(i, start_lr, end_lr / start_lr, last)


# --------------------------------------------------------------------------- momentum


def _one_cycle_ends(total_steps: float, pct_start: float, three_phase: bool) -> list[float]:
    """The last step of each one-cycle phase, as PyTorch's `OneCycleLR` places them."""
    ends = [float(pct_start * total_steps) - 1.0]
    if three_phase:
        ends.append(float(2 * pct_start * total_steps) - 2.0)
    return ends + [float(total_steps) - 1.0]


def _anneal_phases(
    step: Any, total_steps: float, ends: Sequence[float], values: Sequence[float], anneal_strategy: str
) -> Any:
    """Consecutive annealing phases, held at the last value after `total_steps - 1`.

    Phase `i` ends at step `ends[i]` and goes from `values[i]` to
    `values[i + 1]`, by cosine (`end + (start - end) / 2 * (1 + cos(pi * pct))`,
    evaluated without cancellation at either end) or linearly; at a step the
    first phase whose end is `>= t` applies (PyTorch's rule). The phase ends
    are compared exactly with the integer step.
    """
    t = _at_most(_split(step), math.ceil(total_steps) - 1)
    value = _fill(_zeros(t), values[-1])
    start_step = 0.0
    pieces = []
    for end_step, start_value, end_value in zip(ends, values[:-1], values[1:]):
        length = end_step - start_step
        pct = ops.clip(_since(t, start_step) / length, 0.0, 1.0)
        rest = ops.clip(-_since(t, end_step) / length, 0.0, 1.0)
        if anneal_strategy == "cos":
            pct, rest = _half_cosine(pct), _half_cosine(rest)
        pieces.append((end_step, _interpolate(start_value, end_value, pct, rest)))
        start_step = end_step
    for end_step, piece in reversed(pieces):
        value = ops.where(ops.logical_not(_after(t, end_step)), piece, value)
    return value


def one_cycle_momentum(
    step: Any,
    total_steps: float,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
    three_phase: bool = False,
) -> Any:
    """The momentum of the one-cycle policy, as PyTorch's `OneCycleLR(cycle_momentum=True)`.

    The phases of `one_cycle()` (same ends, same annealing), with the
    momentum going the other way (Smith 2018, "A disciplined approach to
    neural network hyper-parameters", section 4): `max -> base` while the LR
    rises, then `base -> max` while it falls; with `three_phase`,
    `max -> base`, `base -> max`, then held at `max` during the final
    annihilation. Past `total_steps - 1`, `max_momentum` is held.

    This is not the LR curve mirrored between its bounds: in the two-phase
    policy the LR falls below its initial value (to `initial / final_div_factor`)
    while the momentum only returns to `max_momentum`.
    """
    ends = _one_cycle_ends(total_steps, pct_start, three_phase)
    if three_phase:
        values = [max_momentum, base_momentum, max_momentum, max_momentum]
    else:
        values = [max_momentum, base_momentum, max_momentum]
    return _anneal_phases(step, total_steps, ends, values, anneal_strategy)


def cyclic_momentum(
    step: Any,
    base_momentum: float,
    max_momentum: float,
    step_size: float,
    step_size_down: float | None = None,
    scale_fn: Callable[[Any], Any] | None = None,
    scale_mode: str = "cycle",
) -> Any:
    """The momentum of a cyclical LR, as PyTorch's `CyclicLR(cycle_momentum=True)`.

    The same cycle, height `h` and amplitude as `cyclic()`, going the other way:

    .. math::
        m = max\\_momentum - (max\\_momentum - base\\_momentum)\\cdot h \\cdot scale\\_fn(z)

    so the momentum is `max_momentum` where the LR is `base_lr` and
    `base_momentum` where the LR peaks. It is `cyclic()` run from
    `max_momentum` towards `base_momentum`.
    """
    return cyclic(step, max_momentum, base_momentum, step_size, step_size_down, scale_fn, scale_mode)
