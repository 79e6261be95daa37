package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// copyEmbedded writes the built-in MNIST files into dir, so a test can damage one of them.
func copyEmbedded(t *testing.T, dir string) {
	t.Helper()
	for _, name := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "models", "mnist", "embedded", name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
}

// TestBadInputIsExplained runs the CLI on each class of bad input and checks the error names
// what was wrong and where: the file, the line or byte offset, the option or the value.
func TestBadInputIsExplained(t *testing.T) {
	tmp := t.TempDir()

	truncated := filepath.Join(tmp, "truncated")
	require.NoError(t, os.Mkdir(truncated, 0o755))
	copyEmbedded(t, truncated)
	img := filepath.Join(truncated, "t10k-images-idx3-ubyte.gz")
	b, err := os.ReadFile(img)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(img, b[:len(b)/3], 0o644))

	missing := filepath.Join(tmp, "missing")
	require.NoError(t, os.Mkdir(missing, 0o755))
	copyEmbedded(t, missing)
	require.NoError(t, os.Remove(filepath.Join(missing, "train-labels-idx1-ubyte.gz")))

	badCSV := filepath.Join(tmp, "bad.csv")
	require.NoError(t, os.WriteFile(badCSV, []byte("a,b,label\n1,2,x\n3,oops,y\n"), 0o644))
	ragged := filepath.Join(tmp, "ragged.csv")
	require.NoError(t, os.WriteFile(ragged, []byte("a,b,label\n1,2,x\n3,4\n"), 0o644))
	wideCSV := filepath.Join(tmp, "wide.csv")
	require.NoError(t, os.WriteFile(wideCSV, []byte("a,b,label\n1,2,x\n3,4,y\n5,6,z\n"), 0o644))

	// A checkpoint of a 784-16-10 model, then a corrupted copy of it.
	run := filepath.Join(tmp, "run")
	code, _, errS := runCLI(t, context.Background(), "train", "-model", "784-16-10", "-epochs", "1", "-run-dir", run, "-progress", "none", "-chart=false")
	require.Equal(t, 0, code, errS)
	// A run directory whose checkpoint is of another model than its options say.
	other := filepath.Join(tmp, "other")
	code, _, errS = runCLI(t, context.Background(), "train", "-model", "784-32-10", "-epochs", "1", "-run-dir", other, "-progress", "none", "-chart=false")
	require.Equal(t, 0, code, errS)
	mixed := filepath.Join(tmp, "mixed")
	require.NoError(t, os.Mkdir(mixed, 0o755))
	for src, name := range map[string]string{filepath.Join(run, optionsFile): optionsFile, filepath.Join(other, checkpointFile): checkpointFile} {
		b, err := os.ReadFile(src)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(mixed, name), b, 0o644))
	}
	corrupt := filepath.Join(tmp, "corrupt.ckpt")
	ck, err := os.ReadFile(filepath.Join(run, checkpointFile))
	require.NoError(t, err)
	ck[len(ck)/2] ^= 0xff
	require.NoError(t, os.WriteFile(corrupt, ck, 0o644))

	cases := []struct {
		class string
		args  []string
		want  []string
	}{
		{"a truncated IDX file", []string{"train", "-data", truncated}, []string{"t10k-images-idx3-ubyte.gz", "truncated"}},
		{"a missing IDX file", []string{"train", "-data", missing}, []string{"train-labels-idx1-ubyte"}},
		{"a non-numeric CSV feature", []string{"train", "-csv", badCSV, "-model", "2-3"}, []string{"bad.csv", "line 3", `"oops"`}},
		{"a ragged CSV row", []string{"train", "-csv", ragged, "-model", "2-2"}, []string{"ragged.csv", "line 3"}},
		{"a CSV label column that does not exist", []string{"train", "-csv", badCSV, "-label", "class", "-model", "2-2"}, []string{`"class"`, "label"}},
		{"more classes in the data than model outputs", []string{"train", "-csv", wideCSV, "-model", "2-2"}, []string{"output width 2", "3 classes"}},
		{"a model that does not fit the inputs", []string{"train", "-model", "100-10"}, []string{"input width 100", "784 features"}},
		{"an invalid hyperparameter", []string{"train", "-optimizer", "rmsprop", "-alpha", "1.5"}, []string{"alpha 1.5"}},
		{"a corrupted checkpoint", []string{"eval", "-checkpoint", corrupt}, []string{"corrupt.ckpt", "checksum mismatch"}},
		{"a checkpoint of another model", []string{"train", "-resume", mixed, "-epochs", "2"}, []string{"model is 784-32:relu-10", "this run's is 784-16:relu-10"}},
		{"a file that is not a checkpoint", []string{"eval", "-checkpoint", badCSV}, []string{"bad.csv", "not a gotrain checkpoint"}},
	}
	for _, c := range cases {
		t.Run(c.class+" is explained", func(t *testing.T) {
			args := append(c.args, "-progress", "none")
			if c.args[0] == "eval" || slices.Contains(c.args, "-resume") {
				args = c.args
			} else {
				args = append(args, "-run-dir", filepath.Join(t.TempDir(), "r"))
			}
			code, _, errS := runCLI(t, context.Background(), args...)
			assert.Equal(t, 1, code, errS)
			for _, w := range c.want {
				assert.Contains(t, errS, w)
			}
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(errS), "\n")+1, "one line of error: %q", errS)
		})
	}
	// The refused resume left the run as it was.
	opts, err := os.ReadFile(filepath.Join(run, optionsFile))
	require.NoError(t, err)
	assert.Contains(t, string(opts), "784-16-10")
}
