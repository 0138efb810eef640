"""Cost of the LR range test and of its in-memory snapshot.

(a) `LRFinder(num_steps=200, verbose=0).find(model, x, y, batch_size=32)`
(with `stop_factor=1e9`, so that it does not stop early when the loss rises
at the end of the ramp: both runs do all 200 steps) against a plain `model.fit` of the same 200 steps: the digits MLP of
overhead.py, the same data (digits tiled to exactly 200 batches of 32, so
that both run one epoch of 200 steps), the same batch size. Every
measurement uses a fresh model built and compiled from the same seed, so both
pay their own trace and compilation (the optimizer is built beforehand for
both, see `timed`) ("cold", the bar: <= 1.25x on TensorFlow
and JAX; torch is reported). "warm" subtracts the first step (which holds the
trace and compilation) from both: the time between the first and the second
`on_train_batch_begin` is taken out. The two are measured side by side in
`--rounds` rounds after one discarded warm-up round, alternating which goes
first; the ratio is the median of the per-round ratios.

(b) `keras_lr.callbacks._state.snapshot(model)` + `_state.restore(saved)` on
a ~1.07M-parameter MLP (784-1024-256-10) with its Adam optimizer built (about
3.2M state values): median of `--repeats` calls, with file access forbidden
while they run. Bar: < 50 ms.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import _common as C
import numpy as np

BAR_RATIO = 1.25
BAR_SNAPSHOT_MS = 50.0
BARRED_BACKENDS = ("tensorflow", "jax")


# ------------------------------------------------------------------ (a) range test
def first_step_timer() -> Any:
    """Records `time.perf_counter()` at the first two `on_train_batch_begin` calls.

    A batch-begin hook does not change Keras' batch dispatch (only batch-end
    hooks make it synchronous).
    """
    import keras

    class FirstStepTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            self.begins: list[float] = []

        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            if len(self.begins) < 2:
                self.begins.append(time.perf_counter())

    return FirstStepTimer()


def range_test(model: Any, x: np.ndarray, y: np.ndarray, args: Any, timer: Any) -> dict:
    from keras_lr import LRFinder

    # stop_factor: no early stop on a rising loss, so both runs do all `steps` steps.
    finder = LRFinder(num_steps=args.steps, stop_factor=1e9, verbose=0)
    finder.find(model, x, y, batch_size=args.batch_size, callbacks=[timer])
    return {"steps": len(finder.lrs), "stop_reason": finder.stop_reason}


def plain_fit(model: Any, x: np.ndarray, y: np.ndarray, args: Any, timer: Any) -> dict:
    from keras import ops

    model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0, callbacks=[timer])
    return {"steps": int(ops.convert_to_numpy(model.optimizer.iterations))}


def timed(run: Callable[..., dict], x: np.ndarray, y: np.ndarray, args: Any) -> dict:
    """One cold call on a fresh model: total seconds, and without its first step.

    The optimizer is built before the call, for both: otherwise a plain TF fit
    creates its slots inside the first trace and traces twice, while LRFinder
    builds the optimizer before its step, which would flatter the finder.
    """
    model = C.digits_mlp(seed=0)
    model.optimizer.build(model.trainable_variables)
    timer = first_step_timer()
    start = time.perf_counter()
    info = run(model, x, y, args, timer)
    total = time.perf_counter() - start
    return {"cold_s": total, "warm_s": total - (timer.begins[1] - timer.begins[0]), **info}


def range_test_cost(args: Any) -> dict:
    x, y = C.digits()
    rows = args.steps * args.batch_size
    x, y = np.resize(x, (rows, x.shape[1])), np.resize(y, rows)  # exactly `steps` batches
    runs = {"range test": range_test, "plain fit": plain_fit}
    samples: dict[str, list[dict]] = {name: [] for name in runs}
    for r in range(-1, args.rounds):  # round -1 warms the backend up and is discarded
        order = list(runs) if r % 2 == 0 else list(runs)[::-1]
        results = {name: timed(runs[name], x, y, args) for name in order}
        if r >= 0:
            for name, result in results.items():
                samples[name].append(result)
            print(
                f"round {r + 1}/{args.rounds}: "
                + ", ".join(
                    f"{n} {v['cold_s']:.2f}s (warm {v['warm_s']:.2f}s)" for n, v in results.items()
                ),
                flush=True,
            )
    out: dict[str, Any] = {
        name: {
            "cold_s": C.spread([s["cold_s"] for s in runs_]),
            "warm_s": C.spread([s["warm_s"] for s in runs_]),
            "steps": sorted({s["steps"] for s in runs_}),
        }
        for name, runs_ in samples.items()
    }
    out["range test"]["stop_reasons"] = sorted(
        {str(s["stop_reason"]) for s in samples["range test"]}
    )
    for key in ("cold_s", "warm_s"):
        ratios = [f[key] / p[key] for f, p in zip(samples["range test"], samples["plain fit"])]
        out[f"ratio_{key[:-2]}"] = C.spread(ratios)
    return out


# ------------------------------------------------------------------ (b) snapshot
@contextlib.contextmanager
def forbid_file_io() -> Iterator[None]:
    """Makes `open`, `io.open` and `os.open` raise while the block runs."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"file access during snapshot/restore: {args[:1]}")

    saved = builtins.open, io.open, os.open
    builtins.open = io.open = os.open = refuse
    try:
        yield
    finally:
        builtins.open, io.open, os.open = saved


