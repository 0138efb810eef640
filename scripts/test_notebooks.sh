#!/usr/bin/env bash
# Runs every notebook in notebooks/ with nbmake, in an environment built ONLY from
# the install command README.md gives for the notebooks (plus the notebook runner),
# not from the `dev` extra, so a dependency the notebooks need but the README's
# extras do not bring fails here, as it would for a user.
#
#   bash scripts/test_notebooks.sh   # creates .venv-notebooks once, reuses it after
#   KERAS_LR_NOTEBOOKS_VENV=/path/venv bash scripts/test_notebooks.sh
#   KERAS_LR_SKIP_INSTALL=1 ...      # skip the pip step if the environment exists
set -uo pipefail
cd "$(dirname "$0")/.."

# The README's command, verbatim; it must stay in README.md (checked below).
EXTRAS="tensorflow,notebooks"
README_INSTALL="pip install \".[$EXTRAS]\""
if ! grep -qF "$README_INSTALL" README.md; then
    echo "README.md no longer gives '$README_INSTALL': update EXTRAS in $0" >&2
    exit 1
fi

VENV="${KERAS_LR_NOTEBOOKS_VENV:-.venv-notebooks}"
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
PY="$VENV/bin/python"
INSTALL=1
if [ -x "$PY" ]; then
    [ -n "${KERAS_LR_SKIP_INSTALL:-}" ] && INSTALL=
else
    python3 -m venv "$VENV" || exit 1
fi
if [ -n "$INSTALL" ]; then
    "$PY" -m pip install -q --upgrade pip || exit 1
    # The user's install (not editable), then the runner: nbmake brings pytest.
    "$PY" -m pip install -q ".[$EXTRAS]" nbmake || exit 1
    # pip keeps an installed keras-lr of the same version: install this checkout.
    "$PY" -m pip install -q --no-deps --force-reinstall . || exit 1
fi

# Run from a temporary directory, so that the installed package is imported,
# not the checkout's keras_lr/.
NB_DIR="$PWD/notebooks"
cd "$(mktemp -d)" || exit 1
KERAS_BACKEND=tensorflow MPLBACKEND=Agg "$PY" -m pytest -q -p no:cacheprovider --nbmake \
    --nbmake-timeout=900 "$NB_DIR"
