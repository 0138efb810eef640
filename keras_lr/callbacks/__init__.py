"""keras_lr callbacks: scheduler callbacks, `LRLogger` and `LRFinder`."""

from keras_lr.callbacks.lr_finder import LRFinder, RangeTestRun
from keras_lr.callbacks.lr_logger import LRLogger
from keras_lr.callbacks.plateau import ReduceLROnPlateau
from keras_lr.callbacks.schedulers import (
    CyclicLR,
    ExponentDecayScheduler,
    ExponentialLR,
    OneCycleLR,
    ScheduleCallback,
    WarmupCosineDecay,
    WarmupCosineLR,
)

__all__ = [
    "CyclicLR",
    "ExponentDecayScheduler",
    "ExponentialLR",
    "LRFinder",
    "LRLogger",
    "OneCycleLR",
    "RangeTestRun",
    "ReduceLROnPlateau",
    "ScheduleCallback",
    "WarmupCosineDecay",
    "WarmupCosineLR",
]
