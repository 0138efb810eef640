"""Tests of `LRFinder(num_runs=...)` (repeated range tests) and `find(val_data=...)`.

The repeated runs are checked on a one-weight linear regression,
`Dense(1, use_bias=False)` from a zero kernel on a noisy `y = 2 x`, with plain SGD and
the mean squared error: the test replays each run by hand in float64 (the
documented data order, the ramp, the SGD update `w -= lr * mean(2 x (w x - y))`; the targets are noisy, so no
batch is fitted exactly and float32 stays close to the float64 replay)
and compares every recorded loss, then aggregates the runs by hand.

The validation curve is checked on the one-weight model of test_lr_finder.py
(`mean(y_pred)` as the loss, inputs of ones: the kernel after step `i` is
`-(lr_0 + ... + lr_i)`), scored on inputs of known mean.
"""

import json
import math

import keras
import numpy as np
import pytest
from finder_models import (
    BATCH,
    assert_same_state,
    bn_model,
    current_lr,
    kernel,
    ones,
    regression_data,
    training_state,
)
from numpy.testing import assert_allclose
from range_test_oracles import exp_ramp, hand_smoothed, hand_stop_index

import keras_lr
from keras_lr import core
from keras_lr.core import rules

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ---------------------------------------------------------------- helpers
def hand_mean(steps_per_run, values_per_run):
    """`{step: mean of the runs' values}` over the steps that every run has, in plain Python."""
    collected = {}
    for steps, values in zip(steps_per_run, values_per_run):
        for step, value in zip(steps, values):
            collected.setdefault(step, []).append(value)
    runs = len(steps_per_run)
    return {step: sum(v) / len(v) for step, v in sorted(collected.items()) if len(v) == runs}


def hand_order(seed, run, samples, needed):
    """The documented data order of run `run`: a permutation per pass, concatenated."""
    rng = np.random.default_rng([seed, run])
    passes = math.ceil(needed / samples)
    return np.concatenate([rng.permutation(samples) for _ in range(passes)])[:needed], rng


def set_state(model, state):
    """Assigns a `training_state` back (the test's own restore)."""
    variables = {v.path: v for v in [*model.variables, *model.optimizer.variables]}
    for path, value in state:
        variables[path].assign(value)


def one_weight_model(loss=None):
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss or mean_prediction)
    return model


def mean_prediction(y_true, y_pred):
    """A loss whose gradient with respect to the one-weight kernel is the mean input."""
    return keras.ops.mean(y_pred, axis=-1)


class StateProbe(keras.callbacks.Callback):
    """The training state at each train begin, batch end and train end; the metrics too."""

    def __init__(self):
        super().__init__()
        self.begins, self.ends, self.batch_states, self.metrics = [], [], [], []

    def on_train_begin(self, logs=None):
        self.begins.append(training_state(self.model))

    def on_train_batch_end(self, batch, logs=None):
        model = self.model  # On JAX, reading `self.model` syncs the training state.
        self.batch_states.append(training_state(model))
        self.metrics.append(
            [np.array(keras.ops.convert_to_numpy(v)) for v in model.metrics_variables]
        )

    def on_train_end(self, logs=None):
        self.ends.append(training_state(self.model))


class KernelProbe(keras.callbacks.Callback):
    """The one-weight kernel after each batch."""

    def __init__(self):
        super().__init__()
        self.kernels = []

    def on_train_batch_end(self, batch, logs=None):
        self.kernels.append(kernel(self.model))  # On JAX, `self.model` syncs the state.


# ---------------------------------------------------------------- the linear regression, by hand
SEED, RUNS, STEPS, BETA = 7, 3, 30, 0.5
RAMP = exp_ramp(1e-3, 10.0, STEPS)
VAL_EVERY = 3


def regression():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 1.5, (60, 1)).astype("float32")
    y = (2 * x + rng.normal(0.0, 0.5, x.shape)).astype("float32")
    return x[:40], y[:40], x[40:], y[40:]


def replay(x, y, order, x_val, y_val):
    """One run by hand: the batch losses, and the validation loss after each step."""
    x, y = x.astype("float64")[:, 0], y.astype("float64")[:, 0]
    x_val, y_val = x_val.astype("float64")[:, 0], y_val.astype("float64")[:, 0]
    w, losses, val_losses = 0.0, [], []
    for i, lr in enumerate(RAMP):
        batch = order[i * BATCH : (i + 1) * BATCH]
        xb, yb = x[batch], y[batch]
        losses.append(np.mean((w * xb - yb) ** 2))
        w -= lr * np.mean(2 * xb * (w * xb - yb))
        val_losses.append(np.mean((w * x_val - y_val) ** 2))
    return losses, val_losses


