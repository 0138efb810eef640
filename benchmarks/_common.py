"""Shared helpers of the keras_lr benchmarks.

Keras fixes its backend when it is imported, so nothing here imports Keras at
module level: a script parses its arguments first, then either selects one
backend in-process (`use_backend`) or re-launches itself once per backend in a
subprocess (`run_per_backend`). `run_benchmark` does that dispatch and writes
the results (JSON, and markdown with `--markdown`) for every script.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BACKENDS = ("tensorflow", "jax", "torch")
_ALIASES = {"tf": "tensorflow", "pytorch": "torch"}
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
REPO = HERE.parent

Measure = Callable[[argparse.Namespace], dict]
Report = Callable[[dict], str]


# ------------------------------------------------------------------ command line
class BenchParser(argparse.ArgumentParser):
    """An `ArgumentParser` with size options whose default depends on `--quick`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sizes: dict[str, tuple[Any, Any]] = {}

    def add_size(self, name: str, full: Any, quick: Any, help: str, type: type = int) -> None:
        """`--name`: `full` by default, `quick` with `--quick`, unless given."""
        self.sizes[name.replace("-", "_")] = (full, quick)
        self.add_argument(
            f"--{name}",
            type=type,
            default=None,
            help=f"{help} (default {full}; {quick} with --quick)",
        )

    def parse_args(self, args: Any = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
        parsed = super().parse_args(args, namespace)
        for dest, (full, quick) in self.sizes.items():
            if getattr(parsed, dest) is None:
                setattr(parsed, dest, quick if parsed.quick else full)
        return parsed


def make_parser(description: str, *, default_backend: str = "all") -> BenchParser:
    """The arguments every benchmark takes; scripts add their own."""
    parser = BenchParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--backend",
        default=default_backend,
        help="tensorflow, jax, torch, a comma-separated list, or 'all'; with more than one, "
        f"the script re-runs itself once per backend in a subprocess (default {default_backend})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny settings for a smoke run; the numbers are not meaningful",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="results file (default benchmarks/results/NAME.json, NAME.quick.json with --quick)",
    )
    parser.add_argument("--markdown", type=Path, default=None, help="also write the report here")
    parser.add_argument("--child-json", type=Path, default=None, help=argparse.SUPPRESS)
    return parser


def parse_backends(text: str) -> list[str]:
    """`"all"`, one backend or a comma-separated list, as canonical names."""
    if text == "all":
        return list(BACKENDS)
    names = [_ALIASES.get(name.strip(), name.strip()) for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(BACKENDS))
    if unknown or not names:
        raise ValueError(
            f"unknown backend(s) {unknown or text!r}; use {', '.join(BACKENDS)} or all"
        )
    return list(dict.fromkeys(names))


def reproduce_command(script: Path, argv: Sequence[str]) -> str:
    """The command line that reproduces a run, from the repository root."""
    try:
        shown = script.resolve().relative_to(REPO)
    except ValueError:
        shown = script
    return shlex.join(["python", str(shown), *argv])


def use_backend(backend: str) -> Any:
    """Selects the Keras backend of this process and returns the `keras` module."""
    loaded = sys.modules.get("keras")
    if loaded is not None and loaded.config.backend() != backend:
        raise RuntimeError(
            f"Keras is already imported with backend {loaded.config.backend()!r}; "
            f"run with KERAS_BACKEND={backend} or --backend {backend} in a fresh process"
        )
    os.environ["KERAS_BACKEND"] = backend
    import keras

    return keras


def run_per_backend(script: Path, argv: Sequence[str], backends: Iterable[str]) -> dict[str, dict]:
    """Runs `script argv --backend B` in a fresh interpreter for each backend.

    Each child writes its result as JSON to a temporary file (its own output
    goes to this terminal); a child that fails is recorded as an error.
    """
    results = {}
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "result.json"
            command = [sys.executable, str(script), *argv, "--backend", backend]
            print(f"\n== {backend}: {reproduce_command(script, command[2:])}", flush=True)
            env = dict(os.environ, KERAS_BACKEND=backend)
            proc = subprocess.run([*command, "--child-json", str(out)], env=env, check=False)
            if proc.returncode == 0 and out.exists():
                results[backend] = json.loads(out.read_text())
            else:
                results[backend] = {"error": f"the {backend} run exited with {proc.returncode}"}
    return results


