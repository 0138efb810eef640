"""Re-score LR-suggestion rules offline on the suggestion-quality caches (curves, grids), in seconds.

A rule is a plain function `rule(curve) -> float | None` of a `Curve` (below).
For each rule and each half of the split (`sq_tasks.py`: rules are chosen on
"dev", judged on "test"), this prints, over the 5 finder seeds of each task:

- the per-task mean relative score, the mean over tasks, the worst task and
  how many tasks are within 3% (mean relative score >= 0.97);
- the spread of the suggestions per task (log10 max/min over the seeds, in
  decades): mean, max, and how many tasks have a spread < 0.5;
- how many suggestions fell outside the grid (their score is the grid's edge
  value, a stand-in), how many were None or raised a ValueError (scored 0),
  and how many came with a warning ("warned"; warnings are silenced).

Relative score of an LR = the seed-mean grid score, interpolated linearly in
log10(LR) between grid points, / the grid's best seed-mean score.

The built-in rules, side by side with yours: keras_lr's current
`keras_lr.core.rules` methods (with the finder's default skips) and the
reference baselines of `baselines.py` (fastai, Lightning, torch-lr-finder on
the same curves; the Keras 2 recipe on its own curve).

Usage (from the repository root; the module of a rule must be importable,
e.g. `PYTHONPATH=$PWD:/path/to/scratch`):

    python benchmarks/rescore.py                       # built-in rules only
    python benchmarks/rescore.py --rule myrules:robust --rule myrules:other
    python benchmarks/rescore.py --curves steps300     # the 300-step curves
    python benchmarks/rescore.py --per-task            # a task x rule table too
    python benchmarks/rescore.py --half dev            # only the dev half (while choosing)
    python benchmarks/rescore.py --half holdout        # the held-out third group (only when asked)
    python benchmarks/rescore.py --half fresh          # the fresh fourth group (only by its name)
    python benchmarks/rescore.py --half fresh2         # the fifth group (only by its name)
    python benchmarks/rescore.py --half fresh3         # the sixth group (only by its name)
    python benchmarks/rescore.py --half every          # every group

The held-out tasks (half "holdout") are neither loaded nor scored unless
`--half holdout` or `--half all` asks for them; a fresh group only by its own
name (`--half fresh3`) or with `--half every`.
    python benchmarks/rescore.py --markdown benchmarks/results/suggestion_quality.md
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import statistics
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# keras_lr imports Keras: JAX (the benchmark's backend) unless the caller chose one.
os.environ.setdefault("KERAS_BACKEND", "jax")
HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import baselines  # noqa: E402
import sq_tasks as T  # noqa: E402

RESULTS = HERE / "results"
SQ = RESULTS / "sq"
WITHIN = 0.97
RELIABLE_SPREAD = 0.5
FLAT_DROP = 0.10  # "the loss fell": 10% below its starting level
FLAT_FRACTION = 0.8  # flat for at least 80% of the recorded ramp

Rule = Callable[["Curve"], "float | None"]


@dataclass
class Curve:
    """One recorded range-test curve (numpy float arrays; a non-finite loss is NaN).

    Attributes:
        lrs: the LR of each recorded step.
        losses: the smoothed loss (bias-corrected EMA, beta 0.98); for the
            Keras 2 recipe's curve, its `logs["loss"]` (the running epoch mean).
        raw_losses: the batch loss of each recorded step (Keras 2 recipe: as
            `losses`).
        steps: the ramp index of each recorded step.
        num_steps: the ramp's configured number of steps.
        start_lr: the ramp's first LR.
        end_lr: the ramp's last LR.
        stop_reason: "diverged", "nan", "num_steps" or None.
        stop_lr: the LR at which the test stopped because the loss diverged
            (the last recorded point) or was not finite (the ramp's next
            step, which was not recorded); None otherwise. As the finder's
            `RangeTestRun.stop_lr`; derived from the cached curve when the
            cache predates it.
        task: the task's name; seed: the finder seed; config: the curve's config.
    """

    lrs: np.ndarray
    losses: np.ndarray
    raw_losses: np.ndarray
    steps: np.ndarray
    num_steps: int
    start_lr: float
    end_lr: float
    stop_reason: str | None
    stop_lr: float | None = None
    task: str = ""
    seed: int = 0
    config: str = "default"

    @classmethod
    def from_dict(cls, data: dict, task: str = "", seed: int = 0, config: str = "") -> Curve:
        def arr(values: list) -> np.ndarray:
            return np.array([math.nan if v is None else v for v in values], dtype="float64")

        config_ = data["config"]
        start, end, num_steps = (
            float(config_["start_lr"]),
            float(config_["end_lr"]),
            int(config_["num_steps"]),
        )
        stop_lr = data.get("stop_lr")
        if stop_lr is None and data["lrs"]:
            if data.get("stop_reason") == "diverged":
                stop_lr = float(data["lrs"][-1])
            elif data.get("stop_reason") == "nan":  # the exponential ramp's next step
                step = min(int(data["steps"][-1]) + 1, num_steps - 1)
                stop_lr = start * (end / start) ** (step / (num_steps - 1))
        return cls(
            stop_lr=None if stop_lr is None else float(stop_lr),
            lrs=arr(data["lrs"]),
            losses=arr(data["losses"]),
            raw_losses=arr(data["raw_losses"]),
            steps=np.asarray(data["steps"], dtype=int),
            num_steps=int(data["config"]["num_steps"]),
            start_lr=float(data["config"]["start_lr"]),
            end_lr=float(data["config"]["end_lr"]),
            stop_reason=data.get("stop_reason"),
            task=task,
            seed=seed,
            config=config,
        )


@dataclass
class Grid:
    """A task's grid: LRs, seed-mean best-epoch scores, the best of them."""

    lrs: np.ndarray
    mean: np.ndarray
    best: float
    best_lr: float
    raw: dict = field(default_factory=dict)

    def relative(self, lr: float) -> tuple[float, bool]:
        """(interpolated relative score, whether `lr` is outside the grid)."""
        x = np.log10(self.lrs)
        v = math.log10(lr)
        outside = v < x[0] - 1e-9 or v > x[-1] + 1e-9
        score = float(np.interp(v, x, self.mean))  # clamps to the edge values outside
        return (score / self.best if self.best > 0 else math.nan), outside

    @property
    def sensitivity(self) -> float:
        """grid-best / grid-median (of the seed-mean scores)."""
        median = float(np.median(self.mean))
        return self.best / median if median > 0 else math.inf


