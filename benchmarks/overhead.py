"""Per-step overhead of the keras_lr callbacks in `model.fit`.

A small MLP on sklearn's digits (x/16, Dense(64, relu)-Dense(64, relu)-Dense(10),
Adam, batch 32) is trained with each variant: no callback (the baseline),
`ExponentialLR(unit="step")`, `WarmupCosineLR`, `CyclicLR`,
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

More parts, selected with `--parts` (default: all five):

- `calls`, keras_lr's Python calls per steady training step, deterministic:
  `sys.setprofile` counts the calls of functions whose code file is inside
  the keras_lr package during a `fit` of 50 and one of 150 steps (fresh
  callback each, after a warm-up `fit`); per step = (c150 - c50) / 100, so
  per-fit work cancels. Variants: no callback, the three step schedulers,
  `LRLogger`, `LRFinder` as a callback, and momentum cycling
  (`OneCycleLR(cycle_momentum=True)` on the MLP's Adam, `CyclicLR(cycle_momentum=True)`
  on an SGD with momentum 0.9). Bars: 0 on TensorFlow and JAX (the
  schedule is traced into the compiled step), 2 on PyTorch (eager step).
- `memory`, what a step scheduler's `learning_rates` retains per update
  (`tracemalloc`), at 10,000 and 100,000 recorded updates.

- `refit`, the second-`fit` ratio: a one-epoch `fit` on the digits (batch
  `--refit-batch-size`, 225 steps at 8), repeated with the same scheduler
  callback instance, against the same repeated `fit` with no callback; the
  cost of any retrace on a repeated `fit` (bar: <= 1.1x). Also a plain `fit`
  right after a keras_lr `fit` (a `WarmupCosineLR` one) against a plain
  `fit` after a plain `fit`. After one warm-up `fit` per variant (the first
  compilation, reported apart), `--refit-rounds` interleaved rounds; each
  `fit` is timed whole.
- `cost`, the compiled train step's cost with and without each callback,
  deterministic (no timing): on JAX, XLA's `cost_analysis()` (flops, bytes
  accessed) of the model's train function, jitted and compiled for one batch
  while the callback is active inside `fit`; on TensorFlow, the op count of
  that train function traced as a graph (nested functions included); on
  PyTorch, the device-to-host reads per step (`aten::_local_scalar_dense`,
  the op behind `item()`, `float()`, `int()`, `bool()` of a tensor, counted
  with torch's profiler, plus `Tensor.numpy()` and `Tensor.tolist()` calls),
  from the difference between a `fit` of N and one of 2N steps. Bars:
  <= 1.01x flops and bytes accessed, and no per-step host read beyond the
  baseline's.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _common as C
import numpy as np

BAR = 1.03
BASELINE = "no callback"
NAIVE = "naive Keras 2 (set LR each batch)"
CONTROL = "no callback (A/A control)"
KERAS_LR = ("ExponentialLR", "WarmupCosineLR", "CyclicLR", "LRLogger")
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
PARTS = ("steady", "refit", "cost", "calls", "memory")
FINDER = "LRFinder (as a callback)"
CYCLE_ADAM = "OneCycleLR(cycle_momentum=True), Adam's beta_1"
CYCLE_SGD = "CyclicLR(cycle_momentum=True), SGD's momentum"
CALL_VARIANTS = (BASELINE, *KERAS_LR, FINDER, CYCLE_ADAM, CYCLE_SGD)
CALL_FITS = (50, 150)  # steps of the two counted fits
CALL_BARS = {"tensorflow": 0, "jax": 0, "torch": 2}
MEMORY_STEPS = (10_000, 100_000)
MEMORY_EPOCH = 1000  # updates recorded per `on_epoch_end`
REFIT_BAR = 1.1
COST_BAR = 1.01
PLAIN_AFTER = "plain fit after a keras_lr fit"
REFIT_VARIANTS = (BASELINE, CONTROL, *KERAS_LR, PLAIN_AFTER)
COST_VARIANTS = (BASELINE, *KERAS_LR, NAIVE)


def make_callback(variant: str, steps_per_epoch: int) -> Any:
    """A fresh callback of `variant` (None for the baseline)."""
    import keras

    import keras_lr

    if variant == "ExponentialLR":
        return keras_lr.ExponentialLR(
            PEAK_LR, 0.9, decay_steps=steps_per_epoch, unit="step"
        )
    if variant == "WarmupCosineLR":
        return keras_lr.WarmupCosineLR(
            PEAK_LR, 100 * steps_per_epoch, warmup_steps=steps_per_epoch
        )
    if variant == "CyclicLR":
        return keras_lr.CyclicLR(PEAK_LR / 10, PEAK_LR, step_size=2 * steps_per_epoch)
    if variant == "LRLogger":
        return keras_lr.LRLogger()
    if variant == CYCLE_ADAM:
        return keras_lr.OneCycleLR(PEAK_LR, 10 * CALL_FITS[-1], cycle_momentum=True)
    if variant == CYCLE_SGD:
        return keras_lr.CyclicLR(
            PEAK_LR / 10, PEAK_LR, step_size=2 * steps_per_epoch, cycle_momentum=True
        )
    if variant == FINDER:  # a ramp long enough for every counted fit, gentle enough not to stop
        return keras_lr.LRFinder(
            1e-5, 1e-3, num_steps=10 * CALL_FITS[-1], stop_factor=1e6, verbose=0
        )
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


def measure_steady(args: Any) -> dict:
    """The steady-state step time of each variant (epochs 2..E of each fit)."""
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


# ------------------------------------------------------------------ second fit
def measure_refit(args: Any) -> dict:
    """Whole one-epoch fits, repeated: with the same callback vs with none."""
    x, y = C.digits()
    batch_size = args.refit_batch_size
    steps = C.ceil_div(len(x), batch_size)
    models = {variant: C.digits_mlp(seed=0) for variant in REFIT_VARIANTS}
    callbacks = {variant: make_callback(variant, steps) for variant in KERAS_LR}
    before_plain = make_callback("WarmupCosineLR", steps)

    def fit(model: Any, callback: Any) -> float:
        start = time.perf_counter()
        model.fit(
            x,
            y,
            batch_size=batch_size,
            epochs=1,
            verbose=0,
            shuffle=False,
            callbacks=[] if callback is None else [callback],
        )
        return time.perf_counter() - start

    def run(variant: str) -> float:
        if variant == PLAIN_AFTER:
            fit(models[variant], before_plain)  # untimed: the keras_lr fit before
            return fit(models[variant], None)
        return fit(models[variant], callbacks.get(variant))

    first = {variant: run(variant) for variant in REFIT_VARIANTS}
    fits: dict[str, list[float]] = {v: [] for v in REFIT_VARIANTS}
    for r in range(args.refit_rounds):
        order = (
            REFIT_VARIANTS[r % len(REFIT_VARIANTS) :] + REFIT_VARIANTS[: r % len(REFIT_VARIANTS)]
        )
        for variant in order:
            fits[variant].append(run(variant))
        print(
            f"refit round {r + 1}/{args.refit_rounds}: "
            + ", ".join(f"{v.split(' ')[0]} {1e3 * fits[v][-1]:.0f}ms" for v in REFIT_VARIANTS),
            flush=True,
        )
    rows = {}
    for variant in REFIT_VARIANTS:
        ratio_of_min = min(fits[variant]) / min(fits[BASELINE])
        rows[variant] = {
            "first_fit_s": first[variant],
            "fit_s": C.spread(fits[variant]),
            "ratio": C.spread([t / b for t, b in zip(fits[variant], fits[BASELINE])]),
            "ratio_of_min": ratio_of_min,
            "barred": variant not in (BASELINE, CONTROL),
            "pass": variant in (BASELINE, CONTROL) or ratio_of_min <= REFIT_BAR,
        }
    return {
        "settings": {
            "data": f"sklearn digits, {len(x)} samples",
            "batch_size": batch_size,
            "steps_per_fit": steps,
            "rounds": args.refit_rounds,
        },
        "variants": rows,
    }


# ------------------------------------------------------------------ compiled cost
def _batch(x: np.ndarray, y: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    return x[:batch_size], y[:batch_size]


def _call_train_function(model: Any, state: Any, data: Any) -> Any:
    """`model.train_function` on one batch (Keras >= 3.10 passes an iterator)."""
    return model.train_function(*state, iter([data]))


def jax_cost(model: Any, xb: np.ndarray, yb: np.ndarray) -> dict:
    """XLA's cost analysis of the model's train function, compiled for one batch."""
    import jax
    import jax.numpy as jnp

    state = model._get_jax_state(
        trainable_variables=True,
        non_trainable_variables=True,
        optimizer_variables=True,
        metrics_variables=True,
        purge_model_variables=False,
    )
    data = (jnp.asarray(xb), jnp.asarray(yb), None)
    compiled = (
        jax.jit(lambda s, d: _call_train_function(model, (s,), d)).lower(state, data).compile()
    )
    cost = compiled.cost_analysis()
    if isinstance(cost, list | tuple):  # older JAX: one dict per computation
        cost = cost[0]
    return {"flops": float(cost["flops"]), "bytes_accessed": float(cost["bytes accessed"])}


def tf_cost(model: Any, xb: np.ndarray, yb: np.ndarray) -> dict:
    """The op count of the model's train function traced as a graph, nested functions included."""
    import tensorflow as tf

    function = tf.function(lambda d: _call_train_function(model, (), d))
    concrete = function.get_concrete_function((tf.constant(xb), tf.constant(yb)))
    graph_def = concrete.graph.as_graph_def()
    nested = sum(len(f.node_def) for f in graph_def.library.function)
    return {
        "graph_ops": len(concrete.graph.get_operations()) + nested,
        "nested_functions": len(graph_def.library.function),
    }


