"""The small models, data and state readers the finder tests share."""

import keras
import numpy as np

BATCH = 4


def bn_model(optimizer=None, metrics=None):
    """A model with every kind of state: weights, BatchNorm statistics, a Dropout seed."""
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=optimizer or keras.optimizers.Adam(1e-3), loss="mse", metrics=metrics)
    return model


def regression_data(samples, seed=0):
    """`(x, y)`: `samples` Gaussian inputs of 4 features and a linear target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]], "float32") + 0.1).astype("float32")
    return x, y


def ones(batches, batch_size=BATCH):
    """`(x, y)`: `batches` batches of ones, with zero targets."""
    samples = batches * batch_size
    return np.ones((samples, 1), "float32"), np.zeros((samples, 1), "float32")


def kernel(model):
    return float(keras.ops.convert_to_numpy(model.layers[-1].kernel).reshape(()))


def current_lr(model):
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


def training_state(model):
    """`(path, value)` of every model variable and every optimizer variable."""
    optimizers = [model.optimizer]
    inner = getattr(model.optimizer, "inner_optimizer", None)
    if inner is not None:
        optimizers.append(inner)
    variables, seen = [], set()
    for variable in [*model.variables, *(v for o in optimizers for v in o.variables)]:
        if id(variable) not in seen:
            seen.add(id(variable))
            variables.append(variable)
    return [(v.path, np.array(keras.ops.convert_to_numpy(v), copy=True)) for v in variables]


def assert_same_state(before, after, ignore=()):
    """Every variable has the same path, dtype and value; paths containing an `ignore` word are skipped."""
    assert [path for path, _ in after] == [path for path, _ in before]
    for (path, old), (_, new) in zip(before, after):
        if any(word in path for word in ignore):
            continue
        assert old.dtype == new.dtype, path
        assert np.array_equal(old, new), f"{path} changed: {old} -> {new}"
