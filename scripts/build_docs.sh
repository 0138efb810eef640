#!/usr/bin/env bash
# Builds the API reference from the docstrings (MkDocs + mkdocstrings, from the
# `dev` extra) into site/; open site/index.html. Strict: any warning (a broken
# link or cross-reference, a docstring griffe cannot parse) fails the build.
#
#   bash scripts/build_docs.sh                 # with .venv's Python, else python3
#   PYTHON=/path/python bash scripts/build_docs.sh
#   bash scripts/build_docs.sh -d /tmp/site    # extra arguments go to `mkdocs build`
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
"$PYTHON" -m mkdocs build --strict "$@"