@contextlib.contextmanager
def count_host_reads() -> Iterator[dict[str, int]]:
    """Counts device-to-host reads of torch tensors inside the block.

    `item()`, `float()`, `int()`, `bool()` of a tensor all run
    `aten::_local_scalar_dense` (counted with torch's profiler);
    `Tensor.numpy()` (also behind `np.asarray(tensor)`) and `Tensor.tolist()`
    are counted by wrapping them.
    """
    import torch
    from torch.profiler import ProfilerActivity, profile

    counts = {"numpy": 0, "tolist": 0, "scalar": 0}
    patched = {}
    for name in ("numpy", "tolist"):
        original = getattr(torch.Tensor, name)
        patched[name] = (name in torch.Tensor.__dict__, original)

        def counted(self: Any, *args: Any, _name: str = name, _f: Any = original, **kw: Any) -> Any:
            counts[_name] += 1
            return _f(self, *args, **kw)

        setattr(torch.Tensor, name, counted)
    try:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            yield counts
    finally:
        for name, (own, original) in patched.items():
            if own:
                setattr(torch.Tensor, name, original)
            else:
                delattr(torch.Tensor, name)
    counts["scalar"] = sum(
        event.count for event in prof.key_averages() if event.key == "aten::_local_scalar_dense"
    )


