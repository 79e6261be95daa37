#!/usr/bin/env bash
# gpu-check.sh OUTDIR: the one command a GPU host runs (no Go needed there), from the repository
# root, over what scripts/gpu-build.sh built into .devrun/. Every step writes its log into OUTDIR
# as it goes, so a run cut short still brings back what ran; the summary comes last, on stdout
# and in OUTDIR/summary.txt (one line per step, written as each ends). Steps, most important
# first, each with its own timeout clipped to one overall deadline:
#
#   1-env-smoke.log  env: nvidia-smi, the driver, where libcuda and libcublas are; smoke: TestSmoke
#                    (open the device, write and read, one GEMM, one launch of each kernel family,
#                    every launch waited for) with the fatbins, then again with GOTRAIN_CUDA_PTX=1
#                    (the driver JIT-compiles the PTX) to time the JIT. If both fail, the run
#                    stops here with the error and the JIT log; if only the fatbin fails, the rest
#                    runs on the PTX.
#   2-tests.log      the GPU tests of backend/cuda in separate processes (a fault poisons the CUDA
#                    context for the rest of its process): conformance (backendtest), kernels
#                    against their CPU twins, training against the CPU, lifecycle (allocator, out
#                    of memory, use after free, the step's allocations), and the fault test. A
#                    group that fails has its failed tests rerun one per process with
#                    GOTRAIN_CUDA_SYNC=1, which names the kernel that faults.
#   3-mnist.log      gotrain train -device cuda, then -device cpu, on full MNIST (784-256-256-10,
#                    ReLU, Adam 1e-3, batch 128, 5 epochs, seed 1), test accuracies side by side.
#   4-bench.log      scripts/gpu-bench.sh: our kernels and training steps against PyTorch in one
#   4-table.md       run (python3 -u), and the table it prints.
#   5-sanitizer.log  if time remains: compute-sanitizer memcheck over the small kernel tests.
#   summary.txt      the summary.
#
# Environment: GPU_CHECK_DEADLINE (seconds, default 540: 9 minutes, inside the device tool's
# 10-minute command), GPU_CHECK_STEPS (default env,smoke,tests,mnist,bench,sanitizer: a subset
# reruns part), GPU_CHECK_BUILD (default .devrun beside scripts/), GPU_CHECK_TESTS (a regexp:
# run only the matching tests in the tests step), MNIST_EPOCHS (default 5).
# Exit status: 0 when every step that ran passed.
set -uo pipefail
if [ $# -ne 1 ]; then
  echo "usage: scripts/gpu-check.sh OUTDIR   (on the GPU host, from the repository root)" >&2
  exit 2
fi
out=$1
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
# The tests run from backend/cuda when the repository is here, so tests that read the committed
# kernels find them (they skip themselves in a copied build folder).
testdir=$repo/backend/cuda
[ -d "$testdir" ] || testdir=$PWD
build=${GPU_CHECK_BUILD:-$here/../.devrun}
[ -f "$here/MANIFEST" ] && [ -z "${GPU_CHECK_BUILD:-}" ] && build=$here
build=$(cd "$build" 2>/dev/null && pwd) || { echo "gpu-check.sh: no build folder (run scripts/gpu-build.sh on the build machine and carry .devrun)" >&2; exit 2; }
deadline=${GPU_CHECK_DEADLINE:-540}
steps=",${GPU_CHECK_STEPS:-env,smoke,tests,mnist,bench,sanitizer},"
start=$(date +%s)
end=$((start + deadline))
reserve=8 # seconds kept for the summary
summary=$out/summary.txt
: >"$summary"
status=0

export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PYTHONUNBUFFERED=1
work=$(mktemp -d /tmp/gotrain-gpu-check.XXXXXX)
bin=$work/bin
mkdir -p "$bin" "$work/nvcache"
# The driver's JIT cache, for the PTX path and GPUs other than sm_90 (which loads machine code).
export CUDA_CACHE_PATH=$work/nvcache

elapsed() { echo $(($(date +%s) - start)); }
left() { echo $((end - $(date +%s) - reserve)); }
# clip WANT: WANT seconds, or what is left before the deadline if that is less (at least 1).
clip() {
  local l
  l=$(left)
  if [ "$1" -lt "$l" ]; then echo "$1"; elif [ "$l" -gt 1 ]; then echo "$l"; else echo 1; fi
}
# note STEP RESULT SECONDS TEXT: one summary line, written at once.
note() { printf '%-28s %-8s %6s  %s\n' "$1" "$2" "${3:+${3}s}" "$4" | tee -a "$summary"; }
want() { [[ "$steps" == *",$1,"* ]]; }
# run LOG TIMEOUT CMD...: runs CMD with its output appended to LOG as it comes, killed after
# TIMEOUT seconds (then 124); a header line says what ran.
run() {
  local log=$1 t=$2
  shift 2
  echo "==== $(date -u +%T) (+$(elapsed)s, timeout ${t}s): $*" >>"$log"
  timeout -k 5 "$t" "$@" >>"$log" 2>&1
  local rc=$?
  echo "==== exit $rc" >>"$log"
  return $rc
}
# gotest LOG TIMEOUT ENV... -- ARGS...: the test binary from backend/cuda (so tests that read the
# committed kernels find them), Go's own -test.timeout 10 s inside ours so a hang prints stacks.
gotest() {
  local log=$1 t=$2
  shift 2
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  local inner=$((t > 20 ? t - 10 : t))
  (cd "$testdir" &&
    run "$log" "$t" env "${envs[@]}" "$bin/backend_cuda.test" -test.count=1 -test.v -test.timeout "${inner}s" "$@")
}
# first_error LOG: the first error of the part of LOG after its last header, on one line: the
# matching line and the one after it (testify puts the message under "Error: ...error:").
first_error() {
  awk '/^==== [0-9]/ { s = ""; n = 0 }
    s != "" && n == 1 { if ($0 !~ /^====/) s = s " " $0; n = 2 }
    /GOTRAIN_CUDA_SYNC is on|Error:|panic:|Error in initialization|cannot|not found/ && s == "" { s = $0; n = 1 }
    END { print s }' "$1" | tr -s ' \t' ' ' | sed 's/^ //' | cut -c1-300
}
# verdict LOG: PASS/FAIL counts of the top-level tests in the part of LOG after its last header.
verdict() {
  awk '/^==== [0-9]/ { p = 0; f = 0 } /^--- PASS/ { p++ } /^--- FAIL/ { f++ } END { printf "%d passed, %d failed", p, f }' "$1"
}
last_failed() { awk '/^==== [0-9]/ { delete f; n = 0 } /^--- FAIL: / { f[n++] = $3 } END { for (i = 0; i < n; i++) print f[i] }' "$1"; }

finish() {
  echo
  echo "==================== gpu-check summary ($(elapsed)s of ${deadline}s) ===================="
  cat "$summary"
  echo "files in $out: $(cd "$out" && ls | tr '\n' ' ')"
  rm -rf "$work"
  exit $status
}

# Unpack the build.
for f in "$build"/*.gz; do
  [ -e "$f" ] || break
  name=$(basename "$f" .gz)
  if command -v gzip >/dev/null; then gzip -dc "$f" >"$bin/$name"; else python3 -c 'import gzip,shutil,sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$f" "$bin/$name"; fi
  chmod +x "$bin/$name"
done
[ -f "$build/torch_baseline.py" ] && cp "$build/torch_baseline.py" "$bin/"
for f in backend_cuda.test gotrain gpubench; do
  [ -x "$bin/$f" ] || { note build FAIL 0 "$build has no $f.gz: run scripts/gpu-build.sh"; status=1; finish; }
done

# ---- 1. environment and smoke test
log=$out/1-env-smoke.log
: >"$log"
if want env; then
  t0=$(elapsed)
  {
    echo "date $(date -u +%FT%TZ), host $(uname -n), $(uname -srm)"
    cat "$build/MANIFEST" 2>/dev/null
    nvidia-smi 2>&1 || echo "nvidia-smi failed"
    nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    echo "-- libcuda and libcublas the dynamic linker knows:"
    ldconfig -p 2>/dev/null | grep -E 'libcuda\.so|libcublas\.so' || echo "(none in ldconfig's cache)"
    for d in ${LD_LIBRARY_PATH//:/ }; do ls -l "$d"/libcuda.so* "$d"/libcublas.so* 2>/dev/null; done
    command -v compute-sanitizer && compute-sanitizer --version 2>&1 | tail -1
    command -v python3 && python3 --version
  } >>"$log" 2>&1
  gpu=$(nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader 2>/dev/null | head -1)
  if [ -n "$gpu" ]; then note env ok $(($(elapsed) - t0)) "$gpu"; else note env FAIL $(($(elapsed) - t0)) "nvidia-smi gave no GPU"; status=1; fi
fi
if want smoke; then
  t0=$(elapsed)
  gotest "$log" "$(clip 90)" -- -test.run '^TestSmoke$'
  rc=$?
  fat=$rc
  kern=$(sed -n 's/.*smoke_test.go:[0-9]*: kernels: //p' "$log" | tail -1)
  libs=$(sed -n 's/.*smoke_test.go:[0-9]*: libraries: //p' "$log" | tail -1)
  [ -n "$libs" ] && note "  libraries" "" "" "$libs"
  if [ $rc -eq 0 ]; then note "smoke (fatbin)" PASS $(($(elapsed) - t0)) "kernels: $kern"; else note "smoke (fatbin)" FAIL $(($(elapsed) - t0)) "exit $rc: $(first_error "$log")"; status=1; fi
  t0=$(elapsed)
  gotest "$log" "$(clip 90)" GOTRAIN_CUDA_PTX=1 CUDA_CACHE_DISABLE=1 -- -test.run '^TestSmoke$'
  rc=$?
  kern=$(sed -n 's/.*smoke_test.go:[0-9]*: kernels: //p' "$log" | tail -1)
  if [ $rc -eq 0 ]; then note "smoke (PTX, JIT)" PASS $(($(elapsed) - t0)) "kernels: $kern"; else note "smoke (PTX, JIT)" FAIL $(($(elapsed) - t0)) "exit $rc: $(first_error "$log")"; status=1; fi
  if [ $fat -ne 0 ] && [ $rc -ne 0 ]; then
    note STOPPED "" "" "the device does not work: nothing after the smoke test would mean anything"
    echo "---- the smoke test's failure (1-env-smoke.log):"
    grep -E -A12 -- '--- FAIL|Error:|panic|JIT (error|info) log|Error in initialization' "$log" | head -80
    finish
  elif [ $fat -ne 0 ]; then
    export GOTRAIN_CUDA_PTX=1
    note "  (the rest)" "" "" "runs with GOTRAIN_CUDA_PTX=1: the fatbins failed, the PTX works"
  fi
fi

# ---- 2. the GPU tests, one process per group
log=$out/2-tests.log
if want tests; then
  : >"$log"
  list=$( (cd "$testdir" && timeout 60 "$bin/backend_cuda.test" -test.list '.*') 2>>"$log" | grep '^Test' || true)
  [ -n "${GPU_CHECK_TESTS:-}" ] && list=$(echo "$list" | grep -E "$GPU_CHECK_TESTS" || true)
  pick() { echo "$list" | grep -E "$1" | grep -v -E '^TestSmoke$|^TestFault' || true; }
  twins=$(pick 'Twin')
  training=$(pick 'MatchesTheCPU')
  lifecycle=$(pick 'Allocat|OutOfMemory|UseAfterFree|Close|Registry')
  fault=$(echo "$list" | grep -E '^TestFault' || true)
  taken=$(printf '%s\n' "$twins" "$training" "$lifecycle" | grep . || true)
  conformance=$(echo "$list" | grep -v -E '^TestSmoke$|^TestFault' | grep -v -x -F -e "${taken:-^$}" || true)
  group() { # group NAME TIMEOUT TESTS [ENV...]
    local name=$1 t tests=$3
    t=$(clip "$2")
    shift 3
    if [ -z "$tests" ]; then note "tests: $name" SKIPPED 0 "no tests"; return; fi
    if [ "$t" -lt 15 ]; then note "tests: $name" SKIPPED 0 "no time left"; status=1; return; fi
    local t0 rc regex
    t0=$(elapsed)
    regex="^($(echo "$tests" | paste -sd '|'))\$"
    gotest "$log" "$t" "$@" -- -test.run "$regex"
    rc=$?
    local counts
    counts=$(verdict "$log")
    if [ $rc -eq 0 ]; then
      note "tests: $name" PASS $(($(elapsed) - t0)) "$counts"
      return
    fi
    status=1
    local why="exit $rc"
    [ $rc -eq 124 ] && why="timed out after ${t}s"
    # Rerun up to three failed tests (or, after a crash or a timeout, the one that was running),
    # each alone, with every launch waited for, so the error names the kernel.
    local failed running=""
    failed=$(last_failed "$log" | grep -v / | head -3)
    if [ -z "$failed" ]; then
      running=$(awk '/^==== [0-9]/ { r = "" } /^=== (RUN|CONT)/ { r = $3 } END { print r }' "$log")
      failed=${running%%/*}
      why="$why while $running ran"
    fi
    note "tests: $name" FAIL $(($(elapsed) - t0)) "$counts; $why"
    for ft in $failed; do
      t=$(clip 60)
      [ "$t" -lt 20 ] && break
      t0=$(elapsed)
      gotest "$log" "$t" GOTRAIN_CUDA_SYNC=1 "$@" -- -test.run "^${ft}\$"
      rc=$?
      local first
      first=$(first_error "$log")
      note "  rerun, sync each launch" "$([ $rc -eq 0 ] && echo PASS || echo FAIL)" $(($(elapsed) - t0)) "$ft: ${first:-no error line}"
    done
  }
  group conformance 150 "$conformance"
  group "kernels vs twins" 120 "$twins"
  group "training vs CPU" 90 "$training"
  group lifecycle 60 "$lifecycle"
  group "fault names kernel" 30 "$fault" GOTRAIN_CUDA_FAULT_TEST=1
fi

# ---- 3. MNIST on both devices, same data and seed
log=$out/3-mnist.log
if want mnist; then
  : >"$log"
  epochs=${MNIST_EPOCHS:-5}
  data=()
  what="full MNIST"
  if [ -f "$build/mnist/train-images-idx3-ubyte.gz" ]; then data=(-data "$build/mnist"); else what="the embedded MNIST subset (no .devrun/mnist)"; fi
  args=(train "${data[@]}" -model 784-256-256-10 -activation relu -optimizer adam -lr 1e-3 -batch 128 -epochs "$epochs" -seed 1)
  acc() { sed -n 's/.*final test accuracy: \([0-9.]*\)%.*/\1/p' "$1" | tail -1; }
  declare -A accs
  for dev in cuda cpu; do
    t=$(clip 150)
    if [ "$t" -lt 20 ]; then note "mnist -device $dev" SKIPPED 0 "no time left"; status=1; continue; fi
    t0=$(elapsed)
    (cd "$work" && run "$log" "$t" "$bin/gotrain" "${args[@]}" -device "$dev" -run-dir "$work/runs-$dev")
    rc=$?
    awk '/^==== [0-9]/ { n = 0 } { l[n++] = $0 } END { for (i = 0; i < n; i++) print l[i] }' "$log" >"$work/mnist-$dev.log"
    accs[$dev]=$(acc "$work/mnist-$dev.log")
    if [ $rc -eq 0 ]; then note "mnist -device $dev" PASS $(($(elapsed) - t0)) "test accuracy ${accs[$dev]}% after $epochs epochs"; else note "mnist -device $dev" FAIL $(($(elapsed) - t0)) "exit $rc"; status=1; fi
  done
  {
    echo "==== $what, ${args[*]}: test accuracy per epoch"
    printf '%-7s %-14s %-14s\n' epoch cuda cpu
    paste <(grep -E '^epoch [0-9]+/' "$work/mnist-cuda.log" 2>/dev/null | sed -n 's/.*test loss \([0-9.]*\) acc \([0-9.]*%\).*/\2 (\1)/p') \
      <(grep -E '^epoch [0-9]+/' "$work/mnist-cpu.log" 2>/dev/null | sed -n 's/.*test loss \([0-9.]*\) acc \([0-9.]*%\).*/\2 (\1)/p') |
      awk -F'\t' '{printf "%-7d %-14s %-14s\n", NR, $1, $2}'
  } >>"$log"
  if [ -n "${accs[cuda]:-}" ] && [ -n "${accs[cpu]:-}" ]; then
    d=$(awk -v a="${accs[cuda]}" -v b="${accs[cpu]}" 'BEGIN { d = a - b; if (d < 0) d = -d; printf "%.2f", d }')
    ok=$(awk -v d="$d" 'BEGIN { print (d <= 0.3) ? "PASS" : "FAIL" }')
    [ "$ok" = PASS ] || status=1
    note "mnist cuda vs cpu" "$ok" "" "$what, $epochs epochs: cuda ${accs[cuda]}%, cpu ${accs[cpu]}%, difference $d points (at most 0.3 wanted)"
  fi
fi

# ---- 4. our kernels against PyTorch, one run
log=$out/4-bench.log
if want bench; then
  : >"$log"
  t=$(clip 330)
  if [ "$t" -lt 60 ]; then
    note bench SKIPPED 0 "no time left"
    status=1
  else
    t0=$(elapsed)
    # gpu-bench.sh's own three timeouts, in the proportions of its defaults (240, 120, 150).
    GO_KERNELS_TIMEOUT=$((t * 45 / 100)) GO_STEPS_TIMEOUT=$((t * 22 / 100)) TORCH_TIMEOUT=$((t * 28 / 100)) OUT=$work/bench \
      run "$log" "$t" bash "$here/gpu-bench.sh" "$bin"
    rc=$?
    [ -f "$work/bench/table.md" ] && cp "$work/bench/table.md" "$out/4-table.md"
    rows=$(grep -c '^|' "$out/4-table.md" 2>/dev/null || echo 0)
    if [ $rc -eq 0 ]; then note bench ok $(($(elapsed) - t0)) "4-table.md, $rows table lines"; else note bench FAIL $(($(elapsed) - t0)) "exit $rc; 4-table.md has $rows table lines"; status=1; fi
  fi
fi

# ---- 5. memcheck over the small kernel tests, with what time is left
log=$out/5-sanitizer.log
if want sanitizer; then
  : >"$log"
  t=$(clip 600)
  if ! command -v compute-sanitizer >/dev/null; then
    note memcheck SKIPPED 0 "no compute-sanitizer on this host"
  elif [ "$t" -lt 45 ]; then
    note memcheck SKIPPED 0 "${t}s left"
  else
    t0=$(elapsed)
    small='^(TestSmoke|TestElementwiseKernelsMatchTheirTwins|TestShapeKernelsMatchTheirTwins|TestRowKernelsMatchTheirTwins|TestSumSquaresKernelMatchesItsTwin|TestOptimizerStep|TestActivationKernelsMatchTheirTwins)$'
    (cd "$testdir" &&
      run "$log" "$t" compute-sanitizer --tool memcheck --error-exitcode 99 --print-limit 30 \
        "$bin/backend_cuda.test" -test.count=1 -test.v -test.timeout "$((t - 10))s" -test.run "$small")
    rc=$?
    errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) error.*/\1/p' "$log" | tail -1)
    case $rc in
      0) note memcheck PASS $(($(elapsed) - t0)) "${errs:-0} errors; $(verdict "$log")" ;;
      124) note memcheck "CUT" $(($(elapsed) - t0)) "stopped at the deadline; $(verdict "$log"); errors so far: $(grep -c '^========= Invalid\|^========= Program hit' "$log")" ;;
      *) note memcheck FAIL $(($(elapsed) - t0)) "exit $rc, ${errs:-?} errors; $(verdict "$log")"; status=1 ;;
    esac
  fi
fi

finish
