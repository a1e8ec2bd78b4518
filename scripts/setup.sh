#!/usr/bin/env bash
# Installs the Debian packages the toolkit needs: OpenBLAS (CBLAS), libpng, zlib, Open MPI (training over several
# processes with mpirun), pkg-config and the Fashion-MNIST dataset that the pipeline uses by default. Safe to run again: it installs only what is missing.
set -euo pipefail

packages=(libopenblas-dev libpng-dev zlib1g-dev libopenmpi-dev openmpi-bin pkg-config dataset-fashion-mnist)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all system packages present (${packages[*]})"
  exit 0
fi

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "setup: need root to install ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