def torch_host_reads(
    variant: str, x: np.ndarray, y: np.ndarray, batch_size: int, steps: int
) -> dict:
    """Device-to-host reads per step of a fit with `variant`, and per fit."""
    model = C.digits_mlp(seed=0)

    def reads(n: int) -> dict[str, int]:
        callback = make_callback(variant, steps)
        with count_host_reads() as counts:
            model.fit(
                x[: n * batch_size],
                y[: n * batch_size],
                batch_size=batch_size,
                epochs=1,
                verbose=0,
                shuffle=False,
                callbacks=[] if callback is None else [callback],
            )
        return counts

    reads(2)  # warm-up: one-time work (building, first calls)
    n = steps
    short, long = reads(n), reads(2 * n)
    per_step = {k: (long[k] - short[k]) / n for k in short}
    return {
        "host_reads_per_step": sum(per_step.values()),
        "host_reads_per_step_by_kind": per_step,
        "host_reads_per_fit": sum(short.values()) - n * sum(per_step.values()),
        "steps_compared": [n, 2 * n],
    }


def traced_cost(variant: str, x: np.ndarray, y: np.ndarray, batch_size: int, steps: int) -> dict:
    """The compiled step's cost while `variant`'s callback is active inside `fit`."""
    import keras

    cost_of = jax_cost if keras.config.backend() == "jax" else tf_cost
    xb, yb = _batch(x, y, batch_size)
    result: dict = {}

    class Grab(keras.callbacks.Callback):
        """At the first batch: the train function as the callbacks left it."""

        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            if not result:
                result.update(cost_of(self.model, xb, yb))

    model = C.digits_mlp(seed=0)
    callback = make_callback(variant, steps)
    model.fit(
        x[: 2 * batch_size],
        y[: 2 * batch_size],
        batch_size=batch_size,
        epochs=1,
        verbose=0,
        shuffle=False,
        callbacks=[Grab()] if callback is None else [callback, Grab()],
    )
    return result


