"""Reading an LR range test: suggestion methods over a recorded curve.

Pure numpy functions of `(lrs, losses)`, used by `LRFinder.suggestion()` and
`LRFinder.suggest_range()`, and usable on any recorded curve. `losses` is the
smoothed loss curve (the bias-corrected EMA the finder keeps).

Also the statistics of a range test repeated several times
(`LRFinder(num_runs=...)`): the per-run curves on their common grid of ramp
steps (`runs_table`), their mean (`mean_over_runs`) and band
(`band_over_runs`), and the spread of the per-run suggestions (`spread`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from keras_lr import _validation as check

__all__ = [
    "CURVES",
    "Curve",
    "Diagnosis",
    "FALLBACK_DIVISOR",
    "FallbackWarning",
    "UnreliableSuggestionWarning",
    "diagnose",
    "robust",
    "DEFAULT_METHOD",
    "METHODS",
    "RELIABLE_SPREAD",
    "SKIP_END",
    "SKIP_START",
    "TooFewPointsError",
    "band_over_runs",
    "consensus",
    "loss_change",
    "mean_over_runs",
    "minimum",
    "runs_table",
    "scaled_skips",
    "spread",
    "steepest",
    "suggest",
    "suggest_range",
    "valley",
]

METHODS = ("robust", "consensus", "valley", "steepest", "minimum")
DEFAULT_METHOD = "robust"
MIN_POINTS = 5
SKIP_START = 10
SKIP_END = 5
CURVES = ("train", "val")
RELIABLE_SPREAD = 0.5


class TooFewPointsError(ValueError):
    """A curve has too few points for a suggestion rule (a `ValueError`)."""


class UnreliableSuggestionWarning(UserWarning):
    """The suggestion comes from a curve whose diagnosis is not reliable (see `diagnose`)."""


class FallbackWarning(UnreliableSuggestionWarning):
    """The loss never fell beyond its noise: the suggestion falls back on the divergence."""


@dataclasses.dataclass
class Curve:
    """A recorded range-test curve, as the suggestion rules read it.

    Args:
        lrs: the learning rates, increasing.
        losses: the smoothed losses (the finder's causal, bias-corrected EMA).
        raw_losses: the true batch losses; defaults to `losses`.
        num_steps: the ramp's length in steps (the curve may have stopped
            earlier); defaults to the number of points times `every`.
        stop_lr: the LR at which the loss diverged (or was not finite) and
            the test stopped; None when it did not.
        every: the ramp steps between two points (1 for the training curve).
        stop_reason: why the test stopped (`"diverged"`, `"nan"`,
            `"num_steps"` or None).
    """

    lrs: Any
    losses: Any
    raw_losses: Any = None
    num_steps: int | None = None
    stop_lr: float | None = None
    every: int = 1
    stop_reason: str | None = None

    def __post_init__(self) -> None:
        lrs, losses = _arrays(self.lrs, self.losses)
        raw = losses if self.raw_losses is None else np.asarray(self.raw_losses, dtype="float64")
        if raw.shape != losses.shape:
            raise ValueError(
                "`raw_losses` must be as long as `losses`. "
                f"Received: len(raw_losses)={raw.size}, len(losses)={losses.size}"
            )
        self.lrs, self.losses, self.raw_losses = lrs, losses, raw
        if self.num_steps is None:
            self.num_steps = max(int(lrs.size) * self.every, 1)


def _arrays(lrs: Sequence[float], losses: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    lrs = np.asarray(lrs, dtype="float64")
    losses = np.asarray(losses, dtype="float64")
    if lrs.shape != losses.shape or lrs.ndim != 1:
        raise ValueError(
            "`lrs` and `losses` must be 1-D sequences of the same length. "
            f"Received: len(lrs)={lrs.size}, len(losses)={losses.size}"
        )
    return lrs, losses


def _require_points(count: int, needed: int, what: str) -> None:
    if count < needed:
        raise TooFewPointsError(
            f"Too few points to suggest a learning rate with {what}: {count} recorded, "
            f"at least {needed} needed. Run the range test for more steps (`num_steps`), "
            "lower `start_lr`, or raise `stop_factor`."
        )


# ------------------------------------------------------------------ diagnosis
# The constants of the default rule, chosen on the development half of the
# suggestion benchmark only (BENCHMARKS.md; benchmarks/sq_tasks.py has the split).
SMOOTH_DECADES = 0.2  # the lag-free smoother's width (Gaussian sigma), in decades of LR
START_FRACTION = 0.1  # the start level is the mean batch loss of this first part of the curve
FELL_Z = 3.0  # "the loss fell": its drop exceeds this many standard errors
BASIN_FRACTION = 0.1  # the basin: where the lag-free loss is within this part of its drop of its minimum
BASIN_DIVISOR = 4.0  # the suggestion: the basin's centre (geometric) divided by this
DIVERGE_FACTOR = 5.0  # "diverged": the loss rose past its start level by this many fall thresholds
FALLBACK_DIVISOR = 10.0  # without a fall: the LR where the loss diverged, divided by this
RELIABLE_FALL = 3.0  # a fall of fewer fall thresholds than this is too shallow to be reliable
MIN_DESCENT_POINTS = 5  # fewer points in the descent and basin: the suggestion is not reliable
_LAGFREE_BLOCK = 512  # rows of the smoothing kernel computed at once
EDGE_POINTS = 3  # a descent this close to the first point, or a minimum this close to the last


def lagfree(
    lrs: Sequence[float], raw_losses: Sequence[float], decades: float = SMOOTH_DECADES
) -> np.ndarray:
    """The batch losses smoothed without lag: a Gaussian kernel in log10(lr).

    The finder's EMA is causal (it may only look back, to stop the test in
    time) and so lags the loss by up to `1 / (1 - beta)` steps. Reading a
    recorded curve needs no causality: each point is the kernel-weighted mean
    of its neighbours on both sides, `decades` (the kernel's sigma) wide in
    log10(lr), so the width does not depend on `num_steps`. At the ends the
    kernel is cut and renormalized.

    Args:
        lrs: the learning rates, increasing.
        raw_losses: the batch losses at those LRs.
        decades: the kernel's standard deviation in decades of LR, `> 0`.

    Returns:
        The smoothed losses, a float64 array.
    """
    lrs, raw = _arrays(lrs, raw_losses)
    x = np.log10(lrs)
    order = np.argsort(x, kind="stable")  # increasing in a ramp; sorted to bound the window
    x, raw = x[order], raw[order]
    smooth = np.empty_like(raw)
    # The kernel is cut at 8 sigmas (weights below e**-32): a band, so memory and time
    # grow with the points in a window, not with the square of the curve's length.
    for first in range(0, x.size, _LAGFREE_BLOCK):
        rows = x[first : first + _LAGFREE_BLOCK]
        low = np.searchsorted(x, rows[0] - 8.0 * decades, side="left")
        high = np.searchsorted(x, rows[-1] + 8.0 * decades, side="right")
        weights = np.exp(-0.5 * ((rows[:, None] - x[None, low:high]) / decades) ** 2)
        smooth[first : first + rows.size] = weights @ raw[low:high] / weights.sum(axis=1)
    out = np.empty_like(smooth)
    out[order] = smooth
    return out


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """What a range-test curve says about itself (`diagnose`).

    Attributes:
        fell: whether the loss fell by more than its own noise.
        drop: how far the loss fell: from its start level (the mean batch
            loss over the first `START_FRACTION` of the points) to the
            minimum of the lag-free curve.
        noise: the standard deviation of the batch loss around the lag-free
            curve (a robust estimate).
        threshold: the drop needed to count as a fall: `FELL_Z` standard
            errors of that difference.
        diverged: whether the loss diverged: the test stopped because it
            diverged or was not finite, or (in a test that ran all its
            steps) the lag-free loss rose past its start level by more than
            `DIVERGE_FACTOR` fall thresholds.
        divergence_lr: the LR where it diverged (where the test stopped,
            when it stopped for that), or None.
        bottom_lr: the LR of the lag-free curve's minimum (None without points).
        points: how many points the suggestion is read from: the descent
            (from where the loss has fallen 10% of its drop) and the basin
            around the minimum; 0 when the loss did not fall.
        fallback: whether the suggestion falls back on the divergence (the
            loss never fell beyond its noise, but it diverged).
        reliable: whether the suggestion can be trusted: the loss fell
            beyond its noise, at least `MIN_DESCENT_POINTS` points informed
            it, the descent did not start at the first LRs, and the minimum
            is not at the last ones.
        reasons: why it is not reliable (empty when it is).
    """

    fell: bool
    drop: float
    noise: float
    threshold: float
    diverged: bool
    divergence_lr: float | None
    bottom_lr: float | None
    points: int
    fallback: bool
    reliable: bool
    reasons: tuple[str, ...] = ()

    def describe(self) -> str:
        """The diagnosis in one or two sentences."""
        if self.fell:
            text = (
                f"The loss fell by {self.drop:.3g}, beyond its noise ({self.threshold:.3g} "
                f"needed), with {self.points} points in the descent and around the minimum "
                f"(lr={self.bottom_lr:.3g})"
            )
        elif self.bottom_lr is None:
            text = "Too few losses were recorded to read the curve"
        else:
            text = (
                f"The loss never fell beyond its noise (it fell by {self.drop:.3g}, "
                f"{self.threshold:.3g} needed)"
            )
        if self.divergence_lr is not None:
            text += f"; it diverged at lr={self.divergence_lr:.3g}"
        elif self.diverged:
            text += "; it was not finite"
        text += "."
        if self.reasons:
            text += " Not reliable: " + "; ".join(self.reasons) + "."
        return text


def _noise(raw: np.ndarray, smooth: np.ndarray) -> float:
    """The robust standard deviation of the batch losses around the smooth curve."""
    residual = raw - smooth
    return float(1.4826 * np.median(np.abs(residual - np.median(residual))))


@dataclasses.dataclass(frozen=True)
class _Reading:
    """What `diagnose` and `robust` read from a curve of `MIN_POINTS` points or more."""

    noise: float
    drop: float
    threshold: float
    fell: bool
    bottom: int
    start: int  # where the loss has fallen 10% of its drop
    basin: np.ndarray  # indices within BASIN_FRACTION of the drop of the minimum
    entry: int  # where the loss enters the basin: the first of its points left of the minimum
    divergence_lr: float | None
    falling_at_start: bool  # the lag-free loss already falls beyond noise over the start part


def _read(curve: Curve) -> _Reading:
    lrs, raw = curve.lrs, curve.raw_losses
    n = lrs.size
    smooth = lagfree(lrs, raw)
    noise = _noise(raw, smooth)
    bottom = int(np.argmin(smooth))
    start_points = max(3, int(round(START_FRACTION * n)))
    start_level = float(np.mean(raw[:start_points]))
    drop = start_level - float(smooth[bottom])
    decades = max(float(np.log10(lrs[-1] / lrs[0])), 1e-12)
    kernel_points = max(2.0 * np.sqrt(np.pi) * SMOOTH_DECADES * (n - 1) / decades, 1.0)
    threshold = FELL_Z * noise * float(np.sqrt(1.0 / start_points + 1.0 / kernel_points))
    scale = max(abs(start_level), abs(float(smooth[bottom])))
    fell = drop > threshold and drop > 1e-9 * scale
    fallen = np.nonzero(smooth[: bottom + 1] <= start_level - 0.1 * drop)[0]
    start = int(fallen[0]) if fell and fallen.size else bottom
    in_basin = smooth <= smooth[bottom] + BASIN_FRACTION * max(drop, 0.0)
    basin = np.nonzero(in_basin)[0]
    outside = np.nonzero(~in_basin[:bottom])[0]
    entry = int(outside[-1]) + 1 if outside.size else 0
    # Where the loss blows up: the lag-free loss rises past its start level by
    # DIVERGE_FACTOR fall thresholds (earlier than the finder's causal stop,
    # which waits for its EMA); else where the test stopped for divergence.
    rise = max(drop, 0.0) + DIVERGE_FACTOR * threshold
    risen = np.nonzero((np.arange(n) > bottom) & (smooth - smooth[bottom] > rise))[0]
    if risen.size and rise > 1e-9 * scale:
        divergence_lr = float(lrs[risen[0]])
    else:
        divergence_lr = curve.stop_lr
    falling_at_start = bool(smooth[0] - smooth[start_points - 1] > threshold)
    return _Reading(
        noise, drop, threshold, fell, bottom, start, basin, entry, divergence_lr, falling_at_start
    )


def diagnose(curve: Curve, _reading: _Reading | None = None) -> Diagnosis:
    """Diagnoses a range-test curve, from a single run.

    The batch losses are smoothed without lag (`lagfree`); their noise is the
    robust standard deviation of the batch losses around that curve
    (1.4826 times the median absolute deviation of the residuals). The loss
    *fell* when its drop, from the start level (the mean batch loss of the
    first `START_FRACTION` of the points) to the minimum of the lag-free
    curve, exceeds `FELL_Z` standard errors of that difference: a flat,
    noisy curve wanders by a few standard errors, not by more. Every part
    is invariant to shifting the loss by a constant or scaling it by a
    positive factor.

    Args:
        curve: the `Curve`.

    Returns:
        A `Diagnosis`.
    """
    n = curve.lrs.size
    if n < MIN_POINTS:
        if n == 0 and curve.stop_reason == "nan":
            reason = (
                "the loss was not finite from the first step: check the inputs and targets "
                "for NaN or inf"
            )
        else:
            reason = f"only {n} point(s) were recorded"
            if curve.stop_lr is not None:
                reason += " before the loss diverged: lower `start_lr`"
        return Diagnosis(
            fell=False,
            drop=0.0,
            noise=0.0,
            threshold=0.0,
            diverged=curve.stop_lr is not None,
            divergence_lr=curve.stop_lr,
            bottom_lr=None,
            points=n,
            fallback=False,
            reliable=False,
            reasons=(reason,),
        )
    reading = _read(curve) if _reading is None else _reading
    fell, divergence_lr = reading.fell, reading.divergence_lr
    points = int(reading.basin[reading.basin >= reading.start].max() - reading.start + 1) if fell else 0
    fallback = bool(
        not fell
        and divergence_lr is not None
        and divergence_lr / FALLBACK_DIVISOR >= curve.lrs[0]
    )
    reasons = []
    if not fell:
        reasons.append("the loss never fell beyond its noise")
        if divergence_lr is not None and not fallback:
            reasons.append(
                f"it diverged within {FALLBACK_DIVISOR:g}x of `start_lr`: lower `start_lr`"
            )
    else:
        if reading.drop < RELIABLE_FALL * reading.threshold:
            reasons.append(
                f"the fall is shallow ({reading.drop / reading.threshold:.1f}x what noise "
                f"explains; {RELIABLE_FALL:g}x is reliable): run more `num_steps` or use a "
                "larger batch"
            )
        if points < MIN_DESCENT_POINTS:
            reasons.append(f"only {points} points in the descent: run more `num_steps`")
        if reading.start < EDGE_POINTS or reading.falling_at_start:
            reasons.append("the loss was already falling at the first LRs: lower `start_lr`")
        if reading.bottom >= n - EDGE_POINTS and divergence_lr is None:
            reasons.append("the loss was still falling at the last LR: raise `end_lr`")
    return Diagnosis(
        fell=bool(fell),
        drop=float(reading.drop),
        noise=float(reading.noise),
        threshold=float(reading.threshold),
        diverged=divergence_lr is not None,
        divergence_lr=divergence_lr,
        bottom_lr=float(curve.lrs[reading.bottom]),
        points=points,
        fallback=fallback,
        reliable=not reasons,
        reasons=tuple(reasons),
    )


def robust(curve: Curve) -> float:
    """The default rule: read the loss lag-free, and only where it fell beyond its noise.

    See `diagnose`. When the loss fell, the suggestion is the centre of the
    basin around the lag-free minimum (the geometric mean of the LRs where
    the loss is within `BASIN_FRACTION` of its drop of the minimum) divided
    by `BASIN_DIVISOR`: a margin below where training is fastest during the
    ramp, read from a whole stretch of the curve rather than from its
    single lowest point; and never above the LR where the loss enters the
    basin. (A long flat bottom, as when a model learns late in the ramp and
    the loss stays low at high LRs, would otherwise pull the centre up
    into LRs that do not train from scratch.) When the loss never fell
    beyond its noise but diverged, there is no descent to read: the
    suggestion falls back to the LR where it diverged divided by
    `FALLBACK_DIVISOR`, with a `FallbackWarning` (a `UserWarning`) that
    says so. When it neither fell nor diverged (or diverged too close to
    `start_lr`), it raises.

    Args:
        curve: the `Curve`.

    Returns:
        The suggested learning rate.

    Raises:
        TooFewPointsError: with fewer than `MIN_POINTS` points.
        ValueError: when the loss neither fell beyond its noise nor diverged.
    """
    reading = _read(curve) if curve.lrs.size >= MIN_POINTS else None
    diagnosis = diagnose(curve, reading)
    if curve.lrs.size < MIN_POINTS:
        raise TooFewPointsError(
            f"Too few points to suggest a learning rate with method='robust': "
            f"{curve.lrs.size} recorded, at least {MIN_POINTS} needed: "
            + "; ".join(diagnosis.reasons)
            + ". Otherwise run the range test for more steps (`num_steps`)."
        )
    if diagnosis.fallback:
        lr = diagnosis.divergence_lr / FALLBACK_DIVISOR
        warnings.warn(
            f"The loss never fell beyond its noise during the range test (it fell by "
            f"{diagnosis.drop:.3g}; {diagnosis.threshold:.3g} needed), so there is no descent "
            f"to read a learning rate from. Falling back on the divergence: lr={lr:.3g}, "
            f"{FALLBACK_DIVISOR:g}x below where the loss diverged "
            f"({diagnosis.divergence_lr:.3g}); on such curves the best LR can be anywhere from "
            "near the divergence to hundreds of times below it. Check it by training a few "
            f"epochs at a few LRs around it (say {lr / 10:.2g} to {lr * 3:.2g}). A larger batch "
            "or another LR range (`start_lr`, `end_lr`) may show a descent; more `num_steps` "
            "sometimes does, but on the flat curves of BENCHMARKS.md it more often made the "
            "suggestion worse.",
            FallbackWarning,
            stacklevel=2,
        )
        return float(lr)
    if not diagnosis.fell:
        raise ValueError(
            f"No learning rate can be read from this range test: {diagnosis.describe()} "
            f"Between lr={curve.lrs[0]:.3g} and lr={curve.lrs[-1]:.3g} it says nothing about a "
            "good learning rate. Raise `end_lr` (or lower `start_lr`), run more `num_steps`, "
            "use a larger batch, or check the model, loss and data (for example, sample "
            "weights that are all zero)."
        )
    basin = reading.basin
    lr = float(np.exp(np.mean(np.log(curve.lrs[basin])))) / BASIN_DIVISOR
    lr = min(lr, float(curve.lrs[reading.entry]))  # never inside the basin
    if not diagnosis.reliable:
        warnings.warn(
            f"The suggested learning rate {lr:.3g} is not reliable: "
            + "; ".join(diagnosis.reasons)
            + ". Check it by training.",
            UnreliableSuggestionWarning,
            stacklevel=2,
        )
    return lr


def valley(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """The middle of the longest descending stretch of the loss curve.

    The stretch is the longest strictly decreasing subsequence of the smoothed
    loss (fastai's default suggestion, "valley"). It ends at its last point and
    spans as many steps as it has points (a chain may jump over a flat start,
    which must not pull it down); the suggestion is the LR halfway along it,
    well inside the region where the loss falls, away from both the flat start
    and the divergence.

    Args:
        lrs: the learning rates, increasing.
        losses: the smoothed losses at those LRs.

    Returns:
        The suggested learning rate.
    """
    lrs, losses = _arrays(lrs, losses)
    n = lrs.size
    _require_points(n, MIN_POINTS, "method='valley'")
    length = np.ones(n, dtype=int)
    for i in range(1, n):
        earlier = losses[:i] > losses[i]
        if earlier.any():
            length[i] = length[:i][earlier].max() + 1
    end = int(np.argmax(length))
    return float(lrs[end - length[end] // 2])


def steepest(
    lrs: Sequence[float],
    losses: Sequence[float],
    skip_start: int = SKIP_START,
    skip_end: int = SKIP_END,
) -> float:
    """The LR of the most negative slope d(loss)/d(log lr).

    The first `skip_start` and last `skip_end` points are left out: the start is
    noisy and the end diverges.

    Args:
        lrs: the learning rates, increasing.
        losses: the smoothed losses at those LRs.
        skip_start: points to skip at the start. Defaults to 10.
        skip_end: points to skip at the end. Defaults to 5.

    Returns:
        The suggested learning rate.
    """
    lrs, losses = _arrays(lrs, losses)
    window = slice(skip_start, lrs.size - skip_end)
    lrs, losses = lrs[window], losses[window]
    _require_points(lrs.size, 3, f"method='steepest' (after skipping {skip_start}+{skip_end})")
    slopes = np.gradient(losses, np.log(lrs))
    return float(lrs[int(np.argmin(slopes))])


def minimum(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """The LR of the minimum loss, divided by 10.

    Args:
        lrs: the learning rates, increasing.
        losses: the smoothed losses at those LRs.

    Returns:
        The suggested learning rate.
    """
    lrs, losses = _arrays(lrs, losses)
    _require_points(lrs.size, MIN_POINTS, "method='minimum'")
    return float(lrs[int(np.argmin(losses))] / 10.0)


def consensus(
    lrs: Sequence[float],
    losses: Sequence[float],
    skip_start: int = SKIP_START,
    skip_end: int = SKIP_END,
) -> float:
    """The geometric mean of the `valley`, `steepest` and `minimum` suggestions.

    Each rule alone errs in its own way: `valley` sits low and moves with where
    the flat start of the curve happens to end, `steepest` is noisy, and
    `minimum` depends on how the curve ends. Their geometric mean (the mean in
    log-LR) trained best across the tasks of BENCHMARKS.md and moved least
    between seeds, so it is the default.

    Args:
        lrs: the learning rates, increasing.
        losses: the smoothed losses at those LRs.
        skip_start: points `steepest` skips at the start. Defaults to 10.
        skip_end: points `steepest` skips at the end. Defaults to 5.

    Returns:
        The suggested learning rate.
    """
    _require_points(
        len(lrs), MIN_POINTS + skip_start + skip_end, "method='consensus' (it includes 'steepest')"
    )
    picks = [valley(lrs, losses), steepest(lrs, losses, skip_start, skip_end), minimum(lrs, losses)]
    return float(np.exp(np.mean(np.log(picks))))


def suggest(
    curve: Curve | Sequence[float],
    losses: Sequence[float] | None = None,
    method: str | Callable[[Curve], float] = DEFAULT_METHOD,
    *,
    skip_start: int | None = None,
    skip_end: int | None = None,
) -> float:
    """The LR a rule suggests for a curve.

    Args:
        curve: a `Curve`, or the learning rates (then `losses` is needed).
        losses: the smoothed losses, when `curve` is a sequence of LRs.
        method: a rule's name (`METHODS`: `"robust"`, the default,
            `"consensus"`, `"valley"`, `"steepest"`, `"minimum"`) or a
            function of a `Curve` that returns an LR (your own rule).
        skip_start: points `steepest` (also inside `consensus`) skips at the
            start. Defaults to 10, scaled to the curve's spacing
            (`scaled_skips`).
        skip_end: points `steepest` skips at the end. Defaults to 5, scaled.

    Returns:
        The suggested learning rate.

    Raises:
        TooFewPointsError: (a `ValueError`) when the curve is too short for
            the method.
        ValueError: for an unknown method, or (`"robust"`) a loss that
            neither fell nor diverged.
    """
    if not isinstance(curve, Curve):
        if losses is None:
            raise ValueError(
                "Argument `losses` is needed when `curve` is a sequence of learning rates. "
                "Received: losses=None"
            )
        curve = Curve(curve, losses)
    if callable(method):
        return float(method(curve))
    method = check.one_of("method", method, METHODS)
    default_start, default_end = scaled_skips(curve.every)
    skip_start = default_start if skip_start is None else skip_start
    skip_end = default_end if skip_end is None else skip_end
    lrs, losses = curve.lrs, curve.losses
    try:
        if method == "robust":
            return robust(curve)
        if method in ("consensus", "steepest"):
            rule = consensus if method == "consensus" else steepest
            return rule(lrs, losses, skip_start, skip_end)
        return valley(lrs, losses) if method == "valley" else minimum(lrs, losses)
    except TooFewPointsError as error:
        if curve.every == 1:
            raise
        raise TooFewPointsError(
            f"{error} The validation curve has a point every {curve.every} steps: "
            "a smaller `val_every` in `find()` gives it more."
        ) from error


def scaled_skips(
    every: int, skip_start: int = SKIP_START, skip_end: int = SKIP_END
) -> tuple[int, int]:
    """The skips of a curve with one point every `every` steps.

    The rules skip the first `skip_start` and last `skip_end` points of a curve
    with a point at every step. A curve sampled every `every` steps (the
    validation curve of `LRFinder.find(val_every=...)`) skips the same LR
    span: `ceil(skip_start / every)` and `ceil(skip_end / every)` points.

    Args:
        every: the number of ramp steps between two points, `>= 1`.
        skip_start: the skip at the start of a curve with every step.
            Defaults to 10.
        skip_end: the skip at its end. Defaults to 5.

    Returns:
        `(skip_start, skip_end)` for the sampled curve.

    Example:

    >>> keras_lr.suggest.scaled_skips(4)
    (3, 2)
    """
    every = check.integer("every", every, 1)
    return -(-skip_start // every), -(-skip_end // every)


def spread(suggestions: Sequence[float]) -> float:
    """The spread of several suggested LRs, in decades: `log10(max / min)`.

    `LRFinder(num_runs=...)` takes the suggestions of the same rule on each
    run's curve: a spread below `RELIABLE_SPREAD` (half a decade, a factor of
    about 3.2) means the runs agree on the LR.

    Args:
        suggestions: two or more positive learning rates.

    Returns:
        `log10(max(suggestions) / min(suggestions))`, `>= 0`.

    Example:

    >>> keras_lr.suggest.spread([1e-3, 3e-3, 1e-2])
    1.0
    """
    values = np.asarray(suggestions, dtype="float64")
    if values.ndim != 1 or values.size < 2 or not np.all(values > 0):
        raise ValueError(
            "Argument `suggestions` must be two or more positive learning rates. "
            f"Received: suggestions={list(suggestions)!r}"
        )
    return float(np.log10(values.max() / values.min()))


def runs_table(
    steps: Sequence[Sequence[int]], values: Sequence[Sequence[float]]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-run curves on the union of their ramp steps.

    Every run of a range test follows the same ramp, so ramp step `i` has the
    same LR in every run: the runs share one grid of log-LR points and need no
    interpolation. A run that stopped early (the loss diverged) has no value
    past its last step.

    Args:
        steps: for each run, the ramp steps it recorded (increasing).
        values: for each run, its values at those steps.

    Returns:
        `(grid, table)`: the sorted union of the steps, and a `(runs, len(grid))`
        float64 array holding each run's values, NaN where a run has no point.
    """
    if len(steps) != len(values):
        raise ValueError(
            "`steps` and `values` must hold one sequence per run. "
            f"Received: len(steps)={len(steps)}, len(values)={len(values)}"
        )
    steps = [np.asarray(s, dtype="int64").reshape(-1) for s in steps]
    values = [np.asarray(v, dtype="float64").reshape(-1) for v in values]
    for run, (s, v) in enumerate(zip(steps, values)):
        if s.size != v.size:
            raise ValueError(
                f"Run {run} has {s.size} steps but {v.size} values: each run needs one value per step."
            )
    grid = np.unique(np.concatenate(steps)) if steps else np.zeros(0, "int64")
    table = np.full((len(steps), grid.size), np.nan)
    for row, (s, v) in enumerate(zip(steps, values)):
        table[row, np.searchsorted(grid, s)] = v
    return grid, table


