"""Tests of `keras_lr.LRFinder`, the LR range test.

Most tests use a one-weight model: `Dense(1, use_bias=False)` with a zero
kernel, fed with ones and trained with plain SGD on `mean(y_pred)`. The
gradient of the loss with respect to the kernel is exactly 1, so every update
subtracts exactly the LR it used: after `n` steps the kernel is
`-(lr_0 + ... + lr_{n-1})`, and the loss of step `i` is the kernel before it.
The expected LRs are the closed forms of the ramp, written out here with numpy.
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
from range_test_oracles import exp_ramp, hand_smoothed, hand_stop_index, lin_ramp

import keras_lr

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ---------------------------------------------------------------- helpers
def mean_prediction(y_true, y_pred):
    """A loss whose gradient with respect to the one-weight kernel is exactly 1."""
    return keras.ops.mean(y_pred)


def one_weight_model(optimizer=None, *, loss=mean_prediction, steps_per_execution=1):
    model = keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros"),
        ]
    )
    model.compile(
        optimizer=optimizer or keras.optimizers.SGD(0.1),
        loss=loss,
        steps_per_execution=steps_per_execution,
    )
    return model


def iterations(model):
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def changed_paths(before, after):
    return {path for (path, old), (_, new) in zip(before, after) if not np.array_equal(old, new)}


class StateProbe(keras.callbacks.Callback):
    """Records the training state at each batch end (after the finder, before any restore)."""

    def __init__(self):
        super().__init__()
        self.states = []

    def on_train_batch_end(self, batch, logs=None):
        self.states.append(training_state(self.model))


class KernelProbe(keras.callbacks.Callback):
    """Records `(optimizer step, kernel)` of the one-weight model at each batch end."""

    def __init__(self):
        super().__init__()
        self.steps, self.kernels = [], []

    def on_train_batch_end(self, batch, logs=None):
        model = self.model  # On JAX, reading `self.model` syncs the training state.
        self.steps.append(iterations(model))
        self.kernels.append(kernel(model))


class RaiseAt(keras.callbacks.Callback):
    def __init__(self, batch, error):
        super().__init__()
        self.batch, self.error = batch, error

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.batch:
            raise self.error


def scripted_run(finder, losses):
    """Feeds `losses` to the finder as batch logs, as `fit` would, until it stops the run.

    Returns the index of the batch after which `model.stop_training` became True, or None.
    """
    model = one_weight_model()
    model.stop_training = False
    finder.set_model(model)
    finder.on_train_begin()
    finder.on_epoch_begin(0)
    stopped_at = None
    try:
        for batch, loss in enumerate(losses):
            finder.on_train_batch_end(batch, {"loss": loss})
            if model.stop_training:
                stopped_at = batch
                break
    finally:
        finder.on_train_end()
    return stopped_at


# ---------------------------------------------------------------- the ramp
@pytest.mark.smoke
@pytest.mark.parametrize(
    "mode, ramp",
    [("exponential", exp_ramp(1e-3, 1.0, 20)), ("linear", lin_ramp(1e-3, 1.0, 20))],
)
def test_each_step_trains_at_the_closed_form_lr(mode, ramp):
    model = one_weight_model()
    probe = KernelProbe()
    finder = keras_lr.LRFinder(1e-3, 1.0, 20, mode=mode, restore=False, verbose=0)
    finder.find(model, *ones(25), batch_size=BATCH, callbacks=[probe])

    assert iterations(model) == 20
    assert_allclose(kernel(model), -ramp.sum(), rtol=1e-5)
    # Step by step: the kernel after step i is -(lr_0 + ... + lr_i).
    assert probe.steps == list(range(1, 21))
    assert_allclose(probe.kernels, -np.cumsum(ramp), rtol=1e-5, atol=1e-8)
    assert_allclose(finder.lrs, ramp, rtol=1e-6)
    assert finder.lrs[0] == pytest.approx(1e-3, rel=1e-6)
    assert finder.lrs[-1] == pytest.approx(1.0, rel=1e-6)
    assert finder.steps == list(range(20))


@pytest.mark.smoke
@pytest.mark.parametrize("mode", ["exponential", "linear"])
def test_first_and_last_steps_use_start_and_end_lr_over_a_wide_range(mode):
    # The finder's defaults span 8 decades: step 0 must still train at 1e-7.
    model = one_weight_model()
    probe = KernelProbe()
    finder = keras_lr.LRFinder(1e-7, 10.0, 10, mode=mode, restore=False, verbose=0)
    finder.find(model, *ones(10), batch_size=BATCH, callbacks=[probe])

    assert probe.kernels[0] == pytest.approx(-1e-7, rel=1e-3)  # the LR of step 0, applied
    assert finder.lrs[0] == pytest.approx(1e-7, rel=1e-6)
    assert finder.lrs[-1] == pytest.approx(10.0, rel=1e-6)
    assert all(lr > 0 for lr in finder.lrs)


@pytest.mark.smoke
def test_recorded_losses_are_the_batch_losses_not_the_running_mean():
    ramp = exp_ramp(1e-3, 1.0, 20)
    model = one_weight_model()
    finder = keras_lr.LRFinder(1e-3, 1.0, 20, restore=False, verbose=0)
    finder.find(model, *ones(20), batch_size=BATCH)

    # The loss of step i is the kernel before it.
    true_losses = -np.concatenate([[0.0], np.cumsum(ramp)[:-1]])
    assert_allclose(finder.raw_losses, true_losses, rtol=1e-5, atol=1e-8)
    assert_allclose(finder.losses, hand_smoothed(true_losses, 0.98), rtol=1e-5, atol=1e-8)


def test_recorded_losses_follow_batches_of_different_inputs():
    # Batch i is filled with the value i + 1: its loss is (i + 1) * w_i and its
    # gradient (i + 1), so w_{i + 1} = w_i - (i + 1) * lr_i.
    n = 10
    ramp = exp_ramp(1e-3, 1e-1, n)
    x = np.repeat(np.arange(1, n + 1, dtype="float32"), BATCH).reshape(-1, 1)
    y = np.zeros_like(x)
    w, true_losses = 0.0, []
    for i in range(n):
        true_losses.append((i + 1) * w)
        w -= (i + 1) * ramp[i]
    running_means = np.cumsum(true_losses) / np.arange(1, n + 1)

    model = one_weight_model()
    finder = keras_lr.LRFinder(1e-3, 1e-1, n, restore=False, verbose=0)
    finder.find(model, x, y, batch_size=BATCH, shuffle=False)

    assert_allclose(kernel(model), w, rtol=1e-5)
    assert_allclose(finder.raw_losses, true_losses, rtol=1e-5, atol=1e-8)
    assert abs(running_means[-1] - true_losses[-1]) > 0.1  # the two really differ
    assert abs(finder.raw_losses[-1] - running_means[-1]) > 0.1


def test_stops_after_num_steps_in_a_longer_fit():
    ramp = exp_ramp(1e-4, 1e-1, 12)
    model = one_weight_model()
    finder = keras_lr.LRFinder(1e-4, 1e-1, 12, restore=False, verbose=0)
    model.fit(*ones(50), batch_size=BATCH, epochs=5, callbacks=[finder], verbose=0)

    assert iterations(model) == 12
    assert len(finder.lrs) == 12
    assert_allclose(kernel(model), -ramp.sum(), rtol=1e-5)
    assert_allclose(finder.lrs, ramp, rtol=1e-6)
    assert finder.stop_reason == "num_steps"
    assert not finder.diverged


@pytest.mark.smoke
def test_as_callback_the_finder_stops_across_epochs_and_counts_steps_by_the_optimizer():
    # 3 batches per epoch: the 10 steps span 4 epochs.
    ramp = exp_ramp(1e-4, 1e-1, 10)
    model = one_weight_model()
    finder = keras_lr.LRFinder(1e-4, 1e-1, 10, restore=False, verbose=0)
    model.fit(*ones(3), batch_size=BATCH, epochs=8, callbacks=[finder], verbose=0)

    assert iterations(model) == 10
    assert_allclose(kernel(model), -ramp.sum(), rtol=1e-5)
    assert_allclose(finder.lrs, ramp, rtol=1e-6)
    assert finder.steps == list(range(10))


# ---------------------------------------------------------------- the stop rule
@pytest.mark.parametrize(
    "losses, beta, stop_factor",
    [
        ([1.0, 0.8, 0.6, 0.5, 0.45, 0.5, 0.8, 1.5, 3.0, 6.0, 12.0, 24.0, 48.0], 0.5, 4.0),
        ([2.0, 1.5, 1.0, 0.9, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0], 0.0, 2.0),
        ([-1.0, -2.0, -3.0, -3.5, -3.0, -2.0, 0.0, 2.0, 5.0, 10.0, 20.0, 40.0], 0.6, 4.0),
        ([-10.0, -12.0, -13.0, -12.5, -11.0, -8.0, -4.0, 1.0, 8.0, 20.0], 0.3, 1.5),
    ],
    ids=["positive", "no-smoothing", "negative", "negative-crossing-zero"],
)
def test_stop_rule_fires_at_the_hand_computed_step(losses, beta, stop_factor):
    smoothed = hand_smoothed(losses, beta)
    expected = hand_stop_index(smoothed, stop_factor)
    assert expected is not None and 2 < expected < len(losses) - 1  # the script is meaningful

    finder = keras_lr.LRFinder(1e-4, 1.0, 100, beta=beta, stop_factor=stop_factor, verbose=0)
    stopped_at = scripted_run(finder, losses)

    assert stopped_at == expected
    assert finder.diverged
    assert finder.stop_reason == "diverged"
    assert finder.raw_losses == losses[: expected + 1]
    assert_allclose(finder.losses, smoothed[: expected + 1], rtol=1e-12)
    assert_allclose(finder.lrs, exp_ramp(1e-4, 1.0, 100)[: expected + 1], rtol=1e-6)
    best = int(np.argmin(smoothed[: expected + 1]))
    assert finder.best_loss == pytest.approx(smoothed[best], rel=1e-12)
    assert finder.best_lr == pytest.approx(exp_ramp(1e-4, 1.0, 100)[best], rel=1e-6)


def test_stop_rule_does_not_fire_below_the_threshold():
    # Rising, but never above 4x the best smoothed loss.
    losses = [1.0, 0.9, 0.8, 0.9, 1.2, 1.6, 2.0, 2.4, 2.6, 2.7]
    smoothed = hand_smoothed(losses, 0.5)
    assert hand_stop_index(smoothed, 4.0) is None

    finder = keras_lr.LRFinder(1e-4, 1.0, 100, beta=0.5, verbose=0)
    assert scripted_run(finder, losses) is None
    assert not finder.diverged
    assert_allclose(finder.losses, smoothed, rtol=1e-12)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_loss_stops_the_run_and_is_not_recorded(bad):
    losses = [1.0, 0.9, 0.8, bad, 0.5, 0.4]
    finder = keras_lr.LRFinder(1e-4, 1.0, 100, verbose=0)
    stopped_at = scripted_run(finder, losses)

    assert stopped_at == 3
    assert finder.diverged
    assert finder.raw_losses == [1.0, 0.9, 0.8]
    assert_allclose(finder.losses, hand_smoothed([1.0, 0.9, 0.8], 0.98), rtol=1e-12)
    assert len(finder.lrs) == 3
    assert all(math.isfinite(v) for v in finder.losses)


# ---------------------------------------------------------------- restore
@pytest.fixture
def empty_cwd(tmp_path, monkeypatch):
    """Runs the test in an empty directory and checks that it is still empty afterwards."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert list(tmp_path.iterdir()) == []