def measure_cost(args: Any) -> dict:
    """Deterministic per-step cost of each variant, and its ratio to the baseline's."""
    import keras

    backend = keras.config.backend()
    x, y = C.digits()
    steps = C.ceil_div(len(x), args.batch_size)
    rows = {}
    for variant in COST_VARIANTS:
        if backend == "torch":
            rows[variant] = torch_host_reads(variant, x, y, args.batch_size, args.cost_steps)
        else:
            rows[variant] = traced_cost(variant, x, y, args.batch_size, steps)
    base = rows[BASELINE]
    for variant, row in rows.items():
        row["barred"] = variant in KERAS_LR
        if backend == "torch":
            row["extra_reads_per_step"] = row["host_reads_per_step"] - base["host_reads_per_step"]
            ok = row["extra_reads_per_step"] <= 0
        elif backend == "jax":
            row["flops_ratio"] = row["flops"] / base["flops"]
            row["bytes_ratio"] = row["bytes_accessed"] / base["bytes_accessed"]
            row["extra_flops"] = row["flops"] - base["flops"]
            row["extra_bytes"] = row["bytes_accessed"] - base["bytes_accessed"]
            ok = row["flops_ratio"] <= COST_BAR and row["bytes_ratio"] <= COST_BAR
        else:
            row["ops_ratio"] = row["graph_ops"] / base["graph_ops"]
            row["extra_ops"] = row["graph_ops"] - base["graph_ops"]
            ok = row["ops_ratio"] <= COST_BAR
        row["pass"] = not row["barred"] or ok
    return {
        "settings": {
            "batch_size": args.batch_size,
            "torch_steps_compared": [args.cost_steps, 2 * args.cost_steps],
        },
        "variants": rows,
    }


def keras_lr_calls(run: Any) -> int:
    """Python calls into code inside the keras_lr package while `run()` runs (`sys.setprofile`)."""
    import sys

    import keras_lr

    package = str(Path(keras_lr.__file__).resolve().parent)
    count = 0
    inside: dict[str, bool] = {}

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event == "call":
            filename = frame.f_code.co_filename
            found = inside.get(filename)
            if found is None:
                found = inside[filename] = str(Path(filename).resolve()).startswith(package)
            if found:
                count += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return count


def measure_calls(args: Any) -> dict:
    """keras_lr's Python calls per steady training step, per variant (no timing).

    Each variant: one model, a warm-up `fit` with the callback (compilation),
    then a `fit` of 50 and one of 150 steps, each with a fresh callback and
    counted whole, so that per-fit work (hooks, a retrace for a new schedule)
    cancels: per step = (c150 - c50) / 100.
    """
    x, y = C.digits()
    short, long = CALL_FITS
    repeat = C.ceil_div(long * args.batch_size, len(x))
    x, y = np.tile(x, (repeat, 1)), np.tile(y, repeat)
    rows = {}
    for variant in CALL_VARIANTS:
        model = C.digits_mlp(seed=0)
        if variant == CYCLE_SGD:  # a momentum to cycle (Keras' default SGD has none)
            import keras

            model.compile(optimizer=keras.optimizers.SGD(PEAK_LR, momentum=0.9), loss=model.loss)

        def fit(steps: int, model: Any = model, variant: str = variant) -> None:
            callback = make_callback(variant, steps)
            model.fit(
                x[: steps * args.batch_size],
                y[: steps * args.batch_size],
                batch_size=args.batch_size,
                epochs=1,
                verbose=0,
                shuffle=False,
                callbacks=[] if callback is None else [callback],
            )

        fit(short)  # warm-up: the first compilation of the model's own step
        counts = {steps: keras_lr_calls(lambda steps=steps: fit(steps)) for steps in CALL_FITS}
        per_step = (counts[long] - counts[short]) / (long - short)
        rows[variant] = {"calls": counts, "per_step": per_step}
    return {"settings": {"batch_size": args.batch_size, "fits": list(CALL_FITS)}, "variants": rows}


