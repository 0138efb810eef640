"""Does the suggested learning rate train well? (issue #5, item 3)

Five offline tasks (sklearn's bundled datasets; fixed train/validation split,
`train_test_split(random_state=0)`, 25% validation): classification and
regression, Adam and SGD with momentum 0.9, one model with BatchNorm. Each
task has a fixed budget (epochs, batch size) used by every training run.

- Ground truth: train at a log-spaced grid of LRs (1e-4..1 for Adam, 1e-3..10
  for SGD, `--grid-points` points) with `--grid-seeds` seeds each; the score
  is the best validation accuracy (classification) or R^2 floored at 0
  (regression) over the epochs (as with early stopping: a fixed budget
  otherwise rewards whatever LR under-trains enough not to overfit these small
  data sets), averaged over seeds. The grid's best mean score is the reference.
- Candidates: for each of `--finder-seeds` seeds (`keras.utils.set_random_seed`:
  a different init and shuffle), run `LRFinder(start_lr=1e-6, end_lr=10,
  num_steps=200)` and take `suggestion(method)` for every method of
  `keras_lr.suggest.METHODS` ("consensus", the default, "valley", the previous
  default, "steepest" and "minimum"); and the Keras 2 baseline: the classic callback
  recipe that sets the LR per batch along the same exponential ramp, records
  `logs["loss"]` (in Keras 3 the running mean of the epoch so far), stops at
  NaN or 4x the best loss, and picks the LR at the minimum of the SMA
  derivative `(loss[i] - loss[i - 10]) / 10`, skipping the first 10 and last 5
  points. Each suggestion is trained with the same seed on the same budget.
- The finder's options (issue #6): the same methods read from a range test
  with `num_runs=3` (three runs with their own data order and seeds, curves
  averaged; `reliable` flag recorded), and from the validation curve of
  `find(val_data=..., val_every=5)`, where the finder trains on 80% of the
  training split and scores the other 20% (never the benchmark's validation
  split) every 5 steps on at most 5 batches.
- Relative score = score / grid-best (for R^2 too); "within 3%" means a mean
  relative score >= 0.97. Spread = max - min of log10(suggested LR) over seeds.

Bar, for the default method (and reported for the previous default too):
within 3% of the grid-best on every task, a higher mean relative score than the
Keras 2 baseline, and a spread < 0.5 decades on every task.

Every training run reuses one compiled model per task (weights reset to the
seed's initial weights, optimizer state zeroed, LR assigned), so it is not
recompiled; each range test runs on a fresh model built from its seed.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import _common as C
import numpy as np

# keras_lr.suggest's METHODS and DEFAULT_METHOD, written out here because
# importing keras_lr imports Keras, which must wait until the backend is chosen.
METHODS = ("consensus", "valley", "steepest", "minimum")
DEFAULT_METHOD = "consensus"
PREVIOUS_DEFAULT = "valley"  # the default before this benchmark (fastai's rule)
BASELINE = "Keras 2 recipe (logs['loss'], SMA 10)"
RUNS, VAL_EVERY, VAL_FRACTION = 3, 5, 0.2
RUNS_SUFFIX, VAL_SUFFIX = f" ({RUNS} runs)", f" (val curve, every {VAL_EVERY})"
VARIANTS = {"": {}, RUNS_SUFFIX: {"num_runs": RUNS}, VAL_SUFFIX: {"val": True}}
CANDIDATES = (*(m + suffix for suffix in VARIANTS for m in METHODS), BASELINE)
WITHIN = 0.97
TIE = 0.005
BAR_SPREAD = 0.5
START_LR, END_LR = 1e-6, 10.0
SMA, SKIP_START, SKIP_END = 10, 10, 5
GRID_DECADES = {"adam": (-4, 0), "sgd": (-3, 1)}


@dataclass(frozen=True)
class Task:
    name: str
    data: str  # a `_common.load_split` dataset
    model: str  # "mlp" or "cnn"
    optimizer: str  # "adam" or "sgd" (momentum 0.9)
    epochs: int
    batch_size: int


TASKS = {
    task.name: task
    for task in (
        Task("digits-mlp-adam", "digits", "mlp", "adam", 15, 32),
        Task("digits-cnn-bn-sgdm", "digits_images", "cnn", "sgd", 15, 32),
        Task("breast-cancer-mlp-adam", "breast_cancer", "mlp", "adam", 20, 32),
        Task("wine-mlp-sgdm", "wine", "mlp", "sgd", 30, 16),
        Task("diabetes-mlp-adam", "diabetes", "mlp", "adam", 30, 32),
    )
}
QUICK_TASKS = "digits-mlp-adam,diabetes-mlp-adam"


# ------------------------------------------------------------------ the Keras 2 baseline
def keras2_range_test(num_steps: int) -> Any:
    """The Keras 2 range-test callback recipe, run unchanged on Keras 3."""
    import keras

    class Keras2RangeTest(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.lrs: list[float] = []
            self.losses: list[float] = []
            self.best = math.inf

        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            self.lr = START_LR * (END_LR / START_LR) ** (len(self.lrs) / (num_steps - 1))
            self.model.optimizer.learning_rate = self.lr

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            loss = float(logs["loss"])  # Keras 3: the mean since the epoch started
            self.lrs.append(self.lr)
            self.losses.append(loss)
            if math.isnan(loss) or loss > 4 * self.best or len(self.lrs) >= num_steps:
                self.model.stop_training = True
            self.best = min(self.best, loss)

    return Keras2RangeTest()


def keras2_suggestion(lrs: list[float], losses: list[float]) -> float:
    """The LR at the most negative SMA derivative, skipping the first 10 and last 5 points."""
    lrs_, losses_ = np.asarray(lrs), np.asarray(losses)
    derivatives = np.zeros_like(losses_)
    derivatives[SMA:] = (losses_[SMA:] - losses_[:-SMA]) / SMA
    window = slice(SKIP_START, -SKIP_END) if len(lrs_) > SKIP_START + SKIP_END else slice(None)
    return float(lrs_[window][int(np.argmin(derivatives[window]))])


# ------------------------------------------------------------------ one task
class TaskRun:
    """A task's data, its reusable compiled training model, and its runs."""

    def __init__(self, task: Task, args: Any) -> None:
        self.task = task
        self.split = C.load_split(task.data)
        self.epochs = min(task.epochs, args.max_epochs) if args.max_epochs else task.epochs
        self.steps_per_epoch = C.ceil_div(len(self.split.x_train), task.batch_size)
        self.model = self.fresh(0)
        # One discarded fit: the first fit of a model draws its shuffle slightly
        # differently from later ones; after it, every run is reproducible.
        self.model.fit(
            self.split.x_train, self.split.y_train, batch_size=task.batch_size, verbose=0
        )
        self._initial_weights: dict[int, list] = {}
        self._scores: dict[tuple[int, float], float] = {}

    def describe(self) -> str:
        s, t = self.split, self.task
        score = "accuracy" if s.kind == "classification" else "R^2 (floored at 0)"
        score = f"best {score} over the epochs"
        optimizer = "Adam" if t.optimizer == "adam" else "SGD(momentum=0.9)"
        model = "MLP 64-64" if t.model == "mlp" else "CNN conv16-BN-conv32-BN-pool"
        return (
            f"{t.data}: {len(s.x_train)} train / {len(s.x_val)} validation, {model}, "
            f"{optimizer}, {self.epochs} epochs of batch {t.batch_size} "
            f"({self.steps_per_epoch} steps/epoch); score: validation {score}"
        )

    def fresh(self, seed: int) -> Any:
        """A new compiled model, initialized from `seed`."""
        s = self.split
        outputs = s.classes or 1
        if self.task.model == "cnn":
            build = partial(C.small_cnn, s.x_train.shape[1:], outputs)
        else:
            build = partial(C.mlp, s.x_train.shape[1:], outputs)
        return C.compiled(build, seed=seed, optimizer=self.task.optimizer, kind=s.kind)

    def _reset(self, seed: int, lr: float) -> None:
        import keras

        if seed not in self._initial_weights:
            self._initial_weights[seed] = self.fresh(seed).get_weights()
        self.model.set_weights(self._initial_weights[seed])
        for variable in self.model.optimizer.variables:
            variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
        self.model.optimizer.learning_rate = lr
        keras.utils.set_random_seed(seed)  # the shuffling

    def train(self, seed: int, lr: float) -> float:
        """The best validation score over the epochs of training at `lr` from `seed` (cached).

        The best epoch, as with early stopping: on these small data sets a
        fixed budget otherwise rewards whatever LR under-trains enough not to
        overfit, which no range test measures.
        """
        import keras

        key = (seed, float(lr))
        if key not in self._scores:
            self._reset(seed, lr)
            s = self.split
            scores: list[float] = []
            track = keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: scores.append(self.score())
            )
            self.model.fit(
                s.x_train,
                s.y_train,
                batch_size=self.task.batch_size,
                epochs=self.epochs,
                verbose=0,
                callbacks=[track],
            )
            self._scores[key] = max(scores)
        return self._scores[key]

    def score(self) -> float:
        from keras import ops

        s = self.split
        prediction = np.asarray(ops.convert_to_numpy(self.model(s.x_val, training=False)))
        if not np.all(np.isfinite(prediction)):
            return 0.0  # diverged
        if s.kind == "classification":
            return float(np.mean(np.argmax(prediction, axis=-1) == s.y_val))
        residual = np.sum((s.y_val - prediction[:, 0]) ** 2)
        return max(0.0, float(1.0 - residual / np.sum((s.y_val - s.y_val.mean()) ** 2)))

    def suggestions(self, seed: int, num_steps: int) -> tuple[dict[str, float | None], dict]:
        """Each candidate's LR from range tests seeded with `seed`, and the finders' flags."""
        from keras_lr import LRFinder

        lrs: dict[str, float | None] = {}
        flags: dict = {}
        s = self.split
        for suffix, options in VARIANTS.items():
            finder = LRFinder(START_LR, END_LR, num_steps, num_runs=options.get("num_runs", 1), seed=seed, verbose=0)
            model = self.fresh(seed)
            curve = "train"
            if options.get("val"):
                cut = int(round(len(s.x_train) * (1 - VAL_FRACTION)))
                finder.find(
                    model,
                    s.x_train[:cut],
                    s.y_train[:cut],
                    batch_size=self.task.batch_size,
                    val_data=(s.x_train[cut:], s.y_train[cut:]),
                    val_every=VAL_EVERY,
                )
                curve = "val"
            else:
                finder.find(model, s.x_train, s.y_train, batch_size=self.task.batch_size)
            for method in METHODS:
                try:
                    lrs[method + suffix] = finder.suggestion(method, curve=curve)
                except ValueError:
                    lrs[method + suffix] = None
            if options.get("num_runs", 1) > 1:
                flags = {"spread": finder.spread, "reliable": finder.reliable}
        self._reset(seed, START_LR)
        recipe = keras2_range_test(num_steps)
        self.model.fit(
            s.x_train,
            s.y_train,
            batch_size=self.task.batch_size,
            epochs=C.ceil_div(num_steps, self.steps_per_epoch),
            verbose=0,
            callbacks=[recipe],
        )
        lrs[BASELINE] = keras2_suggestion(recipe.lrs, recipe.losses)
        return lrs, flags