def pretrained_bn_model(optimizer=None):
    model = bn_model(optimizer)
    x, y = regression_data(64)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    return model, x, y


@pytest.mark.smoke
def test_restore_is_bit_identical_with_batchnorm_dropout_and_adam(empty_cwd):
    model, x, y = pretrained_bn_model()
    before = training_state(model)
    lr_before = current_lr(model)
    steps_before = iterations(model)
    assert steps_before == 4

    probe = StateProbe()
    finder = keras_lr.LRFinder(1e-4, 1.0, 12, verbose=0)
    finder.find(model, x, y, batch_size=16, callbacks=[probe])

    assert len(finder.lrs) == 12
    # During the test, every kind of state moved ...
    moved = changed_paths(before, probe.states[-1])
    kinds = ["kernel", "moving_mean", "moving_variance", "iteration"]
    if keras.config.backend() != "torch":  # Keras' torch Dropout leaves its seed state as is.
        kinds.append("seed_generator_state")
    for kind in kinds:
        assert any(kind in path for path in moved), f"no {kind} changed: {sorted(moved)}"
    assert any("adam" in path and "momentum" in path for path in moved)
    # ... and all of it is back, bit for bit.
    assert_same_state(before, training_state(model))
    assert iterations(model) == steps_before
    assert current_lr(model) == lr_before