@dataclass
class Data:
    config: str
    curves: dict[str, list[Curve]]
    keras2: dict[str, list[Curve]]
    grids: dict[str, Grid]
    halves: tuple[str, ...] = T.HALVES


def load_all(config: str = "default", root: Path = SQ, half: str | None = None) -> Data:
    """Every cached curve of `config` (and the Keras 2 recipe's) and every cached grid.

    Of the tasks of `half` (as `sq_tasks.tasks_of`: None = dev and test; the
    held-out tasks only with "holdout" or "all").
    """
    curves: dict[str, list[Curve]] = {}
    keras2: dict[str, list[Curve]] = {}
    grids: dict[str, Grid] = {}
    tasks = T.tasks_of(half)
    for task in tasks:
        path = root / "curves" / f"{task.name}.json"
        if path.exists():
            record = json.loads(path.read_text(encoding="utf-8"))
            seeds = sorted(record["seeds"], key=int)
            curves[task.name] = [
                Curve.from_dict(record["seeds"][s][config], task.name, int(s), config)
                for s in seeds
            ]
            keras2[task.name] = [
                Curve.from_dict(record["seeds"][s]["keras2"], task.name, int(s), "keras2")
                for s in seeds
            ]
        path = root / "grid" / f"{task.name}.json"
        if path.exists():
            record = json.loads(path.read_text(encoding="utf-8"))
            grids[task.name] = Grid(
                lrs=np.asarray(record["lrs"], dtype="float64"),
                mean=np.asarray(record["mean"], dtype="float64"),
                best=float(record["best_score"]),
                best_lr=float(record["best_lr"]),
                raw=record,
            )
    halves = tuple(h for h in T.GROUPS if any(t.half == h for t in tasks))
    return Data(config, curves, keras2, grids, halves)


# ------------------------------------------------------------------ rules
def load_rule(spec: str) -> tuple[str, Rule]:
    """`module:function` -> (spec, function)."""
    if ":" not in spec:
        raise SystemExit(f"--rule must be module:function. Received: {spec!r}")
    module, name = spec.split(":", 1)
    return spec, getattr(importlib.import_module(module), name)


