"""`ReduceLROnPlateau` that also works on top of a learning-rate schedule."""

from __future__ import annotations

import warnings
from typing import Any

import keras
from keras import ops

from keras_lr import _keras
from keras_lr import _validation as check
from keras_lr._io import print_msg
from keras_lr.callbacks import _control
from keras_lr.schedules import Scaled

__all__ = ["ReduceLROnPlateau"]

_MAX_WORDS = ("acc", "auc", "precision", "recall", "f1", "iou", "r2", "score")


class ReduceLROnPlateau(keras.callbacks.Callback):
    """Reduces the LR when a metric stops improving, also under a schedule.

    The arguments and the plateau logic (patience, `min_delta`, cooldown) are
    those of Keras' `ReduceLROnPlateau`, which assigns a float to the
    optimizer's LR and so fails on a `LearningRateSchedule`. This one acts on
    whatever sets the LR:

    - a float LR: as Keras' callback, `lr = max(lr * factor, min_lr)`;
    - a schedule in the optimizer: the optimizer's LR becomes
      `keras_lr.schedules.Scaled(schedule, f, min_lr)`, with `f` the running
      factor (`factor` per reduction), saved in the optimizer's config;
    - a keras_lr scheduler callback: its schedule is multiplied by `f` inside
      the train step; `f` stays with the model in memory but is not saved.

    With a schedule, `lr(t) = max(f * schedule(t), min(schedule(t), min_lr))`
    (`keras_lr.schedule_math.scaled`). As in Keras, a reduction only happens
    while the LR of the last update is above `min_lr`. Each reduction of a
    schedule retraces the train step once. Which reduction survives a
    checkpoint, and why: [the schedules guide](../guide/schedules.md#reduce-on-plateau-on-top-of-a-schedule).

    Args:
        monitor: the quantity to monitor. Defaults to `"val_loss"`.
        factor: the factor of each reduction, in (0, 1). Defaults to 0.1.
        patience: epochs without improvement before a reduction. Defaults to 10.
        verbose: 0 is quiet, 1 prints each reduction. Defaults to 0.
        mode: `"auto"`, `"min"` or `"max"`. In `"auto"` mode the direction
            comes from the metric (losses and errors are minimized; accuracy,
            AUC, precision, recall, F1, IoU, R2 and scores maximized).
            Defaults to `"auto"`.
        min_delta: the smallest change that counts as an improvement.
            Defaults to 1e-4.
        cooldown: epochs to wait after a reduction before counting again.
            Defaults to 0.
        min_lr: the LR below which no reduction pushes. Defaults to 0.

    Raises:
        ValueError: for a bad argument; when training starts, for an
            optimizer whose LR is a plain callable (wrap it in
            `keras_lr.schedules.Lambda`) or a `MultiOptimizer`; in `"auto"`
            mode, for a metric whose direction cannot be told.

    Attributes:
        scale: the running factor applied to a schedule (1.0 until the first
            reduction).
        reductions: the epochs (0-based) at which the LR was reduced.

    Example:

    ```python
    schedule = keras_lr.schedules.WarmupCosine(1e-3, total_steps, warmup_steps=500)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    plateau = keras_lr.ReduceLROnPlateau(factor=0.5, patience=3, min_lr=1e-6)
    model.fit(x, y, validation_split=0.2, epochs=50, callbacks=[plateau])
    ```
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            check.fail("monitor", "the name of a logged metric", monitor)
        self.monitor = monitor
        self.factor = check.number("factor", factor)
        if not 0 < self.factor < 1:
            check.fail("factor", "in (0, 1)", factor)
        self.patience = check.integer("patience", patience, 0)
        self.verbose = check.verbosity("verbose", verbose)
        self.mode = check.one_of("mode", mode, ("auto", "min", "max"))
        self.min_delta = abs(check.number("min_delta", min_delta))
        self.cooldown = check.integer("cooldown", cooldown, 0)
        self.min_lr = check.non_negative("min_lr", min_lr)
        self.reductions: list[int] = []
        self._reset()

    def _reset(self) -> None:
        self.best: float | None = None
        self.wait = 0
        self.cooldown_counter = 0
        self._better: str | None = None

    def get_config(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "factor": self.factor,
            "patience": self.patience,
            "verbose": self.verbose,
            "mode": self.mode,
            "min_delta": self.min_delta,
            "cooldown": self.cooldown,
            "min_lr": self.min_lr,
        }

    # -------------------------------------------------------------- hooks
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._reset()
        optimizer = _control.lr_optimizer(self.model, self)
        own = _control.own_schedule(optimizer)
        if own is not None and not isinstance(own, keras.optimizers.schedules.LearningRateSchedule):
            raise ValueError(
                "ReduceLROnPlateau can scale a float learning rate or a `LearningRateSchedule`, "
                f"but the optimizer's learning rate is a plain callable: {own!r}. Wrap the "
                "function of the step in `keras_lr.schedules.Lambda(fn)`."
            )

    @property
    def scale(self) -> float:
        """The factor now applied to a schedule (a saved one included); 1.0 before any."""
        model = self.model
        if getattr(model, "optimizer", None) is None:
            return 1.0
        own = _control.own_schedule(model.optimizer)
        if isinstance(own, Scaled):  # a saved or earlier reduction of the optimizer's schedule
            return own.factor
        factor = _control.control(model).factor
        return 1.0 if factor is None else factor[0]

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs if logs is not None else {}
        lr = _control.current_lr(self.model)
        logs["learning_rate"] = lr
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is "
                f"not available. Available metrics are: {','.join(sorted(logs))}.",
                stacklevel=2,
            )
        else:
            self._update(epoch, float(ops.convert_to_numpy(current)), lr)

    def _update(self, epoch: int, current: float, lr: float) -> None:
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience and self._reduce(epoch, lr):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _is_improvement(self, current: float) -> bool:
        if self.best is None:
            return True
        if self._better is None:
            self._better = self._infer_direction()
        if self._better == "min":
            return current - self.best < -self.min_delta
        return current - self.best > self.min_delta

    def _infer_direction(self) -> str:
        if self.mode != "auto":
            return self.mode
        name = self.monitor.removeprefix("val_")
        for metric in _flat_metrics(self.model):
            direction = _keras.metric_direction(metric)
            if metric.name == name and direction is not None:
                return "max" if direction == "up" else "min"
        if name.endswith(("loss", "error", "crossentropy")):
            return "min"
        if any(word in name for word in _MAX_WORDS):
            return "max"
        raise ValueError(
            f"ReduceLROnPlateau cannot tell whether `{self.monitor}` should be minimized or "
            "maximized. Pass `mode='min'` or `mode='max'`. "
            f"Received: monitor={self.monitor!r}, mode='auto'"
        )

    def _reduce(self, epoch: int, lr: float) -> bool:
        """Applies one reduction; False when the LR is already at `min_lr`."""
        if lr <= float(ops.convert_to_numpy(ops.cast(self.min_lr, "float32"))):
            return False
        model = self.model
        optimizer = _control.lr_optimizer(model, self)
        own = _control.own_schedule(optimizer)
        control = _control.control(model)
        if control.scheduled_by_callback:
            scale = self.scale * self.factor
            control.set_factor(scale, self.min_lr)
            message = f"scaling the schedule by {scale:.6g}"
        elif isinstance(own, keras.optimizers.schedules.LearningRateSchedule):
            inner = own.schedule if isinstance(own, Scaled) else own
            scale = self.scale * self.factor
            _keras.set_schedule(model, Scaled(inner, scale, self.min_lr))
            message = f"scaling the schedule by {scale:.6g}"
        else:
            new_lr = max(lr * self.factor, self.min_lr)
            _control.set_lr(optimizer, new_lr)
            message = f"reducing learning rate to {new_lr}"
        self.reductions.append(epoch)
        if self.verbose:
            print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau {message}.")
        return True


def _flat_metrics(model: Any) -> list[Any]:
    """The model's metrics, with the compiled metric containers opened."""
    found = []
    for metric in getattr(model, "metrics", []):
        found.append(metric)
        found.extend(getattr(metric, "metrics", []) or [])
    return found
