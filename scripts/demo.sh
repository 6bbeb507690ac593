#!/usr/bin/env bash
# The main job, end to end on the embedded default. Until the data and training issues land, it shows the
# runtime and the model zoo, proves the native stack by training a small CNN, and makes a workspace whose
# SQLite store and MLflow-compatible server are ready for runs.
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
echo "demo: workspace in $demo (serve it with: $lumen serve --workspace $demo)."
echo "demo: the dataset import → train → evaluate → register job (ELPV, CT phantom) arrives with the data and training issues."
