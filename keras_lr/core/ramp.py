"""The range test's ramp settings, once: `RampConfig`, and why a run stopped.

`LRFinder`'s constructor, `RangeTest` and the saved-file checks all read the
ramp through `RampConfig`, which validates itself with Keras-style errors.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from keras_lr import _validation as check

__all__ = [
    "FINDER_KEYS",
    "RAMP_KEYS",
    "RAMP_MODES",
    "STOP_REASONS",
    "RampConfig",
    "check_finder_options",
]

#: Why a run stopped: the loss diverged, was not finite, all steps ran; None when
#: training ended otherwise.
STOP_REASONS = ("diverged", "nan", "num_steps", None)
#: The ramp's shapes: log-spaced (the usual choice) or evenly spaced LRs.
RAMP_MODES = ("exponential", "linear")
#: The ramp's settings, in `LRFinder`'s argument order.
RAMP_KEYS = ("start_lr", "end_lr", "num_steps", "mode", "beta", "stop_factor")
#: `LRFinder`'s other arguments (how it runs, not what it records).
FINDER_KEYS = ("restore", "verbose", "num_runs", "seed")

# The ramp runs inside the train step in float32: an LR outside float32's normal
# range is stored as 0, a subnormal or inf, and the exponential ramp computes
# (end_lr / start_lr) ** t, which must not overflow either.
#: The smallest LR: float32's smallest normal number, about 1.18e-38.
MIN_LR = float(np.finfo(np.float32).tiny)
#: The largest LR: float32's largest power of ten (its largest number is about
#: 3.40e38, but a ramp ending there can round past it, to inf).
MAX_LR = 1e38
#: The largest `end_lr / start_lr` of an exponential ramp, so that
#: `(end_lr / start_lr) ** t` stays finite in float32 at every step.
MAX_RATIO = 1e38


@dataclasses.dataclass(frozen=True)
class RampConfig:
    """The LR range test's ramp: `LRFinder`'s `start_lr` ... `stop_factor`.

    Validated on construction, with Keras-style errors. Step `i` (from 0 to
    `num_steps - 1`) trains at
    `start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))` (exponential) or
    `start_lr + (end_lr - start_lr) * i / (num_steps - 1)` (linear), in float32:
    `start_lr` must be a float32 normal number (`>= MIN_LR`, about 1.18e-38),
    `end_lr` at most `MAX_LR` (1e38), and an exponential ramp may span at most
    `MAX_RATIO` (38 decades), so that every step's LR is finite and positive.

    Args:
        start_lr: the LR of the first step, `> 0`. Defaults to 1e-7.
        end_lr: the LR of the last step, `> start_lr`. Defaults to 10.
        num_steps: the ramp's steps, an integer `>= 2`. Defaults to 100.
        mode: `"exponential"` or `"linear"`. Defaults to `"exponential"`.
        beta: the EMA factor of the smoothed loss, in [0, 1). Defaults to 0.98.
        stop_factor: stop when the smoothed loss exceeds this many times its
            best, `> 1`. Defaults to 4.

    Raises:
        ValueError: naming the argument, for an invalid value.

    Example:

    >>> RampConfig(1e-6, 1.0, 200).to_dict()["num_steps"]
    200
    """

    start_lr: float = 1e-7
    end_lr: float = 10.0
    num_steps: int = 100
    mode: str = "exponential"
    beta: float = 0.98
    stop_factor: float = 4.0

    def __post_init__(self) -> None:
        start_lr = check.positive("start_lr", self.start_lr)
        if start_lr < MIN_LR:
            check.fail(
                "start_lr",
                f">= {MIN_LR:.8g} (float32's smallest normal number: the ramp runs in float32)",
                self.start_lr,
            )
        end_lr = check.greater_than("end_lr", self.end_lr, start_lr, f"start_lr ({start_lr:g})")
        if end_lr > MAX_LR:
            check.fail(
                "end_lr",
                f"<= {MAX_LR:g} (the ramp runs in float32, whose largest number is about "
                "3.4e38: a ramp ending beyond 1e38 can round to inf)",
                self.end_lr,
            )
        num_steps = check.integer("num_steps", self.num_steps, 2)
        mode = check.one_of("mode", self.mode, RAMP_MODES)
        if mode == "exponential" and end_lr / start_lr > MAX_RATIO:
            raise ValueError(
                f"Arguments `start_lr` and `end_lr` must span at most {MAX_RATIO:g} "
                "(end_lr / start_lr: the exponential ramp computes (end_lr / start_lr) ** t "
                "in float32, which overflows beyond it). "
                f"Received: start_lr={check._show(self.start_lr)}, "
                f"end_lr={check._show(self.end_lr)}"
            )
        beta = check.in_unit_interval("beta", self.beta, closed_low=True, closed_high=False)
        stop_factor = check.greater_than("stop_factor", self.stop_factor, 1.0)
        # The checked values (a float for an int bound, ...), written past the frozen
        # dataclass's __setattr__ into the instance's own dict.
        vars(self).update(
            start_lr=start_lr,
            end_lr=end_lr,
            num_steps=num_steps,
            mode=mode,
            beta=beta,
            stop_factor=stop_factor,
        )

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict (`RAMP_KEYS`)."""
        return {key: getattr(self, key) for key in RAMP_KEYS}

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> RampConfig:
        """The ramp of a config dict (`LRFinder.get_config()`, a saved file's `"config"`).

        Keys other than `RAMP_KEYS` (the finder's `restore`, `verbose`, ...) are
        ignored; missing ones take their defaults.

        Args:
            config: a dict.

        Returns:
            The `RampConfig`.

        Raises:
            ValueError: for an invalid value.
        """
        return cls(**{key: config[key] for key in RAMP_KEYS if key in config})


def check_finder_options(
    restore: Any = True, verbose: Any = 1, num_runs: Any = 1, seed: Any = None
) -> dict[str, Any]:
    """Checks `LRFinder`'s other arguments (`FINDER_KEYS`); returns them normalized.

    Args:
        restore: True or False.
        verbose: 0, 1 or 2 (True and False count as 1 and 0).
        num_runs: an integer `>= 1`.
        seed: an integer `>= 0`, or None.

    Returns:
        A dict of the four values.

    Raises:
        ValueError: naming the argument, for an invalid value.
    """
    return {
        "restore": check.boolean("restore", restore),
        "verbose": check.verbosity("verbose", verbose),
        "num_runs": check.integer("num_runs", num_runs, 1),
        "seed": None if seed is None else check.integer("seed", seed, 0),
    }
