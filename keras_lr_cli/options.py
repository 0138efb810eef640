"""The `keras-lr` command's option table: plain data, the standard library only.

Everything the parser offers is written here once, as data:

- `SCHEDULE_FAMILIES`: each `keras-lr plot` schedule, the `keras_lr.schedules`
  class it builds, and that class's constructor arguments (name, kind,
  default, help, choices);
- `DEMO_OPTIONS`, `FIND_OPTIONS`, `PLOT_OUTPUT_OPTIONS` and `BACKEND_OPTION`:
  the options of each command.

`keras_lr_cli.parser` builds the `argparse` parser from these tables. Nothing
here reads keras_lr's source or imports it; tests/test_cli_options.py checks
that each family's arguments equal `inspect.signature` of its class, and
that the choices equal keras_lr's own lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "BACKENDS",
    "BACKEND_OPTION",
    "DEFAULT_SUGGESTION",
    "DEMO_OPTIONS",
    "FIND_OPTIONS",
    "MAX_INT",
    "MAX_PLOT_STEPS",
    "MAX_RANGE_TEST_STEPS",
    "Option",
    "PLOT_OUTPUT_OPTIONS",
    "Param",
    "REQUIRED",
    "SCHEDULES",
    "SCHEDULE_FAMILIES",
    "ScheduleFamily",
    "SUGGESTION_METHODS",
    "TRIALS_BUDGET",
]

#: The Keras backends `--backend` accepts.
BACKENDS = ("tensorflow", "jax", "torch")
#: The most steps `keras-lr plot` evaluates (`keras_lr.plotting.MAX_PLOT_STEPS`).
MAX_PLOT_STEPS = 10_000_000
#: The most steps of a range test from the command line (`find --num-steps`, `demo --steps`).
MAX_RANGE_TEST_STEPS = 1_000_000
#: The largest integer any option takes (int64's maximum).
MAX_INT = 2**63 - 1
#: keras_lr's suggestion rules, in its order (`keras_lr.core.rules.names()`).
SUGGESTION_METHODS = ("robust", "consensus", "valley", "steepest", "minimum")
#: keras_lr's default suggestion rule.
DEFAULT_SUGGESTION = "robust"
#: The trials' default budget per candidate, in range tests
#: (`keras_lr.callbacks.trials.DEFAULT_BUDGET`).
TRIALS_BUDGET = 5
#: `keras_lr.schedules.CYCLIC_MODES`.
CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


class _Required:
    """The default of an argument that has none."""

    def __repr__(self) -> str:
        return "REQUIRED"


#: The `default` of a required argument.
REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Param:
    """One constructor argument of a schedule class, as a `keras-lr plot` option.

    Attributes:
        name: the argument's name; the option is `--` + name in kebab-case.
        kind: how the text is read: `"float"`, `"float_or_none"`, `"int"`,
            `"bool"`, `"floats"` (comma-separated) or `"str"`.
        default: the constructor's default, or `REQUIRED`.
        help: one sentence for `--help`.
        choices: the accepted strings, for `kind="str"`.
    """

    name: str
    kind: str
    default: Any
    help: str
    choices: tuple[str, ...] | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class ScheduleFamily:
    """A `keras-lr plot` schedule: the class it builds and its options.

    Attributes:
        name: the command-line name (`keras-lr plot NAME`).
        class_name: the `keras_lr.schedules` class.
        summary: one line for the list of schedules.
        formula: the formula, shown by `keras-lr plot NAME --help`.
        params: the constructor's arguments, in its order.
        python_only: the constructor's arguments that cannot be given on a
            command line (a Python function), which keep their defaults.
    """

    name: str
    class_name: str
    summary: str
    formula: str
    params: tuple[Param, ...]
    python_only: tuple[str, ...] = ()


def _p(
    name: str, kind: str, default: Any, help: str, choices: tuple[str, ...] | None = None
) -> Param:
    return Param(name, kind, default, help, choices)


SCHEDULE_FAMILIES: tuple[ScheduleFamily, ...] = (
    ScheduleFamily(
        "constant",
        "Constant",
        "a constant learning rate",
        "lr(t) = value",
        (_p("value", "float", REQUIRED, "the learning rate, > 0."),),
    ),
    ScheduleFamily(
        "exponential",
        "Exponential",
        "exponential decay with a floor",
        "lr(t) = max(min_lr, initial_lr * decay_rate ** (t / decay_steps)),\n"
        "t / decay_steps floored when staircase is true",
        (
            _p("initial_lr", "float", REQUIRED, "the LR at step 0, > 0."),
            _p("decay_rate", "float", REQUIRED, "the factor per decay_steps, in (0, 1]."),
            _p("decay_steps", "float", 1, "steps per factor of decay_rate, > 0."),
            _p("min_lr", "float", 0.0, "the floor, >= 0 and <= initial_lr."),
            _p("staircase", "bool", True, "whether to decay in discrete jumps."),
        ),
    ),
    ScheduleFamily(
        "step",
        "StepDecay",
        "multiply the LR by gamma every decay_steps steps, with a floor",
        "lr(t) = max(min_lr, initial_lr * gamma ** floor(t / decay_steps))",
        (
            _p("initial_lr", "float", REQUIRED, "the LR at step 0, > 0."),
            _p("decay_steps", "float", REQUIRED, "steps between two decays, > 0."),
            _p("gamma", "float", 0.1, "the factor applied at each decay, in (0, 1]."),
            _p("min_lr", "float", 0.0, "the floor, >= 0."),
        ),
    ),
    ScheduleFamily(
        "polynomial",
        "Polynomial",
        "polynomial (power 1: linear) decay to end_lr",
        "lr(t) = (initial_lr - end_lr) * (1 - min(t, total_steps) / total_steps) ** power + end_lr",
        (
            _p("initial_lr", "float", REQUIRED, "the LR at step 0, >= 0."),
            _p(
                "total_steps",
                "float",
                REQUIRED,
                "the length of the decay: steps to reach end_lr, > 0.",
            ),
            _p("end_lr", "float", 0.0, "the LR from total_steps on, >= 0."),
            _p("power", "float", 1.0, "the exponent, > 0 (1: linear)."),
        ),
    ),
    ScheduleFamily(
        "piecewise",
        "Piecewise",
        "piecewise-constant LR, changing at each boundary",
        "lr(t) = values[i] for boundaries[i-1] <= t < boundaries[i]",
        (
            _p(
                "boundaries",
                "floats",
                REQUIRED,
                "strictly increasing steps, each > 0 (e.g. 100,200).",
            ),
            _p("values", "floats", REQUIRED, "the LRs, one more than the boundaries, each > 0."),
        ),
    ),
    ScheduleFamily(
        "warmup-cosine",
        "WarmupCosine",
        "linear warmup, hold, then cosine decay with optional warm restarts",
        "linear from warmup_start_lr to peak_lr in warmup_steps, peak_lr for hold_steps,\n"
        "then cosine down to min_lr (in `cycles` cycles), min_lr from total_steps on",
        (
            _p("peak_lr", "float", REQUIRED, "the LR at the end of warmup, > 0."),
            _p(
                "total_steps",
                "float",
                REQUIRED,
                "the length of the whole schedule, > warmup_steps + hold_steps.",
            ),
            _p("warmup_steps", "float", 0, "length of the linear warmup, >= 0."),
            _p("warmup_start_lr", "float", 0.0, "the LR at step 0, in [0, peak_lr]."),
            _p("hold_steps", "float", 0, "steps held at peak_lr after warmup, >= 0."),
            _p("min_lr", "float", 0.0, "the LR at the end of each cycle, in [0, peak_lr]."),
            _p("cycles", "int", 1, "the number of cosine cycles (restarts + 1), >= 1."),
            _p("cycle_mul", "float", 1.0, "each cycle's length over the previous one's, > 0."),
            _p("peak_mul", "float", 1.0, "each cycle's peak over the previous one's, in (0, 1]."),
        ),
    ),
    ScheduleFamily(
        "cyclic",
        "Cyclic",
        "cyclical learning rate (Smith 2015), as PyTorch's CyclicLR",
        "from base_lr up to max_lr in step_size steps and back in step_size_down steps;\n"
        "the amplitude scaled by 1 (triangular), 1/2**(cycle-1) (triangular2) or gamma**t "
        "(exp_range)",
        (
            _p("base_lr", "float", REQUIRED, "the lower LR, > 0."),
            _p("max_lr", "float", REQUIRED, "the upper LR, >= base_lr."),
            _p("step_size", "float", 2000, "steps in the increasing half-cycle, > 0."),
            _p("mode", "str", "triangular", "how the amplitude is scaled.", CYCLIC_MODES),
            _p("gamma", "float", 1.0, "the exp_range factor per step, in (0, 1]."),
            _p(
                "step_size_down",
                "float_or_none",
                None,
                "steps in the decreasing half-cycle, > 0 (default: step_size).",
            ),
        ),
        python_only=("scale_fn", "scale_mode"),
    ),
    ScheduleFamily(
        "one-cycle",
        "OneCycle",
        "the one-cycle policy, as PyTorch's OneCycleLR",
        "from max_lr / div_factor up to max_lr over pct_start of total_steps, then down to\n"
        "max_lr / div_factor / final_div_factor (three_phase: back to the initial LR first)",
        (
            _p("max_lr", "float", REQUIRED, "the peak LR, > 0."),
            _p("total_steps", "int", REQUIRED, "the length of the cycle, an integer >= 2."),
            _p("pct_start", "float", 0.3, "the fraction of steps spent increasing, in (0, 1)."),
            _p("anneal_strategy", "str", "cos", "how each phase anneals.", ("cos", "linear")),
            _p("div_factor", "float", 25.0, "initial_lr = max_lr / div_factor, > 0."),
            _p("final_div_factor", "float", 1e4, "final_lr = initial_lr / final_div_factor, > 0."),
            _p(
                "three_phase",
                "bool",
                False,
                "whether to come back to the initial LR before the final annihilation.",
            ),
        ),
    ),
)

#: `keras-lr plot` names and the `keras_lr.schedules` class each one builds.
SCHEDULES: dict[str, str] = {family.name: family.class_name for family in SCHEDULE_FAMILIES}


@dataclass(frozen=True)
class Option:
    """One option (or positional argument) of a command.

    Attributes:
        flags: the option strings (`("-o", "--output")`), or the positional's
            name (`("model",)`).
        kind: how the text is read: `"int"` (within `minimum`, `maximum`),
            `"positive"` (a finite number > 0), `"str"`, `"choice"` (one of
            `choices`) or `"flag"` (no value: true when given).
        default: the value when the option is not given.
        help: one sentence for `--help`; its `(default: ...)` is added from
            `default` unless the help already names the default.
        metavar: the value's name in `--help`.
        choices: the accepted strings, for `kind="choice"`.
        minimum: the smallest integer, for `kind="int"`.
        maximum: the largest integer, for `kind="int"`.
    """

    flags: tuple[str, ...]
    kind: str
    default: Any = None
    help: str = ""
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int = MAX_INT

    @property
    def dest(self) -> str:
        return self.flags[-1].lstrip("-").replace("-", "_")


BACKEND_OPTION = Option(
    ("--backend",),
    "choice",
    None,
    "the Keras backend to run on (default: KERAS_BACKEND); when Keras is already running on "
    "another one, the command is re-run in a new process",
    choices=BACKENDS,
)


def _range_options(start_lr: float, note: str = "") -> tuple[Option, ...]:
    """`--batch-size`, `--start-lr` and `--end-lr`, shared by `demo` and `find`."""
    return (
        Option(("--batch-size",), "int", 64, "batch size", "N", minimum=1),
        Option(
            ("--start-lr",),
            "positive",
            start_lr,
            f"LR of the first step of the range test (default: {start_lr:g}{note})",
            "LR",
        ),
        Option(("--end-lr",), "positive", 10.0, "LR of the last step of the range test", "LR"),
    )


DEMO_OPTIONS: tuple[Option, ...] = (
    Option(
        ("--out",),
        "str",
        "keras-lr-demo",
        "where the figures go; created if needed (default: ./keras-lr-demo)",
        "DIR",
    ),
    Option(
        ("--steps",),
        "int",
        150,
        f"steps of the LR range test, at most {MAX_RANGE_TEST_STEPS}",
        "N",
        minimum=2,
        maximum=MAX_RANGE_TEST_STEPS,
    ),
    Option(("--epochs",), "int", 10, "training epochs", "N", minimum=1),
    *_range_options(1e-4, "; lower LRs do nothing for Adam here"),
    Option(
        ("--model",),
        "choice",
        "mlp",
        "a small MLP, or a tiny CNN on the 8x8 images",
        choices=("mlp", "cnn"),
    ),
    Option(
        ("--suggestion",),
        "choice",
        DEFAULT_SUGGESTION,
        f"the suggestion to train at (default: {DEFAULT_SUGGESTION}, keras_lr's default)",
        choices=SUGGESTION_METHODS,
    ),
    Option(
        ("--seed",), "int", 0, "random seed of the data and the model", minimum=0, maximum=2**32 - 1
    ),
    BACKEND_OPTION,
)

FIND_OPTIONS: tuple[Option, ...] = (
    Option(("model",), "str", None, "a saved, compiled Keras model", "MODEL.keras"),
    Option(("data",), "str", None, "an .npz file with the inputs and targets", "DATA.npz"),
    Option(("--x-key",), "str", "x", "the inputs' key in DATA.npz"),
    Option(("--y-key",), "str", "y", "the targets' key in DATA.npz; an empty string for none"),
    *_range_options(1e-7),
    Option(
        ("--num-steps",),
        "int",
        100,
        f"steps of the ramp; the data is repeated as needed; at most {MAX_RANGE_TEST_STEPS}",
        "N",
        minimum=2,
        maximum=MAX_RANGE_TEST_STEPS,
    ),
    Option(
        ("--mode",),
        "choice",
        "exponential",
        "how the LR grows",
        choices=("exponential", "linear"),
    ),
    Option(
        ("--num-runs",),
        "int",
        1,
        "run the test N times with their own data order and seeds, average the curves and "
        "report the spread of the suggestion",
        "N",
        minimum=1,
        maximum=1000,
    ),
    Option(
        ("--seed",),
        "int",
        None,
        "seed of the data orders (and of the trials' held-out draw), for a repeatable test (default: random)",
        "S",
        minimum=0,
    ),
    Option(
        ("--sma",), "int", 5, "moving window of the loss-change panel of the plot", "N", minimum=1
    ),
    Option(("-o", "--output"), "str", None, "write the finder plot (loss and loss change)", "PNG"),
    Option(("--json",), "str", None, "write the recorded curve (LRFinder.save)", "FILE"),
    Option(
        ("--trials",),
        "flag",
        False,
        "after the range test, train a few candidate LRs (around the suggestion, and the "
        "model's own LR) for a short budget each from the model's restored state, and choose "
        "by the loss on a held-out fifth of the data (LRFinder.confirm); costs about "
        f"{4 * TRIALS_BUDGET} range tests",
    ),
    Option(
        ("--trials-budget",),
        "int",
        None,
        f"training steps of each trial, with --trials (default: {TRIALS_BUDGET} x --num-steps)",
        "N",
        minimum=1,
        maximum=MAX_RANGE_TEST_STEPS,
    ),
    Option(
        ("--trials-json",),
        "str",
        None,
        "write the trials' candidates, scores and curves (TrialsResult.to_dict), with --trials",
        "FILE",
    ),
    Option(
        ("--jit-compile",),
        "choice",
        "saved",
        "XLA / torch.compile for the test: as saved with the model, or on, or off (default: "
        "saved; a model saved on JAX or TensorFlow loads with jit_compile=True, which on torch "
        "means a slow torch.compile: use off)",
        choices=("saved", "on", "off"),
    ),
    Option(("-q", "--quiet"), "flag", False, "no progress bar"),
    BACKEND_OPTION,
)

#: The options every `keras-lr plot SCHEDULE` has besides the schedule's arguments.
PLOT_OUTPUT_OPTIONS: tuple[Option, ...] = (
    Option(
        ("--steps",),
        "int",
        None,
        f"plot steps 0 .. N-1, at most {MAX_PLOT_STEPS} (default: --total-steps, where the "
        "schedule has one)",
        "N",
        minimum=1,
        maximum=MAX_PLOT_STEPS,
    ),
    Option(("-o", "--output"), "str", None, "the figure to write (default: SCHEDULE.png)", "PNG"),
    Option(("--csv",), "str", None, "also write the values: step,learning_rate", "FILE"),
    Option(("--log-y",), "flag", False, "log scale for the learning rate"),
)
