#!/usr/bin/env bash
# The whole test suite, once per Keras backend (one process each), then the
# notebooks and ruff. Creates its own virtual environment and installs the
# project with the CPU builds of TensorFlow, JAX and PyTorch.
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

if [ -z "${KERAS_LR_SKIP_NOTEBOOKS:-}" ] && ls notebooks/*.ipynb >/dev/null 2>&1; then
    echo "=== notebooks (nbmake), KERAS_BACKEND=tensorflow"
    KERAS_BACKEND=tensorflow MPLBACKEND=Agg "$PY" -m pytest -q -p no:cacheprovider --nbmake \
        --nbmake-timeout=900 notebooks || status=1
fi

echo "=== ruff"
"$PY" -m ruff check keras_lr tests benchmarks scripts || status=1

exit $status