@pytest.mark.smoke
def test_restore_puts_back_a_float_lr_that_training_then_uses(empty_cwd):
    model = one_weight_model(keras.optimizers.SGD(0.1))
    model.fit(*ones(2), batch_size=BATCH, verbose=0)
    assert kernel(model) == pytest.approx(-0.2, rel=1e-6)
    before = training_state(model)

    keras_lr.LRFinder(1e-3, 10.0, 15, verbose=0).find(model, *ones(15), batch_size=BATCH)

    assert_same_state(before, training_state(model))
    assert current_lr(model) == pytest.approx(0.1, rel=1e-7)
    model.fit(*ones(1), batch_size=BATCH, verbose=0)
    assert kernel(model) == pytest.approx(-0.3, rel=1e-6)


def test_restore_after_a_nan_loss(empty_cwd):
    # loss = mean(sqrt(1 + w)): it falls as w falls towards -1, and once the
    # growing LR throws w below -1 the loss and the gradient are NaN.
    def sqrt_loss(y_true, y_pred):
        return keras.ops.mean(keras.ops.sqrt(1.0 + y_pred))

    model = one_weight_model(keras.optimizers.Adam(1e-3), loss=sqrt_loss)
    model.fit(*ones(3), batch_size=BATCH, verbose=0)
    before = training_state(model)

    probe = KernelProbe()
    finder = keras_lr.LRFinder(1e-3, 10.0, 40, verbose=0)
    finder.find(model, *ones(40), batch_size=BATCH, callbacks=[probe])

    assert finder.diverged
    assert finder.stop_reason == "nan"
    assert math.isnan(probe.kernels[-1])  # the weights really were destroyed
    assert len(finder.lrs) < 40
    assert len(finder.raw_losses) == len(probe.kernels) - 1  # the NaN step is not recorded
    assert all(math.isfinite(v) for v in finder.raw_losses + finder.losses)
    assert_same_state(before, training_state(model))
    assert math.isfinite(kernel(model))