@pytest.fixture(scope="module")
def regression_runs():
    """Three runs with a validation subset of 3 batches, scored every 3 steps."""
    threads = None
    if keras.config.backend() == "torch":
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
    x, y, x_val, y_val = regression()
    model = one_weight_model(loss="mse")
    finder = keras_lr.LRFinder(
        1e-3, 10.0, STEPS, beta=BETA, num_runs=RUNS, seed=SEED, restore=False, verbose=0
    )
    finder.find(model, x, y, batch_size=BATCH, val_data=(x_val, y_val), val_every=VAL_EVERY)
    if threads is not None:
        torch.set_num_threads(threads)
    return finder


def test_each_run_follows_its_own_data_order(regression_runs):
    finder = regression_runs
    x, y, x_val, y_val = regression()
    assert len(finder.runs) == RUNS
    firsts = []
    for r, run in enumerate(finder.runs):
        order, _ = hand_order(SEED, r, len(x), STEPS * BATCH)
        losses, val_losses = replay(x, y, order, x_val[:12], y_val[:12])
        n = len(run.raw_losses)
        assert run.steps == list(range(n))
        assert_allclose(run.lrs, RAMP[:n], rtol=1e-6)
        assert_allclose(run.raw_losses, losses[:n], rtol=1e-4, atol=1e-7)
        assert_allclose(run.losses, hand_smoothed(run.raw_losses, BETA), rtol=1e-12)
        # The loss diverged: the stop rule fired at the hand-computed step.
        stop = hand_stop_index(hand_smoothed(losses, BETA), 4.0)
        assert run.stop_reason == "diverged" and n == stop + 1
        # The validation subset is the first 3 batches (12 samples), every 3 steps.
        assert run.val_steps == list(range(0, n, VAL_EVERY))
        assert_allclose(run.val_lrs, RAMP[run.val_steps], rtol=1e-6)
        assert_allclose(run.val_losses, np.asarray(val_losses)[run.val_steps], rtol=1e-4)
        firsts.append(run.raw_losses[0])
    # Different data orders, different curves; and divergence stopped them at different steps.
    assert len(set(np.round(firsts, 6))) == RUNS
    assert len({len(run.lrs) for run in finder.runs}) > 1


def test_shuffle_false_keeps_the_data_order_in_every_run():
    x, y, _, _ = regression()
    model = one_weight_model(loss="mse")
    finder = keras_lr.LRFinder(1e-3, 10.0, STEPS, beta=BETA, num_runs=2, seed=SEED, verbose=0)
    finder.find(model, x, y, batch_size=BATCH, shuffle=False)
    order = np.tile(np.arange(len(x)), 3)[: STEPS * BATCH]
    losses, _ = replay(x, y, order, x[:1], y[:1])
    first, second = finder.runs
    assert first.raw_losses == second.raw_losses
    assert_allclose(first.raw_losses, losses[: len(first.raw_losses)], rtol=1e-4, atol=1e-7)
    # Identical runs: their suggestions agree exactly.
    assert finder.suggestion_spread("valley") == 0.0


def test_the_curve_is_the_mean_over_the_runs_up_to_the_first_stop(regression_runs):
    finder = regression_runs
    runs = finder.runs
    mean = hand_mean([r.steps for r in runs], [r.losses for r in runs])
    raw = hand_mean([r.steps for r in runs], [r.raw_losses for r in runs])
    shortest = min(len(r.steps) for r in runs)
    assert shortest < max(len(r.steps) for r in runs), "the runs must stop at different steps"
    assert finder.steps == list(range(shortest)) == list(mean)
    assert_allclose(finder.lrs, RAMP[:shortest], rtol=1e-6)
    assert_allclose(finder.losses, list(mean.values()), rtol=1e-12)
    assert_allclose(finder.raw_losses, list(raw.values()), rtol=1e-12)
    # The mean of the EMAs is the EMA of the mean batch loss.
    common = hand_smoothed(list(raw.values()), BETA)
    assert_allclose(finder.losses, common, rtol=1e-9)
    best = int(np.argmin(finder.losses))
    assert finder.best_lr == finder.lrs[best] and finder.best_loss == finder.losses[best]
    first = min(runs, key=lambda r: len(r.steps))
    assert finder.stop_reason == first.stop_reason == "diverged" and finder.diverged
    # The validation curve, the same way.
    val = hand_mean([r.val_steps for r in runs], [r.val_losses for r in runs])
    assert finder.val_steps == list(val)
    assert_allclose(finder.val_losses, list(val.values()), rtol=1e-12)
    assert_allclose(finder.val_lrs, RAMP[finder.val_steps], rtol=1e-6)


