#!/usr/bin/env bash
# make bench: Lumen against PyTorch eager on the same ResNet-18 steps, in the same run, printing ratios.
# Each measurement runs in its own process (so peak RSS is per configuration); the two tools
# alternate, and each configuration is repeated ROUNDS times, keeping the median, to damp a noisy 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-$(nproc)}
VENV=.venv-bench
bash scripts/venv.sh "$VENV" "torch, torchvision" torch torchvision

swift build -c release --product lumen-bench >/dev/null
swift build -c release --product LumenTorchBridge >/dev/null
swift build -c release --product LumenImagingBridge >/dev/null
LUMEN_BENCH="$(swift build -c release --show-bin-path)/lumen-bench"
mkdir -p bench-results
out=bench-results/foundation.jsonl
: > "$out"

# mode size channels iters warmup
configs=("train 64 1 12 3" "infer 64 1 30 5" "train 224 3 3 1" "infer 224 3 8 2")
for config in "${configs[@]}"; do
  read -r mode size channels iters warmup <<<"$config"
  for round in $(seq "$ROUNDS"); do
    "$LUMEN_BENCH" "$mode" "$size" "$channels" 32 "$iters" "$warmup" "$THREADS" >> "$out"
    LUMEN_CHANNELS_LAST=1 "$LUMEN_BENCH" "$mode" "$size" "$channels" 32 "$iters" "$warmup" "$THREADS" >> "$out"
    [ "$mode" = infer ] && LUMEN_PACKED=1 "$LUMEN_BENCH" "$mode" "$size" "$channels" 32 "$iters" "$warmup" "$THREADS" >> "$out"
    "$VENV/bin/python" Benchmarks/pytorch_bench.py "$mode" "$size" "$channels" 32 "$iters" "$warmup" "$THREADS" >> "$out"
  done
  echo "bench: done $mode ${channels}x${size}x${size}" >&2
done

python3 Benchmarks/report.py "$out"

# Tracking server against MLflow's (pip mlflow, SQLite backend), same clients, same run.
MLVENV=.venv-mlflow
bash scripts/venv.sh "$MLVENV" "mlflow, requests" mlflow requests
command -v wrk >/dev/null || { apt-get install -y -q wrk >/dev/null 2>&1 || echo "bench: wrk unavailable; single calls use Python threads"; }
swift build -c release --product lumen >/dev/null
"$MLVENV/bin/python" Benchmarks/tracking_bench.py "$(swift build -c release --show-bin-path)/lumen"

# Data: import vs `dvc add`, loader epoch vs a PyTorch DataLoader (same files, same run).
DVCVENV=.venv-dvc
bash scripts/venv.sh "$DVCVENV" "dvc, numpy, PIL" dvc numpy pillow
swift build -c release --product lumen-data-bench >/dev/null
"$VENV/bin/python" -c "import PIL, numpy" 2>/dev/null || "$VENV/bin/pip" install -q pillow numpy
"$VENV/bin/python" Benchmarks/data_bench.py "$(swift build -c release --show-bin-path)/lumen" \
  "$(swift build -c release --show-bin-path)/lumen-data-bench" "$DVCVENV/bin/dvc" "$VENV/bin/python"

# Training: one ResNet-18 epoch at 64×64 through `lumen train` against PyTorch + DataLoader (2 workers).
"$VENV/bin/python" Benchmarks/training_bench.py "$(swift build -c release --show-bin-path)/lumen" "$VENV/bin/python"

# Serving: the same ResNet-18 behind `lumen serve` and FastAPI + uvicorn (2 workers) + PyTorch, PNG uploads from wrk at c=1, 16, 64.
bash scripts/venv.sh "$VENV" "torch, torchvision, fastapi, uvicorn, multipart, PIL, safetensors" torch torchvision fastapi uvicorn python-multipart pillow safetensors
command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q wrk >/dev/null 2>&1; } || echo "bench: wrk unavailable; the serving benchmark needs it" >&2
"$VENV/bin/python" Benchmarks/serving_bench.py "$(swift build -c release --show-bin-path)/lumen" "$VENV/bin/python"

# Monitoring: `lumen monitor tables` against Evidently's DataDriftPreset (legacy API) on the same CSVs, 500 to 50,000 rows.
EVVENV=.venv-evidently
bash scripts/venv.sh "$EVVENV" "evidently, pandas" "evidently>=0.7,<0.8" "pandas<3"
swift build -c release --product lumen >/dev/null
"$EVVENV/bin/python" Benchmarks/monitor_bench.py "$(swift build -c release --show-bin-path)/lumen"

# Batch inference: `lumen predict bench@champion FOLDER --out results.csv` against PyTorch (Dataset + DataLoader, 2 workers), same ResNet-18 weights and PNGs.
bash scripts/venv.sh "$VENV" "torch, torchvision, PIL, safetensors, numpy" torch torchvision pillow safetensors numpy
swift build -c release --product lumen >/dev/null
"$VENV/bin/python" Benchmarks/batch_bench.py "$(swift build -c release --show-bin-path)/lumen"

# UI: the runs page over 10,000 runs x 20 metrics (issue 17: < 200 ms server time, usable in < 1 s in headless Chromium)
# against MLflow's own UI (its runs/search behind the table, and its React runs table in the same browser), same runs
# logged to both through the REST API, in the same run. Needs Debian's chromium and chromium-driver (interop/run.sh installs them).
bash scripts/venv.sh "$MLVENV" "mlflow, requests, selenium" mlflow requests selenium
command -v chromedriver >/dev/null || apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || echo "bench: chromium-driver unavailable; the UI benchmark needs it" >&2
swift build -c release --product lumen >/dev/null
"$MLVENV/bin/python" Benchmarks/ui_bench.py "$(swift build -c release --show-bin-path)/lumen" "$MLVENV/bin/mlflow"
