"""The `keras-lr` option table (`keras_lr_cli.options`) against keras_lr's public API.

The table is data written by hand; these tests hold it to the classes and
lists it mirrors: each schedule family's arguments against
`inspect.signature` of its `keras_lr.schedules` class, and the choices
against keras_lr's own lists.
"""

import inspect

import pytest

import keras_lr
from keras_lr import schedules
from keras_lr.plotting import MAX_PLOT_STEPS
from keras_lr_cli import main, options
from keras_lr_cli.commands import suggestion_methods

FAMILIES = {family.name: family for family in options.SCHEDULE_FAMILIES}

# The annotation (as written in keras_lr/schedules.py) each kind of option reads.
ANNOTATIONS = {
    "float": "float",
    "float_or_none": "float | None",
    "int": "int",
    "bool": "bool",
    "floats": "Sequence[float]",
    "str": "str",
}


def signature(family):
    parameters = inspect.signature(getattr(schedules, family.class_name)).parameters
    return {name: p for name, p in parameters.items() if p.kind is not p.VAR_KEYWORD}


@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_arguments_equal_the_class_signature(name):
    family = FAMILIES[name]
    parameters = signature(family)
    table = [p.name for p in family.params]
    # Every argument is either an option or named as Python-only, in the class's order.
    assert [n for n in parameters if n not in family.python_only] == table
    assert set(family.python_only) <= set(parameters)
    for param in family.params:
        expected = parameters[param.name]
        assert param.required == (expected.default is inspect.Parameter.empty), param.name
        if not param.required:
            assert type(param.default) is type(expected.default), param.name
            assert param.default == expected.default, param.name
        assert str(expected.annotation).replace("Optional[float]", "float | None") == (
            ANNOTATIONS[param.kind]
        ), param.name
    for python_only in family.python_only:  # left at the class's default: never required
        assert parameters[python_only].default is not inspect.Parameter.empty


def test_every_schedule_family_builds_its_class():
    for family in options.SCHEDULE_FAMILIES:
        cls = getattr(schedules, family.class_name)
        assert issubclass(cls, schedules.Schedule)
    assert options.SCHEDULES == {f.name: f.class_name for f in options.SCHEDULE_FAMILIES}
    assert len(set(options.SCHEDULES.values())) == len(options.SCHEDULES)


def test_suggestion_choices_are_keras_lr_methods():
    methods, default = suggestion_methods()
    assert options.SUGGESTION_METHODS == methods
    assert options.DEFAULT_SUGGESTION == default
    demo = {o.dest: o for o in options.DEMO_OPTIONS}
    assert demo["suggestion"].choices == methods
    assert demo["suggestion"].default == default


def test_choices_are_what_the_classes_accept():
    cyclic = {p.name: p for p in FAMILIES["cyclic"].params}
    assert cyclic["mode"].choices == schedules.CYCLIC_MODES
    one_cycle = {p.name: p for p in FAMILIES["one-cycle"].params}
    for choice in one_cycle["anneal_strategy"].choices:
        schedules.OneCycle(1.0, 100, anneal_strategy=choice)
    with pytest.raises(ValueError, match="anneal_strategy"):
        schedules.OneCycle(1.0, 100, anneal_strategy="exp")
    find = {o.dest: o for o in options.FIND_OPTIONS}
    for mode in find["mode"].choices:
        keras_lr.LRFinder(mode=mode)
    with pytest.raises(ValueError, match="mode"):
        keras_lr.LRFinder(mode="cubic")


def test_limits_are_keras_lr_limits():
    assert options.MAX_PLOT_STEPS == MAX_PLOT_STEPS


def test_trials_budget_is_keras_lr_default():
    from keras_lr.callbacks import trials

    assert options.TRIALS_BUDGET == trials.DEFAULT_BUDGET


@pytest.mark.parametrize("name", list(FAMILIES))
def test_help_lists_every_option_of_the_family(capsys, name):
    assert main(["plot", name, "--help"]) == 0
    out = capsys.readouterr().out
    for param in FAMILIES[name].params:
        assert "--" + param.name.replace("_", "-") in out
    for python_only in FAMILIES[name].python_only:
        assert "--" + python_only.replace("_", "-") not in out


def test_version_is_the_package_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"keras-lr {keras_lr.__version__}"