@pytest.mark.parametrize("method", rules.names())
def test_spread_is_the_log_ratio_of_the_per_run_suggestions(regression_runs, method):
    finder = regression_runs
    # Each run read alone, as a one-run result.
    picks = [
        keras_lr.RangeTest([run], finder.get_config()).suggestion(method) for run in finder.runs
    ]
    expected = math.log10(max(picks) / min(picks))
    assert finder.suggestion_spread(method) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    if method == rules.DEFAULT:
        assert finder.spread == pytest.approx(expected, rel=1e-12, abs=1e-15)
        assert finder.reliable is (expected < 0.5)
    # The suggestion itself reads the mean curve.
    mean_curve = core.Curve(
        finder.lrs,
        finder.losses,
        raw_losses=finder.raw_losses,
        num_steps=finder.num_steps,
        stop_lr=finder.result.stop_lr,
    )
    assert finder.suggestion(method) == core.suggest(mean_curve, method=method)


def test_spread_of_the_validation_curve(regression_runs):
    finder = regression_runs
    # "minimum" by hand: the LR of the lowest validation loss of each run, over 10.
    picks = [run.val_lrs[int(np.argmin(run.val_losses))] / 10 for run in finder.runs]
    expected = math.log10(max(picks) / min(picks))
    assert finder.suggestion_spread("minimum", curve="val") == pytest.approx(expected, abs=1e-12)
    best = int(np.argmin(finder.val_losses))
    assert finder.suggestion("minimum", curve="val") == pytest.approx(finder.val_lrs[best] / 10)


def test_spread_needs_several_runs():
    model = one_weight_model()
    finder = keras_lr.LRFinder(1e-3, 1.0, 25, verbose=0).find(model, *ones(25), batch_size=BATCH)
    assert len(finder.runs) == 1
    assert finder.runs[0].raw_losses == finder.raw_losses
    with pytest.raises(ValueError, match="several runs.*num_runs"):
        finder.suggestion_spread()
    # One run is still diagnosed: reliable says whether its loss fell beyond its noise.
    assert finder.reliable is finder.diagnosis.reliable
    assert finder.diagnosis.fell


def test_save_and_load_round_trip(regression_runs, tmp_path):
    finder = regression_runs
    path = tmp_path / "finder.json"
    finder.save(path)
    with open(path, encoding="utf-8") as f:
        saved = json.load(f)
    assert len(saved["runs"]) == RUNS
    assert saved["runs"][1]["raw_losses"] == finder.runs[1].raw_losses
    assert saved["val_losses"] == finder.val_losses and saved["val_every"] == VAL_EVERY

    loaded = keras_lr.LRFinder.load(path)
    assert loaded.get_config() == finder.get_config()
    assert loaded.get_config()["num_runs"] == RUNS and loaded.get_config()["seed"] == SEED
    assert loaded.runs == finder.runs
    for name in ("steps", "lrs", "losses", "raw_losses", "val_steps", "val_lrs", "val_losses"):
        assert getattr(loaded, name) == getattr(finder, name), name
    assert loaded.val_every == VAL_EVERY
    assert (loaded.best_lr, loaded.best_loss) == (finder.best_lr, finder.best_loss)
    assert loaded.stop_reason == finder.stop_reason
    assert loaded.suggestion() == finder.suggestion()
    assert loaded.suggestion("valley", curve="val") == finder.suggestion("valley", curve="val")
    assert loaded.spread == finder.spread and loaded.reliable == finder.reliable


