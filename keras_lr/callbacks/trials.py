"""Short trials of candidate learning rates after a range test (`LRFinder.confirm`).

A range test reads a whole LR range from one short ramp; when its curve is
flat, noisy or ambiguous it cannot tell which LR trains best. The trials
settle it the direct way, by training: each candidate LR (`keras_lr.
trials_result.candidates`: around the suggestion, the range a fallback's
warning names, and always the optimizer's own LR) is trained for the same
short budget of steps, from the same initial state (the model's, snapshotted
in memory and restored before each trial), on the same batches in the same
order, with the same random-layer seeds, and scored by a held-out loss:

- `val_data` when it is given (at most `MAX_SCORE_BATCHES` of its batches);
- otherwise, with array inputs, `HOLDOUT_FRACTION` of the training samples,
  drawn once and held out of the trials' training;
- otherwise (datasets, generators, loaders), the mean training batch loss of
  the last tenth of the budget.

The held-out loss is measured `CHECKPOINTS` times along each trial (for the
plot) and the score is the last one. A trial whose loss is not finite, or
whose smoothed loss (the finder's bias-corrected EMA, `beta`) rises
`stop_factor` times above its first loss, stops there as diverged and scores
`inf`. The chosen LR is the candidate with the
lowest score; `keras_lr.TrialsResult` says whether the scores are told apart
beyond their noise. The model is put back, bit for bit, on every exit path
(normal end, error, `KeyboardInterrupt`), and so is its optimizer (its LR or
schedule included): the trials only choose the LR.

The default budget (`DEFAULT_BUDGET` times the range test's `num_steps`)
was chosen on the development tasks of BENCHMARKS.md, at the knee of the
quality-against-budget curve.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_lr import _keras
from keras_lr import _validation as check
from keras_lr._io import print_msg
from keras_lr.callbacks import _control, _state, data_adapter
from keras_lr.core.diagnosis import FallbackWarning
from keras_lr.core.trials import Trial, TrialsResult, candidates, heldout_score, train_score

__all__ = [
    "DEFAULT_BUDGET",
    "HOLDOUT_FRACTION",
    "CHECKPOINTS",
    "MAX_SCORE_BATCHES",
    "MIN_SCORE_BATCHES",
    "confirm",
]

#: The default training steps of each trial, in range tests (`num_steps`): the knee of
#: quality against budget on the development tasks of BENCHMARKS.md (recurrent models
#: whose range tests stay flat only begin to learn after 4-5 range tests' worth of steps).
DEFAULT_BUDGET = 5
#: The part of array training data held out to score the trials without `val_data`.
HOLDOUT_FRACTION = 0.2
#: How many times along each trial the held-out loss is measured.
CHECKPOINTS = 10
#: The most batches of `val_data` (or of the held-out part) that score a trial.
MAX_SCORE_BATCHES = 64
#: Array scoring data is cut into at least this many batches (smaller than the training
#: batches when it is small), so that the noise of a score can be estimated.
MIN_SCORE_BATCHES = 8


class _ConstantLR(keras.optimizers.schedules.LearningRateSchedule):
    """One trial's LR, constant, inside keras_lr's train function. Never serialized."""

    def __init__(self, lr: float) -> None:
        self.lr = float(lr)

    def __call__(self, step: Any) -> Any:
        return ops.cast(step, "float32") * 0.0 + self.lr

    def get_config(self) -> dict[str, Any]:
        return {"lr": self.lr}


class _Replay:
    """The batches of a dataset, generator or loader, the same ones for every trial.

    The first trial draws them from the source and keeps them; later trials
    replay them (and draw more only if they run further).
    """

    def __init__(self, source: Iterator[Any]) -> None:
        self.source = source
        self.cache: list[Any] = []

    def stream(self) -> Iterator[Any]:
        yield from self.cache
        for batch in self.source:
            self.cache.append(batch)
            yield batch


class _TrialCallback(keras.callbacks.Callback):
    """Owns the LR during one trial; records the loss, the checkpoints and the bar."""

    def __init__(self, run: _Trials, trial: Trial, index: int) -> None:
        super().__init__()
        self.run, self.trial, self.index = run, trial, index
        self._avg = 0.0
        self._first = math.nan

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._plain_model = self.model  # no JAX state sync per batch for reading its config
        control = _control.control(self._plain_model)
        control.take(self, _ConstantLR(self.trial.lr), scalable=False, track_loss=True)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        trial, run = self.trial, self.run
        if trial.diverged or not logs or "loss" not in logs:
            return
        step = _keras.last_step_of_batch(self._plain_model, batch)
        loss = float(logs["loss"])
        if not math.isfinite(loss):
            trial.diverged = True
        else:
            n = len(trial.raw_losses) + 1
            self._avg = run.beta * self._avg + (1.0 - run.beta) * loss
            smoothed = self._avg / (1.0 - run.beta**n)
            trial.steps.append(step)
            trial.raw_losses.append(loss)
            trial.losses.append(smoothed)
            if n == 1:
                self._first = smoothed
            # Diverged: the smoothed loss rose `stop_factor` times above the trial's first
            # loss (not above its lowest, as in the ramp: a low, noisy loss late in a
            # trial at a good LR would trip that).
            elif smoothed - self._first > (run.stop_factor - 1.0) * abs(self._first):
                trial.diverged = True
        last = step >= run.budget - 1
        if not trial.diverged and run.score_batches is not None:
            if last or (step + 1) % run.eval_every == 0:
                self._checkpoint(step)
        run.bar_to(self.index * run.budget + step + 1)
        if trial.diverged or last:
            self._plain_model.stop_training = True

    def _checkpoint(self, step: int) -> None:
        # On JAX, reading `self.model` syncs the training state.
        losses, sizes, value, error = _evaluate(self.model, self.run.score_batches)
        if not math.isfinite(value):
            self.trial.diverged = True
            return
        self.trial.eval_steps.append(step)
        self.trial.eval_losses.append(value)
        self.trial.eval_errors.append(error)
        self.trial.eval_parts.append(losses)
        self.trial.score_parts, self.trial.score_weights = losses, sizes

    def on_train_end(self, logs: dict | None = None) -> None:
        _control.control(self.model).release(self)


class _Trials:
    """The settings and the shared state of one `confirm()` call."""

    def __init__(self, budget: int, beta: float, stop_factor: float, verbose: int) -> None:
        self.budget = budget
        self.beta = beta
        self.stop_factor = stop_factor
        self.verbose = verbose
        self.eval_every = max(1, budget // CHECKPOINTS)
        self.score_batches: list[tuple[Any, Any, Any, int]] | None = None
        self.bar: keras.utils.Progbar | None = None

    def bar_to(self, done: int) -> None:
        if self.bar is not None and done > self.bar._seen_so_far:
            self.bar.update(done)


def _optimizer_lr(optimizer: Any) -> float | None:
    """The optimizer's float LR (None when it has its own schedule)."""
    if _control.own_schedule(optimizer) is not None:
        return None
    variable = _keras.lr_variable(optimizer)
    return None if variable is None else _keras.read_float(variable)


