"""Who sets a model's learning rate during `fit`, and what each update used.

One `LRControl` per model (kept in a `weakref.WeakKeyDictionary`, so it goes
with the model) holds the callback that owns the LR in the current `fit`, its
schedule, the `keras_lr.ReduceLROnPlateau` factor, the user's train function
and LR, and keras_lr's compiled train functions. Nothing is written on the
optimizer: every Keras internal is reached through `keras_lr._keras`, whose
docstring states the contract.

- Step unit (scheduler callbacks, the LR finder's ramp): the schedule is
  evaluated at the optimizer's micro-step counter inside the train step,
  as Keras evaluates its own schedules, so `steps_per_execution`, several
  `fit` calls and resumed runs see the exact LR of each step. On TensorFlow
  and JAX it is traced into keras_lr's compiled step, installed as it is: no
  Python of keras_lr's runs per step. On PyTorch, which runs the step
  eagerly, one wrapper per step indexes a device table of the schedule's
  values (one vectorized call per block of steps) with a host-side step
  count and enters the patch with that value (two calls per step), so no
  step reads the device.
- Momentum cycling (`OneCycleLR`/`CyclicLR(cycle_momentum=True)`): the
  owner's momentum schedule goes into the same patch (`take(...,
  momentum=...)`): traced with the LR on TensorFlow and JAX, a host float
  from its own `StepTable` on PyTorch, looked up by the same per-step
  wrapper (still two calls per step).
- Epoch unit: the LR of each epoch is set at its start (no retrace; see
  `LRControl.set_epoch_lr`), and the user's LR variable is the user's again
  on every way out of `fit`.
- Two keras_lr callbacks that would both set the LR in one `fit` (two
  schedulers, a scheduler and the LR finder, two finders) are refused at the
  second one's `on_train_begin`, naming both.
- With gradient accumulation over `k` batches, the optimizer's counter counts
  micro-steps (batches) and the update `u` (0-based) happens at micro-step
  `u * k + k - 1`: as with a schedule given to the optimizer, the schedule is
  evaluated there. `applied_lrs` answers with exactly that, per update.
"""

from __future__ import annotations

import collections
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_lr import _keras, schedule_math
from keras_lr.schedules import Scaled, evaluate, evaluate_per_step, step_dtype

_TABLE_SIZE = 1024
_EPOCH: Any = object()  # the cache key of an epoch-unit scheduler's train function
_CACHE_SIZE = 4  # compiled train functions kept per model


# ------------------------------------------------------------ checks
def lr_optimizer(model: Any, owner: Any) -> Any:
    """The (unwrapped) optimizer whose LR `owner` reads or sets, or a clear error."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError(
            f"{type(owner).__name__} needs a compiled model with an optimizer. "
            "Call `model.compile(optimizer=..., loss=...)` first."
        )
    if _keras.is_multi_optimizer(optimizer):
        raise ValueError(
            f"{type(owner).__name__} cannot follow the learning rate of a `MultiOptimizer`: "
            "each inner optimizer applies its own learning rate, so one schedule or one "
            "logged value would not be the LR the updates use. Give each inner optimizer "
            "its own `keras_lr.schedules` schedule instead (for example "
            "`keras.optimizers.Adam(keras_lr.schedules.WarmupCosine(...))`), or compile "
            f"with a single optimizer. Received: optimizer={type(optimizer).__name__}"
        )
    return _keras.unwrap(optimizer)


def own_schedule(optimizer: Any) -> Any:
    """The optimizer's own learning-rate schedule or callable, or None."""
    learning_rate = _keras.learning_rate(optimizer)
    if _keras.is_variable(learning_rate) or not callable(learning_rate):
        return None
    return learning_rate


