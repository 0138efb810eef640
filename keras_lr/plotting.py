"""Matplotlib helpers. Each takes `ax=` and returns the Axes; all work headless (Agg)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from keras_lr import _validation as check
from keras_lr import suggest
from keras_lr.schedules import evaluate

__all__ = ["plot_schedule", "plot_finder", "plot_loss_change", "plot_history"]

#: The most steps `plot_schedule` draws (80 MB of float64 values).
MAX_PLOT_STEPS = 10_000_000


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(6.4, 4.0))
    return ax


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


def _window(n: int, skip_start: int, skip_end: int) -> slice:
    if skip_start < 0 or skip_end < 0:
        raise ValueError(
            "Arguments `skip_start` and `skip_end` must be >= 0. "
            f"Received: skip_start={skip_start}, skip_end={skip_end}"
        )
    if n - skip_start - skip_end < 2:
        skip_start, skip_end = 0, 0
    return slice(skip_start, n - skip_end)


def _require_curve(finder: Any) -> None:
    if len(finder.lrs) < 2:
        raise ValueError(
            f"The finder recorded {len(finder.lrs)} point(s): nothing to plot. "
            "Run `finder.find(...)` or `model.fit(..., callbacks=[finder])` first."
        )


def plot_finder(
    finder: Any,
    ax: Any = None,
    *,
    skip_start: int = suggest.SKIP_START,
    skip_end: int = suggest.SKIP_END,
    suggestion: str | None = suggest.DEFAULT_METHOD,
    show_raw: bool = False,
    curve: str = "train",
) -> Any:
    """Plots a range test: smoothed loss against LR on a log axis.

    With several runs (`LRFinder(num_runs=...)`), the curve is their mean and
    a shaded band spans, at each LR, the lowest to the highest value of the
    runs that reached it (the min-max band: with a handful of runs,
    percentiles would only pick runs out, and the full range shows how far
    apart they are). With a validation curve (`find(val_data=...)`), it is
    drawn too, over the same LR range.

    Args:
        finder: an `LRFinder` that has run (or was loaded).
        ax: a matplotlib Axes; a new figure when None.
        skip_start: points of the training curve left out at the start. If
            fewer than 2 points would remain, nothing is skipped.
        skip_end: points left out at the end.
        suggestion: the suggestion method to mark, or None.
        show_raw: also draw the raw batch losses.
        curve: `"train"` (the default) or `"val"`: the curve whose band is
            drawn and whose suggestion is marked.

    Returns:
        The matplotlib Axes.
    """
    _require_curve(finder)
    curve = check.one_of("curve", curve, suggest.CURVES)
    val_lrs = np.asarray(getattr(finder, "val_lrs", []), dtype="float64")
    val_losses = np.asarray(getattr(finder, "val_losses", []), dtype="float64")
    if curve == "val" and not val_lrs.size:
        raise ValueError(
            "The finder has no validation curve to plot. Pass `val_data=` to "
            "`finder.find(...)` to record one, or use curve='train'."
        )
    runs = list(getattr(finder, "runs", []))
    ax = _axes(ax)
    window = _window(len(finder.lrs), skip_start, skip_end)
    lrs = np.asarray(finder.lrs)[window]
    shown = (lrs[0] * (1 - 1e-9), lrs[-1] * (1 + 1e-9))  # the LR range on display
    if show_raw:
        raw = np.asarray(finder.raw_losses)[window]
        ax.plot(lrs, raw, color="0.75", lw=0.8, label="batch loss")
    label = "smoothed loss" if len(runs) < 2 else f"smoothed loss, mean of {len(runs)} runs"
    ax.plot(lrs, np.asarray(finder.losses)[window], color="C0", label=label)
    if val_lrs.size:
        inside = (val_lrs >= shown[0]) & (val_lrs <= shown[1])
        ax.plot(
            val_lrs[inside],
            val_losses[inside],
            "o-",
            color="C1",
            ms=3,
            lw=1,
            label="validation loss",
        )
    if len(runs) > 1:
        _band(ax, runs, curve, shown)
    if suggestion is not None:
        _mark_suggestion(ax, finder, suggestion, curve, (val_lrs, val_losses))
    _mark_stop(ax, finder)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss")
    ax.set_title("LR range test")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax


def _mark_suggestion(
    ax: Any, finder: Any, method: str, curve: str, val: tuple[np.ndarray, np.ndarray]
) -> None:
    """Marks the suggested LR on the curve (a fallback from the divergence is labelled so)."""
    import warnings

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", suggest.UnreliableSuggestionWarning)
            lr = finder.suggestion(method, curve=curve)
    except ValueError:
        return
    fallback = any(issubclass(w.category, suggest.FallbackWarning) for w in caught)
    curve_lrs, curve_losses = val if curve == "val" else (finder.lrs, finder.losses)
    loss = float(np.interp(np.log(lr), np.log(curve_lrs), curve_losses))
    label = f"{method}: {lr:.2e}" + (" (fallback: no descent)" if fallback else "")
    ax.axvline(lr, color="C3", ls="--", lw=1)
    ax.plot([lr], [loss], "o", color="C3", label=label)


def _mark_stop(ax: Any, finder: Any) -> None:
    """Marks why the test stopped: where the loss diverged, or that all steps ran.

    Drawn from the finder's record, not from the shown window, so a
    divergence that `skip_end` hides from the curve is still marked.
    """
    result = getattr(finder, "result", finder)
    stop_lr = getattr(result, "stop_lr", None)
    reason = getattr(result, "stop_reason", None)
    if stop_lr is not None:
        what = "not finite" if reason == "nan" else "diverged"
        ax.axvline(
            stop_lr, color="k", ls=":", lw=1.2, label=f"stopped: loss {what} at {stop_lr:.2e}"
        )
    elif reason == "num_steps":
        ax.plot([], [], " ", label="stopped: all steps ran")


def _band(ax: Any, runs: Sequence[Any], curve: str, shown: tuple[float, float]) -> None:
    """Shades the min-max band of the runs' `curve` over the LR range `shown`."""
    curves = [run.curve(curve) for run in runs]
    steps = [run.val_steps if curve == "val" else run.steps for run in runs]
    grid, low, high = suggest.band_over_runs(steps, [losses for _, losses in curves])
    lr_of_step = {
        s: lr for run_steps, (lrs, _) in zip(steps, curves) for s, lr in zip(run_steps, lrs)
    }
    lrs = np.asarray([lr_of_step[int(s)] for s in grid], dtype="float64")
    inside = (lrs >= shown[0]) & (lrs <= shown[1])
    color = "C1" if curve == "val" else "C0"
    ax.fill_between(
        lrs[inside],
        low[inside],
        high[inside],
        color=color,
        alpha=0.2,
        lw=0,
        label=f"min-max of {len(runs)} runs",
    )


def plot_loss_change(
    finder: Any,
    sma: int = 1,
    ax: Any = None,
    *,
    skip_start: int = 10,
    skip_end: int = 5,
    y_lim: tuple[float, float] | None = None,
) -> Any:
    """Plots the rate of change of the batch loss against the LR (log axis).

    Args:
        finder: an `LRFinder` that has run (or was loaded).
        sma: the simple moving window of the change, `>= 1`.
        ax: a matplotlib Axes; a new figure when None.
        skip_start: points left out at the start.
        skip_end: points left out at the end.
        y_lim: optional y-axis limits.

    Returns:
        The matplotlib Axes.
    """
    _require_curve(finder)
    change = suggest.loss_change(finder.raw_losses, sma)
    ax = _axes(ax)
    window = _window(len(finder.lrs), max(skip_start, sma), skip_end)
    ax.plot(np.asarray(finder.lrs)[window], change[window])
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel(f"rate of loss change (sma={sma})")
    if y_lim is not None:
        ax.set_ylim(y_lim)
    ax.grid(True, which="both", alpha=0.3)
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
