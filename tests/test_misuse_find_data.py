"""`LRFinder.find()` with NaN or inf in its validation data: refused before training.

Before, such `val_data` was accepted, every validation loss was NaN (and so
not recorded), nothing said so, and `suggestion(curve="val")` then asked for
`val_data=`, which had been passed. The one-weight model (`loss = mean(w x)`,
inputs of ones, plain SGD) makes the recorded validation losses a closed
form: after ramp step `i` the kernel is `-(lr_0 + ... + lr_i)`.
"""

import math

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose

import keras_lr

BATCH = 4


def mean_prediction(y_true, y_pred):
    return keras.ops.mean(y_pred, axis=-1)


def one_weight_model():
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=mean_prediction)
    return model


def ones(batches):
    return np.ones((batches * BATCH, 1), "float32"), np.zeros((batches * BATCH, 1), "float32")


def exp_ramp(start, end, n):
    return [start * (end / start) ** (i / (n - 1)) for i in range(n)]


def iterations(model):
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def find(model, val_data, **kwargs):
    finder = keras_lr.LRFinder(1e-3, 1.0, 6, verbose=0)
    return finder.find(model, *ones(6), batch_size=BATCH, val_data=val_data, **kwargs)


def assert_refused(val_data, part, **kwargs):
    model = one_weight_model()
    with pytest.raises(ValueError) as error:
        find(model, val_data, **kwargs)
    message = str(error.value)
    assert "Argument `val_data` must hold finite numbers" in message, message
    assert f"of its {part} are NaN or infinite" in message, message
    assert "Received: val_data=" in message, message
    assert iterations(model) == 0  # refused before any training
    return message


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("part", ["x", "y", "sample_weight"])
def test_non_finite_validation_arrays_are_refused(part, bad):
    x, y = ones(2)
    weights = np.ones(len(x), "float32")
    arrays = {"x": x, "y": y, "sample_weight": weights}
    arrays[part] = arrays[part].copy()
    arrays[part][3] = bad
    message = assert_refused((arrays["x"], arrays["y"], arrays["sample_weight"]), part)
    assert "1 of the values" in message


def test_nan_in_validation_arrays_past_the_subset_is_refused_too():
    # Only the first val_every batches are scored, but arrays are checked whole (cheap).
    x, y = ones(3)
    x[-1] = math.nan
    assert_refused((x, y), "x", val_every=1)


def test_nan_in_a_dict_of_validation_inputs_is_refused():
    x, y = ones(2)
    bad = x.copy()
    bad[0] = math.nan
    model = keras.Model(
        inputs := {"a": keras.Input((1,), name="a"), "b": keras.Input((1,), name="b")},
        keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")(
            keras.layers.Add()([inputs["a"], inputs["b"]])
        ),
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=mean_prediction)
    finder = keras_lr.LRFinder(1e-3, 1.0, 6, verbose=0)
    with pytest.raises(ValueError, match="of its x are NaN or infinite"):
        finder.find(
            model, {"a": x, "b": x}, y, batch_size=BATCH, val_data=({"a": x, "b": bad}, y)
        )
    assert iterations(model) == 0


def batches(*inputs):
    return (
        (np.full((BATCH, 1), v, "float32"), np.zeros((BATCH, 1), "float32")) for v in inputs
    )


def test_nan_in_a_batch_of_the_validation_subset_from_a_generator_is_refused():
    # val_every=2 takes the first 2 batches: the second holds NaN.
    assert_refused(batches(1.0, math.nan, 3.0), "x", val_every=2)


def test_nan_in_a_generator_batch_never_taken_is_harmless():
    # val_every=2 takes batches 1 and 3 (mean input 2); the NaN batch is never read.
    model = one_weight_model()
    generator = batches(1.0, 3.0, math.nan)
    finder = find(model, generator, val_every=2)
    ramp = exp_ramp(1e-3, 1.0, 6)
    assert finder.val_steps == [0, 2, 4]
    assert_allclose(finder.val_losses, -np.cumsum(ramp)[[0, 2, 4]] * 2.0, rtol=1e-5)
    assert math.isnan(next(generator)[0][0, 0])


def test_nan_in_validation_targets_from_a_py_dataset_is_refused():
    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            y = np.zeros((BATCH, 1), "float32")
            y[0] = math.nan if index == 1 else 0.0
            return np.ones((BATCH, 1), "float32"), y

    assert_refused(Batches(), "y", val_every=2)


@pytest.mark.backends("tensorflow")
def test_nan_in_a_tf_dataset_validation_subset_is_refused():
    import tensorflow as tf

    x, y = ones(2)
    x[5] = math.nan  # in the second batch
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    assert_refused(dataset, "x", val_every=2)


@pytest.mark.backends("torch")
def test_nan_in_a_torch_loader_validation_subset_is_refused():
    import torch

    x, y = ones(2)
    y[1] = math.inf
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=BATCH
    )
    assert_refused(loader, "y", val_every=2)


def test_finite_validation_data_still_gives_a_validation_curve():
    # Inputs of 2: the loss after step i is 2 * kernel = -2 * (lr_0 + ... + lr_i).
    model = one_weight_model()
    x_val = np.full((BATCH, 1), 2.0, "float32")
    finder = find(model, (x_val, np.zeros_like(x_val)))
    ramp = exp_ramp(1e-3, 1.0, 6)
    assert finder.val_steps == list(range(6))
    assert_allclose(finder.val_losses, -2.0 * np.cumsum(ramp), rtol=1e-5)
