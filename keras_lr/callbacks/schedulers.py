"""Scheduler callbacks: thin glue between a keras_lr schedule and `model.fit`.

Each callback holds one `keras_lr.schedules` object and applies it per step
(`unit="step"`: evaluated at the optimizer's step inside the compiled train
step) or per epoch (`unit="epoch"`: the LR variable set at each epoch start
from the absolute epoch index). What it changes lasts only for its `fit`.
The guide explains the units, exactness and resuming (docs/guide/schedules.md)
and how every change is undone (docs/guide/ownership.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, overload

import keras
import numpy as np

from keras_lr import _validation as check
from keras_lr import schedules
from keras_lr._io import print_msg
from keras_lr.callbacks import _control

__all__ = [
    "ScheduleCallback",
    "ExponentialLR",
    "WarmupCosineLR",
    "CyclicLR",
    "OneCycleLR",
    "ExponentDecayScheduler",
    "WarmupCosineDecay",
]


def _schedule_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """A scheduler callback's constructor arguments that belong to its schedule."""
    own = ("self", "__class__", "unit", "verbose", "cycle_momentum")
    return {name: value for name, value in arguments.items() if name not in own}


class LRRecord(Sequence[float]):
    """The LRs a scheduler applied: a sequence of floats held in one float64 array.

    It reads like a list of floats (`len`, indexing, slicing, iteration,
    `==` with a list, `np.asarray`) and costs 8 bytes per entry: the array
    grows geometrically, as a Python list does, but holds no float objects.
    """

    __slots__ = ("_values", "_size")

    def __init__(self, values: Iterable[float] = ()) -> None:
        self._values = np.zeros(0)
        self._size = 0
        self.extend(values)

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> float: ...

    @overload
    def __getitem__(self, index: slice) -> list[float]: ...

    def __getitem__(self, index: int | slice) -> float | list[float]:
        if isinstance(index, slice):
            return self._values[: self._size][index].tolist()
        size = self._size
        if not -size <= index < size:
            raise IndexError("LRRecord index out of range")
        return float(self._values[index % size])

    def __iter__(self) -> Iterator[float]:
        return iter(self._values[: self._size].tolist())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = self._values[: self._size]
        return np.array(values, dtype=dtype) if copy or dtype is not None else values.copy()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LRRecord):
            other = other._values[: other._size]
        if not isinstance(other, (Sequence, np.ndarray)) or isinstance(other, str):
            return NotImplemented
        return len(other) == self._size and bool(np.all(self._values[: self._size] == np.asarray(other)))

    __hash__ = None  # type: ignore[assignment]  # mutable, as a list

    def __repr__(self) -> str:
        return f"LRRecord({self._values[: self._size].tolist()!r})"

    def _reserve(self, size: int) -> None:
        if size > self._values.size:
            grown = np.zeros(max(size, 2 * self._values.size, 16))
            grown[: self._size] = self._values[: self._size]
            self._values = grown

    def append(self, value: float) -> None:
        """Appends one LR."""
        self._reserve(self._size + 1)
        self._values[self._size] = float(value)
        self._size += 1

    def extend(self, values: Iterable[float]) -> None:
        """Appends several LRs (a numpy array is copied in one go)."""
        array = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype="float64").reshape(-1)
        self._reserve(self._size + array.size)
        self._values[self._size : self._size + array.size] = array
        self._size += array.size

    def clear(self) -> None:
        """Removes every entry."""
        self._values = np.zeros(0)
        self._size = 0


