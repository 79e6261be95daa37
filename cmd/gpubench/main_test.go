package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/sample-table.golden.md")

// The samples in testdata/ have the exact format of the two programs' output (the Go one was
// printed by `go test -bench` from stub benchmarks of the same names and units), but their
// numbers are invented, roughly H200-sized: they are not measurements.
const (
	sampleGo    = "testdata/sample-go-bench.txt"
	sampleTorch = "testdata/sample-torch.txt"
	golden      = "testdata/sample-table.golden.md"
)

func parseFile[T any](t *testing.T, path string, parse func(r io.Reader) (T, error)) T {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r, err := parse(f)
	require.NoError(t, err)
	return r
}

func TestParseGoBenchReadsTheSample(t *testing.T) {
	g := parseFile(t, sampleGo, parseGoBench)
	assert.Len(t, g.metrics, 21, "benchmarks")
	assert.Empty(t, g.failed)
	assert.Equal(t, "AMD EPYC 9654 96-Core Processor", g.header["cpu"])
	for _, c := range []struct {
		name, unit string
		want       float64
	}{
		{"BenchmarkTorchCopy", "ms", 0.56},
		{"BenchmarkTorchCopy", "GB/s", 3835},
		{"BenchmarkTorchCopy", "ns/op", 560000},
		{"BenchmarkTorchActivation/tanh-backward", "GB/s", 3559},
		{"BenchmarkTorchSoftmax/16777216x10", "ms", 0.548},
		{"BenchmarkTorchOptimizer/adam-many", "tensors", 256},
		{"BenchmarkTorchMLP/784-1024-1024-10-batch128", "TFLOP/s", 5.375},
		{"BenchmarkTorchMLP/784-4096-4096-10-batch4096", "ms", 13.90},
		{"BenchmarkTorchTrainStep/784-1024-1024-10-batch1024", "syncs/step", 3},
		{"BenchmarkTorchSGEMM", "TFLOP/s", 51.60},
	} {
		got, ok := g.metric(c.name, c.unit)
		if assert.True(t, ok, "%s %s", c.name, c.unit) {
			assert.InDelta(t, c.want, got, 1e-9, "%s %s", c.name, c.unit)
		}
	}
	_, ok := g.metric("BenchmarkTorchCopy", "TFLOP/s")
	assert.False(t, ok, "a unit the benchmark did not report")
}