# ---------------------------------------------------------------- restore
@pytest.mark.parametrize("restore", [True, False])
def test_restores_bit_identically_between_runs_and_at_the_end(restore):
    model = bn_model(metrics=["mae"])
    x, y = regression_data(48)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    before = training_state(model)
    lr_before = current_lr(model)

    probe = StateProbe()
    finder = keras_lr.LRFinder(1e-4, 1.0, 8, num_runs=3, seed=3, restore=restore, verbose=0)
    finder.find(model, x, y, batch_size=8, callbacks=[probe])

    assert len(probe.begins) == 3 and len(finder.runs) == 3
    seed_paths = [path for path, _ in before if "seed_generator_state" in path]
    assert len(seed_paths) == 1
    for r, begin in enumerate(probe.begins):
        # Each run starts from the state before the test, with its own Dropout seed ...
        assert_same_state(before, begin, ignore=["seed_generator_state"])
        _, rng = hand_order(3, r, len(x), 8 * 8)
        old = dict(before)[seed_paths[0]]
        new = dict(begin)[seed_paths[0]]
        assert new[0] == rng.integers(1, 2**31 - 1) and new[1] == old[1]
        assert new[0] != old[0]
        # ... and during the run the weights, statistics and slots moved.
        moved = [p for (p, a), (_, b) in zip(before, probe.ends[r]) if not np.array_equal(a, b)]
        for kind in ("kernel", "moving_mean", "iteration", "momentum"):
            assert any(kind in path for path in moved), kind
    if restore:
        assert_same_state(before, training_state(model))
        assert current_lr(model) == lr_before
    else:  # the state at the end of the last run
        assert_same_state(probe.ends[-1], training_state(model))
    assert finder.runs[0].raw_losses != finder.runs[1].raw_losses


def test_restore_after_an_error_in_a_later_run():
    model = bn_model(metrics=["mae"])
    x, y = regression_data(48)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    before = training_state(model)

    class FailInSecondRun(keras.callbacks.Callback):
        runs = 0

        def on_train_begin(self, logs=None):
            FailInSecondRun.runs += 1

        def on_train_batch_end(self, batch, logs=None):
            if FailInSecondRun.runs == 2 and batch == 2:
                raise RuntimeError("boom")

    finder = keras_lr.LRFinder(1e-4, 1.0, 8, num_runs=3, seed=0, verbose=0)
    with pytest.raises(RuntimeError, match="boom"):
        finder.find(model, x, y, batch_size=8, callbacks=[FailInSecondRun()])
    assert [len(run.lrs) for run in finder.runs] == [8, 3]
    assert_same_state(before, training_state(model))
    assert len(finder.lrs) == 3  # the mean over the steps both recorded runs reached


def test_other_inputs_are_iterated_as_given_with_new_seeds():
    # The same batch, over and over: only the Dropout masks differ between runs.
    x, y = regression_data(16)
    model = bn_model(metrics=["mae"])
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    before = training_state(model)
    batches = ((x, y) for _ in range(2))
    finder = keras_lr.LRFinder(1e-4, 1.0, 6, num_runs=3, seed=5, verbose=0)
    finder.find(model, batches, shuffle=False)
    assert [run.steps for run in finder.runs] == [list(range(6))] * 3
    # The first batch is the same in every run, and it is seen before any update:
    # its loss differs only by the Dropout mask.
    first = [run.raw_losses[0] for run in finder.runs]
    assert len(set(first)) == 3, first
    assert_same_state(before, training_state(model))


def test_as_a_callback_several_runs_raise_a_keras_style_error():
    model = one_weight_model()
    model.fit(*ones(1), batch_size=BATCH, verbose=0)
    before = training_state(model)
    finder = keras_lr.LRFinder(1e-3, 1.0, 6, num_runs=3, verbose=0)
    with pytest.raises(ValueError) as info:
        model.fit(*ones(6), batch_size=BATCH, callbacks=[finder], verbose=0)
    message = str(info.value)
    assert "`num_runs`" in message and "find(" in message and "Received: num_runs=3" in message
    # Nothing was touched: the next fit trains at the optimizer's own LR.
    assert_same_state(before, training_state(model))
    model.fit(*ones(1), batch_size=BATCH, verbose=0)
    assert kernel(model) == pytest.approx(-0.2, rel=1e-6)


