// Command gpubench puts one GPU run's benchmarks side by side: ours (the BenchmarkTorch*
// benchmarks of backend/cuda, as `go test -bench` prints them) and PyTorch's
// (../shared/gpu/torch_baseline.py's output), with issue 5's targets, in one table.
//
//	gpubench -go go-bench.txt -torch torch.txt
//
// Columns: workload, our median ms, PyTorch's, the ratio PyTorch/ours (above 1: we are faster),
// our GB/s (or TFLOP/s), that as a percentage of the device-to-device copy bandwidth (or of the
// cuBLAS SGEMM rate) of the same run, the target, and whether it is met. A workload missing from
// either file prints "not measured"; one whose benchmark failed prints "FAILED". Compare only
// numbers from one run on one GPU: scripts/gpu-bench.sh makes both files and runs this.
//
// This package parses and prints only; the timing and the byte counts are the benchmarks'.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gpubench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	goPath := fs.String("go", "", "output of the BenchmarkTorch* benchmarks (go test -bench, or the test binary with -test.bench)")
	torchPath := fs.String("torch", "", "output of torch_baseline.py")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gpubench -go go-bench.txt -torch torch.txt")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || (*goPath == "" && *torchPath == "") {
		fs.Usage()
		return 2
	}
	ours := goResults{}
	torch := torchResults{}
	if *goPath != "" {
		r, err := readWith(*goPath, parseGoBench)
		if err != nil {
			fmt.Fprintln(stderr, "gpubench:", err)
			return 1
		}
		ours = r
	}
	if *torchPath != "" {
		r, err := readWith(*torchPath, parseTorch)
		if err != nil {
			fmt.Fprintln(stderr, "gpubench:", err)
			return 1
		}
		torch = r
	}
	printTable(stdout, buildTable(ours, torch))
	return 0
}

func readWith[T any](path string, parse func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	r, err := parse(f)
	if err != nil {
		return r, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// goResults holds the parsed `go test -bench` output: per benchmark (its full name without the
// -GOMAXPROCS suffix, e.g. "BenchmarkTorchSoftmax/16777216x10"), the values of each unit
// ("ms", "GB/s", ...), one per result line; failed names the benchmarks that reported FAIL.
type goResults struct {
	metrics map[string]map[string][]float64
	failed  map[string]bool
	header  map[string]string // goos, goarch, pkg, cpu
}

var (
	// A result line: name (the -N suffix is GOMAXPROCS, absent when it is 1), iterations, then
	// value-unit pairs separated by tabs or spaces.
	benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(\S.*)$`)
	// With -test.v, or when a benchmark logs, the name may stand alone and the numbers follow.
	benchName = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s*$`)
	benchRest = regexp.MustCompile(`^\s+(\d+)\s+(\S.*)$`)
	failLine  = regexp.MustCompile(`^\s*--- FAIL: (Benchmark\S+?)(?:-\d+)?\s*$`)
	headLine  = regexp.MustCompile(`^(goos|goarch|pkg|cpu): (.*)$`)
)

// parseGoBench reads benchmark output; lines that are not results are skipped.
func parseGoBench(r io.Reader) (goResults, error) {
	res := goResults{metrics: map[string]map[string][]float64{}, failed: map[string]bool{}, header: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	pending := ""
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if m := failLine.FindStringSubmatch(line); m != nil {
			res.failed[m[1]] = true
			continue
		}
		if m := headLine.FindStringSubmatch(line); m != nil {
			res.header[m[1]] = m[2]
			continue
		}
		name, rest := "", ""
		if m := benchLine.FindStringSubmatch(line); m != nil {
			name, rest = m[1], m[3]
		} else if m := benchName.FindStringSubmatch(line); m != nil {
			pending = m[1]
			continue
		} else if m := benchRest.FindStringSubmatch(line); m != nil && pending != "" {
			name, rest = pending, m[2]
		} else {
			continue
		}
		pending = ""
		fields := strings.Fields(rest)
		if len(fields)%2 != 0 {
			return res, fmt.Errorf("line %d: %q: metrics are not value-unit pairs", ln, line)
		}
		if res.metrics[name] == nil {
			res.metrics[name] = map[string][]float64{}
		}
		for i := 0; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return res, fmt.Errorf("line %d: %q: %w", ln, line, err)
			}
			res.metrics[name][fields[i+1]] = append(res.metrics[name][fields[i+1]], v)
		}
	}
	return res, sc.Err()
}

