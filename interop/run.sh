#!/usr/bin/env bash
# The interop suite (part of `make test`): Lumen against the reference tools' own clients, in a venv.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-interop
bash scripts/venv.sh "$VENV" "mlflow, pandas, pytest, requests, pydicom, nibabel, PIL, pylibjpeg, libjpeg, openjpeg, sklearn, SimpleITK, data_store" \
  mlflow-skinny pandas pytest requests pydicom nibabel pillow pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg scikit-learn SimpleITK pydicom-data
LUMEN_BIN="${LUMEN_BIN:-$(swift build --show-bin-path)/lumen}" "$VENV/bin/python" -m pytest -q interop --ignore=interop/torch "$@"