def safe_rule(rule: Rule, curve: Curve, caught: list | None = None) -> float | None:
    """The rule's LR, or None when it raises a ValueError or returns a non-positive value.

    Warnings the rule emits are silenced; with `caught`, they are appended to it.
    """
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            lr = rule(curve)
    except ValueError:
        return None
    if caught is not None:
        caught.extend(seen)
    if lr is None or not math.isfinite(lr) or lr <= 0:
        return None
    return float(lr)


def _keras_lr_core() -> Any:
    """keras_lr's suggestion code: `keras_lr.core` (`keras_lr.suggest` in an older keras_lr)."""
    try:
        from keras_lr import core
    except ImportError:
        from keras_lr import suggest as core
    return core


def to_keras_lr(curve: Curve, keep: np.ndarray | None = None) -> Any:
    """The curve as a `keras_lr.core.Curve` (what `RangeTest.curve()` gives the rules)."""
    core = _keras_lr_core()
    keep = slice(None) if keep is None else keep
    return core.Curve(
        curve.lrs[keep],
        curve.losses[keep],
        raw_losses=curve.raw_losses[keep],
        num_steps=curve.num_steps,
        stop_lr=curve.stop_lr,
        stop_reason=curve.stop_reason,
    )


def keras_lr_method(method: str) -> Rule:
    """A keras_lr rule (`keras_lr.core.rules`) as a rule, with the finder's default skips."""

    def rule(curve: Curve) -> float:
        core = _keras_lr_core()
        ok = np.isfinite(curve.losses) & np.isfinite(curve.raw_losses)
        if not hasattr(core, "Curve"):  # keras_lr before suggest.Curve
            return core.suggest(curve.lrs[ok], curve.losses[ok], method)
        return core.suggest(to_keras_lr(curve, ok), method=method)

    rule.__name__ = f"keras_lr_{method}"
    return rule


def __getattr__(name: str) -> Rule:
    """keras_lr's methods as importable rules: `rescore:keras_lr_<method>`.

    For example `suggestion_quality.py confirm --rule rescore:keras_lr_consensus`.
    """
    if name.startswith("keras_lr_"):
        return keras_lr_method(name[len("keras_lr_") :])
    raise AttributeError(f"module 'rescore' has no attribute {name!r}")


def _keras_lr_methods() -> list[str]:
    try:
        core = _keras_lr_core()
    except Exception:  # noqa: BLE001
        return ["consensus", "valley", "steepest", "minimum"]
    if hasattr(core, "rules"):
        return list(core.rules.names())
    return list(core.METHODS)


def builtin_rules() -> dict[str, tuple[Rule, bool]]:
    """name -> (rule, reads the Keras 2 curve)."""
    rules: dict[str, tuple[Rule, bool]] = {
        f"keras_lr {m}": (keras_lr_method(m), False) for m in _keras_lr_methods()
    }
    rules.update({name: (rule, False) for name, rule in baselines.BASELINES.items()})
    rules.update({name: (rule, True) for name, rule in baselines.KERAS2_BASELINES.items()})
    return rules


# ------------------------------------------------------------------ scoring
def score_task(rule: Rule, curves: list[Curve], grid: Grid) -> dict:
    warned = []
    lrs = []
    for c in curves:
        caught: list = []
        lrs.append(safe_rule(rule, c, caught))
        warned.append(bool(caught))
    relative, outside = [], 0
    for lr in lrs:
        if lr is None:
            relative.append(0.0)
            continue
        rel, out = grid.relative(lr)
        relative.append(rel)
        outside += int(out)
    known = [lr for lr in lrs if lr is not None]
    spread = float(np.log10(max(known) / min(known))) if known else math.nan
    return {
        "lrs": lrs,
        "relative": relative,
        "mean": float(np.mean(relative)),
        "worst_seed": float(min(relative)),
        "spread": spread,
        "outside": outside,
        "none": len(lrs) - len(known),
        "warned": sum(warned),
    }


def score_rule(rule: Rule, data: Data, keras2: bool = False) -> dict[str, dict]:
    source = data.keras2 if keras2 else data.curves
    return {
        name: score_task(rule, source[name], data.grids[name])
        for name in source
        if name in data.grids
    }