def evaluate_task(task: Task, args: Any) -> dict:
    started = time.perf_counter()
    run = TaskRun(task, args)
    print(f"\n{task.name}: {run.describe()}", flush=True)
    low, high = GRID_DECADES[task.optimizer]
    grid_lrs = np.logspace(low, high, args.grid_points)
    grid = [[run.train(seed, lr) for seed in range(args.grid_seeds)] for lr in grid_lrs]
    means = [statistics.mean(scores) for scores in grid]
    best = max(means)
    print(f"  grid best {best:.4f} at lr={grid_lrs[int(np.argmax(means))]:.3g}", flush=True)

    picks: dict[str, dict[str, list]] = {c: {"lr": [], "score": []} for c in CANDIDATES}
    flags: list[dict] = []
    for seed in range(args.finder_seeds):
        suggested, seed_flags = run.suggestions(seed, args.finder_steps)
        flags.append(seed_flags)
        for candidate, lr in suggested.items():
            picks[candidate]["lr"].append(lr)
            picks[candidate]["score"].append(0.0 if lr is None else run.train(seed, lr))
        print(
            f"  seed {seed}: "
            + ", ".join(
                f"{'keras2' if c == BASELINE else c} lr={p['lr'][-1] or float('nan'):.3g} "
                f"score={p['score'][-1]:.4f}"
                for c, p in picks.items()
            ),
            flush=True,
        )
    return {
        "description": run.describe(),
        "settings": {**task.__dict__, "epochs": run.epochs, "steps_per_epoch": run.steps_per_epoch},
        "grid": {
            "lrs": grid_lrs.tolist(),
            "scores": grid,
            "mean": means,
            "best_lr": float(grid_lrs[int(np.argmax(means))]),
            "best_score": best,
        },
        "candidates": {c: summarize_candidate(p, best) for c, p in picks.items()},
        "runs_flags": flags,
        "wall_s": round(time.perf_counter() - started, 1),
    }


