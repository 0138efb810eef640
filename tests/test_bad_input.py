"""Bad input to the public classes and functions: a clear Keras-style error, never a quiet fix.

Each case is a value that was once accepted as something else
(`restore="no"` taken as True), raw errors that did not name the argument
(`OverflowError` for `10**400`, `TypeError` from `plot_schedule(0.01, 10)`),
and files that `LRFinder.load` trusted. The saved-file checks run on
hand-written dicts and files here; `LRFinder.load` itself is tested below them.
"""

import copy
import json
import math

import keras
import matplotlib
import numpy as np
import pytest

import keras_lr
from keras_lr import _schema, schedules
from keras_lr import _validation as check

matplotlib.use("Agg")
HUGE = 10**400


def assert_names(error, name):
    """A Keras-style message: ``Argument `name` must be ... Received: name=...``."""
    message = str(error.value)
    assert f"Argument `{name}`" in message, message
    assert f"Received: {name}=" in message, message
    assert len(message) < 400, message  # a 400-digit int is shortened


# ---------------------------------------------------------------- _validation
@pytest.mark.parametrize("value", [HUGE, -HUGE, 2**63, 1e300, float("inf"), float("nan")])
def test_integer_refuses_huge_and_non_finite_values_by_name(value):
    with pytest.raises(ValueError) as error:
        check.integer("num_steps", value, 2)
    assert_names(error, "num_steps")


@pytest.mark.parametrize("value", [HUGE, -HUGE, "0.1", b"1", "nan", [0.1], np.array([0.1, 0.2]), 1j])
def test_number_refuses_overflow_strings_and_containers_by_name(value):
    with pytest.raises(ValueError) as error:
        check.number("start_lr", value)
    assert_names(error, "start_lr")


@pytest.mark.parametrize("value", [3, 3.0, np.int64(3), np.float32(3.0), np.array(3)])
def test_integer_accepts_integral_numbers(value):
    result = check.integer("num_steps", value, 2)
    assert result == 3 and type(result) is int


@pytest.mark.parametrize("value", ["no", "False", 0, 1, None, [], np.array([True])])
def test_boolean_refuses_everything_but_bools(value):
    with pytest.raises(ValueError) as error:
        check.boolean("restore", value)
    assert_names(error, "restore")


@pytest.mark.parametrize("value", [["a"], {"mode": 1}, np.array(["linear"]), 3, None])
def test_one_of_refuses_non_strings_without_a_raw_error(value):
    with pytest.raises(ValueError) as error:
        check.one_of("mode", value, ("linear", "exponential"))
    assert_names(error, "mode")


