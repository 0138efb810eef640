"""Glue between keras_lr schedules and a Keras 3 optimizer.

The Keras 3 optimizer reads its learning rate through
`optimizer._get_current_learning_rate()` inside `apply()`, that is inside the
compiled train step, before it increments `optimizer.iterations`. keras_lr
puts a schedule there for the length of a `fit` call: the optimizer instance
gets its own `_get_current_learning_rate` that evaluates the schedule at
`optimizer.iterations`. Nothing else changes:

- the optimizer's variables (its LR variable included) stay as they are, so
  the training state layout recorded by `fit` (JAX sharding specs,
  `tf.distribute` variables) is untouched;
- the optimizer's config still holds a float LR or its own schedule, so
  `model.save` and checkpoints are unaffected;
- the schedule is a function of the optimizer's step, which `fit` restores
  from checkpoints and carries across `fit` calls: it is never counted in
  Python, so `steps_per_execution`, several `fit` calls and resumed runs
  all see the exact LR of each step.

On TensorFlow and JAX the schedule is traced into the step. On PyTorch,
which runs the step eagerly, the schedule is evaluated once for a block of
steps (one vectorized call) and each step looks its value up.
"""

from __future__ import annotations

import math
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_lr import schedule_math
from keras_lr._io import print_msg
from keras_lr._keras import is_variable, last_step_of_batch  # noqa: F401
from keras_lr.schedules import Scaled, evaluate, evaluate_per_step

_OWNER = "_keras_lr_owner"
_SCHEDULE = "_keras_lr_schedule"
_FACTOR = "_keras_lr_factor"
_SCALABLE = "_keras_lr_scalable"
_EFFECTIVE = "_keras_lr_effective"
_EPOCH_SCHEDULE = "_keras_lr_epoch_schedule"
_PLATEAU = "_keras_lr_plateau"
_METHOD = "_get_current_learning_rate"
_TABLE_SIZE = 1024


def unwrap(optimizer: Any) -> Any:
    """The optimizer that owns the LR: the inner one of a `LossScaleOptimizer`."""
    while isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = optimizer.inner_optimizer
    return optimizer


def model_optimizer(model: Any, owner: Any) -> Any:
    """The unwrapped optimizer of a compiled model, or a clear error."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError(
            f"{type(owner).__name__} needs a compiled model with an optimizer. "
            "Call `model.compile(optimizer=..., loss=...)` first."
        )
    return unwrap(optimizer)


def own_schedule(optimizer: Any) -> Any:
    """The optimizer's own learning-rate schedule or callable, or None."""
    learning_rate = unwrap(optimizer)._learning_rate
    if is_variable(learning_rate) or not callable(learning_rate):
        return None
    return learning_rate


def iterations(optimizer: Any) -> int:
    """The optimizer's step: the number of updates applied so far."""
    return int(ops.convert_to_numpy(unwrap(optimizer).iterations))


class StepTable:
    """A schedule's values, computed by one vectorized call per block of steps.

    Evaluating a schedule eagerly dispatches one backend op per operation of
    its formula (tens of them for warmup-cosine), which costs about a
    millisecond on JAX however many steps are asked for. The table asks for a
    whole block at once and then answers by indexing:

    - `tensor_at(step)`, for the eager PyTorch train step: one lookup per step;
    - `values(steps)`, host-side numpy for logs and records.
    """

    def __init__(self, schedule: Callable[[Any], Any], block: int = _TABLE_SIZE) -> None:
        self.schedule = schedule
        self.block = block
        self.start: int | None = None
        self.tensor: Any = None
        self.array: np.ndarray | None = None

    def _fill(self, first: int) -> None:
        steps = ops.arange(first, first + self.block, dtype="float32")
        self.start = first
        self.tensor = None
        try:
            tensor = self.schedule(steps)
            if tuple(ops.shape(tensor)) == (self.block,):
                self.tensor = tensor
        except Exception:  # a schedule that takes scalar steps only
            pass
        if self.tensor is None:  # the vectorized call failed: do not try it again
            self.array = evaluate_per_step(self.schedule, np.arange(first, first + self.block))
        else:
            self.array = np.asarray(ops.convert_to_numpy(self.tensor), dtype="float64")

    def _covers(self, low: int, high: int) -> bool:
        return self.start is not None and self.start <= low and high < self.start + self.block

    def tensor_at(self, step: Any) -> Any:
        index = int(ops.convert_to_numpy(step))
        if not self._covers(index, index):
            self._fill(index)
        if self.tensor is None:
            return self.schedule(step)
        return self.tensor[index - self.start]

    def values(self, steps: Sequence[int] | np.ndarray) -> np.ndarray:
        steps = np.asarray(steps, dtype="int64")
        if steps.size == 0:
            return np.zeros(steps.shape)
        low, high = int(steps.min()), int(steps.max())
        if high - low >= self.block:
            return evaluate(self.schedule, steps)
        if not self._covers(low, high):
            self._fill(low)
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


