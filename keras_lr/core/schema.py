"""The checks of a range test file written by `save()`, before `RangeTest.load()` trusts it.

`read_saved_range_test(path)` reads the JSON and `check_saved_range_test(data,
path)` checks its structure; each raises a `ValueError` that names the file
and says what is wrong, so that a truncated file, another tool's JSON, a Keras
history or a hand-edited curve is refused instead of plotted and suggested
from.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, NoReturn

from keras_lr import _validation as check
from keras_lr.core.ramp import (
    FINDER_KEYS,
    RAMP_KEYS,
    STOP_REASONS,
    RampConfig,
    check_finder_options,
)

__all__ = ["CONFIG_KEYS", "REQUIRED_KEYS", "check_saved_range_test", "read_saved_range_test"]

#: The keys of `"config"`: `LRFinder`'s constructor arguments (the ramp's, then the others).
CONFIG_KEYS = RAMP_KEYS + FINDER_KEYS
#: Keys every saved file has (files without `"runs"` or the validation curve are older).
REQUIRED_KEYS = (
    "config",
    "steps",
    "lrs",
    "losses",
    "raw_losses",
    "best_lr",
    "best_loss",
    "diverged",
)
_CURVE = ("steps", "lrs", "losses", "raw_losses")
_VAL_CURVE = ("val_steps", "val_lrs", "val_losses")


class _Invalid(Exception):
    """What is wrong with the file, without the file's name."""


