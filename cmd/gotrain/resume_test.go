package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestResumeContinuesTheSameRunOrRefuses is class 3 of issue 12: -resume trains with the run's
// recorded options, and an option that would change training is refused naming the option,
// its old and its new value; only -epochs may grow (and not when the schedule's length comes
// from it), and the options that say where and how to run may change.
func TestResumeContinuesTheSameRunOrRefuses(t *testing.T) {
	fx := runs(t)
	cosine := newRunDir(t)
	cliCase{args: quick(t, "-run-dir", cosine, "-epochs", "2", "-schedule", "cosine")}.check(t)
	optionsOnly := t.TempDir()
	b, err := os.ReadFile(filepath.Join(fx.mnist, optionsFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(optionsOnly, optionsFile), b, 0o644))
	lrConfig := writeFile(t, "lr.json", `{"lr": 0.5}`)
	// A run on a copy of Iris, whose file then changes under it.
	raw, err := os.ReadFile(irisCSV)
	require.NoError(t, err)
	irisCopy := writeFile(t, "iris.csv", string(raw))
	changing := newRunDir(t)
	cliCase{args: quick(t, "-run-dir", changing, "-csv", irisCopy, "-model", "4-8-3")}.check(t)
	require.NoError(t, os.WriteFile(irisCopy, []byte(strings.Replace(string(raw), "5.1,3.5,1.4,0.2,setosa", "9.9,3.5,1.4,0.2,setosa", 1)), 0o644))

	cases := []struct {
		cliCase
		from string // the run to resume (copied first)
	}{
		{cliCase{name: "a new learning rate", args: []string{"-lr", "0.1", "-epochs", "3"}, code: 1,
			want: []string{"-lr 0.1: the run in", "was trained with the default 0.001", "only -epochs may grow"}}, fx.mnist},
		{cliCase{name: "another optimizer", args: []string{"-optimizer", "sgd", "-epochs", "3"}, code: 1, want: []string{"-optimizer sgd:", "the default adam"}}, fx.mnist},
		{cliCase{name: "another model", args: []string{"-model", "784-32-10", "-epochs", "3"}, code: 1, want: []string{"-model 784-32-10:", "trained with -model 784-16-10"}}, fx.mnist},
		{cliCase{name: "another batch size", args: []string{"-batch", "64", "-epochs", "3"}, code: 1, want: []string{"-batch 64:", "the default 128"}}, fx.mnist},
		{cliCase{name: "another seed", args: []string{"-seed", "2", "-epochs", "3"}, code: 1, want: []string{"-seed 2:"}}, fx.mnist},
		{cliCase{name: "another data source", args: []string{"-csv", irisCSV, "-epochs", "3"}, code: 1, want: []string{"-csv " + irisCSV + ":"}}, fx.mnist},
		{cliCase{name: "a new rate from a config file", args: []string{"-config", lrConfig, "-epochs", "3"}, code: 1, want: []string{"-lr 0.5:"}}, fx.mnist},
		{cliCase{name: "fewer epochs than done", args: []string{"-epochs", "1"}, code: 1, want: []string{"-epochs 1: the run in", "has done 2 epochs"}}, fx.mnist},
		{cliCase{name: "as many epochs as done", args: []string{"-epochs", "2"}, code: 1, want: []string{"already finished its 2 epochs"}}, fx.mnist},
		{cliCase{name: "no -epochs on a finished run", args: nil, code: 1, want: []string{"already finished its 2 epochs; give -epochs"}}, fx.mnist},
		{cliCase{name: "more epochs when the schedule's length comes from them", args: []string{"-epochs", "3"}, code: 1,
			want: []string{"-epochs 3: the run's -schedule cosine takes its length from -epochs (2)", "cosine(tmax=2", "cosine(tmax=3"}}, cosine},
		{cliCase{name: "another run directory", args: []string{"-run-dir", "$TMP/elsewhere", "-epochs", "3"}, code: 2, want: []string{"stays in its own directory"}}, fx.mnist},
		{cliCase{name: "-overwrite", args: []string{"-overwrite", "-epochs", "3"}, code: 2, want: []string{"-overwrite: a resumed run continues its files"}}, fx.mnist},
		{cliCase{name: "a directory that is not there", args: []string{"-epochs", "3"}, code: 1, want: []string{"missing: no such directory"}}, "$MISSING"},
		{cliCase{name: "a run that saved no checkpoint", args: []string{"-epochs", "3"}, code: 1, want: []string{"no checkpoint to continue from"}}, optionsOnly},
		{cliCase{name: "another data file", args: []string{"-csv", irisCSV, "-epochs", "31"}, code: 1, want: []string{"-csv " + irisCSV + ": the run in", "trained with -csv " + irisCopy}}, changing},
		{cliCase{name: "a data file that changed since the checkpoint", args: []string{"-epochs", "2"}, code: 1,
			want: []string{"the data is not the data the run was trained on: feature 0's mean and std"}}, changing},
		{cliCase{name: "more epochs, with the options that do not change training", args: []string{"-epochs", "3", "-progress", "lines", "-chart=true",
			"-checkpoint-every", "2", "-workers", "1", "-eval-batch", "500", "-device", "cpu"}, code: 0}, fx.mnist},
		{cliCase{name: "more epochs, giving options their recorded or default values", args: []string{"-epochs", "3", "-model", "784-16-10",
			"-lr", "1e-3", "-optimizer", "adam", "-seed", "1", "-beta1", "0.9", "-amsgrad=false", "-progress", "lines"}, code: 0}, fx.mnist},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, kept := filepath.Join(t.TempDir(), "missing"), ""
			if c.from != "$MISSING" {
				dir = copyDir(t, c.from)
				kept = dir
			}
			before := snapshot(t, kept)
			args := append([]string{"train", "-resume", dir}, c.args...)
			for i, a := range args {
				args[i] = strings.ReplaceAll(a, "$TMP", t.TempDir())
			}
			c.args = args
			out, _ := c.check(t)
			if c.code != 0 {
				assert.Equal(t, before, snapshot(t, kept), "a refused resume changed the run")
				return
			}
			assert.Contains(t, out, "resuming at epoch 2, step 158")
			assert.Contains(t, out, "epoch 3/3")
			var rec map[string]any
			b, err := os.ReadFile(filepath.Join(dir, optionsFile))
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, &rec))
			assert.EqualValues(t, 3, rec["epochs"], "the new length is recorded")
			assert.Equal(t, "784-16-10", rec["model"], "the recorded options are kept")
		})
	}
}