# ---------------------------------------------------------------- constructors
def _schedule_cases():
    s = schedules.Constant(0.1)
    return [
        # (factory, argument name): the call must raise a ValueError naming the argument
        (lambda: keras_lr.LRFinder(restore="no"), "restore"),
        (lambda: keras_lr.LRFinder(restore=None), "restore"),
        (lambda: keras_lr.LRFinder(restore=0), "restore"),
        (lambda: keras_lr.LRFinder(verbose="yes"), "verbose"),
        (lambda: keras_lr.LRFinder(num_steps=HUGE), "num_steps"),
        (lambda: keras_lr.LRFinder(start_lr=HUGE), "start_lr"),
        (lambda: keras_lr.LRFinder(end_lr=HUGE), "end_lr"),
        (lambda: keras_lr.LRFinder(num_runs=HUGE), "num_runs"),
        (lambda: keras_lr.LRFinder(seed=HUGE), "seed"),
        (lambda: keras_lr.LRFinder(start_lr="1e-7"), "start_lr"),
        (lambda: keras_lr.LRFinder(num_steps=True), "num_steps"),
        (lambda: keras_lr.LRLogger(per_batch="no"), "per_batch"),
        (lambda: keras_lr.LRLogger(per_batch=1), "per_batch"),
        (lambda: keras_lr.ReduceLROnPlateau(verbose="loud"), "verbose"),
        (lambda: keras_lr.ReduceLROnPlateau(patience=HUGE), "patience"),
        (lambda: keras_lr.ReduceLROnPlateau(factor=HUGE), "factor"),
        (lambda: keras_lr.ScheduleCallback(s, verbose=-1), "verbose"),
        (lambda: keras_lr.ScheduleCallback(s, unit=["step"]), "unit"),
        (lambda: keras_lr.ExponentialLR(0.1, 0.5, staircase="no"), "staircase"),
        (lambda: keras_lr.WarmupCosineLR(1.0, HUGE), "total_steps"),
        (lambda: keras_lr.WarmupCosineLR(1.0, 100, cycles=HUGE), "cycles"),
        (lambda: keras_lr.CyclicLR(0.1, 1.0, step_size=HUGE), "step_size"),
        (lambda: keras_lr.OneCycleLR(1.0, HUGE), "total_steps"),
        (lambda: keras_lr.OneCycleLR(1.0, 100, three_phase="yes"), "three_phase"),
        (lambda: keras_lr.OneCycleLR(1.0, 100, cycle_momentum=None), "cycle_momentum"),
        (lambda: schedules.Constant(HUGE), "value"),
        (lambda: schedules.Constant("0.1"), "value"),
        (lambda: schedules.Exponential(0.1, 0.5, staircase="False"), "staircase"),
        (lambda: schedules.Exponential(0.1, 0.5, decay_steps=HUGE), "decay_steps"),
        (lambda: schedules.StepDecay(0.1, decay_steps=HUGE), "decay_steps"),
        (lambda: schedules.Polynomial(0.1, total_steps=HUGE), "total_steps"),
        (lambda: schedules.Piecewise([HUGE], [0.1, 0.01]), "boundaries"),
        (lambda: schedules.Piecewise([10], [0.1, "0.01"]), "values"),
        (lambda: schedules.WarmupCosine(1.0, total_steps=HUGE), "total_steps"),
        (lambda: schedules.WarmupCosine(1.0, 100, warmup_steps=HUGE), "warmup_steps"),
        (lambda: schedules.Cyclic(0.1, HUGE), "max_lr"),
        (lambda: schedules.Cyclic(0.1, 1.0, mode=["triangular"]), "mode"),
        (lambda: schedules.OneCycle(1.0, total_steps=HUGE), "total_steps"),
        (lambda: schedules.OneCycle(1.0, 100, three_phase=1), "three_phase"),
        (lambda: schedules.OneCycle(1.0, 100, anneal_strategy=None), "anneal_strategy"),
        (lambda: schedules.Warmup(s, warmup_steps=HUGE), "warmup_steps"),
        (lambda: schedules.Join([s, s], [HUGE]), "boundaries"),
        (lambda: schedules.Scaled(s, factor=HUGE), "factor"),
        (lambda: schedules.Lambda(lambda t: 0.1 + 0 * t, base_lr=HUGE), "base_lr"),
    ]


@pytest.mark.parametrize("index", range(len(_schedule_cases())))
def test_constructor_refuses_bad_argument_by_name(index):
    factory, name = _schedule_cases()[index]
    with pytest.raises(ValueError) as error:
        factory()
    assert_names(error, name)


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_booleans_are_kept(value):
    assert keras_lr.LRFinder(restore=value).restore is bool(value)
    assert keras_lr.LRLogger(per_batch=value).per_batch is bool(value)


