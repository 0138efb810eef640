"""`LRFinder`: the learning-rate range test of Smith (2015), section 3.3."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_lr import _validation as check
from keras_lr import schedule_math, suggest
from keras_lr._io import print_msg
from keras_lr.callbacks import _optimizer, _state
from keras_lr.schedules import evaluate

__all__ = ["LRFinder", "RangeTestRun"]

RAMP_MODES = ("exponential", "linear")
_FIT_ARGS_SET_BY_FIND = ("epochs", "steps_per_epoch", "initial_epoch", "batch_size")
_STOP_REASONS = {
    "diverged": "the loss diverged",
    "nan": "the loss was not finite",
    "num_steps": "all {num_steps} steps ran",
    None: "training ended",
}


@dataclasses.dataclass
class RangeTestRun:
    """The curve recorded by one run of the range test (an item of `LRFinder.runs`).

    Attributes:
        steps: the ramp index `i` of each recorded step.
        lrs: the LR of each recorded step.
        losses: the smoothed loss of each recorded step.
        raw_losses: the true batch loss of each recorded step.
        stop_reason: `"diverged"`, `"nan"`, `"num_steps"`, or None when
            training ended otherwise.
        val_steps: the ramp steps after which the validation subset was
            scored (empty without `val_data`).
        val_lrs: the LR of those steps.
        val_losses: the validation loss after those steps.
    """

    steps: list[int]
    lrs: list[float]
    losses: list[float]
    raw_losses: list[float]
    stop_reason: str | None = None
    val_steps: list[int] = dataclasses.field(default_factory=list)
    val_lrs: list[float] = dataclasses.field(default_factory=list)
    val_losses: list[float] = dataclasses.field(default_factory=list)

    @property
    def diverged(self) -> bool:
        """Whether the run stopped because its loss diverged or was not finite."""
        return self.stop_reason in ("diverged", "nan")

    def curve(self, curve: str = "train") -> tuple[list[float], list[float]]:
        """`(lrs, losses)` of the training (smoothed) or validation curve."""
        if check.one_of("curve", curve, suggest.CURVES) == "val":
            return self.val_lrs, self.val_losses
        return self.lrs, self.losses

    def to_dict(self) -> dict[str, Any]:
        """The run as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RangeTestRun:
        """The run written by `to_dict()`."""
        return cls(
            steps=[int(v) for v in data["steps"]],
            lrs=[float(v) for v in data["lrs"]],
            losses=[float(v) for v in data["losses"]],
            raw_losses=[float(v) for v in data["raw_losses"]],
            stop_reason=data.get("stop_reason"),
            val_steps=[int(v) for v in data.get("val_steps", [])],
            val_lrs=[float(v) for v in data.get("val_lrs", [])],
            val_losses=[float(v) for v in data.get("val_losses", [])],
        )