// metric returns the median of a benchmark's values of unit (several with -count > 1).
func (g goResults) metric(name, unit string) (float64, bool) {
	vs := g.metrics[name][unit]
	if len(vs) == 0 {
		return 0, false
	}
	s := slices.Sorted(slices.Values(vs))
	return s[len(s)/2], true
}

// torchResults holds torch_baseline.py's output: the milliseconds of each labelled line (the
// text before ": ", e.g. "adam-fused[many] tensors=256 params=268435456") and the header.
type torchResults struct {
	ms      map[string]float64
	labels  []string // in file order
	version string
	device  string
}

var (
	torchHead = regexp.MustCompile(`^torch (\S+) (.+)$`)
	torchLine = regexp.MustCompile(`^(.+?): ([0-9.eE+-]+) ms\b`)
)

// parseTorch reads torch_baseline.py's output; other lines (warnings, tracebacks) are skipped.
func parseTorch(r io.Reader) (torchResults, error) {
	res := torchResults{ms: map[string]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		if m := torchHead.FindStringSubmatch(line); m != nil && res.version == "" {
			res.version, res.device = m[1], m[2]
			continue
		}
		m := torchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return res, fmt.Errorf("line %d: %q: %w", ln, line, err)
		}
		if _, dup := res.ms[m[1]]; !dup {
			res.labels = append(res.labels, m[1])
		}
		res.ms[m[1]] = v
	}
	return res, sc.Err()
}

// find returns the ms of the line whose label is key or starts with key and a space ("copy"
// finds "copy n=268435456").
func (t torchResults) find(key string) (float64, bool) {
	if key == "" {
		return 0, false
	}
	for _, l := range t.labels {
		if l == key || strings.HasPrefix(l, key+" ") {
			return t.ms[l], true
		}
	}
	return 0, false
}

// kind says what a row's rate column shows and what its percentage is of.
type kind int

const (
	bandwidth kind = iota // GB/s, % of the copy bandwidth
	compute               // TFLOP/s, % of the SGEMM rate
	syncs                 // host waits per step (and writes), no percentage
)

// target is a row's goal from issue 5; zero fields are not part of it. All given parts must hold.
type target struct {
	minPct   float64 // our rate as % of the reference (copy or SGEMM)
	minRatio float64 // PyTorch ms / our ms
	maxSyncs float64 // host synchronisations per step
	text     string
}

// row is one line of the table: our benchmark (full name without the -N suffix) and the label
// of PyTorch's line ("" where the baseline has none).
type row struct {
	workload string
	ours     string
	torch    string
	kind     kind
	target   target
	section  string // printed as a heading row before this one when set
}

const refText = "reference"

