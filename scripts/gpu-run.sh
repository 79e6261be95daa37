#!/usr/bin/env bash
# gpu-run.sh [DIR]: on the GPU host (no Go needed), run what scripts/gpu-build.sh built into DIR:
# every test binary with -test.v (from its package directory when the repository is there, so
# tests that read committed files find them), then `gotrain train` on the embedded MNIST subset
# with -device cuda and with -device cpu for the same epochs and seed, and print a summary: pass or
# fail per binary and both accuracies.
#
# DIR defaults to the directory this script is in when it holds a MANIFEST (a copied build
# folder), else .devrun under the repository root. Environment:
#   EPOCHS (default 3), SEED (default 1)    the MNIST comparison
#   BENCH=1                                 also run every benchmark, and torch_baseline.py when
#                                           python3 can import torch, in this same run
#   TEST_TIMEOUT (default 30m)              per test binary
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -ge 1 ]; then
  dir=$1
elif [ -f "$here/MANIFEST" ]; then
  dir=$here
else
  dir=$here/../.devrun
fi
dir=$(cd "$dir" && pwd) || { echo "gpu-run.sh: no build folder $dir (run scripts/gpu-build.sh first)" >&2; exit 2; }
[ -f "$dir/MANIFEST" ] || { echo "gpu-run.sh: $dir has no MANIFEST (run scripts/gpu-build.sh)" >&2; exit 2; }
repo=$(cd "$here/.." && pwd)
[ -f "$repo/go.mod" ] || repo=""

export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
EPOCHS=${EPOCHS:-3}
SEED=${SEED:-1}
TEST_TIMEOUT=${TEST_TIMEOUT:-30m}
logs=$(mktemp -d)
echo "== logs in $logs"
if command -v nvidia-smi >/dev/null; then nvidia-smi -L; fi

declare -a summary
failed=0
while read -r kind bin pkg; do
  [ "$kind" = test ] || [ "$kind" = bench ] || continue
  wd=$dir
  if [ -n "$repo" ] && [ -d "$repo/$pkg" ]; then wd=$repo/$pkg; fi
  if [ "$kind" = bench ]; then # a CPU-only package kept for its benchmarks: no tests here
    if [ "${BENCH:-0}" = 1 ]; then
      echo "== $bin benchmarks"
      (cd "$wd" && "$dir/$bin" -test.run '^$' -test.bench . -test.benchtime 20x -test.timeout "$TEST_TIMEOUT") 2>&1 | tee "$logs/$bin.bench.log"
    fi
    continue
  fi
  echo "== $bin (in $wd)"
  (cd "$wd" && "$dir/$bin" -test.v -test.count=1 -test.timeout "$TEST_TIMEOUT") 2>&1 | tee "$logs/$bin.log"
  rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 0 ]; then
    summary+=("PASS  $bin")
  else
    summary+=("FAIL  $bin (exit $rc; $(grep -c -- '^--- FAIL' "$logs/$bin.log") failed tests, log $logs/$bin.log)")
    failed=1
  fi
  if [ "${BENCH:-0}" = 1 ]; then
    echo "== $bin benchmarks"
    (cd "$wd" && "$dir/$bin" -test.run '^$' -test.bench . -test.benchtime 20x -test.timeout "$TEST_TIMEOUT") 2>&1 | tee "$logs/$bin.bench.log"
  fi
done <"$dir/MANIFEST"

if [ "${BENCH:-0}" = 1 ] && [ -f "$dir/torch_baseline.py" ] && python3 -c 'import torch' 2>/dev/null; then
  echo "== torch_baseline.py (compare within this run only)"
  python3 "$dir/torch_baseline.py" 2>&1 | tee "$logs/torch_baseline.log"
fi

# MNIST on both devices, same epochs and seed; runs/ directories go to a scratch directory.
acc() { sed -n 's/.*final test accuracy: \([0-9.]*\)%.*/\1/p' "$1" | tail -1; }
work=$(mktemp -d)
for dev in cuda cpu; do
  echo "== gotrain train -device $dev -epochs $EPOCHS -seed $SEED"
  (cd "$work" && "$dir/gotrain" train -device "$dev" -epochs "$EPOCHS" -seed "$SEED") 2>&1 | tee "$logs/mnist-$dev.log"
  rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    summary+=("FAIL  gotrain train -device $dev (exit $rc)")
    failed=1
  fi
done
gpu_acc=$(acc "$logs/mnist-cuda.log")
cpu_acc=$(acc "$logs/mnist-cpu.log")

echo
echo "==================== summary ===================="
printf '%s\n' "${summary[@]}"
echo "MNIST test accuracy after $EPOCHS epochs, seed $SEED: cuda ${gpu_acc:-?}%, cpu ${cpu_acc:-?}%"
exit $failed
