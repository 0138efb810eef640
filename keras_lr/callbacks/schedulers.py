"""Scheduler callbacks: thin glue between a keras_lr schedule and `model.fit`.

Each callback holds one `keras_lr.schedules` object and applies it per step
(`unit="step"`: evaluated at the optimizer's step inside the compiled train
step) or per epoch (`unit="epoch"`: the LR variable set at each epoch start
from the absolute epoch index). What it changes lasts only for its `fit`.
The guide explains the units, exactness and resuming (docs/guide/schedules.md)
and how every change is undone (docs/guide/ownership.md).
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple, overload

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
    own = ("self", "__class__", "unit", "verbose", "cycle_momentum", "base_momentum", "max_momentum")
    return {name: value for name, value in arguments.items() if name not in own}


class _Run(NamedTuple):
    """`count` updates from update `first` that used `schedule` (with `k`-step accumulation)."""

    schedule: Callable[[Any], Any]
    first: int
    count: int
    k: int

    def values(self, low: int, high: int) -> np.ndarray:
        """The LRs of this run's updates `low` to `high` (0-based within the run)."""
        updates = np.arange(self.first + low, self.first + high, dtype="int64")
        return np.asarray(_control.schedule_values(self.schedule, updates * self.k + self.k - 1))


class LRRecord(Sequence[float]):
    """The LRs a scheduler applied, one per update, as a sequence of floats.

    It reads like a list of floats (`len`, indexing, slicing, iteration,
    `==` with a list, `np.asarray`). A step schedule's updates are held as
    runs `(schedule, first update, count)` and their LRs computed from the
    schedule when read, so the record does not grow with the steps; values
    appended one by one (an epoch-unit scheduler's) are held in a float64
    array (8 bytes each).
    """

    __slots__ = ("_chunks", "_ends")

    def __init__(self, values: Iterable[float] = ()) -> None:
        self._chunks: list[_Run | np.ndarray] = []
        self._ends: list[int] = []  # the record's length at the end of each chunk
        self.extend(values)

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    @overload
    def __getitem__(self, index: int) -> float: ...

    @overload
    def __getitem__(self, index: slice) -> list[float]: ...

    def __getitem__(self, index: int | slice) -> float | list[float]:
        if isinstance(index, slice):
            return self._array()[index].tolist()
        size = len(self)
        if not -size <= index < size:
            raise IndexError("LRRecord index out of range")
        index %= size
        which = bisect.bisect_right(self._ends, index)
        start = self._ends[which - 1] if which else 0
        chunk = self._chunks[which]
        if isinstance(chunk, _Run):
            return float(chunk.values(index - start, index - start + 1)[0])
        return float(chunk[index - start])

    def _array(self) -> np.ndarray:
        parts = [c.values(0, c.count) if isinstance(c, _Run) else c for c in self._chunks]
        return np.concatenate(parts) if parts else np.zeros(0)

    def __iter__(self) -> Iterator[float]:
        return iter(self._array().tolist())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = self._array()
        return values if dtype is None else values.astype(dtype)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LRRecord):
            other = other._array()
        if not isinstance(other, (Sequence, np.ndarray)) or isinstance(other, str):
            return NotImplemented
        return len(other) == len(self) and bool(np.all(self._array() == np.asarray(other)))

    __hash__ = None  # type: ignore[assignment]  # mutable, as a list

    def __repr__(self) -> str:
        return f"LRRecord({self._array().tolist()!r})"

    def _add(self, chunk: _Run | np.ndarray, size: int) -> None:
        self._chunks.append(chunk)
        self._ends.append(len(self) + size)

    def append(self, value: float) -> None:
        """Appends one LR."""
        self.extend([value])

    def extend(self, values: Iterable[float]) -> None:
        """Appends several LRs (held as a float64 array)."""
        array = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype="float64").reshape(-1)
        if not array.size:
            return
        last = self._chunks[-1] if self._chunks else None
        if isinstance(last, np.ndarray):  # one array for consecutive values
            self._chunks[-1] = np.concatenate([last, array])
            self._ends[-1] += array.size
        else:
            self._add(array.copy(), array.size)

    def extend_runs(self, runs: Iterable[tuple[Callable[[Any], Any], int, int, int]]) -> None:
        """Appends the updates of `(schedule, first update, count, k)` runs, read on demand."""
        for schedule, first, count, k in runs:
            if count <= 0:
                continue
            last = self._chunks[-1] if self._chunks else None
            if (
                isinstance(last, _Run)
                and last.schedule is schedule
                and last.k == k
                and last.first + last.count == first
            ):  # the same schedule continues: one run
                self._chunks[-1] = last._replace(count=last.count + count)
                self._ends[-1] += count
            else:
                self._add(_Run(schedule, first, count, k), count)

    def clear(self) -> None:
        """Removes every entry."""
        self._chunks = []
        self._ends = []


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
            momentum=self._cycled_momentum(optimizer) if step_unit else None,
        )

    def _cycled_momentum(self, optimizer: Any) -> tuple[str, Callable[[Any], Any]] | None:
        """`(attribute, momentum schedule)` for a callback that cycles the momentum, else None."""
        return None

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
            runs = _control.control(self.model).applied_runs(self._recorded_step, now)
            if runs is None:  # not a keras_lr step schedule: the values themselves
                updates = np.arange(self._recorded_step, now)
                self.learning_rates.extend(_control.applied_lrs(self.model, updates))
            else:
                self.learning_rates.extend_runs(runs)
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