// rows is the table, in the order printed. The names follow backend/cuda/gpubench_test.go and
// torch_baseline.py; the targets are issue 5's.
var rows = []row{
	{section: "limits", workload: "copy 2^28 floats, device to device", ours: "BenchmarkTorchCopy", torch: "copy", kind: bandwidth, target: target{text: refText}},
	{workload: "SGEMM 8192^3 fp32 (cuBLAS, no TF32)", ours: "BenchmarkTorchSGEMM", kind: compute, target: target{text: refText}},

	{section: "activations, 2^28 floats", workload: "sigmoid forward", ours: "BenchmarkTorchActivation/sigmoid-forward", torch: "sigmoid", kind: bandwidth, target: target{minPct: 95, text: ">= 95% of copy"}},
	{workload: "sigmoid backward", ours: "BenchmarkTorchActivation/sigmoid-backward", kind: bandwidth, target: target{minPct: 95, text: ">= 95% of copy"}},
	{workload: "tanh forward", ours: "BenchmarkTorchActivation/tanh-forward", torch: "tanh", kind: bandwidth, target: target{minPct: 95, text: ">= 95% of copy"}},
	{workload: "tanh backward", ours: "BenchmarkTorchActivation/tanh-backward", kind: bandwidth, target: target{minPct: 95, text: ">= 95% of copy"}},
	{workload: "relu forward", ours: "BenchmarkTorchActivation/relu-forward", torch: "relu", kind: bandwidth, target: target{minPct: 95, text: ">= 95% of copy"}},
	{workload: "relu backward", ours: "BenchmarkTorchActivation/relu-backward", kind: bandwidth, target: target{minPct: 95, text: ">= 95% of copy"}},

	{section: "softmax", workload: "softmax 2^18 x 1024", ours: "BenchmarkTorchSoftmax/262144x1024", torch: "softmax 262144x1024", kind: bandwidth, target: target{minRatio: 1, text: ">= 1x torch"}},
	{workload: "softmax 2^24 x 10", ours: "BenchmarkTorchSoftmax/16777216x10", torch: "softmax 16777216x10", kind: bandwidth, target: target{minRatio: 2, text: ">= 2x torch"}},

	{section: "Adam step, vs torch fused unless named", workload: "adam 1 x 2^28", ours: "BenchmarkTorchOptimizer/adam-one", torch: "adam-fused[one]", kind: bandwidth},
	{workload: "adam 256 x 1M", ours: "BenchmarkTorchOptimizer/adam-many", torch: "adam-fused[many]", kind: bandwidth, target: target{minPct: 90, minRatio: 1.5, text: ">= 90% of copy, >= 1.5x torch"}},
	{workload: "adam 200 small (26M)", ours: "BenchmarkTorchOptimizer/adam-small", torch: "adam-fused[small]", kind: bandwidth, target: target{minRatio: 2, text: ">= 2x torch"}},
	{workload: "adam 1 x 2^28 vs foreach", ours: "BenchmarkTorchOptimizer/adam-one", torch: "adam-foreach[one]", kind: bandwidth},
	{workload: "adam 256 x 1M vs foreach", ours: "BenchmarkTorchOptimizer/adam-many", torch: "adam-foreach[many]", kind: bandwidth},
	{workload: "adam 200 small vs foreach", ours: "BenchmarkTorchOptimizer/adam-small", torch: "adam-foreach[small]", kind: bandwidth},
	{workload: "adam 200 small vs for-loop", ours: "BenchmarkTorchOptimizer/adam-small", torch: "adam-forloop[small]", kind: bandwidth},

	{section: "SGD momentum step, vs torch fused", workload: "sgd-momentum 1 x 2^28", ours: "BenchmarkTorchOptimizer/sgd-momentum-one", torch: "sgd-mom-fused[one]", kind: bandwidth},
	{workload: "sgd-momentum 256 x 1M", ours: "BenchmarkTorchOptimizer/sgd-momentum-many", torch: "sgd-mom-fused[many]", kind: bandwidth, target: target{minPct: 90, minRatio: 1.5, text: ">= 90% of copy, >= 1.5x torch"}},
	{workload: "sgd-momentum 200 small (26M)", ours: "BenchmarkTorchOptimizer/sgd-momentum-small", torch: "sgd-mom-fused[small]", kind: bandwidth, target: target{minRatio: 2, text: ">= 2x torch"}},

	{section: "MLP Adam training step, data on the device", workload: "784-1024-1024-10 batch 1024", ours: "BenchmarkTorchMLP/784-1024-1024-10-batch1024", torch: "mlp 784-1024-1024-10 batch=1024", kind: compute, target: target{minRatio: 1.25, text: "time <= 0.8x torch"}},
	{workload: "784-1024-1024-10 batch 128", ours: "BenchmarkTorchMLP/784-1024-1024-10-batch128", torch: "mlp 784-1024-1024-10 batch=128", kind: compute, target: target{minRatio: 2, text: "time <= 0.5x torch"}},
	{workload: "784-4096-4096-10 batch 4096", ours: "BenchmarkTorchMLP/784-4096-4096-10-batch4096", torch: "mlp 784-4096-4096-10 batch=4096", kind: compute},

	{section: "host syncs per training step", workload: "device step, batch 1024", ours: "BenchmarkTorchMLP/784-1024-1024-10-batch1024", kind: syncs, target: target{maxSyncs: 1, text: "<= 1 (the loss)"}},
	{workload: "Trainer.TrainStep batch 1024 (wall)", ours: "BenchmarkTorchTrainStep/784-1024-1024-10-batch1024", torch: "mlp 784-1024-1024-10 batch=1024", kind: syncs, target: target{maxSyncs: 1, text: "<= 1 (the loss)"}},
	{workload: "Trainer.TrainStep batch 128 (wall)", ours: "BenchmarkTorchTrainStep/784-1024-1024-10-batch128", torch: "mlp 784-1024-1024-10 batch=128", kind: syncs, target: target{maxSyncs: 1, text: "<= 1 (the loss)"}},
}

// Verdicts.
const (
	notMeasured = "not measured"
	failed      = "FAILED"
	metYes      = "yes"
	metNo       = "NO"
)

// cells is one evaluated row.
type cells struct {
	section                                 string
	workload, ours, torch, ratio, rate, pct string
	target, met                             string
}

