"""Short trials of candidate learning rates: the candidates and the result (Keras-free).

After a range test, a few candidate LRs are each trained for the same short
budget from the same initial state, on the same batches, and scored by a
held-out loss (`keras_lr.callbacks.trials` runs them; this module holds
what needs no Keras):

- `candidates(...)`: the candidate LRs, from the range test's suggestion (or
  its fallback range) and the optimizer's own LR;
- `Trial`: one candidate's record (its training and held-out curves, its
  score and the score's noise);
- `TrialsResult`: all trials, the chosen LR (the best score), whether the
  choice is reliable, `summary()` and `plot()`.

Scores are losses (lower is better). The noise of a score is its standard
error: over the held-out batches (`scoring="val"` or `"holdout"`), or over
the training batches of the last tenth of the budget (`scoring="train"`).
Every trial is scored on the same batches, so two scores are compared
paired, batch by batch: they lie within their noise when they differ by at
most `NOISE_Z` standard errors of their batch-by-batch difference.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_lr.core.constants import FALLBACK_CHECK_DECADES, RELIABLE_SPREAD
from keras_lr.core.diagnosis import UnreliableSuggestionWarning

__all__ = [
    "AROUND_DECADES",
    "FALLBACK_DECADES",
    "NO_SUGGESTION_DECADES",
    "SPACING_DECADES",
    "NOISE_Z",
    "MIN_FALL",
    "Trial",
    "TrialsResult",
    "candidates",
]

#: The candidates around a suggestion `s`: `s * 10**-d .. s * 10**d` (x1/3..x3).
AROUND_DECADES = (-0.5, 0.5)
#: Around a fallback `s` (the loss never fell): the range its warning names,
#: `keras_lr.core.constants.FALLBACK_CHECK_DECADES` (`s / 10**1.5 .. s`).
FALLBACK_DECADES = FALLBACK_CHECK_DECADES
#: Without any suggestion (the loss neither fell nor diverged): around the optimizer's LR.
NO_SUGGESTION_DECADES = (-1.0, 1.0)
#: The spacing of the candidates, in decades of LR (half a decade: as good as a quarter
#: on the development tasks of BENCHMARKS.md, at half the cost).
SPACING_DECADES = 0.5
#: How many standard errors apart two scores must be to be told apart.
NOISE_Z = 2.0
#: The least fall of the held-out loss from its untrained value, as a part of that value, for
#: a trial to have learned: a smaller fall, however consistent over the batches, is not
#: learning the task.
MIN_FALL = 0.01

SCORINGS = ("val", "holdout", "train")
_SCORING_TEXT = {
    "val": "the loss on `val_data`",
    "holdout": "the loss on a held-out part of the training data",
    "train": "the training loss at the end (mean of the last tenth of the steps)",
}


def candidates(
    suggestion: float | None,
    optimizer_lr: float | None,
    *,
    fallback: bool = False,
    spacing: float = SPACING_DECADES,
    around: tuple[float, float] | None = None,
) -> list[tuple[float, str]]:
    """The candidate LRs of the trials, with where each comes from.

    Log-spaced (`spacing` decades apart) around `suggestion`: from
    `AROUND_DECADES` (x1/3..x3) for a reliable or unreliable suggestion, from
    `FALLBACK_DECADES` (/31.6..x1, the range `FallbackWarning` names) for a
    fallback; without a suggestion, `NO_SUGGESTION_DECADES` around the
    optimizer's LR. The optimizer's own LR is always a candidate (it replaces
    the candidate less than half a spacing from it: the same trial, once).

    Args:
        suggestion: the range test's suggestion, or None.
        optimizer_lr: the optimizer's LR (what the user would otherwise
            train with), or None when it has none.
        fallback: whether the suggestion is the fallback on the divergence.
        spacing: decades between two candidates, `> 0`.
        around: `(low, high)` decades around the suggestion, overriding the
            defaults above.

    Returns:
        `(lr, source)` pairs, by increasing LR; `source` is `"suggestion"`,
        `"around"` or `"optimizer"`.

    Raises:
        ValueError: when there is neither a suggestion nor an optimizer LR.
    """
    if suggestion is None and optimizer_lr is None:
        raise ValueError(
            "Trials need a centre for their candidates: the range test gave no suggestion "
            "and the optimizer has no float learning rate. Pass the candidates yourself "
            "(`candidates=[...]`)."
        )
    if suggestion is not None:
        centre = float(suggestion)
        low, high = around or (FALLBACK_DECADES if fallback else AROUND_DECADES)
    elif optimizer_lr is not None:
        centre = float(optimizer_lr)
        low, high = around or NO_SUGGESTION_DECADES
    below = int(math.floor(-low / spacing + 1e-9))
    above = int(math.floor(high / spacing + 1e-9))
    found: list[tuple[float, str]] = []
    for k in range(-below, above + 1):
        source = "suggestion" if k == 0 and suggestion is not None else "around"
        found.append((centre * 10.0 ** (k * spacing), source))
    if optimizer_lr is not None:
        # The optimizer's LR replaces the candidate less than half a spacing from it.
        own = float(optimizer_lr)
        found = [(lr, s) for lr, s in found if abs(math.log10(lr / own)) >= spacing / 2]
        found.append((own, "optimizer"))
    return sorted(found)


@dataclasses.dataclass
class Trial:
    """One candidate LR's short training run.

    Attributes:
        lr: the candidate LR (constant over the trial).
        source: `"suggestion"`, `"around"`, `"optimizer"` or `"user"`; `"start"`
            for the untrained reference (`TrialsResult.start`).
        steps: the steps recorded (0-based).
        losses: the smoothed training loss at those steps (the finder's
            bias-corrected EMA).
        raw_losses: the batch loss at those steps.
        eval_steps: the steps after which the held-out loss was measured
            (empty with `scoring="train"`).
        eval_losses: the held-out loss after those steps.
        eval_errors: the standard error of each held-out loss.
        eval_parts: the per-batch held-out losses behind each of them.
        score: the trial's score (lower is better; `inf` when it diverged).
        score_error: the score's standard error.
        score_parts: what the score averages (the held-out batches' losses,
            or the last training batch losses), for paired comparisons:
            every trial sees the same batches.
        score_weights: their weights (batch sizes).
        diverged: whether the loss diverged or was not finite.
        wall_s: the trial's wall time in seconds.
    """

    lr: float
    source: str
    steps: list[int] = dataclasses.field(default_factory=list)
    losses: list[float] = dataclasses.field(default_factory=list)
    raw_losses: list[float] = dataclasses.field(default_factory=list)
    eval_steps: list[int] = dataclasses.field(default_factory=list)
    eval_losses: list[float] = dataclasses.field(default_factory=list)
    eval_errors: list[float] = dataclasses.field(default_factory=list)
    eval_parts: list[list[float]] = dataclasses.field(default_factory=list)
    score: float = math.inf
    score_error: float = 0.0
    diverged: bool = False
    wall_s: float = 0.0
    score_parts: list[float] = dataclasses.field(default_factory=list)
    score_weights: list[float] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The trial as JSON-ready data (a value that is not finite becomes None)."""
        return {key: _finite_or_none(value) for key, value in dataclasses.asdict(self).items()}