def check_settable(optimizer: Any, owner: Any) -> None:
    """Raises if the optimizer was built with its own LR schedule."""
    schedule = own_schedule(optimizer)
    if schedule is not None:
        raise ValueError(
            f"{type(owner).__name__} sets the learning rate itself, but the optimizer "
            f"was created with its own schedule: learning_rate={schedule!r}. Either "
            "create the optimizer with a float `learning_rate` (for example "
            "`keras.optimizers.Adam(learning_rate=1e-3)`) and keep the callback, or "
            "keep the schedule and drop the callback (every keras_lr callback has a "
            "`keras_lr.schedules` twin that can be passed to the optimizer)."
        )


def cycled_attribute(optimizer: Any, owner: Any) -> str:
    """The optimizer attribute `owner` cycles (`"momentum"` or `"beta_1"`), or a clear error."""
    name = _keras.momentum_attribute(optimizer)
    if name is not None:
        return name
    owner_name = type(owner).__name__
    kind = type(optimizer).__name__
    if isinstance(optimizer, (keras.optimizers.SGD, keras.optimizers.RMSprop)):
        reason = (
            f"{kind} was created with momentum={getattr(optimizer, 'momentum', None)!r}, so it keeps "
            "no momentum to cycle (Keras creates the momentum slots only for momentum > 0). "
            f"Create it with a momentum, e.g. `keras.optimizers.{kind}(learning_rate, momentum=0.9)` "
            f"({owner_name} replaces that value during `fit`), or pass `cycle_momentum=False`"
        )
    else:
        reason = (
            f"{kind} has no momentum that {owner_name} can cycle. It cycles the `momentum` of "
            "SGD and RMSprop (created with momentum > 0) and the `beta_1` of Adam, AdamW, "
            "Adamax, Nadam and Lion. Pass `cycle_momentum=False` to schedule only the learning "
            "rate, or compile with one of those optimizers"
        )
    raise ValueError(
        f"{owner_name}(cycle_momentum=True) cannot cycle the momentum of this optimizer: "
        f"{reason}. Received: optimizer={kind}"
    )


def updates(optimizer: Any) -> int:
    """Updates applied so far (`optimizer.iterations`)."""
    return _keras.micro_steps(optimizer) // _keras.accumulation(optimizer)


def update_step(optimizer: Any, update: Any) -> Any:
    """The micro-step at which update `update` happens: the step its schedule sees."""
    k = _keras.accumulation(optimizer)
    return np.asarray(update, dtype="int64") * k + (k - 1)


# ------------------------------------------------------------ step tables
class StepTable:
    """A schedule's values, computed by one vectorized call per block of steps.

    Evaluating a schedule eagerly dispatches one backend op per operation of
    its formula (tens of them for warmup-cosine). The table asks for a whole
    block at once and then answers by indexing:

    - `tensor_at(step)`, a host int: a device scalar, for the eager PyTorch
      step, with no device-to-host read except one per block;
    - `values(steps)`, host-side numpy for logs and records.
    """

    def __init__(self, schedule: Callable[[Any], Any], block: int = _TABLE_SIZE) -> None:
        self.schedule = schedule
        self.block = block
        self.start: int | None = None
        self.tensor: Any = None
        self.array: np.ndarray | None = None
        self.vectorized: bool | None = None
        self.length = block

    def _fill(self, first: int) -> bool:
        """Evaluates the block from `first` in one call; False for a scalar-only schedule."""
        if self.vectorized is False:
            return False
        # The block stops at the last int32 step (a schedule's steps saturate there).
        length = max(min(self.block, schedule_math.INT32_MAX + 1 - first), 1)
        dtype = step_dtype(self.schedule)
        # `first + length` may be 2**31, past int32: offset a range from 0 instead.
        steps = ops.arange(length, dtype=dtype) + ops.convert_to_tensor(np.array(first, dtype))
        tensor = None
        try:
            tensor = ops.convert_to_tensor(self.schedule(steps))
            shape = tuple(ops.shape(tensor))
            if shape == ():  # a constant-valued function (`lambda t: 0.5`): one value per step
                tensor = ops.broadcast_to(tensor, (length,))
            elif shape != (length,):
                tensor = None
        except Exception:  # a schedule that takes scalar steps only
            tensor = None
        self.vectorized = tensor is not None
        if tensor is None:  # do not try it again: such a schedule is evaluated per step
            return False
        self.start, self.tensor, self.length = first, tensor, length
        self.array = np.asarray(ops.convert_to_numpy(tensor), dtype="float64")
        return True

    def _covers(self, low: int, high: int) -> bool:
        return self.start is not None and self.start <= low and high < self.start + self.length

    def tensor_at(self, step: int) -> Any:
        if not self._covers(step, step) and not self._fill(step):
            return self.schedule(ops.convert_to_tensor(np.array(step, dtype=step_dtype(self.schedule))))
        return self.tensor[step - self.start]

    def values(self, steps: Sequence[int] | np.ndarray) -> np.ndarray:
        steps = np.asarray(steps, dtype="int64")
        if steps.size == 0:
            return np.zeros(steps.shape)
        low, high = int(steps.min()), int(steps.max())
        if high - low >= self.block:
            return evaluate(self.schedule, steps)
        if not self._covers(low, high) and not self._fill(low):
            return evaluate_per_step(self.schedule, steps)
        return self.array[steps - self.start]


