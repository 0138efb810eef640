"""Argument checks shared by every public class, with Keras-style messages."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any, NoReturn, TypeVar

import numpy as np

#: The largest integer argument (a step count, a size, a seed): int64's maximum.
MAX_INT = 2**63 - 1


def fail(name: str, requirement: str, value: Any) -> NoReturn:
    raise ValueError(f"Argument `{name}` must be {requirement}. Received: {name}={_show(value)}")


def _show(value: Any) -> str:
    """`repr(value)`, shortened for huge values (a 400-digit int, a long list)."""
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the argument's error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 80 else f"{text[:60]}...({len(text)} characters)"


def _is_scalar_number(value: Any) -> bool:
    """A real number: not a bool, a string, an array or another container."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return False
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and value.dtype.kind in "iuf"
    return isinstance(value, (int, float, np.integer, np.floating)) or (
        hasattr(value, "__float__") and not isinstance(value, complex)
    )


def number(name: str, value: Any) -> float:
    """Returns `value` as a finite float, or raises a Keras-style ValueError."""
    if not _is_scalar_number(value):
        fail(name, "a finite number", value)
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError, RuntimeError):
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


def integer(name: str, value: Any, minimum: int, maximum: int = MAX_INT) -> int:
    """Returns `value` as an int in `[minimum, maximum]` (a float like 3.0 is accepted).

    Booleans, strings, non-integral and non-finite numbers are refused, and so
    are integers beyond `maximum` (by default int64's maximum), which no step
    counter or array size reaches.
    """
    requirement = f"an integer >= {minimum}"
    if maximum != MAX_INT:
        requirement = f"an integer in [{minimum}, {maximum}]"
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        fail(name, requirement, value)
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value) or float(value) != math.floor(value):
            fail(name, requirement, value)
    result = int(value)
    if result < minimum:
        fail(name, requirement, value)
    if result > maximum:
        fail(name, f"an integer <= {maximum}", value)
    return result


def boolean(name: str, value: Any) -> bool:
    """Returns `value` if it is a bool (numpy's too), else raises.

    Truthy values such as `"no"`, `1` or `None` are refused: `bool("no")` is
    True, which is never what the caller meant.
    """
    if not isinstance(value, (bool, np.bool_)):
        fail(name, "True or False", value)
    return bool(value)


def verbosity(name: str, value: Any) -> int:
    """A verbosity level: 0, 1 or 2 (True and False count as 1 and 0)."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    return integer(name, value, 0, 2)


def one_of(name: str, value: Any, options: Iterable[str]) -> str:
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        fail(name, "one of " + ", ".join(repr(o) for o in options), value)
    return value


def callable_or_none(name: str, value: Any) -> Any:
    if value is not None and not callable(value):
        fail(name, "a callable or None", value)
    return value


_F = TypeVar("_F", bound=Callable[..., Any])


def renamed_keyword(old: str, new: str, owner: str) -> Callable[[_F], _F]:
    """Lets a function still take a renamed keyword argument, with a DeprecationWarning.

    The wrapped function keeps its signature (`inspect.signature` follows
    `__wrapped__`), so only the new name is documented and serialized; an old
    config (`from_config`) that holds the old name still loads, with the warning.

    Args:
        old: the keyword's former name.
        new: its name now.
        owner: who takes it, for the message (`"StepDecay"`).

    Returns:
        A decorator for the function (or `__init__`).
    """

    def decorate(function: _F) -> _F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if old in kwargs:
                if new in kwargs:
                    raise TypeError(
                        f"{owner}() got both `{new}` and its deprecated name `{old}`. "
                        f"Pass only `{new}`. Received: {old}={_show(kwargs[old])}, "
                        f"{new}={_show(kwargs[new])}"
                    )
                warnings.warn(
                    f"{owner}: the argument `{old}` is deprecated and will be removed in the "
                    f"next release; use `{new}` (same meaning).",
                    DeprecationWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def warn_renamed(old: str, new: str, stacklevel: int = 3) -> None:
    """Emits the DeprecationWarning of a renamed class (`old` is now `new`)."""
    warnings.warn(
        f"`{old}` is deprecated and will be removed in the next release; use `{new}` "
        "(same arguments, same values).",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
