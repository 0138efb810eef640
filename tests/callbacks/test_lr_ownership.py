"""What keras_lr refuses rather than get the LR or the loss silently wrong, and sharding it keeps."""

import keras
import numpy as np
import pytest
from finder_models import assert_same_state, regression_data, training_state

import keras_lr


class OwnLossMetric(keras.Sequential):
    """A `train_step` that reports its own running `Mean("loss")`, as many tutorials write it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.own_loss = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.own_loss]

    def train_step(self, *args):
        backend = keras.config.backend()
        if backend == "jax":
            return self._jax_step(*args)
        x, y = args[0]
        if backend == "tensorflow":
            import tensorflow as tf

            with tf.GradientTape() as tape:
                loss = keras.ops.mean(keras.ops.square(self(x, training=True) - y))
            grads = tape.gradient(loss, self.trainable_variables)
        else:
            self.zero_grad()
            loss = keras.ops.mean(keras.ops.square(self(x, training=True) - y))
            loss.backward()
            grads = [v.value.grad for v in self.trainable_variables]
        self.optimizer.apply(grads, self.trainable_variables)
        self.own_loss.update_state(loss)
        return {"loss": self.own_loss.result()}

    def _jax_step(self, state, data):
        import jax

        trainable, non_trainable, optimizer_variables, metrics_variables = state
        x, y = data

        def loss_fn(trainable):
            y_pred, new_non_trainable = self.stateless_call(trainable, non_trainable, x, training=True)
            return keras.ops.mean(keras.ops.square(y_pred - y)), new_non_trainable

        (loss, new_non_trainable), grads = jax.value_and_grad(loss_fn, has_aux=True)(trainable)
        trainable, optimizer_variables = self.optimizer.stateless_apply(optimizer_variables, grads, trainable)
        metrics_variables = self.own_loss.stateless_update_state(metrics_variables, loss)
        logs = {"loss": self.own_loss.stateless_result(metrics_variables)}
        return logs, (trainable, new_non_trainable, optimizer_variables, metrics_variables)


def own_loss_model():
    model = OwnLossMetric([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    return model


def test_a_train_step_with_its_own_loss_metric_is_refused():
    model = own_loss_model()
    x, y = regression_data(64)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # it trains: only the range test refuses
    before = training_state(model)
    finder = keras_lr.LRFinder(1e-4, 1.0, 8, verbose=0)
    with pytest.raises(ValueError, match="not the model's own loss tracker"):
        finder.find(model, x, y, batch_size=8)
    assert_same_state(before, training_state(model))
    assert finder.result is None  # no curve of running means was recorded


def test_the_same_model_without_the_override_records_batch_losses():
    """The control: `compute_loss` and the model's tracker give one batch's loss per step."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mae")
    x = np.ones((32, 1), "float32")
    y = np.full((32, 1), -100.0, "float32")  # |w + 100| = w + 100: gradient 1, so w = -sum(lrs)
    finder = keras_lr.LRFinder(1e-3, 1.0, 8, restore=False, verbose=0)
    finder.find(model, x, y, batch_size=4)
    lrs = np.asarray(finder.lrs)
    # The loss of batch i is computed before update i: 100 - sum(lrs[:i]), a batch loss, not a mean.
    expected = 100.0 - np.concatenate([[0.0], np.cumsum(lrs)[:-1]])
    np.testing.assert_allclose(finder.raw_losses, expected, rtol=0, atol=1e-4)


def test_gradient_accumulation_is_refused_by_the_finder():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01, gradient_accumulation_steps=2), loss="mse")
    before = training_state(model) if model.optimizer.built else None
    x, y = regression_data(32)
    with pytest.raises(ValueError, match="gradient_accumulation_steps=2"):
        keras_lr.LRFinder(1e-4, 1.0, 8, verbose=0).find(model, x, y, batch_size=4)
    if before is not None:
        assert_same_state(before, training_state(model))


def test_a_multi_optimizer_is_refused_by_the_finder():
    multi = getattr(keras.optimizers, "MultiOptimizer", None)
    if multi is None:
        pytest.skip("this Keras has no MultiOptimizer")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=multi(keras.optimizers.OptimizerMap(keras.optimizers.SGD(0.5))), loss="mse")
    x, y = regression_data(32)
    with pytest.raises(ValueError, match="cannot follow the learning rate of a `MultiOptimizer`"):
        keras_lr.LRFinder(1e-4, 1.0, 8, verbose=0).find(model, x, y, batch_size=4)


