#!/usr/bin/env bash
# gen.sh [OUTDIR]: compiles every kernels/*.cu into OUTDIR/<base>.ptx (default: this directory),
# for compute_70, so the driver JIT-compiles one PTX for any GPU from Volta to Hopper and later.
# Run by `go generate ./kernels/ptx`; scripts/check-ptx.sh runs it into a temporary directory and
# diffs, so a .cu edited without regenerating cannot land.
#
# Flags: --fmad=false keeps a*b+c as two roundings, as the Go twins compute it on amd64 (the
# kernels are memory-bound; see common.cuh). -prec-div and -prec-sqrt are nvcc's defaults (IEEE
# division and square root), and -use_fast_math is deliberately absent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
mkdir -p "$out"
command -v nvcc >/dev/null || { echo "gen.sh: nvcc not found (install the CUDA toolkit: ../shared/gpu/install-cuda-toolkit.sh)" >&2; exit 1; }
shopt -s nullglob
srcs=("$here"/../*.cu)
[ ${#srcs[@]} -gt 0 ] || { echo "gen.sh: no .cu files in $here/.." >&2; exit 1; }
for cu in "${srcs[@]}"; do
  base=$(basename "$cu" .cu)
  # Compile from the kernels directory with relative paths, so the output does not depend on
  # where the repository is checked out.
  (cd "$here/.." && nvcc -ptx -arch=compute_70 --fmad=false -std=c++14 -I ptx -o "$out/$base.ptx.tmp" "$base.cu")
  mv "$out/$base.ptx.tmp" "$out/$base.ptx"
done