def _finite_or_none(value: Any) -> Any:
    """`value` with every float that is not finite, in lists too, replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    return value


def train_score(raw_losses: Sequence[float]) -> tuple[float, float]:
    """`scoring="train"`: the mean batch loss of the last tenth of the steps, and its error."""
    values = np.asarray(raw_losses, dtype="float64")
    if values.size == 0 or not np.all(np.isfinite(values)):
        return math.inf, 0.0
    tail = values[-max(1, values.size // 10) :]
    error = float(np.std(tail, ddof=1) / math.sqrt(tail.size)) if tail.size > 1 else 0.0
    return float(np.mean(tail)), error


def heldout_score(losses: Sequence[float], sizes: Sequence[int]) -> tuple[float, float]:
    """A held-out loss from per-batch losses: the sample-weighted mean, and its standard error."""
    values = np.asarray(losses, dtype="float64")
    weights = np.asarray(sizes, dtype="float64")
    if values.size == 0 or not np.all(np.isfinite(values)):
        return math.inf, 0.0
    mean = float(np.sum(values * weights) / np.sum(weights))
    if values.size < 2:
        return mean, 0.0
    # Between-batch variance of the batch means, for a weighted mean of batch means.
    variance = float(np.sum(weights * (values - mean) ** 2) / np.sum(weights))
    effective = float(np.sum(weights) ** 2 / np.sum(weights**2))
    return mean, math.sqrt(variance / max(effective - 1.0, 1.0))


class TrialsResult:
    """The trials of a few candidate LRs and the chosen one (see the module docstring).

    Args:
        trials: the `Trial` of each candidate.
        scoring: `"val"`, `"holdout"` or `"train"`: what the score is.
        budget: the training steps of each trial.
        range_test_steps: the range test's `num_steps` (the budget's unit).
        suggestion: the range test's suggestion (None when it gave none).
        optimizer_lr: the optimizer's own LR (None when it has a schedule).
        wall_s: the wall time of all trials, in seconds.
        start: the held-out loss before any training (a `Trial` with
            `source="start"` and `lr=0`, scored on the same batches), or None
            (`scoring="train"`).

    Attributes:
        best_lr: the chosen LR: the candidate with the lowest score.
        best: its `Trial`.
        tied: the candidates whose scores lie within their noise of the best.
        reliable: whether the choice can be trusted: the best is told apart
            from the other candidates beyond their noise (the tied
            candidates span at most `RELIABLE_SPREAD` decades) and
            is not the lowest or highest of the candidates around the
            suggestion (the best LR could lie beyond it; the optimizer's LR
            too, when it lies beyond them), and it lowered the held-out loss
            from where it started (`start`) beyond its noise and by at least
            `MIN_FALL` of it.
        reasons: why it is not reliable (empty when it is).

    Example:

    ```python
    finder.find(model, x, y)
    trials = finder.confirm(model, x, y)
    print(trials.summary())
    trials.plot()
    model.optimizer.learning_rate = trials.best_lr
    ```
    """

    def __init__(
        self,
        trials: Sequence[Trial],
        *,
        scoring: str,
        budget: int,
        range_test_steps: int,
        suggestion: float | None = None,
        optimizer_lr: float | None = None,
        wall_s: float = 0.0,
        start: Trial | None = None,
    ) -> None:
        if not trials:
            raise ValueError("Argument `trials` must hold at least one trial. Received: trials=[]")
        if scoring not in SCORINGS:
            raise ValueError(f"Argument `scoring` must be one of {SCORINGS}. Received: {scoring!r}")
        self.trials = sorted(trials, key=lambda t: t.lr)
        self.scoring = scoring
        self.budget = int(budget)
        self.range_test_steps = int(range_test_steps)
        self.suggestion = suggestion
        self.optimizer_lr = optimizer_lr
        self.wall_s = float(wall_s)
        self.start = start
        self._judge()

    # ---------------------------------------------------------- the choice
    def _judge(self) -> None:
        finite = [t for t in self.trials if math.isfinite(t.score)]
        self.reasons: list[str] = []
        if not finite:
            self.best = min(self.trials, key=lambda t: t.lr)
            self.best_lr = self.best.lr
            self.tied = []
            self.reasons.append("every candidate diverged; try lower learning rates")
            self.reliable = False
            return
        self.best = min(finite, key=lambda t: t.score)
        self.best_lr = self.best.lr
        self.tied = [t for t in finite if _within_noise(t, self.best)]
        all_tied = len(finite) > 1 and len(self.tied) == len(finite)
        if all_tied:
            self.reasons.append(
                f"the scores of all {len(finite)} candidates that trained lie within their "
                f"noise ({NOISE_Z:g} standard errors), so the trials cannot tell them apart"
            )
        else:
            lrs = [t.lr for t in self.tied]
            span = math.log10(max(lrs) / min(lrs))
            if span > RELIABLE_SPREAD:
                self.reasons.append(
                    f"the candidates within noise of the best span {span:.2f} decades "
                    f"({min(lrs):.3g} to {max(lrs):.3g}), more than {RELIABLE_SPREAD:g}"
                )
        searched = [t for t in self.trials if t.source != "optimizer"] or self.trials
        if len(searched) > 1 and not all_tied:  # (all tied: no direction to look in)
            if self.best.lr <= searched[0].lr:
                self.reasons.append(
                    f"the best is the lowest candidate ({self.best_lr:.3g}): a lower LR may be "
                    "better"
                )
            elif self.best.lr >= searched[-1].lr:
                self.reasons.append(
                    f"the best is the highest candidate ({self.best_lr:.3g}): a higher LR may "
                    "be better"
                )
        start = self.start
        if start is not None and math.isfinite(start.score):
            fall = start.score - self.best.score
            least = max(NOISE_Z * paired_error(self.best, start), MIN_FALL * abs(start.score))
            if not fall > least:
                self.reasons.append(
                    f"no candidate lowered the held-out loss beyond its noise (and by "
                    f"{MIN_FALL:.0%}) from where it "
                    f"started ({start.score:.4g}; the best reached {self.best.score:.4g}): none "
                    f"learned within {self.budget} steps, so a larger `budget` may tell them apart"
                )
        self.reliable = not self.reasons

    def warn_if_unreliable(self, stacklevel: int = 2) -> None:
        """Issues an `UnreliableSuggestionWarning` with the reasons when not reliable."""
        if self.reliable:
            return
        warnings.warn(
            f"The trials chose lr={self.best_lr:.3g}, but the choice is not reliable: "
            + "; ".join(self.reasons)
            + ". Train longer trials (`budget`), score on more held-out data (`val_data`), "
            "or try other candidates (`candidates`).",
            UnreliableSuggestionWarning,
            stacklevel=stacklevel + 1,
        )

    # ---------------------------------------------------------- reports
    @property
    def lrs(self) -> list[float]:
        """The candidate LRs, increasing."""
        return [t.lr for t in self.trials]

    @property
    def scores(self) -> list[float]:
        """The score of each candidate (in the order of `lrs`)."""
        return [t.score for t in self.trials]

    @property
    def cost(self) -> float:
        """The training steps of all trials, in range tests (`range_test_steps`)."""
        steps = sum((t.steps[-1] + 1) if t.steps else 0 for t in self.trials)
        return steps / max(self.range_test_steps, 1)

    def summary_lines(self) -> list[str]:
        """The table of candidates and scores, then the choice (one string per line)."""
        lines = [
            f"Trials: {len(self.trials)} candidates x {self.budget} steps "
            f"({self.budget / max(self.range_test_steps, 1):g}x the range test's "
            f"{self.range_test_steps}), scored by {_SCORING_TEXT[self.scoring]}.",
            f"  {'lr':>10}  {'source':<10}  {'score':>10}  {'+/-':>8}  note",
        ]
        for t in self.trials:
            notes = []
            if t is self.best:
                notes.append("best")
            elif t in self.tied:
                notes.append("within noise of the best")
            if t.diverged:
                notes.append("diverged")
            score = f"{t.score:10.4g}" if math.isfinite(t.score) else f"{'inf':>10}"
            lines.append(
                f"  {t.lr:10.3g}  {t.source:<10}  {score}  {t.score_error:8.2g}  {', '.join(notes)}"
            )
        if self.start is not None and math.isfinite(self.start.score):
            lines.append(
                f"  {'(start)':>10}  {'untrained':<10}  {self.start.score:10.4g}  "
                f"{self.start.score_error:8.2g}  the held-out loss before any trial"
            )
        verdict = "reliable" if self.reliable else "NOT reliable: " + "; ".join(self.reasons)
        lines.append(f"Chosen: lr={self.best_lr:.3g} ({self.best.source}), {verdict}.")
        return lines

    def summary(self) -> str:
        """`summary_lines()` joined: a table of the candidates, their scores, and the choice."""
        return "\n".join(self.summary_lines())

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "scoring": self.scoring,
            "budget": self.budget,
            "range_test_steps": self.range_test_steps,
            "suggestion": self.suggestion,
            "optimizer_lr": self.optimizer_lr,
            "best_lr": self.best_lr,
            "reliable": self.reliable,
            "reasons": list(self.reasons),
            "wall_s": self.wall_s,
            "start": None if self.start is None else self.start.to_dict(),
            "trials": [t.to_dict() for t in self.trials],
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes `to_dict()` to a JSON file (strict JSON: no NaN or infinity).

        Args:
            path: the file to write.
        """
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=1, allow_nan=False)

    def plot(self, ax: Any = None) -> Any:
        """Plots each trial's curve against the step: the held-out loss, or the training loss.

        The chosen LR's curve is drawn thicker; a dotted line marks the held-out
        loss before training (`start`). Matplotlib is imported here.

        Args:
            ax: a matplotlib Axes to draw on; a new figure when None.

        Returns:
            The matplotlib Axes.
        """
        from keras_lr.core.plot import _axes

        ax = _axes(ax)
        held_out = self.scoring != "train"
        for t in self.trials:
            steps, values = (t.eval_steps, t.eval_losses) if held_out else (t.steps, t.losses)
            if not steps:
                continue
            label = f"lr={t.lr:.3g}" + (" (optimizer)" if t.source == "optimizer" else "")
            if t.diverged:
                label += ", diverged"
            width = 2.5 if t is self.best else 1.0
            ax.plot(
                np.asarray(steps) + 1,
                values,
                marker="." if held_out else None,
                lw=width,
                label=label,
            )
        if held_out and self.start is not None and math.isfinite(self.start.score):
            ax.axhline(self.start.score, color="0.5", ls=":", lw=1.0, label="untrained")
        ax.set_xlabel("training step")
        ax.set_ylabel("held-out loss" if held_out else "smoothed training loss")
        ax.set_title(f"Trials: best lr={self.best_lr:.3g}")
        ax.legend(fontsize="small")
        return ax


def paired_error(a: Trial, b: Trial) -> float:
    """The standard error of `a.score - b.score`, paired over the batches both were scored on.

    Every trial is scored on the same batches, so the batch-to-batch spread
    common to both cancels; without matching parts, the unpaired error.
    """
    if a.score_parts and len(a.score_parts) == len(b.score_parts) and len(a.score_parts) > 1:
        diff = np.asarray(a.score_parts) - np.asarray(b.score_parts)
        weights = np.asarray(a.score_weights or [1.0] * diff.size, dtype="float64")
        mean = float(np.sum(diff * weights) / np.sum(weights))
        variance = float(np.sum(weights * (diff - mean) ** 2) / np.sum(weights))
        effective = float(np.sum(weights) ** 2 / np.sum(weights**2))
        return math.sqrt(variance / max(effective - 1.0, 1.0))
    return math.hypot(a.score_error, b.score_error)


def _within_noise(a: Trial, b: Trial) -> bool:
    if a is b:
        return True
    noise = NOISE_Z * paired_error(a, b)
    return abs(a.score - b.score) <= noise + 1e-7 * max(abs(a.score), abs(b.score), 1e-12)