def summarize_candidate(pick: dict[str, list], best: float) -> dict:
    lrs = [lr for lr in pick["lr"] if lr is not None]
    relative = [score / best if best > 0 else math.nan for score in pick["score"]]
    logs = np.log10(lrs) if lrs else np.array([math.nan])
    return {
        "lrs": pick["lr"],
        "scores": pick["score"],
        "relative": relative,
        "mean_score": statistics.mean(pick["score"]),
        "mean_relative": statistics.mean(relative),
        "worst_relative": min(relative),
        "within": statistics.mean(relative) >= WITHIN,
        "spread_decades": float(logs.max() - logs.min()),
        "geomean_lr": float(10 ** logs.mean()),
        "failed": len(pick["lr"]) - len(lrs),
    }


def summarize(tasks: dict[str, dict]) -> dict:
    """Per candidate, across tasks; and the bar for the default method."""
    summary = {}
    for candidate in CANDIDATES:
        rows = {name: result["candidates"][candidate] for name, result in tasks.items()}
        worst = min(rows, key=lambda name: rows[name]["mean_relative"])
        summary[candidate] = {
            "mean_relative": statistics.mean(r["mean_relative"] for r in rows.values()),
            "worst_task": worst,
            "worst_relative": rows[worst]["mean_relative"],
            "tasks_within": sum(r["within"] for r in rows.values()),
            "tasks": len(rows),
            "mean_spread": statistics.mean(r["spread_decades"] for r in rows.values()),
            "max_spread": max(r["spread_decades"] for r in rows.values()),
        }
    # The best candidate: most tasks within 3%, then the highest mean relative
    # score; scores within TIE of the highest are a tie (one seed of one task
    # moves a mean by about that much), broken by the smaller max spread.
    most_within = max(summary[c]["tasks_within"] for c in CANDIDATES)
    contenders = [c for c in CANDIDATES if summary[c]["tasks_within"] == most_within]
    top = max(summary[c]["mean_relative"] for c in contenders)
    tied = [c for c in contenders if summary[c]["mean_relative"] >= top - TIE]
    best = min(tied, key=lambda c: summary[c]["max_spread"])
    bars = {f"the default ({DEFAULT_METHOD}, 1 run, training curve) scores best": best == DEFAULT_METHOD}
    for method in (DEFAULT_METHOD, PREVIOUS_DEFAULT):
        row = summary[method]
        bars[f"{method} within 3% of the grid-best on every task"] = (
            row["tasks_within"] == row["tasks"]
        )
        bars[f"{method} beats the Keras 2 baseline on mean relative score"] = (
            row["mean_relative"] > summary[BASELINE]["mean_relative"]
        )
        bars[f"{method} spread < {BAR_SPREAD} decades on every task"] = (
            row["max_spread"] < BAR_SPREAD
        )
    highest = max(contenders, key=lambda c: summary[c]["mean_relative"])
    return {"candidates": summary, "best": best, "tied": tied, "highest": highest, "bars": bars}


