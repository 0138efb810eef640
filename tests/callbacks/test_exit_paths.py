"""Every way out of `fit` leaves the model as the user had it, checked by weight updates.

For each keras_lr callback that sets the LR (a step scheduler, an epoch
scheduler, the LR finder) and each way a `fit` ends (normally, an exception
in a callback, `KeyboardInterrupt` raised by a callback or during a train
step, `stop_training`), the next plain `fit` of the one-weight model
(gradient 1, `SGD(0.01)`) must move the weight by exactly -0.01 per step, and
the optimizer, its LR variable and the model's train function must be the
user's own objects again.
"""

import keras
import pytest
from exit_path_driver import PATHS, STEPS, RaiseAt, batches, run_path

import keras_lr

LR = 0.01


def owners():
    return {
        "step_scheduler": lambda: keras_lr.WarmupCosineLR(0.5, 40, warmup_steps=3),
        "epoch_scheduler": lambda: keras_lr.ExponentialLR(0.5, 0.5, unit="epoch"),
        "lr_finder": lambda: keras_lr.LRFinder(1e-3, 1.0, num_steps=40, restore=False),
    }


def one_weight_model():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(LR), loss=lambda y_true, y_pred: keras.ops.mean(y_pred, axis=-1))
    return model


def kernel(model):
    return float(keras.ops.convert_to_numpy(model.layers[-1].kernel).reshape(()))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", list(owners()))
def test_every_exit_path_gives_the_model_back(name, path):
    model = one_weight_model()
    model.fit(batches(), epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)  # the user's own train function
    optimizer = model.optimizer
    user_function = model.train_function
    user_lr_variable = optimizer._learning_rate
    user_variables = [id(v) for v in optimizer.variables]
    assert float(keras.ops.convert_to_numpy(user_lr_variable)) == pytest.approx(LR)
    attributes = set(vars(optimizer))
    tracker_attributes = {id(m): set(vars(m)) for m in model.metrics}

    run_path(model, owners()[name](), path)

    # Nothing is left on the optimizer or the metrics, and the LR is the user's.
    assert set(vars(optimizer)) == attributes
    assert {id(m): set(vars(m)) for m in model.metrics} == tracker_attributes
    assert model.optimizer is optimizer
    assert optimizer._learning_rate is user_lr_variable
    assert [id(v) for v in optimizer.variables] == user_variables
    if path in ("normal", "stop_training"):
        assert model.train_function is user_function
        assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(LR)

    # A plain fit trains at the user's LR: -0.01 per step, exactly.
    start = kernel(model)
    model.fit(batches(), epochs=1, steps_per_epoch=STEPS, verbose=0, shuffle=False)
    assert kernel(model) == pytest.approx(start - STEPS * LR, rel=1e-6, abs=1e-7)
    assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(LR)
    assert model.train_function is user_function  # the user's compiled step, not retraced
    assert "make_train_function" not in vars(model)


@pytest.mark.parametrize("name", list(owners()))
def test_a_recompile_after_an_interrupted_fit_is_clean(name):
    model = one_weight_model()
    with pytest.raises(RuntimeError):
        model.fit(batches(), epochs=2, steps_per_epoch=STEPS, verbose=0, shuffle=False, callbacks=[owners()[name](), RaiseAt(RuntimeError)])
    model.compile(optimizer=keras.optimizers.SGD(LR), loss=lambda y_true, y_pred: keras.ops.mean(y_pred, axis=-1))
    start = kernel(model)
    model.fit(batches(), epochs=1, steps_per_epoch=STEPS, verbose=0, shuffle=False)
    assert kernel(model) == pytest.approx(start - STEPS * LR, rel=1e-6, abs=1e-7)


def custom_loop(model, steps, use_apply_gradients=False):
    """A training loop of the user's own (no `fit`): gradient 1 for the one weight, `steps` updates."""
    optimizer = model.optimizer
    variables = model.trainable_variables
    for _ in range(steps):
        grads = [keras.ops.ones(tuple(v.shape)) for v in variables]
        if use_apply_gradients:
            optimizer.apply_gradients(zip(grads, variables))
        else:
            optimizer.apply(grads, variables)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
@pytest.mark.parametrize("name", list(owners()))
def test_after_an_interrupted_fit_a_custom_loop_and_a_plain_fit_use_the_users_lr(name, error):
    model = one_weight_model()
    model.fit(batches(), epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
    with pytest.raises(error):
        # Raised mid-epoch (batch 2 of 6), while the keras_lr callback owns the LR.
        model.fit(batches(), epochs=3, steps_per_epoch=STEPS, verbose=0, shuffle=False, callbacks=[owners()[name](), RaiseAt(error)])
    # Without any fit: w_new = w - lr * g with g = 1 and the user's lr, per update.
    start = kernel(model)
    custom_loop(model, 3)
    assert kernel(model) == pytest.approx(start - 3 * LR, rel=1e-6, abs=1e-7)
    start = kernel(model)
    custom_loop(model, 2, use_apply_gradients=True)
    assert kernel(model) == pytest.approx(start - 2 * LR, rel=1e-6, abs=1e-7)
    # And then a plain fit.
    start = kernel(model)
    model.fit(batches(), epochs=1, steps_per_epoch=STEPS, verbose=0, shuffle=False)
    assert kernel(model) == pytest.approx(start - STEPS * LR, rel=1e-6, abs=1e-7)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(LR)