def run_benchmark(
    script: str | Path,
    parser: BenchParser,
    measure: Measure,
    report: Report,
    argv: Sequence[str] | None = None,
) -> dict | None:
    """Parses the arguments, measures on each backend, prints and writes the report.

    `measure(args)` runs in a process whose backend is `args.backend` and
    returns a JSON-able dict; `report(record)` turns the whole record (machine
    info and one result per backend under `"backends"`) into markdown.
    """
    script = Path(script).resolve()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    try:
        backends = parse_backends(args.backend)
    except ValueError as error:
        parser.error(str(error))
    if args.child_json is not None:  # one backend, launched by run_per_backend
        use_backend(backends[0])
        write_json(args.child_json, measure(args))
        return None

    command = reproduce_command(script, argv)
    print(f"# reproduce with: {command}", flush=True)
    started = time.perf_counter()
    if len(backends) == 1:
        use_backend(backends[0])
        args.backend = backends[0]
        per_backend = {backends[0]: measure(args)}
    else:
        per_backend = run_per_backend(script, argv, backends)
    record = {
        "benchmark": script.stem,
        "command": command,
        "quick": args.quick,
        "machine": machine_info(),
        "wall_s": round(time.perf_counter() - started, 1),
        "backends": per_backend,
    }
    record["markdown"] = report(record)
    print("\n" + record["markdown"])
    json_path = args.json or RESULTS / f"{script.stem}{'.quick' if args.quick else ''}.json"
    write_json(json_path, record)
    print(f"wrote {json_path}")
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(record["markdown"] + "\n", encoding="utf-8")
        print(f"wrote {args.markdown}")
    print(f"# reproduce with: {command}")
    return record


def write_json(path: Path, data: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=_jsonable) + "\n", encoding="utf-8")


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# ------------------------------------------------------------------ machine info
_PACKAGES = (
    ("keras", ("keras",)),
    ("tensorflow", ("tensorflow-cpu", "tensorflow")),
    ("jax", ("jax",)),
    ("jaxlib", ("jaxlib",)),
    ("torch", ("torch",)),
    ("numpy", ("numpy",)),
    ("scikit-learn", ("scikit-learn",)),
    ("keras-lr", ("keras-lr", "keras_lr")),
)


def _version(distributions: Sequence[str]) -> str | None:
    for name in distributions:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _git_revision() -> str | None:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "keras_lr"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def machine_info() -> dict:
    """Where and when the numbers were taken (no Keras import needed)."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpus_usable": affinity,
        "loadavg_1_5_15": [round(x, 2) for x in load] if load else None,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "versions": {name: _version(dists) for name, dists in _PACKAGES},
        "git": _git_revision(),
    }


def machine_markdown(machine: dict) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items() if v)
    return (
        f"Machine: {machine['nproc']} CPUs ({machine['cpus_usable']} usable), "
        f"load average {machine['loadavg_1_5_15']} at the end, {machine['platform']}, "
        f"Python {machine['python']}; {versions}; keras_lr at {machine['git']}; "
        f"{machine['date']}."
    )


def report_header(record: dict, title: str) -> list[str]:
    """The opening lines of every report: title, command, machine, quick warning."""
    lines = [
        f"## {title}",
        "",
        f"`{record['command']}`",
        "",
        machine_markdown(record["machine"]),
        "",
    ]
    if record["quick"]:
        lines += [
            "**Quick smoke run (`--quick`): tiny settings, the numbers are not meaningful.**",
            "",
        ]
    return lines


# ------------------------------------------------------------------ markdown and stats
def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "**MISS**"


def spread(values: Sequence[float]) -> dict:
    """Median, min and max of a list of measurements."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def fmt_ratio(stats: dict) -> str:
    return f"{stats['median']:.3f}x ({stats['min']:.3f}-{stats['max']:.3f})"


def completed(record: dict) -> list[tuple[str, dict]]:
    """`(backend, result)` for each backend whose run succeeded."""
    return [(b, r) for b, r in record["backends"].items() if "error" not in r]


def errors_block(record: dict) -> list[str]:
    """Markdown lines listing the backends whose run failed (none: empty)."""
    errors = [f"- {b}: {r['error']}" for b, r in record["backends"].items() if "error" in r]
    return ["", "Failed runs:", *errors] if errors else []


def backend_info() -> dict:
    """The backend of this process and its thread settings."""
    import keras

    info = {"backend": keras.config.backend(), "keras": keras.__version__}
    if info["backend"] == "torch":
        import torch

        info["torch_threads"] = torch.get_num_threads()
    elif info["backend"] == "jax":
        import jax

        info["jax_devices"] = [str(d) for d in jax.devices()]
    return info


