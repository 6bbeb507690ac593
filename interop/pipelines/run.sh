#!/usr/bin/env bash
# make interop-pipelines: `lumen pipeline export` against the engines themselves (Airflow's DagBag and dag.test(),
# a Prefect flow run on a temporary local server, Argo's models from Hera), in their own venv (not part of `make test`).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.venv-pipelines
start=$SECONDS
bash scripts/venv.sh "$VENV" "airflow, prefect, hera, pytest, yaml" apache-airflow prefect hera pytest pyyaml
echo "venv $VENV ready in $((SECONDS - start)) s"
# LUMEN_INTEROP_PIPELINES: test_exports.py collects nothing without it (interop/run.sh's pytest over interop/ sees it too).
# interop/conftest.py (loaded here too) fails the run on any skip.
LUMEN_INTEROP_PIPELINES=1 LUMEN_BIN="${LUMEN_BIN:-$(swift build --show-bin-path)/lumen}" \
  "$VENV/bin/python" -m pytest -q -rfEs interop/pipelines "$@"