def _range_test_candidates(finder: Any, optimizer_lr: float | None) -> tuple[list, float | None]:
    """The candidates from the finder's last range test, and its suggestion."""
    result = finder.result
    suggestion, fallback = None, False
    if result is not None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                suggestion = float(result.suggestion())
            except ValueError:
                suggestion = None
        fallback = any(issubclass(w.category, FallbackWarning) for w in caught)
    return candidates(suggestion, optimizer_lr, fallback=fallback), suggestion


def _user_candidates(values: Any, optimizer_lr: float | None) -> list[tuple[float, str]]:
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple, np.ndarray)):
        check.fail("candidates", "a non-empty list of learning rates > 0", values)
    if len(values) == 0:
        check.fail("candidates", "a non-empty list of learning rates > 0", values)
    found = [(check.positive("candidates", v), "user") for v in values]
    if optimizer_lr is not None and all(
        abs(math.log10(lr / optimizer_lr)) > 1e-9 for lr, _ in found
    ):
        found.append((optimizer_lr, "optimizer"))
    return sorted(found)


def _split_holdout(
    x: Any, y: Any, sample_weight: Any, rng: np.random.Generator
) -> tuple[Any, Any, Any, tuple | None]:
    """Draws `HOLDOUT_FRACTION` of the samples out of the training arrays."""
    samples = data_adapter._first_length(x)
    held = int(round(samples * HOLDOUT_FRACTION))
    if held < 1 or samples - held < 1:
        return x, y, sample_weight, None
    order = rng.permutation(samples)
    train, hold = np.sort(order[held:]), np.sort(order[:held])
    parts = [data_adapter._take(x, hold), data_adapter._take(y, hold)]
    if sample_weight is not None:
        parts.append(data_adapter._take(sample_weight, hold))
    return (
        data_adapter._take(x, train),
        data_adapter._take(y, train),
        data_adapter._take(sample_weight, train),
        tuple(parts),
    )


