package optim_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/gotrain/gotrain/optim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Expected sequences are PyTorch's documented rules for 20 steps (base lr 0.1 unless said
// otherwise), written out as literal tables: worked by hand for the piecewise schedules and the
// plateau cases, and evaluated once from the documented closed form for cosine annealing.

func seq(s optim.Schedule, base float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = s.LR(base, i)
	}
	return out
}

func assertSeq(t *testing.T, want, got []float64) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		assert.InDelta(t, want[i], got[i], 1e-12*math.Max(1, math.Abs(want[i])), "step %d: got %v want %v", i, got[i], want[i])
	}
}

func rep(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func cat(parts ...[]float64) []float64 {
	var out []float64
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestClosedFormSchedulesFollowPyTorch(t *testing.T) {
	cases := []struct {
		name string
		s    optim.Schedule
		want []float64
	}{
		{"constant keeps the base", optim.Constant{}, rep(0.1, 20)},
		{"StepLR(step_size=6, gamma=0.5) halves every 6 steps", optim.Step{Size: 6, Gamma: 0.5},
			cat(rep(0.1, 6), rep(0.05, 6), rep(0.025, 6), rep(0.0125, 2))},
		{"MultiStepLR(milestones=[3,8,15], gamma=0.1)", optim.MultiStep{Milestones: []int{3, 8, 15}, Gamma: 0.1},
			cat(rep(0.1, 3), rep(0.01, 5), rep(0.001, 7), rep(0.0001, 5))},
		{"ExponentialLR(gamma=0.9)", optim.Exponential{Gamma: 0.9}, func() []float64 {
			out := make([]float64, 20)
			lr := 0.1
			for i := range out {
				out[i] = lr
				lr *= 0.9
			}
			return out
		}()},
		{"CosineAnnealingLR(T_max=10, eta_min=0.001) falls to eta_min and climbs back", optim.Cosine{TMax: 10, EtaMin: 0.001}, []float64{
			0.1, 0.09757729755661011, 0.0905463412215599, 0.07959536998847742, 0.0657963412215599,
			0.0505, 0.03520365877844011, 0.021404630011522586, 0.010453658778440109, 0.0034227024433899004,
			0.001, 0.003422702443389889, 0.010453658778440095, 0.021404630011522575, 0.035203658778440096,
			0.05049999999999999, 0.06579634122155989, 0.07959536998847741, 0.0905463412215599, 0.09757729755661011}},
		{"LinearLR(start=0.25, end=1, total_iters=4) warms up then holds", optim.Linear{Start: 0.25, End: 1, Iters: 4},
			cat([]float64{0.025, 0.04375, 0.0625, 0.08125}, rep(0.1, 16))},
		{"SequentialLR(LinearLR(0.5,1,2), StepLR(5,0.1), milestones=[2])",
			optim.Sequential{Schedules: []optim.Schedule{optim.Linear{Start: 0.5, End: 1, Iters: 2}, optim.Step{Size: 5, Gamma: 0.1}}, Milestones: []int{2}},
			cat([]float64{0.05, 0.075}, rep(0.1, 5), rep(0.01, 5), rep(0.001, 5), rep(0.0001, 3))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, optim.ValidateSchedule(c.s))
			assertSeq(t, c.want, seq(c.s, 0.1, 20))
		})
	}
}

func TestOneCycleFollowsPyTorch(t *testing.T) {
	// OneCycleLR(max_lr=1, total_steps=20, pct_start=0.25, div_factor=10, final_div_factor=100):
	// up from 0.1 to 1 over steps 0..4 (end_step 4), then down to 0.001 at step 19.
	s := optim.OneCycle{MaxLR: 1, TotalSteps: 20, PctStart: 0.25, DivFactor: 10, FinalDivFactor: 100}
	require.NoError(t, optim.ValidateSchedule(s))
	got := seq(s, 123, 20) // the base is ignored
	want := make([]float64, 20)
	for i := 0; i <= 4; i++ {
		want[i] = 1 + (0.1-1)/2*(math.Cos(math.Pi*float64(i)/4)+1)
	}
	for i := 5; i < 20; i++ {
		want[i] = 0.001 + (1-0.001)/2*(math.Cos(math.Pi*float64(i-4)/15)+1)
	}
	assertSeq(t, want, got)
	assert.InDelta(t, 0.1, got[0], 1e-15)
	assert.InDelta(t, 1, got[4], 1e-15)
	assert.InDelta(t, 0.001, got[19], 1e-15)
}

