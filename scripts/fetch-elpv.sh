#!/usr/bin/env bash
# Puts the ELPV dataset (PyPI `elpv-dataset`: images/ and labels.csv) in $1 unless it is there already.
# Exits 1 when PyPI cannot be reached.
set -euo pipefail
dest=$1
[ -f "$dest/labels.csv" ] && exit 0
downloads="$dest.downloads"
mkdir -p "$downloads"
python3 -m pip download -q --no-deps "elpv-dataset==1.0.0.post1" -d "$downloads" || exit 1
python3 -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); [z.extract(n, sys.argv[2]) for n in z.namelist() if n.startswith('elpv_dataset/data/')]" \
  "$downloads"/elpv_dataset-*.whl "$downloads"
mkdir -p "$(dirname "$dest")"
mv "$downloads/elpv_dataset/data" "$dest"
rm -rf "$downloads"