def summarize(per_task: dict[str, dict], half: str) -> dict | None:
    rows = {t: r for t, r in per_task.items() if T.TASKS[t].half == half}
    if not rows:
        return None
    means = {t: r["mean"] for t, r in rows.items()}
    worst = min(means, key=means.get)
    spreads = [r["spread"] if math.isfinite(r["spread"]) else math.inf for r in rows.values()]
    return {
        "tasks": len(rows),
        "mean": statistics.mean(means.values()),
        "worst_task": worst,
        "worst": means[worst],
        "worst_seed": min(r["worst_seed"] for r in rows.values()),
        "within": sum(v >= WITHIN for v in means.values()),
        "mean_spread": statistics.mean(spreads),
        "max_spread": max(spreads),
        "spread_ok": sum(s < RELIABLE_SPREAD for s in spreads),
        "outside": sum(r["outside"] for r in rows.values()),
        "none": sum(r["none"] for r in rows.values()),
        "warned": sum(r.get("warned", 0) for r in rows.values()),
    }


# ------------------------------------------------------------------ task properties
def _levels(curve: Curve) -> tuple[np.ndarray, float, int] | None:
    """(finite losses, start level, index of the minimum), or None for a too-short curve.

    The start level is the median of the first 30% of the points (at least
    10): the first points of the EMA average only a few noisy batches. The
    minimum is taken after the first 10 points for the same reason.
    """
    losses = curve.losses[np.isfinite(curve.losses)]
    if losses.size < 12:
        return None
    start = float(np.median(losses[: max(10, int(0.3 * losses.size))]))
    return losses, start, 10 + int(np.argmin(losses[10:]))


def loss_drop(curve: Curve) -> float:
    """How far the smoothed loss fell below its start level, as a fraction of it."""
    levels = _levels(curve)
    if levels is None:
        return 0.0
    losses, start, lowest = levels
    return float((start - losses[lowest]) / abs(start)) if start else 0.0


def flat_fraction(curve: Curve) -> float:
    """The share of the recorded points before the smoothed loss made half of its total fall.

    That is, before its last downward crossing of the half-way level between
    its start level and its minimum, on the way to the minimum. A loss that
    never fell more than 10% below its start level is flat throughout (1.0).
    """
    levels = _levels(curve)
    if levels is None or loss_drop(curve) < FLAT_DROP:
        return 1.0
    losses, start, lowest = levels
    above = np.flatnonzero(losses[:lowest] > start - 0.5 * (start - losses[lowest]))
    return float((above[-1] + 1 if above.size else 0) / losses.size)


def task_properties(data: Data) -> dict[str, dict]:
    props = {}
    for task in (t for t in T.tasks_of("every") if t.half in data.halves):
        row: dict[str, Any] = {
            "half": task.half,
            "family": task.family,
            "optimizer": task.optimizer,
        }
        grid = data.grids.get(task.name)
        if grid is not None:
            i = int(np.argmax(grid.mean))
            row.update(
                best_lr=grid.best_lr,
                best_score=grid.best,
                sensitivity=grid.sensitivity,
                best_on_edge=i in (0, len(grid.mean) - 1),
                grid_range=(float(grid.lrs[0]), float(grid.lrs[-1])),
            )
        curves = data.curves.get(task.name)
        if curves:
            fractions = [flat_fraction(c) for c in curves]
            row.update(
                loss_drop=float(np.median([loss_drop(c) for c in curves])),
                flat_fraction=float(np.median(fractions)),
                flat=bool(np.median(fractions) >= FLAT_FRACTION),
                stops=[c.stop_reason for c in curves],
                points=[int(c.lrs.size) for c in curves],
            )
        row["expect_flat"] = task.expect_flat
        props[task.name] = row
    return props


# ------------------------------------------------------------------ output
def _fmt(v: float, spec: str = ".3f") -> str:
    return "inf" if v == math.inf else ("nan" if v != v else format(v, spec))


HEADERS = (
    "rule",
    "mean rel.",
    "worst task",
    "worst seed",
    "within 3%",
    "mean spread",
    "max spread",
    "spread<0.5",
    "outside grid",
    "None",
    "warned",
)