# ---------------------------------------------------------------- plotting
@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: keras_lr.plot_schedule(0.01, 10), "schedule"),
        (lambda: keras_lr.plot_schedule(None, 10), "schedule"),
        (lambda: keras_lr.plot_schedule(schedules.Constant(0.1), HUGE), "total_steps"),
        (lambda: keras_lr.plot_schedule(schedules.Constant(0.1), 10**10), "total_steps"),
        (lambda: keras_lr.plot_schedule(schedules.Constant(0.1), 2.5), "total_steps"),
        (lambda: keras_lr.plot_schedule(schedules.Constant(0.1), "10"), "total_steps"),
        (lambda: keras_lr.plot_schedule(schedules.Constant(0.1), 10, log_y="yes"), "log_y"),
        (lambda: keras_lr.plot_history(None), "history"),
        (lambda: keras_lr.plot_history([1.0, 0.5]), "history"),
        (lambda: keras_lr.plot_history({}), "history"),
        (lambda: keras_lr.plot_history({"loss": 0.5}), "history"),
        (lambda: keras_lr.plot_history({"loss": [1.0, 0.5]}, keys=["val_loss"]), "keys"),
        (lambda: keras_lr.plot_history({"loss": [1.0, 0.5]}, keys="loss"), "keys"),
    ],
)
def test_plot_functions_refuse_bad_arguments_by_name(call, name):
    with pytest.raises(ValueError) as error:
        call()
    assert_names(error, name)


def test_plot_history_still_draws_a_history_dict():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    keras_lr.plot_history({"loss": [1.0, 0.5], "learning_rate": [0.1, 0.01]}, ax=ax)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [1.0, 0.5])
    np.testing.assert_array_equal(ax.lr_axis.lines[0].get_ydata(), [0.1, 0.01])
    plt.close(fig)


# ---------------------------------------------------------------- saved range tests
from saved_range_tests import RUN, VALID  # noqa: E402


def mutated(path, value):
    """VALID with `data[path[0]][path[1]]... = value` (a value of `...` deletes the key)."""
    data = copy.deepcopy(VALID)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


def test_a_valid_file_passes():
    _schema.check_saved_range_test(copy.deepcopy(VALID), "ok.json")


@pytest.mark.parametrize(
    "data, fragment",
    [
        (mutated(("lrs",), [1e-3, 1e-2, 1e-1]), "differ in length"),
        (mutated(("raw_losses",), [1.0]), "differ in length"),
        (mutated(("val_losses",), [1.0]), "differ in length"),
        (mutated(("best_lr",), "big"), "best_lr"),
        (mutated(("best_lr",), -1.0), "best_lr"),
        (mutated(("best_lr",), None), "both"),
        (mutated(("best_loss",), math.nan), "best_loss"),
        (mutated(("losses",), None), "`losses` must be a list"),
        (mutated(("losses", 1), None), "losses[1]"),
        (mutated(("losses", 1), math.nan), "finite"),
        (mutated(("raw_losses", 0), math.inf), "raw_losses[0]"),
        (mutated(("lrs", 2), 0.0), "lrs[2]"),
        (mutated(("lrs", 2), HUGE), "lrs[2]"),
        (mutated(("lrs", 2), True), "lrs[2]"),
        (mutated(("lrs", 2), "0.1"), "lrs[2]"),
        (mutated(("steps", 0), -1), "steps[0]"),
        (mutated(("steps", 0), 0.5), "steps[0]"),
        (mutated(("steps",), [0, 0, 1, 1]), "increasing"),
        (mutated(("stop_reason",), "exploded"), "stop_reason"),
        (mutated(("diverged",), "no"), "diverged"),
        (mutated(("val_every",), 0), "val_every"),
        (mutated(("config", "colour"), "red"), "unknown key"),
        (mutated(("config", "num_steps"), HUGE), "num_steps"),
        (mutated(("config", "restore"), "no"), "restore"),
        (mutated(("config", "mode"), ["linear"]), "mode"),
        (mutated(("config",), [1, 2]), "config"),
        (mutated(("config",), ...), "'config'"),
        (mutated(("losses",), ...), "'losses'"),
        (mutated(("runs",), {"steps": []}), "runs"),
        (mutated(("runs",), [5]), "runs[0]"),
        (mutated(("runs",), []), "non-empty"),
        (mutated(("runs", 0, "lrs"), ...), "runs[0]"),
        (mutated(("runs", 0, "lrs"), [1.0]), "runs[0].lrs"),
        (mutated(("runs", 0, "stop_reason"), 3), "runs[0].stop_reason"),
        ([VALID], "JSON list"),
        ("a string", "JSON str"),
        (None, "JSON NoneType"),
        ({"loss": [1.0, 0.9], "val_loss": [1.1, 1.0]}, "Keras history"),
        ({"name": "another tool", "version": 3}, "has no"),
    ],
)
def test_check_refuses_a_bad_structure_naming_the_file(data, fragment):
    with pytest.raises(ValueError) as error:
        _schema.check_saved_range_test(data, "some/finder.json")
    message = str(error.value)
    assert "some/finder.json" in message, message
    assert fragment in message, (fragment, message)


