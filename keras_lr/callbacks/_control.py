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
  and JAX it is traced into keras_lr's compiled step; on PyTorch, which runs
  the step eagerly, each step indexes a device table of the schedule's values
  (one vectorized call per block of steps) with a host-side step count, so no
  step reads the device.
- Epoch unit: the LR variable is set at each epoch start (a real optimizer
  variable: no retrace) and the user's value is put back at the end.
- With gradient accumulation over `k` batches, the optimizer's counter counts
  micro-steps (batches) and the update `u` (0-based) happens at micro-step
  `u * k + k - 1`: as with a schedule given to the optimizer, the schedule is
  evaluated there. `applied_lrs` answers with exactly that, per update.
"""

from __future__ import annotations

import collections
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_lr import _keras, schedule_math
from keras_lr.schedules import Scaled, evaluate, evaluate_per_step, step_dtype

_TABLE_SIZE = 1024
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
            tensor = self.schedule(steps)
            if tuple(ops.shape(tensor)) != (length,):
                tensor = None
        except Exception:  # a schedule that takes scalar steps only
            pass
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
        self.tracker_updates = 0
        self.calls = 0  # of keras_lr's train function in this fit
        self.segments: list[tuple[int, Callable[[Any], Any]]] = []
        self._user_lr: Any = None
        self._cache: collections.OrderedDict = collections.OrderedDict()
        self._scaled: dict[Any, Any] = {}
        self._cache_key: Any = None
        self._host_step: int | None = None
        self._current: Any = None
        self.momentum: tuple[str, Callable[[Any], Any]] | None = None

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
        `momentum`/`beta_1` with a step schedule (`_keras.patched`), or None.
        """
        if self.swap.installed:  # another keras_lr callback took the LR in this fit
            if self.owner is not None and self.owner is not owner:
                warnings.warn(
                    f"{type(owner).__name__} takes over the learning rate from "
                    f"{type(self.owner).__name__}. Use one keras_lr scheduler callback per `fit`.",
                    stacklevel=3,
                )
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
        self.tracker_updates = 0
        self.calls = 0
        self._host_step = None
        variable = _keras.lr_variable(self.optimizer)
        self._user_lr = None if variable is None else np.array(ops.convert_to_numpy(variable))
        self.segments = []
        if schedule is not None:
            self.segments.append((updates(self.optimizer), self.effective()))
        self.swap.on_force = self._rebuild
        self.swap.install(self._call if schedule is not None else None)
        self.swap.on_release = self._on_release
        self._prepare()

    def _prepare(self) -> None:
        """Builds (or finds) the compiled step for the current schedule.

        Done here, at `on_train_begin` or an epoch end, not at the first call:
        JAX's `fit` takes the variables' values out of them during its epochs.
        """
        self._current = None if self.schedule is None else self._compiled(self.segments[-1][1])

    def _rebuild(self) -> None:
        self._cache.clear()
        self._prepare()

    def release(self, owner: Any) -> None:
        """Gives the model back as the user had it (called at `on_train_end`)."""
        if self.owner is owner:
            self.swap.release()

    def _on_release(self) -> None:
        if self.epoch_unit and self._user_lr is not None:
            _keras.lr_variable(self.optimizer).assign(self._user_lr)
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
        """An epoch-unit scheduler's LR for this epoch, in the LR variable."""
        _keras.lr_variable(self.optimizer).assign(value)

    # ---------------------------------------------------------- the step
    def _compiled(self, schedule: Callable[[Any], Any]) -> Any:
        momentum = None if self.momentum is None else id(self.momentum[1])
        key = (id(schedule), self.track_loss, momentum)
        entry = self._cache.get(key)
        if entry is None or entry[0] is not schedule:
            entry = self._cache[key] = (schedule, self.swap.build())
            while len(self._cache) > _CACHE_SIZE:  # the finder's ramps are one-offs
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return entry[1]

    def _count_update(self) -> None:
        self.tracker_updates += 1

    def _call(self, *args: Any, **kwargs: Any) -> Any:
        """keras_lr's train function: the owner's schedule, for this call only."""
        schedule = self.segments[-1][1]
        compiled = self._current
        optimizer = self.optimizer
        momentum = self.momentum
        torch = keras.config.backend() == "torch"
        eager = torch and not getattr(self.model, "jit_compile", False)
        if (eager or (torch and momentum is not None)) and self._host_step is None:
            self._host_step = _keras.micro_steps(optimizer)  # one read per fit; then counted on the host
        if eager:
            value = table_for(schedule).tensor_at(self._host_step)
            lr_of_step = lambda step: value  # noqa: E731
        else:
            lr_of_step = schedule
        if torch and momentum is not None:
            momentum = self._host_momentum(self._host_step)
        self.calls += 1
        tracker = _keras.loss_tracker(self.model) if self.track_loss else None
        with _keras.patched(optimizer, lr_of_step, tracker, self._count_update, momentum):
            outputs = compiled(*args, **kwargs)
        if self._host_step is not None:
            self._host_step += 1
        return outputs

    def _host_momentum(self, step: int | None) -> tuple[str, Any] | None:
        """The torch step's momentum: a host float from the schedule's table.

        Also under `jit_compile=True`: a value that the step sets on the
        optimizer while `torch.compile` traces it is not seen by the update.
        """
        if self.momentum is None or step is None:
            return None
        name, schedule = self.momentum
        return name, float(table_for(schedule).values([step])[0])

    # ---------------------------------------------------------- records
    def applied_momentums(self, update_indices: Sequence[int] | np.ndarray) -> np.ndarray | None:
        """The cycled momentum each of the (0-based) updates used, or None when not cycled."""
        if not self.step_scheduled or self.momentum is None:
            return None
        steps = update_step(self.optimizer, np.asarray(update_indices, dtype="int64"))
        return schedule_values(self.momentum[1], steps)

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
