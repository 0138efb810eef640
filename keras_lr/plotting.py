"""Matplotlib helpers. Each takes `ax=` and returns the Axes; all work headless (Agg).

`plot_finder` and `plot_loss_change` live in `keras_lr.core.plot` (no Keras needed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from keras_lr import _validation as check
from keras_lr.core.plot import _axes, plot_finder, plot_loss_change
from keras_lr.schedules import evaluate

__all__ = ["plot_schedule", "plot_finder", "plot_loss_change", "plot_history"]

#: The most steps `plot_schedule` draws (80 MB of float64 values).
MAX_PLOT_STEPS = 10_000_000


def plot_schedule(
    schedule: Callable[[Any], Any],
    total_steps: int,
    ax: Any = None,
    *,
    label: str | None = None,
    log_y: bool = False,
    momentum: Callable[[Any], Any] | None = None,
) -> Any:
    """Plots a schedule's LR over `total_steps` optimizer steps, and optionally its momentum.

    Args:
        schedule: any `LearningRateSchedule` (keras_lr's or Keras') or function
            of the step, or a keras_lr scheduler callback (its `schedule`, and
            its `momentum_schedule` when it cycles the momentum).
        total_steps: the number of steps to draw, an integer in
            [1, 10_000_000].
        ax: a matplotlib Axes; a new figure when None.
        label: the line's legend label; defaults to the schedule's class name.
        log_y: whether to use a log scale for the LR.
        momentum: a momentum schedule (a function of the step, e.g.
            `keras_lr.schedules.OneCycleMomentum`), drawn dashed on a second
            y axis (`ax.twinx()`, labelled "momentum", kept as
            `ax.momentum_axis`) with a shared legend. Defaults to the
            callback's `momentum_schedule`, else None.

    Returns:
        The matplotlib Axes of the LR.

    Example:

    >>> ax = keras_lr.plot_schedule(keras_lr.schedules.Cyclic(1e-3, 6e-3, 500), 4000)
    >>> one_cycle = keras_lr.OneCycleLR(1e-2, 1000, cycle_momentum=True)
    >>> ax = keras_lr.plot_schedule(one_cycle, 1000)  # LR and momentum
    """
    if momentum is None and not callable(schedule):
        momentum = getattr(schedule, "momentum_schedule", None)
    if not callable(schedule) and callable(getattr(schedule, "schedule", None)):
        schedule = schedule.schedule  # a scheduler callback
    if not callable(schedule):
        check.fail(
            "schedule",
            "a LearningRateSchedule or a function of the step (for a constant LR, "
            "`keras_lr.schedules.Constant(lr)`)",
            schedule,
        )
    if momentum is not None and not callable(momentum):
        check.fail("momentum", "a momentum schedule (a function of the step) or None", momentum)
    total_steps = check.integer("total_steps", total_steps, 1, MAX_PLOT_STEPS)
    log_y = check.boolean("log_y", log_y)
    if label is not None and not isinstance(label, str):
        check.fail("label", "a string or None", label)
    ax = _axes(ax)
    steps = np.arange(total_steps)
    lines = ax.plot(steps, evaluate(schedule, steps), label=label or type(schedule).__name__)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    if log_y:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    if momentum is not None:
        twin = ax.twinx()
        lines += twin.plot(
            steps,
            evaluate(momentum, steps),
            color="tab:orange",
            linestyle="--",
            label=type(momentum).__name__ if not label else f"{label} momentum",
        )
        twin.set_ylabel("momentum")
        ax.momentum_axis = twin
        ax.legend(lines, [line.get_label() for line in lines], loc="best")
    return ax


def plot_history(
    history: Any,
    keys: Sequence[str] | None = None,
    ax: Any = None,
    *,
    lr_key: str = "learning_rate",
) -> Any:
    """Plots training curves from a Keras `History`, with the LR on a twin axis.

    Args:
        history: a `keras.callbacks.History` or its `.history` dict.
        keys: the metrics to draw; defaults to every key but the LR.
        ax: a matplotlib Axes; a new figure when None.
        lr_key: the LR key, drawn on a right-hand log axis if present.

    Returns:
        The matplotlib Axes of the metrics (the LR axis is `ax.lr_axis`).

    Raises:
        ValueError: when `history` is not a History or a dict of per-epoch
            lists, a key is not in it, or the plotted series differ in
            length (as with `validation_freq` > 1).

    Example:

    ```python
    history = model.fit(x, y, validation_split=0.2, epochs=20,
                        callbacks=[keras_lr.WarmupCosineLR(1e-3, steps)])
    ax = keras_lr.plot_history(history, keys=["loss", "val_loss"])
    ax.lr_axis.set_ylabel("learning rate")
    ```
    """
    logs = _history_logs(history)
    if not isinstance(lr_key, str):
        check.fail("lr_key", "a string", lr_key)
    if keys is None:
        keys = [k for k in logs if k != lr_key]
    elif isinstance(keys, str) or not isinstance(keys, Sequence):
        check.fail("keys", "a list of metric names, or None", keys)
    else:
        keys = list(keys)
    missing = [k for k in keys if k not in logs]
    if missing:
        check.fail("keys", f"metrics of the history (it has {sorted(logs)})", keys)
    plotted = keys + ([lr_key] if lr_key in logs else [])
    lengths = {key: len(logs[key]) for key in plotted}
    if len(set(lengths.values())) > 1:
        # Which epochs a shorter series belongs to (`validation_freq`) is not in the history.
        check.fail(
            "history",
            "a history with one value per epoch in every plotted series (their lengths "
            f"differ: {', '.join(f'{k}: {n}' for k, n in lengths.items())}, as with "
            "`validation_freq` > 1, and the history does not say which epochs the shorter "
            "ones belong to; pass `keys=` with series of equal length)",
            history,
        )
    ax = _axes(ax)
    epochs = np.arange(1, (max(lengths.values()) if lengths else 0) + 1)
    for key in keys:
        ax.plot(epochs, logs[key], label=key)
    ax.set_xlabel("epoch")
    ax.grid(True, alpha=0.3)
    if lr_key in logs:
        lr_ax = ax.twinx()
        lr_ax.plot(epochs, logs[lr_key], color="k", ls=":", label=lr_key)
        lr_ax.set_yscale("log")
        lr_ax.set_ylabel(lr_key)
        ax.lr_axis = lr_ax
    ax.legend(loc="best")
    return ax


def _history_logs(history: Any) -> Mapping[str, Sequence[float]]:
    """The `{metric: per-epoch values}` dict of a `History` (or the dict itself)."""
    logs = getattr(history, "history", history)
    requirement = "a keras.callbacks.History (what `model.fit` returns) or its `.history` dict"
    if not isinstance(logs, Mapping):
        check.fail("history", requirement, history)
    if not logs:
        check.fail("history", "a history with at least one metric (it is empty)", history)
    for key, values in logs.items():
        if (
            not isinstance(key, str)
            or isinstance(values, (str, bytes))
            or not hasattr(values, "__len__")
        ):
            check.fail("history", requirement + f"; its {key!r} entry is not a list", history)
    return logs
