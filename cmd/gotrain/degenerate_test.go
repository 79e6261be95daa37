package main

import (
	"encoding/binary"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeIDX writes MNIST files of blank 28×28 images with the given labels into dir.
func writeIDX(t *testing.T, dir string, train, test []uint8) {
	t.Helper()
	for _, set := range []struct {
		prefix string
		labels []uint8
	}{{"train", train}, {"t10k", test}} {
		img := make([]byte, 16+len(set.labels)*784)
		binary.BigEndian.PutUint32(img[0:], 0x803)
		binary.BigEndian.PutUint32(img[4:], uint32(len(set.labels)))
		binary.BigEndian.PutUint32(img[8:], 28)
		binary.BigEndian.PutUint32(img[12:], 28)
		lab := make([]byte, 8, 8+len(set.labels))
		binary.BigEndian.PutUint32(lab[0:], 0x801)
		binary.BigEndian.PutUint32(lab[4:], uint32(len(set.labels)))
		lab = append(lab, set.labels...)
		require.NoError(t, os.WriteFile(filepath.Join(dir, set.prefix+"-images-idx3-ubyte"), img, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, set.prefix+"-labels-idx1-ubyte"), lab, 0o644))
	}
}

// TestDegenerateDataAndRunsAreNotReportedAsSuccess is class 6 of issue 12: data a classifier
// cannot learn from, and hyperparameters that can only end in a non-finite run, are refused up
// front with the reason; an epoch whose every step was skipped reports no loss rather than 0,
// and a run that applied no update fails.
func TestDegenerateDataAndRunsAreNotReportedAsSuccess(t *testing.T) {
	oneClass := writeFile(t, "one-class.csv", "a,b,label\n1,2,x\n3,4,x\n5,6,x\n7,8,x\n")
	oneRow := writeFile(t, "one-row.csv", "a,b,label\n1,2,x\n")
	twoRows := writeFile(t, "two-rows.csv", "a,b,label\n1,2,x\n3,4,y\n")
	headerOnly := writeFile(t, "header.csv", "a,b,label\n")
	sevens := t.TempDir()
	writeIDX(t, sevens, []uint8{7, 7, 7}, []uint8{1, 2})
	noTest := t.TempDir()
	writeIDX(t, noTest, []uint8{1, 2, 3}, nil)

	cases := []cliCase{
		{name: "a CSV of one class", args: quick(t, "-csv", oneClass, "-model", "2-2"), code: 1,
			want: []string{"one-class.csv: every one of its 4 rows has the label \"x\"; a classifier needs at least two classes"}},
		{name: "a CSV of one row", args: quick(t, "-csv", oneRow, "-model", "2-2"), code: 1, want: []string{"one-row.csv has 1 row(s); training needs at least 2"}},
		{name: "a CSV of a header only", args: quick(t, "-csv", headerOnly, "-model", "2-2"), code: 1, want: []string{"no data rows"}},
		{name: "a validation split of two rows", args: quick(t, "-csv", twoRows, "-model", "2-2", "-val-split", "0.5"), code: 1,
			want: []string{"-val-split 0.5: -csv " + twoRows + " has 2 rows; a validation split needs at least 3"}},
		{name: "a validation split that leaves one row", args: quick(t, "-val-split", "0.9999"), code: 1,
			want: []string{"-val-split 0.9999: holding out 9999 of 10000 rows leaves 1 to train on"}},
		{name: "MNIST files of one class", args: quick(t, "-data", sevens), code: 1,
			want: []string{"training set: every one of its 3 rows has the label \"7\""}},
		{name: "MNIST files with an empty test set", args: quick(t, "-data", noTest), code: 1, want: []string{"the test set is empty; give -val-split"}},
		{name: "a binary loss on three classes", args: quick(t, "-csv", irisCSV, "-model", "4-1", "-loss", "bce-logits"), code: 1,
			want: []string{"-loss bce-logits is for two classes; -csv " + irisCSV + " has 3 (setosa, versicolor, virginica)"}},
		{name: "a binary loss on MNIST", args: quick(t, "-model", "784-1", "-loss", "bce-logits"), code: 1, want: []string{"MNIST has 10"}},
		{name: "adam with eps 0", args: quick(t, "-eps", "0"), code: 1, want: []string{"eps 0: want finite and > 0"}},
		{name: "rmsprop with eps 0", args: quick(t, "-optimizer", "rmsprop", "-eps", "0"), code: 1, want: []string{"rmsprop: eps 0"}},
		{name: "adagrad with eps 0", args: quick(t, "-optimizer", "adagrad", "-eps", "0"), code: 1, want: []string{"adagrad: eps 0"}},
		{name: "an infinite eta_min", args: quick(t, "-schedule", "cosine:eta_min=Inf"), code: 1, want: []string{`eta_min="Inf" is not finite`}},
		{name: "an infinite plateau min_lr", args: quick(t, "-schedule", "plateau:min_lr=inf"), code: 1, want: []string{`min_lr="inf" is not finite`}},
		{name: "a NaN gamma", args: quick(t, "-schedule", "exponential:gamma=NaN"), code: 1, want: []string{`gamma="NaN" is not finite`}},
		{name: "a learning rate beyond float64", args: quick(t, "-lr", "1e400"), code: 2, want: []string{"-lr 1e400 is out of range for a float64"}},
		{name: "an infinite clip norm", args: quick(t, "-clip-norm", "Inf"), code: 2, want: []string{"-clip-norm Inf is not a finite number"}},
		{name: "a NaN validation split", args: quick(t, "-val-split", "nan"), code: 2, want: []string{"-val-split nan is not a finite number"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t) })
	}

	// SGD at 1e20: the first step's update makes the next forward pass overflow, so every later
	// step is skipped. Epoch 2 applies none; the run as a whole applied one, so it ends (and
	// says so); continuing it applies none and fails.
	dir := newRunDir(t)
	t.Run("an epoch of skipped steps reports no loss", func(t *testing.T) {
		out, _ := cliCase{args: quick(t, "-run-dir", dir, "-model", "784-32-10", "-optimizer", "sgd", "-lr", "1e20", "-on-nonfinite", "skip",
			"-epochs", "2", "-progress", "lines")}.check(t)
		assert.Contains(t, out, "epoch 2/2  train loss - (every step of the epoch was skipped: no update applied)")
		assert.Contains(t, out, "skipped steps (non-finite): 157")
		f, err := os.Open(filepath.Join(dir, epochsCSV))
		require.NoError(t, err)
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 3)
		assert.Equal(t, []string{"2", "", ""}, rows[2][:3], "no train loss or accuracy for epoch 2, not 0")
		b, err := os.ReadFile(filepath.Join(dir, epochsJSONL))
		require.NoError(t, err)
		assert.Contains(t, strings.Split(string(b), "\n")[1], `"train_loss":null`)
	})
	t.Run("a run that applies no update fails", func(t *testing.T) {
		cliCase{args: []string{"train", "-resume", dir, "-epochs", "3"}, code: 1,
			want: []string{"no update was applied: all 79 steps of this run had a non-finite loss or gradient and were skipped"}}.check(t)
	})
}
