package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockedBuffer is written by the server's goroutine and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServe runs "gotrain serve args..." until the test ends and returns its URL.
func startServe(t *testing.T, args ...string) (string, *lockedBuffer, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	serveReady = func(u string) { ready <- u }
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), &out, &errb) }()
	var url string
	select {
	case url = <-ready:
	case code := <-done:
		t.Fatalf("serve exited with %d: %s", code, errb.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			assert.Equal(t, 0, code, "Ctrl-C stops serve cleanly: %s", errb.String())
			assert.Contains(t, out.String(), "gotrain serve: stopped")
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
		serveReady = nil
	})
	return url, &out, &errb
}

func getAPI(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

// TestServeReadsWhatTrainAndSweepWrite trains a run and a sweep for real and serves them: the
// files the server reads are the ones these commands write today, so a change to their format
// shows up here.
func TestServeReadsWhatTrainAndSweepWrite(t *testing.T) {
	root := t.TempDir()
	runs, sweeps := filepath.Join(root, "runs"), filepath.Join(root, "sweeps")
	code, _, errS := runCLI(t, context.Background(), append([]string{"train", "-run-dir", filepath.Join(runs, "one")}, small...)...)
	require.Equal(t, 0, code, errS)
	code, _, errS = runCLI(t, context.Background(), "sweep", "-out", filepath.Join(sweeps, "s"), "-model", "784-16-10", "-epochs", "1",
		"-batch", "256", "-lr", "1e-3,1e-2", "-optimizer", "adam")
	require.Equal(t, 0, code, errS)

	url, out, _ := startServe(t, "-port", "0", runs, sweeps)
	assert.Contains(t, out.String(), "gotrain serve: "+url)

	var items struct {
		Items []struct {
			ID, Kind, Status string
			Steps, Epochs    int
			Rows             int
			Options          map[string]string
		}
	}
	getAPI(t, url+"api/items", &items)
	require.Len(t, items.Items, 2)
	run, sweep := items.Items[0], items.Items[1]
	assert.Equal(t, "run", run.Kind)
	assert.Equal(t, 2*157, run.Steps, "the last step of steps.jsonl")
	assert.Equal(t, 2, run.Epochs)
	assert.Equal(t, "784-32-10", run.Options["model"])
	assert.Equal(t, "sweep", sweep.Kind)
	assert.Equal(t, 2, sweep.Rows)

	steps, err := os.ReadFile(filepath.Join(runs, "one", stepsFile))
	require.NoError(t, err)
	var detail struct {
		Items []struct {
			Steps struct {
				Rows    int
				Columns []string
			}
			Epochs struct {
				Columns []string
			}
			Curves []struct {
				Name string
				Row  int
				Y    []float64
			}
		}
	}
	getAPI(t, url+"api/detail?id="+run.ID, &detail)
	assert.Equal(t, strings.Count(string(steps), "\n"), detail.Items[0].Steps.Rows)
	assert.Subset(t, detail.Items[0].Steps.Columns, []string{"step", "loss", "acc", "lr", "grad_norm", "epoch"})
	assert.Subset(t, detail.Items[0].Epochs.Columns, []string{"epoch", "train_loss", "eval_acc", "lr"})
	getAPI(t, url+"api/detail?id="+sweep.ID, &detail)
	require.Len(t, detail.Items[0].Curves, 2)
	rows := map[int]bool{}
	for _, c := range detail.Items[0].Curves {
		assert.GreaterOrEqual(t, c.Row, 0, "curves.csv run %q matched to its sweep.csv row", c.Name)
		rows[c.Row] = true
		assert.Len(t, c.Y, 1)
	}
	assert.Len(t, rows, 2)
}

func TestServeFlags(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"a port out of range", []string{"-port", "70000", dir}, exitUsage, "-port 70000"},
		{"two ports", []string{"-addr", "127.0.0.1:1234", "-port", "5", dir}, exitUsage, "give one"},
		{"a folder that is not there", []string{"-port", "0", filepath.Join(dir, "nope")}, exitError, "nope"},
		{"a file for a folder", []string{"-port", "0", "serve_test.go"}, exitError, "not a folder"},
		{"too fast polling", []string{"-poll", "1ms", dir}, exitUsage, "-poll"},
		{"an unknown flag", []string{"-bogus", dir}, exitUsage, "bogus"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errS := runCLI(t, context.Background(), append([]string{"serve"}, c.args...)...)
			assert.Equal(t, c.code, code)
			assert.Contains(t, errS, c.msg)
		})
	}
}

func TestServeWarnsWhenNotOnLoopback(t *testing.T) {
	_, _, errb := startServe(t, "-addr", "0.0.0.0", "-port", "0", t.TempDir())
	assert.Contains(t, errb.String(), "warning: listening on 0.0.0.0:")
	assert.Contains(t, errb.String(), "reachable from other machines")
}

func TestServeDefaultsToRunsSweepsAndStudies(t *testing.T) {
	t.Chdir(t.TempDir())
	require.NoError(t, os.Mkdir("runs", 0o755))
	url, out, _ := startServe(t, "-port", "0")
	assert.Contains(t, out.String(), "folders: runs, sweeps, studies")
	assert.Contains(t, out.String(), "not here yet (watched, listed once they appear): sweeps/, studies/")
	var items struct{ Roots []struct{ Path string } }
	getAPI(t, url+"api/items", &items)
	require.Len(t, items.Roots, 3)
	assert.Equal(t, "studies", items.Roots[2].Path)
}
