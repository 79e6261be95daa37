#!/usr/bin/env bash
# check-ptx.sh: regenerate the PTX of kernels/*.cu into a temporary directory and fail if it
# differs from the committed kernels/ptx/*.ptx (a .cu edited without `go generate ./kernels/ptx`),
# or if a .ptx has no .cu. Needs nvcc; .ci/run calls it when nvcc exists.
#
# The PTX names the nvcc that made it ("Cuda compilation tools, release X"); another release
# generates different (equally valid) text, so when the local nvcc's release differs from the
# committed one this reports the mismatch and exits 0 without comparing. Regenerate with the
# committed release (11.8, Debian 12's toolkit) to change kernels.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvcc >/dev/null || { echo "check-ptx.sh: nvcc not found; skipped"; exit 0; }
local_rel=$(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
committed_rel=$(sed -n 's|^// Cuda compilation tools, release \([0-9.]*\).*|\1|p' kernels/ptx/*.ptx | sort -u)
if [ "$local_rel" != "$committed_rel" ]; then
  echo "check-ptx.sh: the committed PTX is from nvcc $committed_rel, this nvcc is $local_rel: not compared"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash kernels/ptx/gen.sh "$tmp"
status=0
for f in "$tmp"/*.ptx; do
  base=$(basename "$f")
  if ! cmp -s "$f" "kernels/ptx/$base"; then
    echo "check-ptx.sh: kernels/ptx/$base is stale: run go generate ./kernels/ptx" >&2
    diff -u "kernels/ptx/$base" "$f" | head -20 >&2 || true
    status=1
  fi
done
for f in kernels/ptx/*.ptx; do
  [ -f "$tmp/$(basename "$f")" ] || { echo "check-ptx.sh: $f has no kernels/*.cu source" >&2; status=1; }
done
[ $status -eq 0 ] && echo "check-ptx.sh: the committed PTX matches kernels/*.cu"
exit $status
