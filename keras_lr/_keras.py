"""Every access keras_lr makes to a private part of Keras, in one place.

Contract: only the keras_lr callback that owns a model's learning rate for
the current `fit` changes it, and only inside the model's train step, which
keras_lr builds; nothing keras_lr puts on the optimizer outlives one run of
that step (a trace on TensorFlow and JAX), and the user's own train function
(and LR variable) are put back at `on_train_end`, or, when `fit` raised
before it, at the start of the model's next `fit`/`train_on_batch`.

How (see `TrainFunctionSwap`, `Patch` and `patched`):

- While a keras_lr callback owns the LR, `model.train_function` is a
  compiled train function of keras_lr's own, built by Keras'
  `make_train_function(force=True)` from a step function of keras_lr's that
  enters the patch around the model's `train_step`: the (inner) optimizer
  gets an instance-level `_get_current_learning_rate` that evaluates the
  owner's schedule at `optimizer._iterations`, and, for the LR finder, the
  loss tracker an instance-level `update_state`; the context manager removes
  both on the way out. On TensorFlow and JAX the step function runs only
  while the step is traced (a retrace included, such as a last partial
  batch): the schedule is in the compiled step and no Python of keras_lr's
  runs per step. PyTorch's train function looks `train_step` up at each
  call and runs eagerly: a wrapper enters the patch per call, with the LR of
  the step as a device scalar. An exception or a `KeyboardInterrupt`
  anywhere therefore leaves the optimizer and the loss tracker untouched,
  and a custom training loop after an interrupted `fit` uses the user's LR.
- Momentum cycling (`OneCycleLR`/`CyclicLR(cycle_momentum=True)`) is part of
  the same patch. On TensorFlow and JAX the instance-level
  `_get_current_learning_rate`, which Keras calls once per update before any
  `update_step`, also evaluates the momentum schedule at `_iterations`
  (inside the trace, so no Python per step either). For Adam, AdamW, Adamax,
  Nadam and Lion the value goes into the instance attribute `beta_1`, read
  by their update (also Nadam's `_backend_update_step` and Adam's bias
  correction `beta_1 ** t`). SGD and RMSprop test `momentum != 0` / `> 0` in
  Python inside their update, which a traced value cannot answer, so their
  `momentum` stays the user's float `m0` and an instance-level
  `_backend_update_step` scales each momentum slot by `m_t / m0` before
  Keras' own update (`m0 * (v * m_t / m0) = m_t * v`) and, for Nesterov, adds
  `(m_t - m0) * v_new` after it. On PyTorch the step's momentum is a host
  float from the schedule's `StepTable`, set as the attribute itself (a
  value set while `torch.compile` traces would not be seen); only a cycled
  SGD/RMSprop momentum of exactly 0 goes through the rescaled update (their
  update would skip the slot). The context manager puts the user's
  `momentum`/`beta_1` back and removes `_backend_update_step`.
- Keras skips `on_train_end` when `fit` raises, so while keras_lr's function
  is installed the model also has an instance-level `make_train_function`:
  every Keras `fit` and `train_on_batch` calls `make_train_function()` first,
  and there it puts the user's train function back and removes itself. A
  `make_train_function(force=True)` made during the owner's `fit` (a callback
  rebuilding the step) only rebuilds keras_lr's compiled function.
- An epoch-unit scheduler's LR changes once per epoch, without a retrace:
  TensorFlow's step reads a variable of keras_lr's, PyTorch's eager step gets
  the value; JAX's step reads only the state `fit` passes it, so there the LR
  variable holds the epoch's LR and JAX's `fit`, which calls
  `optimizer.finalize_variable_values` in its `finally`, puts the user's
  value back on every way out (`at_fit_exit`).
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
- `BaseOptimizer.finalize_variable_values` (method): called in the `finally`
  of JAX's `fit` (undocumented).
- `BaseOptimizer._backend_update_step` (method): the update of all variables,
  after the LR is read; `BaseOptimizer._get_variable_index` (method);
  `SGD.momentums` and `RMSprop._momentums` (lists of slot variables, built
  when `momentum > 0`): momentum cycling of SGD and RMSprop.
- `LossScaleOptimizer.inner_optimizer` (attribute).
- `keras.optimizers.MultiOptimizer` (class; absent in older Keras).
- `Trainer._loss_tracker` (a `Mean` metric) and `Metric.update_state`.
- `Trainer.train_function` (attribute) and `Trainer.make_train_function`
  (method, called first by every `fit`/`train_on_batch`); on TensorFlow and
  JAX it captures `model.train_step` when it builds, on PyTorch the function
  it builds looks `model.train_step` up at each call.
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
import itertools
import weakref
from collections.abc import Callable
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
    ("keras.optimizers.Optimizer", "finalize_variable_values", "method"),
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
_UPDATE_METHOD = "_backend_update_step"


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


def _rescaled_update(optimizer: Any, cycled: dict[str, Any]) -> Callable[..., Any]:
    """SGD's or RMSprop's update with the momentum `cycled["value"]` instead of its own.

    Both update a slot `v` as `v <- m0 * v + (...)` with their float `m0`
    (the `momentum` their update reads): scaling `v` by `m_t / m0` first gives
    `m_t * v + (...)`. Nesterov SGD then adds `m0 * v_new - lr * g` to the
    variable: `(m_t - m0) * v_new` more makes it `m_t * v_new - lr * g`.
    """
    real = type(optimizer)._backend_update_step
    nesterov = bool(getattr(optimizer, "nesterov", False))

    def backend_update_step(grads: Any, trainable_variables: Any, learning_rate: Any) -> Any:
        value = cycled["value"]
        user = float(optimizer.momentum)
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


class Patch:
    """The patch of one optimizer (and loss tracker), prepared once, applied per block.

    `apply()` sets the instance-level attributes and returns a context manager
    (a `contextlib.ExitStack`) that removes them (and puts the user's
    `momentum`/`beta_1` back) on the way out, whatever happens. Neither
    `apply()`'s context manager nor the LR and momentum it installs for
    host-side values runs any Python of keras_lr's, so that an eager step
    (PyTorch) pays one call per step for the patch.

    Args:
        optimizer: the optimizer (a `LossScaleOptimizer` is unwrapped).
        lr_of_step: the LR as a function of the optimizer's micro-step
            counter (`_iterations`), traced into the step; None leaves the LR.
        tracker: the model's loss tracker, reset before each update so that
            it holds the loss of one batch; None leaves it.
        on_update: called at each update of the tracker (once per trace on
            TensorFlow and JAX, per step when the step runs eagerly).
        momentum: `(attribute, momentum_of_step)` to cycle the optimizer's
            `momentum` or `beta_1` (`attribute`, from `momentum_attribute`)
            with the LR: `momentum_of_step(_iterations)` is evaluated where
            the LR is (in the trace); with `momentum_of_step=None` the value
            comes per block from `apply(momentum=...)` (PyTorch). None: the
            optimizer's own momentum.
    """

    def __init__(
        self,
        optimizer: Any,
        lr_of_step: Callable[[Any], Any] | None,
        tracker: Any = None,
        on_update: Callable[[], None] | None = None,
        momentum: tuple[str, Callable[[Any], Any] | None] | None = None,
    ) -> None:
        optimizer = unwrap(optimizer)
        state = self.state = vars(optimizer)
        self.lr_method: Callable[[], Any] | None = None
        self.tracker_updates = 0
        self.momentum_name: str | None = None
        self.cycled: dict[str, Any] = {}
        self.update_method: Callable[..., Any] | None = None
        momentum_of_step = None
        if momentum is not None:
            name, momentum_of_step = momentum
            if lr_of_step is None and momentum_of_step is not None:
                raise ValueError("keras_lr cycles the momentum only with a step schedule of the LR.")
            if name not in ("momentum", "beta_1"):
                raise ValueError(f"keras_lr cycles `momentum` or `beta_1`, not `{name}`.")
            _require(optimizer, name)
            self.momentum_name = name
            if name == "momentum":
                _require(optimizer, _UPDATE_METHOD)
                _require(optimizer, "_get_variable_index")
                self.update_method = _rescaled_update(optimizer, self.cycled)
        if lr_of_step is not None:
            _require(optimizer, _LR_METHOD)
            counter = _require(optimizer, "_iterations")
            if momentum_of_step is None:
                self.lr_method = lambda: lr_of_step(counter)
            else:
                cycled, name = self.cycled, self.momentum_name

                def lr_and_momentum() -> Any:
                    # Keras reads the LR once per update, before every `update_step`.
                    value = momentum_of_step(counter)
                    if name == "beta_1":
                        state[name] = value
                    else:
                        cycled["value"] = value
                    return lr_of_step(counter)

                self.lr_method = lr_and_momentum
        self.traced_momentum = momentum_of_step is not None
        self.tracker_state: dict | None = None
        self.update_state: Callable[..., Any] | None = None
        if tracker is not None:
            update_state = type(tracker).update_state

            def update_batch_only(*args: Any, **kwargs: Any) -> Any:
                self.tracker_updates += 1
                if on_update is not None:
                    on_update()
                for variable in tracker.variables:
                    variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))
                return update_state(tracker, *args, **kwargs)

            self.tracker_state = vars(tracker)
            self.update_state = update_batch_only

    def apply(self, value: Any = None, momentum: float | None = None) -> contextlib.ExitStack:
        """Patches now; the returned context manager unpatches.

        Args:
            value: the LR itself for this block, when the host knows it (a
                device scalar: PyTorch's eager step); by default (None) the
                LR is `lr_of_step(_iterations)`, read where the step reads it.
            momentum: the cycled momentum itself for this block, a host
                float (PyTorch); by default (None) `momentum_of_step`'s, in
                the trace.
        """
        stack = contextlib.ExitStack()
        state = self.state
        name = self.momentum_name
        if name is not None:  # first registered: undone last, after the update is gone
            stack.callback(state.__setitem__, name, state[name])
        if value is not None:
            stack.callback(state.pop, _LR_METHOD, None)
            state[_LR_METHOD] = itertools.repeat(value).__next__
        elif self.lr_method is not None:
            stack.callback(state.pop, _LR_METHOD, None)
            state[_LR_METHOD] = self.lr_method
        if name is not None and (self.traced_momentum or momentum is not None):
            if momentum is not None and (name == "beta_1" or momentum > 0):
                state[name] = momentum  # read by the update as the user's float is
            elif self.update_method is not None:  # SGD/RMSprop: traced, or a host 0
                # (with a momentum of 0 their update would skip the slot)
                if momentum is not None:
                    self.cycled["value"] = momentum
                stack.callback(state.pop, _UPDATE_METHOD, None)
                state[_UPDATE_METHOD] = self.update_method
        if self.tracker_state is not None:
            stack.callback(self.tracker_state.pop, "update_state", None)
            self.tracker_state["update_state"] = self.update_state
        return stack


def patched(
    optimizer: Any,
    lr_of_step: Callable[[Any], Any] | None,
    tracker: Any = None,
    on_update: Callable[[], None] | None = None,
    momentum: tuple[str, Callable[[Any], Any]] | None = None,
) -> contextlib.AbstractContextManager:
    """For the length of the block: the optimizer's LR is `lr_of_step(_iterations)`.

    With a `tracker` (the model's loss tracker), the tracker is also reset
    before each update, so that it holds the loss of one batch, and
    `on_update` is called at each of its updates (once per trace on TF/JAX).
    With `momentum=(attribute, momentum_of_step)`, each update also uses the
    momentum `momentum_of_step(_iterations)` (see the module docstring). All
    are instance attributes, removed (or put back) on the way out whatever
    happens. The one place keras_lr patches an optimizer (see `Patch`).
    """
    return Patch(optimizer, lr_of_step, tracker, on_update, momentum).apply()


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


# Before Keras 3.15 (3.5 checked), the train function that TensorFlow's and JAX's
# `make_train_function` build looks `self.train_step` up when it is traced (at its first
# call), not when it is built: keras_lr's step function must be the model's `train_step`
# during each call there, which costs one Python call per step on those versions.
TRAIN_STEP_LOOKED_UP_AT_TRACE = KERAS_VERSION < (3, 15)


def _with_train_step(model: Any, built: Any, step: Callable[..., Any]) -> Callable[..., Any]:
    """`built`, called with `step` as the model's instance-level `train_step` (old Keras)."""
    state = vars(model)

    def call(*args: Any, **kwargs: Any) -> Any:
        previous = state.get("train_step")
        state["train_step"] = step
        try:
            return built(*args, **kwargs)
        finally:
            if previous is None:
                state.pop("train_step", None)
            else:
                state["train_step"] = previous

    return call


def train_step_looked_up_per_call() -> bool:
    """Whether the train function Keras builds looks `model.train_step` up at each call.

    PyTorch's does (its step runs eagerly, so the patch must be entered per
    call, around the built function); TensorFlow's and JAX's capture the
    step function when the train function is built, and trace it.
    """
    return keras.config.backend() == "torch"


def epoch_lr_in_lr_variable() -> bool:
    """Whether an epoch-unit LR must live in the optimizer's LR variable during `fit` (JAX).

    JAX's compiled step reads only the state that `fit` passes it (the model's,
    the optimizer's and the metrics' variables): a variable of keras_lr's
    would be read once, as a constant, when the step is traced. TensorFlow's
    step reads a variable at each call, and PyTorch's runs eagerly.
    """
    return keras.config.backend() == "jax"


def at_fit_exit(model: Any, restore: Callable[[], None]) -> None:
    """Runs `restore()` when JAX's `fit` leaves, whatever the way out, then removes itself.

    JAX's `fit` calls `optimizer.finalize_variable_values` in its `finally`
    (after writing the training state back to the variables), also when a
    callback or the data raised: an instance-level method on the optimizer,
    installed inside the epoch loop, runs first there.
    """
    optimizer = model.optimizer
    state = vars(optimizer)
    if "finalize_variable_values" in state:
        return
    real = type(optimizer).finalize_variable_values

    def finalize_variable_values(var_list: Any) -> Any:
        state.pop("finalize_variable_values", None)
        restore()
        return real(optimizer, var_list)

    state["finalize_variable_values"] = finalize_variable_values


def remove_fit_exit(model: Any) -> None:
    """Removes the hook of `at_fit_exit`, if it is still there."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        vars(optimizer).pop("finalize_variable_values", None)


class TrainFunctionSwap:
    """Puts keras_lr's train function in `model.train_function` for the length of one `fit`.

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

    def install(self, function: Callable[..., Any] | None) -> None:
        """Installs `function` (None: only the release hook) over the user's function."""
        model = self._model()
        self.user_function = _require(model, "train_function")
        self.wrapper = function
        self.forced = False
        if function is not None:
            model.train_function = function
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

    def replace(self, function: Callable[..., Any]) -> None:
        """Installs another function of keras_lr's during the owner's `fit` (a new schedule)."""
        model = self._model()
        if self.wrapper is not None and model is not None and model.train_function is self.wrapper:
            model.train_function = function
            self.wrapper = function

    def build(self, patch: Callable[[], contextlib.AbstractContextManager] | None) -> Any:
        """A new compiled train function of the model's (traced at its first call).

        Its step function enters `patch()` around the model's `train_step`:
        on TensorFlow and JAX while the step is traced (also at a retrace,
        such as a last partial batch), and at every call when it runs
        eagerly (`run_eagerly`, or `jit_compile=False` on JAX). PyTorch's
        train function looks `train_step` up per call
        (`train_step_looked_up_per_call`): the caller enters the patch
        around each call instead.
        """
        model = self._model()
        current = model.train_function
        # JAX caches traces by function: `jit(model.train_step)` of a bound
        # method equal to the user's would share the user's plain trace (or
        # hand it ours). A function object of keras_lr's own keeps them apart.
        train_step = model.train_step
        state = vars(model)
        had_own = "train_step" in state
        if patch is None:
            state["train_step"] = lambda *args, **kwargs: train_step(*args, **kwargs)
        else:

            def step(*args: Any, **kwargs: Any) -> Any:
                with patch():
                    return train_step(*args, **kwargs)

            state["train_step"] = step
        own_step = state["train_step"]
        try:
            type(model).make_train_function(model, force=True)
        finally:
            if had_own:
                state["train_step"] = train_step
            else:
                state.pop("train_step", None)
        built = model.train_function
        model.train_function = current
        if patch is not None and TRAIN_STEP_LOOKED_UP_AT_TRACE:
            return _with_train_step(model, built, own_step)
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