def summary_row(name: str, s: dict) -> list[str]:
    return [
        name,
        _fmt(s["mean"]),
        f"{_fmt(s['worst'])} ({s['worst_task']})",
        _fmt(s["worst_seed"]),
        f"{s['within']}/{s['tasks']}",
        _fmt(s["mean_spread"], ".2f"),
        _fmt(s["max_spread"], ".2f"),
        f"{s['spread_ok']}/{s['tasks']}",
        str(s["outside"]),
        str(s["none"]),
        str(s["warned"]),
    ]


def summary_rows(scored: dict[str, dict], half: str) -> list[list[str]]:
    """One `summary_row` per rule that scored a task of `half`."""
    rows = []
    for name, per_task in scored.items():
        s = summarize(per_task, half)
        if s is not None:
            rows.append(summary_row(name, s))
    return rows


def md_table(headers: Any, rows: Any) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers: Any, rows: Any) -> str:
    rows = [list(map(str, r)) for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    out = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths))]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


def evaluate(data: Data, user_rules: list[tuple[str, Rule]]) -> dict[str, dict]:
    """rule name -> per-task scores."""
    scored: dict[str, dict] = {}
    for name, rule in user_rules:
        scored[name] = score_rule(rule, data)
    for name, (rule, on_keras2) in builtin_rules().items():
        scored[name] = score_rule(rule, data, keras2=on_keras2)
    return scored


def per_task_table(scored: dict[str, dict], half: str) -> tuple[list[str], list[list[str]]]:
    names = [t.name for t in T.tasks_of(half)]
    headers = ["rule", *names]
    rows = []
    for rule, per_task in scored.items():
        rows.append(
            [rule]
            + [
                f"{per_task[t]['mean']:.2f}/{per_task[t]['spread']:.1f}" if t in per_task else "-"
                for t in names
            ]
        )
    return headers, rows


