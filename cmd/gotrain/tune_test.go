package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/optim/tune"
	"github.com/gotrain/gotrain/optim/tune/tunetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyTune is a fast study on the built-in data: a small model, few trials, four epochs.
// Options in extra replace the defaults of the same name (an option may be given only once).
func tinyTune(dir string, extra ...string) []string {
	defaults := [][2]string{{"-model", "784-16-10"}, {"-epochs", "4"}, {"-batch", "128"}, {"-val-split", "0.2"},
		{"-sampler", "tpe:startup=4"}, {"-pruner", "asha"}, {"-trials", "10"}, {"-workers", "1"}, {"-progress", "lines"}}
	args := []string{"tune", "-dir", dir, "-param", "lr=loguniform:1e-3:1", "-param", "optimizer=choice:sgd,adam,rmsprop",
		"-param", "momentum=uniform:0:0.95:if=optimizer=sgd"}
	for _, d := range defaults {
		if !slices.Contains(extra, d[0]) {
			args = append(args, d[0], d[1])
		}
	}
	return append(args, extra...)
}

func TestTuneRunsAStudyReportsItAndResumesIt(t *testing.T) {
	dir := t.TempDir()
	code, out, errS := runCLI(t, context.Background(), tinyTune(dir, "-parallel", "2")...)
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, "10 trials:")
	assert.Contains(t, out, "pruned after epoch 1: asha rung 0 (epoch 1): value")
	assert.Contains(t, out, "best: trial")
	for _, f := range []string{"history.png", "intermediate.png", "parallel.png"} {
		fh, err := os.Open(filepath.Join(dir, f))
		require.NoError(t, err, f)
		_, err = png.Decode(fh)
		fh.Close()
		require.NoError(t, err, f)
	}
	fh, err := os.Open(filepath.Join(dir, "trials.csv"))
	require.NoError(t, err)
	rows, err := csv.NewReader(fh).ReadAll()
	fh.Close()
	require.NoError(t, err)
	require.Len(t, rows, 11)

	// The best trial's run directory is a run directory: eval and train -resume take it.
	best := rows[1][1]
	k, _ := strconv.Atoi(best)
	td := trialDir(dir, k)
	code, out, errS = runCLI(t, context.Background(), "eval", "-checkpoint", td)
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, "epoch 4")
	code, _, errS = runCLI(t, context.Background(), "train", "-resume", td, "-epochs", "5", "-progress", "none")
	require.Equal(t, 0, code, errS)

	// Rerunning the command resumes (nothing left to do); -report reports; more trials extend it.
	code, out, errS = runCLI(t, context.Background(), tinyTune(dir)...)
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, "10 trials:")
	code, out, errS = runCLI(t, context.Background(), "tune", "-dir", dir, "-report")
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, "rank trial state")
	code, out, errS = runCLI(t, context.Background(), tinyTune(dir, "-trials", "12")...)
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, "12 trials:")

	// A changed space or fixed option is an error that says what changed.
	changed := tinyTune(dir, "-batch", "64")
	for i, a := range changed {
		if a == "lr=loguniform:1e-3:1" {
			changed[i] = "lr=loguniform:1e-4:1"
		}
	}
	code, _, errS = runCLI(t, context.Background(), changed...)
	require.Equal(t, 1, code, errS)
	assert.Contains(t, errS, "param lr: the study has lr=loguniform:0.001:1, this command has lr=loguniform:0.0001:1")
	assert.Contains(t, errS, "option batch: the study has 128, this command has 64")
}

func TestTuneRejectsBadSpacesBeforeTraining(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		params []string
		want   string
	}{
		{nil, "give the options to search with -param"},
		{[]string{"lr=gauss:0:1"}, `parameter "lr": unknown distribution "gauss"`},
		{[]string{"learning-rate=loguniform:1e-4:1"}, "train has no option -learning-rate"},
		{[]string{"batch=uniform:32:512"}, "-param batch: -batch takes"},
		{[]string{"epochs=int:1:5"}, "epochs cannot be searched"},
		{[]string{"optimizer=choice:sgd,adamx"}, ""},
		{[]string{"nesterov=choice:true,maybe"}, `-param nesterov: -nesterov does not take "maybe"`},
		{[]string{"lr=loguniform:1e-4:1", "momentum=uniform:0:1:if=optimiser=sgd"}, `its condition names "optimiser"`},
	}
	for _, c := range cases {
		args := []string{"tune", "-dir", dir, "-epochs", "1", "-val-split", "0.2"}
		for _, p := range c.params {
			args = append(args, "-param", p)
		}
		if c.want == "" {
			continue // a bad choice fails its trial, with the option's own error (next test)
		}
		code, _, errS := runCLI(t, context.Background(), args...)
		assert.NotEqual(t, 0, code, "%v", c.params)
		assert.Contains(t, errS, c.want, "%v", c.params)
	}
	code, _, errS := runCLI(t, context.Background(), "tune", "-dir", dir, "-param", "lr=loguniform:1e-4:1", "-lr", "0.1")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errS, "-lr is both searched (-param) and set")
	code, _, errS = runCLI(t, context.Background(), "tune", "-dir", t.TempDir(), "-report")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errS, "no study file")
}

