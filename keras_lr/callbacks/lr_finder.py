"""`LRFinder`: the learning-rate range test of Smith (2015), section 3.3.

The callback runs the ramp and records the curve; `keras_lr.RangeTest`
(`keras_lr/core/result.py`) reads it; `keras_lr/callbacks/data_adapter.py`
checks the user's data and turns it into `fit` arguments.
"""

from __future__ import annotations

import math
import os
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_lr import _keras, schedule_math
from keras_lr import _validation as check
from keras_lr._io import print_msg
from keras_lr.callbacks import _control, _state, data_adapter
from keras_lr.core.ramp import RampConfig, check_finder_options
from keras_lr.core.result import EMPTY_RECORD, RESULT_NAMES, RangeTest, RangeTestRun
from keras_lr.core.trials import TrialsResult
from keras_lr.schedules import evaluate

__all__ = ["LRFinder", "NoResultError", "RangeTestRun"]

_FIT_ARGS_SET_BY_FIND = ("epochs", "steps_per_epoch", "initial_epoch", "batch_size")


class _ShiftedRamp(keras.optimizers.schedules.LearningRateSchedule):
    """The finder's ramp from optimizer step `start` on (`schedule_math.shift`).

    A `LearningRateSchedule`, so that host-side tables evaluate it on integer
    steps (exact past 2**24, like the traced step). Never serialized.
    """

    def __init__(self, finder: LRFinder, start: float) -> None:
        self.finder, self.start = finder, start

    def __call__(self, step: Any) -> Any:
        return schedule_math.shift(step, self.finder.ramp, self.start)

    def get_config(self) -> dict[str, Any]:
        return {"start": self.start}


class NoResultError(ValueError, AttributeError):
    """A result attribute of an `LRFinder` that has not run (a `ValueError`).

    Also an `AttributeError`, so that `hasattr(finder, "lrs")` is False and
    `getattr(finder, "lrs", [])` gives the default before a test.
    """


