"""Hypothesis fuzz of every public constructor and of `LRFinder.load`.

The only allowed outcomes are success, or a `ValueError`/`TypeError` whose
message names an argument that was passed (constructors) or the file (load).
Anything else (an `OverflowError`, a `KeyError`, a `TypeError` from deep
inside, a message without the argument) fails. Construction only, no `fit`:
bounded `max_examples` keep each backend well under a minute.
"""

import copy
import inspect
import json
import math
import random

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keras_lr
from keras_lr import schedules

OMIT = object()
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _constant_schedule():
    return schedules.Constant(0.1)


#: Values a careless or hostile caller passes: wrong types, NaN, inf, huge ints, negatives, strings, bools.
NASTY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.sampled_from([0, -1, 1, 2, 10**400, -(10**400), 2**63, 2**31 - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, 5e-324, -0.0, 0.5, 1.0]),
    st.text(max_size=4),
    st.sampled_from(
        ["no", "yes", "True", "0.1", "cos", "linear", "triangular", "exp_range", "exponential",
         "step", "epoch", "min", "max", "auto", "val_loss", "cycle", "iterations"]
    ),  # fmt: skip
    st.binary(max_size=3),
    st.lists(st.one_of(st.floats(), st.integers(-5, 10**3), st.text(max_size=2)), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(_constant_schedule),
    st.just(lambda step: step),
    st.just(object()),
)


def public_classes():
    """Every schedule class of `keras_lr.schedules` and every callback of `keras_lr`."""
    classes = [
        getattr(schedules, name)
        for name in schedules.__all__
        if inspect.isclass(getattr(schedules, name)) and name != "Schedule"
    ]
    classes += [
        getattr(keras_lr, name)
        for name in keras_lr.__all__
        if inspect.isclass(getattr(keras_lr, name))
        and issubclass(getattr(keras_lr, name), keras.callbacks.Callback)
    ]
    return classes


CLASSES = public_classes()


def test_every_public_class_is_fuzzed():
    names = {cls.__name__ for cls in CLASSES}
    assert {"LRFinder", "LRLogger", "ReduceLROnPlateau", "CyclicLR", "OneCycle", "Lambda"} <= names
    assert len(CLASSES) >= 20


