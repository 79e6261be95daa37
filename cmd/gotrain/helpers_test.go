package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixtureRuns are finished runs the class tests read (never write: a test that changes a run
// copies it first with copyDir).
type fixtureRuns struct {
	mnist string // 784-16-10, 2 epochs on the built-in data
	iris  string // 4-16-3 on the whole Iris file, 30 epochs
	err   error
}

var (
	fixtureOnce sync.Once
	fixture     fixtureRuns
	fixtureDir  string
)

const irisCSV = "../../models/csvdata/testdata/iris.csv"

// runs trains the fixture runs once per test binary.
func runs(t *testing.T) fixtureRuns {
	t.Helper()
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gotrain-fixture-")
		if err != nil {
			fixture.err = err
			return
		}
		fixtureDir = dir
		fixture.mnist = filepath.Join(dir, "mnist")
		fixture.iris = filepath.Join(dir, "iris")
		for _, args := range [][]string{
			{"train", "-model", "784-16-10", "-epochs", "2", "-run-dir", fixture.mnist, "-progress", "none", "-chart=false"},
			{"train", "-csv", irisCSV, "-model", "4-16-3", "-epochs", "30", "-batch", "16", "-lr", "0.01", "-run-dir", fixture.iris, "-progress", "none", "-chart=false"},
		} {
			var out, errb strings.Builder
			if code := run(context.Background(), args, &out, &errb); code != 0 {
				fixture.err = &fixtureError{args: args, msg: errb.String()}
				return
			}
		}
	})
	require.NoError(t, fixture.err)
	return fixture
}

type fixtureError struct {
	args []string
	msg  string
}

func (e *fixtureError) Error() string { return strings.Join(e.args, " ") + ": " + e.msg }

// copyDir copies the regular files of src into a new directory and returns it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	require.NoError(t, os.Mkdir(dst, 0o755))
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
	return dst
}

// writeFile writes content to a new file in a temporary directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// cliCase is one command line and what it must do: its exit status, and substrings of its
// one-line message.
type cliCase struct {
	name string
	args []string
	env  map[string]string
	code int
	want []string
}

// check runs c and checks the exit status, that a failure prints exactly one line on stderr
// holding every wanted substring, and that a failure never leaves a run directory behind when
// the case names one that did not exist.
func (c cliCase) check(t *testing.T) (stdout, stderr string) {
	t.Helper()
	for k, v := range c.env {
		t.Setenv(k, v)
	}
	var runDir string
	for i, a := range c.args {
		if (a == "-run-dir" || a == "-out") && i+1 < len(c.args) {
			if _, err := os.Stat(c.args[i+1]); os.IsNotExist(err) {
				runDir = c.args[i+1]
			}
		}
	}
	code, out, errS := runCLI(t, context.Background(), c.args...)
	assert.Equal(t, c.code, code, "exit status; stderr: %s", errS)
	for _, w := range c.want {
		assert.Contains(t, errS, w)
	}
	if c.code != 0 {
		assert.Equal(t, 1, strings.Count(errS, "\n"), "exactly one line of message: %q", errS)
		assert.True(t, strings.HasPrefix(errS, "gotrain"), "the message names the command: %q", errS)
		if runDir != "" {
			_, err := os.Stat(runDir)
			assert.True(t, os.IsNotExist(err), "a failed command created %s", runDir)
		}
	}
	return out, errS
}

// newRunDir is a path for a run directory that does not exist yet.
func newRunDir(t *testing.T) string { return filepath.Join(t.TempDir(), "run") }

// quick is a fast training run on the built-in data, with extra options replacing its defaults.
func quick(t *testing.T, extra ...string) []string {
	args := []string{"train"}
	for _, d := range [][]string{{"-model", "784-16-10"}, {"-epochs", "1"}, {"-progress", "none"}, {"-chart=false"}, {"-run-dir", newRunDir(t)}} {
		name, _, _ := strings.Cut(d[0], "=")
		if !slices.ContainsFunc(extra, func(a string) bool { n, _, _ := strings.Cut(a, "="); return n == name }) {
			args = append(args, d...)
		}
	}
	return append(args, extra...)
}
