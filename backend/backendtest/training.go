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
	"github.com/gotrain/gotrain/optim"
)

// The training-curve problem: a 20-16-3 tanh MLP with softmax cross-entropy, trained full-batch
// with SGD and momentum on 97 points labelled by a random linear teacher.
const (
	tcN, tcD, tcH, tcC = 97, 20, 16, 3
	tcSteps            = 30
	tcLR, tcMomentum   = 0.1, 0.9
	tcSeed             = 20240607
)

// trainTol is the relative tolerance on the loss at each step: float32 rounding through 30
// steps of a small MLP moves the loss by ~1e-6.
var trainTol = tols{f32: tol{0, 1e-4}, f64: tol{0, 1e-10}}

// trainingProblem returns the data (x [N,D], one-hot y [N,C]) and the initial parameters
// [W1 D×H, b1 H, W2 H×C, b2 C], the same on every backend.
func trainingProblem() (x, y []float64, params [][]float64) {
	rng := rand.New(rand.NewPCG(tcSeed, 1))
	u := func(n int, s float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = s * (2*rng.Float64() - 1)
		}
		return out
	}
	x, teacher := u(tcN*tcD, 1), u(tcD*tcC, 1)
	logits, _ := refGemm(false, false, tcN, tcC, tcD, 1, x, teacher, 0, nil)
	y = make([]float64, tcN*tcC)
	for r := range tcN {
		y[r*tcC+argmax(logits[r*tcC:(r+1)*tcC])] = 1
	}
	params = [][]float64{u(tcD*tcH, 1/math.Sqrt(tcD)), u(tcH, 0.1), u(tcH*tcC, 1/math.Sqrt(tcH)), u(tcC, 0.1)}
	return x, y, params
}

// hostTraining runs the training steps with the float64 reference and returns the loss before
// each step.
func hostTraining(x, y []float64, params [][]float64) []float64 {
	w1, b1, w2, b2 := params[0], params[1], params[2], params[3]
	moms := make([][]float64, len(params))
	for i, p := range params {
		moms[i] = make([]float64, len(p))
	}
	var losses []float64
	for step := range tcSteps {
		t1, _ := refGemm(false, false, tcN, tcH, tcD, 1, x, w1, 0, nil)
		z1 := refBiasAdd(t1, b1, tcN, tcH)
		a1 := make([]float64, len(z1))
		for i, v := range z1 {
			a1[i] = ref.Act(kernels.Tanh, 0, v)
		}
		t2, _ := refGemm(false, false, tcN, tcC, tcH, 1, a1, w2, 0, nil)
		z2 := refBiasAdd(t2, b2, tcN, tcC)
		losses = append(losses, ref.Loss(kernels.SoftmaxCrossEntropy, z2, y, tcN, tcC))

		dz2 := ref.LossGrad(kernels.SoftmaxCrossEntropy, z2, y, 1, tcN, tcC)
		gw2, _ := refGemm(true, false, tcH, tcC, tcN, 1, a1, dz2, 0, nil)
		gb2, _ := refSum(dz2, 1, tcN, tcC)
		da1, _ := refGemm(false, true, tcN, tcH, tcC, 1, dz2, w2, 0, nil)
		dz1 := make([]float64, len(da1))
		for i := range da1 {
			dz1[i] = da1[i] * ref.ActDeriv(kernels.Tanh, 0, z1[i])
		}
		gw1, _ := refGemm(true, false, tcD, tcH, tcN, 1, x, dz1, 0, nil)
		gb1, _ := refSum(dz1, 1, tcN, tcH)
		// SGD with momentum as torch.optim.SGD documents it: the buffer starts as the gradient.
		for i, g := range [][]float64{gw1, gb1, gw2, gb2} {
			for j := range g {
				if step == 0 {
					moms[i][j] = g[j]
				} else {
					moms[i][j] = tcMomentum*moms[i][j] + g[j]
				}
				params[i][j] -= tcLR * moms[i][j]
			}
		}
	}
	return losses
}