@pytest.mark.smoke
def test_restore_gives_the_optimizer_its_own_schedule_back(empty_cwd):
    # The schedule's LR at step k is 0.1 * 0.5 ** k.
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    model = one_weight_model(keras.optimizers.SGD(schedule))
    model.fit(*ones(2), batch_size=BATCH, verbose=0)
    assert kernel(model) == pytest.approx(-0.15, rel=1e-6)
    before = training_state(model)

    probe = KernelProbe()
    finder = keras_lr.LRFinder(1e-3, 1.0, 8, verbose=0)
    finder.find(model, *ones(8), batch_size=BATCH, callbacks=[probe])

    # The ramp, not the schedule, drove the test.
    assert_allclose(probe.kernels, -0.15 - np.cumsum(exp_ramp(1e-3, 1.0, 8)), rtol=1e-5)
    assert_same_state(before, training_state(model))
    assert model.optimizer._learning_rate is schedule
    model.fit(*ones(1), batch_size=BATCH, verbose=0)
    assert kernel(model) == pytest.approx(-0.15 - 0.1 * 0.5**2, rel=1e-6)


def test_ramp_and_restore_under_mixed_float16(empty_cwd):
    keras.mixed_precision.set_global_policy("mixed_float16")
    ramp = exp_ramp(1e-3, 1.0, 10)
    model = one_weight_model()
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    finder = keras_lr.LRFinder(1e-3, 1.0, 10, restore=False, verbose=0)
    finder.find(model, *ones(10), batch_size=BATCH)
    assert_allclose(kernel(model), -ramp.sum(), rtol=1e-5)
    assert_allclose(finder.lrs, ramp, rtol=1e-6)

    model, x, y = pretrained_bn_model()
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    before = training_state(model)
    assert any("step_counter" in path for path, _ in before)  # the loss scale's state
    probe = StateProbe()
    keras_lr.LRFinder(1e-4, 1.0, 8, verbose=0).find(model, x, y, batch_size=16, callbacks=[probe])
    assert any("step_counter" in path for path in changed_paths(before, probe.states[-1]))
    assert_same_state(before, training_state(model))


@pytest.mark.smoke
@pytest.mark.parametrize(
    "error", [RuntimeError("boom"), KeyboardInterrupt()], ids=lambda e: type(e).__name__
)
def test_model_is_intact_after_an_error_mid_run(error, empty_cwd):
    model = one_weight_model(keras.optimizers.SGD(0.1))
    model.fit(*ones(2), batch_size=BATCH, verbose=0)
    before = training_state(model)

    finder = keras_lr.LRFinder(1e-3, 1.0, 20, verbose=0)
    with pytest.raises(type(error)):
        finder.find(model, *ones(20), batch_size=BATCH, callbacks=[RaiseAt(5, error)])

    assert len(finder.lrs) == 6
    assert_same_state(before, training_state(model))
    assert current_lr(model) == pytest.approx(0.1, rel=1e-7)
    model.fit(*ones(1), batch_size=BATCH, verbose=0)
    assert kernel(model) == pytest.approx(-0.3, rel=1e-6)