class LRFinder(keras.callbacks.Callback):
    """The LR range test: raise the LR every step, record the loss, suggest an LR.

    The test of Smith, "Cyclical Learning Rates for Training Neural Networks"
    (2015, section 3.3). Step `i` (from 0 to `num_steps - 1`) trains at

    ```
    exponential: lr_i = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))
    linear:      lr_i = start_lr + (end_lr - start_lr) * i / (num_steps - 1)
    ```
    evaluated inside the compiled train step from the optimizer's step, so
    exact at every step. For each recorded step the finder keeps the LR, the
    true loss of that batch and its bias-corrected EMA (`beta`). A run stops
    when the smoothed loss diverges (`stop_factor`), when a loss is not
    finite, or after `num_steps` steps. `find()` runs the test `num_runs`
    times and, with `restore=True`, puts the model back bit for bit on every
    exit path; the finder is also a callback for your own `fit` (one run).
    The result is a `keras_lr.RangeTest` (`finder.result`): the curves, the
    diagnosis, `suggestion()`, `suggest_range()`, `plot()` and `save()`,
    which the finder offers too. How the test works, how to read it, and what
    to do when it cannot tell: [the range-test guide](../guide/finder.md).

    Args:
        start_lr: the LR of the first step, `> 0`. Defaults to 1e-7.
        end_lr: the LR of the last step, `> start_lr`. Defaults to 10.
        num_steps: the number of steps of the ramp, `>= 2`. Defaults to 100.
        mode: `"exponential"` (log-spaced LRs, the usual choice) or
            `"linear"`. Defaults to `"exponential"`.
        beta: the EMA factor of the smoothed loss, in [0, 1). Defaults to 0.98.
        stop_factor: a run stops when the smoothed loss exceeds the best so
            far by `(stop_factor - 1) * |best|` (`smoothed > 4 * best` for a
            positive loss and the default), `> 1`. Defaults to 4.
        restore: whether to put the model back afterwards (after the last
            run). Defaults to True.
        verbose: 0 is quiet; 1 shows one progress bar over the test's steps
            (one per run), then one line: why it stopped, the suggestion, and
            whether it is reliable; 2 prints the bar's last state as one line
            (for logs), then that line. Defaults to 1.
        num_runs: how many times `find()` runs the test, `>= 1`. Defaults
            to 1, a single run.
        seed: the seed of the runs' data orders and random-layer seeds when
            `num_runs > 1`, an integer `>= 0`. Defaults to None: drawn from
            numpy's global generator (which `keras.utils.set_random_seed`
            seeds).

    Raises:
        ValueError: for an argument out of its range; and when training
            starts, for `num_runs > 1` in your own `fit`, gradient
            accumulation or a `MultiOptimizer`, or (on the first batches) a
            `train_step` that reports a running-mean loss of its own rather
            than the loss of each batch.

    Attributes:
        result: the `keras_lr.RangeTest` of the last test (None before one).
        diagnosis: `result.diagnosis`: did the loss fall beyond its noise,
            did it diverge and where, how many points informed the
            suggestion, is it reliable.
        lrs: the LR of each recorded step.
        losses: the smoothed loss of each recorded step (with several runs,
            the mean over the runs).
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
    lr = finder.suggestion()           # "robust", the default
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
        ramp = RampConfig(start_lr, end_lr, num_steps, mode, beta, stop_factor)
        self.start_lr, self.end_lr, self.num_steps = ramp.start_lr, ramp.end_lr, ramp.num_steps
        self.mode, self.beta, self.stop_factor = ramp.mode, ramp.beta, ramp.stop_factor
        options = check_finder_options(restore, verbose, num_runs, seed)
        self.restore, self.verbose = options["restore"], options["verbose"]
        self.num_runs, self.seed = options["num_runs"], options["seed"]
        self.result: RangeTest | None = None
        self.val_every = 1
        self._runs: list[RangeTestRun] = []
        self._run: RangeTestRun | None = None  # the run being recorded
        self._active = False
        self._in_find = False
        self._val_batches: list[tuple[Any, Any, Any, int]] | None = None
        # While `find()` repeats the test: the state before the first run, and
        # the random generator of the current run.
        self._original: list[tuple[Any, np.ndarray]] | None = None
        self._run_rng: np.random.Generator | None = None
        self._bar: keras.utils.Progbar | None = None
        self._bar_step = 0

    # ------------------------------------------------------------------ ramp
    def ramp(self, step: Any) -> Any:
        """The LR of ramp step `step` (a tensor or array), via `schedule_math`."""
        return schedule_math.range_test_ramp(
            step, self.start_lr, self.end_lr, self.num_steps, self.mode
        )

    # -------------------------------------------------------- callback hooks
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
        optimizer = _control.lr_optimizer(model, self)
        if _keras.accumulation(optimizer) > 1:
            raise ValueError(
                "LRFinder records one loss per batch at the LR of that batch's update, but with "
                "gradient accumulation an update averages several batches. Run the range test "
                "with an optimizer without `gradient_accumulation_steps` (and the same batch "
                "size times the accumulation steps, for the same effective batch). Received: "
                f"gradient_accumulation_steps={_keras.accumulation(optimizer)}"
            )
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        self._run = RangeTestRun(steps=[], lrs=[], losses=[], raw_losses=[])
        self._avg = 0.0
        self._best_loss = math.inf
        self._last_val_step: int | None = None
        if self._run_rng is None:
            self._runs = []
            self._saved = _state.snapshot(model) if self.restore else None
        else:  # find() repeats the test: it restores; this run gets its own seeds.
            if self._original is None:
                self._original = _state.snapshot(model)
            self._saved = None
            _reseed(model, self._run_rng)
        self._start_step = _control.updates(optimizer)
        self._ramp_values = evaluate(self.ramp, np.arange(self.num_steps))
        start = float(self._start_step)
        # The ramp is the LR of keras_lr's train function, which also makes the
        # model's loss tracker hold the loss of one batch (see keras_lr._keras).
        _control.control(model).take(
            self, _ShiftedRamp(self, start), scalable=False, track_loss=True
        )
        self._loss_checks = 2
        self._active = True
        self._start_bar()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_first_step = _control.updates(self.model.optimizer) - self._start_step

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        run = self._run
        if not self._active or run.stop_reason is not None:
            return
        if not logs or "loss" not in logs:
            raise ValueError(
                "LRFinder needs the training loss in the batch logs (`logs['loss']`), but "
                f"the model's train step reported only {sorted(logs or {})}."
            )
        step = self._epoch_first_step + _keras.last_step_of_batch(self.model, batch)
        if self._loss_checks:
            self._check_batch_loss(float(logs["loss"]))
        self._record(step, float(logs["loss"]))
        if self._val_batches is not None and run.steps and run.steps[-1] == step:
            if self._last_val_step is None or step - self._last_val_step >= self.val_every:
                self._record_val(step)
        if run.stop_reason is None and step >= self.num_steps - 1:
            run.stop_reason = "num_steps"
        self._update_bar(step + 1)
        if run.stop_reason is not None:
            self.model.stop_training = True

    def _lr_of(self, step: int) -> float:
        return float(self._ramp_values[min(step, self.num_steps - 1)])

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        # Keras numbers a last, partial execution as if it were full: the last
        # point belongs to the last step that actually ran.
        run = self._run
        if self._active and run.steps:
            last = _control.updates(self.model.optimizer) - self._start_step - 1
            if 0 <= last < run.steps[-1]:
                if run.val_steps and run.val_steps[-1] == run.steps[-1]:
                    run.val_steps[-1] = last
                    run.val_lrs[-1] = self._lr_of(last)
                if run.stop_lr == run.lrs[-1]:
                    run.stop_lr = self._lr_of(last)
                run.steps[-1] = last
                run.lrs[-1] = self._lr_of(last)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._finish()

    def _check_batch_loss(self, loss: float) -> None:
        """Refuses a reported loss that is not the loss of the batch (a running mean).

        keras_lr makes the model's loss tracker hold one batch's loss. A
        `train_step` that reports a loss of its own (its own `Mean("loss")`
        metric, say) never updates that tracker, or reports something else:
        checked on the first two batches (the first alone cannot tell a
        running mean from a batch loss).
        """
        model = self.model  # On JAX, reading `self.model` syncs the training state.
        control = _control.control(model)
        if control.owner is not self or not control.stepped():
            return  # hooks driven without a train step of the finder's: nothing to check
        self._loss_checks -= 1
        tracker = _keras.loss_tracker(model)
        if tracker is not None and control.tracker_updated:
            tracked = float(ops.convert_to_numpy(tracker.result()))
            if math.isclose(tracked, loss, rel_tol=1e-5, abs_tol=1e-7) or not math.isfinite(loss):
                return
        self._active = False
        _control.control(model).release(self)
        if self._saved is not None:
            _state.restore(self._saved)
            self._saved = None
        raise ValueError(
            "LRFinder needs the loss of each batch, but the model's train step reports a "
            "`loss` that is not the model's own loss tracker (a `train_step` that keeps its "
            "own loss metric): keras_lr cannot make it per-batch, and would record running "
            "means. In your `train_step`, compute the loss with `self.compute_loss(...)` and "
            "return `{m.name: m.result() for m in self.metrics}`, or run the range test on "
            f"the model without the override. Received: logs['loss']={loss!r}"
        )

    # ---------------------------------------------------------- progress bar
    def _start_bar(self) -> None:
        """One `keras.utils.Progbar` over the ramp's steps, with `verbose`."""
        self._bar, self._bar_step = None, 0
        if not self.verbose:
            return
        if self._run_rng is not None:  # find() repeats the test: label the run.
            print_msg(f"LRFinder run {len(self._runs) + 1}/{self.num_runs}")
        self._bar = keras.utils.Progbar(
            self.num_steps,
            verbose=1 if self.verbose == 1 else 2,
            stateful_metrics=("lr", "smoothed_loss", "best_loss"),
        )

    def _update_bar(self, ran: int, finalize: bool | None = None) -> None:
        """Moves the bar to `ran` steps; it ends on the step the test stopped at."""
        if self._bar is None:
            return
        self._bar_step = ran
        run = self._run
        values = []
        if run.steps:
            values = [
                ("lr", run.lrs[-1]),
                ("smoothed_loss", run.losses[-1]),
                ("best_loss", self._best_loss),
            ]
        if finalize is None:
            finalize = run.stop_reason is not None or ran >= self.num_steps
        self._bar.update(min(ran, self.num_steps), values, finalize=finalize)
        if finalize:
            self._bar = None

    def _record(self, step: int, loss: float) -> None:
        run = self._run
        lr = self._lr_of(step)
        if not math.isfinite(loss):
            run.stop_reason, run.stop_lr = "nan", lr
            return
        n = len(run.raw_losses) + 1
        self._avg = self.beta * self._avg + (1.0 - self.beta) * loss
        smoothed = self._avg / (1.0 - self.beta**n)
        run.steps.append(int(step))
        run.lrs.append(lr)
        run.raw_losses.append(loss)
        run.losses.append(smoothed)
        best = self._best_loss
        if n > 1 and smoothed - best > (self.stop_factor - 1.0) * abs(best):
            run.stop_reason, run.stop_lr = "diverged", lr
        self._best_loss = min(best, smoothed)

    def _record_val(self, step: int) -> None:
        """Scores the validation subset after `step`; a non-finite loss is not recorded."""
        self._last_val_step = step
        model = self.model  # On JAX, reading `self.model` syncs the training state.
        # The per-batch loss tracking is only active inside keras_lr's train
        # function: the test step is traced without it.
        loss = data_adapter.validation_loss(model, self._val_batches)
        if math.isfinite(loss):
            run = self._run
            run.val_steps.append(int(step))
            run.val_lrs.append(run.lrs[-1])
            run.val_losses.append(loss)

    def _finish(self) -> None:
        """Puts the model back (idempotent): loss tracker, LR, and with `restore`, state."""
        if not self._active:
            return
        self._active = False
        # The data ran out, or an error: end the bar's line where the test stopped.
        self._update_bar(self._bar_step, finalize=True)
        model = self.model
        _control.control(model).release(self)
        if self._saved is not None:
            _state.restore(self._saved)
            self._saved = None
        self._runs.append(self._run)
        if self._run_rng is None:  # a single run: its result now
            self.result = RangeTest(self._runs, self.get_config(), val_every=self.val_every)
            if self.verbose:
                print_msg(self.result.summary_line())

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
            y: targets, with array inputs (required unless the model is
                compiled with `loss=None` or computes its own loss).
            batch_size: the batch size, with array inputs (also of array
                `val_data`), an integer `>= 1`. Defaults to 32.
            num_steps: overrides the finder's `num_steps` for this run only
                (`get_config()` and the next `find()` keep the finder's).
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
                The finder itself in `callbacks` is ignored (it is always
                there); `validation_split` is refused, as it would cut the
                steps: pass `val_data` instead.

        Returns:
            The finder itself, for chaining: `finder.find(...).plot()`.

        Raises:
            ValueError: before any training, for a bad argument, a file name
                as `x`, empty data, arrays of different lengths or holding
                NaN or inf, validation data holding NaN or inf (arrays, or
                the batches taken from a dataset, generator or loader),
                array inputs without `y` for a model whose loss needs
                targets, `validation_split`, or another `LRFinder` in
                `callbacks`; after the test (the model put back), when the
                loss was not finite from the first step.
        """
        own_num_steps = self.num_steps
        num_steps = own_num_steps if num_steps is None else check.integer("num_steps", num_steps, 2)
        if batch_size is not None:
            batch_size = check.integer("batch_size", batch_size, 1)
        val_every = check.integer("val_every", val_every, 1)
        fit_kwargs = dict(fit_kwargs)
        callbacks = [self] + _check_find_fit_kwargs(self, fit_kwargs)
        if getattr(model, "optimizer", None) is None:
            _control.lr_optimizer(model, self)
        # Checked and adapted once, before any training (sample_weight and
        # shuffle move from fit_kwargs into `data`).
        data = data_adapter.adapt(
            model,
            x,
            y,
            batch_size=batch_size,
            num_steps=num_steps,
            val_data=val_data,
            val_every=val_every,
            fit_kwargs=fit_kwargs,
        )
        # The finder draws its own bar over the ramp's steps (see `verbose`):
        # `fit`'s epochs are an artefact of the data's length.
        fit_kwargs.setdefault("verbose", 0)
        self.val_every = val_every
        self._val_batches = data.val_batches
        self._in_find = True
        self.num_steps = num_steps  # for this run only: put back below
        try:
            if self.num_runs == 1:
                self._fit_once(model, callbacks, {**data.fit_args(), **fit_kwargs})
            else:
                self._find_runs(model, data, callbacks, fit_kwargs)
        finally:
            self._in_find = False
            self._val_batches = None
            self.num_steps = own_num_steps
        if self.stop_reason == "nan" and not self.lrs:
            raise ValueError(
                "The loss was not finite from the first step of the range test (at "
                f"lr={self.start_lr:g}), so nothing was recorded: the inputs or targets "
                "probably hold NaN or inf (check them with `np.isfinite`), or the model's "
                "loss is not finite even at `start_lr`. The model was put back."
            )
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
        data: data_adapter.FindData,
        callbacks: list[Any],
        fit_kwargs: dict[str, Any],
    ) -> None:
        """`find()` with `num_runs > 1`: the runs, the restores between them, the aggregate."""
        base_seed = self.seed if self.seed is not None else int(np.random.randint(0, 2**31 - 1))
        self._runs = []
        self._original = None
        try:
            for run in range(self.num_runs):
                self._run_rng = np.random.default_rng([base_seed, run])
                if self._original is not None:
                    _state.restore(self._original)
                # Arrays: this run's own order, drawn first from the run's generator.
                self._fit_once(model, callbacks, {**data.fit_args(self._run_rng), **fit_kwargs})
        finally:
            if self._original is not None and self.restore:
                _state.restore(self._original)
            self._original = None
            self._run_rng = None
            if self._runs:
                self.result = RangeTest(self._runs, self.get_config(), val_every=self.val_every)
        if self.verbose:
            print_msg(self.result.summary_line())

    # ------------------------------------------------------------ results
    def __getattr__(self, name: str) -> Any:
        """`result.<name>` for what a `RangeTest` exposes (`lrs`, `diagnosis`, `plot`, ...).

        Called only for names the finder itself lacks. Before a test, the
        recorded data is empty (`lrs == []`, `best_lr is None`, ...) and the
        other names raise a `NoResultError` (a `ValueError`) that says to run it.
        """
        if name not in RESULT_NAMES:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        if self.__dict__.get("result") is None and name in EMPTY_RECORD:
            return EMPTY_RECORD[name]()
        return getattr(self._result(), name)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *RESULT_NAMES})

    def _result(self) -> RangeTest:
        result = self.__dict__.get("result")  # no recursion before __init__ set it
        if result is None:
            raise NoResultError(
                "The finder recorded 0 point(s), nothing to plot or read: it has not run yet. Run "
                "`finder.find(model, x, y)` or `model.fit(..., callbacks=[finder])` first."
            )
        return result

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

        The file holds the (mean) curve, each run's curve under `"runs"`, and
        the validation curve with its `val_every`.

        Args:
            path: the file to write.
        """
        self._result().save(path, config=self.get_config())

    @classmethod
    def load(cls, path: str | os.PathLike) -> LRFinder:
        """Reads a finder written by `save()`, ready to plot and suggest.

        Args:
            path: the JSON file.

        Returns:
            A new `LRFinder` holding the saved result.
        """
        data = RangeTest.read(path)
        finder = cls(**data["config"])
        finder.result = RangeTest.from_dict(data)
        finder.val_every = finder.result.val_every
        return finder

    # ------------------------------------------------------------ trials
    def confirm(
        self,
        model: keras.Model,
        x: Any,
        y: Any = None,
        *,
        batch_size: int | None = None,
        val_data: Any = None,
        budget: int | None = None,
        candidates: Any = None,
        seed: int | None = None,
        verbose: int | None = None,
        **fit_kwargs: Any,
    ) -> TrialsResult:
        """Short trials of candidate LRs around the suggestion; the best held-out loss wins.

        Each candidate (x1/3..x3 around the suggestion, half a decade apart;
        /31.6..x1 around a fallback; always the optimizer's own LR) trains for
        `budget` steps from the model's state, on the same batches with the
        same seeds, and is scored by its loss on `val_data`, else on a
        held-out fifth of array data, else by its final training loss. The
        model and its optimizer are put back bit for bit on every exit path.
        See `keras_lr.callbacks.trials` and `keras_lr.TrialsResult`.

        Args:
            model: the compiled model of `find()`.
            x: the training data, as in `find()`.
            y: the targets, with array inputs.
            batch_size: the batch size, with array inputs. Defaults to 32.
            val_data: held-out data that scores the trials, as in `find()`.
            budget: the training steps of each trial, `>= 1`. Defaults to
                `keras_lr.callbacks.trials.DEFAULT_BUDGET` times `num_steps`.
            candidates: the LRs to try instead of those from the range test
                (the optimizer's LR is added).
            seed: the seed of the data order and the held-out draw. Defaults
                to None: drawn from numpy's global generator.
            verbose: 0 quiet, 1 a progress bar over all trial steps and the
                table, 2 the table. Defaults to the finder's `verbose`.
            **fit_kwargs: passed on to `model.fit`, as in `find()`.

        Returns:
            A `keras_lr.TrialsResult`: `best_lr`, `reliable`, `summary()`, `plot()`.

        Raises:
            ValueError: for bad arguments or data (as `find()`), or when no
                range test has run and no `candidates` are given.

        Example:

        ```python
        finder.find(model, x, y)
        trials = finder.confirm(model, x, y, val_data=(x_val, y_val))
        model.optimizer.learning_rate = trials.best_lr
        ```
        """
        from keras_lr.callbacks import trials

        return trials.confirm(
            self,
            model,
            x,
            y,
            batch_size=batch_size,
            val_data=val_data,
            budget=budget,
            candidates=candidates,
            seed=seed,
            verbose=verbose,
            **fit_kwargs,
        )


# ---------------------------------------------------------------- find() arguments
def _check_find_fit_kwargs(finder: LRFinder, fit_kwargs: dict[str, Any]) -> list[Any]:
    """Refuses `fit` arguments that `find()` sets or cannot honour; returns the user's callbacks."""
    for name in _FIT_ARGS_SET_BY_FIND:
        if name in fit_kwargs:
            raise ValueError(
                f"Argument `{name}` is set by `LRFinder.find()` and cannot be passed. "
                f"Received: {name}={fit_kwargs[name]!r}"
            )
    if fit_kwargs.get("validation_split"):
        raise ValueError(
            "Argument `validation_split` is not supported by `LRFinder.find()`: Keras would "
            "train on part of the data and stop the range test before `num_steps`. Pass the "
            "held-out data as `val_data=(x_val, y_val)` instead. Received: "
            f"validation_split={fit_kwargs['validation_split']!r}"
        )
    fit_kwargs.pop("validation_split", None)
    callbacks = fit_kwargs.pop("callbacks", None) or []
    if isinstance(callbacks, keras.callbacks.Callback) or not isinstance(callbacks, (list, tuple)):
        check.fail("callbacks", "a list of callbacks", callbacks)
    # The finder itself is already the first callback: a second copy would record every step twice.
    callbacks = [c for c in callbacks if c is not finder]
    others = [c for c in callbacks if isinstance(c, LRFinder)]
    if others:
        check.fail(
            "callbacks",
            "free of other LRFinder instances: two range tests cannot share one `fit` "
            "(run `find()` of each finder in turn)",
            others,
        )
    return list(callbacks)


# ---------------------------------------------------------------- several runs
def _reseed(model: Any, rng: np.random.Generator) -> None:
    """Gives each seed generator of `model` (Dropout, noise layers) a seed drawn from `rng`.

    A Keras `SeedGenerator` keeps `[seed, counter]` in a variable named
    `seed_generator_state`: the seed is replaced, the counter kept. The
    finder's snapshot holds the model's own seeds, and puts them back.
    """
    for variable in _keras.seed_state_variables(model):
        state = np.array(ops.convert_to_numpy(variable), copy=True)
        state[0] = rng.integers(1, 2**31 - 1)
        variable.assign(state)