# ---------------------------------------------------------------- validation
@pytest.mark.smoke
@pytest.mark.parametrize(
    "val_every, subset_mean",
    [(1, 2.5), (2, 4.5), (3, 5.5), (4, 5.5)],
    ids=["every-1", "every-2", "every-3-all-batches", "every-4-fewer-batches"],
)
def test_validation_is_scored_every_k_steps_on_the_first_k_batches(val_every, subset_mean):
    # Validation inputs 1..10 in batches of 4: [1..4], [5..8], [9, 10]. The loss
    # of the one-weight model is w * mean(inputs); over the first k batches,
    # weighted by their sizes, the mean input is 2.5, 4.5, 5.5 (not 6.17, the
    # mean of the three batch means).
    n = 20
    ramp = exp_ramp(1e-3, 1.0, n)
    x_val = np.arange(1, 11, dtype="float32").reshape(-1, 1)
    model = one_weight_model()
    probe = KernelProbe()
    finder = keras_lr.LRFinder(1e-3, 1.0, n, verbose=0)
    finder.find(
        model,
        *ones(n),
        batch_size=BATCH,
        val_data=(x_val, np.zeros_like(x_val)),
        val_every=val_every,
        callbacks=[probe],
    )

    steps = list(range(0, n, val_every))
    assert finder.val_steps == steps
    assert_allclose(finder.val_lrs, ramp[steps], rtol=1e-6)
    # After step s the kernel is -(lr_0 + ... + lr_s): the test reads it, and knows it.
    assert_allclose(probe.kernels, -np.cumsum(ramp), rtol=1e-5)
    assert_allclose(finder.val_losses, np.asarray(probe.kernels)[steps] * subset_mean, rtol=1e-5)
    assert_allclose(finder.val_losses, -np.cumsum(ramp)[steps] * subset_mean, rtol=1e-5)
    # The training losses are still the batch losses: the kernel before each step.
    true_losses = -np.concatenate([[0.0], np.cumsum(ramp)[:-1]])
    assert_allclose(finder.raw_losses, true_losses, rtol=1e-5, atol=1e-8)
    assert finder.runs[0].val_losses == finder.val_losses


def test_validation_matches_evaluate_on_the_subset():
    # BatchNorm and Dropout behave differently in inference: the point after
    # step 0 is `model.evaluate` on the subset (the first 2 batches of 16) at
    # the state after step 0, which the test reads and puts back.
    x, y = regression_data(64)
    x_val, y_val = regression_data(40, seed=1)
    model = bn_model(metrics=["mae"])
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    finder = keras_lr.LRFinder(1e-4, 1e-2, 2, restore=False, verbose=0)
    probe = StateProbe()
    finder.find(
        model,
        x,
        y,
        batch_size=16,
        val_data=(x_val, y_val),
        val_every=2,
        shuffle=False,
        callbacks=[probe],
    )
    set_state(model, probe.batch_states[0])
    expected = model.evaluate(x_val[:32], y_val[:32], batch_size=16, verbose=0, return_dict=True)
    assert finder.val_steps == [0]
    assert finder.val_losses[0] == pytest.approx(expected["loss"], rel=1e-5)


def test_validation_changes_neither_the_training_nor_the_recorded_losses():
    x, y = regression_data(48)
    x_val, y_val = regression_data(32, seed=1)
    model = bn_model(metrics=["mae"])
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    start = training_state(model)

    def run(**val):
        set_state(model, start)
        keras.utils.set_random_seed(0)
        probe = StateProbe()
        finder = keras_lr.LRFinder(1e-4, 1.0, 12, restore=False, verbose=0)
        finder.find(model, x, y, batch_size=8, shuffle=False, callbacks=[probe], **val)
        return finder, probe, training_state(model)

    plain, plain_probe, plain_end = run()
    scored, scored_probe, scored_end = run(val_data=(x_val, y_val), val_every=1)
    assert len(scored.val_losses) == 12
    assert scored.raw_losses == plain.raw_losses  # bit for bit
    assert scored.losses == plain.losses
    assert_same_state(plain_end, scored_end)
    # After every step, the weights, optimizer and metric state seen by the next
    # callback are the same as without validation.
    assert len(scored_probe.batch_states) == len(plain_probe.batch_states) == 12
    for a, b in zip(plain_probe.batch_states, scored_probe.batch_states):
        assert_same_state(a, b)
    for a, b in zip(plain_probe.metrics, scored_probe.metrics):
        assert all(np.array_equal(u, v) for u, v in zip(a, b)), (a, b)


