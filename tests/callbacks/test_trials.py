"""`LRFinder.confirm()`: short trials of candidate LRs, checked against independent sources.

- The one-weight model (gradient `c` for inputs `c`, loss `w * c`): the loss of
  step `i` of a trial at `lr` is `-lr * c_i * (c_0 + ... + c_{i-1})`, in closed
  form, which shows the LR each trial used and that every trial saw the same
  batches in the same order.
- The chosen LR: each candidate is trained again by hand with `model.fit` at its
  LR from the same initial weights on the same batches, and its held-out loss
  computed by `model.evaluate`; the trials' scores and choice must match.
- The model and optimizer after the trials: every variable bit for bit, on
  every exit path.
"""

import math
import warnings

import keras
import numpy as np
import pytest
from conftest import flat_mean_prediction, mean_prediction
from finder_models import assert_same_state, bn_model, regression_data, training_state
from numpy.testing import assert_allclose

import keras_lr
from keras_lr import suggest
from keras_lr.core.trials import Trial, TrialsResult, candidates

BATCH = 4


def one_weight(lr=0.01, loss=mean_prediction, optimizer=None):
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer=optimizer or keras.optimizers.SGD(lr), loss=loss)
    return model


def scales(batches):
    """The input value `c_b` of batch `b`: every sample of the batch is `c_b`."""
    return 1.0 + (np.arange(batches) % 5) * 0.25


def scaled_arrays(batches):
    c = np.repeat(scales(batches), BATCH).astype("float32")[:, None]
    return c, np.zeros_like(c)


def expected_losses(lr, steps):
    """The closed form: loss_i = c_i * w_i, w_i = -lr * (c_0 + ... + c_{i-1})."""
    c = scales(steps)
    w = -lr * np.concatenate([[0.0], np.cumsum(c)[:-1]])
    return c * w


def scored(lr, parts, source="around", score_error=0.0):
    """A trial scored on equal-sized batches with losses `parts` (its score is their mean)."""
    return Trial(
        lr=lr,
        source=source,
        score=float(np.mean(parts)),
        score_error=score_error,
        steps=[0],
        score_parts=list(parts),
        score_weights=[1.0] * len(parts),
    )


