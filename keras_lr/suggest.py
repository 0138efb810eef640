"""Deprecated: the suggestion code moved to `keras_lr.core` (this module goes in the next release).

`keras_lr.core.rules` holds the rules' registry (`names()`, `get`,
`register`) and `suggest` / `suggest_range`; `keras_lr.core.diagnosis` the
`Curve`, `diagnose` and `lagfree`; `keras_lr.core.runs` the statistics over
runs; `keras_lr.core.constants` the constants. The names below are those, and
the rules' old `(lrs, losses, ...)` signatures, which now read the curve
through its diagnosis like every rule (`keras_lr.core.suggest`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

from keras_lr.core import *  # noqa: F403 (the old names, re-exported)
from keras_lr.core import rules as _rules
from keras_lr.core.constants import SKIP_END, SKIP_START
from keras_lr.core.rules import robust  # noqa: F401

warnings.warn(
    "`keras_lr.suggest` is deprecated and will be removed in the next release: use "
    "`keras_lr.core` (`keras_lr.core.rules` for the rules, `keras_lr.core.diagnose`, ...).",
    DeprecationWarning,
    stacklevel=2,
)

METHODS = _rules.names()
DEFAULT_METHOD = _rules.DEFAULT


def _old_signature(
    name: str, skip_start: int | None = None, skip_end: int | None = None
) -> Callable[..., float]:
    """The rule `name` with its old `(lrs, losses, ...)` signature."""

    def rule(
        lrs: Sequence[float],
        losses: Sequence[float],
        skip_start: int | None = skip_start,
        skip_end: int | None = skip_end,
    ) -> float:
        return _rules.suggest(lrs, losses, name, skip_start=skip_start, skip_end=skip_end)

    rule.__name__ = rule.__qualname__ = name
    rule.__doc__ = f"Deprecated: `keras_lr.core.suggest(lrs, losses, {name!r}, ...)`."
    return rule


valley = _old_signature("valley")
minimum = _old_signature("minimum")
steepest = _old_signature("steepest", SKIP_START, SKIP_END)
consensus = _old_signature("consensus", SKIP_START, SKIP_END)
