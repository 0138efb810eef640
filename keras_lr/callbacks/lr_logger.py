"""`LRLogger`: puts the optimizer's learning rate into the training logs."""

from __future__ import annotations

import keras
import numpy as np

from keras_lr import _keras
from keras_lr import _validation as check
from keras_lr.callbacks import _control

__all__ = ["LRLogger"]


class LRLogger(keras.callbacks.Callback):
    """Adds the optimizer's learning rate to `logs[key]` at each epoch end.

    Place it before `CSVLogger` and `TensorBoard` in the callbacks list; the
    `History` that `fit` returns always sees it. The logged value is the LR of
    the epoch's last update, whatever sets it: a float, a Keras or keras_lr
    schedule in the optimizer, a keras_lr scheduler callback, Keras'
    `ReduceLROnPlateau`, and also under a `LossScaleOptimizer`
    (`mixed_float16`). With a float LR, a value that a callback earlier in the
    list already logged for the epoch is kept: Keras' `ReduceLROnPlateau` logs
    the epoch's LR before lowering it for the next epoch.

    Keras' `TensorBoard` callback writes `optimizer.learning_rate` itself, which
    for a per-step schedule is the LR of the next step (one step later than
    the value logged here).

    With `per_batch=True` it also keeps the LR of every step in
    `self.history[key]` (and the optimizer steps in `self.history["step"]`),
    also under `steps_per_execution > 1`, where batch hooks run once per
    execution. It adds a batch hook, which costs a little speed; without
    `per_batch` the logger only acts once per epoch. More in
    [the schedules guide](../guide/schedules.md#seeing-the-learning-rate).

    While a keras_lr scheduler cycles the momentum (`OneCycleLR` or
    `CyclicLR` with `cycle_momentum=True`), the momentum of the epoch's last
    update is also logged, as `logs["momentum"]` (SGD, RMSprop) or
    `logs["beta_1"]` (Adam-type), and with `per_batch=True` the momentum of
    every step is kept in `self.history["momentum"]` (or `["beta_1"]`), one
    per entry of `self.history["step"]` recorded while it was cycled.

    Args:
        per_batch: whether to record the LR of every step. Defaults to False.
        key: the logs key. Defaults to `"learning_rate"`, Keras' own key.

    Attributes:
        history: with `per_batch=True`, `{"step": [...], key: [...]}`: each
            update's optimizer step and LR (empty lists otherwise), and the
            cycled momentum of those updates under `"momentum"`/`"beta_1"`.

    Raises:
        ValueError: for a bad argument; when training starts, for a model
            without an optimizer or with a `MultiOptimizer`.

    Example:

    ```python
    history = model.fit(x, y, epochs=5, callbacks=[keras_lr.LRLogger(),
                                                  keras.callbacks.CSVLogger("log.csv")])
    history.history["learning_rate"]
    ```
    """

    def __init__(self, *, per_batch: bool = False, key: str = "learning_rate") -> None:
        super().__init__()
        if not isinstance(key, str) or not key:
            check.fail("key", "a non-empty string", key)
        self.per_batch = check.boolean("per_batch", per_batch)
        self.key = key
        self.history: dict[str, list[float]] = {"step": [], key: []}
        self._epoch_start = 0
        self._last_batch = -1
        if self.per_batch:
            # An instance attribute, so that Keras only runs batch hooks when asked.
            self.on_train_batch_end = self._record_batch

    def on_train_begin(self, logs: dict | None = None) -> None:
        _control.lr_optimizer(self.model, self)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start = _keras.micro_steps(self.model.optimizer)
        self._last_batch = -1

    def _record_batch(self, batch: int, logs: dict | None = None) -> None:
        # Batches are micro-steps; with gradient accumulation over k batches an
        # update ends every k-th one. Record the updates completed since the
        # last call, each with the LR it used.
        batch = _keras.last_step_of_batch(self.model, batch)
        k = _keras.accumulation(self.model.optimizer)
        first = (self._epoch_start + self._last_batch + 1) // k
        end = (self._epoch_start + batch + 1) // k
        self._last_batch = batch
        updates = np.arange(first, end)
        if updates.size == 0:
            return
        lrs = _control.applied_lrs(self.model, updates)
        self.history["step"].extend(int(s) for s in updates)
        self.history[self.key].extend(lrs.tolist())
        if logs is not None:
            logs[self.key] = float(lrs[-1])
        control = _control.control(self.model)
        momentums = control.applied_momentums(updates)
        if momentums is not None and control.momentum is not None:
            self.history.setdefault(control.momentum[0], []).extend(momentums.tolist())

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.per_batch:
            # Keras numbers a last, partial execution as if it were full: keep
            # only the updates that ran.
            now = _control.updates(self.model.optimizer)
            dropped = 0
            while self.history["step"] and self.history["step"][-1] >= now:
                self.history["step"].pop()
                self.history[self.key].pop()
                dropped += 1
            for name in ("momentum", "beta_1"):  # recorded with the dropped steps
                if dropped and name in self.history and name != self.key:
                    del self.history[name][-dropped:]
        if logs is None:
            return
        control = _control.control(self.model)
        momentums = control.applied_momentums([max(_control.updates(self.model.optimizer) - 1, 0)])
        if momentums is not None and control.momentum is not None:
            logs[control.momentum[0]] = float(momentums[0])
        if (
            self.key in logs
            and not control.step_scheduled
            and _control.active_schedule(self.model.optimizer) is None
        ):
            # A float LR that a callback earlier in the list already logged (Keras'
            # ReduceLROnPlateau logs the epoch's LR, then lowers it for the next).
            return
        logs[self.key] = _control.current_lr(self.model)