class ScheduleCallback(keras.callbacks.Callback):
    """Applies any keras_lr (or Keras) schedule during `fit`.

    The scheduler callbacks below are this class with their schedule built
    from their arguments. Use it directly for `Piecewise`, `StepDecay`,
    `Polynomial`, `Join`, `Warmup` and your own schedules.

    With `unit="step"`, update `t` uses `schedule(t)` at the optimizer's step
    `t`, evaluated inside the compiled train step: exact with
    `steps_per_execution > 1`, across `fit` calls and after resuming from a
    checkpoint. With `unit="epoch"`, epoch `e` (the absolute index, so
    `initial_epoch` continues it) uses `schedule(e)`. After `fit`, on every
    exit path, the optimizer's LR is the user's again. At each epoch end
    `logs["learning_rate"]` holds the LR of the epoch's last update, as with
    Keras' `LearningRateScheduler`. See the guide:
    [schedules and callbacks](../guide/schedules.md) and
    [who owns the learning rate](../guide/ownership.md).

    Args:
        schedule: a `LearningRateSchedule` (or function of the step written
            with `keras.ops`).
        unit: `"step"` (the schedule is a function of the optimizer step) or
            `"epoch"` (a function of the epoch index). Defaults to `"step"`.
        verbose: 0 is quiet, 1 prints the LR at each epoch start. Defaults
            to 0.

    Raises:
        ValueError: for a bad argument; and when training starts, when the
            optimizer was created with its own `LearningRateSchedule` (use
            the schedule or the callback, not both) or is a `MultiOptimizer`.

    Attributes:
        learning_rates: the LRs applied, one per update (`unit="step"`) or per
            epoch (`unit="epoch"`): a sequence of floats (an `LRRecord`, 8
            bytes per entry).

    Example:

    ```python
    schedule = keras_lr.schedules.Piecewise([1000, 2000], [1e-2, 1e-3, 1e-4])
    model.fit(x, y, epochs=10, callbacks=[keras_lr.ScheduleCallback(schedule)])
    ```
    """

    def __init__(self, schedule: Callable[[Any], Any], *, unit: str = "step", verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            check.fail("schedule", "a LearningRateSchedule or a function of the step", schedule)
        self.schedule = schedule
        self.unit = check.one_of("unit", unit, ("step", "epoch"))
        self.verbose = check.verbosity("verbose", verbose)
        self.learning_rates = LRRecord()
        self._recorded_step = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        optimizer = _control.lr_optimizer(self.model, self)
        _control.check_settable(optimizer, self)
        self._recorded_step = _control.updates(optimizer)
        step_unit = self.unit == "step"
        # No NaN, inf or negative LR in this fit: its epochs, or its steps from the optimizer's.
        params = self.params or {}
        length = (params.get("epochs") or 1) * ((params.get("steps") or 1) if step_unit else 1)
        first = self._recorded_step if step_unit else 0
        schedules.check_lr_values(self.schedule, np.arange(first, first + length), type(self).__name__)
        _control.control(self.model).take(
            self,
            self.schedule if step_unit else None,
            scalable=step_unit,
            epoch_unit=not step_unit,
        )

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        control = _control.control(self.model)
        if self.unit == "epoch":
            raw = float(_control.schedule_values(self.schedule, [epoch])[0])
            lr = control.scale_value(raw)
            control.set_epoch_lr(lr)
            self.learning_rates.append(lr)
            if self.verbose:
                self._say(epoch, f"setting learning rate to {lr:.6g}")
        elif self.verbose:
            step = _control.updates(self.model.optimizer)
            lr = float(control.applied_lrs([step])[0])
            self._say(epoch, f"learning rate {lr:.6g} at step {step}")

    def _say(self, epoch: int, message: str) -> None:
        print_msg(f"\nEpoch {epoch + 1}: {type(self).__name__} {message}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.record_updates()
        if logs is not None and self.learning_rates:
            logs["learning_rate"] = self.learning_rates[-1]

    def on_train_end(self, logs: dict | None = None) -> None:
        self.record_updates()
        _control.control(self.model).release(self)

    def record_updates(self) -> None:
        """Appends the LRs of the updates applied since the last call (step unit).

        Each update is recorded with the LR it used, also across a plateau
        reduction and with gradient accumulation (one entry per update).
        """
        if self.unit != "step":
            return
        now = _control.updates(self.model.optimizer)
        if now > self._recorded_step:
            updates = np.arange(self._recorded_step, now)
            self.learning_rates.extend(_control.applied_lrs(self.model, updates))
        self._recorded_step = now


class ExponentialLR(ScheduleCallback):
    """Exponential LR decay with a floor, per epoch or per step.

    ```
    lr(t) = max(min_lr, initial_lr * decay_rate ** (t / decay_steps))
    ```
    with `t / decay_steps` floored when `staircase=True`. With `unit="epoch"`,
    `t` is the absolute epoch index (so `initial_epoch` is honoured on resume);
    with `unit="step"`, `t` is the optimizer's step. The formula is
    `keras_lr.schedule_math.exponential`; `keras_lr.schedules.Exponential`
    is the same schedule for an optimizer. (This callback was called
    `ExponentDecayScheduler` before; that name stays one release as a
    deprecated alias.) Units and resuming:
    [the schedules guide](../guide/schedules.md#per-step-or-per-epoch).

    Args:
        initial_lr: the LR at `t = 0`, `> 0`.
        decay_rate: the factor per `decay_steps`, in (0, 1].
        decay_steps: epochs (or steps) per factor of `decay_rate`. Defaults to 1.
        min_lr: the floor. Defaults to 0.
        staircase: whether to decay in discrete jumps. Defaults to True.
        unit: `"epoch"` or `"step"`. Defaults to `"epoch"`.
        verbose: 0 or 1. Defaults to 0.

    Example:

    ```python
    scheduler = keras_lr.ExponentialLR(1e-3, 0.9, min_lr=1e-5)
    history = model.fit(x, y, epochs=20, callbacks=[scheduler])
    history.history["learning_rate"]  # 1e-3, 9e-4, 8.1e-4, ...
    ```
    """

    def __init__(
        self,
        initial_lr: float,
        decay_rate: float,
        *,
        decay_steps: float = 1,
        min_lr: float = 0.0,
        staircase: bool = True,
        unit: str = "epoch",
        verbose: int = 0,
    ) -> None:
        schedule = schedules.Exponential(**_schedule_arguments(locals()))
        super().__init__(schedule, unit=unit, verbose=verbose)


class WarmupCosineLR(ScheduleCallback):
    """Linear warmup, hold, then cosine decay with optional warm restarts.

    See `keras_lr.schedules.WarmupCosine` for the exact formula and its
    equivalence with Keras' `CosineDecay` and PyTorch's
    `CosineAnnealingWarmRestarts`. The restarts are those of SGDR (Loshchilov
    and Hutter, 2017). Applied as `ScheduleCallback` applies any schedule
    ([the schedules guide](../guide/schedules.md)). (This callback was called
    `WarmupCosineDecay` before; that name stays one release as a deprecated
    alias.)

    Args:
        peak_lr: the LR at the end of warmup.
        total_steps: the schedule's length, `> warmup_steps + hold_steps`.
        warmup_steps: length of the linear warmup. Defaults to 0.
        warmup_start_lr: the LR at step 0. Defaults to 0.
        hold_steps: steps held at `peak_lr` after warmup. Defaults to 0.
        min_lr: the LR at the end of each cycle and after `total_steps`.
        cycles: the number of cosine cycles. Defaults to 1.
        cycle_mul: each cycle's length relative to the previous one.
        peak_mul: each cycle's peak relative to the previous one.
        unit: `"step"` or `"epoch"`: what `total_steps` and the other lengths
            count. Defaults to `"step"`.
        verbose: 0 or 1. Defaults to 0.

    Example:

    ```python
    steps = epochs * math.ceil(len(x) / batch_size)
    scheduler = keras_lr.WarmupCosineLR(3e-3, steps, warmup_steps=steps // 10)
    model.fit(x, y, batch_size=batch_size, epochs=epochs, callbacks=[scheduler])
    ```
    """

    def __init__(
        self,
        peak_lr: float,
        total_steps: float,
        *,
        warmup_steps: float = 0,
        warmup_start_lr: float = 0.0,
        hold_steps: float = 0,
        min_lr: float = 0.0,
        cycles: int = 1,
        cycle_mul: float = 1.0,
        peak_mul: float = 1.0,
        unit: str = "step",
        verbose: int = 0,
    ) -> None:
        schedule = schedules.WarmupCosine(**_schedule_arguments(locals()))
        super().__init__(schedule, unit=unit, verbose=verbose)


class CyclicLR(ScheduleCallback):
    """Cyclical learning rate (Smith 2015), always per step.

    Equal to PyTorch's `CyclicLR(..., cycle_momentum=False)` step for step;
    see `keras_lr.schedules.Cyclic`. A good `(base_lr, max_lr)` comes from
    `LRFinder.suggest_range()`; Smith suggests `step_size` of 2 to 10 epochs
    of steps.

    Args:
        base_lr: the lower LR.
        max_lr: the upper LR, `>= base_lr`.
        step_size: steps in the increasing half-cycle. Defaults to 2000.
        mode: `"triangular"`, `"triangular2"` or `"exp_range"`.
        gamma: the `exp_range` factor per step. Defaults to 1.
        scale_fn: an optional amplitude function (written with `keras.ops`),
            overriding `mode`.
        scale_mode: `"cycle"` or `"iterations"`: what `scale_fn` receives.
        step_size_down: steps in the decreasing half-cycle; defaults to
            `step_size`.
        verbose: 0 or 1. Defaults to 0.

    Example:

    ```python
    clr = keras_lr.CyclicLR(1e-4, 1e-2, step_size=4 * steps_per_epoch, mode="triangular2")
    model.fit(x, y, epochs=24, callbacks=[clr])
    ```
    """

    def __init__(
        self,
        base_lr: float,
        max_lr: float,
        step_size: float = 2000,
        *,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[Any], Any] | None = None,
        scale_mode: str = "cycle",
        step_size_down: float | None = None,
        verbose: int = 0,
    ) -> None:
        schedule = schedules.Cyclic(**_schedule_arguments(locals()))
        super().__init__(schedule, unit="step", verbose=verbose)


class OneCycleLR(ScheduleCallback):
    """The one-cycle policy, equal to PyTorch's `OneCycleLR` step for step.

    See `keras_lr.schedules.OneCycle`. After `total_steps` the final LR is
    held (PyTorch raises instead).

    Momentum cycling (`cycle_momentum=True` in PyTorch) is not offered: a Keras
    3 optimizer's `momentum` / `beta_1` is a Python float baked into the
    compiled step, so it cannot follow a per-step schedule exactly on every
    backend. Passing `cycle_momentum=True` raises a `ValueError` rather than
    silently doing nothing.

    Args:
        max_lr: the peak LR.
        total_steps: the cycle's length in steps.
        pct_start: the fraction of steps spent increasing. Defaults to 0.3.
        anneal_strategy: `"cos"` or `"linear"`. Defaults to `"cos"`.
        div_factor: `initial_lr = max_lr / div_factor`. Defaults to 25.
        final_div_factor: `final_lr = initial_lr / final_div_factor`.
            Defaults to 1e4.
        three_phase: PyTorch's three-phase variant. Defaults to False.
        cycle_momentum: must be False (see above).
        verbose: 0 or 1. Defaults to 0.

    Example:

    ```python
    steps = epochs * math.ceil(len(x) / batch_size)
    model.fit(x, y, epochs=epochs, callbacks=[keras_lr.OneCycleLR(1e-2, steps)])
    ```
    """

    def __init__(
        self,
        max_lr: float,
        total_steps: int,
        *,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        cycle_momentum: bool = False,
        verbose: int = 0,
    ) -> None:
        if check.boolean("cycle_momentum", cycle_momentum):
            check.fail(
                "cycle_momentum",
                "False: Keras 3 optimizers bake `momentum`/`beta_1` into the compiled "
                "step as a Python float, so it cannot be cycled exactly per step",
                cycle_momentum,
            )
        schedule = schedules.OneCycle(**_schedule_arguments(locals()))
        super().__init__(schedule, unit="step", verbose=verbose)


class ExponentDecayScheduler(ExponentialLR):
    """Deprecated alias of `ExponentialLR` (same arguments, same behaviour).

    Kept for one release; constructing it emits a `DeprecationWarning`.
    """

    def __init__(
        self,
        initial_lr: float,
        decay_rate: float,
        *,
        decay_steps: float = 1,
        min_lr: float = 0.0,
        staircase: bool = True,
        unit: str = "epoch",
        verbose: int = 0,
    ) -> None:
        check.warn_renamed("keras_lr.ExponentDecayScheduler", "keras_lr.ExponentialLR")
        super().__init__(
            initial_lr,
            decay_rate,
            decay_steps=decay_steps,
            min_lr=min_lr,
            staircase=staircase,
            unit=unit,
            verbose=verbose,
        )


class WarmupCosineDecay(WarmupCosineLR):
    """Deprecated alias of `WarmupCosineLR` (same arguments, same behaviour).

    Kept for one release; constructing it emits a `DeprecationWarning`.
    """

    def __init__(
        self,
        peak_lr: float,
        total_steps: float,
        *,
        warmup_steps: float = 0,
        warmup_start_lr: float = 0.0,
        hold_steps: float = 0,
        min_lr: float = 0.0,
        cycles: int = 1,
        cycle_mul: float = 1.0,
        peak_mul: float = 1.0,
        unit: str = "step",
        verbose: int = 0,
    ) -> None:
        check.warn_renamed("keras_lr.WarmupCosineDecay", "keras_lr.WarmupCosineLR")
        super().__init__(
            peak_lr,
            total_steps,
            warmup_steps=warmup_steps,
            warmup_start_lr=warmup_start_lr,
            hold_steps=hold_steps,
            min_lr=min_lr,
            cycles=cycles,
            cycle_mul=cycle_mul,
            peak_mul=peak_mul,
            unit=unit,
            verbose=verbose,
        )
