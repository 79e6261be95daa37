package train_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"testing"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The diagnostics' values are checked against a host reference in backendtest.TestDiagnostics
// (run by backend/cpu's and, in the GPU build, backend/cuda's conformance tests); these tests
// check how the trainer takes them.

// TestDiagnosticsDoNotChangeTheTrajectory runs every golden configuration with diagnostics on
// every other step: each step's loss, rate, gradient norm and count and the final state must be
// bit for bit those of the run without, and (on the AVX2/FMA path the file was recorded on) those
// pinned in testdata.
func TestDiagnosticsDoNotChangeTheTrajectory(t *testing.T) {
	var want map[string]goldenResult
	raw, err := os.ReadFile(goldenFile)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &want))
	data, test := blobs(t, 203, 8, 3, 31), blobs(t, 60, 8, 3, 32)
	run := func(c goldenCase, every int) (steps, final string, records int) {
		var h hasher
		cfg := c.config(nil)
		cfg.Device = newDevice(t)
		cfg.OnStep = func(m train.StepMetrics) error {
			h.int(m.Step)
			h.f64(m.Loss)
			h.f64(m.LR)
			h.f64(m.GradNorm)
			h.int(m.Correct)
			return nil
		}
		if every > 0 {
			cfg.Diagnostics = every
			cfg.OnDiagnostics = func(train.Diagnostics) error { records++; return nil }
		}
		tr, err := train.New(cfg)
		require.NoError(t, err)
		defer tr.Close()
		_, err = tr.Fit(data, test)
		require.NoError(t, err)
		st, err := tr.Snapshot()
		require.NoError(t, err)
		return h.sum(), hashState(st), records
	}
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			steps, final, n := run(c, 2)
			require.Equal(t, 1+39/2, n, "39 steps: step 1 and every even one")
			s0, f0, _ := run(c, 0)
			assert.Equal(t, s0, steps, "the steps")
			assert.Equal(t, f0, final, "the final state")
			if cpufeat.FMA {
				assert.Equal(t, want[c.name].Steps, steps, "the recorded steps")
				assert.Equal(t, want[c.name].Final, final, "the recorded final state")
			}
		})
	}
}