# ------------------------------------------------------------------ data
@dataclass(frozen=True)
class Split:
    """A fixed train/validation split, features (and regression targets) scaled on train."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    kind: str  # "classification" or "regression"
    classes: int  # 0 for regression


def _sklearn(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True)


def digits(images: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """sklearn's 8x8 digits, pixels scaled to [0, 1]: (n, 64) or (n, 8, 8, 1)."""
    x, y = _sklearn("digits")
    x = (x / 16.0).astype("float32")
    return (x.reshape(-1, 8, 8, 1) if images else x), y.astype("int32")


def _standardize(train: np.ndarray, val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return ((train - mean) / std).astype("float32"), ((val - mean) / std).astype("float32")


def load_split(name: str, *, val_fraction: float = 0.25, seed: int = 0) -> Split:
    """A bundled sklearn dataset, split once with a fixed `random_state`.

    `digits` and `digits_images` are scaled by 1/16; the other datasets'
    features are standardized with the training mean and std, and so is the
    target of the regression dataset `diabetes`.
    """
    from sklearn.model_selection import train_test_split

    if name in ("digits", "digits_images"):
        x, y = digits(images=name == "digits_images")
    else:
        x, y = _sklearn(name)
    regression = name == "diabetes"
    x_tr, x_va, y_tr, y_va = train_test_split(
        x, y, test_size=val_fraction, random_state=seed, stratify=None if regression else y
    )
    if not name.startswith("digits"):
        x_tr, x_va = _standardize(x_tr, x_va)
    if regression:
        y_tr, y_va = (v[:, 0] for v in _standardize(y_tr[:, None], y_va[:, None]))
        return Split(x_tr, y_tr, x_va, y_va, "regression", 0)
    return Split(
        x_tr, y_tr.astype("int32"), x_va, y_va.astype("int32"), "classification", int(y.max()) + 1
    )


# ------------------------------------------------------------------ models
def mlp(input_shape: Sequence[int], outputs: int, hidden: Sequence[int] = (64, 64)) -> Any:
    """Dense(h, relu) for each h in `hidden`, then a linear Dense(outputs)."""
    import keras

    layers = [keras.Input(tuple(input_shape))]
    layers += [keras.layers.Dense(units, activation="relu") for units in hidden]
    return keras.Sequential([*layers, keras.layers.Dense(outputs)])


def small_cnn(input_shape: Sequence[int], outputs: int) -> Any:
    """Two 3x3 conv + BatchNorm + ReLU blocks, 2x2 max-pool, linear Dense(outputs)."""
    import keras

    layers = [keras.Input(tuple(input_shape))]
    for filters in (16, 32):
        layers += [
            keras.layers.Conv2D(filters, 3, padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
        ]
    layers += [keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(outputs)]
    return keras.Sequential(layers)


def make_optimizer(name: str, learning_rate: float) -> Any:
    """`"adam"`: Adam; `"sgd"`: SGD with momentum 0.9."""
    import keras

    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    raise ValueError(f"unknown optimizer {name!r}")


def loss_for(kind: str) -> Any:
    import keras

    if kind == "regression":
        return keras.losses.MeanSquaredError()
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def compiled(
    build: Callable[[], Any],
    *,
    seed: int,
    optimizer: str = "adam",
    lr: float = 1e-3,
    kind: str = "classification",
) -> Any:
    """`build()` under `keras.utils.set_random_seed(seed)`, compiled: identical for equal seeds."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build()
    model.compile(optimizer=make_optimizer(optimizer, lr), loss=loss_for(kind))
    return model


def digits_mlp(seed: int = 0) -> Any:
    """The digits MLP of overhead.py and finder_cost.py: 64-64-64-10, Adam(1e-3)."""
    return compiled(lambda: mlp((64,), 10), seed=seed)


# ------------------------------------------------------------------ timing
def epoch_end_timer() -> Any:
    """A callback recording `time.perf_counter()` at each epoch end.

    Put it last in the callbacks list: the interval between two consecutive
    epoch ends then covers all of an epoch, every other callback's epoch hooks
    included. It has no batch hook, so it changes nothing in how Keras
    dispatches batches.
    """
    import keras

    class EpochEndTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            self.ends: list[float] = []

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.ends.append(time.perf_counter())

    return EpochEndTimer()


def steady_epoch_times(timer: Any) -> list[float]:
    """Durations of epochs 2..E (the first epoch holds the trace and compilation)."""
    return list(np.diff(timer.ends))


def ceil_div(a: int, b: int) -> int:
    return math.ceil(a / b)
