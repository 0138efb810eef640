"""The schedule classes: serialization, saving in a model, argument checks, host evaluation.

The formulas themselves are checked against independent oracles in
`test_schedule_math.py`; here a restored schedule is compared with the
original object, and the LR actually used by `fit` with a closed form.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import warnings
import zipfile

import keras
import numpy as np
import pytest
from keras import ops

from keras_lr import schedule_math
from keras_lr import schedules as S

STEPS = np.array(
    [0, 1, 2, 5, 9, 10, 50, 99, 100, 101, 149, 150, 500, 999, 1000, 1001, 10**6, 2**31]
)


# Registered under test-specific names: registering the same name twice in one
# process is an error, and other test modules use the "keras_lr_tests" package too.
@keras.saving.register_keras_serializable(package="keras_lr_tests")
def schedules_test_half_sine(x):
    return 0.5 * (1 + ops.sin(x * math.pi / 2))


@keras.saving.register_keras_serializable(package="keras_lr_tests")
def schedules_test_inverse_sqrt(step):
    return ops.rsqrt(ops.maximum(step, 1.0))


def every_schedule():
    """One instance of each exported schedule class (and the main variants)."""
    schedules = {
        "constant": S.Constant(0.03),
        "exponential": S.Exponential(0.5, 0.9, decay_steps=7, min_lr=0.01, staircase=False),
        "exponential_staircase": S.Exponential(0.5, 0.9, decay_steps=7, min_lr=0.01),
        "step": S.StepDecay(0.5, 100, gamma=0.5, min_lr=0.001),
        "polynomial": S.Polynomial(0.4, 1000, end_lr=0.02, power=2.0),
        "piecewise": S.Piecewise([100, 1000], [0.3, 0.1, 0.01]),
        "warmup_cosine": S.WarmupCosine(
            1.0, 1000, warmup_steps=100, warmup_start_lr=0.1, hold_steps=50, min_lr=0.01,
            cycles=3, cycle_mul=1.5, peak_mul=0.5,
        ),
        "cyclic": S.Cyclic(0.1, 0.5, 70, mode="exp_range", gamma=0.999, step_size_down=30),
        "cyclic_scale_fn": S.Cyclic(
            0.1, 0.5, 70, scale_fn=schedules_test_half_sine, scale_mode="iterations"
        ),
        "one_cycle": S.OneCycle(1.0, 1000, 0.2, "linear", 10.0, 100.0, three_phase=True),
        "one_cycle_momentum": S.OneCycleMomentum(1000, 0.2, "linear", 0.8, 0.95, three_phase=True),
        "cyclic_momentum": S.CyclicMomentum(0.8, 0.9, 70, mode="exp_range", gamma=0.999, step_size_down=30),
        "warmup": S.Warmup(S.StepDecay(0.5, 100, 0.5), 10, start_lr=0.01),
        "join": S.Join([S.Constant(0.1), S.Polynomial(0.5, 10, 0.2)], [5]),
        "scaled": S.Scaled(S.Polynomial(0.5, 100, 0.01), factor=0.3, min_lr=0.05),
    }
    if hasattr(S, "Lambda"):
        schedules["lambda"] = S.Lambda(schedules_test_inverse_sqrt, base_lr=0.1)
    return schedules


NAMES = sorted(every_schedule())


#: Deprecated aliases, kept one release: tested on their own (test_deprecated_*).
DEPRECATED_ALIASES = {S.ExponentialDecay}


def test_every_exported_class_is_covered():
    exported = {
        getattr(S, name) for name in S.__all__
        if inspect.isclass(getattr(S, name)) and issubclass(getattr(S, name), S.Schedule)
    } - {S.Schedule} - DEPRECATED_ALIASES
    assert exported <= {type(s) for s in every_schedule().values()}


# --------------------------------------------------------------------------- serialization


@pytest.mark.parametrize("name", NAMES)
def test_serialize_round_trip(name):
    schedule = every_schedule()[name]
    config = keras.saving.serialize_keras_object(schedule)
    assert config["registered_name"] == f"keras_lr>{type(schedule).__name__}"
    config = json.loads(json.dumps(config))  # what model.save writes
    restored = keras.saving.deserialize_keras_object(config)
    assert type(restored) is type(schedule)
    assert restored.get_config() == schedule.get_config()
    np.testing.assert_array_equal(restored.values(STEPS), schedule.values(STEPS))


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip(name):
    schedule = every_schedule()[name]
    restored = type(schedule).from_config(json.loads(json.dumps(schedule.get_config())))
    assert type(restored) is type(schedule)
    assert restored.get_config() == schedule.get_config()
    np.testing.assert_array_equal(restored.values(STEPS), schedule.values(STEPS))


def test_nested_warmup_and_join_round_trip():
    schedule = S.Warmup(
        S.Join(
            [
                S.WarmupCosine(0.8, 400, warmup_steps=50, min_lr=0.05, cycles=2),
                S.Warmup(S.Cyclic(0.05, 0.3, 40, scale_fn=schedules_test_half_sine), 20, 0.01),
                keras.optimizers.schedules.ExponentialDecay(0.2, 100, 0.9),
            ],
            [400, 900],
        ),
        30,
        start_lr=0.001,
    )
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(schedule)))
    restored = keras.saving.deserialize_keras_object(config)
    assert type(restored) is S.Warmup
    assert type(restored.schedule) is S.Join
    inner = restored.schedule.schedules
    assert [type(s) for s in inner] == [
        S.WarmupCosine, S.Warmup, keras.optimizers.schedules.ExponentialDecay
    ]
    assert inner[1].schedule.scale_fn is schedules_test_half_sine
    np.testing.assert_array_equal(restored.values(STEPS), schedule.values(STEPS))
    assert len(set(schedule.values(STEPS))) > 10


def test_cyclic_registered_scale_fn_round_trips():
    schedule = S.Cyclic(0.1, 0.6, 25, scale_fn=schedules_test_half_sine, scale_mode="cycle")
    restored = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(keras.saving.serialize_keras_object(schedule)))
    )
    assert restored.scale_fn is schedules_test_half_sine
    assert restored.scale_mode == "cycle"
    np.testing.assert_array_equal(restored.values(STEPS), schedule.values(STEPS))
    # The scale_fn is used, not the default triangular amplitude.
    assert not np.allclose(schedule.values(STEPS), S.Cyclic(0.1, 0.6, 25).values(STEPS))


# --------------------------------------------------------------------------- in a saved model


def _tiny_model(schedule):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), loss="mse")
    return model


@pytest.mark.parametrize("name", NAMES)
def test_saved_model_restores_the_schedule(name, tmp_path):
    schedule = every_schedule()[name]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(56, 3)).astype("float32")
    y = rng.normal(size=(56, 1)).astype("float32")
    model = _tiny_model(schedule)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # 7 steps
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)

    iterations = int(ops.convert_to_numpy(loaded.optimizer.iterations))
    assert iterations == int(ops.convert_to_numpy(model.optimizer.iterations)) == 7
    # Keras keeps the schedule object in `_learning_rate`; `learning_rate` is its value now.
    restored = loaded.optimizer._learning_rate
    assert type(restored) is type(schedule)
    assert restored.get_config() == schedule.get_config()
    expected = schedule.values(iterations)
    current = float(ops.convert_to_numpy(loaded.optimizer.learning_rate))
    np.testing.assert_allclose(current, expected, rtol=1e-6)
    np.testing.assert_array_equal(restored.values(STEPS), schedule.values(STEPS))


def test_fit_uses_the_schedule_value_of_each_step():
    """d loss / d w = 1, so each SGD update subtracts exactly the LR of its step."""
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    schedule = S.Warmup(S.StepDecay(0.1, 3, gamma=0.5, min_lr=0.02), 4, start_lr=0.01)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=schedule),
        loss=lambda y_true, y_pred: ops.mean(y_pred),
    )
    x, y = np.ones((13, 1), "float32"), np.zeros((13, 1), "float32")
    model.fit(x, y, batch_size=1, epochs=1, verbose=0, shuffle=False)
    t = np.arange(13)
    decay = np.maximum(0.02, 0.1 * 0.5 ** (np.maximum(t - 4, 0) // 3))
    lrs = np.where(t < 4, 0.01 + (0.1 - 0.01) * t / 4, decay)
    kernel = float(ops.convert_to_numpy(model.layers[0].kernel)[0, 0])
    np.testing.assert_allclose(kernel, -lrs.sum(), rtol=1e-5)


# --------------------------------------------------------------------------- argument checks


def keras_message(name, value_repr, requirement=".+"):
    """The Keras form: "Argument `NAME` must be ... Received: NAME=VALUE"."""
    return rf"^Argument `{name}` must be {requirement}\. Received: {name}={re.escape(value_repr)}$"


def _cosine(**kwargs):
    return S.WarmupCosine(**{"peak_lr": 1.0, "total_steps": 100, **kwargs})


def _cyclic(**kwargs):
    return S.Cyclic(**{"base_lr": 0.1, "max_lr": 0.5, **kwargs})


def _exponential(**kwargs):
    return S.Exponential(**{"initial_lr": 1.0, "decay_rate": 0.5, **kwargs})


def _one_cycle(**kwargs):
    return S.OneCycle(**{"max_lr": 1.0, "total_steps": 100, **kwargs})


NAN = float("nan")
INF = float("inf")
BAD_ARGUMENTS = [
    # (make, NAME, repr(VALUE), requirement regex or None)
    (lambda: _cosine(warmup_steps=60, hold_steps=40), "total_steps", "100", None),
    (lambda: _cosine(total_steps=50, warmup_steps=50), "total_steps", "50", None),
    (lambda: _cosine(warmup_steps=-1), "warmup_steps", "-1", ">= 0"),
    (lambda: _cosine(hold_steps=-5), "hold_steps", "-5", ">= 0"),
    (lambda: _cosine(min_lr=2.0), "min_lr", "2.0", None),
    (lambda: _cosine(warmup_start_lr=1.5), "warmup_start_lr", "1.5", None),
    (lambda: _cosine(cycles=0), "cycles", "0", None),
    (lambda: _cosine(cycles=1.5), "cycles", "1.5", None),
    (lambda: _cosine(cycles=True), "cycles", "True", None),
    (lambda: _cosine(cycles=NAN), "cycles", "nan", None),
    (lambda: _cosine(cycles=INF), "cycles", "inf", None),
    (lambda: _cosine(cycle_mul=0), "cycle_mul", "0", "> 0"),
    (lambda: _cosine(peak_mul=1.5), "peak_mul", "1.5", None),
    (lambda: _cosine(peak_lr=NAN), "peak_lr", "nan", None),
    (lambda: _cosine(peak_lr=True), "peak_lr", "True", None),
    (lambda: _cosine(total_steps=INF), "total_steps", "inf", None),
    (lambda: _cyclic(max_lr=0.05), "max_lr", "0.05", None),
    (lambda: _cyclic(mode="triangle"), "mode", "'triangle'", None),
    (lambda: _cyclic(scale_fn=3), "scale_fn", "3", None),
    (lambda: _cyclic(scale_fn="sin"), "scale_fn", "'sin'", None),
    (lambda: _cyclic(scale_mode="epoch"), "scale_mode", "'epoch'", None),
    (lambda: _cyclic(step_size=0), "step_size", "0", "> 0"),
    (lambda: _cyclic(step_size_down=-3), "step_size_down", "-3", "> 0"),
    (lambda: _cyclic(gamma=0), "gamma", "0", None),
    (lambda: _cyclic(base_lr=True), "base_lr", "True", None),
    (lambda: _cyclic(base_lr=NAN), "base_lr", "nan", None),
    (lambda: _exponential(decay_rate=0), "decay_rate", "0", None),
    (lambda: _exponential(decay_rate=1.5), "decay_rate", "1.5", None),
    (lambda: _exponential(decay_steps=0), "decay_steps", "0", "> 0"),
    (lambda: _exponential(min_lr=-0.1), "min_lr", "-0.1", ">= 0"),
    (lambda: _exponential(min_lr=2.0), "min_lr", "2.0", None),
    (lambda: _exponential(initial_lr=NAN), "initial_lr", "nan", None),
    (lambda: _exponential(decay_steps=False), "decay_steps", "False", None),
    (lambda: _exponential(staircase="False"), "staircase", "'False'", None),
    (lambda: S.StepDecay(1.0, 0), "decay_steps", "0", "> 0"),
    (lambda: S.StepDecay(1.0, 10, gamma=1.5), "gamma", "1.5", None),
    (lambda: S.Polynomial(1.0, 0), "total_steps", "0", "> 0"),
    (lambda: S.Polynomial(1.0, 10, power=0), "power", "0", "> 0"),
    (lambda: S.Polynomial(1.0, 10, power=1e-46), "power", "1e-46", None),
    (lambda: S.Polynomial(1.0, 10, end_lr=-1), "end_lr", "-1", ">= 0"),
    (lambda: S.Piecewise([10, 5], [1.0, 0.5, 0.1]), "boundaries", "[10, 5]", None),
    (lambda: S.Piecewise([10, 10], [1.0, 0.5, 0.1]), "boundaries", "[10, 10]", None),
    (lambda: S.Piecewise([10], [1.0]), "values", "[1.0]", None),
    (lambda: S.Piecewise([10], [1.0, 0.5, 0.1]), "values", "[1.0, 0.5, 0.1]", None),
    (lambda: S.Piecewise([0, 10], [1.0, 0.5, 0.1]), "boundaries", "0", None),
    (lambda: S.Piecewise([NAN], [1.0, 0.5]), "boundaries", "nan", None),
    (lambda: S.Piecewise([10], [1.0, -0.5]), "values", "-0.5", None),
    (lambda: _one_cycle(pct_start=0), "pct_start", "0", re.escape("in (0, 1)")),
    (lambda: _one_cycle(pct_start=1), "pct_start", "1", re.escape("in (0, 1)")),
    (lambda: _one_cycle(pct_start=1.5), "pct_start", "1.5", re.escape("in (0, 1)")),
    (lambda: _one_cycle(total_steps=True), "total_steps", "True", None),
    (lambda: _one_cycle(total_steps=NAN), "total_steps", "nan", None),
    (lambda: _one_cycle(anneal_strategy="exp"), "anneal_strategy", "'exp'", None),
    (lambda: _one_cycle(div_factor=0), "div_factor", "0", "> 0"),
    (lambda: _one_cycle(three_phase="no"), "three_phase", "'no'", None),
    (lambda: S.Constant(0), "value", "0", "> 0"),
    (lambda: S.Constant(NAN), "value", "nan", None),
    (lambda: S.Constant(True), "value", "True", None),
    (lambda: S.Join([S.Constant(0.1), S.Constant(0.2)], []), "boundaries", "[]", None),
    (lambda: S.Join([S.Constant(0.1), S.Constant(0.2)], [5, 9]), "boundaries", "[5, 9]", None),
    (lambda: S.Join([S.Constant(0.1), S.Constant(0.2), S.Constant(0.3)], [9, 5]), "boundaries",
     "[9, 5]", None),
    (lambda: S.Join([], []), "schedules", "[]", None),
    (lambda: S.Join([S.Constant(0.1), 0.2], [5]), "schedules", "0.2", None),
    (lambda: S.Warmup(S.Constant(0.1), 0), "warmup_steps", "0", "> 0"),
    (lambda: S.Warmup(0.1, 10), "schedule", "0.1", None),
    (lambda: S.Warmup(S.Constant(0.1), 10, start_lr=NAN), "start_lr", "nan", None),
    (lambda: S.Scaled(S.Constant(0.1), factor=0), "factor", "0", "> 0"),
    (lambda: S.Scaled(S.Constant(0.1), factor=1.5), "factor", "1.5", r"in \(0, 1\]"),
    (lambda: S.Scaled(S.Constant(0.1), min_lr=-1), "min_lr", "-1", ">= 0"),
    (lambda: S.Scaled("cosine"), "schedule", "'cosine'", None),
]


@pytest.mark.parametrize(
    "make, name, value_repr, requirement",
    BAD_ARGUMENTS,
    ids=[f"{name}={value}" for _, name, value, _ in BAD_ARGUMENTS],
)
def test_bad_arguments_raise_keras_style_errors(make, name, value_repr, requirement):
    with pytest.raises(ValueError, match=keras_message(name, value_repr, requirement or ".+")):
        make()


def test_warmup_steps_message_is_exact():
    with pytest.raises(ValueError) as info:
        _cosine(warmup_steps=-1)
    assert str(info.value) == "Argument `warmup_steps` must be >= 0. Received: warmup_steps=-1"


def test_good_arguments_are_accepted():
    # Edge values inside every documented range.
    S.WarmupCosine(1.0, 1, min_lr=1.0, warmup_start_lr=1.0, cycles=1, peak_mul=1.0)
    S.Cyclic(0.1, 0.1, 1, gamma=1.0)
    S.Exponential(1.0, 1.0, min_lr=1.0)
    S.OneCycle(1.0, 100, pct_start=0.5, three_phase=True)
    S.Piecewise([], [0.1])
    S.Join([S.Constant(0.1)], [])


# --------------------------------------------------------------------------- host evaluation


@pytest.mark.parametrize("name", NAMES)
def test_values_returns_a_numpy_array_of_the_steps_shape(name):
    schedule = every_schedule()[name]
    for steps in (STEPS[11], STEPS.reshape(3, 6)):
        got = schedule.values(steps)
        assert isinstance(got, np.ndarray)
        assert got.shape == np.shape(steps)
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got.ravel(), schedule.values(np.ravel(steps)))


def test_values_takes_numbers_and_lists():
    assert S.Constant(0.25).values(3).shape == ()
    assert float(S.Constant(0.25).values(3)) == 0.25
    assert S.Constant(0.25).values([0, 1, 2]).shape == (3,)
    np.testing.assert_allclose(S.Polynomial(1.0, 4).values([[0, 1], [2, 6]]), [[1, 0.75], [0.5, 0]])


def test_evaluate_works_on_a_plain_function_and_a_keras_schedule():
    steps = STEPS
    got = S.evaluate(lambda t: 0.1 * ops.exp(-t / 500.0), steps)
    np.testing.assert_allclose(got, 0.1 * np.exp(-steps / 500.0), rtol=1e-5, atol=1e-12)
    assert got.shape == steps.shape and got.dtype == np.float64
    keras_schedule = keras.optimizers.schedules.InverseTimeDecay(0.5, 100, 0.3)
    np.testing.assert_allclose(
        S.evaluate(keras_schedule, steps), 0.5 / (1 + 0.3 * steps / 100), rtol=1e-5
    )
    assert S.evaluate(lambda t: 0.5 + 0 * t, 7).shape == ()


# ------------------------------------------------------------------ exact steps in the optimizer


def _one_weight_model(schedule):
    """loss = w * x with x = 1 and plain SGD: each update moves w by exactly -lr."""
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), loss=lambda y, p: ops.mean(p))
    return model


@pytest.mark.parametrize(
    "schedule, expected",
    [
        # The example: a float32 step would switch at 2**24 already.
        (S.Piecewise([2**24 + 1], [1.0, 0.5]), [1.0, 1.0, 0.5]),
        # Cycles of 6 steps: steps 2**24 - 1, 2**24, 2**24 + 1 sit at 3, 4, 5.
        (S.Cyclic(0.25, 1.0, step_size=3), [1.0, 0.25 + 0.75 * 2 / 3, 0.25 + 0.75 / 3]),
        # A staircase level that starts at 2**24 + 1.
        (S.StepDecay(1.0, decay_steps=2**24 + 1, gamma=0.5), [1.0, 1.0, 0.5]),
    ],
    ids=["piecewise", "cyclic", "step_decay"],
)
def test_optimizer_applies_the_exact_lr_at_2_24(schedule, expected):
    """The weight updates of steps 2**24 - 1, 2**24, 2**24 + 1 reveal the LR used."""
    model = _one_weight_model(schedule)
    x, y = np.ones((1, 1), "float32"), np.zeros((1, 1), "float32")
    model.train_on_batch(x, y)  # builds the optimizer
    model.optimizer.iterations.assign(2**24 - 1)
    weights = [float(model.get_weights()[0][0, 0])]
    for _ in expected:
        model.train_on_batch(x, y)
        weights.append(float(model.get_weights()[0][0, 0]))
    assert int(ops.convert_to_numpy(model.optimizer.iterations)) == 2**24 + 2
    np.testing.assert_allclose(-np.diff(weights), expected, rtol=1e-6, atol=0)


# --------------------------------------------------------------------------- deprecated names


def exponential_closed_form(t, initial, rate, period, floor):
    """max(floor, initial * rate ** floor(t / period)), in float64."""
    return np.maximum(floor, initial * rate ** np.floor(np.asarray(t, "float64") / period))


def test_deprecated_exponential_decay_warns_and_equals_exponential():
    with pytest.warns(DeprecationWarning, match=r"ExponentialDecay.*keras_lr\.schedules\.Exponential"):
        old = S.ExponentialDecay(0.1, 0.5, 3, min_lr=0.004)
    new = S.Exponential(0.1, 0.5, 3, min_lr=0.004)
    assert isinstance(old, S.Exponential)
    assert old.get_config() == new.get_config() == {
        "initial_lr": 0.1, "decay_rate": 0.5, "decay_steps": 3.0, "min_lr": 0.004, "staircase": True
    }
    expected = exponential_closed_form(STEPS, 0.1, 0.5, 3, 0.004)
    np.testing.assert_allclose(old.values(STEPS), expected, rtol=1e-6)
    np.testing.assert_array_equal(old.values(STEPS), new.values(STEPS))
    # Its own config round trip keeps the old class (and warns again).
    with pytest.warns(DeprecationWarning):
        restored = S.ExponentialDecay.from_config(json.loads(json.dumps(old.get_config())))
    assert type(restored) is S.ExponentialDecay


def test_new_names_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        S.Exponential(0.1, 0.5)
        S.StepDecay(0.1, decay_steps=3)
        S.Polynomial(0.1, total_steps=3)
        keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(S.Polynomial(0.1, total_steps=3))
        )


def test_model_saved_with_the_old_exponential_decay_loads(tmp_path):
    """A `.keras` file whose optimizer holds `keras_lr>ExponentialDecay` (the name
    before the rename, written here into the file by hand) still loads."""
    model = _tiny_model(S.Exponential(0.1, 0.5, 2, min_lr=0.01))
    x = np.ones((24, 3), "float32")
    model.fit(x, np.zeros((24, 1), "float32"), batch_size=8, epochs=1, verbose=0)  # 3 steps
    new_path, old_path = tmp_path / "new.keras", tmp_path / "old.keras"
    model.save(new_path)
    with zipfile.ZipFile(new_path) as source, zipfile.ZipFile(old_path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "config.json":
                text = data.decode()
                assert text.count('"keras_lr>Exponential"') == 1
                text = text.replace('"keras_lr>Exponential"', '"keras_lr>ExponentialDecay"')
                text = text.replace('"class_name": "Exponential"', '"class_name": "ExponentialDecay"')
                data = text.encode()
            target.writestr(item, data)

    with pytest.warns(DeprecationWarning, match="ExponentialDecay"):
        loaded = keras.saving.load_model(old_path)
    restored = loaded.optimizer._learning_rate
    assert type(restored) is S.ExponentialDecay
    assert int(ops.convert_to_numpy(loaded.optimizer.iterations)) == 3
    current = float(ops.convert_to_numpy(loaded.optimizer.learning_rate))
    np.testing.assert_allclose(current, 0.1 * 0.5, rtol=1e-6)  # step 3: floor(3 / 2) = 1 factor
    np.testing.assert_allclose(
        restored.values(STEPS), exponential_closed_form(STEPS, 0.1, 0.5, 2, 0.01), rtol=1e-6
    )


def test_deprecated_step_size_of_step_decay():
    expected = np.maximum(0.02, 0.8 * 0.5 ** np.floor(STEPS / 4.0))
    with pytest.warns(DeprecationWarning, match=r"`step_size`.*`decay_steps`"):
        old = S.StepDecay(0.8, step_size=4, gamma=0.5, min_lr=0.02)
    assert old.get_config() == {"initial_lr": 0.8, "decay_steps": 4.0, "gamma": 0.5, "min_lr": 0.02}
    np.testing.assert_allclose(old.values(STEPS), expected, rtol=1e-6)
    np.testing.assert_array_equal(old.values(STEPS), S.StepDecay(0.8, 4, 0.5, 0.02).values(STEPS))
    # A config saved before the rename.
    old_config = {"initial_lr": 0.8, "step_size": 4.0, "gamma": 0.5, "min_lr": 0.02}
    with pytest.warns(DeprecationWarning, match="step_size"):
        restored = S.StepDecay.from_config(old_config)
    np.testing.assert_allclose(restored.values(STEPS), expected, rtol=1e-6)
    with pytest.raises(TypeError, match="both `decay_steps` and its deprecated name `step_size`"):
        S.StepDecay(0.8, decay_steps=4, step_size=4)
    with pytest.raises(TypeError, match="multiple values"):
        S.StepDecay(0.8, 4, step_size=4)


def test_deprecated_decay_steps_of_polynomial():
    # (1 - min(t, 8) / 8) ** 2 * (0.5 - 0.1) + 0.1
    expected = (1 - np.minimum(STEPS, 8) / 8.0) ** 2 * 0.4 + 0.1
    with pytest.warns(DeprecationWarning, match=r"`decay_steps`.*`total_steps`"):
        old = S.Polynomial(0.5, decay_steps=8, end_lr=0.1, power=2.0)
    assert old.get_config() == {"initial_lr": 0.5, "total_steps": 8.0, "end_lr": 0.1, "power": 2.0}
    np.testing.assert_allclose(old.values(STEPS), expected, rtol=1e-6)
    old_config = {"initial_lr": 0.5, "decay_steps": 8.0, "end_lr": 0.1, "power": 2.0}
    with pytest.warns(DeprecationWarning, match="decay_steps"):
        restored = keras.saving.deserialize_keras_object(
            {"module": "keras_lr.schedules", "class_name": "Polynomial",
             "config": old_config, "registered_name": "keras_lr>Polynomial"}
        )
    assert type(restored) is S.Polynomial
    np.testing.assert_allclose(restored.values(STEPS), expected, rtol=1e-6)
    with pytest.raises(TypeError, match="deprecated name `decay_steps`"):
        S.Polynomial(0.5, total_steps=8, decay_steps=8)


def test_deprecated_keywords_of_the_formulas():
    t = np.arange(10)
    with pytest.warns(DeprecationWarning, match="step_size"):
        got = schedule_math.step_decay(t, 1.0, step_size=3, gamma=0.5)
    np.testing.assert_allclose(ops.convert_to_numpy(got), 0.5 ** np.floor(t / 3), rtol=1e-6)
    with pytest.warns(DeprecationWarning, match="decay_steps"):
        got = schedule_math.polynomial(t, 1.0, decay_steps=4)
    np.testing.assert_allclose(ops.convert_to_numpy(got), 1 - np.minimum(t, 4) / 4, rtol=1e-6)