def read_saved_range_test(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Reads and checks a file written by `LRFinder.save()`.

    Args:
        path: the JSON file.

    Returns:
        The file's dict, checked by `check_saved_range_test`.

    Raises:
        ValueError: naming the file, when it is not text, not JSON, or not a
            range test written by `LRFinder.save()`.
        OSError: when the file cannot be opened (for example, it does not exist).
    """
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        _fail(path, "it is a binary file, not JSON text")
    if not text.strip():
        _fail(path, "it is empty")
    try:
        # Any JSON value; check_saved_range_test below refuses all but a dict.
        data: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError as error:
        _fail(path, f"it is not valid JSON ({error.msg} at line {error.lineno}, column "
              f"{error.colno}; a truncated or edited file?)")  # fmt: skip
    except (ValueError, RecursionError) as error:  # a 5000-digit number, a deep nesting
        _fail(path, f"it cannot be read as JSON ({type(error).__name__}: {error})")
    check_saved_range_test(data, path)
    return data


def check_saved_range_test(data: Any, path: str | os.PathLike[str]) -> None:
    """Checks the structure of a dict read from a file written by `LRFinder.save()`.

    The config must hold `LRFinder`'s arguments (and no other keys) with valid
    values; `steps`, `lrs`, `losses` and `raw_losses` are lists of one length,
    of increasing steps `>= 0`, LRs `> 0` and finite losses; `best_lr` and
    `best_loss` are numbers or null; `stop_reason` is one of
    `"diverged"`, `"nan"`, `"num_steps"` or null; the validation curve and each
    entry of `"runs"` follow the same rules.

    Args:
        data: the parsed JSON.
        path: the file it was read from, named in the error.

    Raises:
        ValueError: naming `path` and what is wrong.
    """
    try:
        _check(data)
    except _Invalid as error:
        _fail(path, str(error))


def _fail(path: str | os.PathLike[str], what: str) -> NoReturn:
    raise ValueError(
        f"Cannot load {os.fspath(path)!r}: not a range test written by `LRFinder.save()`: {what}."
    ) from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:50] + "..."


def _check(data: Any) -> None:
    if not isinstance(data, dict):
        raise _Invalid(f"it holds a JSON {type(data).__name__}, not an object")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        found = ", ".join(repr(k) for k in list(data)[:8]) or "none"
        hint = " (it looks like a Keras history)" if "loss" in data else ""
        raise _Invalid(f"it has no {', '.join(repr(k) for k in missing)} (its keys: {found}){hint}")
    _check_config(data["config"])
    _check_curve(data, "", _CURVE)
    _check_curve(data, "", _VAL_CURVE, optional=True)
    for key in ("best_lr", "best_loss"):
        value = data[key]
        if value is not None:
            _number(key, value, positive=key == "best_lr")
    if (data["best_lr"] is None) != (data["best_loss"] is None):
        raise _Invalid("`best_lr` and `best_loss` must both be numbers or both null")
    if "diverged" in data and not isinstance(data["diverged"], bool):
        raise _Invalid(f"`diverged` must be true or false, not {_short(data['diverged'])}")
    _check_stop_reason("stop_reason", data.get("stop_reason"))
    if "val_every" in data:
        _integer("val_every", data["val_every"], 1)
    runs = data.get("runs", [])  # a file without "runs" (older) is read as one run
    if "runs" in data and (not isinstance(runs, list) or not runs):
        raise _Invalid(f"`runs` must be a non-empty list of runs, not {_short(runs)}")
    for index, run in enumerate(runs):
        where = f"runs[{index}]"
        if not isinstance(run, dict):
            raise _Invalid(f"`{where}` must be an object, not {_short(run)}")
        for key in _CURVE:
            if key not in run:
                raise _Invalid(f"`{where}` has no {key!r}")
        _check_curve(run, f"{where}.", _CURVE)
        _check_curve(run, f"{where}.", _VAL_CURVE, optional=True)
        _check_stop_reason(f"{where}.stop_reason", run.get("stop_reason"))
        if run.get("stop_lr") is not None:
            _number(f"{where}.stop_lr", run["stop_lr"], positive=True)


def _check_config(config: Any) -> None:
    if not isinstance(config, dict):
        raise _Invalid(f"`config` must be an object of LRFinder's arguments, not {_short(config)}")
    unknown = [key for key in config if key not in CONFIG_KEYS]
    if unknown:
        raise _Invalid(
            f"`config` has unknown key(s) {', '.join(repr(k) for k in unknown)}; "
            f"LRFinder's arguments are {', '.join(CONFIG_KEYS)}"
        )
    try:  # LRFinder's own checks, in its argument order
        RampConfig.from_dict(config)
        check_finder_options(**{key: config[key] for key in FINDER_KEYS if key in config})
    except (ValueError, TypeError) as error:
        raise _Invalid(f"`config`: {error}") from None


def _check_curve(
    data: dict[str, Any], where: str, keys: tuple[str, ...], optional: bool = False
) -> None:
    lengths = {}
    for key in keys:
        if key not in data:
            if optional:
                continue
            raise _Invalid(f"it has no `{where}{key}`")
        values = data[key]
        if not isinstance(values, list):
            raise _Invalid(f"`{where}{key}` must be a list, not {_short(values)}")
        name = where + key
        for index, value in enumerate(values):
            item = f"{name}[{index}]"
            if key.endswith("steps"):
                _integer(item, value, 0)
            else:
                _number(item, value, positive=key.endswith("lrs"))
        if key.endswith("steps") and any(b <= a for a, b in zip(values, values[1:])):
            raise _Invalid(f"`{name}` must be increasing")
        lengths[key] = len(values)
    if len(set(lengths.values())) > 1:
        raise _Invalid(
            "the curves differ in length: "
            + ", ".join(f"`{where}{key}` has {n}" for key, n in lengths.items())
        )


def _number(name: str, value: Any, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid(f"`{name}` must be a number, not {_short(value)}")
    try:
        result = float(value)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        raise _Invalid(f"`{name}` must be a finite number, not {_short(value)}")
    if positive and result <= 0:
        raise _Invalid(f"`{name}` must be > 0, not {_short(value)}")
    return result


def _integer(name: str, value: Any, minimum: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not minimum <= value <= check.MAX_INT
    ):
        raise _Invalid(f"`{name}` must be an integer >= {minimum}, not {_short(value)}")
    return value


def _check_stop_reason(name: str, value: Any) -> None:
    if value not in STOP_REASONS or isinstance(value, bool):
        known = ", ".join(json.dumps(r) for r in STOP_REASONS)
        raise _Invalid(f"`{name}` must be one of {known}, not {_short(value)}")
