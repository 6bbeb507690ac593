#!/usr/bin/env bash
# make bench-elpv (long, ~10 min on 2 cores): the demo's ELPV configuration (examples/elpv.yaml) trained and
# evaluated by Lumen and by PyTorch on the same split, printing accuracy, ROC-AUC and wall time side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${ELPV_EPOCHS:-8}
VENV=.venv-bench
bash scripts/venv.sh "$VENV" "torch, torchvision, sklearn, PIL" torch torchvision scikit-learn pillow
swift build -c release --product lumen >/dev/null
swift build -c release --product LumenTorchBridge >/dev/null
swift build -c release --product LumenImagingBridge >/dev/null
lumen="$(swift build -c release --show-bin-path)/lumen"
data=.lumen-bench-elpv
bash scripts/fetch-elpv.sh "$data/elpv" || { echo "bench-elpv: PyPI is not reachable"; exit 1; }
ws="$data/workspace"
rm -rf "$ws"
"$lumen" init "$ws" >/dev/null
"$lumen" data import "$data/elpv/labels.csv" --columns path,label,type --name elpv-raw --workspace "$ws" >/dev/null
"$lumen" data split elpv-raw --ratios 0.75,0.25 --stratify label,type --no-groups --seed 0 --workspace "$ws" >/dev/null
"$lumen" data show elpv-raw --json --workspace "$ws" > "$data/manifest.json"
start=$(date +%s.%N)
"$lumen" train examples/elpv.yaml trainer.epochs="$EPOCHS" --register elpv-resnet18 --workspace "$ws" >"$data/lumen-train.log"
"$lumen" evaluate elpv-resnet18 --data elpv-raw --split test --out "$data/lumen-evaluation.json" --workspace "$ws" >/dev/null
lumen_seconds=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)")
"$VENV/bin/python" Benchmarks/elpv_torch.py "$data/manifest.json" "$data/elpv" "$EPOCHS" > "$data/pytorch.json" || { echo "bench-elpv: the PyTorch run failed"; exit 1; }
python3 - "$data/lumen-evaluation.json" "$data/pytorch.json" "$lumen_seconds" "$EPOCHS" <<'PY'
import json, sys
lumen, torch, seconds, epochs = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), float(sys.argv[3]), sys.argv[4]
ci = lumen.get("confidenceIntervals", {})
def interval(key):
    c = ci.get(key)
    return f" ({c['low']:.3f}–{c['high']:.3f})" if isinstance(c, dict) and "low" in c else ""
print(f"\nELPV, ResNet-18 at 96×96, {epochs} epochs, {lumen['samples']} test cells ({torch['train']} training)")
print("| tool | accuracy | ROC-AUC | train + evaluate (s) |\n| --- | --- | --- | --- |")
print(f"| Lumen | {lumen['accuracy']:.3f}{interval('accuracy')} | {lumen['rocAUC']:.3f}{interval('roc_auc')} | {seconds:.0f} |")
print(f"| PyTorch {torch['torch']} | {torch['accuracy']:.3f} | {torch['roc_auc']:.3f} | {torch['seconds']:.0f} |")
PY
