"""Fixtures for the callback tests: a one-weight model whose updates reveal the LR.

The model is `Dense(1, use_bias=False)` with a zero kernel, fed with ones and
trained on the mean prediction with plain SGD: the gradient of the loss with
respect to the kernel is exactly 1, so every update subtracts exactly the LR
it used, and the kernel after `n` updates is `-sum(lr_0, ..., lr_{n-1})`.
Recording the kernel together with `optimizer.iterations` (at epoch ends,
and optionally after every execution) gives the LRs actually applied inside
the compiled train step, on every backend and under `steps_per_execution`.
"""

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose


@keras.saving.register_keras_serializable(package="keras_lr_tests")
def mean_prediction(y_true, y_pred):
    """A loss whose gradient with respect to the one-weight kernel is exactly 1.

    Per sample: Keras then averages over the global batch, also under
    `tf.distribute` (a scalar loss would be summed over the replicas there).
    """
    return keras.ops.mean(y_pred, axis=-1)


def flat_mean_prediction(y_true, y_pred):
    """Gradient 1 as `mean_prediction`, but a constant value 0: it never improves."""
    return keras.ops.mean(y_pred - keras.ops.stop_gradient(y_pred), axis=-1)


class KernelRecorder(keras.callbacks.Callback):
    """Records `(optimizer step, kernel)` at each epoch end and, if asked, each batch end."""

    def __init__(self, per_batch=False):
        super().__init__()
        self.steps = []
        self.kernels = []
        self.epoch_steps = []
        self.epoch_kernels = []
        if per_batch:
            self.on_train_batch_end = self._record_batch

    def _read(self):
        model = self.model  # On JAX, reading `self.model` syncs the training state.
        kernel = float(keras.ops.convert_to_numpy(model.layers[-1].kernel).reshape(()))
        step = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
        return step, kernel

    def _record_batch(self, batch, logs=None):
        step, kernel = self._read()
        self.steps.append(step)
        self.kernels.append(kernel)

    def on_epoch_end(self, epoch, logs=None):
        step, kernel = self._read()
        self.steps.append(step)
        self.kernels.append(kernel)
        self.epoch_steps.append(step)
        self.epoch_kernels.append(kernel)


class OneWeight:
    """Builds, fits and checks the one-weight model."""

    KernelRecorder = KernelRecorder
    mean_prediction = staticmethod(mean_prediction)
    flat_mean_prediction = staticmethod(flat_mean_prediction)

    def model(
        self,
        learning_rate=0.1,
        *,
        optimizer=None,
        loss=None,
        steps_per_execution=1,
        dtype=None,
    ):
        model = keras.Sequential(
            [
                keras.Input((1,)),
                keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros", dtype=dtype),
            ]
        )
        if optimizer is None:
            optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
        model.compile(
            optimizer=optimizer,
            loss=loss or mean_prediction,
            steps_per_execution=steps_per_execution,
        )
        return model

    def data(self, samples):
        return np.ones((samples, 1), "float32"), np.zeros((samples, 1), "float32")

    def fit(
        self,
        model,
        callbacks=(),
        *,
        epochs,
        steps_per_epoch_of_data=6,
        batch_size=4,
        initial_epoch=0,
        per_batch=False,
    ):
        """Fits on `steps_per_epoch_of_data * batch_size` ones; returns (history, recorder)."""
        x, y = self.data(steps_per_epoch_of_data * batch_size)
        recorder = KernelRecorder(per_batch=per_batch)
        history = model.fit(
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=[*callbacks, recorder],
            shuffle=False,
            verbose=0,
        )
        return history, recorder

    @staticmethod
    def kernel(model):
        return float(keras.ops.convert_to_numpy(model.layers[-1].kernel).reshape(()))

    @staticmethod
    def assert_lrs_applied(recorder, expected_lrs, rtol=1e-5, atol=1e-7, start_kernel=0.0):
        """The kernel after step `n` is `start_kernel - sum(expected_lrs[:n])`."""
        expected_lrs = np.asarray(expected_lrs, "float64")
        steps = np.asarray(recorder.steps)
        assert steps.size > 0
        assert steps[-1] == expected_lrs.size, (
            f"the run made {steps[-1]} updates, the expectation has {expected_lrs.size}"
        )
        cumulative = np.concatenate([[0.0], np.cumsum(expected_lrs)])
        assert_allclose(
            np.asarray(recorder.kernels),
            start_kernel - cumulative[steps],
            rtol=rtol,
            atol=atol,
            err_msg=f"kernel trajectory at optimizer steps {steps.tolist()}",
        )


@pytest.fixture
def one_weight():
    return OneWeight()


@pytest.fixture
def one_torch_thread():
    """On a busy machine, torch's CPU thread pool spins: one thread is many times faster here."""
    if keras.config.backend() != "torch":
        yield
        return
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