class _MomentumCycling(ScheduleCallback):
    """A scheduler callback that can also cycle the optimizer's momentum (Smith 2018).

    With a momentum schedule, each update uses its momentum, set inside the
    train step like the LR (`keras_lr._keras.patched`): the `momentum` of SGD
    and RMSprop, the `beta_1` of Adam, AdamW, Adamax, Nadam and Lion. After
    `fit` (also when it raises) the optimizer has the user's value again.
    """

    momentum_schedule: Callable[[Any], Any] | None

    def _init_momentum(self, cycle_momentum: bool, base_momentum: float, max_momentum: float) -> None:
        self.cycle_momentum = check.boolean("cycle_momentum", cycle_momentum)
        self.base_momentum = float(base_momentum)
        self.max_momentum = float(max_momentum)
        self.momentum_key: str | None = None
        # (first update, end update, gradient accumulation) of each fit: momentums on demand.
        self._momentum_runs: list[list[int]] = []

    def _cycled_momentum(self, optimizer: Any) -> tuple[str, Callable[[Any], Any]] | None:
        if self.momentum_schedule is None:
            return None
        self.momentum_key = _control.cycled_attribute(optimizer, self)
        first = _control.updates(optimizer)
        k = int(_control.update_step(optimizer, 1)) - int(_control.update_step(optimizer, 0))
        self._momentum_runs.append([first, first, k])
        return self.momentum_key, self.momentum_schedule

    def _note_momentum(self) -> None:
        if self.momentum_schedule is not None and self._momentum_runs and self.model is not None:
            self._momentum_runs[-1][1] = _control.updates(self.model.optimizer)

    @property
    def momentums(self) -> np.ndarray:
        """The momentum (or `beta_1`) of each update this callback cycled, in order.

        Derived on demand from the schedule and the updates of each `fit`,
        like `learning_rates`; empty without momentum cycling.
        """
        values = [np.zeros(0)]
        if self.momentum_schedule is not None:
            for first, end, k in self._momentum_runs:
                steps = np.arange(first, end, dtype="int64") * k + (k - 1)
                values.append(_control.schedule_values(self.momentum_schedule, steps))
        return np.concatenate(values)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        self._note_momentum()
        if logs is not None and self.momentum_key is not None and self._momentum_runs:
            first, end, k = self._momentum_runs[-1]
            if end > first:
                step = np.asarray([(end - 1) * k + k - 1], dtype="int64")
                logs[self.momentum_key] = float(_control.schedule_values(self.momentum_schedule, step)[0])

    def on_train_end(self, logs: dict | None = None) -> None:
        self._note_momentum()
        super().on_train_end(logs)

    def _momentum_config(self) -> dict[str, Any]:
        return {
            "cycle_momentum": self.cycle_momentum,
            "base_momentum": self.base_momentum,
            "max_momentum": self.max_momentum,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Any:
        config = dict(config)
        if config.get("scale_fn") is not None:
            config["scale_fn"] = keras.saving.deserialize_keras_object(config["scale_fn"])
        return cls(**config)


class CyclicLR(_MomentumCycling):
    """Cyclical learning rate (Smith 2015), always per step, and its momentum.

    Equal to PyTorch's `CyclicLR` step for step: the LR is
    `keras_lr.schedules.Cyclic`; with `cycle_momentum=True` the optimizer's
    momentum goes the other way, from `max_momentum` (LR at `base_lr`) to
    `base_momentum` (LR at its peak), as `keras_lr.schedules.CyclicMomentum`
    (Smith 2018, "A disciplined approach to neural network
    hyper-parameters", section 4). The momentum is the `momentum` of SGD and
    RMSprop (created with `momentum > 0`) or the `beta_1` of Adam, AdamW,
    Adamax, Nadam and Lion (PyTorch cycles `betas[0]` of Adam-type
    optimizers the same way); any other optimizer is refused at the start
    of `fit`. Each update uses its exact momentum (set inside the train
    step like the LR); after `fit` the optimizer has the user's value again.
    The momentums are in `momentums` and, at each epoch end, in
    `history.history["momentum"]` (or `["beta_1"]`).

    `cycle_momentum` defaults to False, unlike PyTorch (True): the callback
    did not cycle the momentum before, so True would silently change the
    training of existing code (an Adam's `beta_1` replaced by 0.8-0.9), and
    Keras' default SGD (`momentum=0`, no momentum slots) and optimizers such
    as Adagrad would be refused. Pass `cycle_momentum=True` for PyTorch's
    and Smith's policy.

    A good `(base_lr, max_lr)` comes from `LRFinder.suggest_range()`; Smith
    suggests `step_size` of 2 to 10 epochs of steps.

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
        cycle_momentum: whether to cycle the optimizer's momentum against
            the LR. Defaults to False (see above).
        base_momentum: the momentum at the LR's peak, in [0, 1). Defaults
            to 0.8 (PyTorch's).
        max_momentum: the momentum at `base_lr`, in [base_momentum, 1).
            Defaults to 0.9 (PyTorch's).
        verbose: 0 or 1. Defaults to 0.

    Attributes:
        learning_rates: the LR of each update.
        momentums: the momentum of each update (a numpy array; empty when
            `cycle_momentum=False`).
        momentum_schedule: the `CyclicMomentum` applied, or None.

    Example:

    ```python
    clr = keras_lr.CyclicLR(1e-4, 1e-2, step_size=4 * steps_per_epoch, mode="triangular2",
                            cycle_momentum=True)
    model.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss="mse")
    history = model.fit(x, y, epochs=24, callbacks=[clr])
    history.history["momentum"]  # the momentum of each epoch's last update
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
        cycle_momentum: bool = False,
        base_momentum: float = 0.8,
        max_momentum: float = 0.9,
        verbose: int = 0,
    ) -> None:
        schedule = schedules.Cyclic(**_schedule_arguments(locals()))
        momentum = schedules.CyclicMomentum(
            base_momentum, max_momentum, step_size, mode, gamma, scale_fn, scale_mode, step_size_down
        )
        self.momentum_schedule = momentum if check.boolean("cycle_momentum", cycle_momentum) else None
        super().__init__(schedule, unit="step", verbose=verbose)
        self._init_momentum(cycle_momentum, base_momentum, max_momentum)

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments (`CyclicLR.from_config(config)` rebuilds it)."""
        return {**self.schedule.get_config(), **self._momentum_config()}


class OneCycleLR(_MomentumCycling):
    """The one-cycle policy, equal to PyTorch's `OneCycleLR` step for step.

    The LR is `keras_lr.schedules.OneCycle`. After `total_steps` the final LR
    is held (PyTorch raises instead).

    With `cycle_momentum=True` the optimizer's momentum goes against the LR
    (Smith 2018, "A disciplined approach to neural network hyper-parameters",
    section 4), as PyTorch's `OneCycleLR` and fastai's `fit_one_cycle` do:
    from `max_momentum` down to `base_momentum` while the LR rises, back up
    while it falls (with `three_phase`, held at `max_momentum` in the last
    phase); see `keras_lr.schedules.OneCycleMomentum`. The momentum is the
    `momentum` of SGD and RMSprop (created with `momentum > 0`) or the
    `beta_1` of Adam, AdamW, Adamax, Nadam and Lion (PyTorch cycles `betas[0]`
    of Adam-type optimizers the same way); any other optimizer is refused at
    the start of `fit`. Each update uses its exact momentum (set inside the
    train step like the LR, also with `steps_per_execution > 1`, a
    `LossScaleOptimizer` and resumed runs); after `fit` (also when it raises)
    the optimizer has the user's value again. The momentums are in
    `momentums` and, at each epoch end, in `history.history["momentum"]` (or
    `["beta_1"]`).

    `cycle_momentum` defaults to False, unlike PyTorch (True): the callback
    did not cycle the momentum before, so True would silently change the
    training of existing code (an Adam's `beta_1` replaced by 0.85-0.95), and
    Keras' default SGD (`momentum=0`, no momentum slots) and optimizers such
    as Adagrad would be refused. Pass `cycle_momentum=True` for the full
    one-cycle policy.

    Args:
        max_lr: the peak LR.
        total_steps: the cycle's length in steps.
        pct_start: the fraction of steps spent increasing. Defaults to 0.3.
        anneal_strategy: `"cos"` or `"linear"`. Defaults to `"cos"`.
        div_factor: `initial_lr = max_lr / div_factor`. Defaults to 25.
        final_div_factor: `final_lr = initial_lr / final_div_factor`.
            Defaults to 1e4.
        three_phase: PyTorch's three-phase variant. Defaults to False.
        cycle_momentum: whether to cycle the optimizer's momentum against
            the LR. Defaults to False (see above).
        base_momentum: the momentum at the LR's peak, in [0, 1). Defaults
            to 0.85 (PyTorch's).
        max_momentum: the momentum at the start and end, in
            [base_momentum, 1). Defaults to 0.95 (PyTorch's).
        verbose: 0 or 1. Defaults to 0.

    Attributes:
        learning_rates: the LR of each update.
        momentums: the momentum of each update (a numpy array; empty when
            `cycle_momentum=False`).
        momentum_schedule: the `OneCycleMomentum` applied, or None.

    Example:

    ```python
    steps = epochs * math.ceil(len(x) / batch_size)
    model.compile(optimizer=keras.optimizers.SGD(momentum=0.9, nesterov=True), loss="mse")
    one_cycle = keras_lr.OneCycleLR(1e-2, steps, cycle_momentum=True)
    history = model.fit(x, y, epochs=epochs, callbacks=[one_cycle])
    keras_lr.plot_schedule(one_cycle.schedule, steps, momentum=one_cycle.momentum_schedule)
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
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        verbose: int = 0,
    ) -> None:
        schedule = schedules.OneCycle(**_schedule_arguments(locals()))
        momentum = schedules.OneCycleMomentum(
            total_steps, pct_start, anneal_strategy, base_momentum, max_momentum, three_phase
        )
        self.momentum_schedule = momentum if check.boolean("cycle_momentum", cycle_momentum) else None
        super().__init__(schedule, unit="step", verbose=verbose)
        self._init_momentum(cycle_momentum, base_momentum, max_momentum)

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments (`OneCycleLR.from_config(config)` rebuilds it)."""
        return {**self.schedule.get_config(), **self._momentum_config()}


class ExponentDecayScheduler(ExponentialLR):
    """Deprecated alias of `ExponentialLR` (same arguments, same behaviour).

    Kept for one release; constructing it emits a `DeprecationWarning`.
    """

    @functools.wraps(ExponentialLR.__init__)  # its signature, for inspect and the docs
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        check.warn_renamed("keras_lr.ExponentDecayScheduler", "keras_lr.ExponentialLR")
        super().__init__(*args, **kwargs)


class WarmupCosineDecay(WarmupCosineLR):
    """Deprecated alias of `WarmupCosineLR` (same arguments, same behaviour).

    Kept for one release; constructing it emits a `DeprecationWarning`.
    """

    @functools.wraps(WarmupCosineLR.__init__)  # its signature, for inspect and the docs
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        check.warn_renamed("keras_lr.WarmupCosineDecay", "keras_lr.WarmupCosineLR")
        super().__init__(*args, **kwargs)
