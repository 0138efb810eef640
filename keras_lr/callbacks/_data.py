"""The data side of `LRFinder`: `fit` arguments that run exactly the ramp, and the validation subset.

- `fit_data`: arrays, `tf.data.Dataset`s, generators, `keras.utils.PyDataset`s
  and torch `DataLoader`s become `fit` arguments that run at least
  `num_steps` steps, repeating the data as needed;
- `run_arrays`: one run's data order over arrays (`LRFinder(num_runs=...)`);
- `validation_batches`, `validation_loss`: the fixed validation subset of
  `find(val_data=...)` and its loss.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_lr import _validation as check
from keras_lr.callbacks import _state


def _is_array_like(x: Any) -> bool:
    if isinstance(x, np.ndarray) or hasattr(x, "__array__") and hasattr(x, "shape"):
        return True
    if isinstance(x, dict):
        return all(_is_array_like(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return bool(x) and all(_is_array_like(v) for v in x)
    return False


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


def fit_data(model: Any, x: Any, y: Any, batch_size: int | None, num_steps: int) -> dict[str, Any]:
    """`fit` arguments that run at least `num_steps` steps over `x`."""
    if _is_array_like(x):
        batch_size = check.integer("batch_size", batch_size or 32, 1)
        batches = math.ceil(_first_length(x) / batch_size)
        return {"x": x, "y": y, "batch_size": batch_size, "epochs": math.ceil(num_steps / batches)}
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
    elif isinstance(x, Iterable):
        data = _cycle_reiterable(x)
    else:
        raise ValueError(
            "Argument `x` must be numpy arrays, a tf.data.Dataset, a generator, a "
            f"keras.utils.PyDataset or a torch DataLoader. Received: x={type(x).__name__}"
        )
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


def run_arrays(
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


def validation_batches(
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
        subset.append((x, y, sample_weight, _first_length(x)))
    return subset


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