def tanh_regressor(lr, seed):
    """A small regression MLP with SGD at `lr`, its weights drawn under `seed`."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    return model


def finder_with_candidates():
    return keras_lr.LRFinder(verbose=0)


# ---------------------------------------------------------------- Keras-free parts
def test_candidates_closed_form():
    s = 0.02
    found = candidates(s, 1e-3)  # half a decade apart: s / 10**0.5, s, s * 10**0.5
    expected = sorted([s / 10**0.5, s, s * 10**0.5, 1e-3])
    assert_allclose([lr for lr, _ in found], expected, rtol=1e-12)
    assert dict((round(lr, 12), src) for lr, src in found)[round(1e-3, 12)] == "optimizer"
    assert [src for lr, src in found if abs(lr - s) < 1e-12] == ["suggestion"]
    fine = [lr for lr, src in candidates(s, None, spacing=0.25)]
    assert_allclose(fine, [s * 10 ** (k / 4) for k in range(-2, 3)], rtol=1e-12)
    # A fallback: /10**1.5 .. x1, the range its warning names (none above the fallback).
    fallback = [lr for lr, src in candidates(s, None, fallback=True)]
    assert_allclose(fallback, [s / 10**1.5, s / 10, s / 10**0.5, s], rtol=1e-12)
    # No suggestion: a decade either side of the optimizer's LR.
    around_own = [lr for lr, _ in candidates(None, 0.01)]
    assert_allclose(around_own, [0.001, 0.01 / 10**0.5, 0.01, 0.01 * 10**0.5, 0.1], rtol=1e-12)
    # The optimizer's LR replaces the candidate less than half a spacing (0.25 decades) from it:
    # 0.001 * 10**0.2 is replaced; candidates half a decade from it are all kept.
    near = candidates(0.001 * 10**0.2, 0.001)
    assert_allclose([lr for lr, _ in near], [0.001 * 10**-0.3, 0.001, 0.001 * 10**0.7], rtol=1e-12)
    assert [src for _, src in near] == ["around", "optimizer", "around"]
    kept = candidates(0.001 * 10**1.0, 0.001)  # 0.00316, 0.01, 0.0316: none within 0.25
    assert len(kept) == 4 and sum(src == "optimizer" for _, src in kept) == 1
    with pytest.raises(ValueError, match="centre"):
        candidates(None, None)


def test_paired_noise_decides_ties():
    # Scored on the same 4 batches: b is a - 0.1 on every batch (difference with no spread).
    a = scored(0.1, [0.5, 1.5, 0.5, 1.5], score_error=0.5)
    b = scored(0.2, [0.4, 1.4, 0.4, 1.4], score_error=0.5)
    result = TrialsResult([a, b], scoring="holdout", budget=10, range_test_steps=10)
    assert result.best_lr == 0.2
    assert result.tied == [b]  # paired: 0.1 apart with no noise (unpaired: 0.1 < 2 * 0.71)
    # The same scores, with a noisy difference: within noise.
    c = scored(0.2, [1.4, 0.4, 1.4, 0.4], score_error=0.5)
    result = TrialsResult([a, c], scoring="holdout", budget=10, range_test_steps=10)
    assert not result.reliable
    assert "cannot tell them apart" in " ".join(result.reasons)


# ---------------------------------------------------------------- the LRs and the batches
def test_each_trial_trains_at_its_lr_on_the_same_batches():
    steps = 12
    model = one_weight(0.01)
    x, y = scaled_arrays(steps)
    before = training_state(model)
    result = finder_with_candidates().confirm(
        model,
        x,
        y,
        batch_size=BATCH,
        budget=steps,
        candidates=[0.1, 0.3],
        shuffle=False,
        val_data=(x[:BATCH], y[:BATCH]),
        verbose=0,
    )
    assert_same_state(before, training_state(model))
    assert sorted(result.lrs) == pytest.approx([0.01, 0.1, 0.3])
    assert [t.source for t in result.trials] == ["optimizer", "user", "user"]
    for trial in result.trials:
        assert trial.steps == list(range(steps))
        assert_allclose(trial.raw_losses, expected_losses(trial.lr, steps), rtol=1e-5, atol=1e-6)


def data_of_kind(kind, batches):
    x, y = scaled_arrays(batches)
    if kind == "generator":
        return (
            batch
            for batch in ((x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, len(x), BATCH))
        )
    if kind == "tf_data":
        import tensorflow as tf

        return tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    if kind == "py_dataset":

        class Batches(keras.utils.PyDataset):
            def __len__(self):
                return batches

            def __getitem__(self, index):
                return x[index * BATCH : (index + 1) * BATCH], y[
                    index * BATCH : (index + 1) * BATCH
                ]

        return Batches()
    if kind == "torch_loader":
        import torch

        dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        return torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=False)
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["generator", "tf_data", "py_dataset", "torch_loader"])
def test_input_kinds(kind, backend):
    if kind == "torch_loader" and backend != "torch":
        pytest.skip("a torch DataLoader needs the torch backend")
    steps = 10
    model = one_weight(0.01)
    before = training_state(model)
    data = data_of_kind(kind, 40)
    result = finder_with_candidates().confirm(
        model, data, budget=steps, candidates=[0.05], verbose=0
    )
    assert_same_state(before, training_state(model))
    assert result.scoring == "train"
    for trial in result.trials:  # each trial from the first batch, in the same order
        assert_allclose(trial.raw_losses, expected_losses(trial.lr, steps), rtol=1e-5, atol=1e-6)
    # Training loss w * c keeps falling with the LR: the highest LR scores best.
    assert result.best_lr == pytest.approx(0.05)


# ---------------------------------------------------------------- the choice
def test_chosen_lr_is_the_best_held_out_loss_trained_by_hand():
    budget, batch = 20, 8
    x, y = regression_data(budget * batch, seed=1)
    x_val, y_val = regression_data(64, seed=2)

    def build(lr):
        return tanh_regressor(lr, seed=7)

    model = build(0.01)
    result = finder_with_candidates().confirm(
        model,
        x,
        y,
        batch_size=batch,
        budget=budget,
        candidates=[0.001, 0.03, 0.1],
        val_data=(x_val, y_val),
        shuffle=False,
        verbose=0,
    )
    assert result.scoring == "val"
    by_hand = {}
    for lr in result.lrs:
        copy = build(lr)
        copy.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
        by_hand[lr] = copy.evaluate(x_val, y_val, batch_size=batch, verbose=0)
    assert_allclose(result.scores, [by_hand[lr] for lr in result.lrs], rtol=2e-4)
    assert result.best_lr == min(by_hand, key=by_hand.get)


def test_candidates_from_the_range_test_include_the_optimizer_lr():
    x, y = regression_data(256)
    model = bn_model(keras.optimizers.Adam(2e-4))
    finder = keras_lr.LRFinder(1e-5, 1.0, num_steps=30, verbose=0)
    finder.find(model, x, y, batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        suggestion = finder.suggestion()
    before = training_state(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", suggest.UnreliableSuggestionWarning)
        result = finder.confirm(model, x, y, batch_size=16, budget=5, seed=0, verbose=0)
    assert_same_state(before, training_state(model))
    assert result.suggestion == pytest.approx(suggestion)
    own = [t for t in result.trials if t.source == "optimizer"]
    assert len(own) == 1 and own[0].lr == pytest.approx(2e-4)
    assert result.scoring == "holdout"
    assert result.budget == 5 and all(len(t.steps) == 5 for t in result.trials)


def test_a_diverging_candidate_stops_and_loses():
    # SGD on a least-squares loss diverges above lr = 2 / (largest Hessian eigenvalue);
    # with standard normal inputs that eigenvalue is about 2 * 1: lr=10 diverges, 0.01 does not.
    x, y = regression_data(256)
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    before = training_state(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", suggest.UnreliableSuggestionWarning)
        result = finder_with_candidates().confirm(
            model, x, y, batch_size=16, budget=40, candidates=[10.0], seed=0, verbose=0
        )
    assert_same_state(before, training_state(model))
    high = result.trials[-1]
    assert high.lr == 10.0 and high.diverged and high.score == math.inf
    assert len(high.steps) < 40
    assert result.best_lr == pytest.approx(0.01)


def test_default_budget_counts_range_tests():
    from keras_lr.callbacks import trials

    model = one_weight(0.01)
    x, y = scaled_arrays(8)
    finder = keras_lr.LRFinder(num_steps=3, verbose=0)
    result = finder.confirm(model, x, y, batch_size=BATCH, candidates=[0.02], verbose=0)
    assert result.budget == trials.DEFAULT_BUDGET * 3
    assert all(t.steps == list(range(result.budget)) for t in result.trials)


def test_cannot_separate_warns():
    model = one_weight(0.01, loss=flat_mean_prediction)  # loss 0 whatever the LR
    x, y = scaled_arrays(20)
    with pytest.warns(suggest.UnreliableSuggestionWarning, match="cannot tell them apart"):
        result = finder_with_candidates().confirm(
            model, x, y, batch_size=BATCH, budget=6, candidates=[0.1, 1.0], verbose=0
        )
    assert not result.reliable
    assert len(result.tied) == 3


def test_start_is_the_untrained_held_out_loss_and_no_learning_is_not_reliable():
    budget, batch = 20, 8
    x, y = regression_data(budget * batch, seed=3)
    x_val, y_val = regression_data(64, seed=4)
    model = tanh_regressor(1e-9, seed=5)
    untrained = model.evaluate(x_val, y_val, batch_size=batch, verbose=0)
    with pytest.warns(suggest.UnreliableSuggestionWarning, match="no candidate lowered"):
        result = finder_with_candidates().confirm(
            model,
            x,
            y,
            batch_size=batch,
            budget=budget,
            candidates=[2e-9, 4e-9],
            val_data=(x_val, y_val),
            verbose=0,
        )
    assert result.start.score == pytest.approx(untrained, rel=2e-5)
    assert not result.reliable
    assert any("no candidate lowered the held-out loss" in r for r in result.reasons)
    # A candidate that learns is not held back by the start.
    learned = finder_with_candidates().confirm(
        model, x, y, batch_size=batch, budget=budget, candidates=[0.01, 0.03, 0.1],
        val_data=(x_val, y_val), verbose=0,
    )  # fmt: skip
    assert learned.best.score < untrained
    assert not any("no candidate lowered" in r for r in learned.reasons)


def test_the_optimizers_lr_below_every_candidate_is_an_edge():
    def trial(lr, source, shift):
        return scored(lr, [1.0 + shift, 2.0 + shift, 1.5 + shift, 0.5 + shift], source=source)

    trials = [
        trial(1e-3, "optimizer", 0.0),
        trial(1e-2, "around", 1.0),
        trial(3e-2, "suggestion", 2.0),
        trial(1e-1, "around", 3.0),
    ]
    result = TrialsResult(trials, scoring="val", budget=10, range_test_steps=10)
    assert result.best_lr == 1e-3
    assert any("lowest candidate" in r for r in result.reasons)
    assert not result.reliable
    # Inside the candidates, the optimizer's LR is no edge.
    trials[0] = trial(2e-2, "optimizer", 0.0)
    inside = TrialsResult(trials, scoring="val", budget=10, range_test_steps=10)
    assert inside.best_lr == 2e-2 and inside.reliable


# ---------------------------------------------------------------- exit paths
class RaiseAt(keras.callbacks.Callback):
    def __init__(self, error, batch=2):
        super().__init__()
        self.error, self.batch, self.calls = error, batch, 0

    def on_train_batch_end(self, batch, logs=None):
        self.calls += 1
        if self.calls == 8:  # in the second trial
            raise self.error("interrupted")


@pytest.mark.parametrize("error", [None, RuntimeError, KeyboardInterrupt])
def test_model_and_optimizer_restored_bit_for_bit(error):
    x, y = regression_data(64)
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5)
    model = bn_model(keras.optimizers.Adam(schedule))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # a used optimizer, non-zero slots
    before = training_state(model)
    train_function = model.train_function
    callbacks = [] if error is None else [RaiseAt(error)]
    run = lambda: finder_with_candidates().confirm(  # noqa: E731
        model,
        x,
        y,
        batch_size=16,
        budget=6,
        candidates=[1e-3, 1e-2],
        callbacks=callbacks,
        verbose=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", suggest.UnreliableSuggestionWarning)
        if error is None:
            run()
        else:
            with pytest.raises(error, match="interrupted"):
                run()
    assert_same_state(before, training_state(model))
    assert model.optimizer._learning_rate is schedule
    assert "make_train_function" not in vars(model)
    assert model.train_function is train_function


@pytest.mark.parametrize("error", [None, RuntimeError])
def test_next_fit_uses_the_users_lr(error):
    model = one_weight(0.01)
    x, y = scaled_arrays(20)
    callbacks = [] if error is None else [RaiseAt(error)]
    try:
        finder_with_candidates().confirm(
            model,
            x,
            y,
            batch_size=BATCH,
            budget=5,
            candidates=[0.5],
            callbacks=callbacks,
            verbose=0,
        )
    except RuntimeError:
        pass
    ones = np.ones((3 * BATCH, 1), "float32")
    model.fit(ones, np.zeros_like(ones), batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    kernel = float(keras.ops.convert_to_numpy(model.layers[-1].kernel).reshape(()))
    assert kernel == pytest.approx(-0.03, rel=1e-6)  # 3 steps of gradient 1 at the user's 0.01


# ---------------------------------------------------------------- bad input, reports
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"x": "data.npz"}, "Argument `x` must be"),
        ({"budget": 0}, "Argument `budget` must be"),
        ({"candidates": [-1.0]}, "Argument `candidates` must be"),
        ({"candidates": "0.1"}, "Argument `candidates` must be"),
        ({"epochs": 3}, "Argument `epochs` is set by"),
        ({"batch_size": 0}, "Argument `batch_size` must be"),
        ({"x": np.full((8, 1), np.nan, "float32")}, "must hold finite numbers"),
        ({"validation_split": 0.2}, "validation_split"),
    ],
)
def test_bad_input_gets_finds_errors(kwargs, message):
    model = one_weight(0.01)
    x, y = scaled_arrays(2)
    args = {"x": x, "y": y, "candidates": [0.1], "verbose": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        finder_with_candidates().confirm(model, **args)


def test_no_range_test_and_no_candidates():
    model = one_weight(0.01)
    x, y = scaled_arrays(2)
    with pytest.raises(ValueError, match="has not run a range test"):
        keras_lr.LRFinder(verbose=0).confirm(model, x, y)


def test_summary_plot_and_progress_bar(capsys):
    import matplotlib

    matplotlib.use("Agg")
    model = one_weight(0.01)
    x, y = scaled_arrays(20)
    result = finder_with_candidates().confirm(
        model, x, y, batch_size=BATCH, budget=4, candidates=[0.05, 0.1], verbose=1
    )
    out = capsys.readouterr().out
    assert "12/12" in out  # one bar over the 3 trials x 4 steps
    assert out.count("Chosen: lr=") == 1
    lines = result.summary().splitlines()
    assert len(lines) == 2 + 3 + 1 + 1  # header, 3 candidates, the untrained start, the choice
    assert "(start)" in lines[-2] and f"{result.start.score:10.4g}" in lines[-2]
    assert lines[-1].startswith(f"Chosen: lr={result.best_lr:.3g}")
    ax = result.plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    lines = ax.get_lines()
    assert len(lines) == 3 + 1  # the 3 trials and the untrained level
    assert list(lines[-1].get_ydata()) == [result.start.score] * 2
