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

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_lr.schedules import evaluate

_OWNER = "_keras_lr_owner"
_SCHEDULE = "_keras_lr_schedule"
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
    if isinstance(learning_rate, keras.Variable) or not callable(learning_rate):
        return None
    return learning_rate


def iterations(optimizer: Any) -> int:
    """The optimizer's step: the number of updates applied so far."""
    return int(ops.convert_to_numpy(unwrap(optimizer).iterations))


class _StepTable:
    """Eager (PyTorch) evaluation: one vectorized schedule call per block of steps."""

    def __init__(self, schedule: Callable[[Any], Any]) -> None:
        self.schedule = schedule
        self.start = 0
        self.table = None

    def __call__(self, step: Any) -> Any:
        step = int(ops.convert_to_numpy(step))
        offset = step - self.start
        if self.table is None or not 0 <= offset < _TABLE_SIZE:
            self.start, offset = step, 0
            self.table = self.schedule(ops.arange(step, step + _TABLE_SIZE, dtype="float32"))
        return self.table[offset]


def install(model: Any, schedule: Callable[[Any], Any], owner: Any) -> None:
    """Makes `model`'s optimizer use `schedule(optimizer.iterations)` as its LR.

    The train function is rebuilt so the next step is traced with the schedule.
    """
    optimizer = model_optimizer(model, owner)
    previous = optimizer.__dict__.get(_OWNER)
    if previous is not None and previous is not owner:
        warnings.warn(
            f"{type(owner).__name__} takes over the learning rate from "
            f"{type(previous).__name__}. Use one keras_lr scheduler callback per `fit`.",
            stacklevel=3,
        )
    evaluate_at = _StepTable(schedule) if keras.config.backend() == "torch" else schedule

    def _get_current_learning_rate() -> Any:
        return evaluate_at(optimizer._iterations)

    object.__setattr__(optimizer, _METHOD, _get_current_learning_rate)
    object.__setattr__(optimizer, _OWNER, owner)
    object.__setattr__(optimizer, _SCHEDULE, schedule)
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
    last = current_lr(optimizer)
    for name in (_METHOD, _OWNER, _SCHEDULE):
        optimizer.__dict__.pop(name, None)
    if keep_last_lr and isinstance(optimizer._learning_rate, keras.Variable):
        optimizer._learning_rate.assign(last)
    model.train_function = None


def active_schedule(optimizer: Any) -> Callable[[Any], Any] | None:
    """The function of the step that sets the LR now, or None for a float LR.

    keras_lr's installed schedule if any, else the optimizer's own
    `LearningRateSchedule`; a zero-argument callable LR is wrapped.
    """
    optimizer = unwrap(optimizer)
    installed = optimizer.__dict__.get(_SCHEDULE)
    if installed is not None:
        return installed
    own = own_schedule(optimizer)
    if own is None or isinstance(own, keras.optimizers.schedules.LearningRateSchedule):
        return own
    return lambda step: ops.zeros_like(ops.cast(step, "float32")) + ops.cast(own(), "float32")


def lr_at(optimizer: Any, steps: Sequence[int] | np.ndarray) -> np.ndarray:
    """The LR that `optimizer` uses (or used) at each of `steps`, host-side."""
    steps = np.asarray(steps, dtype="float64")
    schedule = active_schedule(optimizer)
    if schedule is not None:
        return evaluate(schedule, steps)
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
