"""The tasks of the suggestion-quality benchmark and their fixed dev/test split.

Sixteen small training tasks, each with its data (a fixed train/validation
split), its model, its optimizer and its training budget (epochs, batch
size). A training run's score is the best validation score over its epochs:
accuracy for classification, R^2 floored at 0 for regression.

Families covered: MLPs (plain, BatchNorm, LayerNorm, a deep tanh net), 2-D
CNNs (digits 8x8 images, with and without BatchNorm), 1-D CNNs (synthetic
signals with a motif), recurrent models (GRU and LSTM on long-range synthetic
sequence tasks: remember the first token, the adding problem), attention (a
tiny transformer block: MultiHeadAttention + LayerNorm + feed-forward), on
classification and regression, with Adam, AdamW, RMSprop, SGD (no momentum)
and SGD with momentum 0.9.

Data: scikit-learn's bundled `load_digits`, `load_breast_cancer`,
`load_wine`, `load_diabetes`, sklearn's `make_friedman1` generator, and
synthetic sequences drawn from `np.random.default_rng(<fixed seed>)`. Every
task has one fixed split (`random_state=0` / fixed generator seeds).

THE DEV/TEST SPLIT (fixed; written and committed before any finder curve or
grid score was computed, and never changed afterwards):

    dev (9)                         test (9)
    digits-mlp-bn-adam              breast-cancer-mlp-bn-adamw
    breast-cancer-mlp-ln-sgdm       friedman-mlp-ln-adam        (regression)
    diabetes-mlp-rmsprop  (regr.)   wine-mlp-sgdm
    digits-cnn2d-bn-sgdm            digits-cnn2d-rmsprop
    motifs-cnn1d-sgd                motifs-cnn1d-bn-adamw
    friedman-tanh-deep-sgd (regr.)  digits-tanh-deep-sgd
    firsttoken40-gru-adam           firsttoken30-lstm-rmsprop
    adding30-gru-rmsprop  (regr.)   adding40-lstm-adam          (regression)
    majority-attn-adamw             firsttoken20-attn-rmsprop

Rules and their constants are chosen on the "dev" half only; the "test" half
judges them. The halves are balanced by construction, family by family, so
that neither half is easier or narrower than the other; each half has:

- MLPs on bundled datasets: one with BatchNorm, one with LayerNorm, one plain,
- a 2-D CNN on digits images (with BatchNorm + SGD momentum in dev, without
  normalization + RMSprop in test),
- a 1-D CNN on synthetic motifs (plain SGD in dev, BatchNorm + AdamW in test),
- a deep tanh MLP (6 x 64) with plain SGD (regression in dev, classification
  in test),
- two recurrent long-range tasks designed to show a flat-then-diverging range
  test ("remember the first token" and the adding problem; GRU in dev, LSTM
  in test),
- an attention model (a tiny transformer block; AdamW in dev, RMSprop in test),
- regression tasks (3 in dev, 2 in test) and classification tasks,
- every optimizer: Adam, AdamW, RMSprop, SGD without momentum, SGD with
  momentum 0.9.

Where a family had two natural variants, they were split across the halves
in the order they were written down, not by outcome. Before committing, the
tasks were only checked for run time and for being learnable at all at one
or two hand-picked LRs (no range test, no grid, no suggestion rule was
looked at). Three candidate tasks were dropped at that check, before the
split was committed, because no hand-picked LR trained them within the
budget: an associative-recall attention task, an LSTM "first token" task with
SGD momentum, and the adding problem with a 10-epoch budget (now 15 epochs).

THE HOLDOUT GROUP (6 tasks, half "holdout"): a third group added after a
rule had been chosen on dev and evaluated once on test, to judge a revised
rule on tasks nobody had looked at. Written and committed before any of their
finder curves or grid scores was computed, and never shown by default:
`tasks_of()`, `rescore.py` and `suggestion_quality.py` (confirm, report) use
dev and test only; the holdout tasks are selected only with "holdout", "all"
or their names (`rescore.py --half holdout|all`, `--tasks holdout|all`).

    holdout (6)
    firsttoken25-gru-adamw      GRU long-range (first token of 25, 5 tokens)
    marked30-lstm-adam          LSTM long-range (recall the token marked in the first half of 30)
    lasttoken16-attn-adam       attention (the last of 16 token ids)
    digits-cnn2d-sgd            2-D CNN, plain SGD
    digits-mlp-rmsprop          MLP
    friedman-mlp-sgdm           MLP regression

Balanced like the other halves: two recurrent long-range tasks designed to
show a flat-then-diverging range test, one attention model, one CNN, one MLP
classification and one regression, covering all five optimizers (an
optimizer not used by the existing tasks of the same family where possible:
attention with Adam, a CNN on digits with plain SGD, digits MLP with
RMSprop, Friedman with SGD momentum; a new sequence task for the LSTM). They were
checked only for run time and for being learnable at one or two hand-picked
LRs (no range test, no grid, no suggestion rule). Two candidates were dropped
at that check: the GRU first-token task with SGD momentum 0.9 (chance level
at 0.1 and 0.03; replaced by AdamW, which began to learn it only in the
10th epoch at 3e-3, hence a 15-epoch budget as for adding40-lstm-adam; SGD
momentum then went to the regression task, planned with AdamW), and an
attention task "does the first token occur again" (chance level at 1e-3 and
3e-3; replaced by the last token).

THE FRESH GROUP (12 tasks, half "fresh"): a fourth group, added in a later
session after every earlier task (dev, test, holdout) had been seen and
scored. From then on all 24 earlier tasks are the development set (rules
and constants are chosen on them), and this group is the one clean test.
Written and committed before any of its finder curves or grid scores was
computed, and before the rule it judges was chosen; not even checked for
learnability by hand. Instead, an exclusion rule fixed in advance: a task
whose grid-best seed-mean score is below chance + 0.1 (classification:
1/classes + 0.1; regression: R^2 0.1) is not learnable within its budget
and is dropped from the scores, and reported as dropped. One grid
extension, also fixed in advance: when the grid-best LR is at an edge of
the grid, the grid is widened by one decade at that edge, once.

    fresh (12)
    breast-cancer-mlp-adam      MLP, Adam
    wine-mlp-ln-rmsprop         MLP+LayerNorm, RMSprop
    diabetes-mlp-bn-sgdm        MLP+BatchNorm regression, SGD momentum
    digits-cnn2d-bn-adamw       2-D CNN+BatchNorm, AdamW
    motifs-cnn1d-rmsprop        1-D CNN, RMSprop
    digits-mlp-ln-sgd           MLP+LayerNorm, plain SGD
    friedman-tanh-deep-sgdm     deep tanh MLP regression, SGD momentum
    firsttoken35-gru-rmsprop    GRU long-range (first token of 35)
    adding35-gru-adamw          GRU long-range regression (adding problem)
    marked24-lstm-rmsprop       LSTM long-range (the marked token)
    firsttoken16-attn-adam      attention (first token of 16 ids)
    majority20-attn-sgdm        attention (majority token), SGD momentum

Families as in the other groups (new data seeds for every synthetic task,
new model x optimizer pairs), with five sequence/attention tasks, where
range tests tend to stay flat: the hard case, weighted more than in the
earlier halves on purpose.

THE FRESH2 GROUP (12 tasks, half "fresh2"): a fifth group, written down after
the fresh group had been scored and the rule revised on all 36 tasks seen
(the revision: plain SGD's basin margin, / 2 instead of / 4), and committed
before any of its curves or grid scores was computed. Scored once, it judged
both the revised rule and the rule before it (frozen before this group was
written): the revision scored lower (0.961 vs 0.978) and was reverted. The same exclusion and grid-extension
rules as for the fresh group. Selected only by its name ("fresh2").

    fresh2 (12)
    digits-mlp-sgdm             MLP, SGD momentum
    breast-cancer-mlp-ln-adamw  MLP+LayerNorm, AdamW
    wine-mlp-bn-sgd             MLP+BatchNorm, plain SGD
    diabetes-mlp-ln-adam        MLP+LayerNorm regression, Adam
    friedman-mlp-bn-rmsprop     MLP+BatchNorm regression, RMSprop
    digits-cnn2d-sgdm           2-D CNN, SGD momentum
    motifs-cnn1d-bn-sgd         1-D CNN+BatchNorm, plain SGD
    digits-tanh-deep-sgdm       deep tanh MLP, SGD momentum
    firsttoken30-gru-adam       GRU long-range (first token of 30, 5 tokens)
    adding30-lstm-rmsprop       LSTM long-range regression (adding problem)
    marked20-gru-adamw          GRU long-range (the marked token)
    majority16-attn-adam        attention (majority token)

THE FRESH3 GROUP (12 tasks, half "fresh3"): a sixth group, written down after
fresh2 had been scored, while a revision of the basin reading was being
chosen on all 48 tasks seen, and committed before any of its curves or grid
scores was computed (the rule it judges is committed before it is scored).
The same exclusion and grid-extension rules. Selected only by its name.

    fresh3 (12)
    digits-mlp-ln-adam            MLP+LayerNorm, Adam
    breast-cancer-mlp-bn-rmsprop  MLP+BatchNorm, RMSprop
    wine-mlp-adamw                MLP, AdamW
    diabetes-mlp-sgdm             MLP regression, SGD momentum
    friedman-mlp-ln-sgd           MLP+LayerNorm regression, plain SGD
    digits-cnn2d-bn-rmsprop       2-D CNN+BatchNorm, RMSprop
    motifs-cnn1d-adam             1-D CNN, Adam
    digits-tanh-deep-adam         deep tanh MLP, Adam
    firsttoken25-lstm-adamw       LSTM long-range (first token of 25)
    adding25-gru-adam             GRU long-range regression (adding problem)
    marked20-gru-rmsprop          GRU long-range (the marked token, 5 tokens)
    lasttoken12-attn-adamw        attention (the last of 12 token ids, 8 tokens)

THE TRIALS GROUP (12 tasks, half "trials"): a seventh group, written down to
judge the short LR trials (`LRFinder.confirm`, `benchmarks/trials.py`) after
all 60 earlier tasks had been seen; committed before any of its curves, grid
scores or trial results was computed, and before the trials' constants
(candidate spacing, budget, scoring) were chosen on the 60 earlier tasks.
The same exclusion rule as the fresh groups (grid-best below chance + 0.1 is
dropped and reported); the grid extension at an edge is applied once if time
allows (otherwise reported as not done). Selected only by its name.

    trials (12)
    digits-mlp-adamw              MLP, AdamW
    breast-cancer-mlp-sgd         MLP, plain SGD
    wine-mlp-ln-sgdm              MLP+LayerNorm, SGD momentum
    diabetes-mlp-ln-rmsprop       MLP+LayerNorm regression, RMSprop
    friedman-mlp-adamw            MLP regression, AdamW
    digits-cnn2d-adam             2-D CNN, Adam
    motifs-cnn1d-bn-rmsprop       1-D CNN+BatchNorm, RMSprop
    digits-tanh-deep-rmsprop      deep tanh MLP, RMSprop
    firsttoken30-lstm-adam        LSTM long-range (first token of 30)
    adding30-gru-adam             GRU long-range regression (adding problem)
    marked24-gru-adam             GRU long-range (the marked token)
    majority20-attn-rmsprop       attention (majority token), RMSprop

THE TRIALS2 GROUP (12 tasks, half "trials2"): an eighth group, written down to
judge the revised trials after the trials group had been scored once (it is
development data from then on); committed before any of its curves, grid
scores or trial results was computed, and before the revision of the trials
(the candidates, the budget, the choice and its reliability) was chosen on
the 72 earlier tasks. The same exclusion rule; the grid has 2 grid seeds.
Selected only by its name.

    trials2 (12)
    digits-cnn2d-bn-adam          2-D CNN+BatchNorm, Adam
    breast-cancer-mlp-rmsprop     MLP, RMSprop
    wine-mlp-ln-adam              MLP+LayerNorm, Adam
    diabetes-mlp-adamw            MLP regression, AdamW
    friedman-tanh-deep-rmsprop    deep tanh MLP regression, RMSprop
    motifs-cnn1d-sgdm             1-D CNN, SGD momentum
    digits-tanh-deep-adamw        deep tanh MLP, AdamW
    firsttoken35-lstm-adamw       LSTM long-range (first token of 35)
    adding35-lstm-adam            LSTM long-range regression (adding problem)
    marked24-gru-rmsprop          GRU long-range (the marked token)
    firsttoken25-gru-adam         GRU long-range (first token of 25, 5 tokens)
    majority24-attn-adamw         attention (majority token), AdamW
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from _common import Split, loss_for

DEV, TEST, HOLDOUT = "dev", "test", "holdout"
FRESH, FRESH2, FRESH3 = "fresh", "fresh2", "fresh3"
TRIALS, TRIALS2 = "trials", "trials2"
# The halves shown by default (reports, rescore, confirm): dev and test. The
# held-out third group is only ever selected when asked for by name
# ("holdout") or with "all" (see `tasks_of`). The fresh group is selected only
# by its own name ("fresh"), never by "all": "all" is everything already seen.
HALVES = (DEV, TEST)
ALL_HALVES = (DEV, TEST, HOLDOUT)
GROUPS = (*ALL_HALVES, FRESH, FRESH2, FRESH3, TRIALS, TRIALS2)
OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd", "sgdm")
#: Keras' default LR of each optimizer (what a user gets with no finder at all).
DEFAULT_LRS = {"adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "sgd": 1e-2, "sgdm": 1e-2}
# Grid decades per optimizer family: half-decade spacing, 1e-5..3 for the
# adaptive ones and 1e-4..30 for SGD (widened per task where needed).
GRID_DECADES = {
    "adam": (-5.0, 0.5),
    "adamw": (-5.0, 0.5),
    "rmsprop": (-5.0, 0.5),
    "sgd": (-4.0, 1.5),
    "sgdm": (-4.0, 1.5),
}


@dataclass(frozen=True)
class Task:
    """One benchmark task.

    Attributes:
        name: unique name.
        half: "dev", "test", "holdout" or "fresh" (fixed, see the module docstring).
        data: a key of `DATA`.
        model: a key of `MODELS`.
        optimizer: one of `OPTIMIZERS`.
        epochs: the training budget of every run.
        batch_size: the batch size of every run and range test.
        family: a short description for the reports.
        expect_flat: whether the task was designed to have a flat-then-diverging
            range test (the measured flag is reported separately).
        grid: (low, high) log10 decades of the LR grid, or None for the
            optimizer's default (`GRID_DECADES`).
    """

    name: str
    half: str
    data: str
    model: str
    optimizer: str
    epochs: int
    batch_size: int
    family: str
    expect_flat: bool = False
    grid: tuple[float, float] | None = None

    def grid_lrs(self) -> np.ndarray:
        low, high = self.grid or GRID_DECADES[self.optimizer]
        points = int(round((high - low) * 2)) + 1
        return np.logspace(low, high, points)


# ------------------------------------------------------------------ data
def _standardize(train: np.ndarray, val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return ((train - mean) / std).astype("float32"), ((val - mean) / std).astype("float32")


def _split(x: np.ndarray, y: np.ndarray, regression: bool, *, standardize_x: bool) -> Split:
    from sklearn.model_selection import train_test_split

    x_tr, x_va, y_tr, y_va = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=None if regression else y
    )
    if standardize_x:
        x_tr, x_va = _standardize(x_tr, x_va)
    x_tr, x_va = x_tr.astype("float32"), x_va.astype("float32")
    if regression:
        y_tr, y_va = (v[:, 0] for v in _standardize(y_tr[:, None], y_va[:, None]))
        return Split(x_tr, y_tr, x_va, y_va, "regression", 0)
    return Split(
        x_tr, y_tr.astype("int32"), x_va, y_va.astype("int32"), "classification", int(y.max()) + 1
    )


def _sklearn(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True)


def digits_flat() -> Split:
    x, y = _sklearn("digits")
    return _split(x / 16.0, y, False, standardize_x=False)


def digits_images() -> Split:
    x, y = _sklearn("digits")
    return _split((x / 16.0).reshape(-1, 8, 8, 1), y, False, standardize_x=False)


def bundled(name: str, regression: bool = False) -> Callable[[], Split]:
    def load() -> Split:
        x, y = _sklearn(name)
        return _split(x, y, regression, standardize_x=True)

    return load


def friedman() -> Split:
    """sklearn's Friedman #1 function of 10 features (5 informative), noise 0.5, 2000 samples."""
    from sklearn.datasets import make_friedman1

    x, y = make_friedman1(n_samples=2000, n_features=10, noise=0.5, random_state=0)
    return _split(x, y, True, standardize_x=True)


