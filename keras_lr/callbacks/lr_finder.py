"""`LRFinder`: the learning-rate range test of Smith (2015), section 3.3."""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Iterable, Iterator
from typing import Any

import keras
import numpy as np

from keras_lr import _validation as check
from keras_lr import schedule_math, suggest
from keras_lr._io import print_msg
from keras_lr.callbacks import _optimizer, _state
from keras_lr.schedules import evaluate

__all__ = ["LRFinder"]

RAMP_MODES = ("exponential", "linear")
_FIT_ARGS_SET_BY_FIND = ("epochs", "steps_per_epoch", "initial_epoch", "batch_size")


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

    Args:
        start_lr: the LR of the first step, `> 0`. Defaults to 1e-7.
        end_lr: the LR of the last step, `> start_lr`. Defaults to 10.
        num_steps: the number of steps of the ramp, `>= 2`. Defaults to 100.
        mode: `"exponential"` (log-spaced LRs, the usual choice) or
            `"linear"`. Defaults to `"exponential"`.
        beta: the EMA factor of the smoothed loss, in [0, 1). Defaults to 0.98.
        stop_factor: stop when the smoothed loss exceeds this many times the
            best (see above), `> 1`. Defaults to 4.
        restore: whether to put the model back afterwards. Defaults to True.
        verbose: 0 is quiet; 1 shows Keras' progress bar in `find()` and a
            summary at the end. Defaults to 1.

    Attributes:
        lrs: the LR of each recorded step.
        losses: the smoothed loss of each recorded step.
        raw_losses: the true batch loss of each recorded step.
        steps: the ramp index `i` of each recorded step.
        best_lr: the LR of the lowest smoothed loss.
        best_loss: the lowest smoothed loss.
        diverged: whether the run stopped because the loss diverged or was
            not finite.

    Example:

    ```python
    finder = keras_lr.LRFinder(start_lr=1e-6, end_lr=1.0, num_steps=200)
    finder.find(model, x_train, y_train, batch_size=64)
    finder.plot()
    lr = finder.suggestion()           # "consensus", the default
    base_lr, max_lr = finder.suggest_range()

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
    ) -> None:
        super().__init__()
        self.start_lr = check.positive("start_lr", start_lr)
        self.end_lr = check.greater_than("end_lr", end_lr, self.start_lr, f"start_lr ({self.start_lr:g})")
        self.num_steps = check.integer("num_steps", num_steps, 2)
        self.mode = check.one_of("mode", mode, RAMP_MODES)
        self.beta = check.in_unit_interval("beta", beta, closed_low=True, closed_high=False)
        self.stop_factor = check.greater_than("stop_factor", stop_factor, 1.0)
        self.restore = bool(restore)
        self.verbose = verbose
        self._reset_results()
        self._active = False

    # ------------------------------------------------------------------ ramp
    def ramp(self, step: Any) -> Any:
        """The LR of ramp step `step` (a tensor or array), via `schedule_math`."""
        return schedule_math.range_test_ramp(step, self.start_lr, self.end_lr, self.num_steps, self.mode)

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
        self._avg = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        model = self.model
        optimizer = _optimizer.model_optimizer(model, self)
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        self._reset_results()
        self._saved = _state.snapshot(model) if self.restore else None
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
        step = self._epoch_first_step + batch
        self._record(step, float(logs["loss"]))
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
        if self.verbose:
            print_msg(self._summary())

    def _summary(self) -> str:
        reasons = {
            "diverged": "the loss diverged",
            "nan": "the loss was not finite",
            "num_steps": f"all {self.num_steps} steps ran",
            None: "training ended",
        }
        text = f"LRFinder: {len(self.lrs)} points, stopped because {reasons[self.stop_reason]}"
        if self.best_lr is not None:
            text += f"; lowest smoothed loss {self.best_loss:.4g} at lr={self.best_lr:.3g}"
            try:
                text += f"; suggested lr ({suggest.DEFAULT_METHOD}): {self.suggestion():.3g}"
            except ValueError:
                pass
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
        **fit_kwargs: Any,
    ) -> LRFinder:
        """Runs the range test on `model` for exactly `num_steps` steps.

        The data is repeated as needed, whatever its length. The model is
        restored (with `restore=True`) in a `finally`, so it is intact after an
        error or a `KeyboardInterrupt`.

        Args:
            model: a compiled Keras model.
            x: numpy arrays (or a dict/list of them), a `tf.data.Dataset` (of
                any cardinality), a Python generator or iterator of batches, a
                `keras.utils.PyDataset`, or a torch `DataLoader` (torch
                backend).
            y: targets, with array inputs.
            batch_size: the batch size, with array inputs. Defaults to 32.
            num_steps: overrides the finder's `num_steps` for this run.
            **fit_kwargs: passed on to `model.fit` (for example
                `sample_weight`, `class_weight`, `callbacks`, `shuffle`).

        Returns:
            The finder itself, for chaining: `finder.find(...).plot()`.
        """
        if num_steps is not None:
            self.num_steps = check.integer("num_steps", num_steps, 2)
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
        try:
            model.fit(callbacks=callbacks, **data_args, **fit_kwargs)
        finally:
            if self.model is None:
                self.set_model(model)
            self._finish()
        return self

    # ------------------------------------------------------------ results
    def _curve(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.lrs, dtype="float64"), np.asarray(self.losses, dtype="float64")

    def suggestion(self, method: str = suggest.DEFAULT_METHOD) -> float:
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

        Returns:
            The suggested learning rate.

        Raises:
            ValueError: for an unknown method, or when too few points were
                recorded.
        """
        return suggest.suggest(*self._curve(), method=method)

    def suggest_range(self) -> tuple[float, float]:
        """`(base_lr, max_lr)` for `CyclicLR`, as Smith reads the range test.

        `base_lr` is where the smoothed loss starts to fall (10% of its total
        drop), `max_lr` is just before it stops falling (90% of the drop, before
        the minimum).

        Returns:
            A `(base_lr, max_lr)` tuple.
        """
        return suggest.suggest_range(*self._curve())

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
        }

    def save(self, path: str | os.PathLike) -> None:
        """Writes the configuration and the recorded curve to a JSON file.

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
        }
        with open(path, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LRFinder:
        """Reads a finder written by `save()`, ready to plot and suggest.

        Args:
            path: the JSON file.

        Returns:
            A new `LRFinder` holding the saved curve.
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
        return finder

    # ------------------------------------------------------------ plots
    def plot(
        self,
        ax: Any = None,
        *,
        skip_start: int = 10,
        skip_end: int = 5,
        suggestion: str | None = suggest.DEFAULT_METHOD,
        show_raw: bool = False,
    ) -> Any:
        """Plots the smoothed loss against the LR (log axis), marking a suggestion.

        Args:
            ax: a matplotlib Axes to draw on; a new figure when None.
            skip_start: points left out at the start. Defaults to 10.
            skip_end: points left out at the end. Defaults to 5.
            suggestion: the method whose LR is marked, or None.
            show_raw: also draw the raw batch losses. Defaults to False.

        Returns:
            The matplotlib Axes.
        """
        from keras_lr import plotting

        return plotting.plot_finder(
            self, ax=ax, skip_start=skip_start, skip_end=skip_end, suggestion=suggestion, show_raw=show_raw
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