def install(model: Any, schedule: Callable[[Any], Any], owner: Any, *, scalable: bool = False) -> None:
    """Makes `model`'s optimizer use `schedule(optimizer.iterations)` as its LR.

    The train function is rebuilt so the next step is traced with the schedule.
    With `scalable` (the scheduler callbacks, not the LR finder's ramp), the
    plateau factor of `keras_lr.ReduceLROnPlateau` (see `set_factor`) scales it.
    """
    optimizer = model_optimizer(model, owner)
    previous = optimizer.__dict__.get(_OWNER)
    if previous is not None and previous is not owner:
        warnings.warn(
            f"{type(owner).__name__} takes over the learning rate from "
            f"{type(previous).__name__}. Use one keras_lr scheduler callback per `fit`.",
            stacklevel=3,
        )
    object.__setattr__(optimizer, _OWNER, owner)
    object.__setattr__(optimizer, _SCHEDULE, schedule)
    object.__setattr__(optimizer, _SCALABLE, scalable)
    _recover_step_factor(optimizer)
    _patch(model, optimizer)


def _recover_step_factor(optimizer: Any) -> bool:
    """With a plateau present and no factor yet: recovers it for an installed schedule."""
    state = optimizer.__dict__
    if state.get(_PLATEAU) is None or _FACTOR in state or not state.get(_SCALABLE):
        return False
    steps = iterations(optimizer)
    last = float(schedule_values(state[_SCHEDULE], [steps - 1])[0]) if steps > 0 else None
    recover_factor(optimizer, last, at=f"step {steps - 1}")
    return True


def _patch(model: Any, optimizer: Any) -> None:
    """(Re)writes the optimizer's LR method for its installed schedule and factor."""
    schedule = optimizer.__dict__[_SCHEDULE]
    scale = optimizer.__dict__.get(_FACTOR)
    if optimizer.__dict__[_SCALABLE] and scale is not None and scale[0] != 1.0:
        schedule = Scaled(schedule, *scale)
    object.__setattr__(optimizer, _EFFECTIVE, schedule)
    evaluate_at = table_for(schedule).tensor_at if keras.config.backend() == "torch" else schedule

    def _get_current_learning_rate() -> Any:
        return evaluate_at(optimizer._iterations)

    object.__setattr__(optimizer, _METHOD, _get_current_learning_rate)
    model.make_train_function(force=True)


def uninstall(model: Any, owner: Any, keep_last_lr: bool = True) -> None:
    """Undoes `install()` if `owner` still controls the LR.

    With `keep_last_lr`, a float LR variable is left at the LR of the last
    step, so that it is what `model.save` records. The train function is
    dropped so the next `fit` traces the optimizer as it is again.
    """
    optimizer = unwrap(model.optimizer)
    if optimizer.__dict__.get(_OWNER) is not owner:
        return
    keep_last_lr = keep_last_lr and is_variable(optimizer._learning_rate)
    last = current_lr(optimizer) if keep_last_lr else None
    for name in (_METHOD, _OWNER, _SCHEDULE, _SCALABLE, _EFFECTIVE):
        optimizer.__dict__.pop(name, None)
    if keep_last_lr:
        optimizer._learning_rate.assign(last)
    model.train_function = None


