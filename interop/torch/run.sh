#!/usr/bin/env bash
# make interop-torch: Lumen ↔ torchvision checkpoints and outputs (large download: PyTorch into .venv-bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.venv-bench
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import torch, torchvision, safetensors, pytest" 2>/dev/null; then
  echo "interop-torch: installing torch, torchvision, safetensors, pytest into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q torch torchvision safetensors pytest
fi
swift build -c release --product lumen >/dev/null
LUMEN_BIN="$(swift build -c release --show-bin-path)/lumen" "$VENV/bin/python" -m pytest -q interop/torch "$@"