func TestPlateauFollowsPyTorch(t *testing.T) {
	cases := []struct {
		name    string
		p       *optim.Plateau
		metrics []float64
		want    []float64
	}{
		{
			// patience 2: the 3rd bad epoch in a row reduces; the 1.0 → 0.99991 step is within
			// the 1e-4 relative threshold and counts as bad.
			name:    "min mode with a near-tie at the threshold",
			p:       &optim.Plateau{Mode: "min", Factor: 0.5, Patience: 2, Threshold: 1e-4, ThresholdMode: "rel", Eps: 1e-8},
			metrics: []float64{1.0, 0.99991, 1.2, 1.1, 0.5, 0.6, 0.6, 0.6, 0.49994, 0.4},
			want:    []float64{1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25},
		},
		{
			// cooldown 2: after a reduction the next two epochs cannot count as bad.
			name:    "cooldown holds off the next reduction",
			p:       &optim.Plateau{Mode: "min", Factor: 0.1, Patience: 0, Threshold: 0, ThresholdMode: "abs", Cooldown: 2, Eps: 1e-8},
			metrics: []float64{5, 5, 5, 5, 5, 5, 5, 5},
			want:    []float64{1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001},
		},
		{
			// min_lr 0.3 floors the rate; a reduction smaller than eps is skipped.
			name:    "min_lr floors the rate",
			p:       &optim.Plateau{Mode: "min", Factor: 0.5, Patience: 0, Threshold: 0, ThresholdMode: "rel", MinLR: 0.3, Eps: 1e-8},
			metrics: []float64{3, 3, 3, 3},
			want:    []float64{1, 0.5, 0.3, 0.3},
		},
		{
			name:    "max mode with an absolute threshold",
			p:       &optim.Plateau{Mode: "max", Factor: 0.5, Patience: 1, Threshold: 0.05, ThresholdMode: "abs", Eps: 1e-8},
			metrics: []float64{0.5, 0.54, 0.56, 0.58, 0.6, 0.7},
			want:    []float64{1, 1, 1, 1, 0.5, 0.5},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, c.p.Validate())
			lr := 1.0
			var got []float64
			for _, m := range c.metrics {
				lr = c.p.Step(m, lr)
				got = append(got, lr)
			}
			assertSeq(t, c.want, got)
		})
	}
}

func TestPlateauStateRoundTrips(t *testing.T) {
	a := &optim.Plateau{Mode: "min", Factor: 0.5, Patience: 1, Threshold: 0, ThresholdMode: "abs", Cooldown: 1, Eps: 1e-8}
	metrics := []float64{3, 2, 2, 2, 1, 1, 1, 1}
	lrA := 1.0
	for _, m := range metrics[:4] {
		lrA = a.Step(m, lrA)
	}
	b := &optim.Plateau{Mode: "min", Factor: 0.5, Patience: 1, Threshold: 0, ThresholdMode: "abs", Cooldown: 1, Eps: 1e-8}
	b.Restore(a.Snapshot())
	lrB := lrA
	for _, m := range metrics[4:] {
		lrA = a.Step(m, lrA)
		lrB = b.Step(m, lrB)
		assert.Equal(t, lrA, lrB)
	}
}

