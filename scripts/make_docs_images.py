"""Makes the README's pictures from scikit-learn's bundled digits (no download).

    python scripts/make_docs_images.py                 # writes docs/images/*.png
    python scripts/make_docs_images.py --out /tmp/x    # anywhere else (what CI does)

Four PNGs, each well under 150 KB:

- `lr_finder.png`: a range test of a small MLP with Adam, `finder.plot()` with
  its suggestion;
- `schedules.png`: one small panel per schedule family, drawn with
  `keras_lr.plot_schedule(..., ax=...)`;
- `history.png`: training at the suggestion with `WarmupCosineLR`,
  `keras_lr.plot_history` with the LR on its twin axis;
- `momentum.png`: `OneCycleLR` and `CyclicLR` with `cycle_momentum=True`, the
  LR and the momentum (twin axis) drawn by `keras_lr.plot_schedule`.

    python scripts/make_docs_images.py --only momentum   # just that one (no training)

Any backend works (`KERAS_BACKEND`); the committed images were made on JAX. The
whole script takes a few seconds of training.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import keras_lr  # noqa: E402
from keras_lr import schedules  # noqa: E402

BATCH = 64
DPI = 100
SEED = 0


def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 1797 8x8 digits, scaled to [0, 1], split 80/20."""
    data = load_digits()
    x = (data.data / 16.0).astype("float32")
    y = data.target.astype("int32")
    return train_test_split(x, y, test_size=0.2, random_state=SEED, stratify=y)


def make_model() -> keras.Model:
    """A small MLP with Adam; the same initial weights on every call."""
    keras.utils.set_random_seed(SEED)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def save(fig: plt.Figure, out: str, name: str) -> str:
    path = os.path.join(out, name)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    print(f"  {path} ({os.path.getsize(path) / 1024:.0f} KB)")
    return path


def finder_image(out: str, model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """The range test and its suggestion; returns the suggested LR."""
    finder = keras_lr.LRFinder(start_lr=1e-6, end_lr=10.0, num_steps=150, verbose=0)
    finder.find(model, x, y, batch_size=BATCH)
    lr = finder.suggestion()
    fig, ax = plt.subplots(figsize=(7, 4))
    finder.plot(ax=ax, show_raw=True)
    # The raw losses explode past the minimum: keep the smoothed curve readable.
    ax.set_ylim(0, 2 * float(finder.losses[0]))
    ax.set_title("LR range test on digits (MLP + Adam): a ramp of 150 steps, 1e-6 to 10")
    fig.tight_layout()
    save(fig, out, "lr_finder.png")
    return lr


def schedules_image(out: str) -> None:
    """One small panel per schedule family."""
    total = 1000
    panels = [
        (
            "Exponential, floor 1e-4 (log)",
            schedules.Exponential(1e-2, 0.4, decay_steps=150, min_lr=1e-4),
            True,
        ),
        (
            "WarmupCosine, 3 cycles",
            schedules.WarmupCosine(
                1e-2,
                total,
                warmup_steps=100,
                min_lr=1e-4,
                cycles=3,
                cycle_mul=1.5,
                peak_mul=0.6,
            ),
            False,
        ),
        ("Cyclic, triangular", schedules.Cyclic(1e-3, 1e-2, 125, mode="triangular"), False),
        ("Cyclic, triangular2", schedules.Cyclic(1e-3, 1e-2, 125, mode="triangular2"), False),
        (
            "Cyclic, exp_range (gamma=0.998)",
            schedules.Cyclic(1e-3, 1e-2, 125, mode="exp_range", gamma=0.998),
            False,
        ),
        ("OneCycle", schedules.OneCycle(1e-2, total), False),
        ("Piecewise", schedules.Piecewise([400, 700, 900], [1e-2, 3e-3, 1e-3, 3e-4]), False),
        (
            "Warmup(Polynomial)",
            schedules.Warmup(schedules.Polynomial(1e-2, total, end_lr=1e-4, power=2.0), 150),
            False,
        ),
    ]
    fig, axes = plt.subplots(2, 4, figsize=(13, 5.2), sharex=True)
    for ax, (title, schedule, log_y) in zip(axes.flat, panels):
        keras_lr.plot_schedule(schedule, total, ax=ax, log_y=log_y)
        ax.set_title(title, fontsize=10)
        ax.tick_params(labelsize=8)
        ax.set_xlabel("step" if ax in axes[1] else "")
        ax.set_ylabel("learning rate" if ax in axes[:, 0] else "")
    fig.suptitle("keras_lr.schedules, drawn with keras_lr.plot_schedule (1000 steps)")
    fig.tight_layout()
    save(fig, out, "schedules.png")


def history_image(
    out: str, model: keras.Model, data: tuple[np.ndarray, ...], peak_lr: float, epochs: int
) -> None:
    """Training at the suggestion, with the LR on a twin axis."""
    x_train, x_val, y_train, y_val = data
    total = epochs * math.ceil(len(x_train) / BATCH)
    scheduler = keras_lr.WarmupCosineLR(
        peak_lr, total, warmup_steps=total // 10, min_lr=peak_lr / 100
    )
    history = model.fit(
        x_train,
        y_train,
        batch_size=BATCH,
        epochs=epochs,
        validation_data=(x_val, y_val),
        callbacks=[scheduler],
        verbose=0,
    )
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 3.8))
    keras_lr.plot_history(history, keys=["loss", "val_loss"], ax=loss_ax)
    keras_lr.plot_history(history, keys=["accuracy", "val_accuracy"], ax=acc_ax)
    loss_ax.set(title="Loss", ylabel="loss", yscale="log")
    acc_ax.set(title="Accuracy", ylabel="accuracy")
    for ax, where in ((loss_ax, "lower left"), (acc_ax, "lower center")):
        # One legend for the metrics and the LR's dotted line on the twin axis.
        handles, labels = ax.get_legend_handles_labels()
        lr_handles, lr_labels = ax.lr_axis.get_legend_handles_labels()
        ax.legend(handles + lr_handles, labels + lr_labels, loc=where, fontsize=9)
    fig.suptitle(
        f"WarmupCosineLR peaking at the range test's suggestion ({peak_lr:.2e}), {epochs} epochs"
    )
    fig.tight_layout()
    save(fig, out, "history.png")


