"""The result of an LR range test: curves, diagnosis, suggestions, plots, save/load.

`keras_lr.LRFinder` is the callback that runs the test and records it; this
module reads what it recorded, with no Keras model involved:

- `RangeTestRun`: the curve of one run (LRs, true batch losses, their causal
  EMA, why the run stopped, an optional validation curve);
- `RangeTest`: one or several runs, their mean curve, the `diagnosis` (did the
  loss fall beyond its noise, where it diverged, how many points informed the
  suggestion, whether the result is reliable), `suggestion()`,
  `suggest_range()`, the spread over runs, `summary()`, `plot()`, and
  `save()` / `load()` as JSON.

A `RangeTest` can be rebuilt from a file written by `save()` on another
machine and read, plotted and suggested from there.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from keras_lr import _validation as check
from keras_lr.core import rules, schema
from keras_lr.core.constants import CURVES, RELIABLE_SPREAD, SKIP_END, SKIP_START
from keras_lr.core.diagnosis import Curve, Diagnosis, UnreliableSuggestionWarning, diagnose
from keras_lr.core.ramp import RampConfig
from keras_lr.core.runs import mean_over_runs
from keras_lr.core.runs import spread as _spread

__all__ = ["EMPTY_RECORD", "RESULT_NAMES", "RangeTest", "RangeTestRun"]

_STOP_TEXT = {
    "diverged": "the loss diverged",
    "nan": "the loss was not finite",
    "num_steps": "all {num_steps} steps ran",
    None: "training ended",
}
Rule = Callable[[Curve], float]


@dataclasses.dataclass
class RangeTestRun:
    """The curve recorded by one run of the range test (an item of `RangeTest.runs`).

    Attributes:
        steps: the ramp index `i` of each recorded step.
        lrs: the LR of each recorded step.
        losses: the smoothed loss (causal bias-corrected EMA) of each recorded step.
        raw_losses: the true batch loss of each recorded step.
        stop_reason: `"diverged"`, `"nan"`, `"num_steps"`, or None when
            training ended otherwise.
        val_steps: the ramp steps after which the validation subset was
            scored (empty without `val_data`).
        val_lrs: the LR of those steps.
        val_losses: the validation loss after those steps.
        stop_lr: the LR of the step at which the run stopped because its loss
            diverged or was not finite (None otherwise).
    """

    steps: list[int]
    lrs: list[float]
    losses: list[float]
    raw_losses: list[float]
    stop_reason: str | None = None
    val_steps: list[int] = dataclasses.field(default_factory=list)
    val_lrs: list[float] = dataclasses.field(default_factory=list)
    val_losses: list[float] = dataclasses.field(default_factory=list)
    stop_lr: float | None = None

    @property
    def diverged(self) -> bool:
        """Whether the run stopped because its loss diverged or was not finite."""
        return self.stop_reason in ("diverged", "nan")

    def curve(self, curve: str = "train") -> tuple[list[float], list[float]]:
        """`(lrs, losses)` of the training (smoothed) or validation curve."""
        if check.one_of("curve", curve, CURVES) == "val":
            return self.val_lrs, self.val_losses
        return self.lrs, self.losses

    def to_dict(self) -> dict[str, Any]:
        """The run as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RangeTestRun:
        """The run written by `to_dict()`."""
        stop_lr = data.get("stop_lr")
        return cls(
            steps=[int(v) for v in data["steps"]],
            lrs=[float(v) for v in data["lrs"]],
            losses=[float(v) for v in data["losses"]],
            raw_losses=[float(v) for v in data["raw_losses"]],
            stop_reason=data.get("stop_reason"),
            val_steps=[int(v) for v in data.get("val_steps", [])],
            val_lrs=[float(v) for v in data.get("val_lrs", [])],
            val_losses=[float(v) for v in data.get("val_losses", [])],
            stop_lr=None if stop_lr is None else float(stop_lr),
        )