@pytest.mark.smoke
def test_as_callback_restores_in_on_train_end():
    model = one_weight_model()
    model.fit(*ones(1), batch_size=BATCH, verbose=0)
    before = training_state(model)
    finder = keras_lr.LRFinder(1e-3, 1.0, 6, verbose=0)
    model.fit(*ones(10), batch_size=BATCH, epochs=2, callbacks=[finder], verbose=0)
    assert len(finder.lrs) == 6
    assert_same_state(before, training_state(model))


# ---------------------------------------------------------------- find() and its data
class Batches(keras.utils.PyDataset):
    def __init__(self, batches, as_list=False):
        super().__init__()
        self.batches, self.as_list = batches, as_list

    def __len__(self):
        return self.batches

    def __getitem__(self, index):
        x, y = ones(1)
        return [x, y] if self.as_list else (x, y)


def make_data(kind, batches):
    """`(x, y, batch_size)` for `find()` holding `batches` batches of ones."""
    x, y = ones(batches)
    if kind == "numpy":
        return x, y, BATCH
    if kind == "numpy-partial-batch":
        return x[:-2], y[:-2], BATCH
    if kind == "generator":
        return (ones(1) for _ in range(batches)), None, None
    if kind == "pydataset":
        return Batches(batches), None, None
    if kind == "pydataset-of-lists":  # `fit` takes `[x, y]` batches from a PyDataset
        return Batches(batches, as_list=True), None, None
    if kind == "tf.data-unknown-cardinality":
        import tensorflow as tf

        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH).filter(lambda *a: True)
        assert int(ds.cardinality()) == int(tf.data.UNKNOWN_CARDINALITY)
        return ds, None, None
    if kind == "torch-loader":
        import torch

        # A TensorDataset's loader yields `[x, y]` lists, which `fit` takes as they are.
        dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        return torch.utils.data.DataLoader(dataset, batch_size=BATCH), None, None
    if kind == "torch-loader-of-tuples":
        import torch

        dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=BATCH, collate_fn=lambda b: tuple(map(torch.stack, zip(*b)))
        )
        return loader, None, None
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "numpy",
        "numpy-partial-batch",
        "generator",
        "pydataset",
        "pydataset-of-lists",
        pytest.param("tf.data-unknown-cardinality", marks=pytest.mark.backends("tensorflow")),
        pytest.param("torch-loader", marks=pytest.mark.backends("torch")),
        pytest.param("torch-loader-of-tuples", marks=pytest.mark.backends("torch")),
    ],
)
def test_find_runs_exactly_num_steps_on_short_data(kind):
    ramp = exp_ramp(1e-3, 1.0, 10)
    x, y, batch_size = make_data(kind, 3)
    model = one_weight_model()
    finder = keras_lr.LRFinder(1e-3, 1.0, 10, restore=False, verbose=0)

    assert finder.find(model, x, y, batch_size=batch_size) is finder
    assert iterations(model) == 10
    assert_allclose(kernel(model), -ramp.sum(), rtol=1e-5)
    assert_allclose(finder.lrs, ramp, rtol=1e-6)
    assert finder.stop_reason == "num_steps"


def test_find_num_steps_overrides_the_constructor():
    ramp = exp_ramp(1e-3, 1.0, 7)
    model = one_weight_model()
    finder = keras_lr.LRFinder(1e-3, 1.0, 50, restore=False, verbose=0)
    finder.find(model, *ones(3), batch_size=BATCH, num_steps=7)
    assert iterations(model) == 7
    assert_allclose(kernel(model), -ramp.sum(), rtol=1e-5)
    assert_allclose(finder.lrs, ramp, rtol=1e-6)


def test_verbose_shows_the_progress_bar(capsys):
    model = one_weight_model()
    keras_lr.LRFinder(1e-3, 1.0, 5, verbose=1).find(model, *ones(5), batch_size=BATCH)
    out = capsys.readouterr().out
    assert "step" in out
    assert "LRFinder" in out