// TestTrainingCurve trains a small MLP for 30 steps purely through device ops (Gemm, BiasAdd,
// Activation, Loss, LossGrad, Gemm transposes and Sum for the gradients, ActivationGrad,
// OptimizerStep) and checks the loss at every step against the same training done by the float64
// reference on the host, and that the loss falls.
func TestTrainingCurve(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		xv, yv, init := trainingProblem()
		x, y := e.input("x", xv), e.input("y", yv)
		var params, grads, moms tensors
		for i, p := range init {
			params = append(params, e.state(fmt.Sprintf("param%d", i), p))
			grads = append(grads, e.output(fmt.Sprintf("grad%d", i), len(p)))
			moms = append(moms, e.output(fmt.Sprintf("mom%d", i), len(p)))
		}
		w1, b1, w2, b2 := params[0], params[1], params[2], params[3]
		gw1, gb1, gw2, gb2 := grads[0], grads[1], grads[2], grads[3]
		t1, z1, a1 := e.output("XW1", tcN*tcH), e.output("Z1", tcN*tcH), e.output("A1", tcN*tcH)
		t2, z2 := e.output("A1W2", tcN*tcC), e.output("Z2", tcN*tcC)
		loss, dloss := e.output("loss", 1), e.input("dloss", []float64{1})
		dz2, da1, dz1 := e.output("dZ2", tcN*tcC), e.output("dA1", tcN*tcH), e.output("dZ1", tcN*tcH)

		hostParams := hostCopies(params) // the device's initial values, rounded to its dtype
		want := hostTraining(x.host, y.host, hostParams)

		var got []float64
		for step := range tcSteps {
			h := sgdStep(e.t, tcLR, tcMomentum, step+1)
			ops := []struct {
				name string
				call func() error
			}{
				{"Gemm X·W1", func() error { return e.dev.Gemm(false, false, tcN, tcH, tcD, 1, x.b, w1.b, 0, t1.b) }},
				{"BiasAdd b1", func() error { return e.dev.BiasAdd(z1.b, t1.b, b1.b, tcN, tcH) }},
				{"Activation tanh", func() error { return e.dev.Activation(kernels.Tanh, 0, a1.b, z1.b) }},
				{"Gemm A1·W2", func() error { return e.dev.Gemm(false, false, tcN, tcC, tcH, 1, a1.b, w2.b, 0, t2.b) }},
				{"BiasAdd b2", func() error { return e.dev.BiasAdd(z2.b, t2.b, b2.b, tcN, tcC) }},
				{"Loss", func() error { return e.dev.Loss(kernels.SoftmaxCrossEntropy, loss.b, z2.b, y.b, tcN, tcC) }},
				{"LossGrad", func() error {
					return e.dev.LossGrad(kernels.SoftmaxCrossEntropy, dz2.b, z2.b, y.b, dloss.b, tcN, tcC)
				}},
				{"Gemm A1ᵀ·dZ2", func() error { return e.dev.Gemm(true, false, tcH, tcC, tcN, 1, a1.b, dz2.b, 0, gw2.b) }},
				{"Sum dZ2", func() error { return e.dev.Sum(gb2.b, dz2.b, 1, tcN, tcC) }},
				{"Gemm dZ2·W2ᵀ", func() error { return e.dev.Gemm(false, true, tcN, tcH, tcC, 1, dz2.b, w2.b, 0, da1.b) }},
				{"ActivationGrad tanh", func() error { return e.dev.ActivationGrad(kernels.Tanh, 0, dz1.b, z1.b, a1.b, da1.b) }},
				{"Gemm Xᵀ·dZ1", func() error { return e.dev.Gemm(true, false, tcD, tcH, tcN, 1, x.b, dz1.b, 0, gw1.b) }},
				{"Sum dZ1", func() error { return e.dev.Sum(gb1.b, dz1.b, 1, tcN, tcH) }},
				{"OptimizerStep", func() error {
					return e.dev.OptimizerStep(h, params.buffers(), grads.buffers(), [][]backend.Buffer{moms.buffers()})
				}},
			}
			for _, op := range ops {
				e.do(fmt.Sprintf("step %d: %s", step, op.name), op.call)
			}
			got = append(got, e.read(loss)[0])
		}
		e.t.Logf("loss %.6f -> %.6f over %d steps", got[0], got[len(got)-1], tcSteps)
		checkClose(e.t, "loss curve", got, want, trainTol.of(e.dt))
		assert.Less(e.t, got[len(got)-1], 0.5*got[0], "the loss did not fall by half")
		e.checkInputs()
	})
}

// sgdStep is the device step number t of SGD with momentum at rate lr, as optim describes it.
func sgdStep(t *testing.T, lr, momentum float64, step int) *kernels.Step {
	d, err := optim.Describe("sgd")
	require.NoError(t, err)
	o, err := optim.Defaults("sgd", lr)
	require.NoError(t, err)
	o.Momentum = momentum
	carry := 1.0
	s := d.Step(o, lr, step, &carry)
	return &s
}

// Blobs is a seeded synthetic classification set for training tests: n examples of features
// values in classes Gaussian clusters (centres drawn with standard deviation 3, unit noise
// around them), one-hot targets. The same seed gives the same set on every machine; every
// package's training tests draw their data from it.
func Blobs(t testing.TB, n, features, classes int, seed uint64) *train.Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := make([]float64, classes*features)
	for i := range centres {
		centres[i] = 3 * rng.NormFloat64()
	}
	x := make([]float32, n*features)
	labels := make([]uint8, n)
	for i := 0; i < n; i++ {
		c := rng.IntN(classes)
		labels[i] = uint8(c)
		for f := 0; f < features; f++ {
			x[i*features+f] = float32(centres[c*features+f] + rng.NormFloat64())
		}
	}
	ds, err := train.Classification(x, labels, features, classes)
	require.NoError(t, err)
	return ds
}
