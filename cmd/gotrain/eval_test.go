package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/models/csvdata"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// confusionRows parses eval's confusion matrix: class name -> counts per predicted class.
func confusionRows(t *testing.T, out string) map[string][]int {
	t.Helper()
	_, table, ok := strings.Cut(out, "confusion matrix")
	require.True(t, ok, out)
	rows := map[string][]int{}
	for _, line := range strings.Split(table, "\n")[2:] {
		f := strings.Fields(line)
		if len(f) < 3 || strings.HasPrefix(line, "-") {
			continue
		}
		var counts []int
		for _, s := range f[1 : len(f)-1] {
			n, err := strconv.Atoi(s)
			require.NoError(t, err, line)
			counts = append(counts, n)
		}
		rows[f[0]] = counts
	}
	return rows
}

// TestEvalPreparesDataAsTrainingDid is class 4 of issue 12: eval standardises with the training
// data's statistics and numbers the classes as training did, both carried in the checkpoint, so
// every row gets the prediction it got inside the training file, whatever the file around it;
// a file that lacks classes evaluates, and a label the model never saw is an error naming it.
func TestEvalPreparesDataAsTrainingDid(t *testing.T) {
	fx := runs(t)
	raw, err := os.ReadFile(irisCSV)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	header, rows := lines[0], lines[1:]
	file := func(name, head string, body []string) string {
		return writeFile(t, name, head+"\n"+strings.Join(body, "\n")+"\n")
	}
	reversed := slices.Clone(rows)
	slices.Reverse(reversed)
	labelFirst := make([]string, len(rows))
	for i, r := range rows {
		f := strings.Split(r, ",")
		labelFirst[i] = f[4] + "," + strings.Join(f[:4], ",")
	}
	rose := slices.Clone(rows[:3])
	rose = append(rose, "5.0,3.4,1.5,0.2,rose")

	// The checkpoint's own record of the training preprocessing.
	st, err := train.LoadCheckpoint(filepath.Join(fx.iris, checkpointFile))
	require.NoError(t, err)
	tab, err := csvdata.Load(irisCSV, csvdata.Options{})
	require.NoError(t, err)
	mean, std := tab.Standardize()
	require.NotNil(t, st.Data)
	assert.Equal(t, mean, st.Data.Mean)
	assert.Equal(t, std, st.Data.Std)
	assert.Equal(t, []string{"setosa", "versicolor", "virginica"}, st.Data.Classes)

	// A checkpoint from before the data section: the same weights without it.
	old := filepath.Join(t.TempDir(), "old.ckpt")
	st.Data = nil
	require.NoError(t, train.SaveCheckpoint(old, st))
	oldMNIST, err := train.LoadCheckpoint(filepath.Join(fx.mnist, checkpointFile))
	require.NoError(t, err)
	oldMNIST.Data = nil
	oldMNISTPath := filepath.Join(t.TempDir(), "old-mnist.ckpt")
	require.NoError(t, train.SaveCheckpoint(oldMNISTPath, oldMNIST))

	code, out, errS := runCLI(t, context.Background(), "eval", "-checkpoint", fx.iris, "-csv", irisCSV)
	require.Equal(t, 0, code, errS)
	full := confusionRows(t, out)
	require.Len(t, full, 3)

	cases := []struct {
		cliCase
		same   []string // classes whose confusion rows must equal the whole file's
		absent []string // classes the file does not have
	}{
		{cliCase{name: "the whole file", args: []string{"-csv", irisCSV}}, []string{"setosa", "versicolor", "virginica"}, nil},
		{cliCase{name: "the first 100 rows, without virginica", args: []string{"-csv", file("first100.csv", header, rows[:100])}}, []string{"setosa", "versicolor"}, []string{"virginica"}},
		{cliCase{name: "the first 101 rows", args: []string{"-csv", file("first101.csv", header, rows[:101])}}, []string{"setosa", "versicolor"}, nil},
		{cliCase{name: "virginica alone", args: []string{"-csv", file("virginica.csv", header, rows[100:])}}, []string{"virginica"}, []string{"setosa", "versicolor"}},
		{cliCase{name: "the rows in reverse order", args: []string{"-csv", file("reversed.csv", header, reversed)}}, []string{"setosa", "versicolor", "virginica"}, nil},
		{cliCase{name: "no header", args: []string{"-csv", file("noheader.csv", rows[0], rows[1:])}}, []string{"setosa", "versicolor", "virginica"}, nil},
		{cliCase{name: "the label column first, named", args: []string{"-csv", file("labelfirst.csv", "species,sepal_length,sepal_width,petal_length,petal_width", labelFirst), "-label", "species"}},
			[]string{"setosa", "versicolor", "virginica"}, nil},
		{cliCase{name: "a label never seen in training", args: []string{"-csv", file("rose.csv", header, rose)}, code: 1,
			want: []string{`label "rose" was not seen in training; the model knows "setosa", "versicolor", "virginica"`}}, nil, nil},
		{cliCase{name: "other feature names", args: []string{"-csv", file("renamed.csv", "a,b,c,d,species", rows)}, code: 1,
			want: []string{"has the features a, b, c, d; the model was trained on sepal_length, sepal_width, petal_length, petal_width"}}, nil, nil},
		{cliCase{name: "fewer features", args: []string{"-csv", writeFile(t, "three.csv", "a,b,c,species\n1,2,3,setosa\n")}, code: 1,
			want: []string{"has 3 features (a, b, c); the checkpoint's model was trained on 4"}}, nil, nil},
		{cliCase{name: "a CSV checkpoint without -csv", args: nil, code: 1, want: []string{"was trained on a CSV file (features sepal_length", "evaluate it with -csv FILE"}}, nil, nil},
		{cliCase{name: "a checkpoint from before the data section, on a CSV file", args: []string{"-checkpoint", old, "-csv", irisCSV}, code: 1,
			want: []string{"old.ckpt predates the data section"}}, nil, nil},
		{cliCase{name: "an MNIST checkpoint on a CSV file", args: []string{"-checkpoint", fx.mnist, "-csv", irisCSV}, code: 1,
			want: []string{"was trained on MNIST, not on a CSV file"}}, nil, nil},
		{cliCase{name: "an MNIST checkpoint from before the data section", args: []string{"-checkpoint", oldMNISTPath}}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.args = append([]string{"eval"}, c.args...)
			if !slices.Contains(c.args, "-checkpoint") {
				c.args = append(c.args, "-checkpoint", fx.iris)
			}
			out, _ := c.check(t)
			if c.code != 0 || c.same == nil {
				return
			}
			got := confusionRows(t, out)
			for _, class := range c.same {
				assert.Equal(t, full[class], got[class], "class %s: its rows are predicted as in the whole file", class)
			}
			for _, class := range c.absent {
				assert.Equal(t, []int{0, 0, 0}, got[class], "class %s is not in the file", class)
			}
		})
	}

	t.Run("numeric labels match by value", func(t *testing.T) {
		dir := newRunDir(t)
		cliCase{args: quick(t, "-csv", writeFile(t, "num.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n"), "-model", "2-2", "-run-dir", dir)}.check(t)
		out, _ := cliCase{args: []string{"eval", "-checkpoint", dir, "-csv", writeFile(t, "num2.csv", "a,b,y\n1,2,0.0\n3,4,1e0\n")}}.check(t)
		assert.Contains(t, out, "all 2 rows")
		cliCase{args: []string{"eval", "-checkpoint", dir, "-csv", writeFile(t, "num3.csv", "a,b,y\n1,2,2\n")}, code: 1,
			want: []string{`label "2" was not seen in training; the model knows "0", "1"`}}.check(t)
	})
}