def test_quiet_by_verbose_0(capsys):
    model = one_weight_model()
    keras_lr.LRFinder(1e-3, 1.0, 5, verbose=0).find(model, *ones(5), batch_size=BATCH)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "kwargs",
    [{"epochs": 3}, {"steps_per_epoch": 2}, {"initial_epoch": 1}],
    ids=lambda k: next(iter(k)),
)
def test_find_rejects_fit_arguments_it_sets(kwargs):
    model = one_weight_model()
    name, value = next(iter(kwargs.items()))
    with pytest.raises(ValueError, match=f"`{name}`.*Received: {name}={value}"):
        keras_lr.LRFinder(verbose=0).find(model, *ones(2), batch_size=BATCH, **kwargs)


def test_find_rejects_targets_or_batch_size_with_a_generator():
    model = one_weight_model()
    finder = keras_lr.LRFinder(verbose=0)
    with pytest.raises(ValueError, match="`y`"):
        finder.find(model, (ones(1) for _ in range(3)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="`batch_size`"):
        finder.find(model, (ones(1) for _ in range(3)), batch_size=4)


def test_find_needs_a_compiled_model():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="compile"):
        keras_lr.LRFinder(verbose=0).find(model, *ones(2), batch_size=BATCH)


# ---------------------------------------------------------------- steps_per_execution
@pytest.mark.smoke
@pytest.mark.backends("tensorflow", "jax")
def test_steps_per_execution_keeps_the_ramp_exact():
    ramp = exp_ramp(1e-3, 1.0, 12)
    model = one_weight_model(steps_per_execution=4)
    finder = keras_lr.LRFinder(1e-3, 1.0, 12, restore=False, verbose=0)
    finder.find(model, *ones(12), batch_size=BATCH)

    assert iterations(model) == 12
    assert_allclose(kernel(model), -ramp.sum(), rtol=1e-5)
    # One point per execution: the last batch of each, at its LR, with its loss.
    assert finder.steps == [3, 7, 11]
    assert_allclose(finder.lrs, ramp[[3, 7, 11]], rtol=1e-6)
    loss_before = -np.concatenate([[0.0], np.cumsum(ramp)])
    assert_allclose(finder.raw_losses, loss_before[[3, 7, 11]], rtol=1e-5)


@pytest.mark.backends("tensorflow", "jax")
def test_steps_per_execution_with_a_partial_last_execution():
    # 10 steps in executions of 4: 4 + 4 + 2.
    ramp = exp_ramp(1e-3, 1.0, 10)
    model = one_weight_model(steps_per_execution=4)
    finder = keras_lr.LRFinder(1e-3, 1.0, 10, restore=False, verbose=0)
    finder.find(model, *ones(10), batch_size=BATCH)

    assert iterations(model) == 10
    assert_allclose(kernel(model), -ramp.sum(), rtol=1e-5)
    assert 2 <= len(finder.lrs) <= 3
    assert finder.steps[-1] == 9
    assert_allclose(finder.lrs, ramp[finder.steps], rtol=1e-6)


@pytest.mark.backends("tensorflow", "jax")
def test_steps_per_execution_restores_the_model():
    model = bn_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", steps_per_execution=4)
    x, y = regression_data(64)
    model.fit(x, y, batch_size=16, verbose=0)
    before = training_state(model)
    keras_lr.LRFinder(1e-4, 1.0, 8, verbose=0).find(model, x, y, batch_size=8)
    assert_same_state(before, training_state(model))


# ---------------------------------------------------------------- arguments
@pytest.mark.parametrize(
    "kwargs, name, received",
    [
        ({"start_lr": 0.0}, "start_lr", "0.0"),
        ({"start_lr": -1e-3}, "start_lr", "-0.001"),
        ({"start_lr": 1e-2, "end_lr": 1e-2}, "end_lr", "0.01"),
        ({"start_lr": 1.0, "end_lr": 0.5}, "end_lr", "0.5"),
        ({"num_steps": 1}, "num_steps", "1"),
        ({"num_steps": 0}, "num_steps", "0"),
        ({"beta": 1.0}, "beta", "1.0"),
        ({"beta": -0.1}, "beta", "-0.1"),
        ({"stop_factor": 1.0}, "stop_factor", "1.0"),
        ({"stop_factor": 0.5}, "stop_factor", "0.5"),
        ({"mode": "cosine"}, "mode", "'cosine'"),
    ],
)
def test_bad_arguments_raise_keras_style_errors(kwargs, name, received):
    with pytest.raises(ValueError) as info:
        keras_lr.LRFinder(**kwargs)
    message = str(info.value)
    assert f"`{name}`" in message
    assert f"Received: {name}={received}" in message


