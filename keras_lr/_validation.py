"""Argument checks shared by every public class, with Keras-style messages."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np


def fail(name: str, requirement: str, value: Any) -> None:
    raise ValueError(f"Argument `{name}` must be {requirement}. Received: {name}={value!r}")


def number(name: str, value: Any) -> float:
    """Returns `value` as a finite float, or raises a Keras-style ValueError."""
    if isinstance(value, bool):
        fail(name, "a finite number", value)
    try:
        result = float(value)
    except (TypeError, ValueError):
        fail(name, "a finite number", value)
    if not math.isfinite(result):
        fail(name, "a finite number", value)
    return result


def positive(name: str, value: Any) -> float:
    result = number(name, value)
    if result <= 0:
        fail(name, "> 0", value)
    return result


def non_negative(name: str, value: Any) -> float:
    result = number(name, value)
    if result < 0:
        fail(name, ">= 0", value)
    return result


def at_least(name: str, value: Any, bound: float, bound_text: str | None = None) -> float:
    result = number(name, value)
    if result < bound:
        fail(name, f">= {bound_text or bound}", value)
    return result


def greater_than(name: str, value: Any, bound: float, bound_text: str | None = None) -> float:
    result = number(name, value)
    if result <= bound:
        fail(name, f"> {bound_text or bound}", value)
    return result


def in_unit_interval(name: str, value: Any, *, closed_low: bool, closed_high: bool) -> float:
    result = number(name, value)
    low_ok = result >= 0 if closed_low else result > 0
    high_ok = result <= 1 if closed_high else result < 1
    if not (low_ok and high_ok):
        interval = ("[" if closed_low else "(") + "0, 1" + ("]" if closed_high else ")")
        fail(name, f"in {interval}", value)
    return result


def integer(name: str, value: Any, minimum: int) -> int:
    """Returns `value` as an int `>= minimum` (a float like 3.0 is accepted)."""
    requirement = f"an integer >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        fail(name, requirement, value)
    if not math.isfinite(value) or float(value) != int(value) or int(value) < minimum:
        fail(name, requirement, value)
    return int(value)


def boolean(name: str, value: Any) -> bool:
    """Returns `value` if it is a bool (numpy's too), else raises."""
    if not isinstance(value, (bool, np.bool_)):
        fail(name, "True or False", value)
    return bool(value)


def one_of(name: str, value: Any, options: Iterable[str]) -> str:
    options = tuple(options)
    if value not in options:
        fail(name, "one of " + ", ".join(repr(o) for o in options), value)
    return value


def callable_or_none(name: str, value: Any) -> Any:
    if value is not None and not callable(value):
        fail(name, "a callable or None", value)
    return value
