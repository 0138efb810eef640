"""The `keras-lr` command's work: the demo, schedule previews and the LR range test.

`keras_lr_cli.main` parses and checks the arguments (`keras_lr_cli.parser`,
the standard library only), then calls `COMMANDS[name](args)`. Each command
imports Keras, the backend, numpy and matplotlib inside the function.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import textwrap
import time
from collections.abc import Callable
from typing import Any

from keras_lr_cli.parser import CommandError, one_line

__all__ = ["COMMANDS", "run_demo", "run_find", "run_plot", "suggestion_methods"]

_SUGGESTION_NOTES = {
    "robust": "basin of the lag-free loss / 4, or the divergence fallback",
    "consensus": "geometric mean of valley, steepest and minimum",
    "valley": "middle of the longest descent of the loss",
    "steepest": "steepest descent of the loss against log(lr)",
    "minimum": "lowest loss / 10",
}


# ---------------------------------------------------------------- helpers
def suggestion_methods() -> tuple[tuple[str, ...], str]:
    """keras_lr's suggestion rules, in its order, and its default rule.

    From the rule registry, `keras_lr.core.rules` (numpy, no Keras).
    """
    from keras_lr.core import rules

    return tuple(rules.names()), rules.DEFAULT


def _pyplot() -> Any:
    """matplotlib.pyplot, on the headless Agg backend unless pyplot is already in use."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_figure(fig: Any, path: str) -> str:
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    try:
        fig.savefig(path, dpi=100)
    finally:
        _pyplot().close(fig)
    return path


def _status(message: str) -> None:
    print(message, flush=True)


def _fit_verbose() -> int:
    """Keras progress bars on a terminal, one line per epoch otherwise."""
    return 1 if sys.stdout.isatty() else 2


def _suggestions(finder: Any) -> dict[str, Any]:
    """Every suggestion of `finder`: a float, a (base, max) pair, or the reason it failed."""
    import warnings

    from keras_lr import core as suggest  # the suggestion code lives in keras_lr.core

    results: dict[str, Any] = {}
    with warnings.catch_warnings():  # the diagnosis line says why it is not reliable
        warnings.simplefilter("ignore", suggest.UnreliableSuggestionWarning)
        for method in suggestion_methods()[0]:
            try:
                results[method] = finder.suggestion(method)
            except ValueError as error:
                results[method] = error
        try:
            results["range"] = finder.suggest_range()
        except ValueError as error:
            results["range"] = error
    return results


def _print_suggestions(results: dict[str, Any]) -> None:
    default = suggestion_methods()[1]
    print("Suggested learning rates:")
    for method, value in results.items():
        if isinstance(value, Exception):
            text = f"n/a ({one_line(value)})"
        elif method == "range":
            text = f"{value[0]:.3g} .. {value[1]:.3g}  (base_lr, max_lr for CyclicLR)"
        else:
            note = _SUGGESTION_NOTES.get(method, "")
            if method == default:
                note = f"{note}; the default" if note else "the default"
            text = f"{value:<10.3g} ({note})"
        print(f"  {method:<9} {text}")


