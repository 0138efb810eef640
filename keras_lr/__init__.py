"""keras_lr: learning-rate tools for Keras 3 on TensorFlow, JAX and PyTorch.

- `LRFinder`: the LR range test (Smith 2015, section 3.3); `RangeTest`, its
  result: diagnosis, suggestions, plots, save/load.
- Scheduler callbacks: `ExponentDecayScheduler`, `WarmupCosineDecay`,
  `CyclicLR`, `OneCycleLR` and the generic `ScheduleCallback`.
- `ReduceLROnPlateau`: Keras' plateau reduction, also on top of a schedule.
- `LRLogger`: the LR in `history`, `CSVLogger` and `TensorBoard`.
- `keras_lr.schedules`: the same schedules as `LearningRateSchedule` classes.
- `keras_lr.schedule_math`: every formula, once, as pure functions of the step.
- `plot_schedule`: preview any schedule.
"""

from keras_lr import schedule_math, schedules, suggest
from keras_lr.callbacks import (
    CyclicLR,
    ExponentDecayScheduler,
    LRFinder,
    LRLogger,
    OneCycleLR,
    ReduceLROnPlateau,
    ScheduleCallback,
    WarmupCosineDecay,
)
from keras_lr.plotting import plot_history, plot_schedule
from keras_lr.range_test import RangeTest, RangeTestRun

__version__ = "0.1.0"

__all__ = [
    "CyclicLR",
    "ExponentDecayScheduler",
    "LRFinder",
    "LRLogger",
    "OneCycleLR",
    "RangeTest",
    "RangeTestRun",
    "ReduceLROnPlateau",
    "ScheduleCallback",
    "WarmupCosineDecay",
    "plot_history",
    "plot_schedule",
    "schedule_math",
    "schedules",
    "suggest",
]
