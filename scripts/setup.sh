#!/usr/bin/env bash
# Installs the system packages Lumen needs, only those that are missing (idempotent; run as root).
set -euo pipefail

packages=(libtorch-dev libdnnl-dev libideep-dev postgresql libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libdcmtk-dev libopenjp2-7-dev libtiff-dev curl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: system packages present (${packages[*]})"
fi

command -v swift >/dev/null || { echo "setup: swift is not on PATH (Swift 6 is required)" >&2; exit 1; }