# ------------------------------------------------------------ plateau factor
# keras_lr's ReduceLROnPlateau scales an installed schedule by a factor. In
# memory the factor lives on the optimizer instance; in a saved model it is
# carried by the LR variable, which keras_lr keeps equal to the LR of the last
# update: on resume the factor is that LR over the schedule's value there.


def factor(optimizer: Any) -> tuple[float, float] | None:
    """The plateau `(factor, min_lr)` applied to installed schedules, or None."""
    return unwrap(optimizer).__dict__.get(_FACTOR)


def set_factor(model: Any, value: float, min_lr: float) -> None:
    """Sets the plateau factor and retraces the step if a schedule is installed."""
    optimizer = unwrap(model.optimizer)
    owner = optimizer.__dict__.get(_OWNER)
    if hasattr(owner, "_record_steps"):  # record the steps run at the old factor
        owner._record_steps()
    object.__setattr__(optimizer, _FACTOR, (float(value), float(min_lr)))
    if optimizer.__dict__.get(_SCHEDULE) is not None:
        _patch(model, optimizer)


def attach_plateau(model: Any, plateau: Any) -> None:
    """Marks `plateau` as present for this `fit`, and recovers a saved factor."""
    optimizer = unwrap(model.optimizer)
    object.__setattr__(optimizer, _PLATEAU, plateau)
    if _recover_step_factor(optimizer):
        _patch(model, optimizer)


def detach_plateau(model: Any, plateau: Any) -> None:
    optimizer = unwrap(model.optimizer)
    if optimizer.__dict__.get(_PLATEAU) is plateau:
        optimizer.__dict__.pop(_PLATEAU)


def plateau_present(optimizer: Any) -> bool:
    return unwrap(optimizer).__dict__.get(_PLATEAU) is not None


def register_epoch_schedule(optimizer: Any, schedule: Callable[[Any], Any] | None) -> None:
    """Records (or, with None, forgets) the epoch-unit schedule a callback applies."""
    optimizer = unwrap(optimizer)
    if schedule is None:
        optimizer.__dict__.pop(_EPOCH_SCHEDULE, None)
    else:
        object.__setattr__(optimizer, _EPOCH_SCHEDULE, schedule)


def scheduled_by_callback(optimizer: Any) -> bool:
    """Whether a keras_lr scheduler callback (not the LR finder) sets the LR now."""
    state = unwrap(optimizer).__dict__
    return bool(state.get(_SCALABLE)) or state.get(_EPOCH_SCHEDULE) is not None


def sync_lr_variable(optimizer: Any, epoch: int) -> None:
    """Writes the scaled LR of the last update into the LR variable.

    That is what a checkpoint saves, and what `recover_factor` reads back.
    """
    optimizer = unwrap(optimizer)
    if not is_variable(optimizer._learning_rate):
        return
    state = optimizer.__dict__
    if state.get(_SCALABLE):
        optimizer._learning_rate.assign(current_lr(optimizer))
    elif state.get(_EPOCH_SCHEDULE) is not None:
        raw = float(schedule_values(state[_EPOCH_SCHEDULE], [epoch])[0])
        optimizer._learning_rate.assign(scale_value(optimizer, raw))


