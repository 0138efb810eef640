"""In-memory snapshots of a model's and its optimizer's state, for `LRFinder`."""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from keras_lr import _keras


def state_variables(model: Any) -> list[Any]:
    """Every variable a training step can change, except metric variables.

    The model's weights (trainable and not, such as BatchNorm moving
    statistics), its seed generators (Dropout), and every optimizer variable:
    the step counter, the LR variable, the slots, a loss scale.
    """
    variables, seen = [], set()
    candidates = list(model.variables)
    for optimizer in _keras.optimizers(getattr(model, "optimizer", None)):
        candidates.extend(optimizer.variables)
    for variable in candidates:
        if id(variable) not in seen:
            seen.add(id(variable))
            variables.append(variable)
    return variables


def snapshot(model: Any) -> list[tuple[Any, np.ndarray]]:
    """Copies the value of every state variable to host memory (no files)."""
    return [(v, np.array(ops.convert_to_numpy(v), copy=True)) for v in state_variables(model)]


def restore(saved: list[tuple[Any, np.ndarray]]) -> None:
    """Assigns the saved values back, bit for bit."""
    for variable, value in saved:
        variable.assign(value)
