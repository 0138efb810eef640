"""Reading a range-test curve: `Curve`, the lag-free smoothing, `Diagnosis`, `diagnose`.

Pure numpy. The diagnosis says whether the loss fell beyond its own noise,
whether and where it diverged, and whether a suggestion read from the curve
can be trusted; every suggestion rule (`keras_lr.core.rules`) is read through
it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from keras_lr import _validation as check
from keras_lr.core.constants import (
    BASIN_FRACTION,
    DIVERGE_FACTOR,
    EDGE_POINTS,
    FALLBACK_DIVISOR,
    FELL_Z,
    LAGFREE_BLOCK,
    MIN_DESCENT_POINTS,
    MIN_POINTS,
    RELIABLE_FALL,
    SKIP_END,
    SKIP_START,
    SMOOTH_DECADES,
    START_FRACTION,
)

__all__ = [
    "Curve",
    "Diagnosis",
    "FallbackWarning",
    "TooFewPointsError",
    "UnreliableSuggestionWarning",
    "diagnose",
    "lagfree",
    "loss_change",
    "scaled_skips",
]


class TooFewPointsError(ValueError):
    """A curve has too few points for a suggestion rule (a `ValueError`)."""


class UnreliableSuggestionWarning(UserWarning):
    """The suggestion comes from a curve whose diagnosis is not reliable (see `diagnose`)."""


class FallbackWarning(UnreliableSuggestionWarning):
    """The loss never fell beyond its noise: the suggestion falls back on the divergence."""


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

    >>> keras_lr.core.scaled_skips(4)
    (3, 2)
    """
    every = check.integer("every", every, 1)
    return -(-skip_start // every), -(-skip_end // every)


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
        skip_start: points the rules that skip the noisy start (`steepest`,
            `consensus`) leave out. Defaults to 10, scaled to the curve's
            spacing (`scaled_skips(every)`).
        skip_end: points they leave out at the end. Defaults to 5, scaled.

    Example:

    >>> curve = keras_lr.core.Curve(lrs, losses, raw_losses=raw)
    >>> keras_lr.core.diagnose(curve).reliable
    """

    lrs: Any
    losses: Any
    raw_losses: Any = None
    num_steps: int | None = None
    stop_lr: float | None = None
    every: int = 1
    stop_reason: str | None = None
    skip_start: int | None = None
    skip_end: int | None = None
    # What `diagnose` read from the curve, computed once (see `_reading`).
    _cache: dict[str, Any] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )

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
        default_start, default_end = scaled_skips(self.every)
        if self.skip_start is None:
            self.skip_start = default_start
        if self.skip_end is None:
            self.skip_end = default_end
        for name in ("skip_start", "skip_end"):
            setattr(self, name, check.integer(name, getattr(self, name), 0))


def _arrays(
    lrs: Sequence[float] | NDArray[Any], losses: Sequence[float] | NDArray[Any]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    lr_array = np.asarray(lrs, dtype="float64")
    loss_array = np.asarray(losses, dtype="float64")
    if lr_array.shape != loss_array.shape or lr_array.ndim != 1:
        raise ValueError(
            "`lrs` and `losses` must be 1-D sequences of the same length. "
            f"Received: len(lrs)={lr_array.size}, len(losses)={loss_array.size}"
        )
    return lr_array, loss_array


def _require_points(count: int, needed: int, what: str) -> None:
    if count < needed:
        raise TooFewPointsError(
            f"Too few points to suggest a learning rate with {what}: {count} recorded, "
            f"at least {needed} needed. Run the range test for more steps (`num_steps`), "
            "lower `start_lr`, or raise `stop_factor`."
        )


def lagfree(
    lrs: Sequence[float] | NDArray[Any],
    raw_losses: Sequence[float] | NDArray[Any],
    decades: float = SMOOTH_DECADES,
) -> NDArray[np.float64]:
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
            Defaults to `SMOOTH_DECADES` (0.2).

    Returns:
        The smoothed losses, a float64 array.

    Example:

    >>> keras_lr.core.lagfree([1e-3, 1e-2, 1e-1], [1.0, 0.5, 1.0])
    """
    lr_array, raw = _arrays(lrs, raw_losses)
    x = np.log10(lr_array)
    order = np.argsort(x, kind="stable")  # increasing in a ramp; sorted to bound the window
    x, raw = x[order], raw[order]
    smooth = np.empty_like(raw)
    # The kernel is cut at 8 sigmas (weights below e**-32): a band, so memory and time
    # grow with the points in a window, not with the square of the curve's length.
    for first in range(0, x.size, LAGFREE_BLOCK):
        rows = x[first : first + LAGFREE_BLOCK]
        low = np.searchsorted(x, rows[0] - 8.0 * decades, side="left")
        high = np.searchsorted(x, rows[-1] + 8.0 * decades, side="right")
        weights = np.exp(-0.5 * ((rows[:, None] - x[None, low:high]) / decades) ** 2)
        smooth[first : first + rows.size] = weights @ raw[low:high] / weights.sum(axis=1)
    out = np.empty_like(smooth)
    out[order] = smooth
    return out


def loss_change(losses: Sequence[float] | NDArray[Any], sma: int = 1) -> NDArray[np.float64]:
    """The rate of change of the loss per step, over a simple moving window.

    `change[i] = (losses[i] - losses[i - sma]) / sma` for `i >= sma`, and 0
    before: the smoothed derivative that `plot_loss_change` draws.

    Args:
        losses: the losses, one per recorded step.
        sma: the window, an integer `>= 1`.

    Returns:
        A numpy array as long as `losses`.

    Example:

    >>> keras_lr.core.loss_change([3.0, 2.0, 0.0], 1)
    array([ 0., -1., -2.])
    """
    sma = check.integer("sma", sma, 1)
    loss_array = np.asarray(losses, dtype="float64")
    change = np.zeros_like(loss_array)
    if loss_array.size > sma:
        change[sma:] = (loss_array[sma:] - loss_array[:-sma]) / sma
    return change


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
        basin_low_lr: the lowest LR of the basin, where the lag-free loss is
            within `BASIN_FRACTION` of its drop of its minimum (None when
            the loss did not fall).
        basin_high_lr: the highest LR of the basin (None when it did not fall).
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
    basin_low_lr: float | None = None
    basin_high_lr: float | None = None

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
    divergence_lr: float | None
    if risen.size and rise > 1e-9 * scale:
        divergence_lr = float(lrs[risen[0]])
    else:
        divergence_lr = curve.stop_lr
    falling_at_start = bool(smooth[0] - smooth[start_points - 1] > threshold)
    return _Reading(
        noise, drop, threshold, fell, bottom, start, basin, entry, divergence_lr, falling_at_start
    )


def _reading(curve: Curve) -> _Reading | None:
    """The curve's reading, computed once per `Curve` (None below `MIN_POINTS` points)."""
    if "reading" not in curve._cache:
        curve._cache["reading"] = _read(curve) if curve.lrs.size >= MIN_POINTS else None
    reading: _Reading | None = curve._cache["reading"]
    return reading


def diagnose(curve: Curve) -> Diagnosis:
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

    Example:

    >>> diagnosis = keras_lr.core.diagnose(keras_lr.core.Curve(lrs, losses, raw_losses=raw))
    >>> diagnosis.reliable, diagnosis.describe()
    """
    if "diagnosis" not in curve._cache:
        curve._cache["diagnosis"] = _diagnose(curve)
    diagnosis: Diagnosis = curve._cache["diagnosis"]
    return diagnosis


def _diagnose(curve: Curve) -> Diagnosis:
    n = curve.lrs.size
    reading = _reading(curve)
    if reading is None:
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
    fell, divergence_lr = reading.fell, reading.divergence_lr
    points = (
        int(reading.basin[reading.basin >= reading.start].max() - reading.start + 1) if fell else 0
    )
    fallback = bool(
        not fell and divergence_lr is not None and divergence_lr / FALLBACK_DIVISOR >= curve.lrs[0]
    )
    reasons = []
    if not fell:
        reasons.append("the loss never fell beyond its noise")
        if divergence_lr is not None and not fallback:
            reasons.append(
                f"it diverged within {FALLBACK_DIVISOR:g}x of `start_lr`: lower `start_lr`"
            )
    elif reading.bottom < EDGE_POINTS:
        # The lowest loss is at the first LRs: the curve rose from the start (its
        # "drop" is the start level's mean over higher losses), it did not fall.
        reasons.append(
            "the loss rose from the first LRs (its lowest point is at the start): lower `start_lr`"
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
    basin = reading.basin
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
        basin_low_lr=float(curve.lrs[basin.min()]) if fell else None,
        basin_high_lr=float(curve.lrs[basin.max()]) if fell else None,
    )
