"""The small models and data the finder tests share."""

import keras
import numpy as np


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
