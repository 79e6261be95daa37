package optim_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/optim"
)

// The optimizers run on the CPU device and are compared with reference trajectories written
// here as plain float64 loops from the algorithms in PyTorch's torch.optim documentation (not
// from package kernels), plus a few trajectories worked out by hand.

// openCPU opens a CPU device closed when the test ends.
func openCPU(t *testing.T) backend.Device {
	t.Helper()
	dev, err := cpu.New(0)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, dev.Close()) })
	return dev
}

// upload allocates one device buffer of dt per host slice and writes it.
func upload(t *testing.T, dev backend.Device, dt backend.DType, host [][]float64) []backend.Buffer {
	t.Helper()
	out := make([]backend.Buffer, len(host))
	for i, h := range host {
		b, err := dev.Alloc(dt, len(h))
		require.NoError(t, err)
		writeHost(t, dev, b, h)
		out[i] = b
	}
	return out
}

func writeHost(t *testing.T, dev backend.Device, b backend.Buffer, h []float64) {
	t.Helper()
	if b.DType() == backend.Float64 {
		require.NoError(t, dev.Write(b, h))
		return
	}
	f := make([]float32, len(h))
	for i, v := range h {
		f[i] = float32(v)
	}
	require.NoError(t, dev.Write(b, f))
}

// download reads every buffer back as float64 (exactly, for float32 buffers).
func download(t *testing.T, dev backend.Device, bufs []backend.Buffer) [][]float64 {
	t.Helper()
	out := make([][]float64, len(bufs))
	for i, b := range bufs {
		out[i] = make([]float64, b.Len())
		if b.DType() == backend.Float64 {
			require.NoError(t, dev.Read(out[i], b))
			continue
		}
		f := make([]float32, b.Len())
		require.NoError(t, dev.Read(f, b))
		for j, v := range f {
			out[i][j] = float64(v)
		}
	}
	return out
}

func clone2(x [][]float64) [][]float64 {
	out := make([][]float64, len(x))
	for i := range x {
		out[i] = append([]float64(nil), x[i]...)
	}
	return out
}

// assertClose compares two parameter lists element by element with |got-want| <= tol·(1+|want|)
// and reports the first bad element.
func assertClose(t *testing.T, what string, want, got [][]float64, tol float64) bool {
	t.Helper()
	require.Len(t, got, len(want), what)
	for i := range want {
		require.Len(t, got[i], len(want[i]), "%s: tensor %d", what, i)
		for j, w := range want[i] {
			if !(math.Abs(got[i][j]-w) <= tol*(1+math.Abs(w))) {
				return assert.Fail(t, what, "tensor %d element %d: got %v, want %v", i, j, got[i][j], w)
			}
		}
	}
	return true
}

// stepScalar runs an optimizer on a one-element float64 parameter with the given gradients and
// returns the parameter after each step.
func stepScalar(t *testing.T, o optim.Options, p0 float64, grads []float64) []float64 {
	t.Helper()
	dev := openCPU(t)
	p := upload(t, dev, backend.Float64, [][]float64{{p0}})
	opt, err := optim.New(o)
	require.NoError(t, err)
	require.NoError(t, opt.Attach(dev, p))
	defer opt.Close()
	var out []float64
	for _, g := range grads {
		require.NoError(t, opt.Step(upload(t, dev, backend.Float64, [][]float64{{g}})))
		out = append(out, download(t, dev, p)[0][0])
	}
	return out
}