_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def table_for(schedule: Callable[[Any], Any]) -> StepTable:
    """The (cached) `StepTable` of a schedule. Schedules are immutable."""
    try:
        table = _TABLES.get(schedule)
        if table is None:
            table = _TABLES[schedule] = StepTable(schedule)
        return table
    except TypeError:  # not hashable or not weak-referenceable: no cache
        return StepTable(schedule)


def schedule_values(schedule: Callable[[Any], Any], steps: Sequence[int] | np.ndarray) -> np.ndarray:
    """`schedule` at each of the integer `steps`, host-side, through its table."""
    return table_for(schedule).values(steps)


# ------------------------------------------------------------ the control
class _Compiled:
    """A compiled train function of keras_lr's, the schedule it applies and its patch."""

    __slots__ = ("schedule", "function", "patch", "momentum")

    def __init__(
        self, schedule: Callable[[Any], Any], function: Any, patch: Any, momentum: Any = None
    ) -> None:
        self.schedule = schedule
        self.function = function
        self.patch = patch
        self.momentum = momentum  # the `(attribute, momentum schedule)` it cycles, or None


def two_owners_message(first: Any, second: Any) -> str:
    """The error for two keras_lr callbacks that would both set the LR in one `fit`."""
    a, b = type(first).__name__, type(second).__name__
    names = f"two `{a}` callbacks" if a == b else f"`{a}` and `{b}`"
    finder = "LRFinder" in (a, b)
    fix = (
        "Run the range test in a `fit` (or `LRFinder.find`) of its own, without another "
        "keras_lr scheduler callback or LR finder, then schedule in a separate `fit`."
        if finder
        else "Pass one scheduler callback per `fit`: combine schedules into one with "
        "`keras_lr.schedules.Join` (or `Warmup`) and a `keras_lr.ScheduleCallback`, and "
        "lower a schedule on plateaus with `keras_lr.ReduceLROnPlateau`."
    )
    return (
        f"{names} both set the learning rate in this `fit`: only one keras_lr callback "
        f"can own it, and the other would record learning rates that the updates did not "
        f"use. {fix} Received: callbacks including {a} and {b}"
    )