def _finder_figure(finder: Any, sma: int, trials: Any = None) -> Any:
    """The range test's loss and loss change; with `trials`, their curves in a third panel."""
    plt = _pyplot()
    panels = 2 if trials is None else 3
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4))
    finder.plot(ax=axes[0], show_raw=True)
    finder.plot_loss_change(sma=sma, ax=axes[1])
    axes[1].set_title(f"Rate of loss change (sma={sma})")
    if trials is not None:
        trials.plot(ax=axes[2])
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- plot
def run_plot(args: argparse.Namespace) -> None:
    """`keras-lr plot`: evaluates a schedule at steps 0 .. N-1, writes the figure (and CSV).

    Args:
        args: the parsed, checked arguments (`keras_lr_cli.parser`).

    Raises:
        CommandError: neither `--steps` nor `--total-steps` is given where one is needed.
        ValueError: the schedule class rejects an argument (Keras-style message).
    """
    import numpy as np

    from keras_lr import schedules
    from keras_lr.plotting import plot_schedule

    cls = getattr(schedules, args.schedule_class_name)
    kwargs = {
        name: getattr(args, "param_" + name)
        for name in args.schedule_params
        if getattr(args, "param_" + name) is not None
    }
    has_total = "total_steps" in args.schedule_params
    steps = args.steps
    if has_total and "total_steps" not in kwargs:
        if steps is None:
            raise CommandError(
                f"give --steps or --total-steps (see 'keras-lr plot {args.schedule} --help')"
            )
        kwargs["total_steps"] = steps
    if steps is None:
        if not has_total:
            raise CommandError(
                f"the following arguments are required: --steps "
                f"(see 'keras-lr plot {args.schedule} --help')"
            )
        steps = max(1, math.ceil(kwargs["total_steps"]))
    if "values" in kwargs:  # Piecewise's LRs; `--values` on the command line
        kwargs["values"] = list(kwargs["values"])
    schedule = cls(**kwargs)

    lrs = schedule.values(np.arange(steps))
    output = args.output or f"{args.schedule}.png"
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    plot_schedule(schedule, steps, ax=ax, log_y=args.log_y)
    ax.set_title(textwrap.fill(repr(schedule), 90), fontsize=8)
    fig.tight_layout()
    print(f"{args.schedule}: {schedule!r}")
    print(
        f"  {steps} steps; lr at step 0: {lrs[0]:.6g}, last: {lrs[-1]:.6g}, "
        f"min: {lrs.min():.6g}, max: {lrs.max():.6g}"
    )
    print(f"Wrote {_save_figure(fig, output)}")
    if args.csv:
        os.makedirs(os.path.dirname(os.path.abspath(args.csv)), exist_ok=True)
        with open(args.csv, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["step", "learning_rate"])
            writer.writerows((step, repr(float(lr))) for step, lr in enumerate(lrs))
        print(f"Wrote {args.csv}")


# ---------------------------------------------------------------- find
def _load_arrays(path: str, x_key: str, y_key: str | None) -> tuple[Any, Any]:
    import numpy as np

    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError):
        raise CommandError(
            f"cannot read {path}: not an .npz archive of arrays (write one with numpy.savez)"
        ) from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise CommandError(f"{path} holds a single array; save an .npz with numpy.savez")
    with data:
        keys = list(data.files)
        wanted = [("--x-key", x_key)] + ([("--y-key", y_key)] if y_key else [])
        for option, key in wanted:
            if key not in keys:
                raise CommandError(
                    f"{option} {key!r} is not in {path}; available keys: "
                    + (", ".join(repr(k) for k in keys) or "none")
                )
        x = data[x_key]
        y = data[y_key] if y_key else None
    _check_arrays(path, (("--x-key", x_key, x), ("--y-key", y_key, y)))
    return x, y


def _check_arrays(path: str, arrays: Any) -> None:
    """The arrays have samples, as many each, and finite numbers."""
    import numpy as np

    lengths = {}
    for option, key, array in arrays:
        if array is None:
            continue
        if array.ndim == 0 or len(array) == 0:
            raise CommandError(
                f"{option} {key!r} of {path} has no samples (shape {array.shape}); "
                "the range test needs at least one"
            )
        if array.dtype.kind in "fc" and not np.isfinite(array).all():
            bad = int(array.size - np.isfinite(array).sum())
            raise CommandError(
                f"{option} {key!r} of {path} holds {bad} NaN or infinite value(s); "
                "the range test needs finite inputs and targets"
            )
        if array.dtype.kind not in "biufc":
            raise CommandError(f"{option} {key!r} of {path} is not numeric (dtype {array.dtype})")
        lengths[key] = len(array)
    if len(set(lengths.values())) > 1:
        raise CommandError(
            f"the arrays of {path} differ in length: "
            + ", ".join(f"{key!r} has {n}" for key, n in lengths.items())
        )


