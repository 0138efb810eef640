"""A saved range test is read, diagnosed, suggested from and plotted where Keras cannot import.

A child Python process blocks `keras` (and the backends) with a meta-path
finder installed before anything is imported, then uses `keras_lr` on a file
written here.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
from range_test_oracles import exp_ramp, hand_smoothed
from saved_range_tests import VALID

ROOT = pathlib.Path(__file__).resolve().parents[1]

CHILD = r"""
import importlib.abc
import sys


class NoKeras(importlib.abc.MetaPathFinder):
    BLOCKED = ("keras", "tensorflow", "jax", "torch")

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.BLOCKED:
            raise ImportError(f"{name} is blocked in this test")
        return None


sys.meta_path.insert(0, NoKeras())
try:
    import keras  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("keras imported despite the blocker")

import warnings

import matplotlib

matplotlib.use("Agg")

import keras_lr
from keras_lr import core

path = sys.argv[1]
result = keras_lr.RangeTest.load(path)
assert type(result) is core.RangeTest
diagnosis = result.diagnosis
assert diagnosis.fell and diagnosis.reliable, diagnosis.describe()
suggestions = {}
for name in core.rules.names():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a reliable curve: no warning from any rule
        suggestions[name] = result.suggestion(name)
base, top = result.suggest_range()
ax = result.plot(show_raw=True)
labels = [line.get_label() for line in ax.get_lines()]
assert any(label.startswith("lag-free loss") for label in labels), labels
result.plot_loss_change(sma=3)
core.plot_finder(result)
summary = result.summary()
again = core.RangeTest.from_dict(core.schema.read_saved_range_test(path))
assert again.lrs == result.lrs
blocked = sorted(m for m in sys.modules if m.split(".")[0] in NoKeras.BLOCKED)
assert not blocked, blocked
print("OK", len(suggestions), base < top, "robust" in suggestions)
"""


def write_valley(path):
    """A clean valley of 200 steps, written like `LRFinder.save()` writes it."""
    lrs = exp_ramp(1e-6, 1e-1, 200)
    x = np.log10(lrs)
    raw = 0.5 + 2.0 / (1.0 + np.exp((x + 3.0) / 0.45)) + 3.0 * np.maximum(x + 2.0, 0.0) ** 2
    raw = raw + 0.02 * np.random.default_rng(0).normal(size=200)
    losses = hand_smoothed(raw, 0.98)
    best = int(np.argmin(losses))
    run = {
        "steps": list(range(200)),
        "lrs": lrs.tolist(),
        "losses": [float(v) for v in losses],
        "raw_losses": raw.tolist(),
        "stop_reason": "num_steps",
        "val_steps": [],
        "val_lrs": [],
        "val_losses": [],
    }
    data = {
        "config": {**VALID["config"], "start_lr": 1e-6, "end_lr": 1e-1, "num_steps": 200},
        **run,
        "best_lr": float(lrs[best]),
        "best_loss": float(losses[best]),
        "diverged": False,
        "val_every": 1,
        "runs": [run],
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_saved_range_test_without_keras(tmp_path):
    path = write_valley(tmp_path / "range_test.json")
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    env.pop("KERAS_BACKEND", None)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["OK", "5", "True", "True"], done.stdout