// table is the evaluated rows and the facts printed around them.
type table struct {
	rows              []cells
	copyGBs, copySrc  string
	sgemm             string
	device, torchVers string
	cpu               string
}

// reference returns the copy bandwidth the percentages are of: the higher of our copy and
// PyTorch's (8 bytes per element of its n), so a slow copy on one side cannot flatter the other.
func reference(ours goResults, torch torchResults) (gbs float64, src string) {
	if v, ok := ours.metric("BenchmarkTorchCopy", "GB/s"); ok {
		gbs, src = v, "ours (cuMemcpyDtoDAsync)"
	}
	for _, l := range torch.labels {
		if strings.HasPrefix(l, "copy n=") {
			n, err := strconv.ParseFloat(strings.TrimPrefix(l, "copy n="), 64)
			if err == nil && torch.ms[l] > 0 {
				if v := 8 * n / torch.ms[l] / 1e6; v > gbs {
					if gbs > 0 {
						src = "PyTorch's copy_ (higher than ours)"
					} else {
						src = "PyTorch's copy_"
					}
					gbs = v
				}
			}
			break
		}
	}
	return gbs, src
}

// evaluate computes one row's ratio (PyTorch ms / ours; 0 when either is missing) and
// percentage (rate of ref; 0 when either is missing) and judges the target: "" for a row without
// one, "yes" when every part holds, "NO (...)" naming each part that fails and by how much (one
// failed part is enough even when another is unknown), else "not measured". rate is our GB/s or
// TFLOP/s, ref the copy bandwidth or the SGEMM rate, sync the host syncs per step (-1: missing).
func evaluate(t target, ourMS, torchMS, rate, ref, sync float64) (ratio, pct float64, verdict string) {
	if ourMS > 0 && torchMS > 0 {
		ratio = torchMS / ourMS
	}
	if rate > 0 && ref > 0 {
		pct = 100 * rate / ref
	}
	if t.minPct == 0 && t.minRatio == 0 && t.maxSyncs == 0 {
		return ratio, pct, ""
	}
	var gaps []string
	known := true
	if t.minPct > 0 {
		switch {
		case pct == 0:
			known = false
		case pct < t.minPct:
			gaps = append(gaps, fmt.Sprintf("%.1f%% < %g%%", pct, t.minPct))
		}
	}
	if t.minRatio > 0 {
		switch {
		case ratio == 0:
			known = false
		case ratio < t.minRatio:
			gaps = append(gaps, fmt.Sprintf("%.2fx < %gx", ratio, t.minRatio))
		}
	}
	if t.maxSyncs > 0 {
		switch {
		case sync < 0:
			known = false
		case sync > t.maxSyncs:
			gaps = append(gaps, fmt.Sprintf("%g > %g syncs", sync, t.maxSyncs))
		}
	}
	switch {
	case len(gaps) > 0:
		return ratio, pct, metNo + " (" + strings.Join(gaps, ", ") + ")"
	case !known:
		return ratio, pct, notMeasured
	}
	return ratio, pct, metYes
}