class LRFinder(keras.callbacks.Callback):
    """The LR range test: grow the LR each step, record the loss, find the best LR.

    From Smith's "Cyclical Learning Rates for Training Neural Networks" (2015,
    section 3.3). Step `i` (from 0 to `num_steps - 1`) trains at

    ```
    exponential: lr_i = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))
    linear:      lr_i = start_lr + (end_lr - start_lr) * i / (num_steps - 1)
    ```
    so the first step uses `start_lr` and the last `end_lr`. The ramp is
    evaluated inside the compiled train step from the optimizer's step, so it
    is exact for every step, also with `steps_per_execution > 1`.

    For each recorded step the finder keeps the LR, the true loss of that batch
    (not the running mean of the epoch that Keras 3 puts in `logs["loss"]`)
    and a bias-corrected EMA of it:

    ```
    avg = beta * avg + (1 - beta) * loss
    smoothed = avg / (1 - beta ** n)      # n = points recorded so far
    ```

    It stops the run (`model.stop_training = True`) when the smoothed loss
    diverges, `smoothed - best > (stop_factor - 1) * |best|` (the classic
    `smoothed > 4 * best` for positive losses), when a loss is NaN or inf (that
    point is not recorded), or after `num_steps` steps, whatever the data
    length or the number of epochs asked for.

    With `restore=True` the model is put back at the end, in memory: every
    weight (BatchNorm statistics and seed generators included), every
    optimizer variable (its step, LR variable and slots, and a loss scale),
    and the optimizer's own LR or `LearningRateSchedule`, which the ramp only
    overrides while the test runs. The restored model is bit-identical to the
    model before the test. When used as a callback in your own `fit`, restoring
    happens in `on_train_end`, which Keras skips if `fit` raises; `find()`
    restores in a `finally` and is safe against errors and interrupts.

    With `steps_per_execution = k > 1`, Keras reports to callbacks once per
    execution, so one point is recorded per execution: the loss of its last
    batch, at the LR of that step. About `num_steps / k` points are recorded;
    the ramp itself still changes the LR at every step.

    **Several runs.** One range test is one noisy sample: the batches it
    happened to draw move the suggestion. With `num_runs = n > 1`, `find()`
    runs the test `n` times from the same model state, all on the same ramp,
    and puts the model back (bit for bit) between runs. Run `r` draws from
    `np.random.default_rng([seed, r])`: first, for array inputs, its data
    order (one permutation of the samples per pass over them, concatenated,
    cut to the `num_steps * batch_size` samples the run uses; `shuffle=False`
    keeps the given order), then a fresh seed for each seed generator of the
    model (Dropout and other random layers; the restore puts the model's own
    seeds back). Datasets, generators and loaders are iterated as given (a
    generator continues where the previous run stopped; a shuffling dataset
    or loader reshuffles). `runs` keeps each run's curve, and `lrs`,
    `losses`, `raw_losses` and `steps` hold their aggregate:

    ```
    losses[i] = mean of runs[r].losses at ramp step steps[i], over all runs
    ```
    Ramp step `i` has the same LR in every run, so the runs share one grid of
    log-LR points and are averaged point by point, with no interpolation.
    The mean (rather than the median) is the estimate of the expected
    smoothed loss at each LR; the smoothing (the EMA above) already damps the
    batch noise, and on the steps that every run reached the mean of the
    smoothed curves is the EMA of the mean batch loss. Runs that diverged
    stop at different steps: the mean curve ends where the first run
    stopped (past it, the mean would drop each time a diverging run left it,
    which the suggestion rules would read as a steep descent); the band of
    `plot()` still shows how far each run went. `suggestion()`,
    `suggest_range()` and `plot()` read the aggregate, and
    `suggestion_spread()` (`spread`, `reliable`) tells how much the per-run
    suggestions disagree. Used as a callback in your own `fit`, the finder
    runs once: `num_runs > 1` there raises an error.

    **A validation curve.** `find(..., val_data=..., val_every=k)` also
    scores a fixed held-out subset (at most `k` batches) after every `k`-th
    step, in inference mode, without touching the training state: the
    validation curve `val_lrs`, `val_losses`, which `suggestion(curve="val")`
    and `plot(curve="val")` read.

    Args:
        start_lr: the LR of the first step, `> 0`. Defaults to 1e-7.
        end_lr: the LR of the last step, `> start_lr`. Defaults to 10.
        num_steps: the number of steps of the ramp, `>= 2`. Defaults to 100.
        mode: `"exponential"` (log-spaced LRs, the usual choice) or
            `"linear"`. Defaults to `"exponential"`.
        beta: the EMA factor of the smoothed loss, in [0, 1). Defaults to 0.98.
        stop_factor: stop when the smoothed loss exceeds this many times the
            best (see above), `> 1`. Defaults to 4.
        restore: whether to put the model back afterwards (after the last
            run). Defaults to True.
        verbose: 0 is quiet; 1 shows Keras' progress bar in `find()` and a
            summary at the end. Defaults to 1.
        num_runs: how many times `find()` runs the test, `>= 1`. Defaults
            to 1, a single run.
        seed: the seed of the runs' data orders and random-layer seeds when
            `num_runs > 1`, an integer `>= 0`. Defaults to None: drawn from
            numpy's global generator (which `keras.utils.set_random_seed`
            seeds).

    Attributes:
        lrs: the LR of each recorded step.
        losses: the smoothed loss of each recorded step (with several runs,
            the mean over the runs, as above).
        raw_losses: the true batch loss of each recorded step (with several
            runs, the mean over the runs).
        steps: the ramp index `i` of each recorded step.
        best_lr: the LR of the lowest smoothed loss.
        best_loss: the lowest smoothed loss.
        diverged: whether the run stopped because the loss diverged or was
            not finite (with several runs: the run that stopped first).
        stop_reason: why the run (the run that stopped first) stopped.
        runs: a `RangeTestRun` per run, with its own curve.
        val_steps: the ramp steps after which the validation subset was
            scored, with `find(val_data=...)`.
        val_lrs: the LR of those steps.
        val_losses: the validation loss after those steps (with several
            runs, the mean over the runs, where every run has a point).
        val_every: the `val_every` of the last `find()`.

    Example:

    ```python
    finder = keras_lr.LRFinder(start_lr=1e-6, end_lr=1.0, num_steps=200)
    finder.find(model, x_train, y_train, batch_size=64)
    finder.plot()
    lr = finder.suggestion()           # "consensus", the default
    base_lr, max_lr = finder.suggest_range()

    # several runs, and the spread of their suggestions:
    finder = keras_lr.LRFinder(1e-6, 1.0, 200, num_runs=3, seed=0)
    finder.find(model, x_train, y_train, batch_size=64, val_data=(x_val, y_val))
    finder.suggestion(), finder.spread, finder.reliable
    finder.plot(curve="val")

    # or as a callback in your own fit:
    model.fit(dataset, epochs=5, callbacks=[finder])
    ```
    """

    def __init__(
        self,
        start_lr: float = 1e-7,
        end_lr: float = 10.0,
        num_steps: int = 100,
        *,
        mode: str = "exponential",
        beta: float = 0.98,
        stop_factor: float = 4.0,
        restore: bool = True,
        verbose: int = 1,
        num_runs: int = 1,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.start_lr = check.positive("start_lr", start_lr)
        self.end_lr = check.greater_than(
            "end_lr", end_lr, self.start_lr, f"start_lr ({self.start_lr:g})"
        )
        self.num_steps = check.integer("num_steps", num_steps, 2)
        self.mode = check.one_of("mode", mode, RAMP_MODES)
        self.beta = check.in_unit_interval("beta", beta, closed_low=True, closed_high=False)
        self.stop_factor = check.greater_than("stop_factor", stop_factor, 1.0)
        self.restore = bool(restore)
        self.verbose = verbose
        self.num_runs = check.integer("num_runs", num_runs, 1)
        self.seed = None if seed is None else check.integer("seed", seed, 0)
        self.runs: list[RangeTestRun] = []
        self.val_every = 1
        self._reset_results()
        self._active = False
        self._in_find = False
        self._val_batches: list[tuple[Any, Any, Any, int]] | None = None
        # While `find()` repeats the test: the state before the first run, and
        # the random generator of the current run.
        self._original: list[tuple[Any, np.ndarray]] | None = None
        self._run_rng: np.random.Generator | None = None

    # ------------------------------------------------------------------ ramp
    def ramp(self, step: Any) -> Any:
        """The LR of ramp step `step` (a tensor or array), via `schedule_math`."""
        return schedule_math.range_test_ramp(
            step, self.start_lr, self.end_lr, self.num_steps, self.mode
        )

    # -------------------------------------------------------- callback hooks
    def _reset_results(self) -> None:
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.raw_losses: list[float] = []
        self.steps: list[int] = []
        self.best_lr: float | None = None
        self.best_loss: float = math.inf
        self.diverged = False
        self.stop_reason: str | None = None
        self.val_steps: list[int] = []
        self.val_lrs: list[float] = []
        self.val_losses: list[float] = []
        self._avg = 0.0
        self._last_val_step: int | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.num_runs > 1 and not self._in_find:
            check.fail(
                "num_runs",
                "1 when the finder is a callback in your own `fit`: one `fit` cannot "
                "repeat the range test. Use `finder.find(model, x, y, ...)` to run it "
                "several times",
                self.num_runs,
            )
        model = self.model
        optimizer = _optimizer.model_optimizer(model, self)
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        self._reset_results()
        if self._run_rng is None:
            self.runs = []
            self._saved = _state.snapshot(model) if self.restore else None
        else:  # find() repeats the test: it restores; this run gets its own seeds.
            if self._original is None:
                self._original = _state.snapshot(model)
            self._saved = None
            _reseed(model, self._run_rng)
        self._start_step = _optimizer.iterations(optimizer)
        self._ramp_values = evaluate(self.ramp, np.arange(self.num_steps))
        self._tracker = _track_batch_loss(model)
        start = float(self._start_step)
        _optimizer.install(model, lambda t: schedule_math.shift(t, self.ramp, start), owner=self)
        self._active = True

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_first_step = _optimizer.iterations(self.model.optimizer) - self._start_step

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if not self._active or self.stop_reason is not None:
            return
        if not logs or "loss" not in logs:
            raise ValueError(
                "LRFinder needs the training loss in the batch logs (`logs['loss']`), but "
                f"the model's train step reported only {sorted(logs or {})}."
            )
        step = self._epoch_first_step + _optimizer.last_step_of_batch(self.model, batch)
        self._record(step, float(logs["loss"]))
        if self._val_batches is not None and self.steps and self.steps[-1] == step:
            if self._last_val_step is None or step - self._last_val_step >= self.val_every:
                self._record_val(step)
        if self.stop_reason is None and step >= self.num_steps - 1:
            self.stop_reason = "num_steps"
        if self.stop_reason is not None:
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        # Keras numbers a last, partial execution as if it were full: the last
        # point belongs to the last step that actually ran.
        if self._active and self.steps:
            last = _optimizer.iterations(self.model.optimizer) - self._start_step - 1
            if 0 <= last < self.steps[-1]:
                if self.val_steps and self.val_steps[-1] == self.steps[-1]:
                    self.val_steps[-1] = last
                    self.val_lrs[-1] = float(self._ramp_values[min(last, self.num_steps - 1)])
                self.steps[-1] = last
                self.lrs[-1] = float(self._ramp_values[min(last, self.num_steps - 1)])
                if self.best_lr is not None and self.losses[-1] == self.best_loss:
                    self.best_lr = self.lrs[-1]

    def on_train_end(self, logs: dict | None = None) -> None:
        self._finish()

    def _record(self, step: int, loss: float) -> None:
        if not math.isfinite(loss):
            self.diverged = True
            self.stop_reason = "nan"
            return
        n = len(self.raw_losses) + 1
        self._avg = self.beta * self._avg + (1.0 - self.beta) * loss
        smoothed = self._avg / (1.0 - self.beta**n)
        lr = float(self._ramp_values[min(step, self.num_steps - 1)])
        self.steps.append(int(step))
        self.lrs.append(lr)
        self.raw_losses.append(loss)
        self.losses.append(smoothed)
        if n > 1 and smoothed - self.best_loss > (self.stop_factor - 1.0) * abs(self.best_loss):
            self.diverged = True
            self.stop_reason = "diverged"
        if smoothed < self.best_loss:
            self.best_loss, self.best_lr = smoothed, lr

    def _record_val(self, step: int) -> None:
        """Scores the validation subset after `step`; a non-finite loss is not recorded."""
        self._last_val_step = step
        model = self.model  # On JAX, reading `self.model` syncs the training state.
        # Keras resets the metrics in `test_on_batch`, so the loss needs no
        # per-batch tracking there, and the test step is traced without it.
        _untrack_batch_loss(model, self._tracker)
        try:
            loss = _validation_loss(model, self._val_batches)
        finally:
            self._tracker = _track_batch_loss(model)
        if math.isfinite(loss):
            self.val_steps.append(int(step))
            self.val_lrs.append(self.lrs[-1])
            self.val_losses.append(loss)

    def _finish(self) -> None:
        """Puts the model back (idempotent): loss tracker, LR, and with `restore`, state."""
        if not self._active:
            return
        self._active = False
        model = self.model
        _untrack_batch_loss(model, self._tracker)
        _optimizer.uninstall(model, owner=self, keep_last_lr=False)
        if self._saved is not None:
            _state.restore(self._saved)
            self._saved = None
        self.runs.append(
            RangeTestRun(
                steps=list(self.steps),
                lrs=list(self.lrs),
                losses=list(self.losses),
                raw_losses=list(self.raw_losses),
                stop_reason=self.stop_reason,
                val_steps=list(self.val_steps),
                val_lrs=list(self.val_lrs),
                val_losses=list(self.val_losses),
            )
        )
        if self.verbose and self._run_rng is None:
            print_msg(self._summary())

    def _aggregate(self) -> None:
        """Sets the finder's curves to the mean over `runs` (see the class docstring)."""
        runs = self.runs
        lr_of_step = {
            s: lr for run in runs for s, lr in zip(run.steps + run.val_steps, run.lrs + run.val_lrs)
        }
        steps, losses = suggest.mean_over_runs([r.steps for r in runs], [r.losses for r in runs])
        _, raw_losses = suggest.mean_over_runs(
            [r.steps for r in runs], [r.raw_losses for r in runs]
        )
        val_steps, val_losses = suggest.mean_over_runs(
            [r.val_steps for r in runs], [r.val_losses for r in runs]
        )
        self.steps = [int(s) for s in steps]
        self.lrs = [lr_of_step[s] for s in self.steps]
        self.losses = losses.tolist()
        self.raw_losses = raw_losses.tolist()
        self.val_steps = [int(s) for s in val_steps]
        self.val_lrs = [lr_of_step[s] for s in self.val_steps]
        self.val_losses = val_losses.tolist()
        first = min(runs, key=lambda run: run.steps[-1] if run.steps else -1)
        self.stop_reason = first.stop_reason
        self.diverged = first.diverged
        self.best_lr, self.best_loss = None, math.inf
        if self.losses:
            best = int(np.argmin(self.losses))
            self.best_lr, self.best_loss = self.lrs[best], self.losses[best]

    def _summary(self) -> str:
        stop = _STOP_REASONS[self.stop_reason].format(num_steps=self.num_steps)
        if len(self.runs) > 1:
            lengths = ", ".join(str(len(run.lrs)) for run in self.runs)
            text = (
                f"LRFinder: {len(self.runs)} runs of {lengths} points, mean curve of "
                f"{len(self.lrs)} points (up to where the first run stopped, because {stop})"
            )
        else:
            text = f"LRFinder: {len(self.lrs)} points, stopped because {stop}"
        if self.best_lr is not None:
            text += f"; lowest smoothed loss {self.best_loss:.4g} at lr={self.best_lr:.3g}"
            try:
                text += f"; suggested lr ({suggest.DEFAULT_METHOD}): {self.suggestion():.3g}"
            except ValueError:
                pass
        if len(self.runs) > 1:
            try:
                spread, verdict = self.spread, "reliable" if self.reliable else "unreliable"
            except ValueError:
                pass
            else:
                text += f", spread over the runs {spread:.2f} decades ({verdict})"
        return text + "."

    # ------------------------------------------------------------ find()
    def find(
        self,
        model: keras.Model,
        x: Any,
        y: Any = None,
        *,
        batch_size: int | None = None,
        num_steps: int | None = None,
        val_data: Any = None,
        val_every: int = 1,
        **fit_kwargs: Any,
    ) -> LRFinder:
        """Runs the range test on `model` for exactly `num_steps` steps (`num_runs` times).

        The data is repeated as needed, whatever its length. The model is
        restored (with `restore=True`) in a `finally`, so it is intact after an
        error or a `KeyboardInterrupt`. With `num_runs > 1` the test runs
        several times, the model is restored between the runs, and the
        finder's curves are the mean over the runs (see the class docstring).

        With `val_data`, a fixed subset of it, at most `val_every` batches
        (the first ones), is taken once, before the test, and scored after
        every `val_every`-th step: at ramp steps `0, val_every,
        2 * val_every, ...` (with `steps_per_execution > 1`, at the first
        recorded step at least `val_every` steps after the last scored one).
        So validation costs at most one batch of inference per training step
        on average: with `val_every=1`, one batch after every step; with
        `val_every=10`, 10 batches after every 10th step. It is scored with
        the model's compiled loss (and its regularization losses) by
        `model.test_on_batch`, in inference mode: Dropout is off, BatchNorm
        uses its moving statistics, no weight or optimizer variable changes,
        and the model's metrics are put back afterwards. The validation loss
        is the mean over the subset's samples (each batch weighted by its
        size), as `model.evaluate` on the subset reports it; it is not
        smoothed (the subset is the same every time, so it carries no batch
        noise). A non-finite validation loss is not recorded.

        `val_data` and `val_every` belong to `find()` rather than to the
        constructor: like `x`, the data is not part of the finder's config
        (`get_config()`, `save()`), and array inputs are batched with this
        call's `batch_size`.

        Args:
            model: a compiled Keras model.
            x: numpy arrays (or a dict/list of them), a `tf.data.Dataset` (of
                any cardinality), a Python generator or iterator of batches, a
                `keras.utils.PyDataset`, or a torch `DataLoader` (torch
                backend).
            y: targets, with array inputs.
            batch_size: the batch size, with array inputs (also of array
                `val_data`). Defaults to 32.
            num_steps: overrides the finder's `num_steps` for this run.
            val_data: held-out data to score during the test: a tuple
                `(x_val, y_val)` or `(x_val, y_val, sample_weight)` of arrays,
                batched with `batch_size`, or a `tf.data.Dataset`, generator,
                `keras.utils.PyDataset`, torch `DataLoader` or other iterable
                of batches. Defaults to None: no validation curve.
            val_every: score the validation subset after every `val_every`-th
                step; the subset holds at most `val_every` batches. An integer
                `>= 1`. Defaults to 1.
            **fit_kwargs: passed on to `model.fit` (for example
                `sample_weight`, `class_weight`, `callbacks`, `shuffle`).

        Returns:
            The finder itself, for chaining: `finder.find(...).plot()`.
        """
        if num_steps is not None:
            self.num_steps = check.integer("num_steps", num_steps, 2)
        val_every = check.integer("val_every", val_every, 1)
        for name in _FIT_ARGS_SET_BY_FIND:
            if name in fit_kwargs:
                raise ValueError(
                    f"Argument `{name}` is set by `LRFinder.find()` and cannot be passed. "
                    f"Received: {name}={fit_kwargs[name]!r}"
                )
        if getattr(model, "optimizer", None) is None:
            _optimizer.model_optimizer(model, self)
        callbacks = [self] + list(fit_kwargs.pop("callbacks", None) or [])
        fit_kwargs.setdefault("verbose", 1 if self.verbose else 0)
        data_args = _data_for(model, x, y, batch_size, self.num_steps)
        val_batches = (
            None if val_data is None else _validation_batches(val_data, batch_size, val_every)
        )
        self.val_every = val_every
        self._val_batches = val_batches
        self._in_find = True
        try:
            if self.num_runs == 1:
                self._fit_once(model, callbacks, {**data_args, **fit_kwargs})
            else:
                self._find_runs(model, x, y, data_args, callbacks, fit_kwargs)
        finally:
            self._in_find = False
            self._val_batches = None
        return self

    def _fit_once(self, model: keras.Model, callbacks: list[Any], fit_args: dict[str, Any]) -> None:
        """One `fit` of the range test; the model is put back in a `finally`."""
        try:
            model.fit(callbacks=callbacks, **fit_args)
        finally:
            if self.model is None:
                self.set_model(model)
            self._finish()

    def _find_runs(
        self,
        model: keras.Model,
        x: Any,
        y: Any,
        data_args: dict[str, Any],
        callbacks: list[Any],
        fit_kwargs: dict[str, Any],
    ) -> None:
        """`find()` with `num_runs > 1`: the runs, the restores between them, the aggregate."""
        base_seed = self.seed if self.seed is not None else int(np.random.randint(0, 2**31 - 1))
        fit_kwargs = dict(fit_kwargs)
        arrays = "batch_size" in data_args
        if arrays:
            shuffle = bool(fit_kwargs.pop("shuffle", True))
            sample_weight = fit_kwargs.pop("sample_weight", None)
        self.runs = []
        self._original = None
        try:
            for run in range(self.num_runs):
                self._run_rng = np.random.default_rng([base_seed, run])
                if self._original is not None:
                    _state.restore(self._original)
                if arrays:
                    run_args = _run_arrays(
                        x,
                        y,
                        sample_weight,
                        data_args["batch_size"],
                        self.num_steps,
                        self._run_rng,
                        shuffle,
                    )
                else:
                    run_args = data_args
                self._fit_once(model, callbacks, {**run_args, **fit_kwargs})
        finally:
            if self._original is not None and self.restore:
                _state.restore(self._original)
            self._original = None
            self._run_rng = None
            if self.runs:
                self._aggregate()
        if self.verbose:
            print_msg(self._summary())

    # ------------------------------------------------------------ results
    def _curve(self, curve: str) -> tuple[np.ndarray, np.ndarray]:
        curve = check.one_of("curve", curve, suggest.CURVES)
        if curve == "val":
            if not self.val_lrs:
                raise ValueError(
                    "The finder has no validation curve. Pass `val_data=` to "
                    "`finder.find(...)` to record one, or use curve='train'."
                )
            return np.asarray(self.val_lrs, dtype="float64"), np.asarray(
                self.val_losses, dtype="float64"
            )
        return np.asarray(self.lrs, dtype="float64"), np.asarray(self.losses, dtype="float64")

    def _suggest(
        self, lrs: Sequence[float], losses: Sequence[float], method: str, curve: str
    ) -> float:
        """`suggest.suggest` on a curve, with the skips of its spacing (see `suggestion`)."""
        every = self.val_every if curve == "val" else 1
        skip_start, skip_end = suggest.scaled_skips(every)
        try:
            return suggest.suggest(lrs, losses, method, skip_start=skip_start, skip_end=skip_end)
        except suggest.TooFewPointsError as error:
            if curve != "val":
                raise
            raise suggest.TooFewPointsError(
                f"{error} The validation curve has a point every {every} steps: "
                "a smaller `val_every` in `find()` gives it more."
            ) from error

    def suggestion(self, method: str = suggest.DEFAULT_METHOD, *, curve: str = "train") -> float:
        """A suggested learning rate, computed from the recorded curve (no plot needed).

        Args:
            method: `"consensus"` (the default): the geometric mean of the three
                rules below, which trained best and varied least across seeds
                in BENCHMARKS.md; `"valley"`: the middle of the longest
                descending stretch of the smoothed loss, as fastai's default;
                `"steepest"`: the most negative slope of the smoothed loss
                against log(lr), after skipping the noisy first 10 and last 5
                points; `"minimum"`: the LR of the lowest smoothed loss divided
                by 10.
            curve: `"train"` (the default): the smoothed training loss, with
                a point at every step, the curve the rules were tuned on;
                `"val"`: the validation loss recorded with
                `find(val_data=...)`. It has a point every `val_every` steps,
                so `"steepest"` skips the same LR span there:
                `ceil(10 / val_every)` and `ceil(5 / val_every)` points
                (`keras_lr.suggest.scaled_skips`).

        Returns:
            The suggested learning rate.

        Raises:
            ValueError: for an unknown method or curve, for `curve="val"`
                without a validation curve, or when too few points were
                recorded (`keras_lr.suggest.TooFewPointsError`).
        """
        return self._suggest(*self._curve(curve), method, curve)

    def suggest_range(self, *, curve: str = "train") -> tuple[float, float]:
        """`(base_lr, max_lr)` for `CyclicLR`, as Smith reads the range test.

        `base_lr` is where the smoothed loss starts to fall (10% of its total
        drop), `max_lr` is just before it stops falling (90% of the drop, before
        the minimum).

        Args:
            curve: `"train"` (the default) or `"val"`, as in `suggestion()`.

        Returns:
            A `(base_lr, max_lr)` tuple.
        """
        return suggest.suggest_range(*self._curve(curve))

    def suggestion_spread(
        self, method: str = suggest.DEFAULT_METHOD, *, curve: str = "train"
    ) -> float:
        """How much the runs disagree: the spread of their suggestions, in decades.

        `log10(max / min)` of the suggestions of `method` on each run's own
        curve (`keras_lr.suggest.spread`). Below 0.5 decades
        (`keras_lr.suggest.RELIABLE_SPREAD`, a factor of about 3.2) the
        suggestion is `reliable`.

        Args:
            method: the suggestion rule, as in `suggestion()`. Defaults to
                `"consensus"`.
            curve: `"train"` (the default) or `"val"`, as in `suggestion()`.

        Returns:
            The spread in decades, `>= 0`.

        Raises:
            ValueError: with fewer than 2 runs, or when a run recorded too few
                points for `method`.
        """
        if len(self.runs) < 2:
            raise ValueError(
                f"The spread of the suggestion needs several runs, and the finder has "
                f"{len(self.runs)}. Use `LRFinder(num_runs=3)` (or more) and `find()`."
            )
        check.one_of("curve", curve, suggest.CURVES)
        picks = []
        for index, run in enumerate(self.runs):
            try:
                picks.append(self._suggest(*run.curve(curve), method, curve))
            except suggest.TooFewPointsError as error:
                raise suggest.TooFewPointsError(f"Run {index}: {error}") from error
        return suggest.spread(picks)

    @property
    def spread(self) -> float:
        """`suggestion_spread()` of the default method on the training curve, in decades."""
        return self.suggestion_spread()

    @property
    def reliable(self) -> bool:
        """Whether the runs agree: `spread < keras_lr.suggest.RELIABLE_SPREAD` (0.5 decades)."""
        return self.spread < suggest.RELIABLE_SPREAD

    def get_config(self) -> dict[str, Any]:
        return {
            "start_lr": self.start_lr,
            "end_lr": self.end_lr,
            "num_steps": self.num_steps,
            "mode": self.mode,
            "beta": self.beta,
            "stop_factor": self.stop_factor,
            "restore": self.restore,
            "verbose": self.verbose,
            "num_runs": self.num_runs,
            "seed": self.seed,
        }

    def save(self, path: str | os.PathLike) -> None:
        """Writes the configuration and the recorded curves to a JSON file.

        The file holds the (aggregated) curve, each run's curve under `"runs"`,
        and the validation curve with its `val_every`.

        Args:
            path: the file to write.
        """
        result = {
            "config": self.get_config(),
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
        with open(path, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LRFinder:
        """Reads a finder written by `save()`, ready to plot and suggest.

        A file without `"runs"` (written before there were several) is read as
        a single run.

        Args:
            path: the JSON file.

        Returns:
            A new `LRFinder` holding the saved curves.
        """
        with open(path, encoding="utf-8") as f:
            result = json.load(f)
        finder = cls(**result["config"])
        finder.steps = [int(s) for s in result["steps"]]
        finder.lrs = [float(v) for v in result["lrs"]]
        finder.losses = [float(v) for v in result["losses"]]
        finder.raw_losses = [float(v) for v in result["raw_losses"]]
        finder.best_lr = result["best_lr"]
        finder.best_loss = math.inf if result["best_loss"] is None else float(result["best_loss"])
        finder.diverged = bool(result["diverged"])
        finder.stop_reason = result.get("stop_reason")
        finder.val_every = int(result.get("val_every", 1))
        finder.val_steps = [int(s) for s in result.get("val_steps", [])]
        finder.val_lrs = [float(v) for v in result.get("val_lrs", [])]
        finder.val_losses = [float(v) for v in result.get("val_losses", [])]
        if "runs" in result:
            finder.runs = [RangeTestRun.from_dict(run) for run in result["runs"]]
        else:
            finder.runs = [
                RangeTestRun(
                    list(finder.steps),
                    list(finder.lrs),
                    list(finder.losses),
                    list(finder.raw_losses),
                    finder.stop_reason,
                )
            ]
        return finder

    # ------------------------------------------------------------ plots
    def plot(
        self,
        ax: Any = None,
        *,
        skip_start: int = suggest.SKIP_START,
        skip_end: int = suggest.SKIP_END,
        suggestion: str | None = suggest.DEFAULT_METHOD,
        show_raw: bool = False,
        curve: str = "train",
    ) -> Any:
        """Plots the smoothed loss against the LR (log axis), marking a suggestion.

        With several runs, a band shows the lowest and highest smoothed loss
        of the runs at each LR around the mean curve; with a validation curve,
        it is drawn too.

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
        """
        from keras_lr import plotting

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
        """Plots the rate of change of the loss against the LR (seed 000's view).

        The change per step is smoothed by a simple moving window of `sma`
        steps: `(loss[i] - loss[i - sma]) / sma`, over the raw batch losses.
        Its minimum is where the loss falls fastest.

        Args:
            sma: the moving window, `>= 1`. Defaults to 1.
            ax: a matplotlib Axes to draw on; a new figure when None.
            skip_start: points left out at the start. Defaults to 10.
            skip_end: points left out at the end. Defaults to 5.
            y_lim: optional y-axis limits.

        Returns:
            The matplotlib Axes.
        """
        from keras_lr import plotting

        return plotting.plot_loss_change(
            self, sma=sma, ax=ax, skip_start=skip_start, skip_end=skip_end, y_lim=y_lim
        )


# ---------------------------------------------------------------- batch loss
def _track_batch_loss(model: Any) -> Any:
    """Makes `logs["loss"]` the loss of the last batch instead of the epoch mean.

    Keras 3 reports the running mean since the start of the epoch. For the
    length of the test, the model's loss tracker is reset before each update,
    inside the train step, so it holds the mean of one batch. Nothing else
    changes: no variable is added, so the training state layout is the same.
    """
    tracker = getattr(model, "_loss_tracker", None)
    if tracker is None:
        return None
    update_state = type(tracker).update_state

    def update_batch_only(*args: Any, **kwargs: Any) -> Any:
        for variable in tracker.variables:
            variable.assign(keras.ops.zeros(variable.shape, dtype=variable.dtype))
        return update_state(tracker, *args, **kwargs)

    object.__setattr__(tracker, "update_state", update_batch_only)
    return tracker


def _untrack_batch_loss(model: Any, tracker: Any) -> None:
    if tracker is not None:
        tracker.__dict__.pop("update_state", None)


# ---------------------------------------------------------------- data
def _is_array_like(x: Any) -> bool:
    if isinstance(x, np.ndarray) or hasattr(x, "__array__") and hasattr(x, "shape"):
        return True
    if isinstance(x, dict):
        return all(_is_array_like(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return bool(x) and all(_is_array_like(v) for v in x)
    return False


def _first_length(x: Any) -> int:
    if isinstance(x, dict):
        return _first_length(next(iter(x.values())))
    if isinstance(x, (list, tuple)):
        return _first_length(x[0])
    return int(x.shape[0])


def _as_batch(batch: Any) -> Any:
    """Keras wants `(x, y)` tuples from a generator; loaders often yield `[x, y]` lists."""
    return tuple(batch) if isinstance(batch, list) else batch


def _cycle_cached(batches: Iterable[Any]) -> Iterator[Any]:
    """Yields from `batches`, then cycles over what it yielded, forever."""
    cache = []
    for batch in batches:
        batch = _as_batch(batch)
        cache.append(batch)
        yield batch
    if not cache:
        raise ValueError("Argument `x` yielded no batch. Received an empty generator.")
    yield from itertools.cycle(cache)


def _cycle_reiterable(data: Any) -> Iterator[Any]:
    """Iterates a re-iterable (DataLoader, PyDataset) again and again."""
    while True:
        if isinstance(data, keras.utils.PyDataset):
            batches = (data[i] for i in range(len(data)))
        else:
            batches = iter(data)
        empty = True
        for batch in batches:
            empty = False
            yield _as_batch(batch)
        if empty:
            raise ValueError(f"Argument `x` yielded no batch. Received: x={data!r}")
        if isinstance(data, keras.utils.PyDataset):
            data.on_epoch_end()


def _data_for(model: Any, x: Any, y: Any, batch_size: int | None, num_steps: int) -> dict[str, Any]:
    """`fit` arguments that run at least `num_steps` steps over `x`."""
    if _is_array_like(x):
        batch_size = check.integer("batch_size", batch_size or 32, 1)
        batches = math.ceil(_first_length(x) / batch_size)
        return {"x": x, "y": y, "batch_size": batch_size, "epochs": math.ceil(num_steps / batches)}
    if y is not None:
        raise ValueError(
            "Argument `y` must be None when `x` is a dataset, generator or loader "
            f"(the targets come from `x`). Received: y={type(y).__name__}"
        )
    if batch_size is not None:
        raise ValueError(
            "Argument `batch_size` must be None when `x` is a dataset, generator or loader "
            f"(it already yields batches). Received: batch_size={batch_size}"
        )
    if hasattr(x, "repeat") and hasattr(x, "element_spec"):  # tf.data.Dataset
        data = x.repeat()
    elif isinstance(x, keras.utils.PyDataset) or _is_torch_loader(x):
        data = _cycle_reiterable(x)
    elif isinstance(x, Iterator):
        data = _cycle_cached(x)
    elif isinstance(x, Iterable):
        data = _cycle_reiterable(x)
    else:
        raise ValueError(
            "Argument `x` must be numpy arrays, a tf.data.Dataset, a generator, a "
            f"keras.utils.PyDataset or a torch DataLoader. Received: x={type(x).__name__}"
        )
    steps = num_steps + model.steps_per_execution - 1
    return {"x": data, "steps_per_epoch": steps - steps % model.steps_per_execution, "epochs": 1}


def _is_torch_loader(x: Any) -> bool:
    return type(x).__module__.startswith("torch.utils.data")


# ---------------------------------------------------------------- several runs
def _reseed(model: Any, rng: np.random.Generator) -> None:
    """Gives each seed generator of `model` (Dropout, noise layers) a seed drawn from `rng`.

    A Keras `SeedGenerator` keeps `[seed, counter]` in a variable named
    `seed_generator_state`: the seed is replaced, the counter kept. The
    finder's snapshot holds the model's own seeds, and puts them back.
    """
    for variable in model.non_trainable_variables:
        if variable.name == "seed_generator_state" and tuple(variable.shape) == (2,):
            state = np.array(ops.convert_to_numpy(variable), copy=True)
            state[0] = rng.integers(1, 2**31 - 1)
            variable.assign(state)


def _take(data: Any, order: np.ndarray) -> Any:
    """`data` (an array, or a dict/list/tuple of them, or None) at the indices `order`."""
    if data is None:
        return None
    if isinstance(data, dict):
        return {key: _take(value, order) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(_take(value, order) for value in data)
    return np.asarray(data)[order]


def _run_arrays(
    x: Any,
    y: Any,
    sample_weight: Any,
    batch_size: int,
    num_steps: int,
    rng: np.random.Generator,
    shuffle: bool,
) -> dict[str, Any]:
    """`fit` arguments of one run over arrays: exactly `num_steps` batches in the run's order.

    The order is one permutation of the samples per pass over them (drawn from
    `rng`), concatenated and cut to `num_steps * batch_size` samples; without
    `shuffle`, the samples in their order, repeated.
    """
    samples = _first_length(x)
    needed = num_steps * batch_size
    passes = math.ceil(needed / samples)
    if shuffle:
        order = np.concatenate([rng.permutation(samples) for _ in range(passes)])[:needed]
    else:
        order = np.tile(np.arange(samples), passes)[:needed]
    args = {"x": _take(x, order), "y": _take(y, order), "batch_size": batch_size}
    if sample_weight is not None:
        args["sample_weight"] = _take(sample_weight, order)
    return {**args, "epochs": 1, "shuffle": False}


# ---------------------------------------------------------------- validation
_VAL_DATA_KINDS = (
    "a tuple `(x, y)` or `(x, y, sample_weight)` of arrays, a tf.data.Dataset, a "
    "generator, a keras.utils.PyDataset, a torch DataLoader or another iterable of batches"
)


def _validation_batches(
    val_data: Any, batch_size: int | None, limit: int
) -> list[tuple[Any, Any, Any, int]]:
    """The fixed validation subset: at most `limit` batches `(x, y, sample_weight, size)`."""
    if isinstance(val_data, tuple):
        if len(val_data) not in (2, 3) or not _is_array_like(val_data[0]):
            _fail_val_data(_VAL_DATA_KINDS, val_data)
        arrays = [a for a in val_data if a is not None]
        if not all(_is_array_like(a) for a in arrays):
            _fail_val_data(_VAL_DATA_KINDS, val_data)
        lengths = {_first_length(a) for a in arrays}
        if len(lengths) != 1 or 0 in lengths:
            _fail_val_data("arrays of one non-zero length (samples)", val_data)
        size = check.integer("batch_size", batch_size or 32, 1)
        count = min(limit, math.ceil(lengths.pop() / size))
        batches = [
            _take(val_data, np.arange(i * size, min((i + 1) * size, _first_length(val_data[0]))))
            for i in range(count)
        ]
    elif _is_array_like(val_data) or isinstance(val_data, (str, bytes, dict)):
        _fail_val_data(_VAL_DATA_KINDS, val_data)
    elif hasattr(val_data, "take") and hasattr(val_data, "element_spec"):  # tf.data.Dataset
        batches = list(val_data.take(limit).as_numpy_iterator())
    elif isinstance(val_data, keras.utils.PyDataset):
        batches = [val_data[i] for i in range(min(limit, len(val_data)))]
    elif isinstance(val_data, Iterable):
        batches = list(itertools.islice(iter(val_data), limit))
    else:
        _fail_val_data(_VAL_DATA_KINDS, val_data)
    if not batches:
        _fail_val_data("data that yields at least one batch", val_data)
    subset = []
    for batch in batches:
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(_as_batch(batch))
        subset.append((x, y, sample_weight, _first_length(x)))
    return subset


def _fail_val_data(requirement: str, val_data: Any) -> None:
    """A Keras-style error that describes `val_data` (its types and shapes, not its values)."""
    raise ValueError(
        f"Argument `val_data` must be {requirement}. Received: val_data={_describe(val_data)}"
    )


def _describe(data: Any) -> str:
    """A short description of `data` for an error message (not its whole content)."""
    if isinstance(data, (tuple, list)):
        inner = ", ".join(_describe(item) for item in data)
        return f"{type(data).__name__}({inner})"
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        return f"{type(data).__name__}(shape={tuple(data.shape)})"
    if isinstance(data, (str, bytes, int, float, type(None))):
        return repr(data)
    return type(data).__name__


def _validation_loss(model: Any, batches: list[tuple[Any, Any, Any, int]]) -> float:
    """The compiled loss over `batches` in inference mode, weighted by batch size.

    `model.test_on_batch` runs the model's compiled test step (traced once on
    TensorFlow and JAX). It resets and updates the model's metrics, so their
    values are put back afterwards; it changes no weight and no optimizer
    variable.
    """
    metrics = [(v, np.array(ops.convert_to_numpy(v), copy=True)) for v in model.metrics_variables]
    total, samples = 0.0, 0
    try:
        for x, y, sample_weight, size in batches:
            model.reset_metrics()  # test_on_batch resets them itself only from Keras 3.15
            logs = model.test_on_batch(x, y, sample_weight, return_dict=True)
            total += float(logs["loss"]) * size
            samples += size
    finally:
        _state.restore(metrics)
    return total / samples
