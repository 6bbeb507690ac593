#!/usr/bin/env bash
# The main job, end to end on the embedded default. Until the data/training issues land it shows
# the runtime and the model zoo, and trains a SimpleCNN on a synthetic task as a smoke run.
set -euo pipefail
lumen="$1"
"$lumen" info
echo
"$lumen" zoo
echo
"$lumen" smoke
echo
echo "demo: the dataset import → train → evaluate → register workflow (ELPV, CT phantom) is not built yet;"
echo "      see the open issues for data (readers, datasets), the store and the trainer."
