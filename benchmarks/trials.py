"""Do short LR trials after the range test (`LRFinder.confirm`) pick an LR that trains well?

The protocol of `suggestion_quality.py` (read its docstring and `sq_tasks.py`'s):
the same tasks, groups and cached LR grids (`results/sq/grid/`). For each task
and seed, on JAX, single-threaded:

1. a fresh model of the seed (`sq_tasks.build_model`), compiled with the
   optimizer's Keras default LR (1e-3 for Adam, AdamW, RMSprop; 1e-2 for SGD);
2. the default range test, `LRFinder(verbose=0).find(model, x_train, y_train,
   batch_size=<task's>)` (timed: the cost unit);
3. `finder.confirm(model, x_train, y_train, batch_size=..., budget=MAX x 100,
   seed=seed, verbose=0)`: the real trials (one run per candidate at the
   largest budget; the held-out loss is measured every 100 steps, so the
   nested budgets 1x, 2x, 5x, 10x ... one range test are scored from the
   same runs). Scoring: the held-out fifth of the training split (array
   inputs without `val_data`, the library's default); the training loss at
   the end (what other input kinds get) is scored from the same runs.

Cached per task under `results/sq/<cache>/<task>.json` (by seed; `--force`
recomputes; `--cache` names the folder, `trials` by default, `trials_wide`
with `--wide`, which tries candidates further out than the library's). The
`report` stage picks, from the cached runs, the candidates that the library's
own `candidates()` gives for each variant (budget, scoring, candidate range),
judges them with the library's `TrialsResult`, and scores the chosen LR on the
task's cached grid (relative score interpolated in log10(LR), as `rescore.py`),
next to the range test's own suggestion (no trials) and the optimizer's
default LR: mean, worst task, tasks within 3% of grid-best, spread of the
chosen LR over the seeds (decades), reliable-but-below-0.9 and
below-the-default-by-3% counts, and the cost as a ratio to one range test
(steps, and wall time).

    python benchmarks/trials.py run --wide --tasks <names> --seeds 2 --max-budget 10
    python benchmarks/trials.py report --wide --tasks seen
    python benchmarks/trials.py run --tasks trials2 --seeds 5 --max-budget 10
    python benchmarks/trials.py report --tasks trials2
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _common as C  # noqa: E402
import sq_tasks as T  # noqa: E402

SQ = C.RESULTS / "sq"
TRIALS_DIR = SQ / "trials"
WIDE = False
JAX_CACHE = Path(tempfile.gettempdir()) / "keras_lr_sq_jax_cache"
RANGE_TEST_STEPS = 100
DEFAULT_LRS = T.DEFAULT_LRS
BUDGETS = (1, 2, 3, 4, 5, 7, 10, 20)
OPTIMIZER_ROW = "optimizer's default LR"
#: Candidate ranges compared with the library's (decades around a fallback / a suggestion).
FALLBACK_VARIANTS = ((-1.0, 0.5), (-1.0, 0.0), (-1.5, 0.0), (-2.0, 0.0), (-0.5, 0.0), (-1.5, 0.5))
AROUND_VARIANTS = ((-1.0, 0.5), (-0.5, 1.0), (-1.0, 1.0))
WITHIN = 0.97
#: `--wide`: candidates further out (decades around a suggestion; around a fallback), so that
#: rules that search beyond the default candidates can be scored offline.
WIDE_AROUND, WIDE_FALLBACK = (-1.5, 1.5), (-2.0, 1.0)


def _round(values: Any, digits: int = 6) -> list:
    return [float(f"{float(v):.{digits}g}") if math.isfinite(float(v)) else None for v in values]


# ------------------------------------------------------------------ run
def run_task(task: T.Task, seed: int, max_budget: int) -> dict:
    import keras

    from keras_lr import LRFinder
    from keras_lr.callbacks import trials as trials_module
    from keras_lr.core import trials as core_trials

    if WIDE:
        core_trials.AROUND_DECADES, core_trials.FALLBACK_DECADES = WIDE_AROUND, WIDE_FALLBACK

    split = T.load(task)
    default_lr = DEFAULT_LRS[task.optimizer]
    model = T.build_model(task, split, seed, lr=default_lr)
    keras.utils.set_random_seed(seed)
    finder = LRFinder(verbose=0)
    started = time.perf_counter()
    finder.find(model, split.x_train, split.y_train, batch_size=task.batch_size)
    range_test_wall = time.perf_counter() - started
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            suggestion: float | None = float(finder.suggestion())
        except ValueError:
            suggestion = None
    fallback = any("FallbackWarning" in type(w.message).__name__ for w in caught)
    trials_module.CHECKPOINTS = max_budget  # a held-out score every range test's steps
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = finder.confirm(
            model,
            split.x_train,
            split.y_train,
            batch_size=task.batch_size,
            budget=max_budget * RANGE_TEST_STEPS,
            seed=seed,
            verbose=0,
        )
    trials_wall = time.perf_counter() - started
    return {
        "suggestion": suggestion,
        "fallback": fallback,
        "range_test_reliable": bool(finder.reliable) if suggestion is not None else False,
        "optimizer_lr": default_lr,
        "range_test_wall_s": round(range_test_wall, 3),
        "trials_wall_s": round(trials_wall, 3),
        "max_budget": max_budget,
        "start": None
        if result.start is None
        else {
            "score": result.start.score,
            "parts": _round(result.start.score_parts),
            "weights": result.start.score_weights,
        },
        "trials": [
            {
                "lr": t.lr,
                "source": t.source,
                "diverged": t.diverged,
                "steps_run": (t.steps[-1] + 1) if t.steps else 0,
                "raw_losses": _round(t.raw_losses),
                "eval_steps": t.eval_steps,
                "eval_losses": _round(t.eval_losses),
                "eval_errors": _round(t.eval_errors),
                "eval_parts": [_round(p) for p in t.eval_parts],
                "weights": t.score_weights,
                "wall_s": round(t.wall_s, 3),
            }
            for t in result.trials
        ],
    }


def stage_run(args: argparse.Namespace) -> None:
    TRIALS_DIR.mkdir(parents=True, exist_ok=True)
    for task in _tasks(args.tasks):
        path = TRIALS_DIR / f"{task.name}.json"
        record = json.loads(path.read_text()) if path.exists() and not args.force else {}
        seeds = record.setdefault("seeds", {})
        for seed in range(args.seeds):
            key = str(seed)
            if key in seeds and seeds[key]["max_budget"] >= args.max_budget:
                continue
            seeds[key] = run_task(task, seed, args.max_budget)
            record["task"] = task.name
            record["half"] = task.half
            C.write_json(path, record)
            entry = seeds[key]
            print(
                f"{task.name} seed {seed}: suggestion {entry['suggestion']}, "
                f"{len(entry['trials'])} candidates, range test {entry['range_test_wall_s']} s, "
                f"trials {entry['trials_wall_s']} s",
                flush=True,
            )


_GROUP_ARGS = ("both", "all", "every", "seen", *T.GROUPS)


def _named(text: str) -> list[T.Task]:
    return [T.TASKS[n.strip()] for n in text.split(",") if n.strip()]


def _tasks(text: str) -> list[T.Task]:
    """A group name, "seen" (every group but trials2, the fresh one: development), or names."""
    if text == "seen":
        return [t for t in T.tasks_of("every") if t.half != T.TRIALS2]
    return T.tasks_of(text) if text in _GROUP_ARGS else _named(text)


# ------------------------------------------------------------------ scoring
def _score_at(trial: dict, budget: int, scoring: str) -> tuple[float, list[float]]:
    """(score, per-part values for the paired noise) of a trial at `budget` range tests."""
    step = budget * RANGE_TEST_STEPS - 1
    if scoring == "holdout":
        if step not in trial["eval_steps"]:
            return math.inf, []
        k = trial["eval_steps"].index(step)
        value = trial["eval_losses"][k]
        return (math.inf, []) if value is None else (value, trial["eval_parts"][k])
    raw = trial["raw_losses"][: step + 1]
    if len(raw) < step + 1 or any(v is None for v in raw):
        return math.inf, []
    tail = raw[-max(1, len(raw) // 10) :]
    return float(np.mean(tail)), tail


def kept(entry: dict, policy: Policy) -> list[dict] | None:
    """The cached trials of the candidates `policy` gives (the library's `candidates()`).

    None when the run did not train one of them (a narrower run than the policy).
    """
    from keras_lr.core.trials import candidates

    wanted = candidates(
        entry["suggestion"],
        entry["optimizer_lr"],
        fallback=entry["fallback"],
        spacing=policy.spacing,
        around=policy.fallback if entry["fallback"] else policy.around,
    )
    out = []
    for lr, _ in wanted:
        match = [t for t in entry["trials"] if abs(math.log10(t["lr"] / lr)) < 1e-6]
        if not match:
            return None
        out.append(match[0])
    return out


def choose(entry: dict, policy: Policy) -> tuple[float, bool] | None:
    """(chosen LR, reliable) under `policy`, judged by the library's `TrialsResult`."""
    from keras_lr.core.trials import Trial, TrialsResult

    chosen = kept(entry, policy)
    if chosen is None:
        return None
    trials = []
    for t in chosen:
        score, parts = _score_at(t, policy.budget, policy.scoring)
        weights = t["weights"] if policy.scoring == "holdout" else [1.0] * len(parts)
        trials.append(
            Trial(
                lr=t["lr"],
                source=t["source"],
                score=score,
                diverged=not math.isfinite(score),
                score_parts=list(parts),
                score_weights=list(weights),
                steps=[0],
            )
        )
    start = entry.get("start")  # the untrained held-out loss (runs since it was recorded)
    result = TrialsResult(
        trials,
        scoring=policy.scoring,
        budget=policy.budget * RANGE_TEST_STEPS,
        range_test_steps=RANGE_TEST_STEPS,
        suggestion=entry["suggestion"],
        optimizer_lr=entry["optimizer_lr"],
        start=None
        if start is None or policy.scoring != "holdout"
        else Trial(
            lr=0.0,
            source="start",
            score=start["score"],
            score_parts=start["parts"],
            score_weights=start["weights"],
        ),
    )
    return result.best_lr, result.reliable


def _cost(entry: dict, policy: Policy) -> tuple[float, float]:
    """(steps / range test steps, wall / range test wall) of the trials of `policy`."""
    steps, wall = 0.0, 0.0
    for t in kept(entry, policy) or []:
        ran = min(t["steps_run"], policy.budget * RANGE_TEST_STEPS)
        steps += ran
        wall += t["wall_s"] * ran / max(t["steps_run"], 1)
    return steps / RANGE_TEST_STEPS, wall / entry["range_test_wall_s"]


@dataclass(frozen=True)
class Policy:
    """A way to run the trials: budget (range tests), scoring, spacing, candidate ranges."""

    budget: int
    scoring: str = "holdout"
    spacing: float = 0.5
    around: tuple[float, float] | None = None  # None: the library's AROUND_DECADES
    fallback: tuple[float, float] | None = None  # None: the library's FALLBACK_DECADES

    @property
    def name(self) -> str:
        parts = [f"trials {self.budget}x"]
        if self.scoring != "holdout":
            parts.append(f"scored on the {self.scoring} loss")
        if self.around is not None:
            parts.append(f"around {self.around[0]:+g}..{self.around[1]:+g} dec")
        if self.fallback is not None:
            parts.append(f"fallback {self.fallback[0]:+g}..{self.fallback[1]:+g} dec")
        return ", ".join(parts)


def _grids(tasks: list[T.Task]) -> dict[str, Any]:
    import rescore

    grids = {}
    for task in tasks:
        path = SQ / "grid" / f"{task.name}.json"
        if path.exists():
            g = json.loads(path.read_text())
            grids[task.name] = rescore.Grid(
                lrs=np.asarray(g["lrs"]),
                mean=np.asarray(g["mean"]),
                best=float(g["best_score"]),
                best_lr=float(g["best_lr"]),
                raw=g,
            )
    return grids


def _default_budget() -> int:
    from keras_lr.callbacks.trials import DEFAULT_BUDGET

    return DEFAULT_BUDGET


def _policies(max_budget: int) -> list[Policy]:
    """The default and the variants the report compares (budgets, scoring, candidate ranges)."""
    default = _default_budget()
    budgets = [b for b in BUDGETS if b <= max_budget]
    out = [Policy(b) for b in budgets]
    out += [Policy(default, scoring="train")]
    out += [Policy(default, fallback=f) for f in FALLBACK_VARIANTS]
    out += [Policy(default, around=a) for a in AROUND_VARIANTS]
    return out


def stage_report(args: argparse.Namespace) -> dict:
    tasks = _tasks(args.tasks)
    grids = _grids(tasks)
    records = {}
    for task in tasks:
        path = TRIALS_DIR / f"{task.name}.json"
        if path.exists() and task.name in grids:
            records[task.name] = json.loads(path.read_text())
    max_budget = min(
        (e["max_budget"] for r in records.values() for e in r["seeds"].values()), default=0
    )
    variants: list[tuple[str, Policy | None]] = [
        ("no trials (range test)", None),
        (OPTIMIZER_ROW, None),
    ]
    variants += [(p.name, p) for p in _policies(max_budget)]
    rows: dict[str, dict[str, dict]] = {name: {} for name, _ in variants}
    fell_back: dict[str, bool] = {}
    for task_name, record in records.items():
        grid = grids[task_name]
        entries = list(record["seeds"].values())
        fell_back[task_name] = sum(e["fallback"] for e in entries) * 2 > len(entries)
        for name, policy in variants:
            lrs, rel, reliable_bad, below_default, costs = [], [], 0, 0, []
            for entry in entries:
                default_rel = grid.relative(entry["optimizer_lr"])[0]
                if policy is None and name.startswith("no trials"):
                    lr, reliable = entry["suggestion"], entry["range_test_reliable"]
                elif policy is None:
                    lr, reliable = entry["optimizer_lr"], False
                else:
                    picked = choose(entry, policy)
                    if picked is None:
                        break  # this run did not train the policy's candidates
                    lr, reliable = picked
                    costs.append(_cost(entry, policy))
                r = grid.relative(lr)[0] if lr is not None else 0.0
                lrs.append(lr)
                rel.append(r)
                reliable_bad += int(reliable and r < 0.9)
                below_default += int(r < default_rel - 0.03)
            else:
                known = [v for v in lrs if v]
                rows[name][task_name] = {
                    "lrs": lrs,
                    "relative": rel,
                    "mean": float(np.mean(rel)),
                    "seeds": len(rel),
                    "spread": float(np.log10(max(known) / min(known))) if known else math.nan,
                    "reliable_below_0.9": reliable_bad,
                    "below_default": below_default,
                    "cost_steps": float(np.mean([c[0] for c in costs])) if costs else 0.0,
                    "cost_steps_max": float(np.max([c[0] for c in costs])) if costs else 0.0,
                    "cost_wall": float(np.mean([c[1] for c in costs])) if costs else 0.0,
                }
    flat17 = _flat_tasks()
    sets = {
        "all": lambda t: True,
        "the 17 flat (development)": lambda t: t in flat17,
        "not flat": lambda t: t not in flat17,
        "range test fell back on most seeds": lambda t: fell_back[t],
        "range test fell on most seeds": lambda t: not fell_back[t],
    }
    lines = [
        "| tasks | variant | n | mean | worst (task) | within 3% | max spread (dec) | "
        "reliable < 0.9 | < default - 3% | cost (range tests: steps mean / max / wall) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    summary: dict[str, dict] = {}
    for label, member in sets.items():
        for name, _ in variants:
            per = {t: v for t, v in rows[name].items() if member(t)}
            everyone = [t for t in records if member(t)]
            if not per or len(per) < len(everyone):
                continue  # these runs did not train that variant's candidates on every task
            means = {t: v["mean"] for t, v in per.items()}
            worst = min(means, key=means.get)
            s = {
                "tasks": len(per),
                "seeds": sorted({v["seeds"] for v in per.values()}),
                "mean": float(np.mean(list(means.values()))),
                "worst": means[worst],
                "worst_task": worst,
                "within": sum(v >= WITHIN for v in means.values()),
                "max_spread": max(v["spread"] for v in per.values()),
                "spread_under_0.5": sum(v["spread"] < 0.5 for v in per.values()),
                "reliable_below_0.9": sum(v["reliable_below_0.9"] for v in per.values()),
                "below_default": sum(v["below_default"] for v in per.values()),
                "cost_steps": float(np.mean([v["cost_steps"] for v in per.values()])),
                "cost_steps_max": float(np.max([v["cost_steps_max"] for v in per.values()])),
                "cost_wall": float(np.mean([v["cost_wall"] for v in per.values()])),
            }
            summary[f"{label}|{name}"] = s
            cost = (
                f"{s['cost_steps']:.1f} / {s['cost_steps_max']:.0f} / {s['cost_wall']:.1f}"
                if s["cost_steps"]
                else "-"
            )
            lines.append(
                f"| {label} | {name} | {s['tasks']} | {s['mean']:.3f} | {s['worst']:.3f} "
                f"({worst}) | {s['within']}/{s['tasks']} | {s['max_spread']:.2f} | "
                f"{s['reliable_below_0.9']} | {s['below_default']} | {cost} |"
            )
    chosen = Policy(_default_budget()).name
    lines += [
        "",
        f"Per task, the library's default ({chosen}): relative score of the range test's "
        "suggestion / the trials' choice / the optimizer's default LR (seed mean), the "
        "trials' LRs, the cost in range tests (steps).",
        "",
        "| task | group | range test | trials | optimizer default | trials' LRs | cost |",
        "|---|---|---|---|---|---|---|",
    ]
    for task_name in records:
        row = rows[chosen].get(task_name)
        if row is None:
            continue
        lines.append(
            f"| {task_name} | {T.TASKS[task_name].half} | "
            f"{rows['no trials (range test)'][task_name]['mean']:.3f} | {row['mean']:.3f} | "
            f"{rows[OPTIMIZER_ROW][task_name]['mean']:.3f} | "
            + ", ".join(f"{v:.3g}" for v in row["lrs"])
            + f" | {row['cost_steps']:.0f} |"
        )
    text = "\n".join(lines)
    print(text)
    out = {"summary": summary, "per_task": rows, "markdown": text, "machine": C.machine_info()}
    label = args.tasks if len(args.tasks) < 40 else "custom"
    C.write_json(SQ / f"trials_report_{TRIALS_DIR.name}_{label}.json", out)
    return out


def _flat_tasks() -> set[str]:
    """The 17 development tasks whose default range test falls back on 3 or more of its 5 seeds.

    (BENCHMARKS.md's "17 tasks whose 100-step tests mostly stay flat": the
    default rule's `FallbackWarning`, on the cached curves.)
    """
    import rescore

    from keras_lr import suggest

    data = rescore.load_all("default", half="every")
    rule = rescore.keras_lr_method("robust")
    flat = set()
    for name, curves in data.curves.items():
        if T.TASKS[name].half in (T.TRIALS, T.TRIALS2):
            continue  # the 17 are of the 60 tasks of the suggestion benchmark
        fell_back = 0
        for curve in curves:
            caught: list = []
            rescore.safe_rule(rule, curve, caught)
            fell_back += any(issubclass(w.category, suggest.FallbackWarning) for w in caught)
        if fell_back >= 3:
            flat.add(name)
    return flat


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stage", choices=("run", "report"))
    parser.add_argument("--tasks", default="both")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--max-budget", type=int, default=10)
    parser.add_argument("--force", action="store_true")
    parser.add_argument(
        "--wide",
        action="store_true",
        help="candidates further out (WIDE_AROUND, WIDE_FALLBACK), cached in results/sq/trials_wide",
    )
    parser.add_argument(
        "--cache",
        default=None,
        help="the cache folder under results/sq (default: trials, or trials_wide with --wide)",
    )
    args = parser.parse_args(argv)
    global TRIALS_DIR, WIDE
    WIDE = args.wide
    TRIALS_DIR = SQ / (args.cache or ("trials_wide" if WIDE else "trials"))
    if args.stage == "run":
        for var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
            os.environ.setdefault(var, "1")
        os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(JAX_CACHE))
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
        C.use_backend("jax")
        stage_run(args)
    else:
        stage_report(args)


if __name__ == "__main__":
    main()
