package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain doubles as the CLI for TestSIGINTSavesACheckpoint's child process.
func TestMain(m *testing.M) {
	if os.Getenv("GOTRAIN_CLI_CHILD") == "1" {
		main()
		return
	}
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

func runCLI(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

// small is a fast model on the built-in data.
var small = []string{"-model", "784-32-10", "-epochs", "2", "-batch", "64", "-progress", "lines", "-checkpoint-every", "0"}

func TestTrainWritesParsableMetricsAChartAndACheckpoint(t *testing.T) {
	dir := t.TempDir()
	code, out, errS := runCLI(t, context.Background(), append([]string{"train", "-run-dir", dir}, small...)...)
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, "epoch 2/2")
	assert.Contains(t, out, "final test accuracy")

	f, err := os.Open(filepath.Join(dir, epochsJSONL))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "line %d", n+1)
		assert.Greater(t, m["eval_acc"].(float64), 0.5)
		n++
	}
	assert.Equal(t, 2, n)

	steps, err := os.ReadFile(filepath.Join(dir, stepsFile))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(steps)), "\n")
	assert.Len(t, lines, 2*157) // 10000 rows in batches of 64
	for i, l := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), "step line %d", i+1)
	}

	cf, err := os.Open(filepath.Join(dir, epochsCSV))
	require.NoError(t, err)
	defer cf.Close()
	rows, err := csv.NewReader(cf).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.Equal(t, "epoch", rows[0][0])

	pf, err := os.Open(filepath.Join(dir, chartFile))
	require.NoError(t, err)
	defer pf.Close()
	img, err := png.Decode(pf)
	require.NoError(t, err)
	assert.Greater(t, img.Bounds().Dx(), 500)

	st, err := train.LoadCheckpoint(filepath.Join(dir, checkpointFile))
	require.NoError(t, err)
	assert.Equal(t, 2, st.Epoch)
}

func TestInvalidOptionsFailBeforeAnyTraining(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.json")
	require.NoError(t, os.WriteFile(cfg, []byte(`{"lr": 0.1, "momentun": 0.9}`), 0o644))
	badType := filepath.Join(t.TempDir(), "t.json")
	require.NoError(t, os.WriteFile(badType, []byte(`{"epochs": "many"}`), 0o644))
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-lr", "-1"}, "lr -1"},
		{[]string{"-optimizer", "adamx"}, `unknown optimizer "adamx"`}, // not an optimizer (adamax became one)
		{[]string{"-optimizer", "sgd", "-nesterov"}, "nesterov"},
		{[]string{"-optimizer", "adam", "-beta1", "1"}, "beta1 1"},
		{[]string{"-model", "784-0-10"}, `width "0"`},
		{[]string{"-model", "784-32-7"}, "output width 7 does not match the data's 10 classes"},
		{[]string{"-activation", "cosine"}, `unknown activation "cosine"`},
		{[]string{"-schedule", "step:size=0"}, "step_size 0"},
		{[]string{"-schedule", "plateau:factor=3"}, "factor 3"},
		{[]string{"-schedule-interval", "hour"}, `-schedule-interval "hour"`},
		{[]string{"-batch", "0"}, "-batch 0"},
		{[]string{"-epochs", "0"}, "-epochs 0"},
		{[]string{"-device", "tpu"}, `-device "tpu"`},
		{[]string{"-val-split", "1"}, "-val-split 1"},
		{[]string{"-clip-norm", "-2"}, "-clip-norm -2"},
		{[]string{"-on-nonfinite", "ignore"}, `-on-nonfinite "ignore"`},
		{[]string{"-data", "/nonexistent/mnist"}, "/nonexistent/mnist"},
		{[]string{"-config", cfg}, `unknown option "momentun"`},
		{[]string{"-config", badType}, `option "epochs"`},
		{[]string{"-label", "y"}, "-label does not apply to MNIST data"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " ")+" is refused", func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			code, _, errS := runCLI(t, context.Background(), append([]string{"train", "-run-dir", dir}, c.args...)...)
			assert.NotEqual(t, 0, code)
			assert.Contains(t, errS, c.want)
			_, err := os.Stat(dir)
			assert.True(t, os.IsNotExist(err), "no run directory: nothing started")
		})
	}
}