// TestOptimizersMatchHandComputedSteps checks three steps on one parameter p0 = 1 with gradients
// 1, 0.5, -1 against values worked out by hand, so the suite does not only compare a formula with
// a formula.
func TestOptimizersMatchHandComputedSteps(t *testing.T) {
	grads := []float64{1, 0.5, -1}
	cases := []struct {
		name string
		o    optim.Options
		want []float64
		tol  float64
	}{
		// b1 = 1, p = 1 - 0.1·1 = 0.9; b2 = 0.9·1 + 0.5 = 1.4, p = 0.9 - 0.14 = 0.76;
		// b3 = 0.9·1.4 - 1 = 0.26, p = 0.76 - 0.026 = 0.734.
		{"sgd with momentum 0.9, lr 0.1", options(t, "momentum", 0.1, nil), []float64{0.9, 0.76, 0.734}, 1e-14},
		// Same buffers; the step uses g + 0.9·b: 1.9, 0.5 + 1.26 = 1.76, -1 + 0.234 = -0.766.
		{"sgd with nesterov 0.9, lr 0.1", options(t, "nesterov", 0.1, nil), []float64{0.81, 0.634, 0.7106}, 1e-14},
		// Dampening 0.5 does not apply to the first buffer: b = 1, 0.9 + 0.25 = 1.15,
		// 1.035 - 0.5 = 0.535.
		{"sgd with momentum 0.9, dampening 0.5, lr 0.1", options(t, "momentum", 0.1, func(o *optim.Options) { o.Dampening = 0.5 }),
			[]float64{0.9, 0.785, 0.7315}, 1e-14},
		// t=1: m = 0.1, v = 0.001, m̂ = v̂ = 1, p = 1 - 0.1/(1+1e-8) = 0.900000001.
		// t=2: m = 0.14, v = 0.001249, m̂ = 0.14/0.19 = 0.7368421053, v̂ = 0.001249/0.001999 =
		//      0.6248124062, p = 0.900000001 - 0.07368421053/0.7904507614 = 0.8067820383.
		// t=3: m = 0.026, v = 0.002247751, m̂ = 0.026/0.271 = 0.09594095941, v̂ = 0.002247751/
		//      0.002997001 = 0.7500000834, p = 0.8067820383 - 0.009594095941/0.8660254519 = 0.7957037313.
		{"adam with lr 0.1", options(t, "adam", 0.1, nil), []float64{0.900000001, 0.8067820383, 0.7957037313}, 1e-10},
		// AdamW first multiplies p by 1 - 0.1·0.1 = 0.99, then takes the Adam step above:
		// 0.99 - 0.099999999 = 0.890000001; 0.8811000010 - 0.0932179626 = 0.7878820383;
		// 0.7800032180 - 0.0110783071 = 0.7689249109.
		{"adamw with lr 0.1, weight decay 0.1", options(t, "adamw", 0.1, func(o *optim.Options) { o.WeightDecay = 0.1 }),
			[]float64{0.890000001, 0.7878820383, 0.7689249109}, 1e-10},
		// s = 1, 1.25, 2.25 (from 0); p = 1 - 0.1·1/1 = 0.9; 0.9 - 0.05/√1.25 = 0.8552786405;
		// 0.8552786405 + 0.1/1.5 = 0.9219453072.
		{"adagrad with lr 0.1", options(t, "adagrad", 0.1, nil), []float64{0.9, 0.8552786405, 0.9219453072}, 1e-10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := stepScalar(t, c.o, 1, grads)
			for i, w := range c.want {
				assert.InDelta(t, w, got[i], c.tol, "step %d: got %.12f, want %.12f", i+1, got[i], w)
			}
		})
	}
}

// torchDefaults are the defaults torch.optim documents for each optimizer at lr 0.5 (and for the
// momentum/nesterov shorthands); each optimizer's test file adds its own.
var torchDefaults = map[string]optim.Options{}

// TestDefaultsArePyTorchDefaults compares Defaults with the defaults documented for each
// torch.optim optimizer.
func TestDefaultsArePyTorchDefaults(t *testing.T) {
	want := torchDefaults
	require.ElementsMatch(t, optim.Names(), mapKeys(want), "Names() and the optimizers' documented defaults disagree")
	for _, name := range optim.Names() {
		t.Run(name, func(t *testing.T) {
			o, err := optim.Defaults(name, 0.5)
			require.NoError(t, err)
			assert.Equal(t, want[name], o)
			assert.NoError(t, o.Validate(), "the defaults must be valid")
		})
	}
	t.Run("names are case- and space-insensitive", func(t *testing.T) {
		o, err := optim.Defaults(" AdamW ", 0.5)
		require.NoError(t, err)
		assert.Equal(t, want["adamw"], o)
	})
	t.Run("an unknown name is an error", func(t *testing.T) {
		_, err := optim.Defaults("adamix", 0.5)
		require.ErrorIs(t, err, optim.ErrInvalid)
		assert.Contains(t, err.Error(), "adamix")
		_, err = optim.NewNamed("adamix", 0.5)
		require.ErrorIs(t, err, optim.ErrInvalid)
		assert.Panics(t, func() { optim.MustNamed("adamix", 0.5) })
	})
}

func mapKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestNameDescribesTheVariant(t *testing.T) {
	for _, name := range optim.Names() {
		want := name
		switch name {
		case "momentum", "nesterov":
			want = "sgd+" + name
		}
		assert.Equal(t, want, optim.MustNamed(name, 0.1).Name(), name)
	}
}

// TestValidateRejectsBadHyperparameters checks each bad value is rejected, by Validate and by
// New, with an error wrapping ErrInvalid that names the hyperparameter and its value.
func TestValidateRejectsBadHyperparameters(t *testing.T) {
	cases := []struct {
		name string
		o    optim.Options
		want []string // substrings of the error: the name and the value
	}{
		{"a negative lr", options(t, "sgd", -0.1, nil), []string{"lr -0.1"}},
		{"a NaN lr", options(t, "adam", math.NaN(), nil), []string{"lr NaN"}},
		{"an infinite lr", options(t, "adam", math.Inf(1), nil), []string{"lr +Inf"}},
		{"momentum 1.5", options(t, "sgd", 0.1, func(o *optim.Options) { o.Momentum = 1.5 }), []string{"momentum 1.5"}},
		{"negative momentum", options(t, "sgd", 0.1, func(o *optim.Options) { o.Momentum = -0.5 }), []string{"momentum -0.5"}},
		{"dampening 2", options(t, "momentum", 0.1, func(o *optim.Options) { o.Dampening = 2 }), []string{"dampening 2"}},
		{"nesterov without momentum", options(t, "sgd", 0.1, func(o *optim.Options) { o.Nesterov = true }),
			[]string{"nesterov", "momentum 0"}},
		{"nesterov with dampening", options(t, "nesterov", 0.1, func(o *optim.Options) { o.Dampening = 0.25 }),
			[]string{"nesterov", "dampening 0.25"}},
		{"beta1 = 1", options(t, "adam", 0.1, func(o *optim.Options) { o.Beta1 = 1 }), []string{"beta1 1"}},
		{"beta2 < 0", options(t, "adamw", 0.1, func(o *optim.Options) { o.Beta2 = -0.5 }), []string{"beta2 -0.5"}},
		{"nadam beta1 = 1", options(t, "nadam", 0.1, func(o *optim.Options) { o.Beta1 = 1 }), []string{"beta1 1"}},
		{"negative eps", options(t, "adam", 0.1, func(o *optim.Options) { o.Eps = -1e-8 }), []string{"eps -1e-08"}},
		{"zero eps", options(t, "adam", 0.1, func(o *optim.Options) { o.Eps = 0 }), []string{"eps 0", "> 0"}},
		{"zero adagrad eps", options(t, "adagrad", 0.1, func(o *optim.Options) { o.Eps = 0 }), []string{"eps 0"}},
		{"infinite nadam eps", options(t, "nadam", 0.1, func(o *optim.Options) { o.Eps = math.Inf(1) }), []string{"eps +Inf"}},
		{"negative rmsprop eps", options(t, "rmsprop", 0.1, func(o *optim.Options) { o.Eps = -1 }), []string{"eps -1"}},
		{"negative weight decay", options(t, "sgd", 0.1, func(o *optim.Options) { o.WeightDecay = -0.01 }),
			[]string{"weight_decay -0.01"}},
		{"negative adamw weight decay", options(t, "adamw", 0.1, func(o *optim.Options) { o.WeightDecay = -0.01 }),
			[]string{"weight_decay -0.01"}},
		{"rmsprop alpha 1", options(t, "rmsprop", 0.1, func(o *optim.Options) { o.Alpha = 1 }), []string{"alpha 1"}},
		{"rmsprop negative momentum", options(t, "rmsprop", 0.1, func(o *optim.Options) { o.Momentum = -0.1 }),
			[]string{"momentum -0.1"}},
		{"adagrad negative lr_decay", options(t, "adagrad", 0.1, func(o *optim.Options) { o.LRDecay = -0.1 }),
			[]string{"lr_decay -0.1"}},
		{"adagrad negative initial accumulator", options(t, "adagrad", 0.1, func(o *optim.Options) { o.InitialAccumulator = -1 }),
			[]string{"initial_accumulator_value -1"}},
		{"nadam negative momentum_decay", options(t, "nadam", 0.1, func(o *optim.Options) { o.MomentumDecay = -0.004 }),
			[]string{"momentum_decay -0.004"}},
		{"an unknown name", optim.Options{Name: "adamix", LR: 0.1}, []string{"adamix"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.o.Validate()
			require.ErrorIs(t, err, optim.ErrInvalid)
			for _, s := range c.want {
				assert.Contains(t, err.Error(), s)
			}
			_, err = optim.New(c.o)
			assert.ErrorIs(t, err, optim.ErrInvalid, "New must validate")
			_, err = optim.New(options(t, "sgd", 0.1, nil), optim.Group{Params: []int{0}, Options: c.o})
			assert.ErrorIs(t, err, optim.ErrInvalid, "New must validate groups")
		})
	}
}

