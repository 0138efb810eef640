"""`LRFinder.find()`'s data, checked and adapted in one pass.

`adapt()` takes what the user gave `find()` (`x`, `y`, `sample_weight`,
`shuffle`, `batch_size`, `val_data`) once, before any training, and returns
a `FindData`: the `fit` arguments of each run and the fixed validation
batches. Bad data gets one clear `ValueError` that names the argument, on
every backend, instead of a backend-internal error, a `ZeroDivisionError`,
or a range test of zero points: a file name instead of data, empty arrays or
an empty dataset, generator or loader, arrays of different lengths, NaN or
inf in the arrays or in the validation data, and array inputs without
targets for a model whose loss needs them.

Data kinds: numpy arrays (or a dict/list of them), `tf.data.Dataset`s of any
cardinality, generators and iterators, `keras.utils.PyDataset`s and torch
`DataLoader`s. Arrays are batched by `fit`; the others are repeated as
needed so that a run lasts exactly the ramp.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_lr import _validation as check
from keras_lr.callbacks import _state

__all__ = ["FindData", "adapt", "validation_loss"]

_KINDS = (
    "numpy arrays (or a dict/list of them), a tf.data.Dataset, a generator, a "
    "keras.utils.PyDataset or a torch DataLoader"
)
_UNSET = object()


@dataclass
class FindData:
    """`find()`'s data after `adapt()`: what each run's `fit` gets, and the validation batches.

    Attributes:
        arrays: whether `x` is arrays (batched by `fit`, reordered per run).
        val_batches: the fixed validation subset, `(x, y, sample_weight, size)`
            per batch, or None without `val_data`.
    """

    arrays: bool
    num_steps: int
    x: Any
    y: Any = None
    sample_weight: Any = None
    batch_size: int | None = None
    shuffle: Any = _UNSET
    val_batches: list[tuple[Any, Any, Any, int]] | None = None
    _stream: dict[str, Any] = field(default_factory=dict)

    def fit_args(self, rng: np.random.Generator | None = None) -> dict[str, Any]:
        """The data arguments of one run's `fit` (`x`, `y`, `batch_size`, `epochs`, ...).

        Args:
            rng: the run's generator when `find()` repeats the test: array
                inputs then get the run's own order (`_run_arrays`). None for a
                single run: the arrays as given, repeated over enough epochs.

        Returns:
            Keyword arguments for `model.fit`, to merge with the user's.
        """
        passed = {} if self.sample_weight is None else {"sample_weight": self.sample_weight}
        if self.shuffle is not _UNSET:
            passed["shuffle"] = self.shuffle
        if not self.arrays:  # the same repeating stream for every run
            return {**self._stream, **passed}
        if rng is None:
            batches = math.ceil(_first_length(self.x) / self.batch_size)
            epochs = math.ceil(self.num_steps / batches)
            return {"x": self.x, "y": self.y, "batch_size": self.batch_size, "epochs": epochs, **passed}
        shuffle = True if self.shuffle is _UNSET else bool(self.shuffle)
        return _run_arrays(
            self.x, self.y, self.sample_weight, self.batch_size, self.num_steps, rng, shuffle
        )


def adapt(
    model: Any,
    x: Any,
    y: Any,
    *,
    batch_size: int | None,
    num_steps: int,
    val_data: Any,
    val_every: int,
    fit_kwargs: dict[str, Any],
) -> FindData:
    """Checks and adapts `find()`'s data, once, before any training.

    Args:
        model: the compiled model.
        x: `find()`'s `x`.
        y: `find()`'s `y`.
        batch_size: the checked `batch_size`, or None.
        num_steps: the steps of each run.
        val_data: `find()`'s `val_data`, or None.
        val_every: the number of validation batches to take (at most).
        fit_kwargs: the user's other `fit` arguments: its `sample_weight`
            and `shuffle` are taken out of it (they belong to the data).

    Returns:
        A `FindData`.

    Raises:
        ValueError: naming the argument that is wrong and how to fix it.
    """
    sample_weight = fit_kwargs.pop("sample_weight", None)
    shuffle = fit_kwargs.pop("shuffle", _UNSET)
    if x is None or isinstance(x, (str, bytes, os.PathLike)):
        hint = (
            "; to use an .npz file, load it first: `data = np.load(path)`, then "
            "`find(model, data['x'], data['y'])`"
            if x is not None
            else ""
        )
        raise ValueError(f"Argument `x` must be {_KINDS}{hint}. Received: x={x!r}")
    if _arrays(x) is not None:
        _check_arrays(model, x, y, sample_weight)
        data = FindData(
            arrays=True,
            num_steps=num_steps,
            x=x,
            y=y,
            sample_weight=sample_weight,
            batch_size=check.integer("batch_size", batch_size or 32, 1),
            shuffle=shuffle,
        )
    else:
        x = _check_batches(x)
        data = FindData(
            arrays=False,
            num_steps=num_steps,
            x=x,
            sample_weight=sample_weight,
            shuffle=shuffle,
            _stream=_stream_args(model, x, y, batch_size, num_steps),
        )
    if val_data is not None:
        data.val_batches = _validation_batches(val_data, batch_size, val_every)
    return data


# ---------------------------------------------------------------- checks
def _arrays(x: Any) -> list[Any] | None:
    """The arrays of an array input (an array, or a dict/list/tuple of them), else None."""
    if isinstance(x, np.ndarray) or (hasattr(x, "__array__") and hasattr(x, "shape")):
        return [x]
    if isinstance(x, dict) and x:
        parts = [_arrays(v) for v in x.values()]
    elif isinstance(x, (list, tuple)) and x:
        parts = [_arrays(v) for v in x]
    else:
        return None
    if any(p is None for p in parts):
        return None
    return [a for p in parts for a in p]


def _check_arrays(model: Any, x: Any, y: Any, sample_weight: Any) -> None:
    lengths: dict[str, int] = {}
    for name, value in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        if value is None:
            continue
        arrays = _arrays(value)
        if arrays is None:
            raise ValueError(
                f"Argument `{name}` must be arrays like `x` (numpy arrays or a dict/list of "
                f"them). Received: {name}={type(value).__name__}"
            )
        for array in arrays:
            host = np.asarray(array)
            if host.ndim == 0 or len(host) == 0:
                raise ValueError(
                    f"Argument `{name}` must hold at least one sample. Received: {name} of "
                    f"shape {tuple(host.shape)}"
                )
            _check_finite(name, host)
            lengths.setdefault(name, len(host))
            if len(host) != lengths[name]:
                raise ValueError(
                    f"The arrays of `{name}` must have the same number of samples. Received "
                    f"lengths {lengths[name]} and {len(host)}"
                )
    if len(set(lengths.values())) > 1:
        raise ValueError(
            "Arguments `x`, `y` and `sample_weight` must have the same number of samples. "
            "Received: " + ", ".join(f"{name} with {n}" for name, n in lengths.items())
        )
    if y is None and _needs_targets(model):
        raise ValueError(
            "Argument `y` is required with array inputs: the model is compiled with "
            f"loss={_loss_name(model)}, which compares the predictions with targets. Pass "
            "`y=...`, or compile the model with `loss=None` if it computes its own loss "
            "(`add_loss`, a custom `compute_loss` or `train_step`). Received: y=None"
        )


def _check_finite(name: str, host: np.ndarray) -> None:
    """Refuses NaN or inf in a float array of `x`, `y` or `sample_weight`, naming it."""
    bad = _non_finite(host)
    if bad:
        raise ValueError(
            f"Argument `{name}` must hold finite numbers: {bad} of its values are NaN "
            f"or infinite, which would make every loss of the range test NaN. Clean "
            f"or drop them first (e.g. `np.isfinite({name}).all(axis=1)`)."
        )


def _non_finite(host: np.ndarray) -> int:
    """How many values of a float array are NaN or infinite (0 for other dtypes)."""
    if host.dtype.kind not in "fc":
        return 0
    return int(host.size - np.count_nonzero(np.isfinite(host)))


def _needs_targets(model: Any) -> bool:
    """Whether the model's training step needs `y`: a compiled loss and Keras' own steps."""
    if getattr(model, "loss", None) is None:
        return False
    own_step = type(model).train_step is keras.Model.train_step
    own_loss = type(model).compute_loss is keras.Model.compute_loss
    return own_step and own_loss


def _loss_name(model: Any) -> str:
    loss = model.loss
    if isinstance(loss, str):
        return repr(loss)
    return getattr(loss, "name", None) or getattr(loss, "__name__", type(loss).__name__)


def _empty(x: Any) -> ValueError:
    return ValueError(
        "Argument `x` must yield at least one batch: it is empty, so the range test would "
        f"record nothing. Received: x={type(x).__name__} with no batch"
    )


def _check_batches(x: Any) -> Any:
    if hasattr(x, "take") and hasattr(x, "element_spec"):  # tf.data.Dataset
        for _ in x.take(1):
            return x
        raise _empty(x)
    if isinstance(x, keras.utils.PyDataset):
        if len(x) == 0:
            raise _empty(x)
        return x
    if isinstance(x, Iterator):
        try:
            first = next(x)
        except StopIteration:
            raise _empty(x) from None
        return itertools.chain([first], x)
    if isinstance(x, Iterable):
        try:
            next(iter(x))
        except StopIteration:
            raise _empty(x) from None
        return x
    raise ValueError(f"Argument `x` must be {_KINDS}. Received: x={type(x).__name__}")


# ---------------------------------------------------------------- fit arguments
def _is_array_like(x: Any) -> bool:
    return _arrays(x) is not None


def _first_length(x: Any) -> int:
    if isinstance(x, dict):
        return _first_length(next(iter(x.values())))
    if isinstance(x, (list, tuple)):
        return _first_length(x[0])
    return int(x.shape[0])


def _as_batch(batch: Any) -> Any:
    """Keras wants `(x, y)` tuples from a generator; loaders often yield `[x, y]` lists."""
    return tuple(batch) if isinstance(batch, list) else batch


def _cycle_cached(batches: Iterable[Any]) -> Iterator[Any]:
    """Yields from `batches`, then cycles over what it yielded, forever."""
    cache = []
    for batch in batches:
        batch = _as_batch(batch)
        cache.append(batch)
        yield batch
    if not cache:
        raise ValueError("Argument `x` yielded no batch. Received an empty generator.")
    yield from itertools.cycle(cache)


def _cycle_reiterable(data: Any) -> Iterator[Any]:
    """Iterates a re-iterable (DataLoader, PyDataset) again and again."""
    while True:
        if isinstance(data, keras.utils.PyDataset):
            batches = (data[i] for i in range(len(data)))
        else:
            batches = iter(data)
        empty = True
        for batch in batches:
            empty = False
            yield _as_batch(batch)
        if empty:
            raise ValueError(f"Argument `x` yielded no batch. Received: x={data!r}")
        if isinstance(data, keras.utils.PyDataset):
            data.on_epoch_end()


def _stream_args(model: Any, x: Any, y: Any, batch_size: int | None, num_steps: int) -> dict[str, Any]:
    """`fit` arguments that run at least `num_steps` steps over a dataset, generator or loader."""
    if y is not None:
        raise ValueError(
            "Argument `y` must be None when `x` is a dataset, generator or loader "
            f"(the targets come from `x`). Received: y={type(y).__name__}"
        )
    if batch_size is not None:
        raise ValueError(
            "Argument `batch_size` must be None when `x` is a dataset, generator or loader "
            f"(it already yields batches). Received: batch_size={batch_size}"
        )
    if hasattr(x, "repeat") and hasattr(x, "element_spec"):  # tf.data.Dataset
        data = x.repeat()
    elif isinstance(x, keras.utils.PyDataset) or _is_torch_loader(x):
        data = _cycle_reiterable(x)
    elif isinstance(x, Iterator):
        data = _cycle_cached(x)
    else:  # another iterable (`_check_batches` refused the rest)
        data = _cycle_reiterable(x)
    steps = num_steps + model.steps_per_execution - 1
    return {"x": data, "steps_per_epoch": steps - steps % model.steps_per_execution, "epochs": 1}


def _is_torch_loader(x: Any) -> bool:
    return type(x).__module__.startswith("torch.utils.data")


def _take(data: Any, order: np.ndarray) -> Any:
    """`data` (an array, or a dict/list/tuple of them, or None) at the indices `order`."""
    if data is None:
        return None
    if isinstance(data, dict):
        return {key: _take(value, order) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(_take(value, order) for value in data)
    return np.asarray(data)[order]


def _run_arrays(
    x: Any,
    y: Any,
    sample_weight: Any,
    batch_size: int,
    num_steps: int,
    rng: np.random.Generator,
    shuffle: bool,
) -> dict[str, Any]:
    """`fit` arguments of one run over arrays: exactly `num_steps` batches in the run's order.

    The order is one permutation of the samples per pass over them (drawn from
    `rng`), concatenated and cut to `num_steps * batch_size` samples; without
    `shuffle`, the samples in their order, repeated.
    """
    samples = _first_length(x)
    needed = num_steps * batch_size
    passes = math.ceil(needed / samples)
    if shuffle:
        order = np.concatenate([rng.permutation(samples) for _ in range(passes)])[:needed]
    else:
        order = np.tile(np.arange(samples), passes)[:needed]
    args = {"x": _take(x, order), "y": _take(y, order), "batch_size": batch_size}
    if sample_weight is not None:
        args["sample_weight"] = _take(sample_weight, order)
    return {**args, "epochs": 1, "shuffle": False}


# ---------------------------------------------------------------- validation
_VAL_DATA_KINDS = (
    "a tuple `(x, y)` or `(x, y, sample_weight)` of arrays, a tf.data.Dataset, a "
    "generator, a keras.utils.PyDataset, a torch DataLoader or another iterable of batches"
)


def _validation_batches(
    val_data: Any, batch_size: int | None, limit: int
) -> list[tuple[Any, Any, Any, int]]:
    """The fixed validation subset: at most `limit` batches `(x, y, sample_weight, size)`."""
    if isinstance(val_data, tuple):
        if len(val_data) not in (2, 3) or not _is_array_like(val_data[0]):
            _fail_val_data(_VAL_DATA_KINDS, val_data)
        arrays = [a for a in val_data if a is not None]
        if not all(_is_array_like(a) for a in arrays):
            _fail_val_data(_VAL_DATA_KINDS, val_data)
        lengths = {_first_length(a) for a in arrays}
        if len(lengths) != 1 or 0 in lengths:
            _fail_val_data("arrays of one non-zero length (samples)", val_data)
        _check_val_finite(val_data, dict(zip(("x", "y", "sample_weight"), val_data)))
        size = check.integer("batch_size", batch_size or 32, 1)
        count = min(limit, math.ceil(lengths.pop() / size))
        batches = [
            _take(val_data, np.arange(i * size, min((i + 1) * size, _first_length(val_data[0]))))
            for i in range(count)
        ]
    elif _is_array_like(val_data) or isinstance(val_data, (str, bytes, dict)):
        _fail_val_data(_VAL_DATA_KINDS, val_data)
    elif hasattr(val_data, "take") and hasattr(val_data, "element_spec"):  # tf.data.Dataset
        batches = list(val_data.take(limit).as_numpy_iterator())
    elif isinstance(val_data, keras.utils.PyDataset):
        batches = [val_data[i] for i in range(min(limit, len(val_data)))]
    elif isinstance(val_data, Iterable):
        batches = list(itertools.islice(iter(val_data), limit))
    else:
        _fail_val_data(_VAL_DATA_KINDS, val_data)
    if not batches:
        _fail_val_data("data that yields at least one batch", val_data)
    subset = []
    for batch in batches:
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(_as_batch(batch))
        _check_val_finite(val_data, {"x": x, "y": y, "sample_weight": sample_weight})
        subset.append((x, y, sample_weight, _first_length(x)))
    return subset


def _check_val_finite(val_data: Any, parts: dict[str, Any]) -> None:
    """Refuses NaN or inf in the validation subset (its inputs, targets or weights).

    One non-finite value makes the validation loss NaN at every point, so no
    validation curve could be recorded.
    """
    for part, value in parts.items():
        if value is None:
            continue
        for leaf in keras.tree.flatten(value):
            try:
                host = np.asarray(leaf)
            except Exception:  # a device tensor numpy cannot read: not checked
                continue
            bad = _non_finite(host)
            if bad:
                raise ValueError(
                    f"Argument `val_data` must hold finite numbers: {bad} of the values of its "
                    f"{part} are NaN or infinite, so every validation loss would be NaN and "
                    f"no validation curve could be recorded. Clean or drop them first (e.g. "
                    f"keep the rows where `np.isfinite(x_val).all(axis=1)`). Received: "
                    f"val_data={_describe(val_data)}"
                )


def _fail_val_data(requirement: str, val_data: Any) -> None:
    """A Keras-style error that describes `val_data` (its types and shapes, not its values)."""
    raise ValueError(
        f"Argument `val_data` must be {requirement}. Received: val_data={_describe(val_data)}"
    )


def _describe(data: Any) -> str:
    """A short description of `data` for an error message (not its whole content)."""
    if isinstance(data, (tuple, list)):
        inner = ", ".join(_describe(item) for item in data)
        return f"{type(data).__name__}({inner})"
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        return f"{type(data).__name__}(shape={tuple(data.shape)})"
    if isinstance(data, (str, bytes, int, float, type(None))):
        return repr(data)
    return type(data).__name__


def validation_loss(model: Any, batches: list[tuple[Any, Any, Any, int]]) -> float:
    """The compiled loss over `batches` in inference mode, weighted by batch size.

    `model.test_on_batch` runs the model's compiled test step (traced once on
    TensorFlow and JAX). It resets and updates the model's metrics, so their
    values are put back afterwards; it changes no weight and no optimizer
    variable.
    """
    metrics = [(v, np.array(ops.convert_to_numpy(v), copy=True)) for v in model.metrics_variables]
    total, samples = 0.0, 0
    try:
        for x, y, sample_weight, size in batches:
            model.reset_metrics()  # test_on_batch resets them itself only from Keras 3.15
            logs = model.test_on_batch(x, y, sample_weight, return_dict=True)
            total += float(logs["loss"]) * size
            samples += size
    finally:
        _state.restore(metrics)
    return total / samples
