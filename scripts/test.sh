#!/usr/bin/env bash
# The whole test suite, once per Keras backend (one process each), then the
# notebooks, the docs pictures, the API reference and ruff. Creates its own
# virtual environment and installs the project with the CPU builds of
# TensorFlow, JAX and PyTorch (the notebooks get their own, see below).
#
#   bash scripts/test.sh             # everything (what .ci/run calls)
#   KERAS_LR_VENV=/path/venv bash scripts/test.sh   # reuse an environment
#   KERAS_LR_SKIP_INSTALL=1 ...      # skip the pip step
set -uo pipefail
cd "$(dirname "$0")/.."

VENV="${KERAS_LR_VENV:-.venv}"
PY="$VENV/bin/python"
if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV" || exit 1
fi
if [ -z "${KERAS_LR_SKIP_INSTALL:-}" ]; then
    "$PY" -m pip install -q --upgrade pip || exit 1
    # torch==2.13.0 is the CPU wheel; an unpinned torch pulls a CUDA build.
    "$PY" -m pip install -q -e ".[dev]" "torch==2.13.0" || exit 1
fi

status=0
for backend in tensorflow jax torch; do
    echo "=== pytest, KERAS_BACKEND=$backend"
    KERAS_BACKEND=$backend "$PY" -m pytest tests -q -p no:cacheprovider "$@" || status=1
done

# ---------------------------------------------------------------- notebooks
# In their own environment, .venv-notebooks, built (once) from README.md's
# notebook install command only, not from `dev`: see scripts/test_notebooks.sh.
if [ -z "${KERAS_LR_SKIP_NOTEBOOKS:-}" ]; then
    echo "=== notebooks (nbmake), in .venv-notebooks from README's install"
    bash scripts/test_notebooks.sh || status=1
fi
# ------------------------------------------------------------ end notebooks

# ---------------------------------------------------------- docs pictures
# The README's PNGs: the script still runs (short: 3 epochs), into a temp dir.
echo "=== docs pictures (scripts/make_docs_images.py), KERAS_BACKEND=jax"
KERAS_BACKEND=jax MPLBACKEND=Agg "$PY" scripts/make_docs_images.py \
    --out "$(mktemp -d)" --epochs 3 || status=1
# ------------------------------------------------------ end docs pictures

# ---------------------------------------------------------- API reference
# MkDocs + mkdocstrings, strict: a broken reference or docstring fails.
echo "=== API reference (scripts/build_docs.sh, strict)"
PYTHON="$PY" bash scripts/build_docs.sh --quiet -d "$(mktemp -d)" || status=1
# ------------------------------------------------------ end API reference

echo "=== ruff"
"$PY" -m ruff check keras_lr keras_lr_cli tests benchmarks scripts || status=1

# The files and flags are in pyproject.toml ([tool.mypy]): strict on the
# Keras-free core (keras_lr.core, keras_lr._validation), default on the CLI.
echo "=== mypy (strict on keras_lr.core)"
"$PY" -m mypy || status=1

# ------------------------------------------------------------------------------
# Oldest supported Keras (issue #13). The smoke subset (`-m smoke`: scheduler
# exactness, the finder ramp, restore, the private names) on the oldest Keras that pyproject.toml
# declares, with a JAX of its time, in a second environment. The environment
# is created once and reinstalled only when the pins below change (it does not
# follow KERAS_LR_SKIP_INSTALL, which is about the main environment).
#   KERAS_LR_OLDEST_VENV=/path/venv   where it lives (default .venv-oldest)
#   KERAS_LR_SKIP_OLDEST=1            skip this stage
# Keep OLDEST_PINS[0] equal to the lower bound of `keras` in pyproject.toml.
OLDEST_PINS=(
    "keras==3.5.0"
    "jax==0.4.31"
    "jaxlib==0.4.31"
    "numpy==1.26.4"
    "ml-dtypes==0.4.1"
    "scipy==1.14.1"
    "torch==2.13.0" # the tests' oracle (the CPU wheel)
)
if [ -z "${KERAS_LR_SKIP_OLDEST:-}" ]; then
    echo "=== pytest -m smoke, oldest Keras (${OLDEST_PINS[*]}), KERAS_BACKEND=jax"
    OLD_VENV="${KERAS_LR_OLDEST_VENV:-.venv-oldest}"
    OLD_PY="$OLD_VENV/bin/python"
    OLD_STAMP="$OLD_VENV/keras-lr-pins.txt"
    oldest_ok=1
    if [ ! -x "$OLD_PY" ]; then
        python3 -m venv "$OLD_VENV" || oldest_ok=0
    fi
    if [ $oldest_ok = 1 ] && [ "$(cat "$OLD_STAMP" 2>/dev/null)" != "${OLDEST_PINS[*]}" ]; then
        rm -f "$OLD_STAMP"
        "$OLD_PY" -m pip install -q --upgrade pip &&
            "$OLD_PY" -m pip install -q "${OLDEST_PINS[@]}" matplotlib scikit-learn pytest hypothesis &&
            "$OLD_PY" -m pip install -q --no-deps -e . &&
            echo "${OLDEST_PINS[*]}" >"$OLD_STAMP" || oldest_ok=0
    fi
    if [ $oldest_ok = 1 ]; then
        KERAS_BACKEND=jax "$OLD_PY" -m pytest tests -m smoke -q -p no:cacheprovider || status=1
    else
        echo "could not create the oldest-Keras environment $OLD_VENV"
        status=1
    fi
fi
# ------------------------------------------------------------------------------

exit $status
