#!/usr/bin/env bash
# gpu-build.sh [DIR]: on a machine WITHOUT a GPU (but with the CUDA toolkit's headers and libcuda to
# link against: ../shared/gpu/install-cuda-toolkit.sh), build everything the GPU host runs into DIR
# (default .devrun/, which git ignores):
#
#   - a test binary per package that has GPU tests (a _test.go file with //go:build gpu), built
#     with `go test -c -tags gpu`, plus backend/train's (its CPU training benchmark is the
#     baseline for backend/cuda's BenchmarkTrainStep);
#   - the CLI built with -tags gpu (gotrain, with MNIST and the PTX embedded);
#   - gpubench (cmd/gpubench, pure Go), which tabulates our benchmarks against PyTorch's;
#   - scripts/gpu-run.sh, which runs them all there, scripts/gpu-bench.sh, which runs the
#     comparison with PyTorch (issue 5), and torch_baseline.py when ../shared/gpu has it.
#
# Nothing here runs GPU code: a binary that imports gorgonia.org/cu exits at start without an
# NVIDIA driver. Run from anywhere; paths are relative to the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.devrun}

command -v go >/dev/null || { echo "gpu-build.sh: go is not installed" >&2; exit 1; }
if [ ! -f /usr/include/cuda.h ] && [ ! -f /usr/local/cuda/include/cuda.h ]; then
  echo "gpu-build.sh: cuda.h not found: install the CUDA toolkit (../shared/gpu/install-cuda-toolkit.sh)" >&2
  exit 1
fi

rm -rf "$out"
mkdir -p "$out"
# Stripped (no DWARF, no symbol table: panics still print function names and lines), so the whole
# folder stays small enough to copy to a GPU host in one go.
flags=(-tags gpu -trimpath -ldflags=-s\ -w)

# Packages with GPU tests, found from their build constraints, so a new one is picked up.
mapfile -t pkgs < <(grep -rl --include='*_test.go' -e '^//go:build gpu' . \
  | grep -v -e '^\./\.' -e "^\./$out/" | xargs -r -n1 dirname | sed 's|^\./||' | sort -u)

manifest="$out/MANIFEST"
: >"$manifest"
for pkg in "${pkgs[@]}"; do
  name=$(echo "$pkg" | tr '/' '_')
  echo "== go test -c ${flags[*]} ./$pkg -> $out/$name.test"
  go test -c "${flags[@]}" -o "$out/$name.test" "./$pkg"
  echo "test $name.test $pkg" >>"$manifest"
done
# backend/train's tests are CPU-only (they run in CI): on the GPU host only its BenchmarkTrainStep
# is wanted, as the CPU baseline of backend/cuda's, so it is listed as a benchmark binary.
echo "== go test -c ${flags[*]} ./backend/train -> $out/backend_train.test (benchmarks only)"
go test -c "${flags[@]}" -o "$out/backend_train.test" ./backend/train
echo "bench backend_train.test backend/train" >>"$manifest"

echo "== go build ${flags[*]} ./cmd/gotrain -> $out/gotrain"
go build "${flags[@]}" -o "$out/gotrain" ./cmd/gotrain
echo "cli gotrain cmd/gotrain" >>"$manifest"

echo "== go build -trimpath ./cmd/gpubench -> $out/gpubench"
go build -trimpath -ldflags='-s -w' -o "$out/gpubench" ./cmd/gpubench
echo "tool gpubench cmd/gpubench" >>"$manifest"

cp scripts/gpu-run.sh "$out/gpu-run.sh"
cp scripts/gpu-bench.sh "$out/gpu-bench.sh"
if [ -f ../shared/gpu/torch_baseline.py ]; then
  cp ../shared/gpu/torch_baseline.py "$out/torch_baseline.py"
  echo "extra torch_baseline.py" >>"$manifest"
else
  echo "== ../shared/gpu/torch_baseline.py not found: the PyTorch baseline will not be run"
fi

echo "== built into $out:"
ls -l "$out"