def measure_memory(args: Any) -> dict:
    """Memory a step-unit scheduler retains per recorded update (`tracemalloc`).

    A one-weight model, `WarmupCosineLR(unit="step")`: after
    `on_train_begin`, the optimizer's step counter is moved on by 1000
    updates before each `on_epoch_end` (which records the LRs of the updates
    since the last one), up to 10,000 and 100,000 updates: the recording path
    of a real `fit` without running its steps. Retained: traced memory still
    allocated after `gc.collect()`, minus the same before the first record.
    """
    import gc
    import tracemalloc

    import keras

    import keras_lr

    rows = {}
    for total in MEMORY_STEPS:
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        model.optimizer.build(model.trainable_variables)
        callback = keras_lr.WarmupCosineLR(0.1, 2 * total, warmup_steps=total // 10)
        callback.set_model(model)
        callback.on_train_begin()
        callback.on_epoch_end(0)  # the tables and caches a first record builds
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for epoch in range(total // MEMORY_EPOCH):
            model.optimizer.iterations.assign((epoch + 1) * MEMORY_EPOCH)
            callback.on_epoch_end(epoch)
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        assert len(callback.learning_rates) == total
        callback.on_train_end()
        rows[str(total)] = {"retained_bytes": retained, "bytes_per_update": retained / total}
    # For reference: what a Python list of as many floats holds (the former `learning_rates`).
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    floats = [float(i) + 0.5 for i in range(MEMORY_STEPS[-1])]
    list_bytes = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del floats
    return {"variants": rows, "python_list_bytes_per_entry": list_bytes / MEMORY_STEPS[-1]}


def measure(args: Any) -> dict:
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ValueError(f"unknown --parts {unknown}; use some of {', '.join(PARTS)}")
    result: dict = {"info": C.backend_info()}
    if "calls" in parts:  # deterministic, and cheap
        result["calls"] = measure_calls(args)
    if "memory" in parts:
        result["memory"] = measure_memory(args)
    if "cost" in parts:  # deterministic, and cheap
        result["cost"] = measure_cost(args)
    if "refit" in parts:
        result["refit"] = measure_refit(args)
    if "steady" in parts:
        result.update(measure_steady(args))
    return result


def report_steady(record: dict) -> list[str]:
    table = []
    settings = None
    for backend, result in C.completed(record):
        if "variants" not in result:
            continue
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
    if settings is None:
        return []
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
    return [
        "### Steady-state step time",
        "",
        C.md_table(headers, table),
        "",
        f"{settings['data']}, batch {settings['batch_size']} ({settings['steps_per_epoch']} "
        f"steps/epoch); each measurement is one fit of {settings['epochs_per_fit']} epochs, "
        f"the fastest of epochs 2..{settings['epochs_per_fit']} timed; "
        f"{settings['rounds']} interleaved rounds. The bar applies to the ratio of the "
        "fastest step times (noise only adds time); the A/A control is a second model "
        "with no callback, so its ratio is the noise floor of the machine. "
        "'own epoch hooks' is the time the callback's own on_epoch_begin + on_epoch_end "
        "take per epoch (one more, diagnostic fit); 'ratio without own epoch hooks' takes that "
        "time out of the median step time: what remains is the cost inside the train step.",
        "",
    ]


def report_refit(record: dict) -> list[str]:
    table = []
    settings = None
    for backend, result in C.completed(record):
        if "refit" not in result:
            continue
        settings = result["refit"]["settings"]
        for variant, row in result["refit"]["variants"].items():
            table.append(
                [
                    backend,
                    variant,
                    f"{row['first_fit_s']:.2f}",
                    f"{1e3 * row['fit_s']['min']:.0f}",
                    f"{row['ratio_of_min']:.3f}x",
                    C.fmt_ratio(row["ratio"]),
                    C.verdict(row["pass"]) if row["barred"] else "reference",
                ]
            )
    if settings is None:
        return []
    headers = [
        "backend",
        "variant",
        "first fit (s, with compilation)",
        "repeated fit (ms, fastest)",
        "ratio of fastest fits (the bar)",
        "ratio per round (median, range)",
        f"bar <= {REFIT_BAR}x",
    ]
    return [
        "### Second-`fit` ratio (a repeated one-epoch `fit`)",
        "",
        C.md_table(headers, table),
        "",
        f"{settings['data']}, batch {settings['batch_size']} ({settings['steps_per_fit']} "
        "steps per fit); each variant has its own model and repeats `fit(epochs=1)` with the "
        "same callback instance; after one warm-up fit per variant (its first compilation, "
        f"'first fit'), {settings['rounds']} interleaved rounds, each fit timed whole. "
        f"'{PLAIN_AFTER}': each round, an untimed fit with a `WarmupCosineLR` callback, "
        "then the timed plain fit. A retrace on a repeated fit shows as a ratio well above 1; "
        "the A/A control (a second model with no callback) shows the noise floor.",
        "",
    ]


def _cost_cells(backend: str, row: dict) -> list[str]:
    if backend == "jax":
        return [
            f"{row['flops']:.0f} flops, {row['bytes_accessed']:.0f} bytes accessed",
            f"{row['flops_ratio']:.5f}x flops ({row['extra_flops']:+.0f}), "
            f"{row['bytes_ratio']:.5f}x bytes ({row['extra_bytes']:+.0f})",
        ]
    if backend == "tensorflow":
        return [
            f"{row['graph_ops']} graph ops",
            f"{row['ops_ratio']:.4f}x ({row['extra_ops']:+d} ops)",
        ]
    kinds = ", ".join(f"{k} {v:g}" for k, v in row["host_reads_per_step_by_kind"].items() if v)
    return [
        f"{row['host_reads_per_step']:g} host reads/step{f' ({kinds})' if kinds else ''}, "
        f"{row['host_reads_per_fit']:g}/fit",
        f"{row['extra_reads_per_step']:+g} reads/step",
    ]


def report_cost(record: dict) -> list[str]:
    table = []
    settings = None
    for backend, result in C.completed(record):
        if "cost" not in result:
            continue
        settings = result["cost"]["settings"]
        for variant, row in result["cost"]["variants"].items():
            verdict = C.verdict(row["pass"]) if row["barred"] else "reference"
            table.append([backend, variant, *_cost_cells(backend, row), verdict])
    if settings is None:
        return []
    headers = [
        "backend",
        "variant",
        "compiled step (JAX: XLA cost analysis; TF: traced graph; torch: host reads)",
        "vs no callback",
        f"bar: <= {COST_BAR}x (torch: no extra read per step)",
    ]
    steps = settings["torch_steps_compared"]
    return [
        "### Compiled step's cost (deterministic)",
        "",
        C.md_table(headers, table),
        "",
        f"Batch {settings['batch_size']}. JAX: `cost_analysis()` of the model's train "
        "function jitted and compiled for one batch, taken at the first batch of a `fit` "
        "with the callback (so with whatever the callback put in the step). TensorFlow: the "
        "op count of that train function traced as a graph, nested functions included (an "
        "op count, not a cost: a scalar op weighs the same as a matmul). PyTorch (eager, "
        "nothing to compile): device-to-host reads (`aten::_local_scalar_dense`, "
        "`Tensor.numpy()`, `Tensor.tolist()`) per step, from a fit of "
        f"{steps[0]} and one of {steps[1]} steps; per fit: the rest. On a GPU each such "
        "read is a sync that stalls the step pipeline.",
        "",
    ]


def report_calls(record: dict) -> list[str]:
    table = []
    settings = None
    for backend, result in C.completed(record):
        if "calls" not in result:
            continue
        settings = result["calls"]["settings"]
        bar = CALL_BARS.get(backend, 0)
        for variant, row in result["calls"]["variants"].items():
            barred = variant in KERAS_LR or variant in (BASELINE, CYCLE_ADAM, CYCLE_SGD)
            verdict = (
                C.verdict(row["per_step"] <= bar) if barred else "(batch hook: records each step)"
            )
            counts = row["calls"]
            table.append(
                [
                    backend,
                    variant,
                    *(
                        str(counts[str(n)] if str(n) in counts else counts[n])
                        for n in settings["fits"]
                    ),
                    f"{row['per_step']:g}",
                    f"<= {bar}: {verdict}",
                ]
            )
    if settings is None:
        return []
    short, long = settings["fits"]
    headers = [
        "backend",
        "variant",
        f"calls, fit of {short} steps",
        f"calls, fit of {long} steps",
        "per steady step",
        "bar",
    ]
    return [
        "### Python calls inside keras_lr per training step (deterministic)",
        "",
        C.md_table(headers, table),
        "",
        f"Batch {settings['batch_size']}, the digits MLP. `sys.setprofile` counts the calls "
        "of Python functions whose code file is inside the keras_lr package during a whole "
        f"`fit` of {short} and one of {long} steps (each with a fresh callback, after a "
        f"warm-up `fit`); per steady step = (c{long} - c{short}) / {long - short}, so per-fit "
        "work (hooks at the epoch ends, a trace of the new schedule) cancels. TensorFlow and "
        "JAX trace the schedule into the compiled step; PyTorch runs its step eagerly (one "
        "wrapper call and one patch call per step). The LR finder has a batch hook by design "
        "(it records each step's loss).",
        "",
    ]


def report_memory(record: dict) -> list[str]:
    table = []
    reference = None
    for backend, result in C.completed(record):
        if "memory" not in result:
            continue
        reference = result["memory"]["python_list_bytes_per_entry"]
        for total, row in result["memory"]["variants"].items():
            table.append(
                [
                    backend,
                    f"{int(total):,}",
                    f"{row['retained_bytes']:,}",
                    f"{row['bytes_per_update']:.2f}",
                ]
            )
    if reference is None:
        return []
    headers = ["backend", "updates recorded", "retained (bytes)", "bytes per update"]
    return [
        "### Memory a step scheduler retains per update (`learning_rates`)",
        "",
        C.md_table(headers, table),
        "",
        "`WarmupCosineLR` on a one-weight model: the optimizer's counter is moved on by "
        f"{MEMORY_EPOCH} updates before each `on_epoch_end`, which records the LRs of the "
        "updates since the last one (a real `fit`'s recording path, without its steps). "
        "Retained: `tracemalloc`'s traced memory after `gc.collect()`, minus the same after "
        "the first record. `learning_rates` holds runs `(schedule, first update, count)` and "
        "reads their LRs from the schedule on demand, so it does not grow with the updates "
        "(what remains is per epoch end: the backend's caches); a Python list of floats, the "
        f"`learning_rates` of before, holds {reference:.1f} bytes per entry.",
        "",
    ]


def report(record: dict) -> str:
    lines = C.report_header(record, "Scheduler callback overhead in `fit`")
    lines += report_calls(record) + report_memory(record)
    lines += report_cost(record) + report_refit(record) + report_steady(record)
    lines += C.errors_block(record)
    return "\n".join(lines).rstrip()


def main(argv: list[str] | None = None) -> None:
    parser = C.make_parser(__doc__)
    parser.add_size("epochs", 4, 3, "epochs per fit; epochs 2..E are timed")
    parser.add_size("rounds", 9, 2, "interleaved rounds")
    parser.add_size("repeat", 10, 1, "passes over the data per epoch")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_size("refit-rounds", 7, 2, "interleaved rounds of repeated one-epoch fits")
    parser.add_argument(
        "--refit-batch-size",
        type=int,
        default=8,
        help="batch size of the repeated one-epoch fits (default 8: 225 steps)",
    )
    parser.add_size("cost-steps", 20, 5, "torch: steps of the shorter of the two counted fits")
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"comma-separated parts to run, of {', '.join(PARTS)} (default all)",
    )
    C.run_benchmark(__file__, parser, measure, report, argv)


if __name__ == "__main__":
    main()