def write(tmp_path, content):
    path = tmp_path / "finder.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


TEXT = json.dumps(VALID, indent=1)


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("", "empty"),
        ("   \n", "empty"),
        (TEXT[: len(TEXT) // 2], "not valid JSON"),
        ("{'config': 1}", "not valid JSON"),
        (TEXT.replace("[", "(", 1), "not valid JSON"),
        (bytes(range(256)), "binary"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "binary"),
        ('{"best_lr": ' + "9" * 5000 + "}", "cannot be read"),
        ("[" * 100000 + "]" * 100000, "cannot be read"),
        (json.dumps([VALID]), "JSON list"),
        (json.dumps({"loss": [1.0], "accuracy": [0.5]}), "Keras history"),
    ],
)
def test_read_refuses_a_bad_file_naming_it(tmp_path, content, fragment):
    path = write(tmp_path, content)
    with pytest.raises(ValueError) as error:
        _schema.read_saved_range_test(path)
    message = str(error.value)
    assert str(path) in message, message
    assert fragment in message, (fragment, message)


def test_read_accepts_a_valid_file(tmp_path):
    assert _schema.read_saved_range_test(write(tmp_path, TEXT)) == VALID


def test_read_accepts_an_older_file_without_runs_or_validation(tmp_path):
    old = {k: v for k, v in VALID.items() if k not in ("runs", "val_steps", "val_lrs", "val_losses")}
    assert _schema.read_saved_range_test(write(tmp_path, json.dumps(old))) == old


def test_read_accepts_what_save_writes(tmp_path):
    finder = keras_lr.LRFinder(1e-3, 1.0, num_steps=6, verbose=0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    x = np.linspace(-1, 1, 16, dtype="float32").reshape(8, 2)
    finder.find(model, x, x[:, :1], batch_size=4, val_data=(x, x[:, :1]), val_every=2)
    path = tmp_path / "saved.json"
    finder.save(path)
    data = _schema.read_saved_range_test(path)
    assert data["lrs"] == finder.lrs


# ---------------------------------------------------------------- LRFinder.load
def test_load_refuses_a_file_with_curves_of_different_lengths(tmp_path):
    path = write(tmp_path, json.dumps(mutated(("lrs",), [1e-3, 1e-2, 1e-1])))
    with pytest.raises(ValueError, match="differ in length") as error:
        keras_lr.LRFinder.load(path)
    assert str(path) in str(error.value)


def test_load_refuses_a_non_numeric_best_lr(tmp_path):
    path = write(tmp_path, json.dumps(mutated(("best_lr",), "big")))
    with pytest.raises(ValueError, match="best_lr") as error:
        keras_lr.LRFinder.load(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("", "empty"),
        (TEXT[:100], "not valid JSON"),
        (bytes(range(256)), "binary"),
        (json.dumps([1, 2]), "JSON list"),
        (json.dumps({"loss": [1.0], "val_loss": [1.2]}), "Keras history"),
        (json.dumps({"tool": "other", "lr": 0.1}), "has no"),
        (json.dumps(mutated(("config", "colour"), "red")), "unknown key"),
        (json.dumps(mutated(("losses",), None)), "losses"),
        (json.dumps(mutated(("runs",), [{"steps": [0]}])), "runs[0]"),
    ],
)
def test_load_refuses_a_bad_file_naming_it(tmp_path, content, fragment):
    path = write(tmp_path, content)
    with pytest.raises(ValueError) as error:
        keras_lr.LRFinder.load(path)
    assert str(path) in str(error.value)
    assert fragment in str(error.value)


