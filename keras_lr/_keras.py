"""Every access keras_lr makes to a private part of Keras, in one place.

Contract: only the keras_lr callback that owns a model's learning rate for
the current `fit` changes it, and only for the duration of each call of the
model's train function, which keras_lr wraps; the wrapper puts the
optimizer back when the call returns or raises, and the user's own train
function (and LR variable) are put back at `on_train_end`, or, when `fit`
raised before it, at the start of the model's next `fit`/`train_on_batch`.

How (see `TrainFunctionSwap` and `patched`):

- While a keras_lr callback owns the LR, `model.train_function` is a Python
  wrapper around a compiled train function of keras_lr's own (built by
  Keras' `make_train_function(force=True)`, which is lazy: JAX and TF trace
  at the first call, inside the wrapper). Around each call the wrapper gives
  the (inner) optimizer an instance-level `_get_current_learning_rate` that
  evaluates the owner's schedule at `optimizer._iterations`, and, for the LR
  finder, an instance-level `update_state` on the loss tracker; a `finally`
  removes both. An exception or a `KeyboardInterrupt` anywhere therefore
  leaves the optimizer and the loss tracker untouched.
- Momentum cycling (`OneCycleLR`/`CyclicLR(cycle_momentum=True)`) is part of
  the same patch: the instance-level `_get_current_learning_rate` also
  evaluates the momentum schedule at `_iterations` (inside the trace on
  TF/JAX), which Keras calls once per update before any `update_step`. For
  Adam, AdamW, Adamax, Nadam and Lion the value goes into the instance
  attribute `beta_1`, read by their update (also Nadam's
  `_backend_update_step` and Adam's bias correction `beta_1 ** t`). SGD and
  RMSprop test `momentum != 0` / `> 0` in Python inside their update, which a
  traced value cannot answer, so their `momentum` stays the user's float `m0`
  and an instance-level `_backend_update_step` scales each momentum slot by
  `m_t / m0` before Keras' own update (`m0 * (v * m_t / m0) = m_t * v`) and,
  for Nesterov, adds `(m_t - m0) * v_new` after it. The `finally` puts the
  user's `beta_1` back and removes both instance attributes.
- Keras skips `on_train_end` when `fit` raises, so while the wrapper is
  installed the model also has an instance-level `make_train_function`: every
  Keras `fit` and `train_on_batch` calls `make_train_function()` first, and
  there it puts the user's train function back, restores an LR variable that
  an epoch-unit scheduler set, and removes itself. A `make_train_function(
  force=True)` made during the owner's `fit` (a callback rebuilding the step)
  only drops keras_lr's compiled function, rebuilt at the next call.
- An epoch-unit scheduler sets the LR variable (a real optimizer variable:
  no retrace) at each epoch start; its user value is put back at
  `on_train_end`, or at the next `fit`/`train_on_batch` when `fit` raised.
- The compiled functions are cached per model, keyed on the user's train
  function (which `compile()` resets, so a recompile never sees a stale one)
  and on the schedule object: a second `fit` with the same callback reuses
  its compiled step, and the user's own train function is put back as it was,
  so a later plain `fit` does not retrace either.

Private (or undocumented) names used, checked against Keras 3.15.1 (listed
in `PRIVATE_NAMES`, tested by `tests/test_keras_internals.py`):

- `BaseOptimizer._iterations` (Variable): the micro-step counter that Keras
  evaluates its own schedules at, incremented once per `apply()`; with
  `gradient_accumulation_steps=k` an update happens on every k-th micro-step.
- `BaseOptimizer._learning_rate` (Variable, LearningRateSchedule or callable).
- `BaseOptimizer._get_current_learning_rate` (method): what `apply()` reads.
- `BaseOptimizer.gradient_accumulation_steps` (attribute, None or int).
- `BaseOptimizer._backend_update_step` (method): the update of all variables,
  after the LR is read; `BaseOptimizer._get_variable_index` (method);
  `SGD.momentums` and `RMSprop._momentums` (lists of slot variables, built
  when `momentum > 0`): momentum cycling of SGD and RMSprop.
- `LossScaleOptimizer.inner_optimizer` (attribute).
- `keras.optimizers.MultiOptimizer` (class; absent in older Keras).
- `Trainer._loss_tracker` (a `Mean` metric) and `Metric.update_state`.
- `Trainer.train_function` (attribute) and `Trainer.make_train_function`
  (method, called first by every `fit`/`train_on_batch`).
- `Metric._direction` (`"up"`/`"down"`, set by most built-in metrics), optional.
- `SeedGenerator` state variables, named `seed_generator_state`, `[seed, counter]`.
- `keras.src.backend.common.KerasVariable` (class): the base of every Keras
  variable (`is_variable`).

Differences between Keras versions, handled here (the smoke subset of the
tests, `pytest -m smoke`, runs on Keras 3.5.0 in CI):

- Before 3.7, `keras.Variable` is an exported subclass, not the base of the
  variables the backends create (`isinstance(optimizer._learning_rate,
  keras.Variable)` is False there): `is_variable` tests `KerasVariable`.
- Before 3.11, the `batch` that `on_train_batch_end` gets under
  `steps_per_execution` is the execution's first step; from 3.11 its last:
  `last_step_of_batch`.
- Before 3.15, `test_on_batch` does not reset the metrics (the LR finder's
  validation loss resets them itself).
- Before 3.9, `LossScaleOptimizer.iterations` is the wrapper's own counter,
  not the inner optimizer's: keras_lr always reads the inner (`unwrap`).
- Before 3.5, optimizers have no `_iterations` (unsupported: `keras>=3.5`).
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import keras
from keras import ops
from keras.src.backend.common import KerasVariable

CHECKED_KERAS_VERSIONS = ("3.5.0", "3.15.1")
KERAS_VERSION = tuple(int(part) for part in keras.version().split(".")[:2])

# (where, name, kind): kind is "attribute", "method", "variable" or "class".
PRIVATE_NAMES: tuple[tuple[str, str, str], ...] = (
    ("keras.optimizers.Optimizer", "_iterations", "variable"),
    ("keras.optimizers.Optimizer", "_learning_rate", "attribute"),
    ("keras.optimizers.Optimizer", "_get_current_learning_rate", "method"),
    ("keras.optimizers.Optimizer", "gradient_accumulation_steps", "attribute"),
    ("keras.optimizers.Optimizer", "_backend_update_step", "method"),
    ("keras.optimizers.Optimizer", "_get_variable_index", "method"),
    ("keras.optimizers.SGD(momentum=0.9)", "momentums", "attribute"),
    ("keras.optimizers.RMSprop(momentum=0.9)", "_momentums", "attribute"),
    ("keras.optimizers.LossScaleOptimizer", "inner_optimizer", "attribute"),
    ("keras.optimizers", "MultiOptimizer", "class"),
    ("keras.Model", "_loss_tracker", "attribute"),
    ("keras.Model", "train_function", "attribute"),
    ("keras.Model", "make_train_function", "method"),
    ("keras.metrics.Mean", "update_state", "method"),
    ("keras.metrics.Accuracy()", "_direction", "attribute"),
    ("keras.random.SeedGenerator", "state", "variable"),
    ("keras.src.backend.common", "KerasVariable", "class"),
)

# The names some supported Keras versions lack (keras_lr checks for them before use).
OPTIONAL_NAMES = frozenset({("keras.optimizers", "MultiOptimizer")})

_LR_METHOD = "_get_current_learning_rate"
_SEED_STATE = "seed_generator_state"


def _require(obj: Any, name: str) -> Any:
    """`getattr(obj, name)`, or an error naming the Keras attribute that is missing."""
    try:
        return getattr(obj, name)
    except AttributeError:
        raise AttributeError(
            f"keras_lr needs `{type(obj).__name__}.{name}`, which this Keras "
            f"({keras.version()}) does not have. keras_lr was checked against Keras "
            f"{', '.join(CHECKED_KERAS_VERSIONS)}."
        ) from None


# ------------------------------------------------------------------ optimizer
def unwrap(optimizer: Any) -> Any:
    """The optimizer that owns the LR: the inner one of a `LossScaleOptimizer`."""
    while isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = _require(optimizer, "inner_optimizer")
    return optimizer


def optimizers(optimizer: Any) -> list[Any]:
    """The optimizer and, for a `LossScaleOptimizer`, the ones it wraps."""
    found = []
    while optimizer is not None:
        found.append(optimizer)
        optimizer = getattr(optimizer, "inner_optimizer", None)
    return found


def is_multi_optimizer(optimizer: Any) -> bool:
    multi = getattr(keras.optimizers, "MultiOptimizer", None)
    return multi is not None and isinstance(unwrap(optimizer), multi)


def learning_rate(optimizer: Any) -> Any:
    """The optimizer's LR as given: a Variable, a schedule or a callable."""
    return _require(unwrap(optimizer), "_learning_rate")


