#!/usr/bin/env bash
# The main job, end to end on the embedded default (SQLite): checks the runtime, then takes two datasets from
# files to an evaluated, registered ResNet-18 each: a synthetic DICOM CT phantom and the real ELPV solar-cell
# images. Prints the metrics and the paths of the HTML reports; the workspace can then be served.
set -euo pipefail
lumen="$1"
"$lumen" info
echo
"$lumen" zoo
echo
"$lumen" doctor
echo
demo=${LUMEN_DEMO_DIR:-.lumen-demo}
[ -d "$demo/.lumen" ] || "$lumen" init "$demo"
"$lumen" experiments --workspace "$demo"
echo
# Data: a synthetic DICOM CT phantom, imported (de-identified), split without patient leakage, validated.
[ -d "$demo/phantom" ] || "$lumen" data synth ct "$demo/phantom" --patients 40 --slices 6 --size 128 --seed 0
"$lumen" data import "$demo/phantom" --name ct-phantom --split 0.7,0.15,0.15 --seed 0 --workspace "$demo"
"$lumen" data split ct-phantom --check --workspace "$demo"
"$lumen" data validate ct-phantom --workspace "$demo"
"$lumen" image info "$demo/phantom/lesion/SYN00000_000.dcm"
"$lumen" image convert "$demo/phantom/lesion/SYN00000_000.dcm" "$demo/phantom-lung-window.png" --window lung
echo
# Training: a ResNet-18 on the phantom, tracked and registered.
phantom_start=$(date +%s)
cat > "$demo/phantom.yaml" <<'YAML'
experiment: ct-phantom
data:
  dataset: ct-phantom
  image_size: 64
  window: lung
  augment: [flip]
  balanced: true
  positive_class: lesion      # sensitivity and specificity refer to the finding
model:
  name: resnet18
trainer:
  epochs: 15
  batch_size: 16
  lr: 0.003
YAML
"$lumen" train "$demo/phantom.yaml" --register ct-phantom-resnet18 --workspace "$demo"
echo
"$lumen" evaluate ct-phantom-resnet18 --data ct-phantom --split test --out "$demo/ct-phantom-evaluation.json" --workspace "$demo"
"$lumen" explain ct-phantom-resnet18 "$demo/phantom/lesion/SYN00000_000.dcm" --class lesion --out "$demo/ct-phantom-gradcam.png" --workspace "$demo"
echo "demo: CT phantom training, evaluation and Grad-CAM took $(( $(date +%s) - phantom_start )) s; report: $demo/ct-phantom-evaluation.html"
echo
# Serve it: the registered model's latest version behind the Open Inference Protocol and image upload, an input
# gate fitted on its training data, one prediction from the command line and a short load test over HTTP.
"$lumen" models gate ct-phantom-resnet18 --data ct-phantom --fit-split train --split val --false-rejection 0.05 --workspace "$demo"
port=${DEMO_PORT:-5055}
"$lumen" serve --model ct-phantom-resnet18 --port "$port" --workspace "$demo" > "$demo/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
ready=0
for _ in $(seq 1 150); do
  if ! kill -0 "$server" 2>/dev/null; then break; fi
  if "$lumen" load "http://127.0.0.1:$port/v2/health/ready" --requests 1 --duration 1s --concurrency 1 >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.2
done
if [ "$ready" = 1 ]; then
  "$lumen" predict ct-phantom-resnet18 "$demo/phantom/lesion/SYN00000_000.dcm" --workspace "$demo" || echo "demo: (the input gate refused that slice)"
  "$lumen" load "http://127.0.0.1:$port/api/predict/ct-phantom-resnet18" --image "$demo/phantom/lesion/SYN00001_000.dcm" --concurrency 8 --duration 5s
  echo "demo: served at http://127.0.0.1:$port (docs: /docs, metrics: /metrics); stopping it"
else
  echo "demo: lumen serve did not start; its log:"; cat "$demo/serve.log"
fi
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
trap - EXIT
echo
# ELPV: 2,624 real electroluminescence images of solar cells (PyPI `elpv-dataset`), the published protocol:
# defective = probability ≥ 0.5, a 75/25 split stratified by probability and cell type with a fixed seed.
bash scripts/fetch-elpv.sh "$demo/elpv" || echo "demo: PyPI is not reachable; skipping the ELPV part"
if [ -f "$demo/elpv/labels.csv" ]; then
  "$lumen" data import "$demo/elpv/labels.csv" --columns path,label,type --name elpv-raw --workspace "$demo"
  "$lumen" data split elpv-raw --ratios 0.75,0.25 --stratify label,type --no-groups --seed 0 --workspace "$demo"
  start=$(date +%s)
  "$lumen" train examples/elpv.yaml trainer.epochs="${ELPV_EPOCHS:-8}" --register elpv-resnet18 --workspace "$demo"
  "$lumen" evaluate elpv-resnet18 --data elpv-raw --split test --out "$demo/elpv-evaluation.json" --workspace "$demo"
  echo "demo: ELPV training and evaluation took $(( $(date +%s) - start )) s; report: $demo/elpv-evaluation.html"
fi
echo
echo "demo: workspace in $demo (serve it with: $lumen serve --workspace $demo)."
echo "demo: reports in $demo (ct-phantom-evaluation.html, elpv-evaluation.html); runs: $lumen runs list --workspace $demo"