def snapshot_cost(args: Any) -> dict:
    from keras_lr.callbacks import _state

    model = C.compiled(lambda: C.mlp((784,), 10, hidden=(1024, 256)), seed=0)
    model.optimizer.build(model.trainable_variables)
    values = sum(int(np.prod(v.shape)) for v in _state.state_variables(model))
    for _ in range(2):  # warm-up: first conversions and assignments
        _state.restore(_state.snapshot(model))
    snap, back = [], []
    with forbid_file_io():
        for _ in range(args.repeats):
            start = time.perf_counter()
            saved = _state.snapshot(model)
            middle = time.perf_counter()
            _state.restore(saved)
            snap.append(middle - start)
            back.append(time.perf_counter() - middle)
    total_ms = [1e3 * (a + b) for a, b in zip(snap, back)]
    return {
        "params": model.count_params(),
        "state_values": values,
        "state_mb": 4 * values / 2**20,
        "snapshot_ms": 1e3 * statistics.median(snap),
        "restore_ms": 1e3 * statistics.median(back),
        "total_ms": C.spread(total_ms),
        "pass": statistics.median(total_ms) < BAR_SNAPSHOT_MS,
    }


# ------------------------------------------------------------------ driver
def measure(args: Any) -> dict:
    import keras

    cost = range_test_cost(args)
    barred = keras.config.backend() in BARRED_BACKENDS
    cost["barred"] = barred
    cost["pass"] = not barred or cost["ratio_cold"]["median"] <= BAR_RATIO
    return {
        "info": C.backend_info(),
        "settings": {
            "model": "digits MLP Dense(64,relu)-Dense(64,relu)-Dense(10), Adam(1e-3), fresh per call",
            "steps": args.steps,
            "batch_size": args.batch_size,
            "rounds": args.rounds,
            "snapshot_repeats": args.repeats,
        },
        "range_test": cost,
        "snapshot": snapshot_cost(args),
    }


def report(record: dict) -> str:
    lines = C.report_header(record, "LR range test cost and snapshot/restore time")
    finder_rows, snapshot_rows = [], []
    for backend, result in C.completed(record):
        cost, snap = result["range_test"], result["snapshot"]
        finder, fit = cost["range test"], cost["plain fit"]
        finder_rows.append(
            [
                backend,
                f"{finder['cold_s']['median']:.2f}",
                f"{fit['cold_s']['median']:.2f}",
                C.fmt_ratio(cost["ratio_cold"]),
                C.verdict(cost["pass"]) if cost["barred"] else "reported",
                f"{finder['warm_s']['median']:.3f}",
                f"{fit['warm_s']['median']:.3f}",
                C.fmt_ratio(cost["ratio_warm"]),
                f"{finder['steps']} / {fit['steps']} ({', '.join(map(str, finder['stop_reasons']))})",
            ]
        )
        snapshot_rows.append(
            [
                backend,
                f"{snap['params']:,}",
                f"{snap['state_values']:,} ({snap['state_mb']:.1f} MB)",
                f"{snap['snapshot_ms']:.1f}",
                f"{snap['restore_ms']:.1f}",
                f"{snap['total_ms']['median']:.1f} ({snap['total_ms']['min']:.1f}-{snap['total_ms']['max']:.1f})",
                C.verdict(snap["pass"]),
            ]
        )
    if finder_rows:
        settings = next(r for _, r in C.completed(record))["settings"]
        lines += [
            f"### (a) range test of {settings['steps']} steps vs a plain fit of the same steps",
            "",
            C.md_table(
                [
                    "backend",
                    "range test (s, cold)",
                    "plain fit (s, cold)",
                    "ratio cold (median, range)",
                    f"bar <= {BAR_RATIO}x",
                    "range test (s, warm)",
                    "plain fit (s, warm)",
                    "ratio warm (median, range)",
                    "steps run: test / fit (stop)",
                ],
                finder_rows,
            ),
            "",
            f"Batch {settings['batch_size']}, {settings['rounds']} rounds after a discarded warm-up "
            "round, a fresh identical model per call. Cold: the whole call, trace and compilation "
            "included. Warm: the same minus its first step. The bar applies to TensorFlow and JAX.",
            "",
            f"### (b) snapshot + restore, median of {settings['snapshot_repeats']}",
            "",
            C.md_table(
                [
                    "backend",
                    "params",
                    "state values",
                    "snapshot (ms)",
                    "restore (ms)",
                    "total (ms, median, range)",
                    f"bar < {BAR_SNAPSHOT_MS:g} ms",
                ],
                snapshot_rows,
            ),
            "",
            "MLP 784-1024-256-10 with Adam built: weights and optimizer state (step, LR, two "
            "slots per weight) copied to host numpy arrays and assigned back; file access was "
            "forbidden while timing.",
        ]
    lines += C.errors_block(record)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = C.make_parser(__doc__)
    parser.add_size("steps", 200, 30, "range test steps (and plain fit steps)")
    parser.add_size("rounds", 5, 1, "measured rounds of (range test, plain fit)")
    parser.add_size("repeats", 20, 5, "snapshot + restore repetitions")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    C.run_benchmark(__file__, parser, measure, report, argv)


if __name__ == "__main__":
    main()
