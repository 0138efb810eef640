"""The range test's plots: `plot_finder` and `plot_loss_change` (matplotlib, imported lazily).

Each takes `ax=` and returns the Axes; both work headless (Agg) and need no
Keras: a saved `RangeTest` is plotted anywhere.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_lr import _validation as check
from keras_lr.core import rules
from keras_lr.core.constants import CURVES, SKIP_END, SKIP_START
from keras_lr.core.diagnosis import (
    Curve,
    FallbackWarning,
    UnreliableSuggestionWarning,
    diagnose,
    lagfree,
    loss_change,
)
from keras_lr.core.runs import band_over_runs

__all__ = ["plot_finder", "plot_loss_change"]


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(6.4, 4.0))
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


def _curve(result: Any, curve: str) -> Curve:
    """The `Curve` the rules read (a `RangeTest`'s own, or one built from the attributes)."""
    if hasattr(result, "curve"):
        made: Curve = result.curve(curve)  # RangeTest.curve
        return made
    if curve == "val":
        return Curve(result.val_lrs, result.val_losses)
    return Curve(result.lrs, result.losses, raw_losses=result.raw_losses)


def plot_finder(
    finder: Any,
    ax: Any = None,
    *,
    skip_start: int = SKIP_START,
    skip_end: int = SKIP_END,
    suggestion: str | None = rules.DEFAULT,
    show_raw: bool = False,
    curve: str = "train",
) -> Any:
    """Plots a range test: the loss the rules read against the LR, on a log axis.

    The main line is the curve the rules read: the batch losses smoothed
    without lag (`keras_lr.core.lagfree`, a Gaussian kernel of
    `SMOOTH_DECADES` = 0.2 decades in log10(lr)). The finder's causal EMA
    (what stops the test) lags it by up to `1 / (1 - beta)` steps and is drawn
    as a faint second line. A shaded span marks the basin the diagnosis found
    (where the lag-free loss is within `BASIN_FRACTION` of its drop of its
    minimum), which the default rule reads; the suggestion and where the test
    stopped are marked.

    With several runs (`LRFinder(num_runs=...)`), the curve is their mean and
    a shaded band spans, at each LR, the lowest to the highest lag-free loss
    of the runs that reached it (the min-max band: with a handful of runs,
    percentiles would only pick runs out, and the full range shows how far
    apart they are). With a validation curve (`find(val_data=...)`), it is
    drawn too, over the same LR range.

    Args:
        finder: an `LRFinder` that has run (or was loaded), or a `RangeTest`.
        ax: a matplotlib Axes; a new figure when None.
        skip_start: points of the training curve left out at the start. If
            fewer than 2 points would remain, nothing is skipped. Defaults to 10.
        skip_end: points left out at the end. Defaults to 5.
        suggestion: the suggestion method to mark, or None. Defaults to
            `"robust"`.
        show_raw: also draw the raw batch losses. Defaults to False.
        curve: `"train"` (the default) or `"val"`: the curve whose band,
            basin and suggestion are drawn.

    Returns:
        The matplotlib Axes.

    Raises:
        ValueError: with fewer than 2 points, or `curve="val"` without a
            validation curve.

    Example:

    >>> ax = keras_lr.core.plot_finder(keras_lr.RangeTest.load("range_test.json"))
    """
    _require_curve(finder)
    curve = check.one_of("curve", curve, CURVES)
    val_lrs = np.asarray(getattr(finder, "val_lrs", []), dtype="float64")
    val_losses = np.asarray(getattr(finder, "val_losses", []), dtype="float64")
    if curve == "val" and not val_lrs.size:
        raise ValueError(
            "The finder has no validation curve to plot. Pass `val_data=` to "
            "`finder.find(...)` to record one, or use curve='train'."
        )
    result = getattr(finder, "result", finder)
    runs = list(getattr(finder, "runs", []))
    ax = _axes(ax)
    all_lrs = np.asarray(finder.lrs, dtype="float64")
    smooth = lagfree(all_lrs, finder.raw_losses)
    window = _window(all_lrs.size, skip_start, skip_end)
    lrs = all_lrs[window]
    shown = (lrs[0] * (1 - 1e-9), lrs[-1] * (1 + 1e-9))  # the LR range on display
    if show_raw:
        raw = np.asarray(finder.raw_losses)[window]
        ax.plot(lrs, raw, color="0.75", lw=0.8, label="batch loss")
    beta = getattr(result, "config", {}).get("beta")
    ema = "EMA of the loss" + ("" if beta is None else f" (beta={beta:g}, lags)")
    ax.plot(lrs, np.asarray(finder.losses)[window], color="C0", lw=1, alpha=0.35, label=ema)
    label = "lag-free loss" if len(runs) < 2 else f"lag-free loss, mean of {len(runs)} runs"
    ax.plot(lrs, smooth[window], color="C0", label=label)
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
    diagnosis = diagnose(_curve(result, curve))
    if diagnosis.basin_low_lr is not None:
        ax.axvspan(
            diagnosis.basin_low_lr,
            diagnosis.basin_high_lr,
            color="C2",
            alpha=0.12,
            lw=0,
            label="basin (near the lowest loss)",
        )
    if suggestion is not None:
        curve_points = (val_lrs, val_losses) if curve == "val" else (all_lrs, smooth)
        _mark_suggestion(ax, finder, suggestion, curve, curve_points)
    _mark_stop(ax, result)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss")
    ax.set_title("LR range test")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax


def _mark_suggestion(
    ax: Any, finder: Any, method: str, curve: str, points: tuple[np.ndarray, np.ndarray]
) -> None:
    """Marks the suggested LR on the drawn curve (a fallback from the divergence is labelled so)."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UnreliableSuggestionWarning)
            lr = finder.suggestion(method, curve=curve)
    except ValueError:
        return
    fallback = any(issubclass(w.category, FallbackWarning) for w in caught)
    curve_lrs, curve_losses = points
    loss = float(np.interp(np.log(lr), np.log(curve_lrs), curve_losses))
    label = f"{method}: {lr:.2e}" + (" (fallback: no descent)" if fallback else "")
    ax.axvline(lr, color="C3", ls="--", lw=1)
    ax.plot([lr], [loss], "o", color="C3", label=label)


def _mark_stop(ax: Any, result: Any) -> None:
    """Marks why the test stopped: where the loss diverged, or that all steps ran.

    Drawn from the record, not from the shown window, so a divergence that
    `skip_end` hides from the curve is still marked.
    """
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
    """Shades the min-max band of the runs' `curve` over the LR range `shown`.

    The training band is that of each run's lag-free loss (the main line's
    smoothing); the validation band that of the validation losses.
    """
    if curve == "val":
        curves = [(run.val_lrs, run.val_losses) for run in runs]
        steps = [run.val_steps for run in runs]
    else:
        curves = [(run.lrs, lagfree(run.lrs, run.raw_losses) if run.lrs else []) for run in runs]
        steps = [run.steps for run in runs]
    grid, low, high = band_over_runs(steps, [losses for _, losses in curves])
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
    skip_start: int = SKIP_START,
    skip_end: int = SKIP_END,
    y_lim: tuple[float, float] | None = None,
) -> Any:
    """Plots the rate of change of the batch loss against the LR (log axis).

    The change per step is `(loss[i] - loss[i - sma]) / sma` over the raw
    batch losses (`keras_lr.core.loss_change`).

    Args:
        finder: an `LRFinder` that has run (or was loaded), or a `RangeTest`.
        sma: the simple moving window of the change, `>= 1`. Defaults to 1.
        ax: a matplotlib Axes; a new figure when None.
        skip_start: points left out at the start. Defaults to 10.
        skip_end: points left out at the end. Defaults to 5.
        y_lim: optional y-axis limits.

    Returns:
        The matplotlib Axes.

    Raises:
        ValueError: with fewer than 2 points, or a bad `sma`.

    Example:

    >>> ax = keras_lr.core.plot_loss_change(keras_lr.RangeTest.load("range_test.json"), sma=5)
    """
    _require_curve(finder)
    change = loss_change(finder.raw_losses, sma)
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