func TestHelpListsEveryOptionWithItsDefault(t *testing.T) {
	for _, cmd := range []string{"train", "sweep", "lr-find", "eval"} {
		t.Run(cmd, func(t *testing.T) {
			code, _, errS := runCLI(t, context.Background(), cmd, "-h")
			assert.Equal(t, 0, code)
			names := []string{"-device"}
			switch cmd {
			case "train", "sweep":
				names = append(names, "-model", "-lr", "-optimizer", "-momentum", "-beta1", "-schedule", "-epochs", "-batch", "-seed", "-config", "-clip-norm", "-val-split", "-csv")
			case "lr-find":
				names = append(names, "-model", "-optimizer", "-momentum", "-beta1", "-batch", "-seed", "-config", "-clip-norm", "-csv", "-start", "-end", "-steps")
			default:
				names = append(names, "-checkpoint", "-data", "-split")
			}
			for _, n := range names {
				assert.Contains(t, errS, "  "+n+" ", "%s -h lacks %s", cmd, n)
			}
			assert.Contains(t, errS, "(default")
		})
	}
}

func TestCudaOnACPUBuildSaysHowToGetIt(t *testing.T) {
	code, _, errS := runCLI(t, context.Background(), append([]string{"train", "-device", "cuda", "-run-dir", t.TempDir()}, small...)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, errS, "-tags gpu")
}

func TestFlagsOverrideTheConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.json")
	require.NoError(t, os.WriteFile(cfg, []byte(`{"model": "784-16-10", "epochs": 5, "optimizer": "sgd", "lr": 0.05, "momentum": 0.8}`), 0o644))
	run := filepath.Join(dir, "run")
	code, out, errS := runCLI(t, context.Background(), "train", "-config", cfg, "-epochs", "1", "-run-dir", run, "-progress", "lines", "-checkpoint-every", "0", "-chart=false")
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, "784-16:relu-10")
	assert.Contains(t, out, "sgd+momentum lr 0.05")
	assert.Contains(t, out, "epoch 1/1")
	assert.NotContains(t, out, "epoch 2/")
}

// TestAnInterruptedTrainResumesToTheSameWeights stops a run mid-epoch through its context (what
// SIGINT does), resumes it with -resume, and compares the final checkpoint with a run that was
// never stopped.
func TestAnInterruptedTrainResumesToTheSameWeights(t *testing.T) {
	ref := t.TempDir()
	code, _, errS := runCLI(t, context.Background(), append([]string{"train", "-run-dir", ref, "-chart=false"}, small...)...)
	require.Equal(t, 0, code, errS)

	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	stepHook = func() {
		if steps++; steps == 200 { // epoch 2, step 43
			cancel()
		}
	}
	defer func() { stepHook = nil }()
	code, _, errS = runCLI(t, ctx, append([]string{"train", "-run-dir", dir, "-chart=false"}, small...)...)
	require.Equal(t, exitInterrupted, code)
	assert.Contains(t, errS, "gotrain train -resume "+dir)
	stepHook = nil

	code, out, errS := runCLI(t, context.Background(), "train", "-resume", dir)
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, "resuming at epoch 2, step 200")

	a, err := train.LoadCheckpoint(filepath.Join(ref, checkpointFile))
	require.NoError(t, err)
	b, err := train.LoadCheckpoint(filepath.Join(dir, checkpointFile))
	require.NoError(t, err)
	require.Equal(t, len(a.Params), len(b.Params))
	for i := range a.Params {
		for j := range a.Params[i] {
			require.Equal(t, math.Float32bits(a.Params[i][j]), math.Float32bits(b.Params[i][j]), "tensor %d element %d", i, j)
		}
	}
	lines, err := os.ReadFile(filepath.Join(dir, epochsCSV))
	require.NoError(t, err)
	assert.Equal(t, 3, strings.Count(string(lines), "\n"), "header and two epochs, none twice")
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader at a time.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSweepRanksRunsAndWritesItsFiles(t *testing.T) {
	dir := t.TempDir()
	code, out, errS := runCLI(t, context.Background(), "sweep", "-model", "784-16-10", "-epochs", "1", "-lr", "0.001,0.1", "-optimizer", "sgd,adam", "-out", dir)
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, "rank")
	for _, f := range []string{"sweep.csv", "curves.csv", "loss.png", "accuracy.png", "lr.png"} {
		_, err := os.Stat(filepath.Join(dir, f))
		assert.NoError(t, err, f)
	}
	cf, err := os.Open(filepath.Join(dir, "sweep.csv"))
	require.NoError(t, err)
	defer cf.Close()
	rows, err := csv.NewReader(cf).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 5)
	// Ranked: best accuracy first.
	assert.GreaterOrEqual(t, rows[1][5], rows[4][5])
}