def is_variable(value: Any) -> bool:
    """Whether `value` is a Keras variable, on every supported Keras (not `keras.Variable`)."""
    return isinstance(value, KerasVariable)


def lr_variable(optimizer: Any) -> Any:
    """The optimizer's LR variable, or None when the LR is a schedule or callable."""
    value = learning_rate(optimizer)
    return value if is_variable(value) else None


def step_variable(optimizer: Any) -> Any:
    """The micro-step counter (`_iterations`), which Keras' own schedules read."""
    return _require(unwrap(optimizer), "_iterations")


def micro_steps(optimizer: Any) -> int:
    """Micro-steps (batches) applied so far; updates times `accumulation`."""
    return int(ops.convert_to_numpy(step_variable(optimizer)))


def accumulation(optimizer: Any) -> int:
    """`gradient_accumulation_steps`, or 1 when every micro-step is an update."""
    return int(_require(unwrap(optimizer), "gradient_accumulation_steps") or 1)


def read_float(variable: Any) -> float:
    return float(ops.convert_to_numpy(variable))


# The optimizers whose momentum keras_lr can cycle, and the attribute their update reads.
_BETA_1_OPTIMIZERS = ("Adam", "AdamW", "Adamax", "Nadam", "Lion")
_MOMENTUM_SLOTS = {"SGD": "momentums", "RMSprop": "_momentums"}