def _score_batch_size(data: Any, batch_size: int) -> int:
    """The batch size that cuts array scoring data into at least `MIN_SCORE_BATCHES` batches."""
    if not isinstance(data, tuple) or not data or not data_adapter._is_array_like(data[0]):
        return batch_size  # not arrays: `_validation_batches` names what is wrong
    samples = data_adapter._first_length(data[0])
    return max(1, min(batch_size, samples // MIN_SCORE_BATCHES))


def confirm(
    finder: Any,
    model: keras.Model,
    x: Any,
    y: Any = None,
    *,
    batch_size: int | None = None,
    val_data: Any = None,
    budget: int | None = None,
    candidates: Sequence[float] | None = None,
    seed: int | None = None,
    verbose: int | None = None,
    **fit_kwargs: Any,
) -> TrialsResult:
    """Trains each candidate LR for a short budget and picks the one with the best held-out loss.

    `LRFinder.confirm` calls this with the finder (see the module docstring).

    Args:
        finder: the `LRFinder` (its last range test, `num_steps`, `beta`,
            `stop_factor` and `verbose`).
        model: the compiled model.
        x: the training data, as in `LRFinder.find`.
        y: the targets, with array inputs.
        batch_size: the batch size, with array inputs. Defaults to 32.
        val_data: held-out data that scores the trials, as in `LRFinder.find`.
        budget: the training steps of each trial. Defaults to
            `DEFAULT_BUDGET * finder.num_steps`.
        candidates: the LRs to try instead of those from the range test.
        seed: the seed of the data order and the held-out draw.
        verbose: 0, 1 or 2 (defaults to the finder's).
        **fit_kwargs: passed on to `model.fit`.

    Returns:
        A `keras_lr.TrialsResult`.

    Raises:
        ValueError: for bad arguments or data, as `LRFinder.find`.
    """
    from keras_lr.callbacks.lr_finder import _check_find_fit_kwargs

    budget_steps = DEFAULT_BUDGET * finder.num_steps if budget is None else budget
    budget_steps = check.integer("budget", budget_steps, 1)
    if batch_size is not None:
        batch_size = check.integer("batch_size", batch_size, 1)
    verbose = finder.verbose if verbose is None else check.verbosity("verbose", verbose)
    seed = None if seed is None else check.integer("seed", seed, 0)
    fit_kwargs = dict(fit_kwargs)
    user_callbacks = _check_find_fit_kwargs(finder, fit_kwargs)
    optimizer = _control.lr_optimizer(model, finder)
    data = data_adapter.adapt(
        model,
        x,
        y,
        batch_size=batch_size,
        num_steps=budget_steps,
        val_data=None,
        val_every=1,
        fit_kwargs=fit_kwargs,
    )
    optimizer_lr = _optimizer_lr(optimizer)
    if candidates is not None:
        chosen, suggestion = _user_candidates(candidates, optimizer_lr), None
        if finder.result is not None:
            suggestion = _range_test_candidates(finder, optimizer_lr)[1]
    elif finder.result is None:
        raise ValueError(
            "`confirm()` trains candidates around the range test's suggestion, but the "
            "finder has not run a range test yet. Run `finder.find(model, x, y)` first, or "
            "pass the candidate learning rates yourself: `confirm(..., candidates=[...])`."
        )
    else:
        chosen, suggestion = _range_test_candidates(finder, optimizer_lr)

    arrays = data.arrays
    rng = np.random.default_rng(seed if seed is not None else int(np.random.randint(0, 2**31 - 1)))
    run = _Trials(budget_steps, finder.beta, finder.stop_factor, verbose)
    fit_kwargs.setdefault("verbose", 0)
    if arrays:
        shuffle = True if data.shuffle is data_adapter._UNSET else bool(data.shuffle)
        x, y, sample_weight = data.x, data.y, data.sample_weight
        train_x, train_y, train_w, held = x, y, sample_weight, None
        if val_data is None:
            train_x, train_y, train_w, held = _split_holdout(x, y, sample_weight, rng)
        batch = data.batch_size
        trial_args = data_adapter._run_arrays(
            train_x, train_y, train_w, batch, budget_steps, rng, shuffle
        )
        if val_data is not None:
            run.score_batches = data_adapter._validation_batches(
                val_data, _score_batch_size(val_data, batch), MAX_SCORE_BATCHES
            )
            scoring = "val"
        elif held is not None:
            run.score_batches = data_adapter._validation_batches(
                held, _score_batch_size(held, batch), MAX_SCORE_BATCHES
            )
            scoring = "holdout"
        else:
            scoring = "train"
        replay = None
    else:
        if val_data is not None:
            run.score_batches = data_adapter._validation_batches(val_data, None, MAX_SCORE_BATCHES)
        scoring = "val" if val_data is not None else "train"
        data_args = data.fit_args()
        stream = data_args["x"]
        if hasattr(stream, "as_numpy_iterator"):  # a repeated tf.data.Dataset
            stream = stream.as_numpy_iterator()
        replay = _Replay(iter(stream))
        trial_args = {k: v for k, v in data_args.items() if k != "x"}
        fit_kwargs.pop("shuffle", None)  # the batches come as they are, the same every trial
        trial_args["shuffle"] = False

    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    saved = _state.snapshot(model)
    start = None if run.score_batches is None else _start(model, run.score_batches)
    trials = [Trial(lr=lr, source=source) for lr, source in chosen]
    if verbose:
        print_msg(
            f"LRFinder trials: {len(trials)} candidates x {budget_steps} steps, "
            + ", ".join(f"{t.lr:.3g}" for t in trials)
        )
        run.bar = keras.utils.Progbar(
            len(trials) * budget_steps, verbose=1 if verbose == 1 else 2, unit_name="step"
        )
    started = time.perf_counter()
    callback: _TrialCallback | None = None
    try:
        for index, trial in enumerate(trials):
            _state.restore(saved)
            callback = _TrialCallback(run, trial, index)
            args = dict(trial_args)
            if replay is not None:
                args["x"] = replay.stream()
            began = time.perf_counter()
            model.fit(callbacks=[callback, *user_callbacks], **args, **fit_kwargs)
            trial.wall_s = time.perf_counter() - began
            _score(trial, scoring)
            run.bar_to((index + 1) * budget_steps)
    finally:
        if callback is not None:
            _control.control(model).release(callback)
        _state.restore(saved)
        if run.bar is not None and run.bar._seen_so_far < run.bar.target:
            run.bar.update(run.bar._seen_so_far, finalize=True)
    result = TrialsResult(
        trials,
        scoring=scoring,
        budget=budget_steps,
        range_test_steps=finder.num_steps,
        suggestion=suggestion,
        optimizer_lr=optimizer_lr,
        wall_s=time.perf_counter() - started,
        start=start,
    )
    if verbose:
        print_msg(result.summary())
    result.warn_if_unreliable(stacklevel=3)
    return result


def _evaluate(
    model: keras.Model, batches: list[tuple[Any, Any, Any, int]]
) -> tuple[list[float], list[float], float, float]:
    """The held-out loss of each batch, the batch sizes, their mean and its standard error."""
    losses = [data_adapter.validation_loss(model, [batch]) for batch in batches]
    sizes = [float(batch[3]) for batch in batches]
    value, error = heldout_score(losses, sizes)
    return losses, sizes, value, error


def _start(model: keras.Model, batches: list[tuple[Any, Any, Any, int]]) -> Trial:
    """The held-out loss before any trial: what a candidate must lower to have learned."""
    losses, sizes, score, error = _evaluate(model, batches)
    return Trial(
        lr=0.0,
        source="start",
        score=score,
        score_error=error,
        score_parts=losses,
        score_weights=sizes,
    )


def _score(trial: Trial, scoring: str) -> None:
    """The trial's score: its last held-out loss, or its final training loss."""
    if trial.diverged or not trial.steps:
        trial.score, trial.score_error, trial.diverged = math.inf, 0.0, True
    elif scoring == "train":
        trial.score, trial.score_error = train_score(trial.raw_losses)
        tail = trial.raw_losses[-max(1, len(trial.raw_losses) // 10) :]
        trial.score_parts, trial.score_weights = list(tail), [1.0] * len(tail)
    elif trial.eval_losses:
        trial.score, trial.score_error = trial.eval_losses[-1], trial.eval_errors[-1]
    else:
        trial.score, trial.score_error = math.inf, 0.0
