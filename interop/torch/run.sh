#!/usr/bin/env bash
# make interop-torch: Lumen ↔ torchvision checkpoints and outputs (large download: PyTorch into .venv-bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.venv-bench
bash scripts/venv.sh "$VENV" "torch, torchvision, safetensors, pytest" torch torchvision safetensors pytest
swift build -c release --product lumen >/dev/null
swift build -c release --product LumenTorchBridge >/dev/null
swift build -c release --product LumenImagingBridge >/dev/null
LUMEN_BIN="$(swift build -c release --show-bin-path)/lumen" "$VENV/bin/python" -m pytest -q interop/torch "$@"