// TestAKilledRunResumesWithEveryStepOnce kills a training process with SIGKILL part way, tears
// the last line of its step log as a crash mid-write would, resumes it, and checks that every
// step and epoch appears once in the logs and in the chart's series.
func TestAKilledRunResumesWithEveryStepOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a training process; skipped in -short mode")
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	dir := newRunDir(t)
	cmd := exec.Command(exe, "train", "-run-dir", dir, "-model", "784-32-10", "-epochs", "50", "-progress", "lines")
	cmd.Env = append(os.Environ(), "GOTRAIN_CLI_CHILD=1")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	// Kill once the step log is into epoch 4, past its checkpoint: poll the log itself rather
	// than sleep, since an epoch of this run takes a few milliseconds on a fast machine and a
	// fixed pause let it finish five epochs before the kill (CI, 2026-12-02).
	const perEpoch = 79
	for deadline := time.Now().Add(60 * time.Second); countLines(filepath.Join(dir, stepsFile)) <= 3*perEpoch+5; time.Sleep(time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the run never reached epoch 4: %s", out.String())
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	// However far the run got before the signal landed, the resume goes two epochs past it.
	total := max(5, countLines(filepath.Join(dir, epochsJSONL))+2)
	f, err := os.OpenFile(filepath.Join(dir, stepsFile), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"epoch":4,"step":99999,"loss":0.1`) // torn: no newline
	require.NoError(t, err)
	require.NoError(t, f.Close())

	code, stdout, errS := runCLI(t, context.Background(), "train", "-resume", dir, "-epochs", strconv.Itoa(total))
	require.Equal(t, 0, code, errS)
	assert.Contains(t, stdout, "written after the checkpoint")

	steps := readJSONL(t, filepath.Join(dir, stepsFile))
	require.Equal(t, total*perEpoch, len(steps), "steps, once each")
	for i, m := range steps {
		require.EqualValues(t, i+1, m["step"], "line %d", i+1)
	}
	epochs := readJSONL(t, filepath.Join(dir, epochsJSONL))
	require.Len(t, epochs, total)
	for i, m := range epochs {
		require.EqualValues(t, i+1, m["epoch"])
	}
	assert.Equal(t, total+1, countLines(filepath.Join(dir, epochsCSV)), "the header and every epoch")
	x, _, _, err := stepSeries(dir)
	require.NoError(t, err)
	assert.Equal(t, total*perEpoch, len(x), "the chart's per-step panels show the whole run")
	assert.EqualValues(t, 1, x[0])
}

// countLines counts the whole lines of a file that another process may be writing; 0 if absent.
func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\n")
}

func readJSONL(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "%s line %d", path, len(out)+1)
		out = append(out, m)
	}
	return out
}

// TestCuttingTheLogsKeepsWhatTheCheckpointCovers checks cutRunLog on logs that go past the
// checkpoint, are torn, or hold garbage.
func TestCuttingTheLogsKeepsWhatTheCheckpointCovers(t *testing.T) {
	step := func(n int) string { return `{"epoch":1,"step":` + itoa(n) + `,"loss":0.5}` + "\n" }
	cases := []struct {
		name, file, content, want string
		dropped                   int
	}{
		{"steps past the checkpoint", stepsFile, step(1) + step(2) + step(3) + step(4), step(1) + step(2), 2},
		{"a torn last line", stepsFile, step(1) + step(2) + `{"epoch":1,"st`, step(1) + step(2), 1},
		{"a whole last line without its newline", stepsFile, step(1) + strings.TrimSuffix(step(2), "\n"), step(1), 1},
		{"garbage in the middle", stepsFile, step(1) + "not json\n" + step(2), step(1), 2},
		{"nothing to cut", stepsFile, step(1) + step(2), step(1) + step(2), 0},
		{"epochs past the checkpoint", epochsJSONL, `{"epoch":1}` + "\n" + `{"epoch":2}` + "\n", `{"epoch":1}` + "\n", 1},
		{"a CSV row past the checkpoint", epochsCSV, strings.Join(epochsHeader, ",") + "\n1,1,1,1,1,1,1,1\n2,1,1,1,1,1,1,1\n",
			strings.Join(epochsHeader, ",") + "\n1,1,1,1,1,1,1,1\n", 1},
		{"a torn CSV row", epochsCSV, strings.Join(epochsHeader, ",") + "\n1,1,1,1,1,1,1,1\n2,1,1", strings.Join(epochsHeader, ",") + "\n1,1,1,1,1,1,1,1\n", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, c.file), []byte(c.content), 0o644))
			dropped, err := cutRunLog(dir, 2, 1)
			require.NoError(t, err)
			b, err := os.ReadFile(filepath.Join(dir, c.file))
			require.NoError(t, err)
			assert.Equal(t, c.want, string(b))
			if c.dropped > 0 {
				assert.Equal(t, []string{itoa(c.dropped) + " line(s) of " + c.file}, dropped)
			} else {
				assert.Empty(t, dropped)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