def measure(args: Any) -> dict:
    from keras_lr import suggest

    if (suggest.METHODS, suggest.DEFAULT_METHOD) != (METHODS, DEFAULT_METHOD):
        raise SystemExit("benchmarks/suggestion_quality.py is out of date with keras_lr.suggest")
    names = list(TASKS) if args.tasks == "all" else [n.strip() for n in args.tasks.split(",")]
    unknown = sorted(set(names) - set(TASKS))
    if unknown:
        raise SystemExit(f"unknown task(s) {unknown}; choose from {', '.join(TASKS)}")
    tasks = {name: evaluate_task(TASKS[name], args) for name in names}
    return {
        "info": C.backend_info(),
        "settings": {
            "grid_points": args.grid_points,
            "grid_seeds": args.grid_seeds,
            "finder_seeds": args.finder_seeds,
            "finder": {"start_lr": START_LR, "end_lr": END_LR, "num_steps": args.finder_steps},
            "baseline": {"sma": SMA, "skip_start": SKIP_START, "skip_end": SKIP_END},
            "max_epochs": args.max_epochs,
        },
        "tasks": tasks,
        "summary": summarize(tasks),
    }


# ------------------------------------------------------------------ report
def task_markdown(name: str, result: dict) -> list[str]:
    grid = result["grid"]
    grid_rows = [
        [
            f"{lr:.3g}",
            f"{mean:.4f}",
            f"{statistics.pstdev(scores):.4f}",
            "best" if mean == grid["best_score"] else "",
        ]
        for lr, mean, scores in zip(grid["lrs"], grid["mean"], grid["scores"])
    ]
    rows = []
    for candidate, c in result["candidates"].items():
        known = [lr for lr in c["lrs"] if lr is not None]
        lr_range = f"{min(known):.3g}-{max(known):.3g}" if known else "-"
        rows.append(
            [
                candidate,
                f"{c['geomean_lr']:.3g} ({lr_range})"
                + (f", {c['failed']} failed" if c["failed"] else ""),
                f"{c['spread_decades']:.2f}",
                f"{c['mean_score']:.4f}",
                f"{c['mean_relative']:.3f}",
                f"{c['worst_relative']:.3f}",
                "yes" if c["within"] else "no",
            ]
        )
    flags = [f for f in result.get("runs_flags", []) if f]
    flag_text = ""
    if flags:
        flag_text = (
            f" The {RUNS}-run finders call themselves reliable (spread of the {RUNS} runs' "
            f"{DEFAULT_METHOD} < {BAR_SPREAD} decades) for {sum(f['reliable'] for f in flags)}/{len(flags)} "
            f"seeds; their spread: " + ", ".join(f"{f['spread']:.2f}" for f in flags) + " decades."
        )
    return [
        f"### {name}",
        "",
        result["description"] + f"; {result['wall_s']} s." + flag_text,
        "",
        C.md_table(["LR", "mean score", "std over seeds", ""], grid_rows),
        "",
        C.md_table(
            [
                "method",
                "suggested LR (geo. mean, range)",
                "spread (decades)",
                "mean score",
                "relative to grid-best",
                "worst seed",
                "within 3%",
            ],
            rows,
        ),
        "",
    ]


