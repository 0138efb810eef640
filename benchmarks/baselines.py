"""Reference implementations of other tools' LR-suggestion rules (benchmark only, not in keras_lr).

Each rule is a function `rule(curve) -> float | None` of a recorded range-test
curve (`rescore.Curve`: `lrs`, `losses` = the bias-corrected EMA of the batch
losses with beta 0.98, `raw_losses`, `steps`, `num_steps`, `start_lr`,
`end_lr`, `stop_reason`), so that every tool's rule reads the very same
curves as keras_lr's methods. They were written from the published
definitions (facts and formulas), not copied:

- fastai (`fastai/callback/schedule.py`, fastai 2.7.x, read at commit
  0a049e8 of github.com/fastai/fastai): `Learner.lr_find(start_lr=1e-7,
  end_lr=10, num_it=100)` records fastai's own smoothed loss (bias-corrected
  EMA, beta 0.98: the same as our `losses`), stops when the smoothed loss
  exceeds 4x the best or is NaN, then trims the curve to
  `[num_it // 10 : -5]` (`num_it` being the configured number of steps, not
  the number recorded) and cuts it at the first NaN before calling the
  suggestion functions:
  - `valley`: the longest strictly decreasing subsequence of the losses
    (O(n^2) dynamic programming; the first longest one wins), from
    `max_start` to `max_end` (see `_valley_index` for fastai's exact
    bookkeeping of `max_start`); the suggestion is the LR at
    `max_start + int(s) + int(s / 2)` with `s = (max_end - max_start) / 3`.
  - `steep`: the LR at the left point of the most negative finite difference
    `(loss[i+1] - loss[i]) / (log lr[i+1] - log lr[i])`.
  - `minimum`: the LR of the lowest loss divided by 10.
  - `slide` (`lr_diff=15, thresh=0.005, adjust_value=1`): `g = np.gradient(loss)`
    (unit spacing); from the right end, a window of `lr_diff` points slides
    left while `|g[r] - g[l]| > thresh`; the suggestion is the LR at the
    window's left end when it stops (the last position tested).
- PyTorch Lightning (`lightning/pytorch/tuner/lr_finder.py`,
  `_LRFinder.suggestion(skip_begin=10, skip_end=1)`): its recorded loss is the
  same bias-corrected EMA (beta 0.98); the run stops at
  `early_stop_threshold=4.0` (smoothed loss > 4x the best so far, the
  point that crossed included), which we apply to the curve; the suggestion
  is `lrs[argmin(np.gradient(loss[10:-1])) + 10]` after dropping non-finite
  losses (unit spacing: the steepest descent per step).
- torch-lr-finder (davidtvs/pytorch-lr-finder, `LRFinder.plot(skip_start=10,
  skip_end=5, suggest_lr=True)`): `lrs[10:-5][argmin(np.gradient(loss[10:-5]))]`.
  Its own smoothing is a plain EMA with `smooth_f=0.05` and its stop rule
  `diverge_th=5`; here it reads our curve (beta 0.98, stop at 4x), so that
  every rule is compared on identical curves.
- The Keras 2 recipe (the classic Keras 2 callback): reads its own curve,
  `logs["loss"]` of each batch (in Keras 3 the running mean of the epoch so
  far), recorded along the same exponential ramp, stopping at NaN or 4x the
  best; the suggestion is the LR at the minimum of the SMA derivative
  `(loss[i] - loss[i - 10]) / 10`, skipping the first 10 and last 5 points.
  The benchmark stores that curve separately (config "keras2"); `keras2_sma`
  is only meaningful on it.

Each function returns None when the curve is too short for the rule.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SMA, KERAS2_SKIP_START, KERAS2_SKIP_END = 10, 10, 5


def _finite_prefix(lrs: np.ndarray, losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        lrs, losses = lrs[: bad[0]], losses[: bad[0]]
    return lrs, losses


def fastai_trim(curve: Any) -> tuple[np.ndarray, np.ndarray]:
    """fastai's `lr_find` trim: `[num_it // 10 : -5]`, then cut at the first NaN."""
    lrs = np.asarray(curve.lrs, dtype="float64")
    losses = np.asarray(curve.losses, dtype="float64")
    start = curve.num_steps // 10
    return _finite_prefix(lrs[start:-5], losses[start:-5])