// TestNoDecayGroupsKeepBiasesUndecayed runs AdamW with biases in a no-decay group and zero
// gradients everywhere: the biases must not move at all, while the weights shrink by the
// decoupled decay alone (Adam's own step is 0 when m = v = 0), as AdamW's reference says.
func TestNoDecayGroupsKeepBiasesUndecayed(t *testing.T) {
	o := options(t, "adamw", 0.1, func(o *optim.Options) { o.WeightDecay = 0.2 })
	shapes := [][]int{{2, 3}, {3}, {3, 1}, {1}}
	groups := optim.NoDecayGroups(o, shapes)
	require.Len(t, groups, 1)
	assert.Equal(t, []int{1, 3}, groups[0].Params)
	assert.Zero(t, groups[0].Options.WeightDecay)
	wantOpts := o
	wantOpts.WeightDecay = 0
	assert.Equal(t, wantOpts, groups[0].Options, "only the weight decay changes")
	assert.Nil(t, optim.NoDecayGroups(o, [][]int{{2, 3}, {4, 4}}), "no one-dimensional parameter, no group")

	dev := openCPU(t)
	host := [][]float64{{0.5, -1, 2, 0.25, -0.75, 1.5}, {0.3, -0.2, 0.1}, {1, 2, -3}, {0.7}}
	params := upload(t, dev, backend.Float64, host)
	opt, err := optim.New(o, groups...)
	require.NoError(t, err)
	require.NoError(t, opt.Attach(dev, params))
	defer opt.Close()
	zeros := upload(t, dev, backend.Float64, [][]float64{make([]float64, 6), make([]float64, 3), make([]float64, 3), make([]float64, 1)})
	const steps = 5
	for range steps {
		require.NoError(t, opt.Step(zeros))
	}
	got := download(t, dev, params)
	assert.Equal(t, host[1], got[1], "bias 1 moved")
	assert.Equal(t, host[3], got[3], "bias 3 moved")
	// The weights follow AdamW's float64 reference (decoupled decay alone, as m = v = 0).
	weights := [][]float64{append([]float64(nil), host[0]...), append([]float64(nil), host[2]...)}
	ref := newTorchRef(t, o, weights)
	for range steps {
		ref.step(o.LR, weights, [][]float64{make([]float64, 6), make([]float64, 3)})
	}
	for k, i := range []int{0, 2} {
		for j, w := range host[i] {
			assert.NotEqual(t, w, got[i][j], "weight %d element %d did not shrink", i, j)
			assert.InDelta(t, weights[k][j], got[i][j], 1e-14, "weight %d element %d", i, j)
		}
	}
}