def report(record: dict) -> str:
    lines = C.report_header(record, "Quality of the suggested learning rate")
    for backend, result in C.completed(record):
        s = result["settings"]
        lines += [
            f"Backend {backend}. Grid: {s['grid_points']} LRs x {s['grid_seeds']} seeds; range tests: "
            f"{s['finder_seeds']} seeds, start_lr={s['finder']['start_lr']:g}, "
            f"end_lr={s['finder']['end_lr']:g}, num_steps={s['finder']['num_steps']}; each "
            "suggestion trained once with its range test's seed, on the task's budget.",
            "",
        ]
        for name, task in result["tasks"].items():
            lines += task_markdown(name, task)
        summary = result["summary"]
        rows = [
            [
                candidate,
                f"{c['mean_relative']:.3f}",
                f"{c['worst_task']} ({c['worst_relative']:.3f})",
                f"{c['tasks_within']}/{c['tasks']}",
                f"{c['mean_spread']:.2f}",
                f"{c['max_spread']:.2f}",
            ]
            for candidate, c in summary["candidates"].items()
        ]
        headers = [
            "method",
            "mean relative score",
            "worst task",
            "tasks within 3%",
            "mean spread (decades)",
            "max spread (decades)",
        ]
        lines += [f"### Summary ({backend})", "", C.md_table(headers, rows), ""]
        if "best" in summary:
            lines += [
                f"Best candidate: {summary['best']} (rule: most tasks within 3%, then the highest mean "
                f"relative score, scores within {TIE} of it being a tie broken by the smaller max spread). "
                f"Highest mean relative score: {summary['highest']}; tied: {', '.join(summary['tied'])}.",
                "",
            ]
        lines += [f"- {C.verdict(ok)}: {bar}" for bar, ok in summary["bars"].items()]
        lines.append("")
    lines += C.errors_block(record)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = C.make_parser(__doc__, default_backend="jax")
    parser.add_size(
        "tasks", "all", QUICK_TASKS, f"comma-separated tasks of {', '.join(TASKS)}", str
    )
    parser.add_size("grid-points", 13, 3, "log-spaced LRs in the ground-truth grid")
    parser.add_size("grid-seeds", 3, 1, "seeds per grid LR")
    parser.add_size("finder-seeds", 5, 2, "range-test seeds (each suggestion trained once)")
    parser.add_size("finder-steps", 200, 60, "range test steps")
    parser.add_size("max-epochs", 0, 3, "cap on every task's epochs (0: no cap)")
    C.run_benchmark(__file__, parser, measure, report, argv)


if __name__ == "__main__":
    main()