func TestATrialWithBadOptionsFailsAndSaysWhy(t *testing.T) {
	dir := t.TempDir()
	code, out, errS := runCLI(t, context.Background(), "tune", "-dir", dir, "-model", "784-16-10", "-epochs", "1", "-val-split", "0.2",
		"-param", "optimizer=choice:sgd,adamx", "-sampler", "grid", "-workers", "1", "-progress", "lines")
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, `failed: -optimizer adamx: optim: unknown optimizer "adamx"`)
}

// trialWeights reads every trial's final weights.
func trialWeights(t *testing.T, dir string, n int) [][][]float32 {
	out := make([][][]float32, n)
	for k := 0; k < n; k++ {
		st, err := train.LoadCheckpoint(filepath.Join(trialDir(dir, k), checkpointFile))
		require.NoError(t, err, "trial %d", k)
		out[k] = st.Params
	}
	return out
}

func studyLines(t *testing.T, dsn, name string) []string {
	store, err := tune.OpenStore(context.Background(), dsn)
	require.NoError(t, err)
	defer store.Close()
	st, err := tune.LoadStudy(context.Background(), store, name)
	require.NoError(t, err)
	trials, err := st.Trials(context.Background())
	require.NoError(t, err)
	var out []string
	for _, tr := range trials {
		out = append(out, fmt.Sprintf("%d %s %s %v %v", tr.Index, tr.State, st.Cfg.Space.Describe(tr.Params), tr.Steps, tr.Reason))
	}
	return out
}

// killOneWorker runs n `gotrain tune` processes on one study, SIGKILLs the one running a trial
// with at least two epochs to go, and checks the rest finish the study without lock errors.
// It returns the killed trial.
func killOneWorker(t *testing.T, dir string, n int, extra ...string) int {
	exe, err := os.Executable()
	require.NoError(t, err)
	args := tinyTune(dir, append([]string{"-lease", "1", "-charts=false"}, extra...)...)
	var cmds []*exec.Cmd
	var outs []*syncBuffer
	for i := 0; i < n; i++ {
		cmd := exec.Command(exe, args...)
		cmd.Env = append(os.Environ(), "GOTRAIN_CLI_CHILD=1")
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		require.NoError(t, cmd.Start())
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	defer func() {
		for _, c := range cmds {
			c.Process.Kill()
		}
	}()
	dsn := filepath.Join(dir, "study.db")
	for i, a := range args {
		if a == "-storage" {
			dsn = args[i+1]
		}
	}
	killed, victim := -1, -1
	deadline := time.Now().Add(60 * time.Second)
	for killed < 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		if !tune.IsPostgres(dsn) {
			if _, err := os.Stat(dsn); err != nil {
				continue
			}
		}
		store, err := tune.OpenStore(context.Background(), dsn)
		require.NoError(t, err)
		st, err := tune.LoadStudy(context.Background(), store, "default")
		if err != nil {
			store.Close()
			continue
		}
		trials, err := st.Trials(context.Background())
		store.Close()
		require.NoError(t, err)
		for _, tr := range trials {
			inside := len(tr.Steps) == 1 && tr.Decisions[1] == "continue" || len(tr.Steps) == 2
			if tr.State != tune.Running || !inside {
				continue
			}
			for i, c := range cmds {
				if strings.Contains(tr.Worker, ":"+strconv.Itoa(c.Process.Pid)+":") {
					require.NoError(t, c.Process.Signal(syscall.SIGKILL))
					killed, victim = tr.Index, i
				}
			}
			break
		}
	}
	require.GreaterOrEqual(t, killed, 0, "no worker was seen inside a trial")
	for i, c := range cmds {
		err := c.Wait()
		if i == victim {
			require.Error(t, err)
			continue
		}
		require.NoError(t, err, "worker %d:\n%s", i, outs[i].String())
		assert.NotContains(t, outs[i].String(), "locked", "worker %d", i)
		assert.NotContains(t, outs[i].String(), "BUSY", "worker %d", i)
	}
	return killed
}