def test_find_rejects_bad_num_steps():
    model = one_weight_model()
    with pytest.raises(ValueError, match="num_steps=1"):
        keras_lr.LRFinder(verbose=0).find(model, *ones(2), batch_size=BATCH, num_steps=1)


def finder_with_curve(lrs, losses):
    finder = keras_lr.LRFinder(verbose=0)
    run = keras_lr.RangeTestRun(list(range(len(lrs))), list(lrs), list(losses), list(losses))
    finder.result = keras_lr.RangeTest([run], finder.get_config())
    return finder


def test_unknown_suggestion_method():
    lrs = exp_ramp(1e-4, 1.0, 30)
    finder = finder_with_curve(lrs, 1.0 - np.linspace(0, 0.5, 30))
    with pytest.raises(ValueError) as info:
        finder.suggestion("bogus")
    assert "`method`" in str(info.value) and "'bogus'" in str(info.value)


@pytest.mark.parametrize("method", ["consensus", "valley", "steepest", "minimum"])
def test_too_few_points_for_a_suggestion(method):
    finder = finder_with_curve([1e-3, 1e-2, 1e-1], [1.0, 0.5, 0.7])
    with pytest.raises(ValueError, match="(?i)too few points"):
        finder.suggestion(method)
    with pytest.raises(ValueError, match="(?i)too few points"):
        finder.suggest_range()


