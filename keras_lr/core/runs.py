"""Statistics over several runs of a range test (`LRFinder(num_runs=...)`).

The per-run curves on their common grid of ramp steps (`runs_table`), their
mean (`mean_over_runs`) and band (`band_over_runs`), and the spread of the
per-run suggestions (`spread`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["band_over_runs", "mean_over_runs", "runs_table", "spread"]


def spread(suggestions: Sequence[float]) -> float:
    """The spread of several suggested LRs, in decades: `log10(max / min)`.

    `LRFinder(num_runs=...)` takes the suggestions of the same rule on each
    run's curve: a spread below `RELIABLE_SPREAD` (half a decade, a factor of
    about 3.2) means the runs agree on the LR.

    Args:
        suggestions: two or more positive learning rates.

    Returns:
        `log10(max(suggestions) / min(suggestions))`, `>= 0`.

    Raises:
        ValueError: for fewer than two, or non-positive, values.

    Example:

    >>> keras_lr.core.spread([1e-3, 3e-3, 1e-2])
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

    Raises:
        ValueError: when a run has not one value per step.

    Example:

    >>> keras_lr.core.runs_table([[0, 1, 2], [0, 1]], [[3.0, 2.0, 1.0], [4.0, 2.0]])
    """
    if len(steps) != len(values):
        raise ValueError(
            "`steps` and `values` must hold one sequence per run. "
            f"Received: len(steps)={len(steps)}, len(values)={len(values)}"
        )
    step_arrays = [np.asarray(s, dtype="int64").reshape(-1) for s in steps]
    value_arrays = [np.asarray(v, dtype="float64").reshape(-1) for v in values]
    for run, (s, v) in enumerate(zip(step_arrays, value_arrays)):
        if s.size != v.size:
            raise ValueError(
                f"Run {run} has {s.size} steps but {v.size} values: each run needs one value per step."
            )
    grid = np.unique(np.concatenate(step_arrays)) if step_arrays else np.zeros(0, "int64")
    table = np.full((len(step_arrays), grid.size), np.nan)
    for row, (s, v) in enumerate(zip(step_arrays, value_arrays)):
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

    Example:

    >>> keras_lr.core.mean_over_runs([[0, 1, 2], [0, 1]], [[3.0, 2.0, 1.0], [4.0, 2.0]])
    (array([0, 1]), array([3.5, 2. ]))
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

    Example:

    >>> keras_lr.core.band_over_runs([[0, 1, 2], [0, 1]], [[3.0, 2.0, 1.0], [4.0, 2.0]])
    (array([0, 1, 2]), array([3., 2., 1.]), array([4., 2., 1.]))
    """
    grid, table = runs_table(steps, values)
    if not grid.size:
        return grid, np.zeros(0), np.zeros(0)
    return grid, np.nanmin(table, axis=0), np.nanmax(table, axis=0)
