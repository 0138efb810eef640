"""What a keras_lr scheduler costs per training step: Python calls, retraces, memory.

The one-weight model (gradient 1 per update, plain SGD) reveals every LR the
compiled step used: the kernel after `n` updates is `-sum(lr_0..lr_{n-1})`,
with the LRs computed by hand here from the schedule's closed form.
"""

import gc
import math
import pathlib
import sys
import tracemalloc

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose

import keras_lr

PACKAGE = str(pathlib.Path(keras_lr.__file__).resolve().parent)


def one_weight_model(lr=0.5):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(lr), loss=lambda y_true, y_pred: keras.ops.mean(y_pred, axis=-1))
    return model


def kernel(model):
    return float(keras.ops.convert_to_numpy(model.layers[-1].kernel).reshape(()))


def data(samples):
    return np.ones((samples, 1), "float32"), np.zeros((samples, 1), "float32")


def keras_lr_calls(run):
    """Calls of Python functions whose code is inside the keras_lr package while `run()` runs."""
    count = 0
    inside = {}

    def profile(frame, event, arg):
        nonlocal count
        if event == "call":
            filename = frame.f_code.co_filename
            if filename not in inside:
                inside[filename] = str(pathlib.Path(filename).resolve()).startswith(PACKAGE)
            count += inside[filename]

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return count


def warmup_cosine(t, peak, total, warmup):
    """WarmupCosine(peak, total, warmup_steps=warmup) at step t, by hand (start 0, floor 0)."""
    if t < warmup:
        return peak * t / warmup
    progress = min((t - warmup) / (total - warmup), 1.0)
    return 0.5 * peak * (1.0 + math.cos(math.pi * progress))


@pytest.mark.parametrize("make", ["WarmupCosineLR", "CyclicLR", "ExponentialLR"])
def test_no_python_of_keras_lr_per_steady_step(make, backend):
    """TF and JAX: the schedule is in the compiled step; PyTorch (eager): at most 2 calls."""
    callbacks = {
        "WarmupCosineLR": lambda: keras_lr.WarmupCosineLR(0.1, 1000, warmup_steps=10),
        "CyclicLR": lambda: keras_lr.CyclicLR(0.01, 0.1, step_size=20),
        "ExponentialLR": lambda: keras_lr.ExponentialLR(0.1, 0.9, decay_steps=10, unit="step"),
    }
    model = one_weight_model()
    x, y = data(120)

    def fit(steps):
        model.fit(x[: 4 * steps], y[: 4 * steps], batch_size=4, epochs=1, verbose=0, shuffle=False, callbacks=[callbacks[make]()])

    fit(10)  # warm-up
    short, long = keras_lr_calls(lambda: fit(10)), keras_lr_calls(lambda: fit(30))
    per_step = (long - short) / 20
    assert per_step <= (2 if backend == "torch" else 0), (short, long)


def test_a_retrace_for_the_last_partial_batch_still_uses_the_schedule():
    # 10 samples in batches of 4: the last batch has 2 (TensorFlow and JAX retrace the step for it).
    model = one_weight_model()
    callback = keras_lr.WarmupCosineLR(0.2, 12, warmup_steps=2)
    x, y = data(10)
    model.fit(x, y, batch_size=4, epochs=3, verbose=0, shuffle=False, callbacks=[callback])
    expected = [warmup_cosine(t, 0.2, 12, 2) for t in range(9)]
    assert kernel(model) == pytest.approx(-sum(expected), rel=1e-5, abs=1e-7)
    assert_allclose(callback.learning_rates, expected, rtol=1e-5, atol=1e-8)
    # A second fit with the same callback reuses the compiled step (both traces) and goes on.
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False, callbacks=[callback])
    expected += [warmup_cosine(t, 0.2, 12, 2) for t in range(9, 12)]
    assert kernel(model) == pytest.approx(-sum(expected), rel=1e-5, abs=1e-7)
    assert_allclose(callback.learning_rates, expected, rtol=1e-5, atol=1e-8)


def test_a_plateau_factor_is_applied_exactly_from_the_next_epoch():
    """ReduceLROnPlateau's factor retraces the step once; the steps after it use the scaled schedule."""
    model = one_weight_model()
    x, y = data(16)
    callback = keras_lr.CyclicLR(0.01, 0.05, step_size=3)
    # min_delta huge: no epoch improves on the first one, so with patience 1 the LR halves
    # at the end of epoch 1 (for epoch 2), and again at the end of epoch 2 (for no step).
    plateau = keras_lr.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=1e9, verbose=0)
    model.fit(x, y, batch_size=4, epochs=3, verbose=0, shuffle=False, callbacks=[callback, plateau])

    def triangular(t):
        cycle = math.floor(1 + t / 6)
        position = abs(t / 3 - 2 * cycle + 1)
        return 0.01 + 0.04 * max(0.0, 1 - position)

    expected = [triangular(t) for t in range(8)] + [0.5 * triangular(t) for t in range(8, 12)]
    assert_allclose(callback.learning_rates, expected, rtol=1e-5)
    assert kernel(model) == pytest.approx(-sum(expected), rel=1e-5)