def _momentum_family(optimizer: Any) -> str | None:
    """The Keras class (by public name) that makes `optimizer` momentum-cyclable, or None."""
    for name in (*_MOMENTUM_SLOTS, *_BETA_1_OPTIMIZERS):
        cls = getattr(keras.optimizers, name, None)
        if cls is not None and isinstance(optimizer, cls):
            return name
    return None


def momentum_attribute(optimizer: Any) -> str | None:
    """The attribute holding the momentum that keras_lr can cycle, or None.

    `"momentum"` for SGD and RMSprop built with `momentum > 0` (with 0 they
    have no momentum slots), `"beta_1"` for Adam, AdamW, Adamax, Nadam and
    Lion; None for every other optimizer. Under a `LossScaleOptimizer`, the
    inner optimizer's.
    """
    optimizer = unwrap(optimizer)
    family = _momentum_family(optimizer)
    if family is None:
        return None
    if family in _MOMENTUM_SLOTS:
        value = getattr(optimizer, "momentum", 0)
        return "momentum" if isinstance(value, (int, float)) and value > 0 else None
    return "beta_1"


def _momentum_slots(optimizer: Any) -> list[Any]:
    return list(_require(optimizer, _MOMENTUM_SLOTS[_momentum_family(optimizer) or "SGD"]))