func TestParseSchedule(t *testing.T) {
	cases := []struct {
		spec string
		want string
	}{
		{"constant", "constant"},
		{"step:size=3,gamma=0.5", "step(size=3, gamma=0.5)"},
		{"multistep:milestones=3;8,gamma=0.2", "multistep(milestones=[3 8], gamma=0.2)"},
		{"cosine", "cosine(tmax=50, eta_min=0)"},
		{"warmup-cosine:warmup=5", "sequential(linear(start=0.01, end=1, iters=5), cosine(tmax=45, eta_min=0); milestones=[5])"},
		{"onecycle:max_lr=0.1", "onecycle(max_lr=0.1, total=50, pct_start=0.3)"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%q parses", c.spec), func(t *testing.T) {
			s, err := optim.ParseSchedule(c.spec, 50)
			require.NoError(t, err)
			assert.Equal(t, c.want, s.String())
		})
	}
	bad := []struct{ spec, want string }{
		{"sawtooth", "unknown schedule"},
		{"step:size=0", "step_size 0"},
		{"step:gamma=x", `gamma="x"`},
		{"step:sizee=3", `unknown option "sizee"`},
		{"multistep:milestones=8;3", "increasing"},
		{"onecycle", "max_lr 0"},
		{"cosine:tmax=-1", "t_max -1"},
		{"step:size=2.5", "size=2.5: want an integer"},
		{"cosine:tmax=1e30", "tmax=1e+30: out of range"},
		{"multistep:milestones=2;4.5", "m1=4.5: want an integer"},
		{"cosine:eta_min=Inf", `eta_min="Inf" is not finite`},
		{"exponential:gamma=NaN", `gamma="NaN" is not finite`},
		{"step:gamma=1e999", `gamma="1e999" is out of range`},
		{"step:size=2,size=3", "size is given twice"},
	}
	for _, c := range bad {
		t.Run(fmt.Sprintf("%q is rejected", c.spec), func(t *testing.T) {
			_, err := optim.ParseSchedule(c.spec, 50)
			require.ErrorIs(t, err, optim.ErrInvalid)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	p, err := optim.ParsePlateau("plateau:factor=0.5,patience=3,max=1")
	require.NoError(t, err)
	assert.Equal(t, "max", p.Mode)
	assert.Equal(t, 3, p.Patience)
	for _, spec := range []string{"plateau:factor=2", "plateau:patience=1.5", "plateau:min_lr=inf", "plateau:max=2", "plateau:cooldown=1e30"} {
		_, err = optim.ParsePlateau(spec)
		require.ErrorIs(t, err, optim.ErrInvalid, spec)
	}
	assert.ErrorIs(t, (&optim.Plateau{Mode: "min", ThresholdMode: "rel", Factor: 0.5, MinLR: math.Inf(1)}).Validate(), optim.ErrInvalid)
	assert.ErrorIs(t, optim.ValidateSchedule(optim.Cosine{TMax: 5, EtaMin: math.Inf(1)}), optim.ErrInvalid)
}

// TestParseRatesChainsAWarmUpAndAPlateauRule checks the SCHEDULE+plateau grammar: what it
// builds, and what it refuses with a reason.
func TestParseRatesChainsAWarmUpAndAPlateauRule(t *testing.T) {
	s, p, err := optim.ParseRates("warmup:start=0.1,iters=4+plateau:factor=0.5,patience=0", 100)
	require.NoError(t, err)
	assert.Equal(t, optim.Linear{Start: 0.1, End: 1, Iters: 4}, s)
	require.NotNil(t, p)
	assert.Equal(t, 0.5, p.Factor)
	assert.Equal(t, 0, p.Patience)

	s, p, err = optim.ParseRates("plateau:patience=3", 100)
	require.NoError(t, err)
	assert.Nil(t, s)
	assert.Equal(t, 3, p.Patience)

	s, p, err = optim.ParseRates("cosine", 100)
	require.NoError(t, err)
	assert.Nil(t, p)
	assert.Equal(t, optim.Cosine{TMax: 100}, s)

	for spec, why := range map[string]string{
		"plateau+plateau":              "nothing can follow it",
		"step:size=2+plateau":          "no end",
		"warmup:iters=3+plateau:bad=1": "unknown option",
		"warmup:iters=x+plateau":       "not a number",
	} {
		_, _, err := optim.ParseRates(spec, 100)
		require.ErrorIs(t, err, optim.ErrInvalid, spec)
		assert.Contains(t, err.Error(), why, spec)
	}
}

// TestAWarmUpHandsOverToThePlateauRule runs a Scheduler with a 3-batch linear warm-up then a
// plateau rule: the rates rise per batch, stay where the warm-up ended, and are halved by the
// plateau rule from the first epoch that ends after the warm-up, for every group from its own
// base.
func TestAWarmUpHandsOverToThePlateauRule(t *testing.T) {
	p := optim.NewPlateau()
	p.Patience, p.Factor = 0, 0.5
	s, err := optim.NewScheduler([]float64{0.4, 0.2}, optim.Linear{Start: 0.25, End: 1, Iters: 3}, optim.PerBatch, p)
	require.NoError(t, err)
	var got [][]float64
	step := func() { got = append(got, append([]float64(nil), s.Rates()...)); s.Batch() }
	step()
	step()
	s.Epoch(1) // epoch 1 ends inside the warm-up: the plateau rule does not look at it
	step()
	step() // the warm-up is done: the rates stay at the bases
	s.Epoch(1)
	step()
	s.Epoch(1) // no improvement with patience 0: halve
	step()
	want := [][]float64{{0.1, 0.05}, {0.2, 0.1}, {0.3, 0.15}, {0.4, 0.2}, {0.4, 0.2}, {0.2, 0.1}}
	require.Len(t, got, len(want))
	for i := range want {
		assert.InDeltaSlice(t, want[i], got[i], 1e-15, "step %d", i+1)
	}

	// A snapshot taken in the plateau phase restores it exactly.
	st := s.Snapshot()
	q := optim.NewPlateau()
	q.Patience, q.Factor = 0, 0.5
	r, err := optim.NewScheduler([]float64{0.4, 0.2}, optim.Linear{Start: 0.25, End: 1, Iters: 3}, optim.PerBatch, q)
	require.NoError(t, err)
	require.NoError(t, r.Restore(st))
	assert.Equal(t, s.Rates(), r.Rates())
	s.Epoch(1)
	r.Epoch(1)
	assert.Equal(t, []float64{0.1, 0.05}, r.Rates())
	assert.Equal(t, s.Rates(), r.Rates())
}