# ---------------------------------------------------------------- results
def test_suggestions_of_a_recorded_curve():
    # On the one-weight model the loss falls at every step.
    model = one_weight_model()
    finder = keras_lr.LRFinder(1e-3, 1.0, 30, verbose=0).find(model, *ones(30), batch_size=BATCH)
    ramp = exp_ramp(1e-3, 1.0, 30)
    smoothed = hand_smoothed(-np.concatenate([[0.0], np.cumsum(ramp)[:-1]]), 0.98)
    # The whole curve is one descending stretch: the valley is its middle point,
    # and the minimum is at the last LR.
    assert np.all(np.diff(smoothed) < 0)
    assert finder.suggestion("valley") == pytest.approx(ramp[29 // 2], rel=1e-6)
    assert finder.suggestion("minimum") == pytest.approx(ramp[-1] / 10, rel=1e-6)
    base, top = finder.suggest_range()
    assert ramp[0] * (1 - 1e-6) <= base < top <= ramp[-1] * (1 + 1e-6)


@pytest.mark.parametrize("diverge", [False, True], ids=["complete", "diverged"])
def test_save_and_load_round_trip(tmp_path, diverge):
    if diverge:
        finder = keras_lr.LRFinder(1e-4, 1.0, 100, beta=0.5, verbose=0)
        losses = [3.0, 2.5, 2.0, 1.6, 1.3, 1.1, 1.0, 0.95, 0.9, 0.92]
        losses += [0.9 - 0.02 * i for i in range(12)] + [1.0, 2.0, 4.0, 8.0, 16.0]
        assert scripted_run(finder, losses) is not None
    else:
        model = one_weight_model()
        finder = keras_lr.LRFinder(1e-3, 1.0, 25, verbose=0)
        finder.find(model, *ones(25), batch_size=BATCH)
    path = tmp_path / "finder.json"
    finder.save(path)

    with open(path, encoding="utf-8") as f:
        saved = json.load(f)
    assert saved["lrs"] == finder.lrs
    assert saved["losses"] == finder.losses

    loaded = keras_lr.LRFinder.load(path)
    assert loaded.lrs == finder.lrs
    assert loaded.losses == finder.losses
    assert loaded.raw_losses == finder.raw_losses
    assert loaded.steps == finder.steps
    assert loaded.best_lr == finder.best_lr
    assert loaded.best_loss == finder.best_loss
    assert loaded.diverged is finder.diverged is diverge
    assert loaded.get_config() == finder.get_config()
    for method in ("consensus", "valley", "steepest", "minimum"):
        assert loaded.suggestion(method) == finder.suggestion(method)
    assert loaded.suggest_range() == finder.suggest_range()


def test_results_are_reset_by_a_second_run():
    model = one_weight_model()
    finder = keras_lr.LRFinder(1e-3, 1.0, 6, verbose=0)
    finder.find(model, *ones(6), batch_size=BATCH)
    finder.find(model, *ones(6), batch_size=BATCH, num_steps=4)
    assert len(finder.lrs) == len(finder.losses) == len(finder.raw_losses) == 4
    assert_allclose(finder.lrs, exp_ramp(1e-3, 1.0, 4), rtol=1e-6)


# ---------------------------------------------------------------- a real range test
def digits_model():
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    return model


def compile_digits(model, lr):
    model.compile(
        optimizer=keras.optimizers.Adam(lr),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


@pytest.mark.slow
def test_range_test_on_digits_finds_a_good_learning_rate():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    y = y.astype("int32")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    x_train, y_train, x_val, y_val = x[:1400], y[:1400], x[1400:], y[1400:]

    template = digits_model()
    initial = template.get_weights()

    def train_at(lr):
        model = digits_model()
        model.set_weights(initial)
        compile_digits(model, lr)
        model.fit(x_train, y_train, batch_size=32, epochs=5, verbose=0)
        return model.evaluate(x_val, y_val, verbose=0)[1]

    finder_model = digits_model()
    finder_model.set_weights(initial)
    compile_digits(finder_model, 1e-3)
    finder = keras_lr.LRFinder(1e-5, 10.0, 120, verbose=0)
    finder.find(finder_model, x_train, y_train, batch_size=32)
    assert len(finder.lrs) >= 60
    # The loss fell well below its start before it diverged.
    assert min(finder.losses) < 0.7 * finder.losses[0]

    lr = finder.suggestion("valley")
    assert 1e-5 < lr < 10.0
    good = train_at(lr)
    assert good >= 0.9, f"valley lr={lr:.3g} reached only {good:.3f}"
    default_lr = finder.suggestion()  # the default method
    default = train_at(default_lr)
    assert default >= 0.9, f"default suggestion lr={default_lr:.3g} reached only {default:.3f}"
    # The end of the ramp, where the loss diverged, is clearly worse.
    bad = train_at(10.0)
    assert bad < good - 0.2, f"lr=10 reached {bad:.3f}, the suggestion {good:.3f}"


# ---------------------------------------------------------------- distribution
@pytest.mark.backends("jax")
def test_jax_data_parallel_ramp_and_restore():
    devices = keras.distribution.list_devices("cpu")
    assert len(devices) == 4
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))

    ramp = exp_ramp(1e-3, 1.0, 12)
    model = one_weight_model()
    finder = keras_lr.LRFinder(1e-3, 1.0, 12, restore=False, verbose=0)
    finder.find(model, *ones(12, batch_size=8), batch_size=8)
    assert iterations(model) == 12
    assert_allclose(kernel(model), -ramp.sum(), rtol=1e-5)
    assert_allclose(finder.lrs, ramp, rtol=1e-6)

    model, x, y = pretrained_bn_model()
    before = training_state(model)
    keras_lr.LRFinder(1e-4, 1.0, 8, verbose=0).find(model, x, y, batch_size=16)
    assert_same_state(before, training_state(model))


@pytest.mark.backends("tensorflow")
def test_tf_mirrored_strategy_ramp_and_restore(mirrored_strategy):

    strategy = mirrored_strategy
    assert strategy.num_replicas_in_sync == 4
    ramp = exp_ramp(1e-3, 1.0, 8)
    x = np.ones((64, 1), "float32")
    y = np.full((64, 1), -1000.0, "float32")  # |w + 1000| = w + 1000: gradient 1
    with strategy.scope():
        model = one_weight_model(loss=keras.losses.MeanAbsoluteError())
    finder = keras_lr.LRFinder(1e-3, 1.0, 8, restore=False, verbose=0)
    finder.find(model, x, y, batch_size=8)
    assert iterations(model) == 8
    assert_allclose(kernel(model), -ramp.sum(), rtol=1e-5)
    assert_allclose(finder.lrs, ramp, rtol=1e-6)
    true_losses = 1000.0 - np.concatenate([[0.0], np.cumsum(ramp)[:-1]])
    assert_allclose(finder.raw_losses, true_losses, rtol=0, atol=1e-3)

    with strategy.scope():
        model = bn_model()
    x, y = regression_data(64)
    model.fit(x, y, batch_size=16, verbose=0)
    before = training_state(model)
    keras_lr.LRFinder(1e-4, 1.0, 6, verbose=0).find(model, x, y, batch_size=16)
    assert_same_state(before, training_state(model))
