"""Keras `LearningRateSchedule` classes over `keras_lr.schedule_math`.

Each class checks its arguments once, keeps one attribute per constructor
argument, and evaluates one function of `keras_lr.schedule_math`. Each is
registered for Keras serialization under the package name `keras_lr`, so a model
compiled with one survives `model.save("m.keras")` and
`keras.saving.load_model`.

A schedule is a function of the 0-based optimizer step `t`: `schedule(t)` is
the LR of update `t`. Called with the optimizer's integer step (or `values()`
of whole numbers), it is exact up to `2**31 - 1`, also inside `jax.jit`
without x64; whole-number lengths and boundaries are exact even when given as
floats, and a genuinely fractional period is exact only below `2**24`. What
that means, and the equivalences with PyTorch's and Keras' schedules:
[the schedules guide](../guide/schedules.md).

So a schedule never promises what it cannot give: a length or boundary
whose last step lies past `2**31 - 1` is refused (its steps would saturate
there), as are a cosine cycle or a `Cyclic` half-cycle shorter than one step
(it would fall between two steps) and a learning rate past float32's largest
value (inf in the optimizer). A user's function cannot be checked at
construction: `check_lr_values` checks it over the steps of a `fit`
(`ScheduleCallback` does so before training).

Example:

>>> import keras, keras_lr
>>> schedule = keras_lr.schedules.WarmupCosine(
...     peak_lr=1e-3, total_steps=10_000, warmup_steps=500, min_lr=1e-5)
>>> optimizer = keras.optimizers.Adam(learning_rate=schedule)
>>> schedule.values([0, 250, 500, 10_000]).round(7)  # host-side preview (float32 math)
array([0.e+00, 5.e-04, 1.e-03, 1.e-05])
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_lr import _validation as check
from keras_lr import schedule_math

__all__ = [
    "Schedule",
    "Constant",
    "Exponential",
    "ExponentialDecay",
    "StepDecay",
    "Polynomial",
    "Piecewise",
    "WarmupCosine",
    "Cyclic",
    "OneCycle",
    "OneCycleMomentum",
    "CyclicMomentum",
    "Warmup",
    "Join",
    "Lambda",
    "Scaled",
    "CYCLIC_MODES",
    "evaluate",
    "check_lr_values",
]

CYCLIC_MODES = ("triangular", "triangular2", "exp_range")
_register = keras.saving.register_keras_serializable(package="keras_lr")


def step_dtype(schedule: Callable[[Any], Any]) -> str:
    """The dtype of whole-number steps for `schedule`: `"int32"` for a `LearningRateSchedule`
    (the optimizer passes it its integer step), `"float32"` for a plain function."""
    if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        return "int32"
    return "float32"


def evaluate(schedule: Callable[[Any], Any], steps: Any) -> np.ndarray:
    """Evaluates any schedule (a function of the step) on host-side steps.

    keras_lr's schedules take a whole array of steps in one vectorized call.
    A schedule that only takes a scalar step (Keras' `CosineDecay` with
    warmup uses `ops.cond`, for example) is evaluated step by step instead.
    A `LearningRateSchedule` gets whole-number steps as an int32 tensor, as
    the optimizer passes its integer step, so keras_lr's schedules are exact
    up to `2**31 - 1`. Steps beyond the int32 range, fractional steps, and
    every step for a plain function are passed as float32.

    Args:
        schedule: a `LearningRateSchedule` or any function of a step tensor.
        steps: a number or array-like of (0-based) optimizer steps.

    Returns:
        A float64 numpy array shaped like `steps`.
    """
    return _by_step_dtype(_evaluate_vectorized, schedule, steps)


def evaluate_per_step(schedule: Callable[[Any], Any], steps: Any) -> np.ndarray:
    """`evaluate()` for a schedule that only takes a scalar step: one call per step."""
    return _by_step_dtype(_evaluate_one_by_one, schedule, steps)


def _by_step_dtype(
    run: Callable[[Callable[[Any], Any], np.ndarray], np.ndarray],
    schedule: Callable[[Any], Any],
    steps: Any,
) -> np.ndarray:
    """Calls `run` on int32 steps where the steps are whole numbers in the int32 range.

    Only for a `LearningRateSchedule`; a plain function gets float32 steps.

    An int64 array would wrap silently on JAX (32-bit without x64), and a
    float32 step is exact only below 2**24.
    """
    steps = np.asarray(steps)
    if steps.dtype.kind not in "iubf":
        steps = steps.astype("float64")
    integer_steps = step_dtype(schedule) == "int32"
    whole = integer_steps and (
        steps.dtype.kind in "iub" or bool(np.all(np.floor(steps) == steps))
    )
    # Compared in float64: float32(2**31 - 1) is 2**31, which int32 cannot hold.
    magnitude = np.abs(steps.astype("float64"))
    fits = magnitude <= schedule_math.INT32_MAX if whole else np.zeros(steps.shape, bool)
    if np.all(fits):
        return run(schedule, steps.astype("int32"))
    if not np.any(fits):
        return run(schedule, steps.astype("float32"))
    out = np.empty(steps.shape, dtype="float64")
    out[fits] = run(schedule, steps[fits].astype("int32"))
    out[~fits] = run(schedule, steps[~fits].astype("float32"))
    return out


def _evaluate_vectorized(schedule: Callable[[Any], Any], steps: np.ndarray) -> np.ndarray:
    """One call on the whole array of steps, or one per step if that fails."""
    try:
        values = np.asarray(ops.convert_to_numpy(schedule(ops.convert_to_tensor(steps))))
        return np.broadcast_to(values, steps.shape).astype("float64")
    except Exception:  # the schedule is not vectorized: one call per step
        return _evaluate_one_by_one(schedule, steps)


def _evaluate_one_by_one(schedule: Callable[[Any], Any], steps: np.ndarray) -> np.ndarray:
    """One call per (scalar) step."""
    flat = [
        float(ops.convert_to_numpy(schedule(ops.convert_to_tensor(step))))
        for step in steps.reshape(-1)
    ]
    return np.asarray(flat, dtype="float64").reshape(steps.shape)


#: At most this many steps are evaluated by `check_lr_values` (evenly spread, ends included).
MAX_CHECKED_STEPS = 100_000
#: At most this many, for a schedule that only takes a scalar step (one call per step,
#: each a fraction of a second on JAX): the first, the middle and the last.
MAX_CHECKED_STEPS_ONE_BY_ONE = 3


def check_lr_values(schedule: Callable[[Any], Any], steps: Any, owner_name: str) -> None:
    """Refuses a schedule whose learning rate is NaN, infinite or negative at one of `steps`.

    A user's function (`Lambda`, a plain function given to `ScheduleCallback`,
    one wrapped by `Warmup`, `Join` or `Scaled`) can return anything; an LR of
    NaN makes every weight NaN after one update, a negative LR climbs the
    loss. This evaluates the schedule once on the host, vectorized, over the
    steps that are about to be trained (`ScheduleCallback` calls it at
    `on_train_begin` with the steps of that `fit`), so the mistake is caught
    before training starts. Over `MAX_CHECKED_STEPS` steps, that many
    evenly spread steps (the first and last included) are checked; a schedule
    that only takes a scalar step (Keras' `CosineDecay` with warmup) is
    checked at its first, middle and last step only.

    What this cannot catch: a schedule given directly to an optimizer (no
    callback sees it before training); steps beyond the `fit`'s known length
    (a dataset of unknown cardinality: only the first step of each epoch's
    worth is known, so only `epochs` steps from the optimizer's are checked);
    values between the sampled steps of a very long `fit` or of a
    scalar-only schedule; a schedule that cannot be called on host-side
    steps at all (left to `fit`); and an LR that is finite but absurd (`1e6`).

    Args:
        schedule: a `LearningRateSchedule` or a function of the step.
        steps: the 0-based steps (or epochs) to check.
        owner_name: who uses the schedule, for the message
            (`"ScheduleCallback"`).

    Raises:
        ValueError: naming the first bad step and its value.

    Example:

    >>> bad = keras_lr.schedules.Lambda(lambda t: 0.1 - 0.01 * t)
    >>> keras_lr.schedules.check_lr_values(bad, range(20), "example")
    Traceback (most recent call last):
    ...
    ValueError: Argument `schedule` must give a finite learning rate >= 0 ...
    """
    steps = np.asarray(steps).reshape(-1)
    if steps.size == 0:
        return
    if steps.size > MAX_CHECKED_STEPS:
        steps = _spread(steps, MAX_CHECKED_STEPS)
    try:
        values = _by_step_dtype(_evaluate_at_once, schedule, steps)
    except Exception:  # only takes a scalar step: check fewer steps, one by one
        steps = _spread(steps, MAX_CHECKED_STEPS_ONE_BY_ONE)
        try:
            values = evaluate_per_step(schedule, steps)
        except Exception:  # not callable on host-side steps: training reports its own error
            return
    bad = ~(np.isfinite(values) & (values >= 0))
    if np.any(bad):
        first = int(np.argmax(bad))
        count = int(np.count_nonzero(bad))
        raise ValueError(
            f"Argument `schedule` must give a finite learning rate >= 0 at every step, but "
            f"{owner_name}'s schedule gives lr={float(values[first])!r} at step "
            f"{int(steps[first])} (a NaN, infinite or negative LR at {count} of the "
            f"{steps.size} steps checked), which would ruin the weights in training. "
            f"Received: schedule={_short_repr(schedule)}"
        )


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else f"{text[:100]}..."


def _spread(steps: np.ndarray, count: int) -> np.ndarray:
    """At most `count` of `steps`, evenly spread, the first and last included."""
    if steps.size <= count:
        return steps
    return steps[np.unique(np.linspace(0, steps.size - 1, count).round().astype("int64"))]


def _evaluate_at_once(schedule: Callable[[Any], Any], steps: np.ndarray) -> np.ndarray:
    """One vectorized call; raises if the schedule does not take an array of steps."""
    values = np.asarray(ops.convert_to_numpy(schedule(ops.convert_to_tensor(steps))))
    return np.broadcast_to(values, steps.shape).astype("float64")


class Schedule(keras.optimizers.schedules.LearningRateSchedule):
    """Base class of the keras_lr schedules.

    A subclass checks its arguments in `__init__` and keeps one attribute per
    argument, with the same name. By default its config is exactly those
    attributes, and `__call__(step)` is its `formula` (a function of
    `keras_lr.schedule_math`) called with the step and the config.
    """

    formula: Callable[..., Any] | None = None

    def __call__(self, step: Any) -> Any:
        return type(self).formula(step, **self.get_config())

    def get_config(self) -> dict[str, Any]:
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in list(names)[1:]}

    def values(self, steps: Any) -> np.ndarray:
        """The learning rate at each of `steps`, computed on the host.

        Args:
            steps: a number or array-like of 0-based optimizer steps.

        Returns:
            A float64 numpy array shaped like `steps`.

        Example:

        >>> keras_lr.schedules.Constant(0.1).values(range(3))
        array([0.1, 0.1, 0.1])
        """
        return evaluate(self, steps)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@_register
class Constant(Schedule):
    """A constant learning rate: `lr(t) = value`.

    Args:
        value: the learning rate, `> 0`.

    Example:

    >>> keras_lr.schedules.Constant(1e-3).values([0, 10**9])
    array([0.001, 0.001])
    """

    formula = staticmethod(schedule_math.constant)

    def __init__(self, value: float) -> None:
        self.value = schedule_math.check_lr("value", value)


@_register
class Exponential(Schedule):
    """Exponential decay with a floor.

    ```
    lr(t) = max(min_lr, initial_lr * decay_rate ** (t / decay_steps))
    ```
    where `t / decay_steps` is floored when `staircase=True`.

    Args:
        initial_lr: the LR at step 0, `> 0`.
        decay_rate: the factor per `decay_steps`, in (0, 1].
        decay_steps: steps per factor of `decay_rate`, `> 0`. Defaults to 1.
        min_lr: the floor, `>= 0` and `<= initial_lr`. Defaults to 0.
        staircase: whether to decay in discrete jumps. Defaults to True, as
            the `ExponentialLR` callback.

    Note the order and defaults differ from Keras' `ExponentialDecay(
    initial_learning_rate, decay_steps, decay_rate, staircase=False)`: here
    `decay_rate` comes second and `staircase` defaults to True. (This class
    was called `ExponentialDecay` before; that name stays one release as a
    deprecated alias.)

    Example:

    >>> s = keras_lr.schedules.Exponential(0.1, 0.5, min_lr=0.02)
    >>> s.values([0, 1, 2, 3])
    array([0.1  , 0.05 , 0.025, 0.02 ])
    """

    formula = staticmethod(schedule_math.exponential)

    def __init__(
        self,
        initial_lr: float,
        decay_rate: float,
        decay_steps: float = 1,
        min_lr: float = 0.0,
        staircase: bool = True,
    ) -> None:
        self.initial_lr = schedule_math.check_lr("initial_lr", initial_lr)
        self.decay_rate = check.positive("decay_rate", decay_rate)
        if self.decay_rate > 1:
            check.fail("decay_rate", "in (0, 1]", decay_rate)
        self.decay_steps = schedule_math.check_horizon("decay_steps", decay_steps)
        self.min_lr = schedule_math.check_lr("min_lr", min_lr, zero=True)
        if self.min_lr > self.initial_lr:
            check.fail("min_lr", f"<= initial_lr ({self.initial_lr})", min_lr)
        self.staircase = check.boolean("staircase", staircase)


@_register
class ExponentialDecay(Exponential):
    """Deprecated alias of `Exponential` (same arguments, same values).

    Kept for one release, registered under its old name so that a model saved
    with it still loads. Constructing it emits a `DeprecationWarning`.
    """

    @functools.wraps(Exponential.__init__)  # its signature, for inspect and the docs
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        check.warn_renamed("keras_lr.schedules.ExponentialDecay", "keras_lr.schedules.Exponential")
        super().__init__(*args, **kwargs)


@_register
class StepDecay(Schedule):
    """Step decay: multiply the LR by `gamma` every `decay_steps` steps, with a floor.

    ```
    lr(t) = max(min_lr, initial_lr * gamma ** floor(t / decay_steps))
    ```
    This is PyTorch's `StepLR` (plus the floor) and d2l's `FactorScheduler`.

    Args:
        initial_lr: the LR at step 0, `> 0`.
        decay_steps: steps between two decays (the period of one factor
            `gamma`, as in `Exponential`), `> 0`. Its former name `step_size`
            still works, with a DeprecationWarning.
        gamma: the factor applied at each decay, in (0, 1]. Defaults to 0.1.
        min_lr: the floor, `>= 0`. Defaults to 0.

    Example:

    >>> keras_lr.schedules.StepDecay(1.0, decay_steps=2, gamma=0.5).values(range(5))
    array([1.  , 1.  , 0.5 , 0.5 , 0.25])
    """

    formula = staticmethod(schedule_math.step_decay)

    @check.renamed_keyword("step_size", "decay_steps", "StepDecay")
    def __init__(
        self, initial_lr: float, decay_steps: float, gamma: float = 0.1, min_lr: float = 0.0
    ) -> None:
        self.initial_lr = schedule_math.check_lr("initial_lr", initial_lr)
        self.decay_steps = schedule_math.check_horizon("decay_steps", decay_steps)
        self.gamma = check.in_unit_interval("gamma", gamma, closed_low=False, closed_high=True)
        self.min_lr = schedule_math.check_lr("min_lr", min_lr, zero=True)
        if self.min_lr > self.initial_lr:
            check.fail("min_lr", f"<= initial_lr ({self.initial_lr})", min_lr)


@_register
class Polynomial(Schedule):
    """Polynomial (and, with `power=1`, linear) decay to `end_lr`.

    ```
    lr(t) = (initial_lr - end_lr) * (1 - min(t, total_steps) / total_steps) ** power + end_lr
    ```
    As Keras' `PolynomialDecay(cycle=False)`. `end_lr` may exceed
    `initial_lr`, which makes a linear ramp up.

    Args:
        initial_lr: the LR at step 0, `>= 0`.
        total_steps: the length of the decay: steps to reach `end_lr`, `> 0`
            (as `total_steps` of `WarmupCosine` and `OneCycle`). Its former
            name `decay_steps` still works, with a DeprecationWarning.
        end_lr: the LR from `total_steps` on, `>= 0`. Defaults to 0.
        power: the exponent, `> 0` (at least float32's smallest normal number).
            Defaults to 1 (linear).

    Example:

    >>> keras_lr.schedules.Polynomial(1.0, total_steps=4).values(range(6))
    array([1.  , 0.75, 0.5 , 0.25, 0.  , 0.  ])
    """

    formula = staticmethod(schedule_math.polynomial)

    @check.renamed_keyword("decay_steps", "total_steps", "Polynomial")
    def __init__(
        self, initial_lr: float, total_steps: float, end_lr: float = 0.0, power: float = 1.0
    ) -> None:
        self.initial_lr = schedule_math.check_lr("initial_lr", initial_lr, zero=True)
        self.total_steps = schedule_math.check_horizon("total_steps", total_steps)
        self.end_lr = schedule_math.check_lr("end_lr", end_lr, zero=True)
        self.power = schedule_math.check_lr("power", power, reason="the schedule computes in float32")
        if self.power < float(np.finfo("float32").tiny):  # 0 in float32: 0 * log(0) is NaN
            check.fail(
                "power",
                f">= {float(np.finfo('float32').tiny):.8g} (the smallest normal float32; "
                "the schedule computes in float32)",
                power,
            )
        if self.initial_lr == 0 and self.end_lr == 0:
            check.fail("end_lr", "> 0 when `initial_lr` is 0", end_lr)


def _half_cycle(name: str, value: Any) -> float:
    """A half-cycle of `Cyclic`: at least one step, and within the exact step range.

    A half-cycle shorter than one step falls between two steps: with
    `step_size=0.5` every step lands at the start of a cycle, and the LR
    never leaves `base_lr`.
    """
    result = schedule_math.check_horizon(name, value)
    if result < 1:
        check.fail(name, ">= 1 (a half-cycle shorter than one step is never sampled)", value)
    return result


def _check_boundaries(boundaries: Any) -> list[float]:
    """Step boundaries: a list of strictly increasing numbers `> 0`."""
    if isinstance(boundaries, (str, bytes)) or not isinstance(boundaries, Sequence):
        check.fail("boundaries", "a list of steps", boundaries)
    checked = [schedule_math.check_horizon("boundaries", b) for b in boundaries]
    if any(b >= c for b, c in zip(checked, checked[1:])):
        check.fail("boundaries", "strictly increasing", list(boundaries))
    return checked


@_register
class Piecewise(Schedule):
    """Piecewise-constant LR, changing AT each boundary (PyTorch `MultiStepLR`).

    `lr(t) = values[0]` for `t < boundaries[0]`, `values[i]` for
    `boundaries[i-1] <= t < boundaries[i]`, and `values[-1]` from
    `boundaries[-1]` on. (Keras' `PiecewiseConstantDecay` switches one step
    later, at `t > boundary`.)

    Args:
        boundaries: strictly increasing steps, each `> 0`.
        values: the LRs, one more than `boundaries`, each `> 0`.

    Example:

    >>> keras_lr.schedules.Piecewise([2, 4], [1.0, 0.1, 0.01]).values(range(5))
    array([1.  , 1.  , 0.1 , 0.1 , 0.01])
    """

    def __init__(self, boundaries: Sequence[float], values: Sequence[float]) -> None:
        self.boundaries = _check_boundaries(boundaries)
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            check.fail("values", "a list of learning rates", values)
        if len(values) != len(self.boundaries) + 1:
            check.fail(
                "values", f"a list of len(boundaries) + 1 = {len(self.boundaries) + 1} items", list(values)
            )
        # Stored as `lr_values`: `values` is the host-side evaluation method.
        self.lr_values = [schedule_math.check_lr("values", v) for v in values]

    def __call__(self, step: Any) -> Any:
        return schedule_math.piecewise(step, self.boundaries, self.lr_values)

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": list(self.boundaries), "values": list(self.lr_values)}


@_register
class WarmupCosine(Schedule):
    """Linear warmup, hold, then cosine decay with optional warm restarts.

    With `W = warmup_steps`, `H = hold_steps`, `D = total_steps - W - H`:

    ```
    t < W:          lr = warmup_start_lr + (peak_lr - warmup_start_lr) * t / W
    W <= t < W + H: lr = peak_lr
    then:           cosine from max(peak_lr * peak_mul**i, min_lr) down to min_lr in cycle i,
                    the `cycles` cycle lengths a geometric series (ratio
                    `cycle_mul`) that fills D exactly
    t >= total:     lr = min_lr
    ```
    With `cycles=1, hold_steps=0` this equals Keras' `CosineDecay(
    initial_learning_rate=warmup_start_lr, decay_steps=D, alpha=min_lr/peak_lr,
    warmup_target=peak_lr, warmup_steps=W)`; with `W=H=0, peak_mul=1` and an
    integer `cycle_mul`, PyTorch's `CosineAnnealingWarmRestarts(T_0=first cycle,
    T_mult=cycle_mul, eta_min=min_lr)`. The warm restarts are those of SGDR
    (Loshchilov and Hutter, 2017).

    Args:
        peak_lr: the LR at the end of warmup, `> 0`.
        total_steps: the length of the whole schedule, `> warmup_steps + hold_steps`
            and at most `2**31 - 1`.
        warmup_steps: length of the linear warmup, `>= 0`. Defaults to 0.
        warmup_start_lr: the LR at step 0, in [0, peak_lr]. Defaults to 0.
        hold_steps: steps held at `peak_lr` after warmup, `>= 0`. Defaults to 0.
        min_lr: the LR at the end of each cycle and after `total_steps`, in
            [0, peak_lr]. Defaults to 0.
        cycles: the number of cosine cycles (restarts + 1), an integer `>= 1`;
            each cycle must last at least one step.
        cycle_mul: the ratio of each cycle's length to the previous one, `> 0`.
        peak_mul: the ratio of each cycle's peak to the previous one, in (0, 1].

    Example:

    >>> s = keras_lr.schedules.WarmupCosine(peak_lr=1.0, total_steps=10, warmup_steps=2)
    >>> s.values([0, 1, 2, 6, 10]).round(6)  # computed in float32
    array([0. , 0.5, 1. , 0.5, 0. ])
    """

    formula = staticmethod(schedule_math.warmup_hold_cosine)

    def __init__(
        self,
        peak_lr: float,
        total_steps: float,
        warmup_steps: float = 0,
        warmup_start_lr: float = 0.0,
        hold_steps: float = 0,
        min_lr: float = 0.0,
        cycles: int = 1,
        cycle_mul: float = 1.0,
        peak_mul: float = 1.0,
    ) -> None:
        self.peak_lr = schedule_math.check_lr("peak_lr", peak_lr)
        self.warmup_steps = schedule_math.check_horizon("warmup_steps", warmup_steps, zero=True)
        self.hold_steps = schedule_math.check_horizon("hold_steps", hold_steps, zero=True)
        schedule_math.check_horizon("total_steps", total_steps)
        self.total_steps = check.greater_than(
            "total_steps",
            total_steps,
            self.warmup_steps + self.hold_steps,
            f"warmup_steps + hold_steps = {self.warmup_steps + self.hold_steps:g}",
        )
        self.warmup_start_lr = schedule_math.check_lr("warmup_start_lr", warmup_start_lr, zero=True)
        if self.warmup_start_lr > self.peak_lr:
            check.fail("warmup_start_lr", f"<= peak_lr ({self.peak_lr})", warmup_start_lr)
        self.min_lr = schedule_math.check_lr("min_lr", min_lr, zero=True)
        if self.min_lr > self.peak_lr:
            check.fail("min_lr", f"<= peak_lr ({self.peak_lr})", min_lr)
        self.cycles = check.integer("cycles", cycles, 1)
        self.cycle_mul = check.positive("cycle_mul", cycle_mul)
        self.peak_mul = check.in_unit_interval("peak_mul", peak_mul, closed_low=False, closed_high=True)
        decay_steps = self.total_steps - self.warmup_steps - self.hold_steps
        shortest = schedule_math.shortest_restart_cycle(decay_steps, self.cycles, self.cycle_mul)
        if shortest < 1.0 - 1e-9:  # rounding of the geometric series aside
            # A cycle shorter than one step is skipped between two steps: the
            # LR would never follow the cosine described.
            name, value = ("cycles", cycles) if self.cycles > 1 else ("total_steps", total_steps)
            check.fail(
                name,
                "such that every cosine cycle lasts at least one step, but with "
                f"total_steps - warmup_steps - hold_steps = {decay_steps:g} decay steps, "
                f"cycles={self.cycles} and cycle_mul={self.cycle_mul:g} the shortest cycle "
                f"lasts {shortest:.3g} steps",
                value,
            )


@_register
class Cyclic(Schedule):
    """Cyclical learning rate (Smith 2015), equal to PyTorch's `CyclicLR`.

    The LR goes from `base_lr` up to `max_lr` in `step_size` steps and back in
    `step_size_down` steps (default: `step_size`); the amplitude is scaled by:

    - `"triangular"`: 1;
    - `"triangular2"`: `1 / 2**(cycle - 1)`, halved each cycle;
    - `"exp_range"`: `gamma ** t`, on the global step `t`;
    - or a user `scale_fn(z)` written with `keras.ops`, where `z` is the
      1-based cycle (`scale_mode="cycle"`) or the step (`"iterations"`). A
      `scale_fn` overrides `mode`, as in PyTorch.

    Args:
        base_lr: the lower LR, `> 0`.
        max_lr: the upper LR, `>= base_lr`.
        step_size: steps in the increasing half-cycle, `>= 1`. Defaults to 2000.
        mode: one of `"triangular"`, `"triangular2"`, `"exp_range"`.
        gamma: the `exp_range` factor per step, in (0, 1]. Defaults to 1.
        scale_fn: an optional amplitude function of a float tensor.
        scale_mode: `"cycle"` or `"iterations"`, used with `scale_fn`.
        step_size_down: steps in the decreasing half-cycle, `>= 1`, or None.

    Example:

    >>> s = keras_lr.schedules.Cyclic(0.1, 0.5, step_size=2)
    >>> s.values(range(5)).round(6)  # computed in float32
    array([0.1, 0.3, 0.5, 0.3, 0.1])
    """

    def __init__(
        self,
        base_lr: float,
        max_lr: float,
        step_size: float = 2000,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[Any], Any] | None = None,
        scale_mode: str = "cycle",
        step_size_down: float | None = None,
    ) -> None:
        self.base_lr = schedule_math.check_lr("base_lr", base_lr)
        self.max_lr = check.at_least("max_lr", max_lr, self.base_lr, f"base_lr ({self.base_lr})")
        schedule_math.check_lr("max_lr", max_lr)
        self.step_size = _half_cycle("step_size", step_size)
        self.mode = check.one_of("mode", mode, CYCLIC_MODES)
        self.gamma = check.in_unit_interval("gamma", gamma, closed_low=False, closed_high=True)
        self.scale_fn = check.callable_or_none("scale_fn", scale_fn)
        self.scale_mode = check.one_of("scale_mode", scale_mode, ("cycle", "iterations"))
        self.step_size_down = (
            None if step_size_down is None else _half_cycle("step_size_down", step_size_down)
        )

    def _amplitude(self) -> tuple[Callable[[Any], Any], str]:
        if self.scale_fn is not None:
            return self.scale_fn, self.scale_mode
        if self.mode == "triangular2":
            return schedule_math.triangular2_scale, "cycle"
        if self.mode == "exp_range":
            gamma = self.gamma
            return (lambda t: schedule_math.exp_range_scale(t, gamma)), "iterations"
        return schedule_math.triangular_scale, "cycle"

    def __call__(self, step: Any) -> Any:
        scale_fn, scale_mode = self._amplitude()
        return schedule_math.cyclic(
            step, self.base_lr, self.max_lr, self.step_size, self.step_size_down, scale_fn, scale_mode
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "base_lr": self.base_lr,
            "max_lr": self.max_lr,
            "step_size": self.step_size,
            "mode": self.mode,
            "gamma": self.gamma,
            "scale_fn": (
                None if self.scale_fn is None else keras.saving.serialize_keras_object(self.scale_fn)
            ),
            "scale_mode": self.scale_mode,
            "step_size_down": self.step_size_down,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Cyclic:
        config = dict(config)
        if config.get("scale_fn") is not None:
            config["scale_fn"] = keras.saving.deserialize_keras_object(config["scale_fn"])
        return cls(**config)


@_register
class OneCycle(Schedule):
    """The one-cycle policy, equal to PyTorch's `OneCycleLR` step for step.

    The policy of Smith, "A disciplined approach to neural network
    hyper-parameters" (2018). From `max_lr / div_factor` up to `max_lr` over the first `pct_start` of
    `total_steps`, then down to `max_lr / div_factor / final_div_factor`
    (with `three_phase`, back to the initial LR first). Each phase anneals by
    cosine (`anneal_strategy="cos"`) or linearly (`"linear"`). After
    `total_steps` it holds the final LR (PyTorch raises instead).

    Args:
        max_lr: the peak LR, `> 0`.
        total_steps: the length of the cycle, an integer `>= 2`.
        pct_start: the fraction of steps spent increasing, in (0, 1).
            Defaults to 0.3.
        anneal_strategy: `"cos"` or `"linear"`. Defaults to `"cos"`.
        div_factor: `initial_lr = max_lr / div_factor`, `> 0`. Defaults to 25.
        final_div_factor: `final_lr = initial_lr / final_div_factor`, `> 0`.
            Defaults to 1e4.
        three_phase: whether to come back to the initial LR before the final
            annihilation. Defaults to False.

    Example:

    >>> s = keras_lr.schedules.OneCycle(max_lr=1.0, total_steps=100)
    >>> float(s.values(29))
    1.0
    """

    formula = staticmethod(schedule_math.one_cycle)

    def __init__(
        self,
        max_lr: float,
        total_steps: int,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
    ) -> None:
        self.max_lr = schedule_math.check_lr("max_lr", max_lr)
        self.total_steps = check.integer("total_steps", total_steps, 2)
        # Its last step is total_steps - 1.
        schedule_math.check_horizon("total_steps", total_steps, offset=1)
        self.pct_start = check.in_unit_interval(
            "pct_start", pct_start, closed_low=False, closed_high=False
        )
        self.anneal_strategy = check.one_of("anneal_strategy", anneal_strategy, ("cos", "linear"))
        self.div_factor = check.positive("div_factor", div_factor)
        initial = self.max_lr / self.div_factor
        schedule_math.check_lr("div_factor", div_factor, derived=initial, what="max_lr / div_factor")
        self.final_div_factor = check.positive("final_div_factor", final_div_factor)
        final = initial / self.final_div_factor
        if final > schedule_math.FLOAT32_MAX:
            schedule_math.check_lr(
                "final_div_factor",
                final_div_factor,
                derived=final,
                what="max_lr / div_factor / final_div_factor",
            )
        self.three_phase = check.boolean("three_phase", three_phase)
        phase_ends = [self.pct_start * self.total_steps - 1]
        if self.three_phase:
            phase_ends.append(2 * self.pct_start * self.total_steps - 2)
        phase_ends.append(self.total_steps - 1)
        if not all(b > a for a, b in zip([0.0] + phase_ends, phase_ends)):
            check.fail(
                "pct_start",
                "such that every phase lasts more than one step "
                f"(pct_start * total_steps > 1, with total_steps={self.total_steps})",
                pct_start,
            )


def _check_schedule(name: str, value: Any) -> Any:
    if not callable(value):
        check.fail(name, "a LearningRateSchedule or a function of the step", value)
    return value


def _serialize(schedule: Any) -> Any:
    return keras.saving.serialize_keras_object(schedule)


def _deserialize(config: Any) -> Any:
    return keras.saving.deserialize_keras_object(config)


@_register
class Warmup(Schedule):
    """Puts a linear warmup in front of any schedule.

    For `t < warmup_steps` the LR rises linearly from `start_lr` to
    `schedule(0)`; from `warmup_steps` on it is `schedule(t - warmup_steps)`.

    Args:
        schedule: any `LearningRateSchedule` (keras_lr's or Keras'), or a
            function of the step written with `keras.ops`.
        warmup_steps: the length of the warmup, `> 0`.
        start_lr: the LR at step 0, `>= 0`. Defaults to 0.

    Example:

    >>> inner = keras_lr.schedules.StepDecay(1.0, decay_steps=2, gamma=0.5)
    >>> keras_lr.schedules.Warmup(inner, warmup_steps=2).values(range(6))
    array([0. , 0.5, 1. , 1. , 0.5, 0.5])
    """

    def __init__(self, schedule: Any, warmup_steps: float, start_lr: float = 0.0) -> None:
        self.schedule = _check_schedule("schedule", schedule)
        self.warmup_steps = schedule_math.check_horizon("warmup_steps", warmup_steps)
        self.start_lr = schedule_math.check_lr("start_lr", start_lr, zero=True)

    def __call__(self, step: Any) -> Any:
        return schedule_math.warmup(step, self.schedule, self.warmup_steps, self.start_lr)

    def get_config(self) -> dict[str, Any]:
        return {
            "schedule": _serialize(self.schedule),
            "warmup_steps": self.warmup_steps,
            "start_lr": self.start_lr,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Warmup:
        config = dict(config)
        config["schedule"] = _deserialize(config["schedule"])
        return cls(**config)


@_register
class Join(Schedule):
    """Joins schedules at step boundaries, as optax's `join_schedules`.

    `schedules[0]` runs until `boundaries[0]`; from `boundaries[i-1]` on,
    `schedules[i]` runs and sees the step `t - boundaries[i-1]`, so each
    piece starts at its own step 0.

    Args:
        schedules: a list of schedules (as for `Warmup`), at least one.
        boundaries: strictly increasing steps, `> 0`, one fewer than
            `schedules`.

    Example:

    >>> s = keras_lr.schedules.Join(
    ...     [keras_lr.schedules.Constant(1.0), keras_lr.schedules.Polynomial(0.5, 2)], [2])
    >>> s.values(range(5))
    array([1.  , 1.  , 0.5 , 0.25, 0.  ])
    """

    def __init__(self, schedules: Sequence[Any], boundaries: Sequence[float]) -> None:
        if isinstance(schedules, (str, bytes)) or not isinstance(schedules, Sequence) or not schedules:
            check.fail("schedules", "a non-empty list of schedules", schedules)
        self.schedules = [_check_schedule("schedules", s) for s in schedules]
        self.boundaries = _check_boundaries(boundaries)
        if len(self.boundaries) != len(self.schedules) - 1:
            check.fail(
                "boundaries",
                f"a list of len(schedules) - 1 = {len(self.schedules) - 1} steps",
                list(boundaries),
            )

    def __call__(self, step: Any) -> Any:
        return schedule_math.join(step, self.schedules, self.boundaries)

    def get_config(self) -> dict[str, Any]:
        return {
            "schedules": [_serialize(s) for s in self.schedules],
            "boundaries": list(self.boundaries),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Join:
        config = dict(config)
        config["schedules"] = [_deserialize(s) for s in config["schedules"]]
        return cls(**config)


@_register
class Lambda(Schedule):
    """A user-defined schedule: `fn` maps the step to an LR (or to a multiplier).

    The counterpart of PyTorch's `LambdaLR`. `fn` receives the 0-based step as a
    float32 tensor and must be written with `keras.ops` (no `float()`, no
    Python `if` on the step), so it runs inside the compiled train step on
    every backend. This is checked once, at construction, by tracing `fn` on a
    symbolic step. A float32 step is exact below `2**24` (keras_lr's other
    schedules take the integer step and are exact up to `2**31 - 1`). With
    `base_lr`, the LR is `base_lr * fn(step)`, as in `LambdaLR`; without it,
    `fn(step)` is the LR.

    The schedule is serializable when `fn` is a registered Keras object
    (`keras.saving.register_keras_serializable`).

    Args:
        fn: a function of the step tensor, written with `keras.ops`.
        base_lr: an optional base LR, `> 0`, that `fn` multiplies.

    Example:

    >>> inverse_sqrt = lambda t: keras.ops.rsqrt(keras.ops.maximum(t, 1.0))
    >>> keras_lr.schedules.Lambda(inverse_sqrt, base_lr=0.1).values([0, 4, 100])
    array([0.1 , 0.05, 0.01])
    """

    def __init__(self, fn: Callable[[Any], Any], base_lr: float | None = None) -> None:
        if not callable(fn):
            check.fail("fn", "a function of the step tensor", fn)
        self.fn = fn
        self.base_lr = None if base_lr is None else schedule_math.check_lr("base_lr", base_lr)
        try:
            result = fn(keras.KerasTensor((), dtype="float32"))
        except Exception as error:  # any failure means "not traceable"
            raise ValueError(
                "Argument `fn` must be traceable: a function of the step tensor written "
                "with `keras.ops`, without `float()`, `int()` or Python `if` on the step. "
                f"Calling it on a symbolic step failed with {type(error).__name__}: {error}. "
                f"Received: fn={fn!r}"
            ) from error
        if not isinstance(result, keras.KerasTensor) or tuple(result.shape) != ():
            raise ValueError(
                "Argument `fn` must return a scalar tensor for a scalar step (use "
                f"`keras.ops`). Received: fn={fn!r}, which returned {result!r}"
            )

    def __call__(self, step: Any) -> Any:
        value = self.fn(schedule_math.as_step(step))
        return value if self.base_lr is None else self.base_lr * value

    def get_config(self) -> dict[str, Any]:
        return {"fn": keras.saving.serialize_keras_object(self.fn), "base_lr": self.base_lr}

    def __repr__(self) -> str:  # the function itself, not its serialized bytecode
        return f"Lambda(fn={self.fn!r}, base_lr={self.base_lr!r})"

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Lambda:
        config = dict(config)
        config["fn"] = keras.saving.deserialize_keras_object(config["fn"])
        return cls(**config)


@_register
class Scaled(Schedule):
    """Any schedule scaled down by a factor: the plateau reduction on top of it.

    `lr(t) = max(factor * schedule(t), min(schedule(t), min_lr))`
    (`keras_lr.schedule_math.scaled`): the schedule's shape, scaled by
    `factor`, never cut below `min_lr` by the scaling. `keras_lr.ReduceLROnPlateau`
    puts it on an optimizer whose learning rate is a schedule, so the factor
    is part of the optimizer's config and survives `model.save`
    ([the schedules guide](../guide/schedules.md#reduce-on-plateau-on-top-of-a-schedule)).

    Args:
        schedule: any `LearningRateSchedule` (keras_lr's or Keras') or
            function of the step written with `keras.ops`.
        factor: the scale, in (0, 1]. Defaults to 1.
        min_lr: the LR below which the scaling never pushes, `>= 0`.
            Defaults to 0.

    Example:

    >>> inner = keras_lr.schedules.Polynomial(1.0, 4)
    >>> keras_lr.schedules.Scaled(inner, factor=0.5, min_lr=0.25).values(range(5))
    array([0.5  , 0.375, 0.25 , 0.25 , 0.   ])
    """

    def __init__(self, schedule: Any, factor: float = 1.0, min_lr: float = 0.0) -> None:
        self.schedule = _check_schedule("schedule", schedule)
        self.factor = check.positive("factor", factor)
        if self.factor > 1:
            check.fail("factor", "in (0, 1]", factor)
        self.min_lr = schedule_math.check_lr("min_lr", min_lr, zero=True)

    def __call__(self, step: Any) -> Any:
        return schedule_math.scaled(self.schedule(step), self.factor, self.min_lr)

    def get_config(self) -> dict[str, Any]:
        return {"schedule": _serialize(self.schedule), "factor": self.factor, "min_lr": self.min_lr}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Scaled:
        config = dict(config)
        config["schedule"] = _deserialize(config["schedule"])
        return cls(**config)


# --------------------------------------------------------------------------- momentum
def _check_momentums(base_momentum: float, max_momentum: float) -> tuple[float, float]:
    base = check.in_unit_interval("base_momentum", base_momentum, closed_low=True, closed_high=False)
    high = check.in_unit_interval("max_momentum", max_momentum, closed_low=True, closed_high=False)
    check.at_least("max_momentum", high, base, f"base_momentum ({base})")
    return base, high


@_register
class OneCycleMomentum(Schedule):
    """The momentum of the one-cycle policy, equal to PyTorch's `OneCycleLR` step for step.

    The momentum goes against the LR of `OneCycle` with the same
    `total_steps`, `pct_start`, `anneal_strategy` and `three_phase` (Smith
    2018, "A disciplined approach to neural network hyper-parameters",
    section 4): from `max_momentum` down to `base_momentum` while the LR
    rises, then back up to `max_momentum` while it falls (with `three_phase`,
    held at `max_momentum` during the final phase). After `total_steps` it
    holds `max_momentum`. The formula is
    `keras_lr.schedule_math.one_cycle_momentum`. `keras_lr.OneCycleLR` applies
    it to the optimizer's `momentum` or `beta_1`; on its own it is a function
    of the step for previews (`plot_schedule(..., momentum=...)`).

    Args:
        total_steps: the length of the cycle, an integer `>= 2`.
        pct_start: the fraction of steps spent increasing the LR, in (0, 1).
            Defaults to 0.3.
        anneal_strategy: `"cos"` or `"linear"`. Defaults to `"cos"`.
        base_momentum: the momentum at the LR's peak, in [0, 1). Defaults to
            0.85 (PyTorch's).
        max_momentum: the momentum at the start and end, in
            [base_momentum, 1). Defaults to 0.95 (PyTorch's).
        three_phase: PyTorch's three-phase variant. Defaults to False.

    Example:

    >>> m = keras_lr.schedules.OneCycleMomentum(total_steps=100)
    >>> m.values([0, 29, 99]).round(4)
    array([0.95, 0.85, 0.95])
    """

    formula = staticmethod(schedule_math.one_cycle_momentum)

    def __init__(
        self,
        total_steps: int,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        three_phase: bool = False,
    ) -> None:
        # The phases are OneCycle's: its checks (and their messages) apply.
        phases = OneCycle(
            1.0, total_steps, pct_start, anneal_strategy, three_phase=three_phase
        )
        self.total_steps = phases.total_steps
        self.pct_start = phases.pct_start
        self.anneal_strategy = phases.anneal_strategy
        self.base_momentum, self.max_momentum = _check_momentums(base_momentum, max_momentum)
        self.three_phase = phases.three_phase


@_register
class CyclicMomentum(Schedule):
    """The momentum of a cyclical LR, equal to PyTorch's `CyclicLR` step for step.

    The cycle of `Cyclic` with the same `step_size`, `mode`, `gamma`,
    `scale_fn`, `scale_mode` and `step_size_down`, going the other way:
    `max_momentum` where the LR is `base_lr`, `base_momentum` where the
    (scaled) LR peaks:

    ```
    m(t) = max_momentum - (max_momentum - base_momentum) * h(t) * scale(t)
    ```
    with the same height `h` and amplitude `scale` as the LR (Smith 2018,
    section 4). The formula is `keras_lr.schedule_math.cyclic_momentum`.

    Args:
        base_momentum: the momentum at the LR's peak, in [0, 1). Defaults to
            0.8 (PyTorch's).
        max_momentum: the momentum at the LR's low, in [base_momentum, 1).
            Defaults to 0.9 (PyTorch's).
        step_size: steps in the increasing half-cycle of the LR, `> 0`.
            Defaults to 2000.
        mode: one of `"triangular"`, `"triangular2"`, `"exp_range"`.
        gamma: the `exp_range` factor per step, in (0, 1]. Defaults to 1.
        scale_fn: an optional amplitude function of a float tensor.
        scale_mode: `"cycle"` or `"iterations"`, used with `scale_fn`.
        step_size_down: steps in the decreasing half-cycle, `> 0`, or None.

    Example:

    >>> m = keras_lr.schedules.CyclicMomentum(0.8, 0.9, step_size=2)
    >>> m.values(range(5)).round(4)
    array([0.9 , 0.85, 0.8 , 0.85, 0.9 ])
    """

    def __init__(
        self,
        base_momentum: float = 0.8,
        max_momentum: float = 0.9,
        step_size: float = 2000,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[Any], Any] | None = None,
        scale_mode: str = "cycle",
        step_size_down: float | None = None,
    ) -> None:
        self.base_momentum, self.max_momentum = _check_momentums(base_momentum, max_momentum)
        # The cycle is Cyclic's: its checks (and their messages) apply.
        self._cycle = Cyclic(
            1.0, 1.0, step_size, mode, gamma, scale_fn, scale_mode, step_size_down
        )
        self.step_size = self._cycle.step_size
        self.mode = self._cycle.mode
        self.gamma = self._cycle.gamma
        self.scale_fn = self._cycle.scale_fn
        self.scale_mode = self._cycle.scale_mode
        self.step_size_down = self._cycle.step_size_down

    def __call__(self, step: Any) -> Any:
        scale_fn, scale_mode = self._cycle._amplitude()
        return schedule_math.cyclic_momentum(
            step,
            self.base_momentum,
            self.max_momentum,
            self.step_size,
            self.step_size_down,
            scale_fn,
            scale_mode,
        )

    def get_config(self) -> dict[str, Any]:
        config = self._cycle.get_config()
        del config["base_lr"], config["max_lr"]
        return {"base_momentum": self.base_momentum, "max_momentum": self.max_momentum, **config}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CyclicMomentum:
        config = dict(config)
        if config.get("scale_fn") is not None:
            config["scale_fn"] = keras.saving.deserialize_keras_object(config["scale_fn"])
        return cls(**config)