func TestParseGoBenchEdgeCases(t *testing.T) {
	for _, c := range []struct {
		name, in   string
		bench      string
		wantMS     float64
		wantFailed []string
		wantErr    string
	}{
		{name: "without a GOMAXPROCS suffix (GOMAXPROCS=1)",
			in:    "BenchmarkTorchCopy \t      20\t    560000 ns/op\t         0.5600 ms\n",
			bench: "BenchmarkTorchCopy", wantMS: 0.56},
		{name: "with a name that ends in digits before the suffix",
			in:    "BenchmarkTorchMLP/784-1024-1024-10-batch128-16 \t 50\t 266000 ns/op\t 0.2660 ms\n",
			bench: "BenchmarkTorchMLP/784-1024-1024-10-batch128", wantMS: 0.266},
		{name: "with the name alone on its line and the numbers after log output",
			in:    "BenchmarkTorchCopy-16\n    gpubench_test.go:12: a log line\n      20\t    560000 ns/op\t         0.5600 ms\n",
			bench: "BenchmarkTorchCopy", wantMS: 0.56},
		{name: "with -count 3, taking the median",
			in:    "BenchmarkTorchCopy-8 20 1 ms\nBenchmarkTorchCopy-8 20 3 ms\nBenchmarkTorchCopy-8 20 2 ms\n",
			bench: "BenchmarkTorchCopy", wantMS: 2},
		{name: "with a failed sub-benchmark (as go1.26 prints it) beside a good one",
			in: "--- FAIL: BenchmarkTorchSoftmax/16777216x10\n    gpubench_test.go:99: softmax: first bad index 3\n" +
				"BenchmarkTorchSoftmax/262144x1024-16 \t 20\t 601000 ns/op\t 0.6010 ms\n--- FAIL: BenchmarkTorchSoftmax\nFAIL\n",
			bench: "BenchmarkTorchSoftmax/262144x1024", wantMS: 0.601,
			wantFailed: []string{"BenchmarkTorchSoftmax/16777216x10", "BenchmarkTorchSoftmax"}},
		{name: "with a failure line that carries a GOMAXPROCS suffix",
			in: "--- FAIL: BenchmarkTorchCopy-16\n", wantFailed: []string{"BenchmarkTorchCopy"}},
		{name: "with an odd number of metric fields",
			in: "BenchmarkTorchCopy-16 20 560000 ns/op 0.56\n", wantErr: "value-unit pairs"},
		{name: "with a value that is not a number",
			in: "BenchmarkTorchCopy-16 20 fast ns/op\n", wantErr: "invalid syntax"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := parseGoBench(strings.NewReader(c.in))
			if c.wantErr != "" {
				require.ErrorContains(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			if c.bench != "" {
				ms, ok := g.metric(c.bench, "ms")
				require.True(t, ok, "parsed %v", g.metrics)
				assert.InDelta(t, c.wantMS, ms, 1e-12)
			}
			for _, f := range c.wantFailed {
				assert.True(t, g.failed[f], "%s failed", f)
			}
		})
	}
}

func TestParseTorchReadsTheSample(t *testing.T) {
	tr := parseFile(t, sampleTorch, parseTorch)
	assert.Equal(t, "2.11.0+cu130", tr.version)
	assert.Equal(t, "NVIDIA H200", tr.device)
	assert.Len(t, tr.labels, 19)
	for key, want := range map[string]float64{
		"copy":                            0.562,
		"relu":                            0.569,
		"softmax 262144x1024":             0.655,
		"adam-fused[many]":                2.352,
		"adam-forloop[small]":             9.874,
		"sgd-mom-fused[small]":            0.455,
		"mlp 784-1024-1024-10 batch=128":  0.471,
		"mlp 784-4096-4096-10 batch=4096": 14.212,
	} {
		got, ok := tr.find(key)
		if assert.True(t, ok, key) {
			assert.InDelta(t, want, got, 1e-12, key)
		}
	}
	for _, key := range []string{"", "adam", "softmax 262144", "mlp 784-1024-1024-10 batch=12"} {
		_, ok := tr.find(key)
		assert.False(t, ok, "%q matches only a whole label or a prefix ending at a space", key)
	}
}

func TestParseTorchSkipsWarningsAndTracebacks(t *testing.T) {
	in := `/usr/lib/python3/dist-packages/torch/cuda/__init__.py:61: UserWarning: something
torch 2.11.0 NVIDIA H100 80GB HBM3
copy n=268435456: 0.700 ms 3068 GB/s
Traceback (most recent call last):
  File "torch_baseline.py", line 20, in <module>
torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.00 GiB
`
	tr, err := parseTorch(strings.NewReader(in))
	require.NoError(t, err)
	assert.Equal(t, "NVIDIA H100 80GB HBM3", tr.device)
	assert.Equal(t, []string{"copy n=268435456"}, tr.labels)
}

func TestEvaluate(t *testing.T) {
	ratio := target{minRatio: 2, text: ">= 2x torch"}
	both := target{minPct: 90, minRatio: 1.5}
	for _, c := range []struct {
		name                          string
		tgt                           target
		ours, torch, rate, ref, syncs float64
		wantRatio, wantPct            float64
		want                          string
	}{
		{"a row without a target has no verdict", target{}, 2, 3, 3600, 4000, -1, 1.5, 90, ""},
		{"a ratio at the target is met", ratio, 1, 2, 0, 0, -1, 2, 0, metYes},
		{"a ratio below it names the gap", ratio, 1, 1.5, 0, 0, -1, 1.5, 0, "NO (1.50x < 2x)"},
		{"a ratio without PyTorch's time is not measured", ratio, 1, 0, 0, 0, -1, 0, 0, notMeasured},
		{"a ratio without ours is not measured", ratio, 0, 2, 0, 0, -1, 0, 0, notMeasured},
		{"both parts holding is met", both, 1, 2, 3700, 4000, -1, 2, 92.5, metYes},
		{"one part failing is enough", both, 1, 2, 3500, 4000, -1, 2, 87.5, "NO (87.5% < 90%)"},
		{"both failing names both", both, 1, 1.2, 3500, 4000, -1, 1.2, 87.5, "NO (87.5% < 90%, 1.20x < 1.5x)"},
		{"a failed part wins over an unknown one", both, 1, 0, 3500, 4000, -1, 0, 87.5, "NO (87.5% < 90%)"},
		{"a passing part with an unknown one is not measured", both, 1, 0, 3700, 4000, -1, 0, 92.5, notMeasured},
		{"a percentage without the reference is not measured", target{minPct: 95}, 1, 0, 3700, 0, -1, 0, 0, notMeasured},
		{"one sync is met", target{maxSyncs: 1}, 1, 0, 0, 0, 1, 0, 0, metYes},
		{"three syncs are not", target{maxSyncs: 1}, 1, 0, 0, 0, 3, 0, 0, "NO (3 > 1 syncs)"},
		{"no sync count is not measured", target{maxSyncs: 1}, 1, 0, 0, 0, -1, 0, 0, notMeasured},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, p, v := evaluate(c.tgt, c.ours, c.torch, c.rate, c.ref, c.syncs)
			assert.InDelta(t, c.wantRatio, r, 1e-12, "ratio")
			assert.InDelta(t, c.wantPct, p, 1e-12, "pct")
			assert.Equal(t, c.want, v)
		})
	}
}