@pytest.mark.backends("jax")
def test_jax_model_parallel_finder_restores_bit_identically_and_keeps_the_sharding():
    devices = keras.distribution.list_devices("cpu")
    assert len(devices) == 4
    mesh = keras.distribution.DeviceMesh((2, 2), axis_names=("batch", "model"), devices=devices)
    layout_map = keras.distribution.LayoutMap(mesh)
    layout_map[".*dense_wide/kernel"] = (None, "model")
    layout_map[".*dense_wide/bias"] = ("model",)
    layout_map[".*dense_out/kernel"] = ("model", None)
    keras.distribution.set_distribution(keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch"))

    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, name="dense_wide"),
            keras.layers.Dense(1, name="dense_out"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    x, y = regression_data(64)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    wide = model.layers[0].kernel
    sharding = wide.value.sharding
    assert len(sharding.device_set) == 4 and not sharding.is_fully_replicated
    before = training_state(model)

    finder = keras_lr.LRFinder(1e-4, 1.0, 8, verbose=0)
    finder.find(model, x, y, batch_size=16)

    assert len(finder.lrs) > 0
    assert_same_state(before, training_state(model))
    assert model.layers[0].kernel.value.sharding == sharding
    # And a plain fit afterwards trains with the user's optimizer on the same layout.
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert model.layers[0].kernel.value.sharding == sharding


def one_weight_model(lr=0.01):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(lr), loss=lambda y_true, y_pred: keras.ops.mean(y_pred, axis=-1))
    return model


def kernel(model):
    return float(keras.ops.convert_to_numpy(model.layers[-1].kernel).reshape(()))


ONES = (np.ones((32, 1), "float32"), np.zeros((32, 1), "float32"))


def assert_trains_at_the_users_lr(model, lr=0.01):
    start = kernel(model)
    model.fit(*ONES, batch_size=8, epochs=1, verbose=0, shuffle=False)  # 4 updates, gradient 1
    assert kernel(model) == pytest.approx(start - 4 * lr, rel=1e-6, abs=1e-7)


def test_two_finders_in_one_fit_are_refused_naming_both():
    model = one_weight_model()
    first, second = keras_lr.LRFinder(1e-3, 1.0, 8, verbose=0), keras_lr.LRFinder(1e-2, 1.0, 8, verbose=0)
    with pytest.raises(ValueError, match="two `LRFinder` callbacks both set the learning rate in this `fit`"):
        model.fit(*ONES, batch_size=4, epochs=1, verbose=0, callbacks=[first, second])
    assert first.result is None and second.result is None  # no curve paired with another finder's LRs
    assert kernel(model) == 0.0  # refused before any step
    assert_trains_at_the_users_lr(model)


@pytest.mark.parametrize("other", ["WarmupCosineLR", "CyclicLR", "ExponentialLR"])
def test_a_finder_and_a_scheduler_in_one_fit_are_refused_naming_both(other):
    schedulers = {
        "WarmupCosineLR": lambda: keras_lr.WarmupCosineLR(0.1, 100, warmup_steps=5),
        "CyclicLR": lambda: keras_lr.CyclicLR(0.01, 0.1, step_size=4),
        "ExponentialLR": lambda: keras_lr.ExponentialLR(0.1, 0.5),
    }
    model = one_weight_model()
    finder = keras_lr.LRFinder(1e-3, 1.0, 8, verbose=0)
    with pytest.raises(ValueError, match=f"`LRFinder` and `{other}` both set the learning rate") as raised:
        model.fit(*ONES, batch_size=4, epochs=1, verbose=0, callbacks=[finder, schedulers[other]()])
    assert "own loss metric" not in str(raised.value)
    with pytest.raises(ValueError, match=f"`LRFinder` and `{other}` both set the learning rate"):
        keras_lr.LRFinder(1e-3, 1.0, 8, verbose=0).find(model, *ONES, batch_size=4, callbacks=[schedulers[other]()])
    # Scheduler first: the same error, the other way round.
    with pytest.raises(ValueError, match=f"`{other}` and `LRFinder` both set the learning rate"):
        model.fit(*ONES, batch_size=4, epochs=1, verbose=0, callbacks=[schedulers[other](), keras_lr.LRFinder(1e-3, 1.0, 8, verbose=0)])
    assert kernel(model) == 0.0
    assert_trains_at_the_users_lr(model)