def test_load_reads_a_valid_file(tmp_path):
    finder = keras_lr.LRFinder.load(write(tmp_path, TEXT))
    assert finder.lrs == VALID["lrs"] and finder.losses == VALID["losses"]
    assert finder.best_lr == 0.1 and finder.val_every == 2
    assert [run.lrs for run in finder.runs] == [RUN["lrs"]]


# ---------------------------------------------------------------- LRFinder.find
START, END, STEPS = 1e-3, 1.0, 6


def ramp(n=STEPS):
    """The exponential ramp, by hand: start * (end / start) ** (i / (n - 1))."""
    return [START * (END / START) ** (i / (n - 1)) for i in range(n)]


def small_model(loss="mse"):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=loss)
    return model


def data(n=16):
    x = np.linspace(-1, 1, 2 * n, dtype="float32").reshape(n, 2)
    return x, x[:, :1] * 0.5


def finder(**kwargs):
    return keras_lr.LRFinder(START, END, num_steps=STEPS, verbose=0, **kwargs)


def weights(model):
    return [np.array(w) for w in model.get_weights()]


def assert_unchanged(model, before):
    for a, b in zip(weights(model), before):
        np.testing.assert_array_equal(a, b)


def test_find_refuses_validation_split_pointing_to_val_data():
    model = small_model()
    before = weights(model)
    with pytest.raises(ValueError, match="val_data") as error:
        finder().find(model, *data(), batch_size=4, validation_split=0.5)
    assert "validation_split" in str(error.value)
    assert_unchanged(model, before)


def test_find_ignores_the_finder_in_callbacks():
    f = finder()
    seen = []
    logger = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    f.find(small_model(), *data(), batch_size=4, callbacks=[f, logger])
    assert f.steps == list(range(STEPS))
    np.testing.assert_allclose(f.lrs, ramp(), rtol=1e-6)
    assert seen  # the user's other callbacks still run


def test_find_refuses_another_finder_in_callbacks():
    with pytest.raises(ValueError, match="callbacks"):
        finder().find(small_model(), *data(), batch_size=4, callbacks=[finder()])


def test_find_num_steps_is_for_this_run_only():
    f = finder()
    model = small_model()
    f.find(model, *data(), batch_size=4, num_steps=4)
    assert f.steps == [0, 1, 2, 3]
    np.testing.assert_allclose(f.lrs, ramp(4), rtol=1e-6)
    assert f.num_steps == STEPS and f.get_config()["num_steps"] == STEPS
    f.find(model, *data(), batch_size=4)
    assert f.steps == list(range(STEPS))


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "32", HUGE])
def test_find_refuses_a_bad_batch_size(batch_size):
    with pytest.raises(ValueError) as error:
        finder().find(small_model(), *data(), batch_size=batch_size)
    assert_names(error, "batch_size")


@pytest.mark.parametrize("num_steps", [1, 0, HUGE, "12", 2.5])
def test_find_refuses_a_bad_num_steps_and_keeps_its_own(num_steps):
    f = finder()
    with pytest.raises(ValueError) as error:
        f.find(small_model(), *data(), batch_size=4, num_steps=num_steps)
    assert_names(error, "num_steps")
    assert f.num_steps == STEPS


def empty_inputs():
    import tensorflow as tf

    x, y = data()
    cases = {
        "arrays": ((x[:0], y[:0]), {"batch_size": 4}),
        "dict": (({"a": x[:0]}, y[:0]), {"batch_size": 4}),
        "dataset": ((tf.data.Dataset.from_tensor_slices((x[:0], y[:0])).batch(4),), {}),
        "generator": (((b for b in []),), {}),
        "list": (([],), {}),
    }
    return cases


