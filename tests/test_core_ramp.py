"""`RampConfig`, the ramp's settings in one place, and `LRFinder`'s use of it.

The float32 limits are numpy's (`np.finfo(np.float32)`); a ramp the finder
accepts must be finite and positive at every step in float32 (evaluated with
`keras_lr.schedule_math`, the ramp the train step runs).
"""

import dataclasses
import math

import numpy as np
import pytest

import keras_lr
from keras_lr.core import RampConfig
from keras_lr.schedules import evaluate

TINY = float(np.finfo(np.float32).tiny)  # about 1.18e-38
HUGE = 1e38  # float32's largest power of ten (its largest number is about 3.40e38)


def test_defaults_and_round_trip():
    ramp = RampConfig()
    assert ramp.to_dict() == {
        "start_lr": 1e-7,
        "end_lr": 10.0,
        "num_steps": 100,
        "mode": "exponential",
        "beta": 0.98,
        "stop_factor": 4.0,
    }
    assert RampConfig.from_dict(ramp.to_dict()) == ramp
    # The finder's other keys are ignored; missing ones take the defaults.
    assert RampConfig.from_dict({"num_steps": 7, "restore": False}).num_steps == 7
    with pytest.raises(dataclasses.FrozenInstanceError):
        ramp.num_steps = 3


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"start_lr": 0.0}, "Argument `start_lr` must be > 0. Received: start_lr=0.0"),
        ({"start_lr": 1.0, "end_lr": 0.5}, "Argument `end_lr` must be > start_lr (1)"),
        ({"num_steps": 1}, "Argument `num_steps` must be an integer >= 2. Received: num_steps=1"),
        ({"mode": "cosine"}, "Argument `mode` must be one of 'exponential', 'linear'"),
        ({"beta": 1.0}, "Argument `beta` must be in [0, 1)"),
        ({"stop_factor": 1.0}, "Argument `stop_factor` must be > 1"),
    ],
)
def test_keras_style_errors(kwargs, fragment):
    with pytest.raises(ValueError) as error:
        RampConfig(**kwargs)
    assert fragment in str(error.value)


@pytest.mark.parametrize(
    "start, end, name",
    [
        (1e-300, 1e300, "start_lr"),  # today: one point recorded at lr=nan
        (1e-39, 1.0, "start_lr"),  # a float32 subnormal
        (1e-3, 1e39, "end_lr"),  # beyond float32's largest number
        (10.0, 3.4e38, "end_lr"),  # float32 rounding of the last step: inf
        (1e-30, 1e30, "end_lr"),  # a ratio of 1e60: (end / start) ** t overflows float32
    ],
)
def test_the_finder_refuses_bounds_outside_float32(start, end, name):
    with pytest.raises(ValueError) as error:
        keras_lr.LRFinder(start, end)
    message = str(error.value)
    assert f"`{name}`" in message and "float32" in message and "Received:" in message, message


def test_the_limits_are_named():
    with pytest.raises(ValueError, match=r">= 1.1754944e-38 \(float32's smallest normal"):
        RampConfig(1e-39, 1.0)
    with pytest.raises(ValueError, match=r"<= 1e\+38 \(the ramp runs in float32"):
        RampConfig(1.0, 3e38)
    with pytest.raises(ValueError, match=r"span at most 1e\+38"):
        RampConfig(1e-20, 1e20)


@pytest.mark.parametrize(
    "start, end, mode",
    [
        (TINY, 1e-3, "exponential"),
        (10.0, HUGE, "exponential"),
        (1e-19, 1e19, "exponential"),  # a ratio of 1e38, the largest accepted
        (TINY, HUGE, "linear"),
        (TINY, 2 * TINY, "linear"),
    ],
)
def test_an_accepted_ramp_is_finite_and_positive_in_float32(start, end, mode):
    finder = keras_lr.LRFinder(start, end, 1000, mode=mode, verbose=0)
    values = np.asarray(evaluate(finder.ramp, np.arange(1000)), dtype="float32")
    assert np.all(np.isfinite(values)) and np.all(values > 0), values[~(values > 0)][:5]
    # Both ends within float32 rounding of the bounds.
    assert math.isclose(values[0], start, rel_tol=1e-5)
    assert math.isclose(values[-1], end, rel_tol=1e-4)


def test_the_finder_keeps_its_attributes_and_config():
    finder = keras_lr.LRFinder(1e-6, 1.0, 50, mode="linear", beta=0.9, stop_factor=3, verbose=0)
    assert (finder.start_lr, finder.end_lr, finder.num_steps) == (1e-6, 1.0, 50)
    assert (finder.mode, finder.beta, finder.stop_factor) == ("linear", 0.9, 3.0)
    assert finder.get_config() == {
        "start_lr": 1e-6,
        "end_lr": 1.0,
        "num_steps": 50,
        "mode": "linear",
        "beta": 0.9,
        "stop_factor": 3.0,
        "restore": True,
        "verbose": 0,
        "num_runs": 1,
        "seed": None,
    }
    ramp = RampConfig.from_dict(finder.get_config())
    assert ramp == RampConfig(1e-6, 1.0, 50, "linear", 0.9, 3.0)


def test_a_saved_file_with_such_bounds_is_refused(tmp_path):
    import json

    from saved_range_tests import VALID

    data = json.loads(json.dumps(VALID))
    data["config"]["start_lr"] = 1e-300
    path = tmp_path / "range_test.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError) as error:
        keras_lr.RangeTest.load(path)
    assert str(path) in str(error.value) and "float32" in str(error.value)
