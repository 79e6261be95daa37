package backendtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest/ref"
	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
)

// TestDiagnostics checks the trainer's per-layer diagnostics (train.Config.Diagnostics), which
// the device computes as reductions beside the step, against a float64 reference computed on the
// host from the same weights and batch: the forward pass gives the activations (their mean,
// standard deviation, saturated values and dead units), the backward pass the gradients (their
// norms), and the weights read back before and after the step the update (its norm and ratio).
// Two networks: an MLP with a sigmoid, a tanh, a ReLU and a leaky-ReLU layer, and a convolution
// whose ReLU units are counted per channel and position. Each takes two steps of different batch
// sizes (so two plans), with weights chosen so that every count is neither zero nor all.
func TestDiagnostics(t *testing.T, dev backend.Device) {
	t.Run("an MLP's layers match the host reference", func(t *testing.T) { diagMLP(t, dev) })
	t.Run("a convolution's units are counted per channel and position", func(t *testing.T) { diagConv(t, dev) })
}

// diagRef is the host reference of one step's diagnostics.
type diagRef struct {
	grads [][]float64  // per parameter
	acts  []diagRefAct // per hidden activation, in forward order
}

type diagRefAct struct {
	act  kernels.Activation
	z, y []float64 // pre-activation and activation, [rows, units]
	rows int
}

const (
	diagFeatures = 7
	diagClasses  = 4
)

func diagData(t *testing.T, rng *rand.Rand, n, features, classes int) *train.Dataset {
	x := make([]float32, n*features)
	for i := range x {
		x[i] = float32(1.5 * rng.NormFloat64())
	}
	labels := make([]uint8, n)
	for i := range labels {
		labels[i] = uint8(rng.IntN(classes))
	}
	ds, err := train.Classification(x, labels, features, classes)
	require.NoError(t, err)
	return ds
}

// batchOf returns the rows idx of ds as float64.
func batchOf(ds *train.Dataset, idx []int) (x, y []float64) {
	for _, i := range idx {
		for _, v := range ds.X[i*ds.Features : (i+1)*ds.Features] {
			x = append(x, float64(v))
		}
		for _, v := range ds.Y[i*ds.Outputs : (i+1)*ds.Outputs] {
			y = append(y, float64(v))
		}
	}
	return x, y
}

func f64s(p [][]float32) [][]float64 {
	out := make([][]float64, len(p))
	for i, v := range p {
		out[i] = make([]float64, len(v))
		for j, x := range v {
			out[i][j] = float64(x)
		}
	}
	return out
}

func f32s(p [][]float64) [][]float32 {
	out := make([][]float32, len(p))
	for i, v := range p {
		out[i] = make([]float32, len(v))
		for j, x := range v {
			out[i][j] = float32(x)
		}
	}
	return out
}

// refMLP runs spec's forward and backward pass in float64.
func refMLP(spec models.Spec, p [][]float64, x, y []float64, rows int) diagRef {
	var dr diagRef
	h, in := x, spec.Inputs
	var inputs, zs [][]float64
	for i, l := range spec.Layers {
		z, _ := refGemm(false, false, rows, l.Units, in, 1, h, p[2*i], 0, nil)
		z = refBiasAdd(z, p[2*i+1], rows, l.Units)
		inputs, zs = append(inputs, h), append(zs, z)
		a := z
		if l.Act != kernels.Identity {
			a = make([]float64, len(z))
			for j, v := range z {
				a[j] = ref.Act(l.Act, l.Alpha, v)
			}
			dr.acts = append(dr.acts, diagRefAct{act: l.Act, z: z, y: a, rows: rows})
		}
		h, in = a, l.Units
	}
	dr.grads = make([][]float64, len(p))
	dz := ref.LossGrad(spec.Loss, h, y, 1, rows, in)
	for i := len(spec.Layers) - 1; i >= 0; i-- {
		l := spec.Layers[i]
		fan := spec.Inputs
		if i > 0 {
			fan = spec.Layers[i-1].Units
		}
		dr.grads[2*i], _ = refGemm(true, false, fan, l.Units, rows, 1, inputs[i], dz, 0, nil)
		dr.grads[2*i+1], _ = refSum(dz, 1, rows, l.Units)
		if i == 0 {
			break
		}
		dh, _ := refGemm(false, true, rows, fan, l.Units, 1, dz, p[2*i], 0, nil)
		prev := spec.Layers[i-1]
		dz = make([]float64, len(dh))
		for j := range dh {
			dz[j] = dh[j] * ref.ActDeriv(prev.Act, prev.Alpha, zs[i-1][j])
		}
	}
	return dr
}

