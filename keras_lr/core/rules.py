"""The suggestion rules, in one registry, and the one way they are read: `suggest`.

Every rule, built-in or your own, is a function of a `Curve` that returns a
learning rate. `suggest(curve, method)` reads any of them through the same
diagnosis (`keras_lr.core.diagnose`): when the curve's diagnosis is not
reliable (a flat, rising or pure-noise curve, a shallow fall, ...), the
suggestion comes with an `UnreliableSuggestionWarning` that says why.

Built-in rules (`names()`):

- `"robust"` (the default, `DEFAULT`): the centre of the lag-free basin
  divided by `BASIN_DIVISOR`; it reads the diagnosis itself (a fallback on
  the divergence with a `FallbackWarning`, an error when the loss neither
  fell nor diverged);
- `"consensus"`: the geometric mean of the next three;
- `"valley"`: the middle of the longest descent (fastai's default);
- `"steepest"`: the steepest point of the smoothed loss;
- `"minimum"`: the LR of the minimum smoothed loss, divided by 10.

Example:

```python
@keras_lr.core.rules.register("half_minimum")
def half_minimum(curve):
    return float(curve.lrs[curve.losses.argmin()]) / 2

keras_lr.RangeTest.load("range_test.json").suggestion("half_minimum")
```
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from keras_lr import _validation as check
from keras_lr.core.constants import (
    BASIN_DIVISOR,
    FALLBACK_CHECK_DECADES,
    FALLBACK_DIVISOR,
    MIN_POINTS,
)
from keras_lr.core.diagnosis import (
    Curve,
    Diagnosis,
    FallbackWarning,
    TooFewPointsError,
    UnreliableSuggestionWarning,
    _reading,
    _require_points,
    diagnose,
)

__all__ = [
    "DEFAULT",
    "Rule",
    "consensus",
    "get",
    "minimum",
    "names",
    "register",
    "robust",
    "steepest",
    "suggest",
    "suggest_range",
    "unregister",
    "valley",
]

#: A suggestion rule: a function of a `Curve` that returns a learning rate.
Rule = Callable[[Curve], float]
#: The default rule's name.
DEFAULT = "robust"


@dataclasses.dataclass(frozen=True)
class _Entry:
    rule: Rule
    reads_diagnosis: bool  # the rule warns or raises by the diagnosis itself (robust)


_REGISTRY: dict[str, _Entry] = {}


def register(
    name: str, *, replace: bool = False, reads_diagnosis: bool = False
) -> Callable[[Rule], Rule]:
    """A decorator that registers a rule under `name` (then `suggestion(name)` works).

    Args:
        name: the rule's name, a non-empty string.
        replace: whether an existing rule of that name may be replaced.
            Defaults to False.
        reads_diagnosis: whether the rule itself warns or raises by the
            curve's diagnosis (as `robust` does); otherwise `suggest` adds an
            `UnreliableSuggestionWarning` when the diagnosis is not reliable.
            Defaults to False.

    Returns:
        The decorator; it returns the rule unchanged.

    Raises:
        ValueError: for a bad name, or a taken one without `replace=True`.

    Example:

    >>> @keras_lr.core.rules.register("half_minimum")
    ... def half_minimum(curve):
    ...     return float(curve.lrs[curve.losses.argmin()]) / 2
    """
    if not isinstance(name, str) or not name:
        check.fail("name", "a non-empty string", name)
    replace = check.boolean("replace", replace)
    if name in _REGISTRY and not replace:
        check.fail("name", "a name no rule has (pass `replace=True` to replace it)", name)

    def decorator(rule: Rule) -> Rule:
        check.callable_or_none("rule", rule)
        _REGISTRY[name] = _Entry(rule, bool(reads_diagnosis))
        return rule

    return decorator


def unregister(name: str) -> None:
    """Removes a rule registered with `register` (the built-in ones stay).

    Raises:
        ValueError: for an unknown or built-in name.
    """
    if name in _BUILT_IN or name not in _REGISTRY:
        check.fail("name", "the name of a rule you registered", name)
    del _REGISTRY[name]


def names() -> tuple[str, ...]:
    """The names of the registered rules: the built-in ones first, the default first of all."""
    return tuple(_REGISTRY)


def get(name: str) -> Rule:
    """The rule registered under `name`.

    Raises:
        ValueError: for an unknown name (the error lists the known ones).
    """
    return _REGISTRY[check.one_of("method", name, _REGISTRY)].rule


# ------------------------------------------------------------------ the built-in rules
def _unreliable(lr: float, diagnosis: Diagnosis, stacklevel: int) -> None:
    """The one warning of a suggestion read from a curve whose diagnosis is not reliable."""
    warnings.warn(
        f"The suggested learning rate {lr:.3g} is not reliable: "
        + "; ".join(diagnosis.reasons)
        + ". Check it by training.",
        UnreliableSuggestionWarning,
        stacklevel=stacklevel + 1,
    )


@register(DEFAULT, reads_diagnosis=True)
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
    `start_lr`), it raises. An unreliable suggestion comes with an
    `UnreliableSuggestionWarning`.

    Args:
        curve: the `Curve`.

    Returns:
        The suggested learning rate.

    Raises:
        TooFewPointsError: with fewer than `MIN_POINTS` points.
        ValueError: when the loss neither fell beyond its noise nor diverged.

    Example:

    >>> keras_lr.core.rules.robust(result.curve())
    """
    diagnosis = diagnose(curve)
    reading = _reading(curve)
    if reading is None:
        raise TooFewPointsError(
            f"Too few points to suggest a learning rate with method='robust': "
            f"{curve.lrs.size} recorded, at least {MIN_POINTS} needed: "
            + "; ".join(diagnosis.reasons)
            + ". Otherwise run the range test for more steps (`num_steps`)."
        )
    # A fallback always has a divergence LR (a curve that neither fell nor diverged
    # raises below).
    if diagnosis.fallback and diagnosis.divergence_lr is not None:
        lr = diagnosis.divergence_lr / FALLBACK_DIVISOR
        warnings.warn(
            f"The loss never fell beyond its noise during the range test (it fell by "
            f"{diagnosis.drop:.3g}; {diagnosis.threshold:.3g} needed), so there is no descent "
            f"to read a learning rate from. Falling back on the divergence: lr={lr:.3g}, "
            f"{FALLBACK_DIVISOR:g}x below where the loss diverged "
            f"({diagnosis.divergence_lr:.3g}); on such curves the best LR can be anywhere from "
            "near the divergence to hundreds of times below it. Check it by training at a few "
            f"LRs from {lr * 10 ** FALLBACK_CHECK_DECADES[0]:.2g} to "
            f"{lr * 10 ** FALLBACK_CHECK_DECADES[1]:.2g}: `finder.confirm(model, x, y)` runs "
            "such short trials for you. A larger batch "
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
        _unreliable(lr, diagnosis, stacklevel=2)
    return lr


@register("consensus")
def consensus(curve: Curve) -> float:
    """The geometric mean of the `valley`, `steepest` and `minimum` suggestions.

    Each rule alone errs in its own way: `valley` sits low and moves with where
    the flat start of the curve happens to end, `steepest` is noisy, and
    `minimum` depends on how the curve ends; their geometric mean (the mean in
    log-LR) moves less than each.

    Args:
        curve: the `Curve` (`steepest` skips its `skip_start` and `skip_end`).

    Returns:
        The suggested learning rate.

    Raises:
        TooFewPointsError: with fewer than `MIN_POINTS + skip_start + skip_end` points.

    Example:

    >>> keras_lr.core.rules.consensus(keras_lr.core.Curve(lrs, losses))
    """
    skip_start, skip_end = curve.skip_start, curve.skip_end
    assert skip_start is not None and skip_end is not None  # Curve.__post_init__ sets them
    _require_points(
        curve.lrs.size,
        MIN_POINTS + skip_start + skip_end,
        "method='consensus' (it includes 'steepest')",
    )
    picks = [valley(curve), steepest(curve), minimum(curve)]
    return float(np.exp(np.mean(np.log(picks))))


@register("valley")
def valley(curve: Curve) -> float:
    """The middle of the longest descending stretch of the loss curve.

    The stretch is the longest strictly decreasing subsequence of the smoothed
    loss (fastai's default suggestion, "valley"). It ends at its last point and
    spans as many steps as it has points (a chain may jump over a flat start,
    which must not pull it down); the suggestion is the LR halfway along it,
    well inside the region where the loss falls, away from both the flat start
    and the divergence.

    Args:
        curve: the `Curve` (its smoothed `losses` are read).

    Returns:
        The suggested learning rate.

    Raises:
        TooFewPointsError: with fewer than `MIN_POINTS` points.

    Example:

    >>> keras_lr.core.rules.valley(keras_lr.core.Curve(lrs, losses))
    """
    lrs, losses = curve.lrs, curve.losses
    n = lrs.size
    _require_points(n, MIN_POINTS, "method='valley'")
    length = np.ones(n, dtype=int)
    for i in range(1, n):
        earlier = losses[:i] > losses[i]
        if earlier.any():
            length[i] = length[:i][earlier].max() + 1
    end = int(np.argmax(length))
    return float(lrs[end - length[end] // 2])


@register("steepest")
def steepest(curve: Curve) -> float:
    """The LR of the most negative slope d(loss)/d(log lr).

    The first `curve.skip_start` and last `curve.skip_end` points are left out
    (10 and 5 on a curve with a point every step): the start is noisy and the
    end diverges.

    Args:
        curve: the `Curve` (its smoothed `losses` are read).

    Returns:
        The suggested learning rate.

    Raises:
        TooFewPointsError: with fewer than 3 points after the skips.

    Example:

    >>> keras_lr.core.rules.steepest(keras_lr.core.Curve(lrs, losses, skip_start=0))
    """
    skip_start, skip_end = curve.skip_start, curve.skip_end
    window = slice(skip_start, max(curve.lrs.size - skip_end, 0))
    lrs, losses = curve.lrs[window], curve.losses[window]
    _require_points(lrs.size, 3, f"method='steepest' (after skipping {skip_start}+{skip_end})")
    slopes = np.gradient(losses, np.log(lrs))
    return float(lrs[int(np.argmin(slopes))])


@register("minimum")
def minimum(curve: Curve) -> float:
    """The LR of the minimum smoothed loss, divided by 10.

    Args:
        curve: the `Curve` (its smoothed `losses` are read).

    Returns:
        The suggested learning rate.

    Raises:
        TooFewPointsError: with fewer than `MIN_POINTS` points.

    Example:

    >>> keras_lr.core.rules.minimum(keras_lr.core.Curve(lrs, losses))
    """
    _require_points(curve.lrs.size, MIN_POINTS, "method='minimum'")
    return float(curve.lrs[int(np.argmin(curve.losses))] / 10.0)


_BUILT_IN = frozenset(_REGISTRY)


# ------------------------------------------------------------------ reading a curve
def _as_curve(curve: Curve | Sequence[float], losses: Sequence[float] | None) -> Curve:
    if isinstance(curve, Curve):
        return curve
    if losses is None:
        raise ValueError(
            "Argument `losses` is needed when `curve` is a sequence of learning rates. "
            "Received: losses=None"
        )
    return Curve(curve, losses)


def suggest(
    curve: Curve | Sequence[float],
    losses: Sequence[float] | None = None,
    method: str | Rule = DEFAULT,
    *,
    skip_start: int | None = None,
    skip_end: int | None = None,
) -> float:
    """The LR a rule suggests for a curve, read through the curve's diagnosis.

    Every rule goes through the same diagnosis (`diagnose`): when it says
    the curve is not reliable, the suggestion comes with an
    `UnreliableSuggestionWarning` naming the reasons (`robust` gives its
    own warnings, and raises when no LR can be read).

    Args:
        curve: a `Curve`, or the learning rates (then `losses` is needed).
        losses: the smoothed losses, when `curve` is a sequence of LRs.
        method: a registered rule's name (`names()`: `"robust"`, the
            default, `"consensus"`, `"valley"`, `"steepest"`, `"minimum"`)
            or a function of a `Curve` that returns an LR (your own rule).
        skip_start: overrides the curve's `skip_start` (points `steepest`,
            also inside `consensus`, skips at the start).
        skip_end: overrides the curve's `skip_end`.

    Returns:
        The suggested learning rate.

    Raises:
        TooFewPointsError: (a `ValueError`) when the curve is too short for
            the method.
        ValueError: for an unknown method, or (`"robust"`) a loss that
            neither fell nor diverged.

    Example:

    >>> keras_lr.core.suggest(keras_lr.core.Curve(lrs, losses, raw_losses=raw), method="valley")
    """
    curve = _as_curve(curve, losses)
    if skip_start is not None or skip_end is not None:
        curve = dataclasses.replace(
            curve,
            skip_start=curve.skip_start if skip_start is None else skip_start,
            skip_end=curve.skip_end if skip_end is None else skip_end,
        )
    if callable(method):
        entry = _Entry(method, reads_diagnosis=False)
    else:
        entry = _REGISTRY[check.one_of("method", method, _REGISTRY)]
    try:
        lr = float(entry.rule(curve))
    except TooFewPointsError as error:
        if curve.every == 1:
            raise
        raise TooFewPointsError(
            f"{error} The validation curve has a point every {curve.every} steps: "
            "a smaller `val_every` in `find()` gives it more."
        ) from error
    if not entry.reads_diagnosis:
        diagnosis = diagnose(curve)
        if not diagnosis.reliable:
            _unreliable(lr, diagnosis, stacklevel=2)
    return lr


def suggest_range(
    curve: Curve | Sequence[float],
    losses: Sequence[float] | None = None,
    low: float = 0.1,
    high: float = 0.9,
) -> tuple[float, float]:
    """`(base_lr, max_lr)` bounds for `CyclicLR`, as Smith's section 3.3 reads the test.

    Along the smoothed curve up to its minimum, with
    `drop = first loss - minimum`: `base_lr` is the first LR where the loss
    has fallen by `low * drop` (the loss starts to fall) and `max_lr` the
    first where it has fallen by `high * drop` (just before it stops
    falling). The curve is diagnosed first (`diagnose`, from its batch
    losses): a loss that never fell beyond its noise has no range (an
    error), and a range read from an unreliable curve comes with an
    `UnreliableSuggestionWarning`.

    Args:
        curve: a `Curve` (best with its `raw_losses`), or the learning rates
            (then `losses` is needed).
        losses: the smoothed losses, when `curve` is a sequence of LRs.
        low: the fraction of the drop that marks the start. Defaults to 0.1.
        high: the fraction of the drop that marks the end. Defaults to 0.9.

    Returns:
        A `(base_lr, max_lr)` tuple with `base_lr < max_lr`.

    Raises:
        TooFewPointsError: with fewer than `MIN_POINTS` points.
        ValueError: when the loss never fell (beyond its noise), or fell in
            a single step.

    Example:

    >>> base_lr, max_lr = keras_lr.core.suggest_range(result.curve())
    """
    curve = _as_curve(curve, losses)
    lrs, smooth = curve.lrs, curve.losses
    _require_points(lrs.size, MIN_POINTS, "suggest_range()")
    diagnosis = diagnose(curve)
    if not diagnosis.fell:
        raise ValueError(
            "The loss never fell beyond its noise during the range test, so there is no "
            f"range to suggest. {diagnosis.describe()} Run more `num_steps`, use a larger "
            "batch, or move the LR range (`start_lr`, `end_lr`)."
        )
    bottom = int(np.argmin(smooth))
    drop = smooth[0] - smooth[bottom]
    if bottom == 0 or drop <= 0:
        raise ValueError(
            "The loss never fell during the range test, so there is no range to "
            "suggest. Lower `start_lr` or check the model and data."
        )
    fallen = smooth[0] - smooth[: bottom + 1]
    base = int(np.argmax(fallen >= low * drop))
    top = int(np.argmax(fallen >= high * drop))
    if top <= base:
        top = min(base + 1, bottom)
    if top <= base:
        raise ValueError(
            "The loss fell in a single step, so the range is empty. Use more "
            "`num_steps` for a finer ramp."
        )
    if not diagnosis.reliable:
        warnings.warn(
            f"The suggested range ({lrs[base]:.3g}, {lrs[top]:.3g}) is not reliable: "
            + "; ".join(diagnosis.reasons)
            + ". Check it by training.",
            UnreliableSuggestionWarning,
            stacklevel=2,
        )
    return float(lrs[base]), float(lrs[top])