def _valley_index(losses: np.ndarray) -> int:
    """fastai's valley index, with its exact bookkeeping.

    fastai updates `max_end`/`max_start` inside the inner loop, the first time
    the running length of the chain ending at `i` exceeds the best so far, so
    `max_start = i - <that running length>` (which may be shorter than the
    chain's final length). The same here, vectorized over the inner loop.
    """
    n = len(losses)
    lds = np.ones(n, dtype=int)
    max_start, max_end = 0, 0
    for i in range(1, n):
        candidates = np.where(losses[:i] > losses[i], lds[:i] + 1, 1)
        running = np.maximum.accumulate(candidates)
        lds[i] = running[-1]
        above = np.flatnonzero(running > lds[max_end])
        if above.size:
            max_end = i
            max_start = i - int(running[above[0]])
    sections = (max_end - max_start) / 3
    return max_start + int(sections) + int(sections / 2)


def fastai_valley(curve: Any) -> float | None:
    lrs, losses = fastai_trim(curve)
    if len(losses) < 2:
        return None
    return float(lrs[_valley_index(losses)])


def fastai_steep(curve: Any) -> float | None:
    lrs, losses = fastai_trim(curve)
    if len(losses) < 2:
        return None
    slopes = np.diff(losses) / np.diff(np.log(lrs))
    return float(lrs[int(np.argmin(slopes))])


def fastai_minimum(curve: Any) -> float | None:
    lrs, losses = fastai_trim(curve)
    if len(losses) < 1:
        return None
    return float(lrs[int(np.argmin(losses))] / 10.0)


def fastai_slide(
    curve: Any, lr_diff: int = 15, thresh: float = 0.005, adjust_value: float = 1.0
) -> float | None:
    lrs, losses = fastai_trim(curve)
    n = len(losses)
    if n <= lr_diff or n < 2:
        return None
    grads = np.gradient(losses)
    right = -1
    left = right - lr_diff
    pick = lrs[left]
    while left >= -n and abs(grads[right] - grads[left]) > thresh:
        pick = lrs[left]
        right -= 1
        left -= 1
    return float(pick) * adjust_value


def lightning_cut(curve: Any, threshold: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """The curve up to (and including) the first point above `threshold` x the best so far."""
    lrs = np.asarray(curve.lrs, dtype="float64")
    losses = np.asarray(curve.losses, dtype="float64")
    best = math.inf
    for i, loss in enumerate(losses):
        if i > 0 and loss > threshold * best:
            return lrs[: i + 1], losses[: i + 1]
        best = min(best, loss)
    return lrs, losses


def lightning_steepest(curve: Any, skip_begin: int = 10, skip_end: int = 1) -> float | None:
    lrs, losses = lightning_cut(curve)
    window = losses[skip_begin:-skip_end] if skip_end else losses[skip_begin:]
    finite = window[np.isfinite(window)]
    if len(finite) < 2:
        return None
    index = int(np.argmin(np.gradient(finite))) + skip_begin
    return float(lrs[min(index, len(lrs) - 1)])


def torch_lr_finder_steepest(curve: Any, skip_start: int = 10, skip_end: int = 5) -> float | None:
    lrs = np.asarray(curve.lrs, dtype="float64")
    losses = np.asarray(curve.losses, dtype="float64")
    lrs, losses = lrs[skip_start:-skip_end], losses[skip_start:-skip_end]
    if len(losses) < 2:
        return None
    return float(lrs[int(np.argmin(np.gradient(losses)))])


def keras2_sma(curve: Any) -> float | None:
    """The Keras 2 recipe's pick, on its own curve (`logs["loss"]`, the running epoch mean)."""
    lrs = np.asarray(curve.lrs, dtype="float64")
    losses = np.asarray(curve.losses, dtype="float64")
    if len(lrs) <= KERAS2_SKIP_START + KERAS2_SKIP_END:
        return None
    derivatives = np.zeros_like(losses)
    derivatives[SMA:] = (losses[SMA:] - losses[:-SMA]) / SMA
    window = slice(KERAS2_SKIP_START, len(lrs) - KERAS2_SKIP_END)
    return float(lrs[window][int(np.argmin(derivatives[window]))])


def optimizer_default(curve: Any) -> float | None:
    """No finder at all: the Keras default LR of the task's optimizer (`sq_tasks.DEFAULT_LRS`)."""
    import sq_tasks

    task = sq_tasks.TASKS.get(curve.task)
    return None if task is None else sq_tasks.DEFAULT_LRS[task.optimizer]


BASELINES = {
    "optimizer's default LR": optimizer_default,
    "fastai valley": fastai_valley,
    "fastai steep": fastai_steep,
    "fastai minimum": fastai_minimum,
    "fastai slide": fastai_slide,
    "Lightning steepest": lightning_steepest,
    "torch-lr-finder steepest": torch_lr_finder_steepest,
}
# Rules that read the Keras 2 recipe's own curve instead of the finder's.
KERAS2_BASELINES = {"Keras 2 recipe (SMA 10)": keras2_sma}
