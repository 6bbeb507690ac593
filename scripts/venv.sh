#!/usr/bin/env bash
# scripts/venv.sh DIR "IMPORTS" PACKAGE…: makes the Python venv DIR (once) with PACKAGEs from PyPI,
# unless it already imports every module in IMPORTS (comma-separated). Prints nothing when ready.
set -euo pipefail
venv=$1 imports=$2
shift 2
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import $imports" 2>/dev/null; then
  echo "venv: installing $* into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q "$@"
fi