def recover_factor(optimizer: Any, last_value: float | None, at: str = "the last step") -> float:
    """Recovers the plateau factor of a resumed run from the saved LR variable.

    `last_value` is the unscaled schedule's LR of the last update, `at`
    (None before any update). The saved LR variable holds the scaled LR of
    that update, so their ratio is the factor, provided it is a power of the
    plateau's `factor` (or the LR sat at `min_lr`): any other ratio comes from
    something else (training with a float LR, another schedule, another
    `factor`), and the factor starts at 1 with a warning. Nothing is known
    when the schedule was 0 there: the factor is then 1.
    """
    optimizer = unwrap(optimizer)
    plateau = optimizer.__dict__[_PLATEAU]
    value = 1.0
    if last_value is not None and last_value > 0 and is_variable(optimizer._learning_rate):
        saved = float(ops.convert_to_numpy(optimizer._learning_rate))
        value = _factor_from_ratio(saved, last_value, plateau, at)
    object.__setattr__(optimizer, _FACTOR, (value, plateau.min_lr))
    if plateau.verbose and value < 1.0:
        print_msg(
            f"ReduceLROnPlateau: resuming with the schedule scaled by {value:.6g} "
            f"(the saved learning rate over the schedule's value at {at})."
        )
    return value


_RATIO_RTOL = 1e-4  # float32 LRs and schedules agree to ~1e-7


def _factor_from_ratio(saved: float, last_value: float, plateau: Any, at: str) -> float:
    """The factor that explains `saved = scaled(last_value, factor, min_lr)`, else 1."""
    ratio = saved / last_value
    if math.isclose(ratio, 1.0, rel_tol=_RATIO_RTOL):
        return 1.0
    if 0 < ratio < 1:
        reductions = round(math.log(ratio) / math.log(plateau.factor))
        if reductions >= 1 and math.isclose(plateau.factor**reductions, ratio, rel_tol=_RATIO_RTOL):
            return plateau.factor**reductions
        if plateau.min_lr > 0 and math.isclose(saved, plateau.min_lr, rel_tol=_RATIO_RTOL):
            return ratio  # held at min_lr: the factor is this or smaller, the LR the same
    warnings.warn(
        f"ReduceLROnPlateau starts with the schedule unscaled: the saved learning rate "
        f"{saved:.6g} is not the schedule's value at {at} ({last_value:.6g}) reduced by "
        f"factor={plateau.factor} (a power of it, or min_lr={plateau.min_lr}), so it does "
        "not come from an earlier reduction with these arguments (it was set by a float "
        "learning rate, another schedule or another factor).",
        stacklevel=2,
    )
    return 1.0


def scale_value(optimizer: Any, value: float) -> float:
    """A host-side LR `value` with the optimizer's plateau factor applied."""
    scale = factor(optimizer)
    if scale is None:
        return value
    return float(ops.convert_to_numpy(schedule_math.scaled(np.float32(value), *scale)))


def active_schedule(optimizer: Any) -> Callable[[Any], Any] | None:
    """The function of the step that sets the LR now, or None for a float LR.

    keras_lr's installed schedule if any, else the optimizer's own
    `LearningRateSchedule`; a zero-argument callable LR is wrapped.
    """
    optimizer = unwrap(optimizer)
    installed = optimizer.__dict__.get(_EFFECTIVE)
    if installed is not None:
        return installed
    own = own_schedule(optimizer)
    if own is None or isinstance(own, keras.optimizers.schedules.LearningRateSchedule):
        return own
    return lambda step: ops.zeros_like(ops.cast(step, "float32")) + ops.cast(own(), "float32")


def lr_at(optimizer: Any, steps: Sequence[int] | np.ndarray) -> np.ndarray:
    """The LR that `optimizer` uses (or used) at each of `steps`, host-side."""
    steps = np.asarray(steps, dtype="int64")
    schedule = active_schedule(optimizer)
    if schedule is not None:
        return schedule_values(schedule, steps)
    value = float(ops.convert_to_numpy(unwrap(optimizer)._learning_rate))
    return np.full(steps.shape, value)


def current_lr(optimizer: Any) -> float:
    """The LR of the last update (of step 0 before any update)."""
    return float(lr_at(optimizer, [max(iterations(optimizer) - 1, 0)])[0])


def set_lr(optimizer: Any, value: float) -> None:
    """Assigns a float LR to the optimizer's LR variable."""
    unwrap(optimizer)._learning_rate.assign(value)


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