def momentum_image(out: str) -> None:
    """The LR and the cycled momentum of OneCycleLR and CyclicLR, PyTorch's default bounds."""
    total = 1000
    panels = [
        ("OneCycleLR(cycle_momentum=True)", keras_lr.OneCycleLR(1e-2, total, cycle_momentum=True)),
        (
            "OneCycleLR(three_phase=True, anneal_strategy='linear')",
            keras_lr.OneCycleLR(
                1e-2, total, three_phase=True, anneal_strategy="linear", cycle_momentum=True
            ),
        ),
        (
            "CyclicLR(mode='triangular2', cycle_momentum=True)",
            keras_lr.CyclicLR(1e-3, 1e-2, 125, mode="triangular2", cycle_momentum=True),
        ),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, (title, callback) in zip(axes, panels):
        keras_lr.plot_schedule(callback, total, ax=ax)
        ax.set_title(title, fontsize=10)
        ax.tick_params(labelsize=8)
        ax.momentum_axis.tick_params(labelsize=8)
        ax.momentum_axis.set_ylim(0.78, 0.97)
    fig.suptitle(
        "Momentum cycled against the LR (Smith 2018), as PyTorch: momentum (SGD, RMSprop) "
        "or beta_1 (Adam-type)"
    )
    fig.tight_layout()
    save(fig, out, "momentum.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("docs", "images"), help="output folder")
    parser.add_argument("--epochs", type=int, default=15, help="training epochs")
    parser.add_argument(
        "--only", choices=["momentum"], help="write just this picture (it needs no training)"
    )
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    print(f"Keras {keras.__version__} on {keras.config.backend()}: writing to {args.out}")
    if args.only == "momentum":
        momentum_image(args.out)
        return 0
    data = digits()
    model = make_model()
    lr = finder_image(args.out, model, data[0], data[2])  # the model is restored after
    schedules_image(args.out)
    history_image(args.out, model, data, lr, args.epochs)
    momentum_image(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