def run_find(args: argparse.Namespace) -> None:
    """`keras-lr find`: the LR range test on a saved model and the arrays of an .npz file.

    Args:
        args: the parsed, checked arguments (`keras_lr_cli.parser`).

    Raises:
        CommandError: the data or the model cannot be used (unreadable, no samples,
            non-finite values, lengths that differ, no optimizer).
        ValueError: `LRFinder` rejects an argument (Keras-style message).
    """
    import keras

    import keras_lr.schedules  # noqa: F401  (registers keras_lr's classes for load_model)
    from keras_lr import LRFinder

    x, y = _load_arrays(args.data, args.x_key, args.y_key or None)
    finder = LRFinder(
        start_lr=args.start_lr,
        end_lr=args.end_lr,
        num_steps=args.num_steps,
        mode=args.mode,
        num_runs=args.num_runs,
        seed=args.seed,
        verbose=0 if args.quiet else _fit_verbose(),
    )
    if not args.quiet:
        _status(f"Loading {args.model} (backend: {keras.config.backend()})")
    try:
        model = keras.saving.load_model(args.model)
    except (ValueError, OSError, KeyError, TypeError) as error:
        raise CommandError(f"cannot load {args.model}: {one_line(error)}") from None
    if getattr(model, "optimizer", None) is None:
        raise CommandError(
            f"{args.model} was saved without an optimizer; compile the model before "
            "saving it (model.compile(optimizer=..., loss=...))"
        )
    if args.jit_compile != "saved":
        model.jit_compile = args.jit_compile == "on"
    elif keras.config.backend() == "torch" and model.jit_compile and not args.quiet:
        _status(
            "Note: the model was saved with jit_compile=True, which means torch.compile "
            "here; pass --jit-compile off to run it eagerly"
        )
    if not args.quiet:
        _status(
            f"LR range test: {args.num_steps} steps from {args.start_lr:g} to {args.end_lr:g} "
            f"on {len(x)} samples, batch size {args.batch_size}"
        )
    if args.seed is not None:  # one run draws its data order from the global generators
        keras.utils.set_random_seed(args.seed)
    finder.find(model, x, y, batch_size=args.batch_size)
    if args.num_runs > 1:
        print(f"Averaged {args.num_runs} runs: {len(finder.lrs)} points")
    else:
        print(f"Recorded {len(finder.lrs)} points; stopped because " + _stop_text(finder))
    print(f"Diagnosis: {finder.diagnosis.describe()}")
    _print_suggestions(_suggestions(finder))
    if args.num_runs > 1:
        verdict = "reliable" if finder.reliable else "NOT reliable"
        print(f"Spread of the suggestion over the runs: {finder.spread:.2f} decades: {verdict}")
    else:
        print("The suggestion is " + ("reliable." if finder.reliable else "NOT reliable."))
    trials = _run_trials(finder, model, x, y, args) if args.trials else None
    if args.output:
        print(f"Wrote {_save_figure(_finder_figure(finder, args.sma, trials), args.output)}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        finder.save(args.json)
        print(f"Wrote {args.json}")
    if trials is not None and args.trials_json:
        os.makedirs(os.path.dirname(os.path.abspath(args.trials_json)), exist_ok=True)
        trials.save(args.trials_json)
        print(f"Wrote {args.trials_json}")


def _run_trials(finder: Any, model: Any, x: Any, y: Any, args: argparse.Namespace) -> Any:
    """`--trials`: `finder.confirm(...)`, then its table (and the chosen LR) unless printed."""
    import warnings

    from keras_lr import core

    with warnings.catch_warnings():  # the table says why a choice is not reliable
        warnings.simplefilter("ignore", core.UnreliableSuggestionWarning)
        trials = finder.confirm(
            model, x, y, batch_size=args.batch_size, budget=args.trials_budget, seed=args.seed
        )
    if not finder.verbose:  # a verbose finder has printed it
        print(trials.summary())
    return trials


def _stop_text(finder: Any) -> str:
    text = {
        "diverged": "the loss diverged",
        "nan": "the loss was not finite",
        "num_steps": "all steps ran",
    }.get(finder.stop_reason, "training ended")
    stop_lr = finder.result.stop_lr if finder.result is not None else None
    return text if stop_lr is None else f"{text} at lr={stop_lr:.3g}"


# ---------------------------------------------------------------- demo
def synthetic_images(seed: int, num_samples: int = 1797, noise: float = 0.3) -> tuple[Any, Any]:
    """The demo's data: 10 classes of 8x8 images, made with numpy (no download).

    Each class is a random pattern: a 10x10 uniform field, summed over 3x3
    neighbourhoods, its brightest 35% set to 1. A sample is an 8x8 window of
    its class's pattern at a random offset (0-2 pixels each way), times a
    brightness in [0.5, 1], plus Gaussian noise (`noise`), clipped to [0, 1].
    A linear classifier gets about 85% of them right, a small MLP more: a
    task where the learning rate matters, like scikit-learn's digits.

    Args:
        seed: the random seed.
        num_samples: the number of images, about equally many per class.
        noise: the standard deviation of the noise.

    Returns:
        `(x, y)`: float32 images flattened to shape `(num_samples, 64)`, and
        int32 labels 0-9.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    patterns = np.zeros((10, 10, 10))
    for label in range(10):
        field = rng.random((10, 10))
        smooth = sum(
            np.roll(np.roll(field, i, axis=0), j, axis=1) for i in (-1, 0, 1) for j in (-1, 0, 1)
        )
        patterns[label] = smooth >= np.quantile(smooth, 0.65)
    y = rng.permutation(np.arange(num_samples) % 10)
    rows, cols = rng.integers(0, 3, size=(2, num_samples))
    x = np.stack([patterns[c, r : r + 8, k : k + 8] for c, r, k in zip(y, rows, cols)])
    x = x * rng.uniform(0.5, 1.0, size=(num_samples, 1, 1))
    x = np.clip(x + rng.normal(0.0, noise, size=x.shape), 0.0, 1.0)
    return x.reshape(num_samples, 64).astype("float32"), y.astype("int32")


def _demo_data(seed: int) -> tuple[Any, Any, Any, Any]:
    """`synthetic_images`, split 80/20 into training and validation."""
    x, y = synthetic_images(seed)
    split = int(0.8 * len(x))
    return x[:split], x[split:], y[:split], y[split:]


def _demo_model(kind: str) -> Any:
    import keras
    from keras import layers

    if kind == "cnn":
        model = keras.Sequential(
            [
                keras.Input((64,)),
                layers.Reshape((8, 8, 1)),
                layers.Conv2D(16, 3, padding="same", activation="relu"),
                layers.MaxPooling2D(),
                layers.Conv2D(32, 3, padding="same", activation="relu"),
                layers.GlobalAveragePooling2D(),
                layers.Dense(10, activation="softmax"),
            ],
            name="demo_cnn",
        )
    else:
        model = keras.Sequential(
            [
                keras.Input((64,)),
                layers.Dense(128, activation="relu"),
                layers.Dense(64, activation="relu"),
                layers.Dense(10, activation="softmax"),
            ],
            name="demo_mlp",
        )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def run_demo(args: argparse.Namespace) -> None:
    """`keras-lr demo`: range test, then warmup-cosine training at the suggestion.

    On `synthetic_images`; writes lr_finder.png, schedule.png, history.png and
    lr_finder.json into `args.out` and prints the validation accuracy.

    Args:
        args: the parsed, checked arguments (`keras_lr_cli.parser`).
    """
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    import keras

    if keras.config.backend() != "torch":
        _demo(args, out)
        return
    # A model this small runs fastest on one thread; on a busy CPU, PyTorch's
    # thread pool can be ten times slower. Put the setting back afterwards.
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _demo(args, out)
    finally:
        torch.set_num_threads(threads)


def _demo(args: argparse.Namespace, out: str) -> None:
    started = time.perf_counter()

    import keras

    import keras_lr

    def elapsed() -> str:
        return f"{time.perf_counter() - started:.1f}s"

    verbose = _fit_verbose()
    _status(f"keras-lr demo: Keras {keras.__version__} on {keras.config.backend()}")
    keras.utils.set_random_seed(args.seed)
    x_train, x_val, y_train, y_val = _demo_data(args.seed)
    _status(
        f"[1/4] Data: {len(x_train)} training and {len(x_val)} validation images (8x8, "
        "10 classes, generated); "
        f"a small {args.model.upper()} with Adam"
    )
    model = _demo_model(args.model)

    finder = keras_lr.LRFinder(
        start_lr=args.start_lr, end_lr=args.end_lr, num_steps=args.steps, verbose=verbose
    )
    _status(
        f"[2/4] LR range test: {args.steps} steps, lr from {args.start_lr:g} to "
        f"{args.end_lr:g} ({elapsed()})"
    )
    finder.find(model, x_train, y_train, batch_size=args.batch_size)
    results = _suggestions(finder)
    _print_suggestions(results)
    # The chosen suggestion, else the first one this (possibly short) test allows.
    methods = [args.suggestion] + [m for m in results if m not in (args.suggestion, "range")]
    method = next((m for m in methods if isinstance(results.get(m), float)), None)
    if method is None:
        peak_lr, method = 1e-3, "fallback"
        _status("      no suggestion from so short a test; using lr=1e-3 (try more --steps)")
    else:
        peak_lr = results[method]
        if method != args.suggestion:
            _status(f"      no {args.suggestion!r} suggestion from this test; using {method!r}")
    figure = _finder_figure(finder, sma=5)
    finder_png = _save_figure(figure, os.path.join(out, "lr_finder.png"))
    finder_json = os.path.join(out, "lr_finder.json")
    finder.save(finder_json)

    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    total_steps = args.epochs * steps_per_epoch
    warmup_steps = total_steps // 10
    scheduler = keras_lr.WarmupCosineLR(
        peak_lr=peak_lr,
        total_steps=total_steps,
        warmup_steps=warmup_steps,
        min_lr=peak_lr / 100,
    )
    logger = keras_lr.LRLogger(per_batch=True)
    _status(
        f"[3/4] Training {args.epochs} epoch{'s' if args.epochs != 1 else ''} ({total_steps} steps): warmup {warmup_steps} "
        f"steps to peak lr {peak_lr:.3g}, cosine down to {peak_lr / 100:.3g} ({elapsed()})"
    )
    history = model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(x_val, y_val),
        callbacks=[scheduler, logger],
        verbose=verbose,
    )

    _status(f"[4/4] Plots and evaluation ({elapsed()})")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    keras_lr.plot_schedule(scheduler.schedule, total_steps, ax=ax, label="WarmupCosine")
    ax.plot(
        logger.history["step"],
        logger.history["learning_rate"],
        ".",
        ms=3,
        color="C1",
        label="LR applied (LRLogger)",
    )
    ax.set_title(f"WarmupCosineLR, peak lr {peak_lr:.3g} (the range test's {method!r} suggestion)")
    ax.legend()
    fig.tight_layout()
    schedule_png = _save_figure(fig, os.path.join(out, "schedule.png"))

    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4))
    keras_lr.plot_history(history, keys=["loss", "val_loss"], ax=loss_ax)
    keras_lr.plot_history(history, keys=["accuracy", "val_accuracy"], ax=acc_ax)
    loss_ax.set_title("Loss")
    acc_ax.set_title("Accuracy")
    fig.tight_layout()
    history_png = _save_figure(fig, os.path.join(out, "history.png"))

    val_loss, val_accuracy = model.evaluate(x_val, y_val, verbose=0)
    print(f"Validation accuracy: {val_accuracy:.4f} (loss {val_loss:.4f})")
    print(f"Done in {elapsed()}. Files in {out}:")
    for path in (finder_png, schedule_png, history_png, finder_json):
        print(f"  {os.path.basename(path)}")


#: Each command's function, by name.
COMMANDS: dict[str, Callable[[argparse.Namespace], None]] = {
    "demo": run_demo,
    "find": run_find,
    "plot": run_plot,
}