def test_evaluate_after_a_test_with_validation_reports_the_mean_over_batches():
    # The finder tracks the loss of each batch while it runs; the model's own
    # evaluation is unchanged afterwards: `evaluate` averages over its batches.
    model = one_weight_model()
    model.fit(*ones(1), batch_size=BATCH, verbose=0)  # kernel -0.1
    x_val = np.ones((8, 1), "float32")
    keras_lr.LRFinder(1e-3, 1.0, 4, verbose=0).find(
        model, *ones(4), batch_size=BATCH, val_data=(x_val, x_val)
    )
    assert kernel(model) == pytest.approx(-0.1, rel=1e-6)
    x = np.repeat(np.array([1.0, 2.0, 3.0], "float32"), BATCH).reshape(-1, 1)
    loss = model.evaluate(x, x, batch_size=BATCH, verbose=0, return_dict=True)["loss"]
    assert loss == pytest.approx(-0.1 * 2.0, rel=1e-5)  # not -0.3, the last batch's


@pytest.mark.smoke
@pytest.mark.backends("tensorflow", "jax")
def test_validation_with_steps_per_execution():
    # One point per execution of 4 steps (steps 3, 7, 11): with val_every=1,
    # each recorded point is scored; with val_every=6, the first recorded point
    # and then the first one at least 6 steps later.
    n = 12
    ramp = exp_ramp(1e-3, 1.0, n)
    x_val = np.full((BATCH, 1), 3.0, "float32")
    for val_every, expected_steps in [(1, [3, 7, 11]), (6, [3, 11])]:
        model = one_weight_model()
        model.compile(optimizer=model.optimizer, loss=mean_prediction, steps_per_execution=4)
        finder = keras_lr.LRFinder(1e-3, 1.0, n, verbose=0)
        finder.find(model, *ones(n), batch_size=BATCH, val_data=(x_val, x_val), val_every=val_every)
        assert finder.steps == [3, 7, 11]
        assert finder.val_steps == expected_steps
        assert_allclose(finder.val_losses, -np.cumsum(ramp)[expected_steps] * 3.0, rtol=1e-5)


@pytest.mark.backends("tensorflow", "jax")
def test_the_test_step_is_traced_once():
    model = one_weight_model()
    traces = []
    test_step = model.test_step

    def counting_test_step(*args):
        traces.append(1)  # runs when the step is traced, not when it runs compiled
        return test_step(*args)

    model.test_step = counting_test_step
    finder = keras_lr.LRFinder(1e-3, 1.0, 12, verbose=0)
    x_val = np.ones((8, 1), "float32")
    finder.find(model, *ones(12), batch_size=BATCH, val_data=(x_val, x_val), val_every=2)
    assert len(finder.val_losses) == 6  # 6 scorings of 2 batches each
    assert len(traces) == 1


def test_validation_curve_suggestions_skip_the_same_lr_span():
    # 40 steps, a validation point every 2: 20 points. The rules skip 10 and 5
    # training steps: ceil(10/2) = 5 and ceil(5/2) = 3 validation points. The
    # validation loss -(lr_0 + ... + lr_s) * mean falls faster and faster in
    # log(lr), so its steepest point is the last one kept: index 20 - 3 - 1.
    n = 40
    x_val = np.full((4, 1), 2.0, "float32")
    model = one_weight_model()
    finder = keras_lr.LRFinder(1e-3, 1.0, n, verbose=0)
    finder.find(model, *ones(n), batch_size=BATCH, val_data=(x_val, x_val), val_every=2)
    assert len(finder.val_lrs) == 20
    assert finder.suggestion("steepest", curve="val") == finder.val_lrs[16]
    assert finder.suggestion("minimum", curve="val") == pytest.approx(finder.val_lrs[-1] / 10)
    assert finder.suggest_range(curve="val")[0] < finder.suggest_range(curve="val")[1]


@pytest.mark.parametrize("method", rules.names())
def test_too_few_validation_points_give_a_clear_error(method):
    # A point every 10 of 40 steps: 4 points, too few for every rule.
    x_val = np.ones((4, 1), "float32")
    model = one_weight_model()
    finder = keras_lr.LRFinder(1e-3, 1.0, 40, verbose=0)
    finder.find(model, *ones(40), batch_size=BATCH, val_data=(x_val, x_val), val_every=10)
    assert finder.val_steps == [0, 10, 20, 30]
    with pytest.raises(ValueError, match=r"Too few points.*recorded.*`val_every`"):
        finder.suggestion(method, curve="val")
    assert finder.suggestion(method) > 0  # the training curve still suggests