class LRControl:
    """The LR state of one model: its owner in this `fit`, schedules, factor, cache."""

    def __init__(self, model: Any) -> None:
        self._model = weakref.ref(model)
        self.swap = _keras.TrainFunctionSwap(model)
        self.owner: Any = None
        self.schedule: Callable[[Any], Any] | None = None
        self.scalable = False
        self.epoch_unit = False
        self.factor: tuple[float, float] | None = None
        self.plateau: Any = None
        self.track_loss = False
        self.segments: list[tuple[int, Callable[[Any], Any]]] = []
        self._user_lr: Any = None
        self._cache: collections.OrderedDict = collections.OrderedDict()
        self._scaled: dict[Any, Any] = {}
        self._cache_key: Any = None
        self._host_step: int | None = None  # PyTorch's eager step: counted on the host
        self._current: _Compiled | None = None
        self._epoch_lr: float | None = None  # an epoch-unit scheduler's LR for this epoch
        self._epoch_value: Any = None  # the same, a device scalar (PyTorch's eager step)
        self._epoch_variable: Any = None  # the same, a variable of keras_lr's (TensorFlow)
        self.momentum: tuple[str, Callable[[Any], Any]] | None = None  # cycled with the LR

    @property
    def model(self) -> Any:
        return self._model()

    @property
    def optimizer(self) -> Any:
        return _keras.unwrap(self.model.optimizer)

    # ---------------------------------------------------------- owner
    def take(
        self,
        owner: Any,
        schedule: Callable[[Any], Any] | None,
        *,
        scalable: bool,
        epoch_unit: bool = False,
        track_loss: bool = False,
        momentum: tuple[str, Callable[[Any], Any]] | None = None,
    ) -> None:
        """Makes `owner` the LR's owner for this `fit` (called at `on_train_begin`).

        `momentum`: `(attribute, momentum_schedule)` to cycle the optimizer's
        `momentum`/`beta_1` (`cycled_attribute`) with a step schedule of the
        LR, in the same patch (`_keras.Patch`), or None.
        """
        if self.swap.installed and self.owner is not None and self.owner is not owner:
            # Another keras_lr callback took the LR in this fit: one of them would
            # record LRs that the updates did not use.
            first = self.owner
            self.swap.release()
            raise ValueError(two_owners_message(first, owner))
        if self.swap.installed:
            self.swap.release()
        model = self.model
        user_function = _keras.train_function(model)
        if self._cache_key is not user_function:  # compiled or rebuilt since: a fresh cache
            self._cache.clear()
            self._cache_key = user_function
        self.owner = owner
        self.schedule = schedule
        self.scalable = scalable
        self.epoch_unit = epoch_unit
        self.track_loss = track_loss
        self.momentum = momentum if schedule is not None else None
        self._host_step = None
        variable = _keras.lr_variable(self.optimizer)
        self._user_lr = None if variable is None else np.array(ops.convert_to_numpy(variable))
        self.segments = []
        if schedule is not None:
            self.segments.append((updates(self.optimizer), self.effective()))
        self._prepare()
        self.swap.on_force = self._rebuild
        self.swap.install(None if self._current is None else self._current.function)
        self.swap.on_release = self._on_release

    def _prepare(self) -> None:
        """Builds (or finds) the compiled step for the current schedule.

        Done here, at `on_train_begin` or an epoch end, not at the first call:
        JAX's `fit` takes the variables' values out of them during its epochs.
        """
        if self.schedule is not None:
            self._current = self._compiled(self.segments[-1][1])
        elif self.epoch_unit and not _keras.epoch_lr_in_lr_variable():
            self._current = self._compiled(_EPOCH)
        else:
            self._current = None
        if self._current is not None:
            self.swap.replace(self._current.function)

    def _rebuild(self) -> None:
        self._cache.clear()
        self._prepare()

    def stepped(self) -> bool:
        """Whether an update happened since the owner took the LR (a train step ran)."""
        return bool(self.segments) and updates(self.optimizer) > self.segments[0][0]

    @property
    def tracker_updated(self) -> bool:
        """Whether the current train step updates the model's loss tracker (the finder's check).

        Counted where the patched tracker runs: when the step is traced
        (TensorFlow, JAX), or at each step (PyTorch).
        """
        return self._current is not None and self._current.patch.tracker_updates > 0

    def release(self, owner: Any) -> None:
        """Gives the model back as the user had it (called at `on_train_end`)."""
        if self.owner is owner:
            self.swap.release()

    def _restore_user_lr(self) -> None:
        if self._user_lr is not None:
            _keras.lr_variable(self.optimizer).assign(self._user_lr)

    def _on_release(self) -> None:
        if self.epoch_unit and _keras.epoch_lr_in_lr_variable():
            _keras.remove_fit_exit(self.model)
            self._restore_user_lr()
        self._epoch_lr = None
        self._epoch_value = None
        self.owner = None
        self.schedule = None
        self.scalable = False
        self.epoch_unit = False
        self._user_lr = None
        self._current = None
        self.momentum = None

    @property
    def active(self) -> bool:
        return self.owner is not None and self.swap.installed

    @property
    def step_scheduled(self) -> bool:
        """Whether a step-unit schedule (a scheduler callback or the finder) sets the LR now."""
        return self.active and self.schedule is not None

    @property
    def scheduled_by_callback(self) -> bool:
        """Whether a keras_lr scheduler callback (not the LR finder) sets the LR now."""
        return self.active and (self.scalable or self.epoch_unit)

    # ---------------------------------------------------------- schedule
    def effective(self) -> Callable[[Any], Any]:
        """The step schedule with the plateau factor applied (for scheduler callbacks)."""
        if self.scalable and self.factor is not None and self.factor[0] != 1.0:
            key = (id(self.schedule), self.factor)
            found = self._scaled.get(key)
            if found is None or found[0] is not self.schedule:  # one object: one compile
                found = self._scaled[key] = (self.schedule, Scaled(self.schedule, *self.factor))
            return found[1]
        return self.schedule

    def set_factor(self, value: float, min_lr: float) -> None:
        """Sets the plateau factor; a step schedule is retraced once with it."""
        self.factor = (float(value), float(min_lr))
        if self.step_scheduled and self.scalable:
            self.segments.append((updates(self.optimizer), self.effective()))
            self._prepare()

    def scale_value(self, value: float) -> float:
        """A host-side LR `value` with the plateau factor applied."""
        if self.factor is None:
            return value
        return float(ops.convert_to_numpy(schedule_math.scaled(np.float32(value), *self.factor)))

    def set_epoch_lr(self, value: float) -> None:
        """An epoch-unit scheduler's LR for this epoch (called at each epoch start).

        The user's LR variable keeps the user's value (so that no way out of
        `fit` leaves the epoch's LR in it): the compiled step reads a variable
        of keras_lr's (TensorFlow), or the eager step gets the value
        (PyTorch). JAX's step reads only its state: the LR variable holds the
        epoch's LR during `fit`, and the user's value is put back where `fit`
        leaves, whatever the way out (`_keras.at_fit_exit`).
        """
        self._epoch_lr = float(value)
        if _keras.epoch_lr_in_lr_variable():
            _keras.lr_variable(self.optimizer).assign(value)
            _keras.at_fit_exit(self.model, self._restore_user_lr)
        elif self._epoch_variable is not None:
            self._epoch_variable.assign(value)
        self._epoch_value = ops.convert_to_tensor(np.float32(value))

    # ---------------------------------------------------------- the step
    def _compiled(self, schedule: Callable[[Any], Any]) -> _Compiled:
        momentum = self.momentum if schedule is not _EPOCH else None
        key = (id(schedule), self.track_loss, None if momentum is None else id(momentum[1]))
        entry = self._cache.get(key)
        if (
            entry is None
            or entry.schedule is not schedule
            or (entry.momentum is None) != (momentum is None)
            or (momentum is not None and entry.momentum[1] is not momentum[1])
            or (momentum is not None and entry.momentum[0] != momentum[0])
        ):
            entry = self._cache[key] = self._build(schedule)
            while len(self._cache) > _CACHE_SIZE:  # the finder's ramps are one-offs
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return entry

    def _build(self, schedule: Callable[[Any], Any]) -> _Compiled:
        """keras_lr's train function for `schedule`, with no Python of keras_lr's per step.

        TensorFlow and JAX: the step function enters the patch around
        `train_step`, so the schedule (and a cycled momentum's) is traced
        into the compiled step (at each trace, a retrace included) and the
        function Keras builds is installed as it is. PyTorch (eager): one
        wrapper per call looks the LR (and the cycled momentum) of the
        host-counted step up in the schedules' `StepTable`s and enters the
        patch with those values (two calls per step in all).
        """
        model = self.model
        tracker = _keras.loss_tracker(model) if self.track_loss else None
        eager_lookup = _keras.train_step_looked_up_per_call()
        if schedule is _EPOCH:
            return self._build_epoch(tracker, eager_lookup)
        momentum = self.momentum
        if not eager_lookup:
            patch = _keras.Patch(self.optimizer, schedule, tracker, momentum=momentum)
            return _Compiled(schedule, self.swap.build(patch.apply), patch, momentum)
        inner = self.swap.build(None)
        control = self
        # PyTorch: the momentum of the step is a host float, also under `torch.compile`,
        # which does not see a value set on the optimizer while it traces.
        host_momentum = None if momentum is None else (momentum[0], None)
        m_table = None if momentum is None else table_for(momentum[1])
        if getattr(model, "jit_compile", False):  # torch.compile traces the schedule
            patch = _keras.Patch(self.optimizer, schedule, tracker, momentum=host_momentum)
            if m_table is None:

                def compiled_step(*args: Any, **kwargs: Any) -> Any:
                    with patch.apply():
                        return inner(*args, **kwargs)

            else:

                def compiled_step(*args: Any, **kwargs: Any) -> Any:
                    step = control._host_step
                    if step is None:  # one read per fit; then counted on the host
                        step = _keras.micro_steps(control.optimizer)
                    control._host_step = step + 1
                    start = m_table.start
                    if start is not None and start <= step < start + m_table.length:
                        value = float(m_table.array[step - start])
                    else:  # a new block: one vectorized call per `_TABLE_SIZE` steps
                        value = float(m_table.values([step])[0])
                    with patch.apply(None, value):
                        return inner(*args, **kwargs)

            return _Compiled(schedule, compiled_step, patch, momentum)
        patch = _keras.Patch(self.optimizer, None, tracker, momentum=host_momentum)
        table = table_for(schedule)

        def eager_step(*args: Any, **kwargs: Any) -> Any:
            step = control._host_step
            if step is None:  # one read per fit; then counted on the host
                step = _keras.micro_steps(control.optimizer)
            control._host_step = step + 1
            start = table.start
            if start is not None and start <= step < start + table.length:
                value = table.tensor[step - start]
            else:  # a new block: one vectorized call per `_TABLE_SIZE` steps
                value = table.tensor_at(step)
            cycled = None
            if m_table is not None:
                start = m_table.start
                if start is not None and start <= step < start + m_table.length:
                    cycled = float(m_table.array[step - start])
                else:
                    cycled = float(m_table.values([step])[0])
            with patch.apply(value, cycled):
                return inner(*args, **kwargs)

        return _Compiled(schedule, eager_step, patch, momentum)

    def _build_epoch(self, tracker: Any, eager_lookup: bool) -> _Compiled:
        """An epoch-unit scheduler's train function (not JAX: see `set_epoch_lr`)."""
        model = self.model
        if not eager_lookup or getattr(model, "jit_compile", False):
            if self._epoch_variable is None:
                self._epoch_variable = keras.Variable(
                    np.float32(0.0), dtype="float32", trainable=False, name="keras_lr_epoch_lr"
                )
            variable = self._epoch_variable
            patch = _keras.Patch(self.optimizer, lambda step: variable.value, tracker)
            if not eager_lookup:
                return _Compiled(_EPOCH, self.swap.build(patch.apply), patch)
            inner = self.swap.build(None)

            def compiled_step(*args: Any, **kwargs: Any) -> Any:
                with patch.apply():
                    return inner(*args, **kwargs)

            return _Compiled(_EPOCH, compiled_step, patch)
        patch = _keras.Patch(self.optimizer, None, tracker)
        inner = self.swap.build(None)
        control = self

        def eager_step(*args: Any, **kwargs: Any) -> Any:
            with patch.apply(control._epoch_value):
                return inner(*args, **kwargs)

        return _Compiled(_EPOCH, eager_step, patch)

    # ---------------------------------------------------------- records
    def applied_momentums(self, update_indices: Sequence[int] | np.ndarray) -> np.ndarray | None:
        """The cycled momentum each of the (0-based) updates used, or None when not cycled."""
        if not self.step_scheduled or self.momentum is None:
            return None
        steps = update_step(self.optimizer, np.asarray(update_indices, dtype="int64"))
        return schedule_values(self.momentum[1], steps)

    def applied_runs(
        self, first: int, stop: int
    ) -> list[tuple[Callable[[Any], Any], int, int, int]] | None:
        """Updates `first` to `stop - 1` as `(schedule, first update, count, k)` runs.

        The same LRs as `applied_lrs`, without computing them (a record reads
        them on demand); None when no step schedule of keras_lr's sets the LR.
        """
        if not (self.step_scheduled and self.segments):
            return None
        k = _keras.accumulation(self.optimizer)
        runs = []
        for index, (start, schedule) in enumerate(self.segments):
            low = first if index == 0 else max(start, first)  # as `applied_lrs`: segment 0
            high = stop  # also holds the updates before its start
            if index + 1 < len(self.segments):
                high = min(self.segments[index + 1][0], stop)
            if high > low:
                runs.append((schedule, low, high - low, k))
        return runs

    def applied_lrs(self, update_indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """The LR each of the (0-based) updates used, host-side."""
        update_indices = np.asarray(update_indices, dtype="int64")
        optimizer = self.optimizer
        if self.step_scheduled and self.segments:
            starts = np.asarray([start for start, _ in self.segments])
            which = np.maximum(np.searchsorted(starts, update_indices, side="right") - 1, 0)
            values = np.empty(update_indices.shape)
            for index in np.unique(which):
                chosen = which == index
                steps = update_step(optimizer, update_indices[chosen])
                values[chosen] = schedule_values(self.segments[int(index)][1], steps)
            return values
        if self.active and self.epoch_unit and self._epoch_lr is not None:
            return np.full(update_indices.shape, self._epoch_lr)
        return lr_at(optimizer, update_indices)


_CONTROLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def control(model: Any) -> LRControl:
    """The `LRControl` of `model` (created on first use)."""
    found = _CONTROLS.get(model)
    if found is None:
        found = _CONTROLS[model] = LRControl(model)
    return found


def active_schedule(optimizer: Any) -> Callable[[Any], Any] | None:
    """The optimizer's own schedule as a function of the step, or None for a float LR."""
    own = own_schedule(optimizer)
    if own is None or isinstance(own, keras.optimizers.schedules.LearningRateSchedule):
        return own
    return lambda step: ops.zeros_like(ops.cast(step, "float32")) + ops.cast(own(), "float32")


def lr_at(optimizer: Any, update_indices: Sequence[int] | np.ndarray) -> np.ndarray:
    """The LR the optimizer itself (no keras_lr owner) uses at each update, host-side."""
    update_indices = np.asarray(update_indices, dtype="int64")
    schedule = active_schedule(optimizer)
    if schedule is not None:
        return schedule_values(schedule, update_step(optimizer, update_indices))
    return np.full(update_indices.shape, _keras.read_float(_keras.lr_variable(optimizer)))


def applied_lrs(model: Any, update_indices: Sequence[int] | np.ndarray) -> np.ndarray:
    """The LR each of the updates used, whoever set it."""
    return control(model).applied_lrs(update_indices)


def current_lr(model: Any) -> float:
    """The LR of the last update (of update 0 before any)."""
    return float(applied_lrs(model, [max(updates(model.optimizer) - 1, 0)])[0])


def set_lr(optimizer: Any, value: float) -> None:
    """Assigns a float LR to the optimizer's LR variable."""
    _keras.lr_variable(optimizer).assign(value)