@contextlib.contextmanager
def patched(
    optimizer: Any,
    lr_of_step: Callable[[Any], Any] | None,
    tracker: Any = None,
    on_update: Callable[[], None] | None = None,
    momentum: tuple[str, Callable[[Any], Any] | float] | None = None,
) -> Iterator[None]:
    """For the length of the block: the optimizer's LR is `lr_of_step(_iterations)`.

    With a `tracker` (the model's loss tracker), the tracker is also reset
    before each update, so that it holds the loss of one batch, and
    `on_update` is called at each of its updates (once per trace on TF/JAX).
    With `momentum=(attribute, momentum_of_step)` (`attribute` from
    `momentum_attribute`), each update also uses the momentum
    `momentum_of_step(_iterations)` (see the module docstring); with
    `momentum=(attribute, value)`, a host float (PyTorch, which runs the step
    eagerly or through `torch.compile`, where a value set while tracing is
    not seen), the momentum is `value`, set on the way in. All are instance
    attributes, removed (or put back) on the way out whatever happens.
    """
    optimizer = unwrap(optimizer)
    state = vars(optimizer)
    cycled: dict[str, Any] = {}
    if momentum is not None:
        name, momentum_of_step = momentum
        if lr_of_step is None or name not in ("momentum", "beta_1"):
            raise ValueError(f"keras_lr cycles `{name}` only with a step schedule of the LR.")
        cycled["user"] = state[name]
        if not callable(momentum_of_step):  # a host value for this call
            if name == "beta_1":
                state[name] = momentum_of_step
            else:
                cycled["value"] = momentum_of_step
    if lr_of_step is not None:
        _require(optimizer, _LR_METHOD)
        counter = _require(optimizer, "_iterations")
        if momentum is None or not callable(momentum_of_step):
            state[_LR_METHOD] = lambda: lr_of_step(counter)
        else:

            def lr_and_momentum() -> Any:
                # Keras reads the LR once per update, before every `update_step`.
                value = momentum_of_step(counter)
                if name == "beta_1":
                    state[name] = value
                else:
                    cycled["value"] = value
                return lr_of_step(counter)

            state[_LR_METHOD] = lr_and_momentum
        if momentum is not None and name == "momentum":
            state["_backend_update_step"] = _rescaled_update(optimizer, cycled)
    if tracker is not None:
        update_state = type(tracker).update_state

        def update_batch_only(*args: Any, **kwargs: Any) -> Any:
            if on_update is not None:
                on_update()
            for variable in tracker.variables:
                variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))
            return update_state(tracker, *args, **kwargs)

        vars(tracker)["update_state"] = update_batch_only
    try:
        yield
    finally:
        state.pop(_LR_METHOD, None)
        if momentum is not None:
            state[momentum[0]] = cycled["user"]
            state.pop("_backend_update_step", None)
        if tracker is not None:
            vars(tracker).pop("update_state", None)


def _rescaled_update(optimizer: Any, cycled: dict[str, Any]) -> Callable[..., Any]:
    """SGD's or RMSprop's update with the momentum `cycled["value"]` instead of its own.

    Both update a slot `v` as `v <- m0 * v + (...)` with their float `m0`:
    scaling `v` by `m_t / m0` first gives `m_t * v + (...)`. Nesterov SGD
    then adds `m0 * v_new - lr * g` to the variable: `(m_t - m0) * v_new` more
    makes it `m_t * v_new - lr * g`.
    """
    real = type(optimizer)._backend_update_step
    user = float(cycled["user"])
    nesterov = bool(getattr(optimizer, "nesterov", False))

    def backend_update_step(grads: Any, trainable_variables: Any, learning_rate: Any) -> Any:
        value = cycled["value"]
        slots = _momentum_slots(optimizer)
        pairs = []
        for variable in trainable_variables:
            slot = slots[optimizer._get_variable_index(variable)]
            if slot is not None:
                pairs.append((variable, slot))
                ratio = ops.divide(ops.cast(value, slot.dtype), ops.cast(user, slot.dtype))
                optimizer.assign(slot, ops.multiply(slot, ratio))
        result = real(optimizer, grads, trainable_variables, learning_rate)
        if nesterov:
            for variable, slot in pairs:
                extra = ops.subtract(ops.cast(value, slot.dtype), ops.cast(user, slot.dtype))
                optimizer.assign_add(variable, ops.cast(ops.multiply(slot, extra), variable.dtype))
        return result

    return backend_update_step