// TestIssueTargetsAreEncoded pins the targets of issue 5 to the rows they belong to.
func TestIssueTargetsAreEncoded(t *testing.T) {
	want := map[string]target{
		"sigmoid forward":              {minPct: 95},
		"tanh backward":                {minPct: 95},
		"relu backward":                {minPct: 95},
		"softmax 2^18 x 1024":          {minRatio: 1},
		"softmax 2^24 x 10":            {minRatio: 2},
		"adam 256 x 1M":                {minPct: 90, minRatio: 1.5},
		"adam 200 small (26M)":         {minRatio: 2},
		"sgd-momentum 256 x 1M":        {minPct: 90, minRatio: 1.5},
		"sgd-momentum 200 small (26M)": {minRatio: 2},
		"784-1024-1024-10 batch 1024":  {minRatio: 1 / 0.8},
		"784-1024-1024-10 batch 128":   {minRatio: 1 / 0.5},
		"device step, batch 1024":      {maxSyncs: 1},
	}
	seen := map[string]bool{}
	for _, r := range rows {
		w, ok := want[r.workload]
		if !ok {
			continue
		}
		seen[r.workload] = true
		got := r.target
		got.text = ""
		assert.Equal(t, w, got, r.workload)
		assert.NotEmpty(t, r.target.text, r.workload)
	}
	assert.Len(t, seen, len(want), "every target has its row")
}

// TestRowsNameRealBenchmarks keeps the table in step with the benchmarks: every row's benchmark
// is in the sample, and its top-level function exists in backend/cuda's benchmark file.
func TestRowsNameRealBenchmarks(t *testing.T) {
	g := parseFile(t, sampleGo, parseGoBench)
	tr := parseFile(t, sampleTorch, parseTorch)
	src, err := os.ReadFile(filepath.Join("..", "..", "backend", "cuda", "gpubench_test.go"))
	require.NoError(t, err)
	for _, r := range rows {
		_, ok := g.metrics[r.ours]
		assert.True(t, ok, "%s: %s is not in %s", r.workload, r.ours, sampleGo)
		fn := "func " + parentOf(r.ours) + "(b *testing.B)"
		assert.True(t, bytes.Contains(src, []byte(fn)), "%s: no %q in backend/cuda/gpubench_test.go", r.workload, fn)
		if r.torch != "" {
			_, ok := tr.find(r.torch)
			assert.True(t, ok, "%s: %q is not in %s", r.workload, r.torch, sampleTorch)
		}
	}
}

func TestTableMatchesGolden(t *testing.T) {
	var out, errs bytes.Buffer
	require.Equal(t, 0, run([]string{"-go", sampleGo, "-torch", sampleTorch}, &out, &errs), errs.String())
	if *update {
		require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), out.String(), "run with -update to accept")
}

// cell returns the columns of the table row whose workload is name.
func cell(t *testing.T, table, name string) []string {
	t.Helper()
	for _, l := range strings.Split(table, "\n") {
		cols := strings.Split(l, "|")
		if len(cols) > 2 && strings.TrimSpace(cols[1]) == name {
			out := make([]string, 0, len(cols)-2)
			for _, c := range cols[1 : len(cols)-1] {
				out = append(out, strings.TrimSpace(c))
			}
			return out
		}
	}
	t.Fatalf("no row %q in\n%s", name, table)
	return nil
}