def test_learning_rates_reads_like_a_list_of_floats():
    model = one_weight_model()
    callback = keras_lr.WarmupCosineLR(0.2, 12, warmup_steps=2)
    x, y = data(16)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False, callbacks=[callback])
    expected = [warmup_cosine(t, 0.2, 12, 2) for t in range(4)]
    rates = callback.learning_rates
    assert len(rates) == 4
    assert rates[0] == 0.0 and rates[-1] == pytest.approx(expected[-1], rel=1e-6)
    assert isinstance(rates[1], float)
    assert rates[1:3] == pytest.approx(expected[1:3], rel=1e-6)
    assert list(rates) == pytest.approx(expected, rel=1e-6)
    assert rates == list(rates) and rates != list(rates)[:3]
    assert np.asarray(rates).dtype == np.float64
    with pytest.raises(IndexError):
        rates[4]


def test_recording_does_not_grow_with_the_updates():
    """A step scheduler's record holds runs of the schedule, read on demand: no memory per update."""
    model = one_weight_model()
    model.optimizer.build(model.trainable_variables)
    callback = keras_lr.WarmupCosineLR(0.1, 40_000, warmup_steps=100)
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_end(0)
    gc.collect()
    tracemalloc.start()
    retained = []
    try:
        before = tracemalloc.get_traced_memory()[0]
        for epoch in range(200):  # 200,000 updates, recorded 1000 at a time as `fit`'s epoch ends do
            model.optimizer.iterations.assign((epoch + 1) * 1000)
            callback.on_epoch_end(epoch)
            if epoch + 1 in (20, 200):
                gc.collect()
                retained.append(tracemalloc.get_traced_memory()[0] - before)
    finally:
        tracemalloc.stop()
        callback.on_train_end()
    assert len(callback.learning_rates) == 200_000
    # One run per schedule, whatever the count of updates: 180,000 more updates retain less
    # than 64 KB more (under 0.4 bytes per update, what the backend's caches keep per epoch
    # end; float64 values would be 1.44 MB, a list of Python floats about 5.8 MB), and the
    # whole is small (the schedule's value table of one block, for `learning_rates[-1]`).
    assert retained[1] - retained[0] < 65_536, retained
    assert retained[0] < 65_536, retained
    t = np.arange(200_000)
    warm = 0.1 * t / 100
    cosine = 0.05 * (1 + np.cos(np.pi * np.minimum(t - 100, 40_000 - 100) / (40_000 - 100)))
    assert_allclose(callback.learning_rates, np.where(t < 100, warm, cosine), rtol=2e-5, atol=1e-9)


def momentum_model(optimizer):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=optimizer, loss=lambda y_true, y_pred: keras.ops.mean(y_pred, axis=-1))
    return model


@pytest.mark.parametrize("optimizer", ["SGD", "SGD-nesterov", "RMSprop", "Adam"])
@pytest.mark.parametrize("make", ["OneCycleLR", "CyclicLR"])
def test_momentum_cycling_adds_no_python_per_steady_step(make, optimizer, backend):
    """The cycled momentum is traced with the LR (TF, JAX); PyTorch's wrapper looks it up too."""
    optimizers = {
        "SGD": lambda: keras.optimizers.SGD(0.1, momentum=0.9),
        "SGD-nesterov": lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        "RMSprop": lambda: keras.optimizers.RMSprop(0.01, momentum=0.9),
        "Adam": lambda: keras.optimizers.Adam(0.01),
    }
    callbacks = {
        "OneCycleLR": lambda: keras_lr.OneCycleLR(0.1, 200, cycle_momentum=True),
        "CyclicLR": lambda: keras_lr.CyclicLR(0.01, 0.1, step_size=20, cycle_momentum=True),
    }
    model = momentum_model(optimizers[optimizer]())
    x, y = data(120)

    def fit(steps):
        model.fit(x[: 4 * steps], y[: 4 * steps], batch_size=4, epochs=1, verbose=0, shuffle=False, callbacks=[callbacks[make]()])

    fit(10)  # warm-up
    short, long = keras_lr_calls(lambda: fit(10)), keras_lr_calls(lambda: fit(30))
    per_step = (long - short) / 20
    assert per_step <= (2 if backend == "torch" else 0), (short, long)
