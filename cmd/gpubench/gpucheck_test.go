package main

import (
	"compress/gzip"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scripts/gpu-check.sh runs on a GPU host that a session gets for a few minutes, so its logic is
// tested here, on any machine, against stand-ins: a test binary, gotrain, gpubench, nvidia-smi,
// compute-sanitizer and python3 that print what the real ones print (the lines the script reads).

// fakeTestBinary answers -test.list, runs the tests matching -test.run (failing those named in
// FAKE_FAIL, and TestSmoke as FAKE_SMOKE_FAIL says), names a kernel when GOTRAIN_CUDA_SYNC is on,
// and prints a benchmark line for -test.bench.
const fakeTestBinary = `#!/usr/bin/env bash
tests="TestAllocWriteRead TestGemm TestOptimizerStep TestActivationKernelsMatchTheirTwins TestTrainingMatchesTheCPU TestAllocatorSteadyStateOnTheDevice TestOutOfMemoryIsAnError TestSmoke TestFaultNamesItsKernel"
run=""; bench=""
while [ $# -gt 0 ]; do
  case $1 in
    -test.list) for t in $tests; do echo $t; done; echo BenchmarkTorchCopy; exit 0;;
    -test.run) run=$2; shift;;
    -test.bench) bench=$2; shift;;
  esac
  shift
done
if [ -n "$bench" ]; then echo "BenchmarkTorchCopy/n=268435456-16  20  1.0 ms/op"; echo PASS; exit 0; fi
rc=0
for t in $tests; do
  echo "$t" | grep -qE "$run" || continue
  echo "=== RUN   $t"
  if [ "$t" = TestSmoke ]; then
    echo "    smoke_test.go:31: libraries: libcuda /fake/libcuda.so.1 (CUDA driver API 13.0)"
    if [ -n "${GOTRAIN_CUDA_PTX:-}" ]; then echo "    smoke_test.go:32: kernels: 1400.0 ms in all: optim.ptx 500.0 ms"; else echo "    smoke_test.go:32: kernels: 3.0 ms in all: optim.fatbin 1.0 ms"; fi
    if [ "${FAKE_SMOKE_FAIL:-}" = both ] || { [ "${FAKE_SMOKE_FAIL:-}" = fatbin ] && [ -z "${GOTRAIN_CUDA_PTX:-}" ]; }; then
      printf '    smoke_test.go:30: \n        \tError Trace:\tx\n        \tError:      \tReceived unexpected error:\n        \t            \tcuda: Open: cuModuleLoadDataEx(optim.fatbin): CUDA_ERROR_INVALID_IMAGE\n'
      echo "--- FAIL: $t (0.10s)"; rc=1; continue
    fi
  fi
  if [[ " ${FAKE_FAIL:-} " == *" $t "* ]]; then
    [ -n "${GOTRAIN_CUDA_SYNC:-}" ] && echo "    x_test.go:1: cuda: Fill: fill_f32 (grid 1x1, block 256x1) with (0x10, 1, 1) failed (GOTRAIN_CUDA_SYNC is on: the device waited for it): CUDA_ERROR_ILLEGAL_ADDRESS"
    echo "--- FAIL: $t (0.01s)"; rc=1
  else
    echo "--- PASS: $t (0.01s)"
  fi
done
[ $rc -eq 0 ] && echo PASS || echo FAIL
exit $rc
`

const fakeGotrain = `#!/usr/bin/env bash
dev=cpu; ep=3; data=none
while [ $# -gt 0 ]; do case $1 in -device) dev=$2; shift;; -epochs) ep=$2; shift;; -data) data=$2; shift;; esac; shift; done
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "no data at $data"; exit 1; }
for i in $(seq 1 $ep); do
  a=$(awk -v i=$i -v d=$dev -v s="${FAKE_SHIFT:-0.05}" 'BEGIN { printf "%.2f", 95 + i * 0.5 + (d == "cuda" ? s : 0) }')
  echo "epoch $i/$ep  train loss 0.2 acc 93.00%  test loss 0.1$i acc $a%  lr 0.001  1.2s  49743 samples/s"
done
echo "  final test accuracy: $a%, loss 0.0697"
`

var fakeTools = map[string]string{
	"nvidia-smi": `#!/usr/bin/env bash
case "$*" in *noheader*) echo "NVIDIA H200, 580.159.04, 9.0";; *query*) printf 'name, driver_version\nNVIDIA H200, 580.159.04\n';; *) echo "GPU 0: NVIDIA H200";; esac
`,
	"compute-sanitizer": `#!/usr/bin/env bash
[ "$1" = --version ] && { echo "compute-sanitizer fake"; exit 0; }
while [ "${1#--}" != "$1" ]; do case $1 in --tool|--error-exitcode|--print-limit) shift;; esac; shift; done
"$@"; rc=$?; echo "========= ERROR SUMMARY: 0 errors"; exit $rc
`,
	"python3": `#!/usr/bin/env bash
[ "$1" = -c ] && exit 0
echo "torch 2.11.0 NVIDIA H200"
`,
}

type gpuCheck struct {
	out, summary string
	err          error
	files        []string
}

// runGPUCheck runs scripts/gpu-check.sh with the stand-ins and env, and returns its output.
func runGPUCheck(t *testing.T, env ...string) gpuCheck {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	for _, tool := range []string{"gzip", "timeout", "awk", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	dir := t.TempDir()
	build, path, out := filepath.Join(dir, "build"), filepath.Join(dir, "path"), filepath.Join(dir, "out")
	require.NoError(t, os.MkdirAll(filepath.Join(build, "mnist"), 0o755))
	require.NoError(t, os.MkdirAll(path, 0o755))
	for name, src := range map[string]string{"backend_cuda.test": fakeTestBinary, "gotrain": fakeGotrain,
		"gpubench": "#!/usr/bin/env bash\necho '| workload | ours | PyTorch |'\necho '| copy | 1.0 | 1.0 |'\n"} {
		f, err := os.Create(filepath.Join(build, name+".gz"))
		require.NoError(t, err)
		zw := gzip.NewWriter(f)
		_, err = zw.Write([]byte(src))
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		require.NoError(t, f.Close())
	}
	require.NoError(t, os.WriteFile(filepath.Join(build, "MANIFEST"), []byte("built by the test\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(build, "torch_baseline.py"), []byte("print('torch')\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(build, "mnist", "train-images-idx3-ubyte.gz"), nil, 0o644))
	for name, src := range fakeTools {
		require.NoError(t, os.WriteFile(filepath.Join(path, name), []byte(src), 0o755))
	}
	cmd := exec.Command("bash", "../../scripts/gpu-check.sh", out)
	cmd.Env = append(os.Environ(), "PATH="+path+string(os.PathListSeparator)+os.Getenv("PATH"), "GPU_CHECK_BUILD="+build, "GPU_CHECK_DEADLINE=120")
	cmd.Env = append(cmd.Env, env...)
	b, err := cmd.CombinedOutput()
	r := gpuCheck{out: string(b), err: err}
	s, _ := os.ReadFile(filepath.Join(out, "summary.txt"))
	r.summary = string(s)
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		r.files = append(r.files, e.Name())
	}
	return r
}

// line returns the summary line that starts with step, or "".
func (r gpuCheck) line(step string) string {
	for _, l := range strings.Split(r.summary, "\n") {
		if strings.HasPrefix(l, step) {
			return l
		}
	}
	return ""
}

func TestGPUCheckRunsEveryStepAndSummarisesThem(t *testing.T) {
	r := runGPUCheck(t)
	require.NoError(t, r.err, r.out)
	for step, want := range map[string]string{
		"env":                       "NVIDIA H200, 580.159.04, 9.0",
		"  libraries":               "/fake/libcuda.so.1",
		"smoke (fatbin)":            "PASS",
		"smoke (PTX, JIT)":          "kernels: 1400.0 ms",
		"tests: conformance":        "3 passed, 0 failed",
		"tests: kernels vs twins":   "1 passed, 0 failed",
		"tests: training vs CPU":    "PASS",
		"tests: lifecycle":          "2 passed",
		"tests: fault names kernel": "1 passed",
		"mnist -device cuda":        "97.55%",
		"mnist cuda vs cpu":         "full MNIST, 5 epochs: cuda 97.55%, cpu 97.50%, difference 0.05 points",
		"bench":                     "ok",
		"memcheck":                  "0 errors",
	} {
		assert.Contains(t, r.line(step), want, "summary line %q in\n%s", step, r.summary)
	}
	assert.LessOrEqual(t, len(r.files), 8, "at most 8 files come back: %v", r.files)
	assert.Contains(t, r.files, "4-table.md")
	tail := strings.TrimSpace(r.out[strings.LastIndex(r.out, "gpu-check summary"):])
	for _, l := range strings.Split(strings.TrimSpace(r.summary), "\n") {
		assert.Contains(t, tail, l, "the summary is printed last, whole")
	}
	assert.True(t, strings.HasPrefix(tail[strings.LastIndex(tail, "\n")+1:], "files in "), "it ends with the files to fetch")
}

func TestGPUCheckRerunsAFailedTestWithEveryLaunchWaitedFor(t *testing.T) {
	r := runGPUCheck(t, "FAKE_FAIL=TestGemm", "GPU_CHECK_STEPS=smoke,tests")
	var exit *exec.ExitError
	require.True(t, errors.As(r.err, &exit), "a failed test fails the run: %v\n%s", r.err, r.out)
	assert.Contains(t, r.line("tests: conformance"), "FAIL")
	assert.Contains(t, r.line("tests: conformance"), "2 passed, 1 failed")
	assert.Contains(t, r.line("  rerun, sync each launch"), "TestGemm: x_test.go:1: cuda: Fill: fill_f32 (grid 1x1, block 256x1)")
	assert.Contains(t, r.line("tests: kernels vs twins"), "PASS", "the next group runs in its own process")
	assert.NotContains(t, r.files, "3-mnist.log", "steps not asked for write nothing")
}

func TestGPUCheckStopsWhenTheSmokeTestFails(t *testing.T) {
	r := runGPUCheck(t, "FAKE_SMOKE_FAIL=both")
	require.Error(t, r.err)
	assert.Contains(t, r.line("smoke (fatbin)"), "FAIL")
	assert.Contains(t, r.line("smoke (fatbin)"), "exit 1: Error: Received unexpected error: cuda: Open: cuModuleLoadDataEx(optim.fatbin): CUDA_ERROR_INVALID_IMAGE",
		"the error under testify's header, on the summary line")
	assert.Contains(t, r.line("STOPPED"), "the device does not work")
	assert.Empty(t, r.line("tests:"), "nothing runs after a failed smoke test")
	assert.Equal(t, []string{"1-env-smoke.log", "summary.txt"}, r.files)

	r = runGPUCheck(t, "FAKE_SMOKE_FAIL=fatbin", "GPU_CHECK_STEPS=smoke,tests")
	assert.Contains(t, r.line("smoke (PTX, JIT)"), "PASS")
	assert.Contains(t, r.line("  (the rest)"), "GOTRAIN_CUDA_PTX=1", "the PTX takes over when only the fatbins fail")
	assert.Contains(t, r.line("tests: conformance"), "PASS")
}

func TestGPUCheckFailsAnAccuracyGapOverThreeTenths(t *testing.T) {
	r := runGPUCheck(t, "FAKE_SHIFT=-0.35", "GPU_CHECK_STEPS=mnist")
	require.Error(t, r.err)
	assert.Contains(t, r.line("mnist cuda vs cpu"), "FAIL")
	assert.Contains(t, r.line("mnist cuda vs cpu"), "difference 0.35 points")
}