class RangeTest:
    """One or several runs of an LR range test, read as one result.

    With one run, the curves are that run's. With several (every run follows
    the same ramp, so ramp step `i` has the same LR in each), `lrs`, `losses`
    and `raw_losses` are the mean over the runs at each ramp step, up to where
    the first run stopped (past it, the mean would drop each time a diverging
    run left it, which a suggestion rule would read as a steep descent).

    Args:
        runs: the runs, at least one.
        config: the ramp's settings (`start_lr`, `end_lr`, `num_steps`,
            `mode`, `beta`, `stop_factor`), as `LRFinder.get_config()` gives
            (other keys are ignored, missing ones take `RampConfig`'s
            defaults), or a `RampConfig`.
        val_every: the ramp steps between two validation points.

    Attributes:
        runs: the `RangeTestRun` of each run.
        ramp: the ramp's settings, a `RampConfig`.
        config: the same, as a dict.
        steps, lrs, losses, raw_losses: the (mean) curve.
        val_steps, val_lrs, val_losses: the (mean) validation curve.
        best_lr, best_loss: the LR and value of the lowest smoothed loss.
        stop_reason: why the run (the first run to stop) stopped.
        diverged: whether that run stopped because its loss diverged.

    Example:

    ```python
    result = keras_lr.RangeTest.load("range_test.json")
    result.diagnosis.reliable, result.suggestion()
    result.plot()
    ```
    """

    def __init__(
        self,
        runs: Sequence[RangeTestRun],
        config: dict[str, Any] | RampConfig,
        *,
        val_every: int = 1,
    ) -> None:
        if not runs:
            raise ValueError("Argument `runs` must hold at least one run. Received: runs=[]")
        self.runs = list(runs)
        self.ramp = config if isinstance(config, RampConfig) else RampConfig.from_dict(config)
        self.config = self.ramp.to_dict()
        self.val_every = check.integer("val_every", val_every, 1)
        self._aggregate()

    # ---------------------------------------------------------- the curve
    def _aggregate(self) -> None:
        runs = self.runs
        first = min(runs, key=lambda run: run.steps[-1] if run.steps else -1)
        self.stop_reason = first.stop_reason
        self.diverged = first.diverged
        if len(runs) == 1:
            run = runs[0]
            self.steps, self.lrs = list(run.steps), list(run.lrs)
            self.losses, self.raw_losses = list(run.losses), list(run.raw_losses)
            self.val_steps, self.val_lrs = list(run.val_steps), list(run.val_lrs)
            self.val_losses = list(run.val_losses)
        else:
            lr_of_step = {
                s: lr
                for run in runs
                for s, lr in zip(run.steps + run.val_steps, run.lrs + run.val_lrs)
            }
            steps = [r.steps for r in runs]
            grid, losses = mean_over_runs(steps, [r.losses for r in runs])
            _, raw_losses = mean_over_runs(steps, [r.raw_losses for r in runs])
            val_grid, val_losses = mean_over_runs(
                [r.val_steps for r in runs], [r.val_losses for r in runs]
            )
            self.steps = [int(s) for s in grid]
            self.lrs = [lr_of_step[s] for s in self.steps]
            self.losses, self.raw_losses = losses.tolist(), raw_losses.tolist()
            self.val_steps = [int(s) for s in val_grid]
            self.val_lrs = [lr_of_step[s] for s in self.val_steps]
            self.val_losses = val_losses.tolist()
        self.best_lr: float | None = None
        self.best_loss = math.inf
        if self.losses:
            best = int(np.argmin(self.losses))
            self.best_lr, self.best_loss = self.lrs[best], self.losses[best]
        self._diagnosis: Diagnosis | None = None

    @property
    def stop_lr(self) -> float | None:
        """The LR at which the first run to stop diverged (None if none did)."""
        stopped = [run.stop_lr for run in self.runs if run.diverged and run.stop_lr is not None]
        return min(stopped) if stopped else None

    def curve(self, curve: str = "train") -> Curve:
        """The curve the suggestion rules read, as a `keras_lr.core.Curve`.

        Args:
            curve: `"train"` (the smoothed training loss, a point every step)
                or `"val"` (the validation loss, a point every `val_every`
                steps).

        Returns:
            A `keras_lr.core.Curve`.
        """
        curve = check.one_of("curve", curve, CURVES)
        num_steps = self.ramp.num_steps
        if curve == "val":
            if not self.val_lrs:
                raise ValueError(
                    "The finder has no validation curve. Pass `val_data=` to "
                    "`finder.find(...)` to record one, or use curve='train'."
                )
            return Curve(
                self.val_lrs,
                self.val_losses,
                raw_losses=self.val_losses,
                num_steps=num_steps,
                stop_lr=self.stop_lr,
                every=self.val_every,
                stop_reason=self.stop_reason,
            )
        return Curve(
            self.lrs,
            self.losses,
            raw_losses=self.raw_losses,
            num_steps=num_steps,
            stop_lr=self.stop_lr,
            stop_reason=self.stop_reason,
        )

    # ---------------------------------------------------------- reading it
    @property
    def diagnosis(self) -> Diagnosis:
        """What the training curve says about itself (`keras_lr.core.diagnose`).

        Whether the loss fell by more than its own noise, whether and where it
        diverged, how many points informed the suggestion, and whether the
        result is reliable. With several runs, `reliable` also needs the
        runs' suggestions to agree (`spread` below half a decade).
        """
        if self._diagnosis is None:
            diagnosis = diagnose(self.curve("train"))
            if len(self.runs) > 1 and diagnosis.reliable:
                try:
                    spread = self.suggestion_spread()
                except ValueError:
                    spread = math.inf
                if not spread < RELIABLE_SPREAD:
                    diagnosis = dataclasses.replace(
                        diagnosis,
                        reliable=False,
                        reasons=(
                            *diagnosis.reasons,
                            f"the runs' suggestions spread {spread:.2f} decades",
                        ),
                    )
            self._diagnosis = diagnosis
        return self._diagnosis

    def suggestion(self, method: str | Rule = rules.DEFAULT, *, curve: str = "train") -> float:
        """A suggested learning rate, read from the recorded curve.

        The default method reads the loss lag-free and uses its noise
        (`keras_lr.core.rules.robust`). When the loss never fell by more than
        its noise, no rule can read a good LR from it: the default then falls
        back on the divergence (`FALLBACK_DIVISOR` below the LR where it
        diverged) with a `UserWarning` that says so, and raises a
        `ValueError` when the loss neither fell nor diverged. Every other
        rule is read through the same diagnosis: an unreliable curve gives
        an `UnreliableSuggestionWarning` (`keras_lr.core.suggest`).

        Args:
            method: the name of a rule (`keras_lr.core.rules.names()`) or a
                function of a `keras_lr.core.Curve` returning an LR.
                Defaults to `"robust"`.
            curve: `"train"` (the default) or `"val"` (needs
                `find(val_data=...)`).

        Returns:
            The suggested learning rate.

        Raises:
            ValueError: for an unknown method or curve, a missing validation
                curve, too few points (`keras_lr.core.TooFewPointsError`),
                or a loss that neither fell nor diverged.

        Example:

        >>> keras_lr.RangeTest.load("range_test.json").suggestion("valley")
        """
        return rules.suggest(self.curve(curve), method=method)

    def suggest_range(self, *, curve: str = "train") -> tuple[float, float]:
        """`(base_lr, max_lr)` for `CyclicLR`, as Smith reads the range test.

        `base_lr` is where the smoothed loss starts to fall (10% of its total
        drop), `max_lr` just before it stops falling (90% of the drop). The
        curve is diagnosed first (`keras_lr.core.suggest_range`).

        Args:
            curve: `"train"` (the default) or `"val"`.

        Returns:
            A `(base_lr, max_lr)` tuple.

        Raises:
            ValueError: when the loss never fell beyond its noise (on either
                curve), or the curve is too short.

        Example:

        >>> base_lr, max_lr = keras_lr.RangeTest.load("range_test.json").suggest_range()
        """
        return rules.suggest_range(self.curve(curve))

    def suggestion_spread(
        self, method: str | Rule = rules.DEFAULT, *, curve: str = "train"
    ) -> float:
        """How much the runs disagree: `log10(max / min)` of their suggestions.

        Args:
            method: the rule, as in `suggestion()`.
            curve: `"train"` (the default) or `"val"`.

        Returns:
            The spread in decades, `>= 0`.

        Raises:
            ValueError: with fewer than 2 runs, or when a run has too few
                points for `method`.
        """
        if len(self.runs) < 2:
            raise ValueError(
                f"The spread of the suggestion needs several runs, and the finder has "
                f"{len(self.runs)}. Use `LRFinder(num_runs=3)` (or more) and `find()`."
            )
        check.one_of("curve", curve, CURVES)
        picks = []
        for index, run in enumerate(self.runs):
            single = RangeTest([run], self.config, val_every=self.val_every)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UnreliableSuggestionWarning)
                    picks.append(single.suggestion(method, curve=curve))
            except ValueError as error:
                raise type(error)(f"Run {index}: {error}") from error
        return _spread(picks)

    @property
    def spread(self) -> float:
        """`suggestion_spread()` of the default method on the training curve."""
        return self.suggestion_spread()

    @property
    def reliable(self) -> bool:
        """`diagnosis.reliable`: the loss fell beyond its noise, enough points informed
        the suggestion, and (with several runs) the runs agree."""
        return self.diagnosis.reliable

    def _stop_phrase(self) -> str:
        """Why the (first) run stopped, and at which LR when it diverged."""
        num_steps = self.config.get("num_steps", "?")
        stop = _STOP_TEXT.get(self.stop_reason, _STOP_TEXT[None]).format(num_steps=num_steps)
        return stop if self.stop_lr is None else f"{stop} at lr={self.stop_lr:.3g}"

    def _headline(self, lengths: bool) -> str:
        """`LRFinder: <points>, stopped because <why>` (with several runs, their lengths)."""
        stop = self._stop_phrase()
        if len(self.runs) == 1:
            return f"LRFinder: {len(self.lrs)} points, stopped because {stop}"
        each = f" of {', '.join(str(len(run.lrs)) for run in self.runs)} points" if lengths else ""
        return (
            f"LRFinder: {len(self.runs)} runs{each}, mean curve of {len(self.lrs)} points "
            f"(up to where the first run stopped, because {stop})"
        )

    def _suggestion_phrase(self) -> str:
        """`suggested lr (<kind>): <lr>`, with the runs' spread; a `ValueError` when there is none."""
        with warnings.catch_warnings():  # the text says whether it is reliable
            warnings.simplefilter("ignore", UnreliableSuggestionWarning)
            lr = self.suggestion()
        kind = "fallback from the divergence" if self.diagnosis.fallback else rules.DEFAULT
        text = f"suggested lr ({kind}): {lr:.3g}"
        if len(self.runs) > 1:
            try:
                text += f", spread over the runs {self.spread:.2f} decades"
            except ValueError:
                pass
        return text

    def summary(self) -> str:
        """One paragraph: how the test ran, why it stopped, its diagnosis and suggestion."""
        text = self._headline(lengths=True)
        if self.best_lr is not None:
            text += f"; lowest smoothed loss {self.best_loss:.4g} at lr={self.best_lr:.3g}"
        text += f".\n{self.diagnosis.describe()}"
        try:
            suggestion = self._suggestion_phrase()
        except ValueError as error:
            return f"{text}\nNo suggestion: {error}"
        verdict = "reliable" if self.diagnosis.reliable else "NOT reliable"
        return f"{text}\n{suggestion[:1].upper()}{suggestion[1:]} ({verdict})."

    def summary_line(self) -> str:
        """One line: why the test stopped, the suggestion, and whether it is reliable (and why not).

        What `LRFinder(verbose=1)` prints after its progress bar; `summary()`
        gives the whole diagnosis.
        """
        text = self._headline(lengths=False)
        try:
            text += f"; {self._suggestion_phrase()}"
        except ValueError as error:
            return f"{text}; no suggestion: {str(error).rstrip('.')}."
        diagnosis = self.diagnosis
        if diagnosis.reliable:
            return text + ", reliable."
        reasons = "; ".join(diagnosis.reasons)
        return text + (f", NOT reliable: {reasons}." if reasons else ", NOT reliable.")

    # ---------------------------------------------------------- plots
    def plot(
        self,
        ax: Any = None,
        *,
        skip_start: int = SKIP_START,
        skip_end: int = SKIP_END,
        suggestion: str | None = rules.DEFAULT,
        show_raw: bool = False,
        curve: str = "train",
    ) -> Any:
        """Plots the loss the rules read against the LR (log axis), with the basin, suggestion and stop.

        The main line is the lag-free smoothing of the batch losses
        (`keras_lr.core.lagfree`), the finder's lagging EMA a faint second
        line, and a shaded span the basin the diagnosis found. With several
        runs, a band shows the lowest and highest lag-free loss of the runs
        at each LR around the mean curve; a validation curve is
        drawn too. Where the test diverged and why it stopped are marked, also
        when `skip_end` hides the last points (`keras_lr.core.plot_finder`).

        Args:
            ax: a matplotlib Axes to draw on; a new figure when None.
            skip_start: points of the training curve left out at the start.
                Defaults to 10.
            skip_end: points left out at the end. Defaults to 5.
            suggestion: the method whose LR is marked, or None.
            show_raw: also draw the raw batch losses. Defaults to False.
            curve: the curve of the band and the suggestion: `"train"` (the
                default) or `"val"`.

        Returns:
            The matplotlib Axes.

        Example:

        ```python
        ax = keras_lr.RangeTest.load("range_test.json").plot(show_raw=True)
        ```
        """
        from keras_lr.core import plot as plotting

        return plotting.plot_finder(
            self,
            ax=ax,
            skip_start=skip_start,
            skip_end=skip_end,
            suggestion=suggestion,
            show_raw=show_raw,
            curve=curve,
        )

    def plot_loss_change(
        self,
        sma: int = 1,
        ax: Any = None,
        *,
        skip_start: int = 10,
        skip_end: int = 5,
        y_lim: tuple[float, float] | None = None,
    ) -> Any:
        """Plots the rate of change of the batch loss against the LR.

        The change per step is smoothed by a simple moving window of `sma`
        steps, `(loss[i] - loss[i - sma]) / sma`, over the raw batch losses
        (`keras_lr.core.plot_loss_change`).

        Args:
            sma: the moving window, `>= 1`. Defaults to 1.
            ax: a matplotlib Axes to draw on; a new figure when None.
            skip_start: points left out at the start. Defaults to 10.
            skip_end: points left out at the end. Defaults to 5.
            y_lim: optional y-axis limits.

        Returns:
            The matplotlib Axes.
        """
        from keras_lr.core import plot as plotting

        return plotting.plot_loss_change(
            self, sma=sma, ax=ax, skip_start=skip_start, skip_end=skip_end, y_lim=y_lim
        )

    # ---------------------------------------------------------- files
    def to_dict(self, config: dict[str, Any] | None = None) -> dict[str, Any]:
        """The result as a JSON-ready dict (what `save()` writes).

        Args:
            config: the config to store; defaults to the ramp's settings.

        Returns:
            A dict.
        """
        return {
            "config": dict(self.config if config is None else config),
            "steps": self.steps,
            "lrs": self.lrs,
            "losses": self.losses,
            "raw_losses": self.raw_losses,
            "best_lr": self.best_lr,
            "best_loss": self.best_loss if self.best_lr is not None else None,
            "diverged": self.diverged,
            "stop_reason": self.stop_reason,
            "val_every": self.val_every,
            "val_steps": self.val_steps,
            "val_lrs": self.val_lrs,
            "val_losses": self.val_losses,
            "runs": [run.to_dict() for run in self.runs],
        }

    def save(self, path: str | os.PathLike[str], config: dict[str, Any] | None = None) -> None:
        """Writes the result to a JSON file (`RangeTest.load` and `LRFinder.load` read it).

        Args:
            path: the file to write.
            config: the config to store; defaults to the ramp's settings.
        """
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(config), f, indent=1)

    @staticmethod
    def read(path: str | os.PathLike[str]) -> dict[str, Any]:
        """The checked content of a file written by `save()` (a dict).

        Raises:
            ValueError: naming the file, when it is not such a file.
        """
        return schema.read_saved_range_test(path)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RangeTest:
        """The result stored by `to_dict()`.

        A dict without `"runs"` (written before there were several) is read
        as a single run.
        """
        if "runs" in data:
            runs = [RangeTestRun.from_dict(run) for run in data["runs"]]
        else:
            runs = [
                RangeTestRun(
                    steps=[int(s) for s in data["steps"]],
                    lrs=[float(v) for v in data["lrs"]],
                    losses=[float(v) for v in data["losses"]],
                    raw_losses=[float(v) for v in data["raw_losses"]],
                    stop_reason=data.get("stop_reason"),
                    val_steps=[int(s) for s in data.get("val_steps", [])],
                    val_lrs=[float(v) for v in data.get("val_lrs", [])],
                    val_losses=[float(v) for v in data.get("val_losses", [])],
                )
            ]
        result = cls(runs, data["config"], val_every=int(data.get("val_every", 1)))
        # The file's own (mean) curves are the record: keep them as written.
        for key in ("steps", "val_steps"):
            if key in data:
                setattr(result, key, [int(v) for v in data[key]])
        for key in ("lrs", "losses", "raw_losses", "val_lrs", "val_losses"):
            if key in data:
                setattr(result, key, [float(v) for v in data[key]])
        result.best_lr, result.best_loss = None, math.inf
        if result.losses:
            best = int(np.argmin(result.losses))
            result.best_lr, result.best_loss = result.lrs[best], result.losses[best]
        return result

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RangeTest:
        """Reads a result written by `save()` (or `LRFinder.save()`).

        Args:
            path: the JSON file.

        Returns:
            The `RangeTest`.
        """
        return cls.from_dict(cls.read(path))