// TestGroupWithItsOwnLR checks that a group's rate applies to its parameters only, that group
// membership maps gradients correctly, and that a group must use the optimizer's rule.
func TestGroupWithItsOwnLR(t *testing.T) {
	o := options(t, "sgd", 0.1, nil)
	slow := o
	slow.LR = 0.01
	dev := openCPU(t)
	params := upload(t, dev, backend.Float64, [][]float64{{1, 1}, {1}, {1, 1, 1}})
	opt, err := optim.New(o, optim.Group{Params: []int{2, 0}, Options: slow})
	require.NoError(t, err)
	require.NoError(t, opt.Attach(dev, params))
	defer opt.Close()
	require.NoError(t, opt.Step(upload(t, dev, backend.Float64, [][]float64{{1, 2}, {3}, {4, 5, 6}})))
	want := [][]float64{{1 - 0.01, 1 - 0.02}, {1 - 0.3}, {1 - 0.04, 1 - 0.05, 1 - 0.06}}
	assertClose(t, "params after one step", want, download(t, dev, params), 1e-15)

	t.Run("a group of another rule is rejected", func(t *testing.T) {
		_, err := optim.New(o, optim.Group{Params: []int{0}, Options: options(t, "adam", 0.1, nil)})
		assert.ErrorIs(t, err, optim.ErrInvalid)
	})
	t.Run("an adamw group in an adam optimizer is rejected", func(t *testing.T) {
		_, err := optim.New(options(t, "adam", 0.1, nil), optim.Group{Params: []int{0}, Options: options(t, "adamw", 0.1, nil)})
		assert.ErrorIs(t, err, optim.ErrInvalid, "the group's weight decay would silently become L2")
	})
	t.Run("a group naming a missing parameter fails at Attach", func(t *testing.T) {
		opt, err := optim.New(o, optim.Group{Params: []int{3}, Options: slow})
		require.NoError(t, err)
		assert.ErrorIs(t, opt.Attach(dev, params), optim.ErrInvalid)
	})
}

// TestStepAtTakesARatePerGroup checks that StepAt gives each group its own rate (the default
// group's last), that Step uses the groups' base rates, and that a wrong number of rates is an
// error that changes nothing.
func TestStepAtTakesARatePerGroup(t *testing.T) {
	o := options(t, "sgd", 0.1, nil)
	fast := o
	fast.LR = 0.4
	dev := openCPU(t)
	params := upload(t, dev, backend.Float64, [][]float64{{1}, {1}})
	opt, err := optim.New(o, optim.Group{Params: []int{1}, Options: fast})
	require.NoError(t, err)
	require.NoError(t, opt.Attach(dev, params))
	defer opt.Close()
	assert.Equal(t, []float64{0.4, 0.1}, opt.BaseRates(), "the groups' rates, the default group last")
	ones := upload(t, dev, backend.Float64, [][]float64{{1}, {1}})

	require.NoError(t, opt.StepAt(ones, []float64{0.2, 0.05}))
	assertClose(t, "after StepAt(0.2, 0.05)", [][]float64{{1 - 0.05}, {1 - 0.2}}, download(t, dev, params), 1e-15)
	snap, err := opt.Snapshot()
	require.NoError(t, err)
	assert.Equal(t, []float64{0.2, 0.05}, snap.LRs, "the last step's rates, per attached group")
	assert.Equal(t, 0.05, snap.DefaultLR)

	require.NoError(t, opt.Step(ones))
	assertClose(t, "after Step at the base rates", [][]float64{{1 - 0.05 - 0.1}, {1 - 0.2 - 0.4}}, download(t, dev, params), 1e-15)
	assert.ErrorIs(t, opt.StepAt(ones, []float64{0.1}), optim.ErrInvalid, "one rate for two groups")
	assertClose(t, "after a refused step", [][]float64{{1 - 0.05 - 0.1}, {1 - 0.2 - 0.4}}, download(t, dev, params), 1e-15)
}

