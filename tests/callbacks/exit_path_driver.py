"""The ways out of `fit` that the exit-path tests drive, on a one-weight model (one copy)."""

import keras
import numpy as np
import pytest

BATCH = 4
STEPS = 6


class RaiseAt(keras.callbacks.Callback):
    def __init__(self, error, batch=2):
        super().__init__()
        self.error = error
        self.batch = batch

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.batch:
            raise self.error("interrupted by a callback")


class StopAt(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 2:
            self.model.stop_training = True


def batches(interrupt_at=None):
    """An endless generator of one-weight batches; raises KeyboardInterrupt at batch `interrupt_at`."""
    x, y = np.ones((BATCH, 1), "float32"), np.zeros((BATCH, 1), "float32")
    batch = 0
    while True:
        if batch == interrupt_at:
            raise KeyboardInterrupt("interrupted while fetching a batch in the train function")
        batch += 1
        yield x, y


PATHS = ["normal", "exception_in_callback", "keyboard_interrupt_in_callback", "interrupt_in_train_step", "stop_training"]


def run_path(model, owner, path):
    kwargs = dict(epochs=3, steps_per_epoch=STEPS, verbose=0, shuffle=False)
    if path == "normal":
        model.fit(batches(), callbacks=[owner], **kwargs)
    elif path == "exception_in_callback":
        with pytest.raises(RuntimeError, match="interrupted by a callback"):
            model.fit(batches(), callbacks=[owner, RaiseAt(RuntimeError)], **kwargs)
    elif path == "keyboard_interrupt_in_callback":
        with pytest.raises(KeyboardInterrupt):
            model.fit(batches(), callbacks=[owner, RaiseAt(KeyboardInterrupt)], **kwargs)
    elif path == "interrupt_in_train_step":
        # The data generator raises inside the call of the train function (on TF
        # the input pipeline may turn it into its own error type).
        with pytest.raises(BaseException) as raised:
            model.fit(batches(interrupt_at=STEPS + 2), callbacks=[owner], **kwargs)
        assert raised.type is not pytest.fail.Exception
    else:
        model.fit(batches(), callbacks=[owner, StopAt()], **kwargs)
