"""The saved-file checks, now `keras_lr.core.schema` (this private path is kept for old imports)."""

from __future__ import annotations

from keras_lr.core.ramp import STOP_REASONS  # noqa: F401
from keras_lr.core.schema import (  # noqa: F401
    CONFIG_KEYS,
    REQUIRED_KEYS,
    check_saved_range_test,
    read_saved_range_test,
)
