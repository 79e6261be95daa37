package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoOutputIsOverwrittenUnlessAsked is class 2 of issue 12: an existing run, sweep or range
// test is never overwritten unless -overwrite (or, for a run, -resume) says so; a directory in
// use by another process is refused at once, naming the holder; and a refused command leaves the
// directory exactly as it was.
func TestNoOutputIsOverwrittenUnlessAsked(t *testing.T) {
	fx := runs(t)
	sweepDir := t.TempDir()
	code, _, errS := runCLI(t, context.Background(), "sweep", "-model", "784-16-10", "-epochs", "1", "-lr", "0.01", "-optimizer", "sgd", "-out", sweepDir)
	require.Equal(t, 0, code, errS)
	lrDir := t.TempDir()
	code, _, errS = runCLI(t, context.Background(), "lr-find", "-model", "784-16-10", "-steps", "10", "-out", lrDir)
	require.Equal(t, 0, code, errS)
	foreign := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o644))
	aFile := writeFile(t, "file", "x")

	cases := []struct {
		cliCase
		dir string // a directory whose files must be unchanged afterwards ("" for none)
	}{
		{cliCase{name: "train into an existing run", args: quick(t, "-run-dir", "$RUN"), code: 1,
			want: []string{"already holds a run", "-resume", "-overwrite"}}, "$RUN"},
		{cliCase{name: "train into an existing run with bad data and -overwrite", args: quick(t, "-run-dir", "$RUN", "-overwrite", "-csv", irisCSV), code: 1,
			want: []string{"input width 784 does not match the data's 4 features"}}, "$RUN"},
		{cliCase{name: "train into an existing run with a model that does not fit and -overwrite", args: quick(t, "-run-dir", "$RUN", "-overwrite", "-model", "100-10"), code: 1,
			want: []string{"input width 100"}}, "$RUN"},
		{cliCase{name: "train into a directory of other files", args: quick(t, "-run-dir", foreign), code: 1,
			want: []string{"is not empty (it holds notes.txt)", "-overwrite"}}, foreign},
		{cliCase{name: "train into a file", args: quick(t, "-run-dir", aFile), code: 1, want: []string{"is a file; want a directory"}}, ""},
		{cliCase{name: "a sweep into an existing sweep", args: []string{"sweep", "-model", "784-16-10", "-epochs", "1", "-lr", "0.01", "-optimizer", "sgd", "-out", sweepDir}, code: 1,
			want: []string{"-out " + sweepDir + " already holds a sweep", "-overwrite"}}, sweepDir},
		{cliCase{name: "a range test into an existing one", args: []string{"lr-find", "-model", "784-16-10", "-steps", "10", "-out", lrDir}, code: 1,
			want: []string{"already holds a range test"}}, lrDir},
		{cliCase{name: "a resume that changes an option", args: []string{"train", "-resume", "$RUN", "-epochs", "3", "-lr", "0.5"}, code: 1,
			want: []string{"-lr 0.5"}}, "$RUN"},
		{cliCase{name: "train into an existing run with -overwrite", args: quick(t, "-run-dir", "$RUN", "-overwrite"), code: 0}, ""},
		{cliCase{name: "train into other files with -overwrite keeps them", args: quick(t, "-run-dir", foreign, "-overwrite"), code: 0}, ""},
		{cliCase{name: "a sweep with -overwrite", args: []string{"sweep", "-model", "784-16-10", "-epochs", "1", "-lr", "0.01", "-optimizer", "sgd", "-out", sweepDir, "-overwrite"}, code: 0}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := copyDir(t, fx.mnist)
			for i, a := range c.args {
				c.args[i] = strings.ReplaceAll(a, "$RUN", run)
			}
			dir := strings.ReplaceAll(c.dir, "$RUN", run)
			before := snapshot(t, dir)
			c.check(t)
			assert.Equal(t, before, snapshot(t, dir), "the refused command changed %s", dir)
		})
	}
	b, err := os.ReadFile(filepath.Join(foreign, "notes.txt"))
	require.NoError(t, err)
	assert.Equal(t, "mine", string(b), "-overwrite replaces only gotrain's own files")
}

// snapshot reads every file of dir (nil for "").
func snapshot(t *testing.T, dir string) map[string]string {
	if dir == "" {
		return nil
	}
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Name() == lockFile {
			continue // the lock holds who last held it; it is not an output
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = string(b)
	}
	return out
}

// TestTwoProcessesInOneDirectoryCannotBothWrite starts two trainings into the same new directory
// at once: one trains, the other is refused (in use, or already holding a run), and every line
// of the metrics is whole.
func TestTwoProcessesInOneDirectoryCannotBothWrite(t *testing.T) {
	dir := newRunDir(t)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	msgs := make([]string, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, msgs[i] = runCLI(t, context.Background(), "train", "-model", "784-16-10", "-epochs", "2", "-progress", "none", "-run-dir", dir)
		}()
	}
	wg.Wait()
	require.ElementsMatch(t, []int{0, 1}, codes, "one succeeds, one is refused: %q", msgs)
	refused := msgs[0] + msgs[1]
	assert.True(t, strings.Contains(refused, "is in use by pid") || strings.Contains(refused, "already holds a run"), refused)
	f, err := os.Open(filepath.Join(dir, stepsFile))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "line %d is whole", n+1)
		n++
	}
	assert.Equal(t, 2*79, n, "one run's steps, once each")
}

// TestDefaultNamesAreUnique takes many default-named directories at once (in the same second):
// each gets its own.
func TestDefaultNamesAreUnique(t *testing.T) {
	parent := t.TempDir()
	var wg sync.WaitGroup
	paths := make([]string, 8)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := &outDir{flag: "-run-dir", parent: parent, what: "run", ours: runFiles}
			lock, err := d.take()
			if assert.NoError(t, err) {
				paths[i] = d.path
				lock.release()
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, p := range paths {
		assert.False(t, seen[p], "%s taken twice", p)
		seen[p] = true
		assert.Equal(t, parent, filepath.Dir(p))
	}
}
