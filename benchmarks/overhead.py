"""Per-step overhead of the keras_lr callbacks in `model.fit` (issue #5, item 1).

A small MLP on sklearn's digits (x/16, Dense(64, relu)-Dense(64, relu)-Dense(10),
Adam, batch 32) is trained with each variant: no callback (the baseline),
`ExponentDecayScheduler(unit="step")`, `WarmupCosineDecay`, `CyclicLR`,
`LRLogger()`, and the naive Keras 2 recipe (a Python callback that sets
`model.optimizer.learning_rate` to a float every batch).

Methodology, per backend, in one process: each variant has its own model; one
warm-up fit per variant, then `--rounds` rounds in which every variant does
one fit of `--epochs` epochs (the order rotates each round). Only epochs
2..E of each fit are timed (between consecutive epoch ends, with the same
timing callback last in every variant): the scheduler callbacks retrace the
train step at the start of each fit, and that compilation lands in epoch 1.
Each epoch is `--repeat` passes over the data (the digits tiled), so that an
epoch lasts long enough (570 steps at the default 10) for
per-epoch work and timer noise not to dominate. A fit's step time is its
fastest timed epoch divided by the steps of an epoch: noise on a shared
machine only ever adds time, so the minimum is the robust estimate.
Reported: each variant's fastest step time and its ratio to the baseline's
(the bar: <= 1.03x for every keras_lr callback), and the median and range of
the per-round ratios. An A/A control (a second model with no callback) shows
the machine's noise floor.

A last, diagnostic fit per variant times each of the callback's own hooks,
to show where any overhead comes from (per-epoch hooks vs batch hooks).
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import _common as C
import numpy as np

BAR = 1.03
BASELINE = "no callback"
NAIVE = "naive Keras 2 (set LR each batch)"
CONTROL = "no callback (A/A control)"
KERAS_LR = ("ExponentDecayScheduler", "WarmupCosineDecay", "CyclicLR", "LRLogger")
VARIANTS = (BASELINE, CONTROL, *KERAS_LR, NAIVE)
HOOKS = (
    "on_train_begin",
    "on_epoch_begin",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_epoch_end",
    "on_train_end",
)
PEAK_LR = 1e-3


def make_callback(variant: str, steps_per_epoch: int) -> Any:
    """A fresh callback of `variant` (None for the baseline)."""
    import keras

    import keras_lr

    if variant == "ExponentDecayScheduler":
        return keras_lr.ExponentDecayScheduler(
            PEAK_LR, 0.9, decay_steps=steps_per_epoch, unit="step"
        )
    if variant == "WarmupCosineDecay":
        return keras_lr.WarmupCosineDecay(
            PEAK_LR, 100 * steps_per_epoch, warmup_steps=steps_per_epoch
        )
    if variant == "CyclicLR":
        return keras_lr.CyclicLR(PEAK_LR / 10, PEAK_LR, step_size=2 * steps_per_epoch)
    if variant == "LRLogger":
        return keras_lr.LRLogger()
    if variant in (BASELINE, CONTROL):
        return None

    class NaiveCosine(keras.callbacks.Callback):
        """What Keras 2 recipes do: a Python float LR assigned before every batch."""

        step = 0

        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            t = min(self.step / (100 * steps_per_epoch), 1.0)
            self.model.optimizer.learning_rate = PEAK_LR * 0.5 * (1.0 + math.cos(math.pi * t))
            self.step += 1

    return NaiveCosine()


def has_batch_hooks(callback: Any) -> bool:
    from keras.src.utils.python_utils import is_default

    return callback is not None and not all(
        is_default(getattr(callback, hook)) for hook in HOOKS if "batch" in hook
    )


def profile_hooks(callback: Any) -> dict[str, list[float]]:
    """Wraps the callback's own (non-default) hooks with timers; returns their durations.

    Default hooks are left alone, so Keras' batch dispatch is unchanged.
    """
    from keras.src.utils.python_utils import is_default

    durations: dict[str, list[float]] = {}
    for hook in HOOKS:
        method = getattr(callback, hook)
        if is_default(method):
            continue
        durations[hook] = []

        def timed(
            *args: Any, _method: Any = method, _out: list = durations[hook], **kwargs: Any
        ) -> Any:
            start = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                _out.append(time.perf_counter() - start)

        setattr(callback, hook, timed)
    return durations


def timed_fit(model: Any, x: Any, y: Any, args: Any, callback: Any) -> list[float]:
    """One fit; the durations of its epochs 2..E (shuffle off: identical epochs)."""
    timer = C.epoch_end_timer()
    callbacks = [timer] if callback is None else [callback, timer]
    model.fit(
        x,
        y,
        batch_size=args.batch_size,
        epochs=args.epochs,
        verbose=0,
        shuffle=False,
        callbacks=callbacks,
    )
    return C.steady_epoch_times(timer)


def measure(args: Any) -> dict:
    x, y = C.digits()
    x, y = np.tile(x, (args.repeat, 1)), np.tile(y, args.repeat)
    steps = C.ceil_div(len(x), args.batch_size)
    models = {variant: C.digits_mlp(seed=0) for variant in VARIANTS}

    def run(variant: str, callback: Any = None) -> list[float]:
        if callback is None:
            callback = make_callback(variant, steps)
        return timed_fit(models[variant], x, y, args, callback)

    for variant in VARIANTS:  # warm-up: first compilation, backend caches
        run(variant)
    step_us: dict[str, list[float]] = {v: [] for v in VARIANTS}
    epochs_s: dict[str, list[list[float]]] = {v: [] for v in VARIANTS}
    for r in range(args.rounds):
        order = VARIANTS[r % len(VARIANTS) :] + VARIANTS[: r % len(VARIANTS)]
        for variant in order:
            epochs = run(variant)
            epochs_s[variant].append(epochs)
            step_us[variant].append(1e6 * min(epochs) / steps)
        print(
            f"round {r + 1}/{args.rounds}: "
            + ", ".join(f"{v.split(' ')[0]} {step_us[v][-1]:.0f}us" for v in VARIANTS),
            flush=True,
        )

    rows = {}
    for variant in VARIANTS:
        callback = make_callback(variant, steps)
        hooks = profile_hooks(callback) if callback is not None else {}
        run(variant, callback)
        ratios = [t / b for t, b in zip(step_us[variant], step_us[BASELINE])]
        # Noise on a shared machine only adds time: the ratio of the fastest
        # steps is the sharper estimate; the A/A control shows the noise floor.
        ratio_of_min = min(step_us[variant]) / min(step_us[BASELINE])
        epoch_hooks = [
            sum(hooks[h][e] for h in ("on_epoch_begin", "on_epoch_end") if h in hooks)
            for e in range(1, args.epochs)
        ]
        hooks_ms = 1e3 * sum(epoch_hooks) / len(epoch_hooks) if hooks else 0.0
        rows[variant] = {
            "step_us": C.spread(step_us[variant]),
            "ratio": C.spread(ratios),
            "barred": variant in KERAS_LR,
            "ratio_of_min": ratio_of_min,
            "pass": variant not in KERAS_LR or ratio_of_min <= BAR,
            "batch_hooks": has_batch_hooks(callback),
            "epoch_hooks_ms_per_epoch": hooks_ms,
            # The ratio with the callback's own epoch-hook time taken out: what the
            # callback costs inside the steps (an estimate from two different fits).
            "ratio_without_epoch_hooks": (
                statistics.median(step_us[variant]) - 1e3 * hooks_ms / steps
            )
            / statistics.median(step_us[BASELINE]),
            "hook_ms": {h: 1e3 * sum(d) / len(d) for h, d in hooks.items() if d},
            "epoch_seconds": epochs_s[variant],
        }
    return {
        "info": C.backend_info(),
        "settings": {
            "model": "Dense(64,relu)-Dense(64,relu)-Dense(10), Adam(1e-3)",
            "data": f"sklearn digits tiled {args.repeat}x, {len(x)} samples",
            "batch_size": args.batch_size,
            "steps_per_epoch": steps,
            "epochs_per_fit": args.epochs,
            "timed_epochs_per_fit": args.epochs - 1,
            "rounds": args.rounds,
        },
        "variants": rows,
    }


def report(record: dict) -> str:
    lines = C.report_header(record, "Scheduler callback overhead in `fit` (steady-state step time)")
    table = []
    for backend, result in C.completed(record):
        settings = result["settings"]
        for variant, row in result["variants"].items():
            verdict = C.verdict(row["pass"]) if row["barred"] else "reference"
            table.append(
                [
                    backend,
                    variant,
                    f"{row['step_us']['min']:.1f}",
                    f"{row['ratio_of_min']:.3f}x",
                    C.fmt_ratio(row["ratio"]),
                    "yes" if row["batch_hooks"] else "no",
                    f"{row['epoch_hooks_ms_per_epoch']:.2f}",
                    f"{row['ratio_without_epoch_hooks']:.3f}x",
                    verdict,
                ]
            )
    headers = [
        "backend",
        "variant",
        "step (us, fastest)",
        "ratio of fastest steps (the bar)",
        "ratio per round (median, range)",
        "batch hooks",
        "own epoch hooks (ms/epoch)",
        "ratio without own epoch hooks (est.)",
        f"bar <= {BAR}x",
    ]
    lines += [C.md_table(headers, table), ""]
    if table:
        lines.append(
            f"{settings['data']}, batch {settings['batch_size']} ({settings['steps_per_epoch']} "
            f"steps/epoch); each measurement is one fit of {settings['epochs_per_fit']} epochs, "
            f"the fastest of epochs 2..{settings['epochs_per_fit']} timed; "
            f"{settings['rounds']} interleaved rounds. The bar applies to the ratio of the "
            "fastest step times (noise only adds time); the A/A control is a second model "
            "with no callback, so its ratio is the noise floor of the machine. "
            "'own epoch hooks' is the time the callback's own on_epoch_begin + on_epoch_end "
            "take per epoch (one more, diagnostic fit); 'ratio without own epoch hooks' takes that "
            "time out of the median step time: what remains is the cost inside the train step."
        )
    lines += C.errors_block(record)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = C.make_parser(__doc__)
    parser.add_size("epochs", 4, 3, "epochs per fit; epochs 2..E are timed")
    parser.add_size("rounds", 9, 2, "interleaved rounds")
    parser.add_size("repeat", 10, 1, "passes over the data per epoch")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    C.run_benchmark(__file__, parser, measure, report, argv)


if __name__ == "__main__":
    main()