// TestSnapshotRestoreResumesBitForBit runs 5 steps, snapshots, runs 5 more; then a new optimizer
// on a copy of the 5-step weights restores the snapshot and runs the same 5 steps: the weights
// must be bit-identical, which needs every state tensor, the step count (bias corrections, SGD's
// first step, Adagrad's decay) and NAdam's momentum product to round-trip.
func TestSnapshotRestoreResumesBitForBit(t *testing.T) {
	cases := []struct {
		name string
		o    optim.Options
	}{
		{"adam", options(t, "adam", 0.05, func(o *optim.Options) { o.AMSGrad, o.WeightDecay = true, 0.01 })},
		{"adamw", options(t, "adamw", 0.05, nil)},
		{"nadam", options(t, "nadam", 0.05, nil)},
		{"rmsprop with momentum, centered", options(t, "rmsprop", 0.01, func(o *optim.Options) { o.Momentum, o.Centered = 0.9, true })},
		{"sgd nesterov", options(t, "nesterov", 0.05, nil)},
		{"adagrad with lr decay", options(t, "adagrad", 0.1, func(o *optim.Options) { o.LRDecay, o.InitialAccumulator = 0.3, 0.1 })},
	}
	for _, dt := range []backend.DType{backend.Float64, backend.Float32} {
		for ci, c := range cases {
			t.Run(c.name+" in "+dt.String(), func(t *testing.T) {
				dev := openCPU(t)
				grad := func(step int) []backend.Buffer {
					g := trajGrad(step, trajInit(uint64(100+step)))
					return upload(t, dev, dt, g)
				}
				groups := []optim.Group{{Params: []int{1}, Options: func() optim.Options { g := c.o; g.LR *= 0.5; return g }()}}
				params := upload(t, dev, dt, trajInit(uint64(ci)))
				a, err := optim.New(c.o, groups...)
				require.NoError(t, err)
				require.NoError(t, a.Attach(dev, params))
				defer a.Close()
				for step := 1; step <= 5; step++ {
					require.NoError(t, a.Step(grad(step)))
				}
				snap, err := a.Snapshot()
				require.NoError(t, err)
				w5 := download(t, dev, params)
				for step := 6; step <= 10; step++ {
					require.NoError(t, a.Step(grad(step)))
				}
				w1 := download(t, dev, params)

				copies := upload(t, dev, dt, w5)
				b, err := optim.New(c.o, groups...)
				require.NoError(t, err)
				require.NoError(t, b.Attach(dev, copies))
				defer b.Close()
				require.NoError(t, b.Restore(snap))
				assert.Equal(t, 5, b.Steps())
				for step := 6; step <= 10; step++ {
					require.NoError(t, b.Step(grad(step)))
				}
				assert.Equal(t, w1, download(t, dev, copies), "weights after resuming differ from the uninterrupted run")
				sa, err := a.Snapshot()
				require.NoError(t, err)
				sb, err := b.Snapshot()
				require.NoError(t, err)
				assert.Equal(t, sa, sb, "state after resuming differs from the uninterrupted run")
			})
		}
	}
}