func TestMissingSideSaysNotMeasured(t *testing.T) {
	var out, errs bytes.Buffer
	require.Equal(t, 0, run([]string{"-go", sampleGo}, &out, &errs), errs.String())
	row := cell(t, out.String(), "adam 256 x 1M")
	assert.Equal(t, "2.051", row[1])
	assert.Equal(t, notMeasured, row[2], "PyTorch ms")
	assert.Equal(t, notMeasured, row[7], "90%% holds but the ratio is unknown")
	assert.Equal(t, metYes, cell(t, out.String(), "sigmoid forward")[7], "a percentage target needs no PyTorch")

	out.Reset()
	require.Equal(t, 0, run([]string{"-torch", sampleTorch}, &out, &errs), errs.String())
	row = cell(t, out.String(), "softmax 2^24 x 10")
	assert.Equal(t, notMeasured, row[1])
	assert.Equal(t, "1.240", row[2])
	assert.Equal(t, notMeasured, row[7])
	assert.Contains(t, out.String(), "copy bandwidth (the % column's reference): 3821 GB/s from PyTorch's copy_;")
}

func TestFailedBenchmarkSaysFailed(t *testing.T) {
	dir := t.TempDir()
	goOut := filepath.Join(dir, "go.txt")
	in := "BenchmarkTorchCopy-16 20 560000 ns/op 0.56 ms 3835 GB/s\n" +
		"--- FAIL: BenchmarkTorchSoftmax\n    gpubench_test.go:1: softmax 1000x10: buffer 1: first bad index 7\n" +
		"--- FAIL: BenchmarkTorchOptimizer/adam-small\n    gpubench_test.go:2: out of memory\n" +
		"BenchmarkTorchOptimizer/adam-many-16 20 2051000 ns/op 2.051 ms 3665 GB/s\n--- FAIL: BenchmarkTorchOptimizer\n"
	require.NoError(t, os.WriteFile(goOut, []byte(in), 0o644))
	var out, errs bytes.Buffer
	require.Equal(t, 0, run([]string{"-go", goOut, "-torch", sampleTorch}, &out, &errs), errs.String())
	for _, name := range []string{"softmax 2^18 x 1024", "softmax 2^24 x 10"} {
		row := cell(t, out.String(), name)
		assert.Equal(t, failed, row[1], name)
		assert.Equal(t, failed, row[7], name)
	}
	assert.Equal(t, failed, cell(t, out.String(), "adam 200 small (26M)")[1])
	assert.Equal(t, "2.051", cell(t, out.String(), "adam 256 x 1M")[1], "a measured sibling of a failed row keeps its numbers")
	assert.Equal(t, "NO (1.15x < 1.5x)", cell(t, out.String(), "adam 256 x 1M")[7], "judged on its numbers, not failed with its parent")
	assert.Equal(t, notMeasured, cell(t, out.String(), "sigmoid forward")[1], "not run is not failed")
}

func TestRunRejectsBadUse(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		code int
		msg  *regexp.Regexp
	}{
		{"without files", nil, 2, regexp.MustCompile(`usage: gpubench`)},
		{"with a stray argument", []string{"-go", sampleGo, "extra"}, 2, regexp.MustCompile(`usage: gpubench`)},
		{"with an unknown flag", []string{"-gpu"}, 2, regexp.MustCompile(`not defined: -gpu`)},
		{"with a missing file", []string{"-go", "testdata/no-such-file.txt"}, 1, regexp.MustCompile(`no-such-file.txt: no such file`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			assert.Equal(t, c.code, run(c.args, &out, &errs))
			assert.Regexp(t, c.msg, errs.String())
			assert.Empty(t, out.String())
		})
	}
}

func TestCopyReferenceIsTheHigherCopy(t *testing.T) {
	torch, err := parseTorch(strings.NewReader("copy n=268435456: 0.500 ms 4295 GB/s\n"))
	require.NoError(t, err)
	for _, c := range []struct {
		name    string
		ours    string
		want    float64
		wantSrc string
	}{
		{"ours slower: PyTorch's", "BenchmarkTorchCopy-16 20 1 ns/op 3000 GB/s\n", 8 * 268435456 / 0.5 / 1e6, "PyTorch's copy_ (higher than ours)"},
		{"ours faster: ours", "BenchmarkTorchCopy-16 20 1 ns/op 4400 GB/s\n", 4400, "ours (cuMemcpyDtoDAsync)"},
		{"ours missing: PyTorch's", "", 8 * 268435456 / 0.5 / 1e6, "PyTorch's copy_"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := parseGoBench(strings.NewReader(c.ours))
			require.NoError(t, err)
			gbs, src := reference(g, torch)
			assert.InDelta(t, c.want, gbs, 1e-9)
			assert.Equal(t, c.wantSrc, src)
		})
	}
}