// checkAgainstUninterrupted compares a study that lost a worker with the same study run by one
// uninterrupted process: the same trials and decisions, and the same final weights bit for bit.
func checkAgainstUninterrupted(t *testing.T, dir, dsn string, killed int) {
	ref := t.TempDir()
	code, _, errS := runCLI(t, context.Background(), tinyTune(ref, "-charts=false", "-progress", "none")...)
	require.Equal(t, 0, code, errS)
	want := studyLines(t, filepath.Join(ref, "study.db"), "default")
	got := studyLines(t, dsn, "default")
	require.Equal(t, want, got, "the study with a killed worker differs from an uninterrupted one")
	require.Len(t, got, 10)
	wantW, gotW := trialWeights(t, ref, 10), trialWeights(t, dir, 10)
	for k := range wantW {
		require.True(t, reflect.DeepEqual(wantW[k], gotW[k]), "trial %d's final weights differ", k)
	}
	store, err := tune.OpenStore(context.Background(), dsn)
	require.NoError(t, err)
	defer store.Close()
	st, err := tune.LoadStudy(context.Background(), store, "default")
	require.NoError(t, err)
	trials, err := st.Trials(context.Background())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, trials[killed].Attempt, 2, "the killed trial %d was not taken over", killed)
	nonzero := false
	for _, w := range gotW[killed] {
		for _, v := range w {
			nonzero = nonzero || v != 0 && !math.IsNaN(float64(v))
		}
	}
	assert.True(t, nonzero)
}

func TestFourTuneProcessesOnSQLiteSurviveASIGKILLBitForBit(t *testing.T) {
	dir := t.TempDir()
	killed := killOneWorker(t, dir, 4)
	checkAgainstUninterrupted(t, dir, filepath.Join(dir, "study.db"), killed)
}

func TestTwoTuneProcessesOnPostgreSQLSurviveASIGKILLBitForBit(t *testing.T) {
	dsn := tunetest.Postgres(t)
	dir := t.TempDir()
	killed := killOneWorker(t, dir, 2, "-storage", dsn)
	checkAgainstUninterrupted(t, dir, dsn, killed)
}

func TestAnInterruptedTuneResumesWhereItStopped(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Stop once some trial is inside its epochs.
		for ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
			if _, err := os.Stat(filepath.Join(dir, "study.db")); err != nil {
				continue
			}
			lines := func() (n int) {
				// No require here: this is not the test's goroutine.
				store, err := tune.OpenStore(ctx, filepath.Join(dir, "study.db"))
				if err != nil {
					return 0
				}
				defer store.Close()
				st, err := tune.LoadStudy(ctx, store, "default")
				if err != nil {
					return 0
				}
				trials, err := st.Trials(ctx)
				if err != nil {
					return 0
				}
				for _, tr := range trials {
					if tr.State == tune.Running && len(tr.Steps) > 0 {
						n++
					}
				}
				return n
			}()
			if lines > 0 {
				cancel()
			}
		}
	}()
	code, out, errS := runCLI(t, ctx, tinyTune(dir, "-charts=false")...)
	require.Equal(t, exitInterrupted, code, "%s\n%s", out, errS)
	assert.Contains(t, errS, "rerun the same command to resume")
	code, _, errS = runCLI(t, context.Background(), tinyTune(dir, "-charts=false")...)
	require.Equal(t, 0, code, errS)
	ref := t.TempDir()
	code, _, errS = runCLI(t, context.Background(), tinyTune(ref, "-charts=false", "-progress", "none")...)
	require.Equal(t, 0, code, errS)
	assert.Equal(t, studyLines(t, filepath.Join(ref, "study.db"), "default"), studyLines(t, filepath.Join(dir, "study.db"), "default"))
	wantW, gotW := trialWeights(t, ref, 10), trialWeights(t, dir, 10)
	for k := range wantW {
		assert.True(t, reflect.DeepEqual(wantW[k], gotW[k]), "trial %d's final weights differ", k)
	}
}

func TestADivergingTrialIsPrunedAndSaysWhy(t *testing.T) {
	code, out, errS := runCLI(t, context.Background(), "tune", "-dir", t.TempDir(), "-model", "784-16-10", "-epochs", "2", "-val-split", "0.2",
		"-optimizer", "sgd", "-param", "lr=choice:1e30,0.01", "-sampler", "grid", "-workers", "1", "-progress", "lines")
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, "stopped by the objective after 0 epochs: diverged: train: epoch 1 step")
	assert.Contains(t, out, "1 complete, 1 pruned, 0 failed")
}
