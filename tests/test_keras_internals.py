"""The Keras internals keras_lr relies on exist on the installed Keras, and only `_keras.py` uses them."""

import inspect
import pathlib
import re

import keras
import pytest

from keras_lr import _keras

# Also on the oldest supported Keras (scripts/test.sh): the names are checked where they differ most.
pytestmark = pytest.mark.smoke

PACKAGE = pathlib.Path(_keras.__file__).parent


def _resolve(where):
    """The object `where` names: a dotted path, or a dotted path called with no arguments."""
    call = where.endswith("()")
    obj = keras
    for part in where.removesuffix("()").split(".")[1:]:
        obj = getattr(obj, part)
    return obj() if call else obj


def _instances():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    with_momentum = {}  # built: their momentum slots exist only then
    for name in ("SGD", "RMSprop"):
        with_momentum[f"keras.optimizers.{name}(momentum=0.9)"] = built = getattr(keras.optimizers, name)(0.1, momentum=0.9)
        built.build(model.trainable_variables)
    return {
        **with_momentum,
        "keras.Model": model,
        "keras.optimizers.Optimizer": optimizer,
        "keras.optimizers.LossScaleOptimizer": keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1)),
        "keras.random.SeedGenerator": keras.random.SeedGenerator(1),
    }


@pytest.mark.parametrize("where, name, kind", _keras.PRIVATE_NAMES, ids=lambda v: str(v))
def test_each_private_name_exists_with_its_kind(where, name, kind):
    instances = _instances()
    obj = instances.get(where) or _resolve(where)
    message = f"Keras {keras.version()} has no `{where}.{name}` ({kind}), which keras_lr/_keras.py uses"
    if (where, name) in _keras.OPTIONAL_NAMES and not hasattr(obj, name):
        pytest.skip(f"Keras {keras.version()} has no `{where}.{name}` (optional)")
    assert hasattr(obj, name), message
    value = getattr(obj, name)
    if kind == "method":
        assert callable(value), f"`{where}.{name}` is no longer a method: {message}"
    elif kind == "variable":
        # The base class of every backend's variable; `keras.Variable` is not it before Keras 3.7.
        base = keras.src.backend.common.KerasVariable
        assert isinstance(value, base), f"`{where}.{name}` is no longer a Variable: {message}"
    elif kind == "class":
        assert inspect.isclass(value), f"`{where}.{name}` is no longer a class: {message}"


def test_the_documented_names_are_the_listed_ones():
    doc = _keras.__doc__
    for _, name, _ in _keras.PRIVATE_NAMES:
        assert name in doc, f"`{name}` is used but not listed in keras_lr/_keras.py's docstring"
    assert keras.version() in _keras.CHECKED_KERAS_VERSIONS or _keras.CHECKED_KERAS_VERSIONS


PRIVATE_ACCESS = re.compile(
    r"object\.__setattr__|_keras_lr_|\.(?:_iterations|_learning_rate|_loss_tracker|_get_current_learning_rate"
    r"|_direction|_jax_state\w*|_trainable_variables|_accumulated_gradients|_tracker|_get_jax_state"
    r"|_should_torch_compile|_distribute_strategy|_symbolic_build)\b"
    r"|(?<!_keras)\.(?:train_function|make_train_function|gradient_accumulation_steps|inner_optimizer)\b"
    r"|[\"']seed_generator_state[\"']"
)


def test_no_other_module_touches_keras_internals():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_keras.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if PRIVATE_ACCESS.search(code):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    assert not offenders, "Keras internals outside keras_lr/_keras.py:\n" + "\n".join(offenders)


def test_a_missing_attribute_is_named():
    class Bare:
        pass

    with pytest.raises(AttributeError, match=r"keras_lr needs `Bare._iterations`"):
        _keras.step_variable(Bare())
