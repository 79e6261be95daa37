#!/usr/bin/env bash
# install-cuda-toolkit.sh: installs Debian 12's CUDA 11.8 toolkit (nvcc, ptxas, fatbinary, cuda.h,
# the libcuda stub to link against) from the non-free component, for building and checking the GPU
# variant on a machine without a GPU (.ci/run calls it when nvcc is missing). Needs root (or sudo)
# and apt; about 1.6 GB and 3 minutes on a fresh machine; does nothing when the toolkit is there.
# The committed PTX is from this toolkit's nvcc 11.8 (scripts/check-ptx.sh compares with it).
set -euo pipefail
if command -v nvcc >/dev/null && [ -f /usr/include/cuda.h ]; then
  echo "install-cuda-toolkit.sh: CUDA toolkit present: $(nvcc --version | tail -1)"
  exit 0
fi
command -v apt-get >/dev/null || { echo "install-cuda-toolkit.sh: no apt-get: install the CUDA toolkit (nvcc, cuda.h) by hand" >&2; exit 1; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-cuda-toolkit.sh: needs root or sudo" >&2; exit 1; }
  sudo=sudo
fi
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ] && ! grep -q non-free "$src"; then
  $sudo sed -i 's/^Components: main$/Components: main contrib non-free non-free-firmware/' "$src"
fi
$sudo apt-get update -q
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nvidia-cuda-toolkit
nvcc --version | tail -1