def first_token(
    length: int, tokens: int, n: int = 2000, seed: int = 1, ids: bool = False
) -> Callable[[], Split]:
    """Remember the first token: sequences of `length` random tokens; label = token 0.

    One-hot vectors (or integer ids with `ids=True`, for embedding models).
    Long-range for a recurrent model: the answer is at the start, the loss
    sits at chance level (log(tokens)) until the state learns to carry it.
    """

    def load() -> Split:
        rng = np.random.default_rng(seed)
        seq = rng.integers(0, tokens, size=(n, length))
        x = seq.astype("float32") if ids else np.eye(tokens, dtype="float32")[seq]
        return _split(x, seq[:, 0], False, standardize_x=False)

    return load


def adding(length: int, n: int = 2000, seed: int = 2) -> Callable[[], Split]:
    """The adding problem (Hochreiter & Schmidhuber): sum of the two marked values.

    Channel 0: uniform values in [0, 1); channel 1: a marker at one position in
    the first half and one in the second half. Target: the sum of the two
    marked values (standardized). Predicting the mean gives R^2 = 0.
    """

    def load() -> Split:
        rng = np.random.default_rng(seed)
        values = rng.random((n, length))
        first = rng.integers(0, length // 2, size=n)
        second = rng.integers(length // 2, length, size=n)
        marks = np.zeros((n, length))
        marks[np.arange(n), first] = 1.0
        marks[np.arange(n), second] = 1.0
        x = np.stack([values, marks], axis=-1).astype("float32")
        y = (values * marks).sum(axis=1)
        return _split(x, y, True, standardize_x=False)

    return load


def motifs(length: int = 64, classes: int = 4, n: int = 2000, seed: int = 3) -> Callable[[], Split]:
    """1-D signals: Gaussian noise with one of `classes` 8-sample motifs at a random place."""

    def load() -> Split:
        rng = np.random.default_rng(seed)
        shapes = rng.normal(size=(classes, 8)) * 1.5
        y = rng.integers(0, classes, size=n)
        x = rng.normal(size=(n, length, 1))
        where = rng.integers(0, length - 8, size=n)
        for i in range(n):
            x[i, where[i] : where[i] + 8, 0] += shapes[y[i]]
        return _split(x, y, False, standardize_x=False)

    return load


def marked_token(length: int, tokens: int, n: int = 2000, seed: int = 22) -> Callable[[], Split]:
    """Recall the marked token: one-hot tokens plus a marker channel; label = the marked token.

    One position in the first half of the sequence is marked (channel
    `tokens`); the label is the token at that position. Long-range for a
    recurrent model: the answer lies 15-30 steps before the end; chance level
    until the state learns to latch the marked token.
    """

    def load() -> Split:
        rng = np.random.default_rng(seed)
        seq = rng.integers(0, tokens, size=(n, length))
        where = rng.integers(0, length // 2, size=n)
        x = np.zeros((n, length, tokens + 1), dtype="float32")
        x[..., :tokens] = np.eye(tokens, dtype="float32")[seq]
        x[np.arange(n), where, tokens] = 1.0
        return _split(x, seq[np.arange(n), where], False, standardize_x=False)

    return load


def last_token(
    length: int = 16, tokens: int = 6, n: int = 2000, seed: int = 24
) -> Callable[[], Split]:
    """Token sequences (integer ids); label = the last token (the first token's mirror task)."""

    def load() -> Split:
        rng = np.random.default_rng(seed)
        seq = rng.integers(0, tokens, size=(n, length))
        return _split(seq.astype("float32"), seq[:, -1], False, standardize_x=False)

    return load


def majority(
    length: int = 24, tokens: int = 6, n: int = 2000, seed: int = 4
) -> Callable[[], Split]:
    """Token sequences (integer ids); label = the most frequent token (smallest id on ties)."""

    def load() -> Split:
        rng = np.random.default_rng(seed)
        seq = rng.integers(0, tokens, size=(n, length))
        counts = np.stack([(seq == t).sum(axis=1) for t in range(tokens)], axis=1)
        return _split(seq.astype("float32"), counts.argmax(axis=1), False, standardize_x=False)

    return load


DATA: dict[str, Callable[[], Split]] = {}
DATA.update(
    {
        "digits": digits_flat,
        "digits_images": digits_images,
        "breast_cancer": bundled("breast_cancer"),
        "wine": bundled("wine"),
        "diabetes": bundled("diabetes", regression=True),
        "friedman": friedman,
        "first_token_40": first_token(40, 4),
        "first_token_30": first_token(30, 4, seed=11),
        "adding_30": adding(30),
        "adding_40": adding(40, seed=12),
        "motifs": motifs(),
        "motifs_b": motifs(seed=13),
        "majority": majority(),
        "first_token_ids": first_token(20, 8, seed=14, ids=True),
        # the held-out group
        "first_token_25": first_token(25, 5, seed=21),
        "marked_30": marked_token(30, 4),
        "last_token_ids": last_token(),
        # the fresh group
        "motifs_c": motifs(seed=31),
        "first_token_35": first_token(35, 4, seed=32),
        "adding_35": adding(35, seed=33),
        "marked_24": marked_token(24, 5, seed=34),
        "first_token_ids_16": first_token(16, 6, seed=35, ids=True),
        "majority_20": majority(20, 6, seed=36),
        # the fresh2 group
        "motifs_d": motifs(seed=41),
        "first_token_30b": first_token(30, 5, seed=42),
        "adding_30b": adding(30, seed=43),
        "marked_20": marked_token(20, 4, seed=44),
        "majority_16": majority(16, 6, seed=45),
        # the fresh3 group
        "motifs_e": motifs(seed=51),
        "first_token_25b": first_token(25, 4, seed=52),
        "adding_25": adding(25, seed=53),
        "marked_20b": marked_token(20, 5, seed=54),
        "last_token_12": last_token(12, 8, seed=55),
        # the trials group
        "motifs_f": motifs(seed=61),
        "first_token_30c": first_token(30, 4, seed=62),
        "adding_30c": adding(30, seed=63),
        "marked_24b": marked_token(24, 4, seed=64),
        "majority_20b": majority(20, 6, seed=65),
        # the trials2 group
        "motifs_g": motifs(seed=71),
        "first_token_35b": first_token(35, 4, seed=72),
        "adding_35b": adding(35, seed=73),
        "marked_24c": marked_token(24, 4, seed=74),
        "majority_24": majority(24, 6, seed=75),
        "first_token_25c": first_token(25, 5, seed=76),
    }
)


# ------------------------------------------------------------------ models
def _mlp(hidden: Sequence[int], activation: str = "relu", norm: str | None = None) -> Callable:
    def build(input_shape: tuple, outputs: int) -> Any:
        import keras

        layers: list[Any] = [keras.Input(input_shape)]
        for units in hidden:
            if norm is None:
                layers.append(keras.layers.Dense(units, activation=activation))
                continue
            layers.append(keras.layers.Dense(units, use_bias=False))
            layers.append(
                keras.layers.BatchNormalization()
                if norm == "batch"
                else keras.layers.LayerNormalization()
            )
            layers.append(keras.layers.Activation(activation))
        return keras.Sequential([*layers, keras.layers.Dense(outputs)])

    return build


def _cnn2d(batchnorm: bool) -> Callable:
    def build(input_shape: tuple, outputs: int) -> Any:
        import keras

        layers: list[Any] = [keras.Input(input_shape)]
        for filters in (16, 32):
            if batchnorm:
                layers += [
                    keras.layers.Conv2D(filters, 3, padding="same", use_bias=False),
                    keras.layers.BatchNormalization(),
                    keras.layers.ReLU(),
                ]
            else:
                layers.append(keras.layers.Conv2D(filters, 3, padding="same", activation="relu"))
        layers += [
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(outputs),
        ]
        return keras.Sequential(layers)

    return build


def _cnn1d(batchnorm: bool) -> Callable:
    def build(input_shape: tuple, outputs: int) -> Any:
        import keras

        layers: list[Any] = [keras.Input(input_shape)]
        for filters in (16, 32):
            if batchnorm:
                layers += [
                    keras.layers.Conv1D(filters, 5, padding="same", use_bias=False),
                    keras.layers.BatchNormalization(),
                    keras.layers.ReLU(),
                ]
            else:
                layers.append(keras.layers.Conv1D(filters, 5, padding="same", activation="relu"))
            layers.append(keras.layers.MaxPooling1D(2))
        layers += [keras.layers.GlobalMaxPooling1D(), keras.layers.Dense(outputs)]
        return keras.Sequential(layers)

    return build


def _rnn(cell: str, units: int = 32) -> Callable:
    def build(input_shape: tuple, outputs: int) -> Any:
        import keras

        layer = keras.layers.GRU if cell == "gru" else keras.layers.LSTM
        return keras.Sequential(
            [keras.Input(input_shape), layer(units), keras.layers.Dense(outputs)]
        )

    return build


def _transformer(tokens: int, dim: int = 32, heads: int = 2) -> Callable:
    """Token + position embedding, one post-norm transformer block, mean pooling."""

    def build(input_shape: tuple, outputs: int) -> Any:
        import keras

        length = input_shape[0]
        inputs = keras.Input(input_shape)
        ids = keras.layers.Lambda(lambda t: keras.ops.cast(t, "int32"))(inputs)
        h = keras.layers.Embedding(tokens, dim)(ids)
        positions = _PositionEmbedding(length, dim)(h)
        h = keras.layers.Add()([h, positions])
        attended = keras.layers.MultiHeadAttention(heads, dim // heads)(h, h)
        h = keras.layers.LayerNormalization()(keras.layers.Add()([h, attended]))
        ff = keras.layers.Dense(2 * dim, activation="relu")(h)
        ff = keras.layers.Dense(dim)(ff)
        h = keras.layers.LayerNormalization()(keras.layers.Add()([h, ff]))
        h = keras.layers.GlobalAveragePooling1D()(h)
        return keras.Model(inputs, keras.layers.Dense(outputs)(h))

    return build


class _PositionEmbeddingFactory:
    """Builds the learned position-embedding layer lazily (Keras is imported late)."""

    cls: Any = None

    def __call__(self, length: int, dim: int) -> Any:
        if self.cls is None:
            import keras

            class PositionEmbedding(keras.layers.Layer):
                def __init__(self, length: int, dim: int, **kwargs: Any) -> None:
                    super().__init__(**kwargs)
                    self.length, self.dim = length, dim

                def build(self, input_shape: Any) -> None:
                    self.table = self.add_weight(
                        shape=(self.length, self.dim), initializer="glorot_uniform", name="table"
                    )

                def call(self, x: Any) -> Any:
                    return keras.ops.zeros_like(x) + self.table[None, :, :]

            type(self).cls = PositionEmbedding
        return self.cls(length, dim)


_PositionEmbedding = _PositionEmbeddingFactory()

MODELS: dict[str, Callable] = {
    "mlp": _mlp((64, 64)),
    "mlp_bn": _mlp((64, 64), norm="batch"),
    "mlp_ln": _mlp((64, 64), norm="layer"),
    "mlp_tanh_deep": _mlp((64,) * 6, activation="tanh"),
    "cnn2d_bn": _cnn2d(True),
    "cnn2d": _cnn2d(False),
    "cnn1d": _cnn1d(False),
    "cnn1d_bn": _cnn1d(True),
    "gru": _rnn("gru"),
    "lstm": _rnn("lstm"),
    "transformer6": _transformer(6),
    "transformer8": _transformer(8),
}


def make_optimizer(name: str, learning_rate: float) -> Any:
    import keras

    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=0.01)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    if name == "sgdm":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    raise ValueError(f"unknown optimizer {name!r}")


def build_model(task: Task, split: Split, seed: int, lr: float = 1e-3) -> Any:
    """A fresh compiled model of `task`, initialized under `keras.utils.set_random_seed(seed)`."""
    import keras

    keras.utils.set_random_seed(seed)
    model = MODELS[task.model](tuple(split.x_train.shape[1:]), split.classes or 1)
    model.compile(optimizer=make_optimizer(task.optimizer, lr), loss=loss_for(split.kind))
    return model


# ------------------------------------------------------------------ the tasks
_TASKS = (
    # ---- dev
    Task("digits-mlp-bn-adam", DEV, "digits", "mlp_bn", "adam", 10, 32, "MLP+BatchNorm"),
    Task("diabetes-mlp-rmsprop", DEV, "diabetes", "mlp", "rmsprop", 30, 32, "MLP regression"),
    Task("digits-cnn2d-bn-sgdm", DEV, "digits_images", "cnn2d_bn", "sgdm", 8, 32, "2-D CNN+BN"),
    Task("motifs-cnn1d-sgd", DEV, "motifs", "cnn1d", "sgd", 10, 32, "1-D CNN"),
    Task(
        "friedman-tanh-deep-sgd",
        DEV,
        "friedman",
        "mlp_tanh_deep",
        "sgd",
        15,
        32,
        "deep tanh MLP regression",
    ),
    Task(
        "firsttoken40-gru-adam",
        DEV,
        "first_token_40",
        "gru",
        "adam",
        10,
        32,
        "GRU long-range",
        expect_flat=True,
    ),
    Task(
        "adding30-gru-rmsprop",
        DEV,
        "adding_30",
        "gru",
        "rmsprop",
        10,
        32,
        "GRU long-range regression",
        expect_flat=True,
    ),
    Task(
        "breast-cancer-mlp-ln-sgdm",
        DEV,
        "breast_cancer",
        "mlp_ln",
        "sgdm",
        20,
        32,
        "MLP+LayerNorm",
        # widened after the first grid: 1e-4 still scored 0.95 of the best
        grid=(-5.0, 1.5),
    ),
    Task("majority-attn-adamw", DEV, "majority", "transformer6", "adamw", 10, 32, "attention"),
    # ---- test
    Task("wine-mlp-sgdm", TEST, "wine", "mlp", "sgdm", 30, 16, "MLP"),
    Task(
        "friedman-mlp-ln-adam",
        TEST,
        "friedman",
        "mlp_ln",
        "adam",
        15,
        32,
        "MLP+LayerNorm regression",
    ),
    Task(
        "breast-cancer-mlp-bn-adamw",
        TEST,
        "breast_cancer",
        "mlp_bn",
        "adamw",
        20,
        32,
        "MLP+BatchNorm",
        # widened after the first grid: 3.2 still scored 0.99 of the best
        grid=(-5.0, 1.5),
    ),
    Task("digits-cnn2d-rmsprop", TEST, "digits_images", "cnn2d", "rmsprop", 8, 32, "2-D CNN"),
    Task("motifs-cnn1d-bn-adamw", TEST, "motifs_b", "cnn1d_bn", "adamw", 10, 32, "1-D CNN+BN"),
    Task("digits-tanh-deep-sgd", TEST, "digits", "mlp_tanh_deep", "sgd", 15, 32, "deep tanh MLP"),
    Task(
        "firsttoken30-lstm-rmsprop",
        TEST,
        "first_token_30",
        "lstm",
        "rmsprop",
        10,
        32,
        "LSTM long-range",
        expect_flat=True,
    ),
    Task(
        "adding40-lstm-adam",
        TEST,
        "adding_40",
        "lstm",
        "adam",
        15,
        32,
        "LSTM long-range regression",
        expect_flat=True,
    ),
    Task(
        "firsttoken20-attn-rmsprop",
        TEST,
        "first_token_ids",
        "transformer8",
        "rmsprop",
        10,
        32,
        "attention",
    ),
    # ---- holdout (added after dev and test had been used; see the module docstring)
    Task(
        "firsttoken25-gru-adamw",
        HOLDOUT,
        "first_token_25",
        "gru",
        "adamw",
        15,
        32,
        "GRU long-range",
        expect_flat=True,
        # widened after the first grid: 3.2 still scored 0.94 of the best
        grid=(-5.0, 1.5),
    ),
    Task(
        "marked30-lstm-adam",
        HOLDOUT,
        "marked_30",
        "lstm",
        "adam",
        10,
        32,
        "LSTM long-range",
        expect_flat=True,
    ),
    Task(
        "lasttoken16-attn-adam",
        HOLDOUT,
        "last_token_ids",
        "transformer6",
        "adam",
        10,
        32,
        "attention",
    ),
    Task("digits-cnn2d-sgd", HOLDOUT, "digits_images", "cnn2d", "sgd", 8, 32, "2-D CNN"),
    Task("digits-mlp-rmsprop", HOLDOUT, "digits", "mlp", "rmsprop", 10, 32, "MLP"),
    Task("friedman-mlp-sgdm", HOLDOUT, "friedman", "mlp", "sgdm", 15, 32, "MLP regression"),
    # ---- fresh (added after all of the above had been seen; see the module docstring)
    Task("breast-cancer-mlp-adam", FRESH, "breast_cancer", "mlp", "adam", 20, 32, "MLP"),
    Task("wine-mlp-ln-rmsprop", FRESH, "wine", "mlp_ln", "rmsprop", 30, 16, "MLP+LayerNorm"),
    Task("diabetes-mlp-bn-sgdm", FRESH, "diabetes", "mlp_bn", "sgdm", 30, 32, "MLP+BN regression"),
    Task("digits-cnn2d-bn-adamw", FRESH, "digits_images", "cnn2d_bn", "adamw", 8, 32, "2-D CNN+BN"),
    Task("motifs-cnn1d-rmsprop", FRESH, "motifs_c", "cnn1d", "rmsprop", 10, 32, "1-D CNN"),
    Task("digits-mlp-ln-sgd", FRESH, "digits", "mlp_ln", "sgd", 10, 32, "MLP+LayerNorm"),
    Task(
        "friedman-tanh-deep-sgdm",
        FRESH,
        "friedman",
        "mlp_tanh_deep",
        "sgdm",
        15,
        32,
        "deep tanh MLP regression",
    ),
    Task(
        "firsttoken35-gru-rmsprop",
        FRESH,
        "first_token_35",
        "gru",
        "rmsprop",
        10,
        32,
        "GRU long-range",
        expect_flat=True,
    ),
    Task(
        "adding35-gru-adamw",
        FRESH,
        "adding_35",
        "gru",
        "adamw",
        15,
        32,
        "GRU long-range regression",
        expect_flat=True,
    ),
    Task(
        "marked24-lstm-rmsprop",
        FRESH,
        "marked_24",
        "lstm",
        "rmsprop",
        10,
        32,
        "LSTM long-range",
        expect_flat=True,
    ),
    Task(
        "firsttoken16-attn-adam",
        FRESH,
        "first_token_ids_16",
        "transformer6",
        "adam",
        10,
        32,
        "attention",
    ),
    Task("majority20-attn-sgdm", FRESH, "majority_20", "transformer6", "sgdm", 10, 32, "attention"),
    # ---- fresh2 (added after the fresh group was scored; see the module docstring)
    Task("digits-mlp-sgdm", FRESH2, "digits", "mlp", "sgdm", 10, 32, "MLP"),
    Task(
        "breast-cancer-mlp-ln-adamw", FRESH2, "breast_cancer", "mlp_ln", "adamw", 20, 32, "MLP+LN"
    ),
    Task("wine-mlp-bn-sgd", FRESH2, "wine", "mlp_bn", "sgd", 30, 16, "MLP+BatchNorm"),
    Task("diabetes-mlp-ln-adam", FRESH2, "diabetes", "mlp_ln", "adam", 30, 32, "MLP+LN regression"),
    Task(
        "friedman-mlp-bn-rmsprop", FRESH2, "friedman", "mlp_bn", "rmsprop", 15, 32, "MLP+BN regr."
    ),
    Task("digits-cnn2d-sgdm", FRESH2, "digits_images", "cnn2d", "sgdm", 8, 32, "2-D CNN"),
    Task("motifs-cnn1d-bn-sgd", FRESH2, "motifs_d", "cnn1d_bn", "sgd", 10, 32, "1-D CNN+BN"),
    Task(
        "digits-tanh-deep-sgdm", FRESH2, "digits", "mlp_tanh_deep", "sgdm", 15, 32, "deep tanh MLP"
    ),
    Task(
        "firsttoken30-gru-adam",
        FRESH2,
        "first_token_30b",
        "gru",
        "adam",
        10,
        32,
        "GRU long-range",
        expect_flat=True,
    ),
    Task(
        "adding30-lstm-rmsprop",
        FRESH2,
        "adding_30b",
        "lstm",
        "rmsprop",
        15,
        32,
        "LSTM long-range regression",
        expect_flat=True,
    ),
    Task(
        "marked20-gru-adamw",
        FRESH2,
        "marked_20",
        "gru",
        "adamw",
        10,
        32,
        "GRU long-range",
        expect_flat=True,
    ),
    Task(
        "majority16-attn-adam", FRESH2, "majority_16", "transformer6", "adam", 10, 32, "attention"
    ),
    # ---- fresh3 (added after fresh2 was scored; see the module docstring)
    Task("digits-mlp-ln-adam", FRESH3, "digits", "mlp_ln", "adam", 10, 32, "MLP+LN"),
    Task(
        "breast-cancer-mlp-bn-rmsprop",
        FRESH3,
        "breast_cancer",
        "mlp_bn",
        "rmsprop",
        20,
        32,
        "MLP+BN",
    ),
    Task("wine-mlp-adamw", FRESH3, "wine", "mlp", "adamw", 30, 16, "MLP"),
    Task("diabetes-mlp-sgdm", FRESH3, "diabetes", "mlp", "sgdm", 30, 32, "MLP regression"),
    Task("friedman-mlp-ln-sgd", FRESH3, "friedman", "mlp_ln", "sgd", 15, 32, "MLP+LN regression"),
    Task(
        "digits-cnn2d-bn-rmsprop",
        FRESH3,
        "digits_images",
        "cnn2d_bn",
        "rmsprop",
        8,
        32,
        "2-D CNN+BN",
    ),
    Task("motifs-cnn1d-adam", FRESH3, "motifs_e", "cnn1d", "adam", 10, 32, "1-D CNN"),
    Task(
        "digits-tanh-deep-adam", FRESH3, "digits", "mlp_tanh_deep", "adam", 15, 32, "deep tanh MLP"
    ),
    Task(
        "firsttoken25-lstm-adamw",
        FRESH3,
        "first_token_25b",
        "lstm",
        "adamw",
        15,
        32,
        "LSTM long-range",
        expect_flat=True,
    ),
    Task(
        "adding25-gru-adam",
        FRESH3,
        "adding_25",
        "gru",
        "adam",
        10,
        32,
        "GRU long-range regression",
        expect_flat=True,
    ),
    Task(
        "marked20-gru-rmsprop",
        FRESH3,
        "marked_20b",
        "gru",
        "rmsprop",
        10,
        32,
        "GRU long-range",
        expect_flat=True,
    ),
    Task(
        "lasttoken12-attn-adamw",
        FRESH3,
        "last_token_12",
        "transformer8",
        "adamw",
        10,
        32,
        "attention",
    ),
)
_TASKS = (
    *_TASKS,
    # ---- trials (added to judge the LR trials; see the module docstring)
    Task("digits-mlp-adamw", TRIALS, "digits", "mlp", "adamw", 10, 32, "MLP"),
    Task("breast-cancer-mlp-sgd", TRIALS, "breast_cancer", "mlp", "sgd", 20, 32, "MLP"),
    Task("wine-mlp-ln-sgdm", TRIALS, "wine", "mlp_ln", "sgdm", 30, 16, "MLP+LN"),
    Task(
        "diabetes-mlp-ln-rmsprop",
        TRIALS,
        "diabetes",
        "mlp_ln",
        "rmsprop",
        30,
        32,
        "MLP+LN regression",
    ),
    Task("friedman-mlp-adamw", TRIALS, "friedman", "mlp", "adamw", 15, 32, "MLP regression"),
    Task("digits-cnn2d-adam", TRIALS, "digits_images", "cnn2d", "adam", 8, 32, "2-D CNN"),
    Task(
        "motifs-cnn1d-bn-rmsprop", TRIALS, "motifs_f", "cnn1d_bn", "rmsprop", 10, 32, "1-D CNN+BN"
    ),
    Task(
        "digits-tanh-deep-rmsprop",
        TRIALS,
        "digits",
        "mlp_tanh_deep",
        "rmsprop",
        15,
        32,
        "deep tanh MLP",
    ),
    Task(
        "firsttoken30-lstm-adam",
        TRIALS,
        "first_token_30c",
        "lstm",
        "adam",
        15,
        32,
        "LSTM long-range",
        expect_flat=True,
    ),
    Task(
        "adding30-gru-adam",
        TRIALS,
        "adding_30c",
        "gru",
        "adam",
        10,
        32,
        "GRU long-range regression",
        expect_flat=True,
    ),
    Task(
        "marked24-gru-adam",
        TRIALS,
        "marked_24b",
        "gru",
        "adam",
        10,
        32,
        "GRU long-range",
        expect_flat=True,
    ),
    Task(
        "majority20-attn-rmsprop",
        TRIALS,
        "majority_20b",
        "transformer6",
        "rmsprop",
        10,
        32,
        "attention",
    ),
)
_TASKS = (
    *_TASKS,
    # ---- trials2 (added to judge the revised trials; see the module docstring)
    Task("digits-cnn2d-bn-adam", TRIALS2, "digits_images", "cnn2d_bn", "adam", 8, 32, "2-D CNN+BN"),
    Task("breast-cancer-mlp-rmsprop", TRIALS2, "breast_cancer", "mlp", "rmsprop", 20, 32, "MLP"),
    Task("wine-mlp-ln-adam", TRIALS2, "wine", "mlp_ln", "adam", 30, 16, "MLP+LN"),
    Task("diabetes-mlp-adamw", TRIALS2, "diabetes", "mlp", "adamw", 30, 32, "MLP regression"),
    Task(
        "friedman-tanh-deep-rmsprop",
        TRIALS2,
        "friedman",
        "mlp_tanh_deep",
        "rmsprop",
        15,
        32,
        "deep tanh MLP regression",
    ),
    Task("motifs-cnn1d-sgdm", TRIALS2, "motifs_g", "cnn1d", "sgdm", 10, 32, "1-D CNN"),
    Task(
        "digits-tanh-deep-adamw",
        TRIALS2,
        "digits",
        "mlp_tanh_deep",
        "adamw",
        15,
        32,
        "deep tanh MLP",
    ),
    Task(
        "firsttoken35-lstm-adamw",
        TRIALS2,
        "first_token_35b",
        "lstm",
        "adamw",
        15,
        32,
        "LSTM long-range",
        expect_flat=True,
    ),
    Task(
        "adding35-lstm-adam",
        TRIALS2,
        "adding_35b",
        "lstm",
        "adam",
        15,
        32,
        "LSTM long-range regression",
        expect_flat=True,
    ),
    Task(
        "marked24-gru-rmsprop",
        TRIALS2,
        "marked_24c",
        "gru",
        "rmsprop",
        10,
        32,
        "GRU long-range",
        expect_flat=True,
    ),
    Task(
        "firsttoken25-gru-adam",
        TRIALS2,
        "first_token_25c",
        "gru",
        "adam",
        10,
        32,
        "GRU long-range",
        expect_flat=True,
    ),
    Task(
        "majority24-attn-adamw",
        TRIALS2,
        "majority_24",
        "transformer6",
        "adamw",
        10,
        32,
        "attention",
    ),
)
TASKS: dict[str, Task] = {task.name: task for task in _TASKS}


def tasks_of(half: str | None = None) -> list[Task]:
    """The tasks of one half, in their fixed order.

    Args:
        half: "dev", "test", "holdout", "fresh" or "fresh2": that group's
            tasks; None (or "both"): the dev and test tasks (the held-out ones
            are never included by default); "all": dev, test and holdout;
            "every": all groups (for reports, once each was scored).

    Returns:
        The tasks.
    """
    if half in (None, "both"):
        halves: tuple[str, ...] = HALVES
    elif half == "all":
        halves = ALL_HALVES
    elif half == "every":
        halves = GROUPS
    elif half in GROUPS:
        halves = (half,)
    else:
        raise ValueError(
            f"Argument `half` must be one of {GROUPS + ('both', 'all', 'every')} or None. "
            f"Received: half={half!r}"
        )
    return [t for t in _TASKS if t.half in halves]


_SPLITS: dict[str, Split] = {}


def load(task: Task) -> Split:
    """The task's fixed split (cached in-process)."""
    if task.data not in _SPLITS:
        _SPLITS[task.data] = DATA[task.data]()
    return _SPLITS[task.data]
