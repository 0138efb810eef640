"""Checks of `LRFinder.find()`'s data before the range test starts.

Bad data gets one clear `ValueError` that names the argument, on every
backend, instead of a backend-internal error, a `ZeroDivisionError`, or a
range test of zero points: a file name instead of data, empty arrays or an
empty dataset, generator or loader, arrays of different lengths, NaN or inf
in the arrays, and array inputs without targets for a model whose loss needs
them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from typing import Any

import keras
import numpy as np

_KINDS = (
    "numpy arrays (or a dict/list of them), a tf.data.Dataset, a generator, a "
    "keras.utils.PyDataset or a torch DataLoader"
)


def check_find_data(model: Any, x: Any, y: Any, sample_weight: Any = None) -> Any:
    """Checks `find()`'s data; returns `x`, with a peeked generator put back together.

    Args:
        model: the compiled model.
        x: `find()`'s `x`.
        y: `find()`'s `y`.
        sample_weight: the `sample_weight` passed on to `fit`, or None.

    Returns:
        `x`, or for a one-shot iterator, an equivalent iterator (its first
        batch was read to check that there is one).

    Raises:
        ValueError: naming the argument that is wrong and how to fix it.
    """
    if x is None or isinstance(x, (str, bytes, os.PathLike)):
        hint = (
            "; to use an .npz file, load it first: `data = np.load(path)`, then "
            "`find(model, data['x'], data['y'])`"
            if x is not None
            else ""
        )
        raise ValueError(f"Argument `x` must be {_KINDS}{hint}. Received: x={x!r}")
    arrays = _arrays(x)
    if arrays is not None:
        _check_arrays(model, x, y, sample_weight)
        return x
    return _check_batches(x)


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
            if host.dtype.kind in "fc" and not np.isfinite(host).all():
                bad = int(host.size - np.count_nonzero(np.isfinite(host)))
                raise ValueError(
                    f"Argument `{name}` must hold finite numbers: {bad} of its values are NaN "
                    f"or infinite, which would make every loss of the range test NaN. Clean "
                    f"or drop them first (e.g. `np.isfinite({name}).all(axis=1)`)."
                )
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