func diagTrainer(t *testing.T, every int, on func(train.Diagnostics) error) *train.Trainer {
	s, err := models.ParseSpec("32-24:sigmoid-16:tanh-16:relu-10", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	tr, err := train.New(train.Config{Model: s, Device: newDevice(t), Optimizer: optim.MustNamed("adam", 1e-3), BatchSize: 64, Epochs: 2, Seed: 1,
		Diagnostics: every, OnDiagnostics: on})
	require.NoError(t, err)
	t.Cleanup(tr.Close)
	return tr
}

func TestStepsWithoutDiagnosticsStillAllocateNothing(t *testing.T) {
	calls := 0
	tr := diagTrainer(t, 1000, func(train.Diagnostics) error { calls++; return nil })
	data := blobs(t, 256, 32, 10, 6)
	idx := make([]int, 64)
	for i := range idx {
		idx[i] = i
	}
	_, _, err := tr.TrainStep(data, idx) // step 1: compiles the plan and takes diagnostics
	require.NoError(t, err)
	require.Equal(t, 1, calls)
	allocs := testing.AllocsPerRun(20, func() {
		if _, _, err := tr.TrainStep(data, idx); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
	assert.Equal(t, 1, calls, "steps 2 to 22 take none")
}

func TestDiagnosticsComeOnTheFirstStepAndEveryNth(t *testing.T) {
	var got []train.Diagnostics
	tr := diagTrainer(t, 4, func(d train.Diagnostics) error { got = append(got, d); return nil })
	_, err := tr.Fit(blobs(t, 400, 32, 10, 7), nil) // 7 batches of 64 (the last of 16) per epoch, 14 steps
	require.NoError(t, err)
	var steps, epochs, batches []int
	for _, d := range got {
		steps, epochs, batches = append(steps, d.Step), append(epochs, d.Epoch), append(batches, d.Batch)
	}
	assert.Equal(t, []int{1, 4, 8, 12}, steps)
	assert.Equal(t, []int{1, 1, 2, 2}, epochs)
	assert.Equal(t, []int{64, 64, 64, 64}, batches)
	d := got[0]
	var names []string
	for _, p := range d.Params {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"w1", "b1", "w2", "b2", "w3", "b3", "w4", "b4"}, names)
	require.Len(t, d.Layers, 3, "three hidden activations; the logits are not one")
	for i, want := range []kernels.Activation{kernels.Sigmoid, kernels.Tanh, kernels.ReLU} {
		assert.Equal(t, want, d.Layers[i].Act)
	}
	assert.True(t, math.IsNaN(d.Params[1].UpdateRatio), "a zero bias has no update ratio")
	assert.False(t, math.IsNaN(got[1].Params[1].UpdateRatio), "it has one once it has moved")
}

func TestAnErrorFromOnDiagnosticsStopsFitAfterAWholeStep(t *testing.T) {
	boom := errors.New("boom")
	tr := diagTrainer(t, 3, func(d train.Diagnostics) error {
		if d.Step == 3 {
			return boom
		}
		return nil
	})
	_, err := tr.Fit(blobs(t, 400, 32, 10, 7), nil)
	require.ErrorIs(t, err, boom)
	assert.Equal(t, 3, tr.Step(), "the step that measured was applied and counted")
}

func TestBadDiagnosticsSettingsAreRefused(t *testing.T) {
	s, err := models.ParseSpec("4-3-2", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	base := train.Config{Model: s, Device: newDevice(t), Optimizer: optim.MustNamed("sgd", 0.1), BatchSize: 2}
	c := base
	c.Diagnostics = -1
	_, err = train.New(c)
	require.ErrorIs(t, err, train.ErrInvalid)
	assert.Contains(t, err.Error(), "diagnostics every -1 steps")
	c = base
	c.OnDiagnostics = func(train.Diagnostics) error { return nil }
	_, err = train.New(c)
	require.ErrorIs(t, err, train.ErrInvalid)
	assert.Contains(t, err.Error(), "Diagnostics is 0")
}

func TestTheRangeTestTakesNoDiagnostics(t *testing.T) {
	calls := 0
	tr := diagTrainer(t, 1, func(train.Diagnostics) error { calls++; return nil })
	_, err := tr.FindLR(blobs(t, 256, 32, 10, 6), optim.RangeTest{Start: 1e-5, End: 1, Steps: 10})
	require.NoError(t, err)
	assert.Zero(t, calls)
}

func TestDiagnosticsRoundTripThroughJSON(t *testing.T) {
	var got []train.Diagnostics
	tr := diagTrainer(t, 1, func(d train.Diagnostics) error { got = append(got, d); return nil })
	_, err := tr.Fit(blobs(t, 64, 32, 10, 7), nil)
	require.NoError(t, err)
	d := got[0]
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as the CLI writes it
	require.NoError(t, enc.Encode(d))
	b := bytes.TrimSpace(buf.Bytes())
	s := string(b)
	for _, want := range []string{`"step":1`, `"name":"w1","kind":"weight","shape":"32x24"`, `"act":"sigmoid"`, `"saturated_rule":"y < 0.01 or y > 0.99"`,
		`"saturated_rule":"|y| > 0.99"`, `"dead_rule":"y = 0 for every example of the batch"`} {
		assert.Contains(t, s, want)
	}
	assert.NotContains(t, s, `"update_ratio":null`, "a missing ratio is left out")
	var back train.Diagnostics
	require.NoError(t, json.Unmarshal(b, &back))
	// NaN != NaN: compare through JSON again.
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	assert.JSONEq(t, s, string(b2))
	assert.True(t, math.IsNaN(back.Params[1].UpdateRatio))
	assert.True(t, math.IsNaN(back.Layers[0].Dead))
	assert.Equal(t, d.Layers[2].Dead, back.Layers[2].Dead)

	for _, bad := range []string{`{"step":0}`, `{"step":1,"params":[{"name":"w","shape":"3x-1"}]}`, `{"step":1,"layers":[{"name":"h1","act":"nope"}]}`, `{"step":"x"}`} {
		assert.Error(t, json.Unmarshal([]byte(bad), &back), bad)
	}
}
