package main

import (
	"encoding/csv"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryLongCommandStopsCleanlyOnASignal is class 8 of issue 12: train, sweep, lr-find and
// eval, run as child processes, get a real SIGINT or SIGTERM part way; each exits 130 with one
// message saying what it saved, and what it saved is there and whole.
func TestEveryLongCommandStopsCleanlyOnASignal(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes; skipped in -short mode")
	}
	// A checkpoint big enough that evaluating the 10,000 training digits takes seconds: the
	// weights are zeros (valid, and free to make).
	spec, err := models.ParseSpec("784-3000-3000-10", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	st := &train.State{Spec: spec.String(), Loss: "softmax-ce", Shapes: spec.ParamShapes()}
	for _, sh := range spec.ParamShapes() {
		n := 1
		for _, d := range sh {
			n *= d
		}
		st.Params = append(st.Params, make([]float32, n))
	}
	bigCkpt := filepath.Join(t.TempDir(), "big.ckpt")
	require.NoError(t, train.SaveCheckpoint(bigCkpt, st))

	cases := []struct {
		name   string
		args   []string
		sig    syscall.Signal
		after  string        // output that shows the command is under way
		wait   time.Duration // then wait this long
		want   []string
		verify func(t *testing.T, dir string)
	}{
		{name: "train on SIGINT", args: []string{"train", "-model", "784-64-10", "-epochs", "200", "-progress", "lines", "-checkpoint-every", "0", "-run-dir", "$DIR"},
			sig: syscall.SIGINT, after: "epoch 1/200", want: []string{"checkpoint saved to $DIR/checkpoint.ckpt", "continue with: gotrain train -resume $DIR"},
			verify: func(t *testing.T, dir string) {
				st, err := train.LoadCheckpoint(filepath.Join(dir, checkpointFile))
				require.NoError(t, err)
				assert.GreaterOrEqual(t, st.Epoch, 1)
				readJSONL(t, filepath.Join(dir, stepsFile)) // every line whole
			}},
		{name: "train on SIGTERM", args: []string{"train", "-model", "784-64-10", "-epochs", "200", "-progress", "lines", "-run-dir", "$DIR"},
			sig: syscall.SIGTERM, after: "epoch 1/200", want: []string{"checkpoint saved to"},
			verify: func(t *testing.T, dir string) {
				_, err := train.LoadCheckpoint(filepath.Join(dir, checkpointFile))
				require.NoError(t, err)
			}},
		{name: "sweep on SIGTERM", args: []string{"sweep", "-model", "784-64-10", "-epochs", "100", "-lr", "0.01,0.02,0.03", "-optimizer", "sgd", "-parallel", "1", "-out", "$DIR"},
			sig: syscall.SIGTERM, after: "sweep: 3 runs", wait: 500 * time.Millisecond,
			want: []string{"interrupted: 0 of 3 runs finished, 1 stopped part way, 2 not started; the results so far are in $DIR"},
			verify: func(t *testing.T, dir string) {
				f, err := os.Open(filepath.Join(dir, "sweep.csv"))
				require.NoError(t, err)
				defer f.Close()
				rows, err := csv.NewReader(f).ReadAll()
				require.NoError(t, err)
				assert.Len(t, rows, 4, "a row per run")
			}},
		{name: "lr-find on SIGINT", args: []string{"lr-find", "-model", "784-64-10", "-steps", "1000000", "-start", "1e-9", "-end", "1e-8", "-out", "$DIR"},
			sig: syscall.SIGINT, after: "range test:", wait: 300 * time.Millisecond, want: []string{"of 1000000 batches", "the curve so far is in $DIR/lrfind.csv"},
			verify: func(t *testing.T, dir string) {
				f, err := os.Open(filepath.Join(dir, "lrfind.csv"))
				require.NoError(t, err)
				defer f.Close()
				rows, err := csv.NewReader(f).ReadAll()
				require.NoError(t, err)
				assert.Greater(t, len(rows), 1)
			}},
		{name: "eval on SIGINT", args: []string{"eval", "-checkpoint", bigCkpt, "-split", "train", "-batch", "25"},
			sig: syscall.SIGINT, wait: 1500 * time.Millisecond, want: []string{"interrupted after", "of 10000 examples; eval writes nothing"}},
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := newRunDir(t)
			args := make([]string, len(c.args))
			for i, a := range c.args {
				args[i] = strings.ReplaceAll(a, "$DIR", dir)
			}
			cmd := exec.Command(exe, args...)
			cmd.Env = append(os.Environ(), "GOTRAIN_CLI_CHILD=1")
			var stdout, stderr syncBuffer // written by exec's copying goroutines while this one polls
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			require.NoError(t, cmd.Start())
			for deadline := time.Now().Add(60 * time.Second); c.after != "" && !strings.Contains(stdout.String(), c.after); {
				require.True(t, time.Now().Before(deadline), "never started: %s %s", stdout.String(), stderr.String())
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(c.wait)
			require.NoError(t, cmd.Process.Signal(c.sig))
			err := cmd.Wait()
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee), "exit: %v; %s %s", err, stdout.String(), stderr.String())
			assert.Equal(t, exitInterrupted, ee.ExitCode(), stderr.String())
			msg := stderr.String()
			assert.Equal(t, 1, strings.Count(msg, "\n"), "one line: %q", msg)
			for _, w := range c.want {
				assert.Contains(t, msg, strings.ReplaceAll(w, "$DIR", dir))
			}
			if c.verify != nil {
				c.verify(t, dir)
			}
		})
	}
}