def test_a_validation_curve_must_exist_to_be_used():
    model = one_weight_model()
    finder = keras_lr.LRFinder(1e-3, 1.0, 25, verbose=0).find(model, *ones(25), batch_size=BATCH)
    assert finder.val_lrs == [] and finder.runs[0].val_losses == []
    with pytest.raises(ValueError, match="no validation curve.*val_data"):
        finder.suggestion(curve="val")
    with pytest.raises(ValueError, match="no validation curve"):
        finder.plot(curve="val")
    with pytest.raises(ValueError, match=r"Argument `curve`.*Received: curve='test'"):
        finder.suggestion(curve="test")


@pytest.mark.backends("tensorflow")
def test_validation_from_a_tf_dataset_takes_the_first_batches():
    import tensorflow as tf

    x_val = np.arange(1, 13, dtype="float32").reshape(-1, 1)
    dataset = tf.data.Dataset.from_tensor_slices((x_val, x_val)).batch(BATCH).repeat()
    n = 9
    ramp = exp_ramp(1e-3, 1.0, n)
    model = one_weight_model()
    finder = keras_lr.LRFinder(1e-3, 1.0, n, verbose=0)
    finder.find(model, *ones(n), batch_size=BATCH, val_data=dataset, val_every=2)
    # The first 2 batches: inputs 1..8, mean 4.5.
    assert finder.val_steps == [0, 2, 4, 6, 8]
    assert_allclose(finder.val_losses, -np.cumsum(ramp)[finder.val_steps] * 4.5, rtol=1e-5)


def test_validation_from_a_generator_of_batches():
    batches = (
        (np.full((BATCH, 1), v, "float32"), np.zeros((BATCH, 1), "float32")) for v in (1, 3, 99)
    )
    n = 6
    ramp = exp_ramp(1e-3, 1.0, n)
    model = one_weight_model()
    finder = keras_lr.LRFinder(1e-3, 1.0, n, verbose=0)
    finder.find(model, *ones(n), batch_size=BATCH, val_data=batches, val_every=2)
    # The first 2 batches (inputs 1 and 3: mean 2); the third is never taken.
    assert_allclose(finder.val_losses, -np.cumsum(ramp)[[0, 2, 4]] * 2.0, rtol=1e-5)
    assert next(batches)[0][0, 0] == 99


# ---------------------------------------------------------------- arguments
@pytest.mark.parametrize(
    "kwargs, name, received",
    [
        ({"num_runs": 0}, "num_runs", "0"),
        ({"num_runs": 2.5}, "num_runs", "2.5"),
        ({"num_runs": "3"}, "num_runs", "'3'"),
        ({"seed": -1}, "seed", "-1"),
        ({"seed": 1.5}, "seed", "1.5"),
    ],
)
def test_bad_constructor_arguments_raise_keras_style_errors(kwargs, name, received):
    with pytest.raises(ValueError) as info:
        keras_lr.LRFinder(**kwargs)
    assert f"Argument `{name}` must be" in str(info.value)
    assert f"Received: {name}={received}" in str(info.value)


def _bad_val_data():
    x, y = ones(2)
    return [
        ("text", "'text'"),
        (42, "42"),
        (x, "ndarray(shape=(8, 1))"),
        ((x,), "tuple(ndarray(shape=(8, 1)))"),
        ((x, y, None, y), "tuple("),
        ((x, y[:-1]), "tuple(ndarray(shape=(8, 1)), ndarray(shape=(7, 1)))"),
        ((x[:0], y[:0]), "tuple(ndarray(shape=(0, 1))"),
        ((x, "labels"), "tuple(ndarray(shape=(8, 1)), 'labels')"),
        (iter([]), "list_iterator"),
    ]


@pytest.mark.parametrize("val_data, received", _bad_val_data(), ids=lambda v: type(v).__name__)
def test_bad_val_data_raises_a_keras_style_error_before_training(val_data, received):
    model = one_weight_model()
    with pytest.raises(ValueError) as info:
        keras_lr.LRFinder(verbose=0).find(model, *ones(2), batch_size=BATCH, val_data=val_data)
    message = str(info.value)
    assert "Argument `val_data` must be" in message
    assert f"Received: val_data={received}" in message
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 0


@pytest.mark.parametrize("val_every", [0, -2, 1.5, None])
def test_bad_val_every(val_every):
    model = one_weight_model()
    with pytest.raises(ValueError, match=rf"Argument `val_every`.*Received: val_every={val_every}"):
        keras_lr.LRFinder(verbose=0).find(
            model, *ones(2), batch_size=BATCH, val_data=ones(1), val_every=val_every
        )