def loss_tracker(model: Any) -> Any:
    """The model's own loss metric (`Trainer._loss_tracker`), or None."""
    return getattr(model, "_loss_tracker", None)


def metric_direction(metric: Any) -> str | None:
    """`"up"` or `"down"` for a metric that says which way is better (`_direction`), else None."""
    return getattr(metric, "_direction", None)


def set_schedule(model: Any, schedule: Any) -> None:
    """Gives the optimizer a new schedule and rebuilds the train step to trace it."""
    optimizer = unwrap(model.optimizer)
    optimizer.learning_rate = schedule
    model.make_train_function(force=True)


def seed_state_variables(model: Any) -> list[Any]:
    """The `[seed, counter]` variables of the model's seed generators (Dropout, noise)."""
    return [
        v
        for v in model.non_trainable_variables
        if v.name == _SEED_STATE and tuple(v.shape) == (2,)
    ]


def last_step_of_batch(model: Any, batch: int) -> int:
    """The last step (counted in the epoch) of the execution whose batch hooks got `batch`.

    Keras before 3.11 passes the execution's first step under `steps_per_execution`.
    """
    if KERAS_VERSION < (3, 11):
        return batch + model.steps_per_execution - 1
    return batch


# -------------------------------------------------------- the train function
def train_function(model: Any) -> Any:
    """The model's current train function (None before its first `fit`)."""
    return _require(model, "train_function")


class TrainFunctionSwap:
    """Puts `wrapper` in `model.train_function` for the length of one `fit`.

    `release()` puts the user's train function back; it runs from the owner's
    `on_train_end`, or from the model's next `make_train_function()` call (the
    first thing every Keras `fit`/`train_on_batch` does) when `fit` raised.
    `on_release` runs on both paths (an epoch-unit scheduler's LR variable).
    """

    def __init__(self, model: Any) -> None:
        self._model = weakref.ref(model)
        self.user_function: Any = None
        self.wrapper: Any = None
        self.on_release: Callable[[], None] | None = None
        self.forced = False
        self.on_force: Callable[[], None] | None = None

    @property
    def installed(self) -> bool:
        model = self._model()
        return model is not None and "make_train_function" in vars(model)

    def install(self, wrapper: Callable[..., Any] | None) -> None:
        """Installs `wrapper` (None: only the release hook) over the user's function."""
        model = self._model()
        self.user_function = _require(model, "train_function")
        self.wrapper = wrapper
        self.forced = False
        if wrapper is not None:
            model.train_function = wrapper
        real = type(model).make_train_function

        def make_train_function(force: bool = False) -> Any:
            if force and self.wrapper is not None and model.train_function is self.wrapper:
                # A rebuild during the owner's fit: keras_lr rebuilds its own function.
                self.forced = True
                if self.on_force is not None:
                    self.on_force()
                return self.wrapper
            if not force:  # a new fit (or train_on_batch) began: give everything back.
                self.release()
            return real(model, force=force)

        vars(model)["make_train_function"] = make_train_function

    def build(self) -> Any:
        """A new compiled train function of the model's (traced at its first call)."""
        model = self._model()
        current = model.train_function
        # JAX caches traces by function: `jit(model.train_step)` of a bound
        # method equal to the user's would share the user's plain trace (or
        # hand it ours). A function object of keras_lr's own keeps them apart.
        train_step = model.train_step
        state = vars(model)
        had_own = "train_step" in state
        state["train_step"] = lambda *args, **kwargs: train_step(*args, **kwargs)
        try:
            type(model).make_train_function(model, force=True)
        finally:
            if had_own:
                state["train_step"] = train_step
            else:
                state.pop("train_step", None)
        built = model.train_function
        model.train_function = current
        return built

    def release(self) -> None:
        model = self._model()
        if model is None:
            return
        vars(model).pop("make_train_function", None)
        if self.wrapper is not None and model.train_function is self.wrapper:
            model.train_function = None if self.forced else self.user_function
        self.wrapper = None
        self.user_function = None
        on_release, self.on_release = self.on_release, None
        if on_release is not None:
            on_release()
