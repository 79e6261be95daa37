#!/usr/bin/env bash
# gpu-bench.sh [DIR]: on the GPU host (no Go needed), issue 5's comparison in ONE run (step 4 of
# scripts/gpu-check.sh, which passes the timeouts below clipped to its deadline): our
# BenchmarkTorch* benchmarks (backend_cuda.test, built by scripts/gpu-build.sh), then PyTorch's
# torch_baseline.py, then gpubench on both outputs, which prints one table (workload, ours,
# PyTorch, ratio, GB/s or TFLOP/s, % of copy or SGEMM, target, met?) under the device's name.
# Ratios are only meaningful within one such run.
#
# DIR holds the unpacked build (backend_cuda.test, gpubench, torch_baseline.py: gpu-check.sh
# unpacks scripts/gpu-build.sh's .gz files into a folder of its own and passes that): default the
# directory this script is in when it holds them, else .devrun under the repository root. The outputs (device.txt, go-bench.txt, torch.txt, table.md) go to $OUT when it is set (the
# device tool's folder that comes back), else to a fresh temporary directory; the path is printed.
#
# Time: well under the ~8 minutes of GPU time this run may take (a session has 15 minutes,
# machine start included). Our side: -test.benchtime 20x for the kernels (the baseline's 20 reps
# after 3 warm-ups) and 50x for the training steps (its 50 after 10); each sub-benchmark runs
# once with b.N=1 and then with b.N=20 or 50, and each of the 7 top-level benchmarks opens the
# device (PTX JIT) and fills a few GB; expected about 1-2 minutes. torch_baseline.py: about a
# minute. Each step has its own timeout (GO_KERNELS_TIMEOUT 240 s, GO_STEPS_TIMEOUT 120 s,
# TORCH_TIMEOUT 150 s, about 8.5 minutes in all at worst), so one hang cannot eat the budget; a step
# that fails or times out leaves "not measured" or "FAILED" rows, and the table is still printed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -ge 1 ]; then
  dir=$1
elif [ -x "$here/backend_cuda.test" ]; then
  dir=$here
else
  dir=$here/../.devrun
fi
dir=$(cd "$dir" 2>/dev/null && pwd) || { echo "gpu-bench.sh: no build folder $dir (run scripts/gpu-build.sh first)" >&2; exit 2; }
for f in backend_cuda.test gpubench; do
  [ -x "$dir/$f" ] || { echo "gpu-bench.sh: $dir/$f missing (run scripts/gpu-build.sh)" >&2; exit 2; }
done
repo=$(cd "$here/.." && pwd)
[ -f "$repo/go.mod" ] || repo=""

export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
echo "== outputs in $out"
status=0

{
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi -L
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
  else
    echo "nvidia-smi not found"
  fi
} 2>&1 | tee "$out/device.txt"

# Our benchmarks, from the package directory when the repository is here (as gpu-check.sh does).
wd=$dir
if [ -n "$repo" ] && [ -d "$repo/backend/cuda" ]; then wd=$repo/backend/cuda; fi
bench() { # bench REGEX BENCHTIME TIMEOUT_S
  echo "== backend_cuda.test -test.bench '$1' -test.benchtime $2"
  (cd "$wd" && timeout -k 10 "$3" "$dir/backend_cuda.test" -test.run '^$' -test.bench "$1" \
    -test.benchtime "$2" -test.count 1 -test.timeout "$(($3 - 15))s") 2>&1 | tee -a "$out/go-bench.txt"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    echo "gpu-bench.sh: benchmarks '$1' exited $rc" | tee -a "$out/go-bench.txt"
    status=1
  fi
}
: >"$out/go-bench.txt"
bench '^BenchmarkTorch(Copy|Activation|Softmax|Optimizer|SGEMM)$' 20x "${GO_KERNELS_TIMEOUT:-240}"
bench '^BenchmarkTorch(MLP|TrainStep)$' 50x "${GO_STEPS_TIMEOUT:-120}"

: >"$out/torch.txt"
if [ ! -f "$dir/torch_baseline.py" ]; then
  echo "gpu-bench.sh: $dir/torch_baseline.py missing (gpu-build.sh copies it from ../shared/gpu): no PyTorch column" | tee "$out/torch.txt"
  status=1
elif ! python3 -c 'import torch' 2>/dev/null; then
  echo "gpu-bench.sh: python3 cannot import torch: no PyTorch column" | tee "$out/torch.txt"
  status=1
else
  echo "== python3 torch_baseline.py"
  # -u: unbuffered, so a run cut short by its timeout still leaves every line it printed.
  timeout -k 10 "${TORCH_TIMEOUT:-150}" python3 -u "$dir/torch_baseline.py" 2>&1 | tee "$out/torch.txt"
  rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    echo "gpu-bench.sh: torch_baseline.py exited $rc" >&2
    status=1
  fi
fi

echo
echo "==================== ours vs PyTorch, one run ===================="
head -1 "$out/device.txt"
"$dir/gpubench" -go "$out/go-bench.txt" -torch "$out/torch.txt" | tee "$out/table.md"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "(outputs in $out)"
exit $status
