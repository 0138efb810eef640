"""Deprecated: `RangeTest` and `RangeTestRun` moved to `keras_lr.core` (this module goes in the next release)."""

from __future__ import annotations

import warnings

from keras_lr.core.ramp import RAMP_KEYS, STOP_REASONS  # noqa: F401
from keras_lr.core.result import RangeTest, RangeTestRun

__all__ = ["RangeTest", "RangeTestRun"]

warnings.warn(
    "`keras_lr.range_test` is deprecated and will be removed in the next release: use "
    "`keras_lr.RangeTest` or `keras_lr.core.RangeTest`.",
    DeprecationWarning,
    stacklevel=2,
)
