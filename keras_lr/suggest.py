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

from collections.abc import Sequence

import numpy as np

from keras_lr import _validation as check

__all__ = [
    "CURVES",
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

METHODS = ("consensus", "valley", "steepest", "minimum")
DEFAULT_METHOD = "consensus"
MIN_POINTS = 5
SKIP_START = 10
SKIP_END = 5
CURVES = ("train", "val")
RELIABLE_SPREAD = 0.5


class TooFewPointsError(ValueError):
    """A curve has too few points for a suggestion rule (a `ValueError`)."""


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
    lrs: Sequence[float],
    losses: Sequence[float],
    method: str = DEFAULT_METHOD,
    *,
    skip_start: int = SKIP_START,
    skip_end: int = SKIP_END,
) -> float:
    """Dispatches to `consensus` (the default), `valley`, `steepest` or `minimum`.

    Args:
        lrs: the learning rates, increasing.
        losses: the smoothed losses at those LRs.
        method: one of `"consensus"`, `"valley"`, `"steepest"`, `"minimum"`.
        skip_start: points `steepest` (also inside `consensus`) skips at the
            start. Defaults to 10.
        skip_end: points `steepest` skips at the end. Defaults to 5.

    Returns:
        The suggested learning rate.

    Raises:
        TooFewPointsError: (a `ValueError`) when the curve is too short for
            the method.
    """
    method = check.one_of("method", method, METHODS)
    if method in ("consensus", "steepest"):
        rule = consensus if method == "consensus" else steepest
        return rule(lrs, losses, skip_start, skip_end)
    return valley(lrs, losses) if method == "valley" else minimum(lrs, losses)


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
