#!/usr/bin/env bash
# gen.sh [OUTDIR]: compiles every kernels/*.cu into OUTDIR/<base>.ptx (default: this directory),
# for compute_70, so the driver can JIT-compile one PTX for any GPU from Volta to Hopper and later,
# and packs that PTX with sm_90 machine code (ptxas of the same PTX) into OUTDIR/<base>.fatbin,
# which is what the device loads: on an sm_90 GPU (H100, H200) the driver takes the machine code
# and compiles nothing; elsewhere it JIT-compiles the PTX inside (see NOTES-loading.md).
# Run by `go generate ./kernels/ptx`; scripts/check-ptx.sh runs it into a temporary directory and
# compares, so a .cu edited without regenerating cannot land.
#
# Flags: --fmad=false keeps a*b+c as two roundings, as the Go twins compute it on amd64 (the
# kernels are memory-bound; see common.cuh); ptxas and the fatbin's JIT command line get
# --fmad false too, as nvcc -fatbin passes them. -prec-div and -prec-sqrt are nvcc's defaults
# (IEEE division and square root), and -use_fast_math is deliberately absent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
mkdir -p "$out"
# The machine code embedded beside the PTX: sm_90 is the GPU the project runs on (H100/H200).
sass_archs=(90)
for tool in nvcc ptxas fatbinary; do
  command -v "$tool" >/dev/null || { echo "gen.sh: $tool not found (install the CUDA toolkit: scripts/install-cuda-toolkit.sh)" >&2; exit 1; }
done
shopt -s nullglob
srcs=("$here"/../*.cu)
[ ${#srcs[@]} -gt 0 ] || { echo "gen.sh: no .cu files in $here/.." >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for cu in "${srcs[@]}"; do
  base=$(basename "$cu" .cu)
  # Compile from the kernels directory with relative paths, so the output does not depend on
  # where the repository is checked out.
  (cd "$here/.." && nvcc -ptx -arch=compute_70 --fmad=false -std=c++14 -I ptx -o "$out/$base.ptx.tmp" "$base.cu")
  mv "$out/$base.ptx.tmp" "$out/$base.ptx"
  images=(--image3=kind=ptx,sm=70,file="$out/$base.ptx")
  for sm in "${sass_archs[@]}"; do
    ptxas -arch="sm_$sm" -m64 --fmad false -o "$work/$base.sm_$sm.cubin" "$out/$base.ptx"
    images+=(--image3=kind=elf,sm="$sm",file="$work/$base.sm_$sm.cubin")
  done
  # The fatbin holds no paths or dates: the same PTX gives the same bytes anywhere.
  fatbinary -64 --cmdline="--fmad false" --create="$work/$base.fatbin" "${images[@]}"
  mv "$work/$base.fatbin" "$out/$base.fatbin"
done