@pytest.mark.parametrize("kind", ["arrays", "dict", "dataset", "generator", "list"])
def test_find_refuses_empty_data(kind):
    args, kwargs = empty_inputs()[kind]
    model = small_model() if kind != "dict" else None
    if kind == "dict":
        inputs = keras.Input((2,), name="a")
        model = keras.Model({"a": inputs}, keras.layers.Dense(1)(inputs))
        model.compile(optimizer="sgd", loss="mse")
    before = weights(model)
    f = finder()
    with pytest.raises(ValueError, match="`x`") as error:
        f.find(model, *args, **kwargs)
    assert "sample" in str(error.value) or "batch" in str(error.value)
    assert f.lrs == []
    assert_unchanged(model, before)


@pytest.mark.backends("torch")
def test_find_refuses_an_empty_torch_loader():
    import torch

    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.zeros(0, 2), torch.zeros(0, 1)), batch_size=4
    )
    with pytest.raises(ValueError, match="at least one batch"):
        finder().find(small_model(), loader)


def test_find_refuses_an_empty_py_dataset():
    class Empty(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()

        def __len__(self):
            return 0

        def __getitem__(self, index):
            raise IndexError(index)

    with pytest.raises(ValueError, match="at least one batch"):
        finder().find(small_model(), Empty())


@pytest.mark.parametrize("path", ["data.npz", b"data.npz"])
def test_find_refuses_a_file_name(path):
    with pytest.raises(ValueError, match="np.load") as error:
        finder().find(small_model(), path)
    assert "Argument `x`" in str(error.value)


def test_find_refuses_arrays_without_targets():
    x, _ = data()
    with pytest.raises(ValueError, match="Argument `y` is required") as error:
        finder().find(small_model(), x, batch_size=4)
    assert "'mse'" in str(error.value)


class SquaredOutput(keras.layers.Layer):
    """Adds mean(output ** 2) as the loss: a model that trains without targets."""

    def call(self, inputs):
        self.add_loss(keras.ops.mean(keras.ops.square(inputs)))
        return inputs


def test_find_runs_without_targets_when_the_model_needs_none():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, SquaredOutput()(keras.layers.Dense(1)(inputs)))
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=None)
    f = finder()
    f.find(model, data()[0], batch_size=4)
    assert f.steps == list(range(STEPS))


@pytest.mark.parametrize("where", ["x", "y", "sample_weight"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_find_refuses_non_finite_arrays_naming_them(where, bad):
    x, y = data()
    sample_weight = np.ones(len(x), "float32")
    arrays = {"x": x.copy(), "y": y.copy(), "sample_weight": sample_weight}
    arrays[where][3] = bad
    model = small_model()
    before = weights(model)
    f = finder()
    with pytest.raises(ValueError, match="finite") as error:
        f.find(model, arrays["x"], arrays["y"], batch_size=4, sample_weight=arrays["sample_weight"])
    assert f"Argument `{where}`" in str(error.value)
    assert f.lrs == []
    assert_unchanged(model, before)


def test_find_refuses_arrays_of_different_lengths():
    x, y = data()
    with pytest.raises(ValueError, match="same number of samples"):
        finder().find(small_model(), x, y[:5], batch_size=4)


def nan_batches():
    x, y = data()
    x = x.copy()
    x[:] = np.nan
    for start in range(0, len(x), 4):
        yield x[start : start + 4], y[start : start + 4]


@pytest.mark.parametrize("num_runs", [1, 2])
@pytest.mark.parametrize("kind", ["generator", "dataset"])
def test_find_reports_a_loss_not_finite_from_the_first_step(kind, num_runs):
    if kind == "dataset":
        import tensorflow as tf

        batches = list(nan_batches())
        x = tf.data.Dataset.from_tensor_slices(
            (np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]))
        ).batch(4)
    else:
        x = nan_batches()
    model = small_model()
    before = weights(model)
    f = finder(num_runs=num_runs, seed=0)
    with pytest.raises(ValueError, match="not finite from the first step") as error:
        f.find(model, x)
    assert "NaN" in str(error.value)
    assert f.stop_reason == "nan" and f.lrs == []
    assert_unchanged(model, before)
