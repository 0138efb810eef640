"""Every way out of a momentum-cycling `fit` gives the optimizer back with the user's momentum.

For each optimizer family (SGD's and RMSprop's `momentum`, Adam's `beta_1`)
and each way a `fit` ends (normally, an exception or a `KeyboardInterrupt`
raised by a callback mid-epoch, a `KeyboardInterrupt` inside the train
function, `stop_training`), the optimizer's `momentum`/`beta_1` is the user's
Python float again, nothing keras_lr set is left on it, and the next plain
`fit` of the one-weight model (gradient 1) moves the weight exactly as
Keras' update with the user's momentum, written out by hand below.
"""

import keras
import numpy as np
import pytest
from exit_path_driver import PATHS, STEPS, batches, run_path

import keras_lr

LR = 0.01
def kernel(model):
    return float(keras.ops.convert_to_numpy(model.layers[-1].kernel).reshape(()))

OPTIMIZERS = {
    "sgd": (lambda: keras.optimizers.SGD(LR, momentum=0.9), "momentum", 0.9),
    "rmsprop": (lambda: keras.optimizers.RMSprop(LR, momentum=0.5), "momentum", 0.5),
    "adam": (lambda: keras.optimizers.Adam(LR, beta_1=0.8), "beta_1", 0.8),
}


def plain_steps(name, w, state, n):
    """Keras' update of `name` with the user's momentum and gradient 1, `n` steps, float32."""
    f = np.float32
    g = f(1)
    for _ in range(n):
        if name == "sgd":
            state["m"] = f(0.9) * state["m"] - f(LR) * g
            w = w + state["m"]
        elif name == "rmsprop":
            state["v"] = f(0.9) * state["v"] + f(0.1) * g * g
            state["m"] = f(0.5) * state["m"] + f(LR) * g / np.sqrt(state["v"] + f(1e-7))
            w = w - state["m"]
        else:
            state["t"] += 1
            t = f(state["t"])
            state["m"] = state["m"] + (g - state["m"]) * (f(1) - f(0.8))
            state["v"] = state["v"] + (g * g - state["v"]) * (f(1) - f(0.999))
            alpha = f(LR) * np.sqrt(f(1) - f(0.999) ** t) / (f(1) - f(0.8) ** t)
            w = w - state["m"] * alpha / (np.sqrt(state["v"]) + f(1e-7))
    return w


def state_of(name, optimizer):
    """The hand update's state, read from the optimizer's slots."""
    if name == "sgd":
        return {"m": _slot(optimizer, "momentum")}
    if name == "rmsprop":
        return {"m": _slot(optimizer, "momentum"), "v": _slot(optimizer, "velocity")}
    return {
        "m": _slot(optimizer, "momentum"),
        "v": _slot(optimizer, "velocity"),
        "t": int(keras.ops.convert_to_numpy(optimizer.iterations)),
    }


def _slot(optimizer, kind):
    found = [v for v in optimizer.variables if v.path.split("/")[-1].endswith(kind)]
    assert len(found) == 1, [v.path for v in optimizer.variables]
    return np.float32(np.asarray(keras.ops.convert_to_numpy(found[0])).reshape(-1)[0])


def model_with(optimizer):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=optimizer, loss=lambda y_true, y_pred: keras.ops.mean(y_pred, axis=-1))
    return model


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_exit_path_gives_the_users_momentum_back(name, path):
    make, attribute, user_value = OPTIMIZERS[name]
    model = model_with(make())
    model.fit(batches(), epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)  # the user's own train function
    optimizer = model.optimizer
    attributes = set(vars(optimizer))

    owner = keras_lr.OneCycleLR(0.5, 40, cycle_momentum=True, base_momentum=0.3, max_momentum=0.6)
    run_path(model, owner, path)

    value = getattr(optimizer, attribute)
    assert type(value) is float and value == user_value
    assert set(vars(optimizer)) == attributes  # no instance-level method or value is left
    assert "_backend_update_step" not in vars(optimizer)
    assert "_get_current_learning_rate" not in vars(optimizer)

    # A plain fit uses the user's momentum: Keras' update by hand from the current slots.
    start = np.float32(kernel(model))
    expected = plain_steps(name, start, state_of(name, optimizer), STEPS)
    model.fit(batches(), epochs=1, steps_per_epoch=STEPS, verbose=0, shuffle=False)
    assert kernel(model) == pytest.approx(float(expected), rel=1e-5, abs=1e-6)