def arguments(cls):
    """A strategy of keyword arguments for `cls`: each argument omitted (if it may be) or nasty."""
    params = [
        p
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    fields = {
        p.name: NASTY if p.default is inspect.Parameter.empty else st.one_of(st.just(OMIT), NASTY)
        for p in params
    }
    return st.fixed_dictionaries(fields).map(
        lambda kwargs: {k: v for k, v in kwargs.items() if v is not OMIT}
    )


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_constructor_succeeds_or_names_the_argument(cls):
    @FUZZ
    @given(kwargs=arguments(cls))
    def fuzz(kwargs):
        try:
            cls(**kwargs)
        except (ValueError, TypeError) as error:
            message = str(error)
            # The argument at fault, or the one it conflicts with ("`end_lr` must be >
            # start_lr (10)" when only start_lr=10 was passed).
            assert "Argument `" in message or "Arguments `" in message, message
            assert any(name in message for name in kwargs), (cls.__name__, kwargs, message)

    fuzz()


# ---------------------------------------------------------------- LRFinder.load
from saved_range_tests import VALID  # noqa: E402

JSON_NASTY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.sampled_from([0, -1, 10**400, -(10**400), 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.lists(st.one_of(st.floats(), st.integers(-3, 3), st.none()), max_size=5),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def paths(value, prefix=()):
    """Every path to a value inside nested dicts and lists."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, prefix + (index,))


ALL_PATHS = [p for p in paths(VALID) if p]


def assert_load_succeeds_or_names_the_file(path):
    """`LRFinder.load` and `RangeTest.load`: a result, or an error that names the file."""
    for load in (keras_lr.LRFinder.load, keras_lr.RangeTest.load):
        try:
            result = load(path)
        except (ValueError, TypeError) as error:
            assert str(path) in str(error), (load, str(error))
        else:
            assert len(result.lrs) == len(result.losses) == len(result.steps)
            assert all(math.isfinite(v) for v in result.losses + result.lrs)


@FUZZ
@given(
    mutations=st.lists(
        st.tuples(st.sampled_from(ALL_PATHS), JSON_NASTY, st.booleans()), min_size=1, max_size=3
    )
)
def test_load_with_mutated_values(tmp_path_factory, mutations):
    data = copy.deepcopy(VALID)
    for path, value, delete in mutations:
        try:
            data = _apply(data, path, value, delete)
        except (KeyError, IndexError, TypeError):  # an earlier mutation removed the path
            continue
    file = tmp_path_factory.mktemp("fuzz") / "finder.json"
    file.write_text(json.dumps(data), encoding="utf-8")
    assert_load_succeeds_or_names_the_file(file)


def _apply(data, path, value, delete):
    target = data
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


TEXT = json.dumps(VALID, indent=1)


@FUZZ
@given(
    how=st.sampled_from(["cut", "shuffle", "binary", "splice"]),
    seed=st.integers(0, 2**16),
    position=st.floats(0, 1),
    junk=st.binary(max_size=40),
)
def test_load_with_damaged_files(tmp_path_factory, how, seed, position, junk):
    rng = random.Random(seed)
    at = int(position * len(TEXT))
    if how == "cut":
        content = TEXT[:at].encode()
    elif how == "shuffle":
        lines = TEXT.splitlines()
        rng.shuffle(lines)
        content = "\n".join(lines).encode()
    elif how == "binary":
        content = bytes(rng.randrange(256) for _ in range(64)) + junk
    else:
        content = TEXT[:at].encode() + junk + TEXT[at:].encode()
    file = tmp_path_factory.mktemp("fuzz") / "finder.json"
    file.write_bytes(content)
    assert_load_succeeds_or_names_the_file(file)


def test_the_unmutated_file_loads(tmp_path):
    file = tmp_path / "finder.json"
    file.write_text(TEXT, encoding="utf-8")
    finder = keras_lr.LRFinder.load(file)
    assert finder.lrs == VALID["lrs"] and finder.best_lr == 0.1


# ---------------------------------------------------------------- extreme but finite values
#: Learning rates and ratios from 1e-300 to 1e300 (log-uniform), and the usual values.
EXTREME = st.one_of(
    st.floats(-300, 300).map(lambda e: 10.0**e),
    st.sampled_from([1e-300, 5e-324, 1e-45, 1e-38, 3.4e38, 3.5e38, 1e300, 1.0, 0.5, 0.999]),
)
#: Horizons (lengths, boundaries) up to 1e15 steps, whole or fractional.
HORIZON = st.one_of(
    st.integers(1, 10**15),
    st.floats(0.5, 1e15),
    st.sampled_from([1, 2, 3, 2**31 - 2, 2**31 - 1, 2**31, 2**31 + 1, 10**12]),
)
HORIZON_NAMES = ("total_steps", "warmup_steps", "hold_steps", "decay_steps", "step_size",
                 "step_size_down")  # fmt: skip
INT32_MAX = 2**31 - 1


def extreme_arguments(cls):
    """Keyword arguments for `cls`: each numeric argument omitted or extreme (modes left default)."""
    fields = {}
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name in HORIZON_NAMES:
            strategy = HORIZON
        elif p.name == "cycles":
            strategy = st.integers(1, 10**15)
        elif p.name == "boundaries":
            strategy = st.lists(HORIZON, min_size=1, max_size=3).map(sorted)
        elif p.name in ("schedule", "schedules", "values"):
            continue  # built below from the other draws
        elif p.name in ("self", "mode", "anneal_strategy", "unit", "verbose", "scale_fn",
                        "scale_mode", "staircase", "three_phase", "cycle_momentum", "fn"):  # fmt: skip
            continue
        else:
            strategy = EXTREME
        required = p.default is inspect.Parameter.empty
        fields[p.name] = strategy if required else st.one_of(st.just(OMIT), strategy)
    return st.fixed_dictionaries(fields).map(
        lambda kwargs: {k: v for k, v in kwargs.items() if v is not OMIT}
    )


SCHEDULE_CLASSES = [
    schedules.Constant, schedules.Exponential, schedules.StepDecay, schedules.Polynomial,
    schedules.Piecewise, schedules.WarmupCosine, schedules.Cyclic, schedules.OneCycle,
    schedules.Warmup, schedules.Join, schedules.Scaled,
    keras_lr.ExponentialLR, keras_lr.WarmupCosineLR, keras_lr.CyclicLR,
    keras_lr.OneCycleLR,
]  # fmt: skip


def _build(cls, kwargs, lrs):
    """`cls(**kwargs)`, with the schedule-valued arguments made of extreme constants."""
    kwargs = dict(kwargs)
    if cls is schedules.Piecewise:
        kwargs["values"] = lrs[: len(kwargs["boundaries"]) + 1]
    elif cls is schedules.Join:
        kwargs["schedules"] = [schedules.Constant(lr) for lr in lrs[: len(kwargs["boundaries"]) + 1]]
    elif cls in (schedules.Warmup, schedules.Scaled):
        kwargs["schedule"] = schedules.Constant(lrs[0])
    return cls(**kwargs)


def _sampled_steps(kwargs):
    """Steps 0, 1, each horizon's end (and its neighbours), and the last exact step."""
    steps = {0, 1, 2, INT32_MAX}
    for name, value in kwargs.items():
        values = value if isinstance(value, list) else [value]
        if name in HORIZON_NAMES or name == "boundaries":
            for v in values:
                for s in (math.floor(v) - 1, math.floor(v), math.ceil(v), math.ceil(v) + 1):
                    steps.add(min(max(s, 0), INT32_MAX))
    return sorted(steps)


@pytest.mark.parametrize("cls", SCHEDULE_CLASSES, ids=lambda cls: cls.__name__)
def test_extreme_values_are_refused_by_name_or_give_finite_lrs(cls):
    """Extreme ratios (1e+-300) and horizons (to 1e15): a clear refusal, or finite LRs >= 0."""

    @settings(FUZZ, max_examples=25)
    @given(kwargs=extreme_arguments(cls), lrs=st.lists(EXTREME, min_size=4, max_size=4))
    def fuzz(kwargs, lrs):
        try:
            made = _build(cls, kwargs, lrs)
        except ValueError as error:
            message = str(error)
            assert message.startswith("Argument `"), message
            assert "Received: " in message, message
            named = set(kwargs) | {"values", "value", "schedules", "schedule"}
            assert any(f"`{name}`" in message for name in named), (kwargs, message)
            return
        schedule = getattr(made, "schedule", made)
        steps = _sampled_steps(kwargs)
        with np.errstate(over="ignore", invalid="ignore"):
            values = schedules.evaluate(schedule, steps)
        assert np.all(np.isfinite(values)) and np.all(values >= 0), (kwargs, lrs, steps, values)

    fuzz()


def test_extreme_finder_bounds_are_refused_by_name_or_give_a_finite_ramp():
    @settings(FUZZ, max_examples=40)
    @given(start=EXTREME, end=EXTREME, num_steps=st.integers(2, 10**6))
    def fuzz(start, end, num_steps):
        try:
            finder = keras_lr.LRFinder(start, end, num_steps)
        except ValueError as error:
            message = str(error)
            assert "`start_lr`" in message or "`end_lr`" in message, message
            return
        steps = [0, 1, num_steps // 2, num_steps - 1]
        with np.errstate(over="ignore", invalid="ignore"):
            ramp = schedules.evaluate(finder.ramp, steps)
        assert np.all(np.isfinite(ramp)) and np.all(ramp > 0), (start, end, num_steps, ramp)

    fuzz()