// buildTable evaluates every row.
func buildTable(ours goResults, torch torchResults) table {
	t := table{device: torch.device, torchVers: torch.version, cpu: ours.header["cpu"]}
	copyRef, src := reference(ours, torch)
	sgemmRef, _ := ours.metric("BenchmarkTorchSGEMM", "TFLOP/s")
	t.copyGBs, t.copySrc = notMeasured, src
	if copyRef > 0 {
		t.copyGBs = fmt.Sprintf("%.0f GB/s", copyRef)
	}
	t.sgemm = notMeasured
	if sgemmRef > 0 {
		t.sgemm = fmt.Sprintf("%.1f TFLOP/s", sgemmRef)
	}
	for _, r := range rows {
		c := cells{section: r.section, workload: r.workload, target: r.target.text}
		ms, haveOurs := ours.metric(r.ours, "ms")
		tms, haveTorch := torch.find(r.torch)
		c.ours, c.torch = notMeasured, notMeasured
		if haveOurs {
			c.ours = fmt.Sprintf("%.3f", ms)
		} else if ours.failed[r.ours] || ours.failed[parentOf(r.ours)] {
			c.ours = failed
		}
		if r.torch == "" {
			c.torch = "-"
		} else if haveTorch {
			c.torch = fmt.Sprintf("%.3f", tms)
		}
		var rate, ref float64
		sync := -1.0
		switch r.kind {
		case bandwidth:
			rate, _ = ours.metric(r.ours, "GB/s")
			ref = copyRef
		case compute:
			rate, _ = ours.metric(r.ours, "TFLOP/s")
			ref = sgemmRef
		case syncs:
			if v, ok := ours.metric(r.ours, "syncs/step"); ok {
				sync = v
			}
		}
		ratio, pct, verdict := evaluate(r.target, ms, tms, rate, ref, sync)
		c.met = verdict
		if r.target.text == refText {
			c.met = "-"
		}
		if c.ours == failed && !strings.HasPrefix(verdict, metNo) {
			c.met = failed
		}
		c.ratio = "-"
		if ratio > 0 {
			c.ratio = fmt.Sprintf("%.2fx", ratio)
		}
		c.rate, c.pct = "-", "-"
		switch r.kind {
		case bandwidth:
			if rate > 0 {
				c.rate = fmt.Sprintf("%.0f GB/s", rate)
			}
		case compute:
			if rate > 0 {
				c.rate = fmt.Sprintf("%.1f TFLOP/s", rate)
			}
		case syncs:
			if sync >= 0 {
				c.rate = fmt.Sprintf("%g syncs/step", sync)
				if w, ok := ours.metric(r.ours, "writes/step"); ok {
					c.rate += fmt.Sprintf(", %g writes", w)
				}
			}
		}
		if pct > 0 {
			c.pct = fmt.Sprintf("%.1f%%", pct)
		}
		if r.target.text == refText && pct > 0 {
			c.pct = "100% (ref)"
		}
		if c.target == "" {
			c.target = "-"
		}
		if c.met == "" {
			c.met = "-"
		}
		t.rows = append(t.rows, c)
	}
	return t
}

// parentOf is the top-level benchmark of a sub-benchmark's name (a b.Fatal in the parent's
// setup, such as a failed cross-check, fails every row under it).
func parentOf(name string) string {
	p, _, _ := strings.Cut(name, "/")
	return p
}

var header = []string{"workload", "ours ms", "PyTorch ms", "ratio (PyTorch/ours)", "our GB/s or TFLOP/s", "% of copy (or SGEMM)", "target", "met?"}

// printTable writes the table as Markdown, columns padded to line up, with the device and the
// references first and the notes after.
func printTable(w io.Writer, t table) {
	dev := t.device
	if dev == "" {
		dev = "unknown (no torch_baseline.py header)"
	}
	fmt.Fprintf(w, "GPU: %s; PyTorch %s; host CPU: %s\n", dev, orDash(t.torchVers), orDash(t.cpu))
	copyRef := t.copyGBs
	if t.copySrc != "" {
		copyRef += " from " + t.copySrc
	}
	fmt.Fprintf(w, "copy bandwidth (the %% column's reference): %s; SGEMM reference: %s\n\n", copyRef, t.sgemm)
	lines := [][]string{header}
	for _, c := range t.rows {
		if c.section != "" {
			lines = append(lines, []string{"**" + c.section + "**", "", "", "", "", "", "", ""})
		}
		lines = append(lines, []string{c.workload, c.ours, c.torch, c.ratio, c.rate, c.pct, c.target, c.met})
	}
	width := make([]int, len(header))
	for _, l := range lines {
		for i, s := range l {
			width[i] = max(width[i], len([]rune(s)))
		}
	}
	line := func(l []string) {
		var sb strings.Builder
		sb.WriteString("|")
		for i, s := range l {
			sb.WriteString(" " + s + strings.Repeat(" ", width[i]-len([]rune(s))) + " |")
		}
		fmt.Fprintln(w, sb.String())
	}
	line(lines[0])
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, l := range lines[1:] {
		line(l)
	}
	fmt.Fprint(w, `
Notes: ms are medians of CUDA-event-timed reps on both sides (Trainer.TrainStep: wall clock, with
its host work, batch upload and waits). Ratio above 1: ours is faster. Bytes behind GB/s: 8 per
element for copy, activation forward and softmax, 28 per parameter for Adam (the baseline's), 12
per element for activation backward (not in the baseline) and 20 per parameter for SGD momentum
(the baseline prints 28 for every optimizer, so its SGD GB/s are overstated). MLP TFLOP/s count the
GEMMs only (6 x batch x weights per step). PyTorch's cross-entropy takes class indices, ours one-hot
targets. "time <= 0.8x torch" is the same as a ratio >= 1.25.
`)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
