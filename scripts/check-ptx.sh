#!/usr/bin/env bash
# check-ptx.sh: the CPU-side checks of the committed GPU code (.ci/run calls it when nvcc exists).
#
#  1. Regenerate kernels/ptx/*.ptx and *.fatbin from kernels/*.cu into a temporary directory and
#     fail if anything committed differs (a .cu edited without `go generate ./kernels/ptx`), or if
#     a .cu has no .ptx or .fatbin, or a .ptx or .fatbin has no .cu.
#  2. Assemble the committed PTX with ptxas for sm_70 (the oldest target) and sm_90 (the GPU the
#     project runs on) and fail on any kernel that spills registers, uses a stack frame, needs more
#     than 65536 registers per block (registers x the launch block size; 65536 is the register file
#     of one SM from Volta to Hopper, so such a block cannot launch at all) or more than 48 KiB of
#     static shared memory (the most a kernel gets without opting in).
#
# The PTX names the nvcc that made it ("Cuda compilation tools, release X"); another release
# generates different (equally valid) text, so when the local nvcc's release differs from the
# committed one step 1 reports the mismatch and is skipped; step 2 still runs. Regenerate with the
# committed release (11.8, Debian 12's toolkit: scripts/install-cuda-toolkit.sh) to change kernels.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvcc >/dev/null || { echo "check-ptx.sh: nvcc not found; skipped"; exit 0; }
for tool in ptxas fatbinary; do
  command -v "$tool" >/dev/null || { echo "check-ptx.sh: $tool not found beside nvcc" >&2; exit 1; }
done
status=0
fail() { echo "check-ptx.sh: $*" >&2; status=1; }

# 1. Committed = generated.
local_rel=$(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
committed_rel=$(sed -n 's|^// Cuda compilation tools, release \([0-9.]*\).*|\1|p' kernels/ptx/*.ptx | sort -u)
if [ "$local_rel" != "$committed_rel" ]; then
  echo "check-ptx.sh: the committed PTX is from nvcc $committed_rel, this nvcc is $local_rel: not compared"
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  bash kernels/ptx/gen.sh "$tmp"
  for f in "$tmp"/*.ptx "$tmp"/*.fatbin; do
    base=$(basename "$f")
    if [ ! -f "kernels/ptx/$base" ]; then
      fail "kernels/ptx/$base is missing: run go generate ./kernels/ptx and commit it"
    elif ! cmp -s "$f" "kernels/ptx/$base"; then
      fail "kernels/ptx/$base is stale: run go generate ./kernels/ptx"
      case "$base" in *.ptx) diff -u "kernels/ptx/$base" "$f" | head -20 >&2 || true ;; esac
    fi
  done
  for f in kernels/ptx/*.ptx kernels/ptx/*.fatbin; do
    [ -f "$tmp/$(basename "$f")" ] || fail "$f has no kernels/*.cu source"
  done
  [ $status -eq 0 ] && echo "check-ptx.sh: the committed PTX and fatbins match kernels/*.cu (nvcc $local_rel)"
fi

# 2. Resources. Every kernel launches with backend/cuda's blockSize threads (Sum's TX x TY blocks
# too), read from the source so the two cannot drift.
block=$(sed -n 's/^[[:space:]]*blockSize[[:space:]]*=[[:space:]]*\([0-9][0-9]*\).*/\1/p' backend/cuda/*.go | head -1)
[ -n "$block" ] || { fail "cannot read blockSize from backend/cuda/*.go"; exit 1; }
# ptxas_check ARCH FILE prints one line per violation.
ptxas_check() {
  ptxas -arch="$1" -m64 --fmad false -v -o /dev/null "$2" 2>&1 | awk -v arch="$1" -v file="$2" -v block="$block" '
    /error|fatal/ { printf "%s %s: ptxas: %s\n", file, arch, $0 }
    /Compiling entry function/ { fn = $0; sub(/.*function \047/, "", fn); sub(/\047.*/, "", fn); kernels++ }
    /Function properties for/ { prop = $0; sub(/.*properties for /, "", prop) }
    /bytes stack frame/ {
      # "    N bytes stack frame, S bytes spill stores, L bytes spill loads"
      nw = split($0, w, /[ ,]+/)
      stack = st = ld = 0
      for (i = 1; i + 3 <= nw + 1; i++) {
        if (w[i + 1] == "bytes" && w[i + 2] == "stack") stack = w[i]
        if (w[i + 1] == "bytes" && w[i + 2] == "spill" && w[i + 3] == "stores") st = w[i]
        if (w[i + 1] == "bytes" && w[i + 2] == "spill" && w[i + 3] == "loads") ld = w[i]
      }
      if (stack + 0 > 0) printf "%s %s: %s uses a %d-byte stack frame\n", file, arch, prop, stack
      if (st + ld > 0) printf "%s %s: %s spills (%d bytes stored, %d loaded)\n", file, arch, prop, st, ld
    }
    /Used [0-9]+ registers/ {
      regs = $0; sub(/.*Used /, "", regs); sub(/ registers.*/, "", regs)
      if (regs * block > 65536) printf "%s %s: %s uses %d registers: x %d threads = %d > 65536 per block\n", file, arch, fn, regs, block, regs * block
      smem = 0
      if ($0 ~ /bytes smem/) { smem = $0; sub(/ bytes smem.*/, "", smem); sub(/.*, /, "", smem) }
      if (smem + 0 > 49152) printf "%s %s: %s uses %d bytes of shared memory > 48 KiB\n", file, arch, fn, smem
      if (regs + 0 > maxregs) maxregs = regs + 0
    }
    END {
      if (kernels == 0) printf "%s %s: ptxas compiled no kernel (did it fail?)\n", file, arch
      else printf "ok %s %s: %d kernels, at most %d registers\n", file, arch, kernels, maxregs
    }'
}
for arch in sm_70 sm_90; do
  for f in kernels/ptx/*.ptx; do
    while IFS= read -r line; do
      case "$line" in
        "ok "*) echo "check-ptx.sh: ${line#ok }" ;;
        *) fail "$line" ;;
      esac
    done < <(ptxas_check "$arch" "$f")
  done
done
[ $status -eq 0 ] && echo "check-ptx.sh: no spills, no stack, at most 65536 registers per block of $block threads, at most 48 KiB of shared memory, on sm_70 and sm_90"
exit $status
