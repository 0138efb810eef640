"""keras_lr: learning-rate tools for Keras 3 on TensorFlow, JAX and PyTorch.

- `LRFinder`: the LR range test (Smith 2015, section 3.3); `RangeTest`, its
  result: diagnosis, suggestions, plots, save/load.
- `keras_lr.core`: the Keras-free reading of a range test (`RangeTest`, the
  diagnosis, the suggestion rules' registry, plots, the file format).
- Scheduler callbacks: `ExponentialLR`, `WarmupCosineLR`, `CyclicLR`,
  `OneCycleLR` and the generic `ScheduleCallback` (`ExponentDecayScheduler`
  and `WarmupCosineDecay` are deprecated aliases, kept for one release).
- `ReduceLROnPlateau`: Keras' plateau reduction, also on top of a schedule.
- `LRLogger`: the LR in `history`, `CSVLogger` and `TensorBoard`.
- `keras_lr.schedules`: the same schedules as `LearningRateSchedule` classes.
- `keras_lr.schedule_math`: every formula, once, as pure functions of the step.
- `plot_schedule`: preview any schedule.

Where Keras is installed, `import keras_lr` imports every public name at
once, so that its serializable classes are registered with Keras before a
`keras.saving.load_model` needs them. Where it is not, the Keras-free parts
(a saved range test, its diagnosis, suggestions and plots) still import, and
a Keras-dependent name raises Keras' own `ImportError` when first used.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it (a submodule: the name itself).
_LAZY: dict[str, str] = {
    "CyclicLR": "keras_lr.callbacks",
    "ExponentDecayScheduler": "keras_lr.callbacks",  # deprecated alias of ExponentialLR
    "ExponentialLR": "keras_lr.callbacks",
    "LRFinder": "keras_lr.callbacks",
    "LRLogger": "keras_lr.callbacks",
    "OneCycleLR": "keras_lr.callbacks",
    "ReduceLROnPlateau": "keras_lr.callbacks",
    "ScheduleCallback": "keras_lr.callbacks",
    "WarmupCosineDecay": "keras_lr.callbacks",  # deprecated alias of WarmupCosineLR
    "WarmupCosineLR": "keras_lr.callbacks",
    "RangeTest": "keras_lr.core",
    "RangeTestRun": "keras_lr.core",
    "TrialsResult": "keras_lr.core",
    "plot_history": "keras_lr.plotting",
    "plot_schedule": "keras_lr.plotting",
}
# `suggest` is deprecated (its names moved to `core`): kept for one release.
_SUBMODULES = ("callbacks", "core", "plotting", "schedule_math", "schedules", "suggest")

__all__ = sorted([*_LAZY, *_SUBMODULES])

if TYPE_CHECKING:  # what static checkers and IDEs see
    from keras_lr import callbacks, core, plotting, schedule_math, schedules, suggest
    from keras_lr.callbacks import (
        CyclicLR,
        ExponentDecayScheduler,
        ExponentialLR,
        LRFinder,
        LRLogger,
        OneCycleLR,
        ReduceLROnPlateau,
        ScheduleCallback,
        WarmupCosineDecay,
        WarmupCosineLR,
    )
    from keras_lr.core import RangeTest, RangeTestRun, TrialsResult
    from keras_lr.plotting import plot_history, plot_schedule


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        value = importlib.import_module(f"keras_lr.{name}")
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'keras_lr' has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


def _keras_installed() -> bool:
    try:
        return importlib.util.find_spec("keras") is not None
    except (ImportError, ValueError):  # blocked, or a module without a spec
        return False


if _keras_installed():  # register the serializable classes now (see above)
    for _name in sorted(_LAZY):
        __getattr__(_name)
    for _name in _SUBMODULES:
        if _name != "suggest":  # deprecated: it warns when it is first used
            __getattr__(_name)
    del _name