def markdown(
    data: Data,
    scored: dict[str, dict],
    command: str,
    other: tuple[Data, dict[str, dict]] | None = None,
) -> str:
    import _common as C

    record = {"command": command, "machine": C.machine_info(), "quick": False}
    lines = C.report_header(record, "Quality of the suggested learning rate")
    n_curves = sum(len(v) for v in data.curves.values())
    seeds = sorted({len(v) for v in data.curves.values()})
    lines += [
        f"Curves: config `{data.config}` ({n_curves} curves over {len(data.curves)} tasks, "
        f"{'/'.join(map(str, seeds))} finder seeds each); grids: {len(data.grids)} tasks. Relative score: seed-mean grid "
        "score interpolated in log10(LR) / grid-best; a suggestion outside the grid scores the "
        "edge value (counted in 'outside grid'); a rule that returns None or raises a ValueError "
        "scores 0 ('None'); 'warned': suggestions that came with a warning (such as keras_lr's "
        "FallbackWarning). Spread: log10(max/min) of the "
        "suggested LRs over the seeds, in decades. Rules are chosen on **dev**; **test** judges.",
        "",
    ]
    for half in data.halves:
        rows = summary_rows(scored, half)
        lines += [f"### {half} half", "", md_table(HEADERS, rows), ""]
        headers, rows = per_task_table(scored, half)
        lines += [
            f"Per task ({half}): mean relative score / spread (decades).",
            "",
            md_table(headers, rows),
            "",
        ]
    if other is not None:
        other_data, other_scored = other
        lines += [
            f"### The same rules on the `{other_data.config}` curves "
            f"({sum(len(v) for v in other_data.curves.values())} curves; robustness to the ramp)",
            "",
        ]
        for half in other_data.halves:
            rows = summary_rows(other_scored, half)
            lines += [f"{half} half:", "", md_table(HEADERS, rows), ""]
    props = task_properties(data)
    lines += ["### Tasks", ""]
    rows = []
    for name, p in props.items():
        task = T.TASKS[name]
        rows.append(
            [
                name,
                p["half"],
                p["family"],
                task.optimizer,
                f"{task.epochs} x batch {task.batch_size}",
                _fmt(p.get("best_lr", math.nan), ".3g")
                + (" (edge!)" if p.get("best_on_edge") else ""),
                _fmt(p.get("best_score", math.nan), ".4f"),
                _fmt(p.get("sensitivity", math.nan), ".2f"),
                _fmt(p.get("flat_fraction", math.nan), ".2f"),
                _fmt(p.get("loss_drop", math.nan), ".2f"),
                "yes" if p.get("flat") else "no",
                ", ".join(sorted({str(s) for s in p.get("stops", [])})),
            ]
        )
    lines += [
        md_table(
            (
                "task",
                "half",
                "family",
                "optimizer",
                "budget",
                "grid-best LR",
                "grid-best score",
                "best/median",
                "flat fraction",
                "drop",
                "flat",
                "stop reasons",
            ),
            rows,
        ),
        "",
        f"LR-sensitive tasks (best/median >= 1.2): "
        f"{sum(p.get('sensitivity', 0) >= 1.2 for p in props.values())}; flat tasks: "
        f"{sum(bool(p.get('flat')) for p in props.values())} ("
        + ", ".join(
            f"{half} {sum(bool(p.get('flat')) for p in props.values() if p['half'] == half)}"
            for half in data.halves
        )
        + ").",
        "",
        f"Flat fraction: median over the seeds of the share of the recorded default-config "
        "points before the smoothed loss made half of its total fall (start: the median of its "
        "first 30% of points; minimum: after the first 10 points; 1.0 when it never fell "
        f"{FLAT_DROP:.0%} below the start); 'flat' when "
        f">= {FLAT_FRACTION}. Drop: median of (start - min) / start. best/median: grid-best / "
        "median of the grid's seed-mean scores (LR-sensitive when >= 1.2).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rule", action="append", default=[], help="module:function")
    parser.add_argument("--curves", default="default", help="default or steps300")
    parser.add_argument("--per-task", action="store_true")
    parser.add_argument(
        "--half",
        default="both",
        choices=("both", "all", "every", *T.GROUPS),
        help="print only one half (dev while choosing a rule; the markdown has dev and test); "
        "the held-out half is loaded, printed and written only with 'holdout' or 'all'; "
        "the fresh groups (clean tests of later rules) only by their names",
    )
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the scores as JSON")
    parser.add_argument("--root", type=Path, default=SQ, help="the cache folder")
    args = parser.parse_args(argv)
    user_rules = [load_rule(spec) for spec in args.rule]
    # The held-out tasks are not even loaded unless asked for.
    load_half = {"holdout": "all", "all": "all"}.get(args.half, args.half)
    load_half = None if load_half in ("dev", "test", "both") else load_half
    data = load_all(args.curves, args.root, half=load_half)
    n_curves = sum(len(v) for v in data.curves.values())
    print(
        f"{n_curves} '{args.curves}' curves ({len(data.curves)} tasks) and "
        f"{sum(len(v) for v in data.keras2.values())} Keras 2 recipe curves from "
        f"{args.root / 'curves'}; {len(data.grids)} grids from {args.root / 'grid'}"
    )
    if not data.grids:
        print("no grid cached yet: run `python benchmarks/suggestion_quality.py grid`")
        return {}
    scored = evaluate(data, user_rules)
    shown_halves = {"both": T.HALVES, "all": T.ALL_HALVES, "every": T.GROUPS}.get(
        args.half, (args.half,)
    )
    for half in shown_halves:
        rows = summary_rows(scored, half)
        if rows:
            print(f"\n== {half} ==")
            print(text_table(HEADERS, rows))
            if args.per_task or user_rules:
                shown = scored if args.per_task else {n: scored[n] for n, _ in user_rules}
                print(f"\nper task ({half}): mean relative / spread")
                print(text_table(*per_task_table(shown, half)))
    if args.markdown is not None:
        command = "python benchmarks/rescore.py " + " ".join(
            a if " " not in a else repr(a) for a in (argv if argv is not None else sys.argv[1:])
        )
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        other = None
        other_config = {"default": "steps300", "steps300": "default"}.get(args.curves)
        if other_config is not None:
            other_data = load_all(other_config, args.root, half=load_half)
            if other_data.curves:
                other = (other_data, evaluate(other_data, user_rules))
        text = markdown(data, scored, command.strip(), other)
        args.markdown.write_text(text + "\n", encoding="utf-8")
        print(f"\nwrote {args.markdown}")
    if args.json is not None:
        record = {
            "curves": args.curves,
            "summary": {
                name: {half: summarize(per_task, half) for half in data.halves}
                for name, per_task in scored.items()
            },
            "tasks": task_properties(data),
            "per_task": scored,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return scored


if __name__ == "__main__":
    main()