// TestRestoreRejectsMismatchedSnapshots checks every way a snapshot can fail to fit: another
// rule, other parameter sizes, other groups, a missing or extra tensor, and no Attach; a
// rejected snapshot leaves the optimizer as it was.
func TestRestoreRejectsMismatchedSnapshots(t *testing.T) {
	dev := openCPU(t)
	adam := options(t, "adam", 0.01, nil)
	take := func(o optim.Options, sizes []int, groups ...optim.Group) optim.State {
		host := make([][]float64, len(sizes))
		for i, n := range sizes {
			host[i] = make([]float64, n)
		}
		opt, err := optim.New(o, groups...)
		require.NoError(t, err)
		require.NoError(t, opt.Attach(dev, upload(t, dev, backend.Float64, host)))
		defer opt.Close()
		require.NoError(t, opt.Step(upload(t, dev, backend.Float64, trajGrad(1, host))))
		s, err := opt.Snapshot()
		require.NoError(t, err)
		return s
	}
	sizes := []int{3, 1, 5}
	good := take(adam, sizes)
	extra := good
	extra.Tensors = append(append([][]float64(nil), good.Tensors...), []float64{1})
	missing := good
	missing.Tensors = good.Tensors[:len(good.Tensors)-1]
	cases := []struct {
		name string
		s    optim.State
	}{
		{"from another rule", take(options(t, "momentum", 0.1, nil), sizes)},
		{"from other parameter sizes", take(adam, []int{3, 2, 5})},
		{"from fewer parameters", take(adam, []int{3, 1})},
		{"with other groups", take(adam, sizes, optim.Group{Params: []int{1}, Options: adam})},
		{"with an extra tensor", extra},
		{"with a missing tensor", missing},
	}
	for _, c := range cases {
		t.Run("a snapshot "+c.name, func(t *testing.T) {
			host := [][]float64{{1, 2, 3}, {4}, {5, 6, 7, 8, 9}}
			opt, err := optim.New(adam)
			require.NoError(t, err)
			require.NoError(t, opt.Attach(dev, upload(t, dev, backend.Float64, host)))
			defer opt.Close()
			before, err := opt.Snapshot()
			require.NoError(t, err)
			assert.ErrorIs(t, opt.Restore(c.s), optim.ErrInvalid)
			after, err := opt.Snapshot()
			require.NoError(t, err)
			assert.Equal(t, before, after, "a rejected snapshot changed the optimizer")
		})
	}
	t.Run("restore before attach", func(t *testing.T) {
		opt, err := optim.New(adam)
		require.NoError(t, err)
		assert.ErrorIs(t, opt.Restore(good), optim.ErrInvalid)
	})
}

// TestStepErrors checks Step before Attach and with too few gradients return errors.
func TestStepErrors(t *testing.T) {
	dev := openCPU(t)
	opt := optim.MustNamed("adam", 0.01)
	assert.ErrorIs(t, opt.Step(nil), optim.ErrInvalid, "Step before Attach")
	params := upload(t, dev, backend.Float64, [][]float64{{1, 2}, {3}})
	require.NoError(t, opt.Attach(dev, params))
	defer opt.Close()
	assert.ErrorIs(t, opt.Step(upload(t, dev, backend.Float64, [][]float64{{1, 2}})), optim.ErrInvalid, "one gradient for two parameters")
	assert.Error(t, opt.Step(upload(t, dev, backend.Float64, [][]float64{{1, 2}, {3, 4}})), "a gradient of the wrong length")
	assert.Equal(t, 0, opt.Steps(), "a failed step does not count")
}

// ExampleNewNamed runs SGD with momentum on one parameter (PyTorch's torch.optim.SGD(lr=0.1,
// momentum=0.9) gives the same numbers).
func ExampleNewNamed() {
	dev, _ := cpu.New(1)
	defer dev.Close()
	p, _ := dev.Alloc(backend.Float64, 1)
	g, _ := dev.Alloc(backend.Float64, 1)
	_ = dev.Write(p, []float64{1})
	opt, err := optim.NewNamed("momentum", 0.1)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := opt.Attach(dev, []backend.Buffer{p}); err != nil {
		fmt.Println(err)
		return
	}
	defer opt.Close()
	out := make([]float64, 1)
	for _, grad := range []float64{1, 0.5, -1} {
		_ = dev.Write(g, []float64{grad})
		if err := opt.Step([]backend.Buffer{g}); err != nil {
			fmt.Println(err)
			return
		}
		_ = dev.Read(out, p)
		fmt.Printf("%s step %d: p = %.4f\n", opt.Name(), opt.Steps(), out[0])
	}
	// Output:
	// sgd+momentum step 1: p = 0.9000
	// sgd+momentum step 2: p = 0.7600
	// sgd+momentum step 3: p = 0.7340
}