func TestLRFindWritesItsChart(t *testing.T) {
	dir := t.TempDir()
	code, out, errS := runCLI(t, context.Background(), "lr-find", "-model", "784-16-10", "-optimizer", "sgd", "-steps", "60", "-out", dir)
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, "suggested lr")
	_, err := os.Stat(filepath.Join(dir, "lrfind.png"))
	assert.NoError(t, err)
}

func TestEvalReportsAConfusionMatrix(t *testing.T) {
	dir := t.TempDir()
	code, _, errS := runCLI(t, context.Background(), append([]string{"train", "-run-dir", dir, "-chart=false"}, small...)...)
	require.Equal(t, 0, code, errS)
	code, out, errS := runCLI(t, context.Background(), "eval", "-checkpoint", dir)
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, "accuracy")
	assert.Contains(t, out, "confusion matrix")
	assert.Contains(t, out, "recall")

	code, _, errS = runCLI(t, context.Background(), "eval", "-checkpoint", filepath.Join(dir, stepsFile))
	assert.Equal(t, 1, code)
	assert.Contains(t, errS, "not a gotrain checkpoint")
}

func TestPerBatchSchedulesAreSizedFromTheData(t *testing.T) {
	// 30 warm-up batches is more than the epoch count: the schedule is sized from the number of
	// batches (10000/256 = 40), known only once the data is loaded.
	args := func() []string {
		return []string{"train", "-model", "784-16-10", "-epochs", "1", "-batch", "256", "-schedule-interval", "batch",
			"-run-dir", t.TempDir(), "-progress", "lines", "-chart=false", "-schedule"}
	}
	code, out, errS := runCLI(t, context.Background(), append(args(), "warmup-cosine:warmup=30")...)
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, "cosine(tmax=10")
	code, _, errS = runCLI(t, context.Background(), append(args(), "warmup-cosine:warmup=50")...)
	assert.Equal(t, 1, code)
	assert.Contains(t, errS, "t_max -10")
}

// TestAConvNetTrainsEvaluatesAndRefusesDataThatDoesNotFit trains a small convolutional network
// with batch normalisation and dropout from the -model grammar on the built-in digits, evaluates
// its checkpoint (running statistics included) to the run's own test accuracy, and refuses a
// network of images on CSV rows and a preset with an activation that no layer takes.
func TestAConvNetTrainsEvaluatesAndRefusesDataThatDoesNotFit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	model := "1x28x28-conv(4,5,stride=3):none-bn-relu-maxpool(2)-dropout(0.2)-10"
	code, out, errS := runCLI(t, context.Background(), "train", "-model", model, "-epochs", "1", "-run-dir", dir, "-progress", "lines")
	require.Equal(t, 0, code, errS)
	require.Contains(t, out, "model: "+model+", loss softmax-ce, 762 parameters")
	acc := regexp.MustCompile(`final test accuracy: ([0-9.]+)%`).FindStringSubmatch(out)
	require.NotNil(t, acc, out)
	code, out, errS = runCLI(t, context.Background(), "eval", "-checkpoint", dir)
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, "accuracy "+acc[1]+"%", "eval applies the running statistics the run ended with")

	code, _, errS = runCLI(t, context.Background(), "train", "-model", model, "-csv", "../../models/csvdata/testdata/iris.csv", "-run-dir", filepath.Join(t.TempDir(), "r"))
	assert.Equal(t, 1, code)
	assert.Contains(t, errS, "takes images of shape 1x28x28")
	code, _, errS = runCLI(t, context.Background(), "train", "-model", "lenet5x", "-run-dir", filepath.Join(t.TempDir(), "r"))
	assert.Equal(t, 1, code, "a value that is not what it must be, like every option's")
	assert.Contains(t, errS, `-model: models: model "lenet5x"`)
}