func diagMLP(t *testing.T, dev backend.Device) {
	spec, err := models.ParseSpec(fmt.Sprintf("%d-9:sigmoid-8:tanh-8:relu-6:leakyrelu-%d", diagFeatures, diagClasses), kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	spec.Layers[3].Alpha = 0.5 // negative values large enough to outweigh a few positive ones
	rng := rand.New(rand.NewPCG(20261203, 15))
	ds := diagData(t, rng, 12, diagFeatures, diagClasses)
	// Large weights saturate part of the sigmoid and tanh layers; strongly negative biases kill
	// two ReLU units and one leaky one, and leave another leaky one alive on few examples (its
	// values sum below zero, so only its positive part tells it is alive); the others are random.
	p := make([][]float64, len(spec.Params()))
	for i, pi := range spec.Params() {
		p[i] = make([]float64, int(pi.Size()))
		for j := range p[i] {
			p[i][j] = 0.6 * rng.NormFloat64()
			switch i {
			case 0, 2:
				p[i][j] *= 6
			case 6:
				p[i][j] *= 3
			}
		}
	}
	p[5][0], p[5][3], p[7][1], p[7][2], p[7][4] = -40, -40, -40, -1.5, -0.8
	check := func(t *testing.T, got train.Diagnostics, before, after [][]float64, x, y []float64, rows int) {
		dr := refMLP(spec, before, x, y, rows)
		diagCompare(t, got, spec.Params(), dr, before, after, rows)
	}
	diagSteps(t, dev, spec, ds, p, check)
}

// diagSteps trains model from p with diagnostics on every step, two steps of 6 and 5 rows, and
// checks each step's diagnostics with check.
func diagSteps(t *testing.T, dev backend.Device, model models.Model, ds *train.Dataset, p [][]float64,
	check func(t *testing.T, got train.Diagnostics, before, after [][]float64, x, y []float64, rows int)) {
	var recs []train.Diagnostics
	tr, err := train.New(train.Config{Model: model, Device: dev, Optimizer: optim.MustNamed("momentum", 0.05), BatchSize: 6, Seed: 3,
		Diagnostics: 1, OnDiagnostics: func(d train.Diagnostics) error { recs = append(recs, d); return nil }})
	require.NoError(t, err)
	defer tr.Close()
	require.NoError(t, tr.SetParams(f32s(p)))
	for s, idx := range [][]int{{0, 1, 2, 3, 4, 5}, {11, 9, 7, 8, 10}} {
		t.Run(fmt.Sprintf("step %d, %d rows", s+1, len(idx)), func(t *testing.T) {
			b32, err := tr.Params()
			require.NoError(t, err)
			_, _, err = tr.TrainStep(ds, idx)
			require.NoError(t, err)
			a32, err := tr.Params()
			require.NoError(t, err)
			require.Len(t, recs, s+1, "one record per diagnostic step")
			got := recs[s]
			assert.Equal(t, s+1, got.Step)
			assert.Equal(t, len(idx), got.Batch)
			x, y := batchOf(ds, idx)
			check(t, got, f64s(b32), f64s(a32), x, y, len(idx))
		})
	}
}

// diagCompare checks got against the reference.
func diagCompare(t *testing.T, got train.Diagnostics, params []models.Param, ref diagRef, before, after [][]float64, rows int) {
	t.Helper()
	norm := func(v []float64) float64 { return math.Sqrt(dot(v, v)) }
	require.Len(t, got.Params, len(params))
	for i, pi := range params {
		g := got.Params[i]
		assert.Equal(t, pi.Name, g.Name)
		assert.Equal(t, pi.Shape, g.Shape)
		delta := make([]float64, len(before[i]))
		for j := range delta {
			delta[j] = after[i][j] - before[i][j]
		}
		wn, dn := norm(before[i]), norm(delta)
		require.Positive(t, dn, "%s: the step moved it", pi.Name)
		checkClose(t, pi.Name+" gradient norm", []float64{g.GradNorm}, []float64{norm(ref.grads[i])}, tol{1e-7, 1e-4})
		checkClose(t, pi.Name+" weight norm", []float64{g.WeightNorm}, []float64{wn}, tol{0, 1e-6})
		checkClose(t, pi.Name+" update norm", []float64{g.UpdateNorm}, []float64{dn}, tol{1e-9, 1e-5})
		checkClose(t, pi.Name+" update ratio", []float64{g.UpdateRatio}, []float64{dn / wn}, tol{0, 1e-5})
	}
	require.Len(t, got.Layers, len(ref.acts))
	lo, hi, th := float64(float32(train.SigmoidLow)), float64(float32(train.SigmoidHigh)), float64(float32(train.TanhLimit))
	for k, a := range ref.acts {
		l := got.Layers[k]
		name := fmt.Sprintf("layer %d (%v)", k+1, a.act)
		assert.Equal(t, fmt.Sprintf("h%d", k+1), l.Name, name)
		assert.Equal(t, a.act, l.Act, name)
		units := len(a.y) / rows
		assert.Equal(t, units, l.Units(), name)
		n := float64(len(a.y))
		mean := 0.0
		for _, v := range a.y {
			mean += v
		}
		mean /= n
		ss := 0.0
		for _, v := range a.y {
			ss += (v - mean) * (v - mean)
		}
		checkClose(t, name+" mean", []float64{l.Mean}, []float64{mean}, tol{1e-5, 1e-4})
		checkClose(t, name+" std", []float64{l.Std}, []float64{math.Sqrt(ss / n)}, tol{1e-5, 1e-4})
		// The counts are compared exactly, so no value may lie where float32 rounding could move
		// it across a threshold.
		sat, dead := 0, 0
		for _, v := range a.y {
			switch a.act {
			case kernels.Sigmoid:
				require.False(t, math.Abs(v-lo) < 1e-5 || math.Abs(v-hi) < 1e-5, "%s: a value at a threshold", name)
				if v < lo || v > hi {
					sat++
				}
			case kernels.Tanh:
				require.False(t, math.Abs(math.Abs(v)-th) < 1e-5, "%s: a value at the threshold", name)
				if math.Abs(v) > th {
					sat++
				}
			}
		}
		aliveBelowZero := false
		for u := 0; u < units; u++ {
			off, sum := 0, 0.0
			for r := 0; r < rows; r++ {
				z := a.z[r*units+u]
				require.False(t, math.Abs(z) < 1e-4, "%s: a pre-activation at 0", name)
				if z <= 0 {
					off++
				}
				sum += a.y[r*units+u]
			}
			if off == rows {
				dead++
			} else if sum < 0 {
				aliveBelowZero = true
			}
		}
		if a.act == kernels.LeakyReLU {
			require.True(t, aliveBelowZero, "%s: the case has a live unit whose values sum below zero", name)
		}
		switch a.act {
		case kernels.Sigmoid, kernels.Tanh:
			require.True(t, sat > 0 && sat < len(a.y), "%s: the case saturates some values (%d of %d), not none or all", name, sat, len(a.y))
			assert.Equal(t, float64(sat)/n, l.Saturated, "%s: saturated fraction (%s)", name, train.SaturationRule(a.act))
			assert.True(t, math.IsNaN(l.Dead), "%s: no dead rule", name)
		default:
			require.True(t, dead > 0 && dead < units, "%s: the case kills some units (%d of %d), not none or all", name, dead, units)
			assert.Equal(t, float64(dead)/float64(units), l.Dead, "%s: dead fraction (%s)", name, train.DeadRule(a.act))
			assert.True(t, math.IsNaN(l.Saturated), "%s: no saturation rule", name)
		}
	}
}

func diagConv(t *testing.T, dev backend.Device) {
	const c, h, w, oc = 2, 5, 5, 3
	m, err := models.ParseModel(fmt.Sprintf("%dx%dx%d-conv(%d,3,pad=1):relu-%d", c, h, w, oc, diagClasses), kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	params := m.Params()
	require.Len(t, params, 4, "conv w, conv b, dense w, dense b")
	rng := rand.New(rand.NewPCG(20261203, 16))
	ds := diagData(t, rng, 12, c*h*w, diagClasses)
	p := make([][]float64, len(params))
	for i, pi := range params {
		p[i] = make([]float64, int(pi.Size()))
		for j := range p[i] {
			p[i][j] = 0.4 * rng.NormFloat64()
		}
	}
	// Channel 0 is dead at every position; channel 2 only at some (a negative bias that a
	// strong enough input overcomes).
	p[1][0], p[1][2] = -40, -1.5
	units := oc * h * w
	check := func(t *testing.T, got train.Diagnostics, before, after [][]float64, x, y []float64, rows int) {
		g := kernels.Conv2D{N: rows, C: c, H: h, W: w, OutC: oc, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1}
		z, _ := ref.Conv(g, x, before[0])
		for i := range z {
			z[i] += before[1][(i/(h*w))%oc]
		}
		a := make([]float64, len(z))
		for i, v := range z {
			a[i] = math.Max(v, 0)
		}
		logits, _ := refGemm(false, false, rows, diagClasses, units, 1, a, before[2], 0, nil)
		logits = refBiasAdd(logits, before[3], rows, diagClasses)
		dl := ref.LossGrad(kernels.SoftmaxCrossEntropy, logits, y, 1, rows, diagClasses)
		gfw, _ := refGemm(true, false, units, diagClasses, rows, 1, a, dl, 0, nil)
		gfb, _ := refSum(dl, 1, rows, diagClasses)
		da, _ := refGemm(false, true, rows, units, diagClasses, 1, dl, before[2], 0, nil)
		dz := make([]float64, len(da))
		gcb := make([]float64, oc)
		for i := range da {
			if z[i] > 0 {
				dz[i] = da[i]
			}
			gcb[(i/(h*w))%oc] += dz[i]
		}
		_, gcw, _ := ref.ConvGrads(g, x, before[0], dz)
		dr := diagRef{grads: [][]float64{gcw, gcb, gfw, gfb}, acts: []diagRefAct{{act: kernels.ReLU, z: z, y: a, rows: rows}}}
		diagCompare(t, got, params, dr, before, after, rows)
		require.Len(t, got.Layers, 1)
		assert.Equal(t, []int{oc, h, w}, got.Layers[0].Shape, "one example's shape: channels, height, width")
	}
	diagSteps(t, dev, m, ds, p, check)
}
