"""The range test's ramps, smoothing and stop rule, written out by hand for the finder tests."""

import numpy as np


def hand_smoothed(losses, beta):
    """The bias-corrected EMA, by hand."""
    avg, smoothed = 0.0, []
    for n, loss in enumerate(losses, start=1):
        avg = beta * avg + (1.0 - beta) * loss
        smoothed.append(avg / (1.0 - beta**n))
    return smoothed


def hand_stop_index(smoothed, stop_factor):
    """The first index whose smoothed loss exceeds the best before it by the stop rule."""
    best = smoothed[0]
    for i in range(1, len(smoothed)):
        if smoothed[i] - best > (stop_factor - 1.0) * abs(best):
            return i
        best = min(best, smoothed[i])
    return None


def exp_ramp(start, end, n):
    """`start * (end / start) ** (i / (n - 1))` for `i = 0 .. n - 1`."""
    return np.array([start * (end / start) ** (i / (n - 1)) for i in range(n)], "float64")


def lin_ramp(start, end, n):
    """`start + (end - start) * i / (n - 1)` for `i = 0 .. n - 1`."""
    return np.array([start + (end - start) * i / (n - 1) for i in range(n)], "float64")
