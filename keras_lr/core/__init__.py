"""keras_lr's Keras-free core: reading, suggesting from, plotting and storing a range test.

Imports numpy only (matplotlib inside the plot functions), never Keras, so a
saved range test is read anywhere:

- `RangeTest`, `RangeTestRun` (`result`): a recorded test, its diagnosis,
  suggestions, summary, plots and JSON file;
- `Curve`, `diagnose`, `Diagnosis`, `lagfree` (`diagnosis`): how a curve is read;
- `rules`: the suggestion rules' registry (`rules.names()`, `rules.get`,
  `rules.register`), and `suggest` / `suggest_range`, which read any rule
  through the diagnosis;
- `runs`: statistics over several runs (`spread`, `mean_over_runs`, ...);
- `RampConfig`, `STOP_REASONS` (`ramp`): the ramp's settings, validated once;
- `schema`: the checks of a saved file;
- `constants`: every named constant of the diagnosis, rules and runs;
- `plot_finder`, `plot_loss_change` (`plot`);
- `TrialsResult`, `Trial` (`trials`): what short trials of candidate LRs found
  (`LRFinder.confirm`).

Example:

```python
from keras_lr import core

result = core.RangeTest.load("range_test.json")
result.diagnosis.describe(), result.suggestion(), core.rules.names()
result.plot()
```
"""

from __future__ import annotations

from keras_lr.core import constants, rules, runs, schema, trials
from keras_lr.core.constants import (
    BASIN_DIVISOR,
    BASIN_FRACTION,
    CURVES,
    DIVERGE_FACTOR,
    EDGE_POINTS,
    FALLBACK_CHECK_DECADES,
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
from keras_lr.core.diagnosis import (
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
from keras_lr.core.plot import plot_finder, plot_loss_change
from keras_lr.core.ramp import RAMP_KEYS, RAMP_MODES, STOP_REASONS, RampConfig
from keras_lr.core.result import RangeTest, RangeTestRun
from keras_lr.core.rules import suggest, suggest_range
from keras_lr.core.runs import band_over_runs, mean_over_runs, runs_table, spread
from keras_lr.core.trials import Trial, TrialsResult

__all__ = [
    "Trial",
    "TrialsResult",
    "trials",
    "BASIN_DIVISOR",
    "BASIN_FRACTION",
    "CURVES",
    "DIVERGE_FACTOR",
    "EDGE_POINTS",
    "FALLBACK_CHECK_DECADES",
    "FALLBACK_DIVISOR",
    "FELL_Z",
    "MIN_DESCENT_POINTS",
    "MIN_POINTS",
    "RAMP_KEYS",
    "RAMP_MODES",
    "RELIABLE_FALL",
    "RELIABLE_SPREAD",
    "SKIP_END",
    "SKIP_START",
    "SMOOTH_DECADES",
    "START_FRACTION",
    "STOP_REASONS",
    "Curve",
    "Diagnosis",
    "FallbackWarning",
    "RampConfig",
    "RangeTest",
    "RangeTestRun",
    "TooFewPointsError",
    "UnreliableSuggestionWarning",
    "band_over_runs",
    "constants",
    "diagnose",
    "lagfree",
    "loss_change",
    "mean_over_runs",
    "plot_finder",
    "plot_loss_change",
    "rules",
    "runs",
    "runs_table",
    "scaled_skips",
    "schema",
    "spread",
    "suggest",
    "suggest_range",
]
