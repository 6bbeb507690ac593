#!/usr/bin/env bash
# The interop suite (part of `make test`): Lumen against the reference tools' own clients, in a venv.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-interop
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import mlflow, pandas, pytest, requests" 2>/dev/null; then
  echo "interop: installing mlflow-skinny, pandas, pytest into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q mlflow-skinny pandas pytest requests
fi
LUMEN_BIN="${LUMEN_BIN:-$(swift build --show-bin-path)/lumen}" "$VENV/bin/python" -m pytest -q interop --ignore=interop/torch "$@"
