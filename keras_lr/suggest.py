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
from collections.abc import Sequence

from keras_lr.core import rules as _rules
from keras_lr.core.constants import (  # noqa: F401
    BASIN_DIVISOR,
    BASIN_FRACTION,
    CURVES,
    DIVERGE_FACTOR,
    EDGE_POINTS,
    FALLBACK_DIVISOR,
    FELL_Z,
    MIN_DESCENT_POINTS,
    MIN_POINTS,
    RELIABLE_FALL,
    RELIABLE_SPREAD,
    SKIP_END,
    SKIP_START,
    SMOOTH_DECADES,
    START_FRACTION,
)
from keras_lr.core.diagnosis import (  # noqa: F401
    Curve,
    Diagnosis,
    FallbackWarning,
    TooFewPointsError,
    UnreliableSuggestionWarning,
    diagnose,
    lagfree,
    loss_change,
    scaled_skips,
)
from keras_lr.core.rules import robust, suggest, suggest_range  # noqa: F401
from keras_lr.core.runs import band_over_runs, mean_over_runs, runs_table, spread  # noqa: F401

warnings.warn(
    "`keras_lr.suggest` is deprecated and will be removed in the next release: use "
    "`keras_lr.core` (`keras_lr.core.rules` for the rules, `keras_lr.core.diagnose`, ...).",
    DeprecationWarning,
    stacklevel=2,
)

METHODS = _rules.names()
DEFAULT_METHOD = _rules.DEFAULT


def valley(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """Deprecated: `keras_lr.core.suggest(lrs, losses, "valley")`."""
    return _rules.suggest(lrs, losses, "valley")


def minimum(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """Deprecated: `keras_lr.core.suggest(lrs, losses, "minimum")`."""
    return _rules.suggest(lrs, losses, "minimum")


def steepest(
    lrs: Sequence[float],
    losses: Sequence[float],
    skip_start: int = SKIP_START,
    skip_end: int = SKIP_END,
) -> float:
    """Deprecated: `keras_lr.core.suggest(lrs, losses, "steepest", skip_start=..., skip_end=...)`."""
    return _rules.suggest(lrs, losses, "steepest", skip_start=skip_start, skip_end=skip_end)


def consensus(
    lrs: Sequence[float],
    losses: Sequence[float],
    skip_start: int = SKIP_START,
    skip_end: int = SKIP_END,
) -> float:
    """Deprecated: `keras_lr.core.suggest(lrs, losses, "consensus", skip_start=..., skip_end=...)`."""
    return _rules.suggest(lrs, losses, "consensus", skip_start=skip_start, skip_end=skip_end)
