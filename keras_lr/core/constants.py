"""The named constants of the range-test reading, each with its meaning.

The constants of the default rule (`robust`) and its diagnosis were chosen on
the development half of the suggestion benchmark only (BENCHMARKS.md;
benchmarks/sq_tasks.py has the split). Changing one changes the suggestions.
"""

from __future__ import annotations

# ------------------------------------------------------------------ curves
#: The curves a range test records: the training loss (a point every step) and
#: the validation loss (a point every `val_every` steps).
CURVES = ("train", "val")
#: The fewest points any rule reads a suggestion from.
MIN_POINTS = 5
#: Points `steepest` (also inside `consensus`) and the plots leave out at the
#: start of a curve with a point every step: the start is noisy.
SKIP_START = 10
#: Points left out at the end of such a curve: the end diverges.
SKIP_END = 5

# ------------------------------------------------------------------ diagnosis
#: The lag-free smoother's width (the Gaussian kernel's sigma), in decades of LR.
SMOOTH_DECADES = 0.2
#: The start level is the mean batch loss over this first part of the curve.
START_FRACTION = 0.1
#: "The loss fell": its drop exceeds this many standard errors of the difference.
FELL_Z = 3.0
#: The basin: where the lag-free loss is within this part of its drop of its minimum.
BASIN_FRACTION = 0.1
#: The default suggestion: the basin's (geometric) centre divided by this.
BASIN_DIVISOR = 4.0
#: "Diverged": the lag-free loss rose past its start level by this many fall thresholds.
DIVERGE_FACTOR = 5.0
#: Without a fall: the LR where the loss diverged, divided by this.
FALLBACK_DIVISOR = 10.0
#: The LRs to check a fallback `f` at, by training: `f * 10**low .. f * 10**high` (decades),
#: what its warning names and where `LRFinder.confirm()` puts its candidates. Not above `f`:
#: trials near the blow-up chose LRs that trained worse (BENCHMARKS.md).
FALLBACK_CHECK_DECADES = (-1.5, 0.0)
#: A fall of fewer fall thresholds than this is too shallow to be reliable.
RELIABLE_FALL = 3.0
#: Fewer points than this in the descent and basin: the suggestion is not reliable.
MIN_DESCENT_POINTS = 5
#: A descent that starts this close to the first point, a minimum this close to
#: the last (or to the first) point: the curve was cut by the LR range.
EDGE_POINTS = 3
#: Rows of the lag-free smoothing kernel computed at once (memory, not results).
LAGFREE_BLOCK = 512

# ------------------------------------------------------------------ several runs
#: The runs agree when their suggestions spread less than this many decades
#: (half a decade: a factor of about 3.2).
RELIABLE_SPREAD = 0.5