#: What a `RangeTest` exposes to read it (its curves, diagnosis, suggestions and
#: plots): the names `LRFinder` forwards to its `result`. The file members
#: (`save`, `load`, `read`, `to_dict`, `from_dict`) and the settings (`config`,
#: `ramp`, `val_every`) are the finder's own.
RESULT_NAMES = frozenset(
    {
        # set by `_aggregate`, per instance
        "runs",
        "steps",
        "lrs",
        "losses",
        "raw_losses",
        "val_steps",
        "val_lrs",
        "val_losses",
        "best_lr",
        "best_loss",
        "stop_reason",
        "diverged",
        # the class's members
        *(name for name in vars(RangeTest) if not name.startswith("_")),
    }
    - {"save", "load", "read", "to_dict", "from_dict", "config", "ramp", "val_every"}
)
#: The recorded data before any test ran: what `LRFinder` gives for these names
#: until it has a result (its other result names raise, saying to run the test).
EMPTY_RECORD: dict[str, Callable[[], Any]] = {
    **dict.fromkeys(
        ("runs", "steps", "lrs", "losses", "raw_losses", "val_steps", "val_lrs", "val_losses"),
        list,
    ),
    "best_lr": lambda: None,
    "best_loss": lambda: math.inf,
    "stop_reason": lambda: None,
    "stop_lr": lambda: None,
    "diverged": lambda: False,
}