def mean_over_runs(
    steps: Sequence[Sequence[int]], values: Sequence[Sequence[float]]
) -> tuple[np.ndarray, np.ndarray]:
    """The mean curve of several runs, over the steps that every run reached.

    The curve ends where the first run stopped: past it, a mean over the runs
    still going would drop each time a diverging run leaves it, and the
    suggestion rules would read that drop as a steep descent.

    Args:
        steps: for each run, the ramp steps it recorded (increasing).
        values: for each run, its values (smoothed losses) at those steps.

    Returns:
        `(grid, mean)`: the steps that every run recorded, and the mean at each.
    """
    grid, table = runs_table(steps, values)
    if not grid.size:
        return grid, np.zeros(0)
    common = ~np.isnan(table).any(axis=0)
    return grid[common], table[:, common].mean(axis=0)


def band_over_runs(
    steps: Sequence[Sequence[int]], values: Sequence[Sequence[float]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The min-max band of several runs: at each step, over the runs that reached it.

    Args:
        steps: for each run, the ramp steps it recorded (increasing).
        values: for each run, its values at those steps.

    Returns:
        `(grid, low, high)`: the union of the steps, and the lowest and
        highest value at each.
    """
    grid, table = runs_table(steps, values)
    if not grid.size:
        return grid, np.zeros(0), np.zeros(0)
    return grid, np.nanmin(table, axis=0), np.nanmax(table, axis=0)


def suggest_range(
    lrs: Sequence[float], losses: Sequence[float], low: float = 0.1, high: float = 0.9
) -> tuple[float, float]:
    """`(base_lr, max_lr)` bounds for `CyclicLR`, as Smith's section 3.3 reads the test.

    Along the curve up to its minimum, with `drop = first loss - minimum`:
    `base_lr` is the first LR where the loss has fallen by `low * drop` (the
    loss starts to fall) and `max_lr` the first where it has fallen by
    `high * drop` (just before it stops falling).

    Args:
        lrs: the learning rates, increasing.
        losses: the smoothed losses at those LRs.
        low: the fraction of the drop that marks the start. Defaults to 0.1.
        high: the fraction of the drop that marks the end. Defaults to 0.9.

    Returns:
        A `(base_lr, max_lr)` tuple with `base_lr < max_lr`.
    """
    lrs, losses = _arrays(lrs, losses)
    _require_points(lrs.size, MIN_POINTS, "suggest_range()")
    bottom = int(np.argmin(losses))
    drop = losses[0] - losses[bottom]
    if bottom == 0 or drop <= 0:
        raise ValueError(
            "The loss never fell during the range test, so there is no range to "
            "suggest. Lower `start_lr` or check the model and data."
        )
    fallen = losses[0] - losses[: bottom + 1]
    base = int(np.argmax(fallen >= low * drop))
    top = int(np.argmax(fallen >= high * drop))
    if top <= base:
        top = min(base + 1, bottom)
    if top <= base:
        raise ValueError(
            "The loss fell in a single step, so the range is empty. Use more "
            "`num_steps` for a finer ramp."
        )
    return float(lrs[base]), float(lrs[top])


def loss_change(losses: Sequence[float], sma: int = 1) -> np.ndarray:
    """The rate of change of the loss per step, over a simple moving window.

    `change[i] = (losses[i] - losses[i - sma]) / sma` for `i >= sma`, and 0
    before (the smoothed derivative of seed 000's `plot_loss_change`).

    Args:
        losses: the losses, one per recorded step.
        sma: the window, an integer `>= 1`.

    Returns:
        A numpy array as long as `losses`.
    """
    sma = check.integer("sma", sma, 1)
    losses = np.asarray(losses, dtype="float64")
    change = np.zeros_like(losses)
    if losses.size > sma:
        change[sma:] = (losses[sma:] - losses[:-sma]) / sma
    return change
