package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// diagRun is a short run with diagnostics every 20 steps: 784-16:sigmoid-16:relu-10 on the
// built-in data, 157 steps per epoch.
func diagRun(t *testing.T, dir string, extra ...string) string {
	t.Helper()
	args := append([]string{"train", "-run-dir", dir, "-model", "784-16:sigmoid-16:relu-10", "-epochs", "1", "-batch", "64",
		"-progress", "lines", "-diagnostics-every", "20"}, extra...)
	code, out, errS := runCLI(t, context.Background(), args...)
	require.Equal(t, 0, code, errS)
	return out
}

func diagSteps(t *testing.T, dir string) []int {
	t.Helper()
	recs, bad, err := readDiagnostics(dir)
	require.NoError(t, err)
	require.Zero(t, bad)
	var steps []int
	for _, d := range recs {
		steps = append(steps, d.Step)
	}
	return steps
}

func TestTrainWithDiagnosticsWritesThemAndSaysWhatTheyShow(t *testing.T) {
	dir := t.TempDir()
	out := diagRun(t, dir)
	want := []int{1}
	for s := 20; s <= 157; s += 20 {
		want = append(want, s)
	}
	assert.Equal(t, want, diagSteps(t, dir), "step 1 and every 20th")
	line, err := os.ReadFile(filepath.Join(dir, diagFile))
	require.NoError(t, err)
	var first map[string]any
	require.NoError(t, json.Unmarshal(line[:bytes.IndexByte(line, '\n')], &first))
	assert.Contains(t, first, "params")
	assert.Contains(t, first, "layers")

	// The findings come after the summary, with their measurements.
	i, j := strings.Index(out, "summary:"), strings.Index(out, "diagnostics: 8 records, steps 1 to 140")
	require.True(t, i >= 0 && j > i, "the report follows the summary:\n%s", out)
	for _, s := range []string{"measured:", "gradient norm of w1 / w3:", "dead units: at most", "saturation: at most", "update ratio ||Δw||/||w||"} {
		assert.Contains(t, out, s)
	}
	for _, c := range diagCharts {
		b, err := os.ReadFile(filepath.Join(dir, c))
		require.NoError(t, err, c)
		_, err = png.Decode(bytes.NewReader(b))
		assert.NoError(t, err, c)
	}
	var opts map[string]any
	b, err := os.ReadFile(filepath.Join(dir, optionsFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &opts))
	assert.EqualValues(t, 20, opts["diagnostics-every"], "recorded, for -resume")
}

func TestTrainWithoutDiagnosticsWritesNone(t *testing.T) {
	dir := t.TempDir()
	code, out, errS := runCLI(t, context.Background(), append([]string{"train", "-run-dir", dir}, small...)...)
	require.Equal(t, 0, code, errS)
	assert.NotContains(t, out, "diagnostics:")
	_, err := os.Stat(filepath.Join(dir, diagFile))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestAResumedRunsDiagnosticsAreCutToTheCheckpointAndChartedWhole(t *testing.T) {
	dir := t.TempDir()
	diagRun(t, dir) // one epoch: the checkpoint is at step 157
	f, err := os.OpenFile(filepath.Join(dir, diagFile), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"epoch":2,"step":160,"batch":64,"params":[],"layers":[]}` + "\n" + `{"epoch":2,"step":18`) // written after it, then torn
	require.NoError(t, err)
	require.NoError(t, f.Close())

	code, out, errS := runCLI(t, context.Background(), "train", "-resume", dir, "-epochs", "2")
	require.Equal(t, 0, code, errS)
	assert.Contains(t, out, "dropped 2 line(s) of diagnostics.jsonl written after the checkpoint")
	want := []int{1}
	for s := 20; s <= 314; s += 20 {
		want = append(want, s)
	}
	assert.Equal(t, want, diagSteps(t, dir), "each diagnostic step once, across the resume")
	assert.Contains(t, out, "diagnostics: 16 records, steps 1 to 300", "the report covers the whole run")
}

func TestDiagnoseReadsARunAndDrawsItsChartsInEveryFormat(t *testing.T) {
	dir := t.TempDir()
	diagRun(t, dir, "-chart=false")
	for _, c := range diagCharts {
		_, err := os.Stat(filepath.Join(dir, c))
		require.ErrorIs(t, err, os.ErrNotExist, "-chart=false draws none")
	}
	for _, format := range []string{"png", "svg", "pdf"} {
		t.Run(format, func(t *testing.T) {
			out := t.TempDir()
			code, stdout, errS := runCLI(t, context.Background(), "diagnose", "-out", out, dir, "-chart-format", format)
			require.Equal(t, 0, code, errS)
			assert.Contains(t, stdout, "diagnostics: 8 records, steps 1 to 140")
			assert.Contains(t, stdout, "measured:")
			for _, c := range diagCharts {
				b, err := os.ReadFile(filepath.Join(out, strings.TrimSuffix(c, ".png")+"."+format))
				require.NoError(t, err, c)
				switch format {
				case "png":
					_, err = png.Decode(bytes.NewReader(b))
					assert.NoError(t, err)
				case "svg":
					assert.Contains(t, string(b[:min(len(b), 400)]), "<svg")
				case "pdf":
					assert.True(t, bytes.HasPrefix(b, []byte("%PDF-")))
				}
			}
			assert.Contains(t, stdout, "charts: "+filepath.Join(out, "diagnostics-grads."+format))
		})
	}
}

func TestDiagnoseRefusesWhatItCannotRead(t *testing.T) {
	empty := t.TempDir()
	garbage := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(garbage, diagFile), []byte("not json\n{\"step\":0}\n"), 0o644))
	cases := []cliCase{
		{name: "no run directory", args: []string{"diagnose"}, code: 2, want: []string{"no run directory: want gotrain diagnose RUN_DIR"}},
		{name: "two run directories", args: []string{"diagnose", empty, garbage}, code: 2, want: []string{"2 run directories"}},
		{name: "a chart format it cannot write", args: []string{"diagnose", "-chart-format", "gif", empty}, code: 2, want: []string{`-chart-format "gif": want png, svg or pdf`}},
		{name: "a directory that is not there", args: []string{"diagnose", filepath.Join(empty, "missing")}, code: 1, want: []string{"missing: no such directory"}},
		{name: "a run without diagnostics", args: []string{"diagnose", empty}, code: 1, want: []string{diagFile + ": no such file; train with -diagnostics-every N"}},
		{name: "a file without one good line", args: []string{"diagnose", garbage}, code: 1, want: []string{"no diagnostics recorded"}},
		{name: "a negative interval", args: []string{"train", "-diagnostics-every", "-1"}, code: 1, want: []string{"-diagnostics-every -1: want >= 0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t) })
	}
}

func TestCuttingTheDiagnosticsKeepsWhatTheCheckpointCovers(t *testing.T) {
	dir := t.TempDir()
	line := func(step int) string {
		b, err := json.Marshal(train.Diagnostics{Step: step})
		require.NoError(t, err)
		return string(b) + "\n"
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, diagFile), []byte(line(1)+line(10)+line(20)+line(30)), 0o644))
	dropped, err := cutRunLog(dir, 20, 1)
	require.NoError(t, err)
	assert.Equal(t, []string{"1 line(s) of " + diagFile}, dropped)
	b, err := os.ReadFile(filepath.Join(dir, diagFile))
	require.NoError(t, err)
	assert.Equal(t, line(1)+line(10)+line(20), string(b))
}
