package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest/ref"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/backend/exec"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// cnn is a small network through every layer: conv (stride 2, padding 2 > half the 3×3 kernel,
// dilation 1) with bias, ReLU, max pooling with padding, batch norm in training mode, dropout,
// average pooling, flatten, a dense layer and softmax cross-entropy.
type cnn struct {
	g            *G.ExprGraph
	x, y, loss   *G.Node
	params       []*G.Node
	grads        G.Nodes
	rmean, rvar  *G.Node
	paramsValues [][]float64
}

const cnnBatch = 3

func buildCNN(t *testing.T, vals [][]float64, x0, y0 []float64, dropout float64) *cnn {
	t.Helper()
	dt := tensor.Float64
	g := G.NewGraph()
	c := &cnn{g: g}
	val := func(shape tensor.Shape, v []float64) G.NodeConsOpt {
		return G.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float64(nil), v...))))
	}
	shapes := []tensor.Shape{{4, 2, 3, 3}, {4}, {4}, {4}, {8, 3}, {3}}
	names := []string{"w1", "b1", "gamma", "beta", "w2", "b2"}
	for i, s := range shapes {
		c.params = append(c.params, G.NewTensor(g, dt, len(s), G.WithShape(s...), G.WithName(names[i]), val(s, vals[i])))
	}
	c.x = G.NewTensor(g, dt, 4, G.WithShape(cnnBatch, 2, 7, 6), G.WithName("x"), val(tensor.Shape{cnnBatch, 2, 7, 6}, x0))
	c.y = G.NewMatrix(g, dt, G.WithShape(cnnBatch, 3), G.WithName("y"), val(tensor.Shape{cnnBatch, 3}, y0))
	c.rmean = G.NewVector(g, dt, G.WithShape(4), G.WithName("rmean"), val(tensor.Shape{4}, make([]float64, 4)))
	c.rvar = G.NewVector(g, dt, G.WithShape(4), G.WithName("rvar"), val(tensor.Shape{4}, []float64{1, 1, 1, 1}))
	h := G.Must(nn.Conv2d(c.x, c.params[0], c.params[1], nn.ConvOpts{Stride: [2]int{2, 2}, Padding: [2]int{2, 2}})) // [3,4,5,5]
	h = G.Must(nn.Activate(h, kernels.ReLU, 0))
	h = G.Must(nn.MaxPool2d(h, [2]int{3, 3}, nn.PoolOpts{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}})) // [3,4,3,3]
	h = G.Must(nn.BatchNorm(h, c.params[2], c.params[3], c.rmean, c.rvar, nn.DefaultBatchNorm(true)))
	h = G.Must(nn.Dropout(h, dropout, true))
	h = G.Must(nn.AvgPool2d(h, [2]int{2, 2}, nn.PoolOpts{Stride: [2]int{1, 2}})) // [3,4,2,1]
	h = G.Must(nn.Flatten(h))                                                    // [3,8]
	h = G.Must(G.Mul(h, c.params[4]))
	h = G.Must(nn.BiasAdd(h, c.params[5]))
	c.loss = G.Must(nn.FusedLoss(h, c.y, kernels.SoftmaxCrossEntropy))
	var err error
	c.grads, err = G.Grad(c.loss, c.params...)
	require.NoError(t, err)
	return c
}

func cnnData(rng *rand.Rand) (vals [][]float64, x, y []float64) {
	draw := func(n int, s float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = s * rng.NormFloat64()
		}
		return v
	}
	vals = [][]float64{draw(72, 0.5), draw(4, 0.1), draw(4, 0.3), draw(4, 0.3), draw(24, 0.5), draw(3, 0.1)}
	for i := range vals[2] {
		vals[2][i] += 1
	}
	x = draw(cnnBatch*2*7*6, 1)
	y = make([]float64, cnnBatch*3)
	for r := 0; r < cnnBatch; r++ {
		y[r*3+rng.IntN(3)] = 1
	}
	return vals, x, y
}

func tapeLoss(t *testing.T, c *cnn) float64 {
	t.Helper()
	m := G.NewTapeMachine(c.g)
	defer m.Close()
	require.NoError(t, m.RunAll())
	return scalarOf(c.loss.Value())
}

// TestLayersDifferentiateOnTheTapeMachineAndLowerToTheDevice checks that a graph through every
// layer has central-difference gradients on Gorgonia's TapeMachine (which runs the twins), and
// that the executor on the CPU device gives the TapeMachine's loss, gradients and updated
// running statistics (float64, 1e-12).
func TestLayersDifferentiateOnTheTapeMachineAndLowerToTheDevice(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	vals, x0, y0 := cnnData(rng)
	c := buildCNN(t, vals, x0, y0, 0.25)
	loss := tapeLoss(t, c)
	require.False(t, math.IsNaN(loss))
	tapeGrads := make([][]float64, len(c.grads))
	for i, g := range c.grads {
		tapeGrads[i] = append([]float64(nil), g.Value().Data().([]float64)...)
	}
	tapeMean := append([]float64(nil), c.rmean.Value().Data().([]float64)...)
	tapeVar := append([]float64(nil), c.rvar.Value().Data().([]float64)...)
	assert.NotEqual(t, []float64{0, 0, 0, 0}, tapeMean, "training updates the running mean")

	t.Run("the gradients match central differences", func(t *testing.T) {
		const h = 1e-6
		for pi := range vals {
			fd := ref.CentralDiff(vals[pi], h, func(p []float64) float64 {
				v := append([][]float64(nil), vals...)
				v[pi] = p
				return tapeLoss(t, buildCNN(t, v, x0, y0, 0.25))
			})
			for k, want := range fd {
				require.InDelta(t, want, tapeGrads[pi][k], 1e-6+1e-5*math.Abs(want), "d loss / d %s[%d]", c.params[pi].Name(), k)
			}
		}
	})

	t.Run("the executor gives the TapeMachine's values", func(t *testing.T) {
		dev, err := cpu.New(0)
		require.NoError(t, err)
		defer dev.Close()
		fresh := buildCNN(t, vals, x0, y0, 0.25) // running statistics not yet updated
		bind := map[*G.Node]backend.Buffer{}
		put := func(n *G.Node, v []float64) backend.Buffer {
			b, err := dev.Alloc(backend.Float64, len(v))
			require.NoError(t, err)
			require.NoError(t, dev.Write(b, v))
			bind[n] = b
			return b
		}
		for i, p := range fresh.params {
			put(p, vals[i])
		}
		st, err := nn.StateNodes(fresh.g)
		require.NoError(t, err)
		require.Len(t, st, 2)
		assert.Equal(t, []nn.State{{Node: fresh.rmean, Init: 0}, {Node: fresh.rvar, Init: 1}}, st)
		rm, rv := put(fresh.rmean, make([]float64, 4)), put(fresh.rvar, []float64{1, 1, 1, 1})
		plan, err := exec.Compile(fresh.g, exec.Config{Device: dev, DType: backend.Float64, Targets: append([]*G.Node{fresh.loss}, fresh.grads...), Bind: bind})
		require.NoError(t, err)
		defer plan.Close()
		xb, _ := plan.Buffer(fresh.x)
		yb, _ := plan.Buffer(fresh.y)
		require.NoError(t, dev.Write(xb, x0))
		require.NoError(t, dev.Write(yb, y0))
		require.NoError(t, plan.Run())
		read := func(b backend.Buffer) []float64 {
			out := make([]float64, b.Len())
			require.NoError(t, dev.Read(out, b))
			return out
		}
		lb, _ := plan.Buffer(fresh.loss)
		assert.InEpsilon(t, loss, read(lb)[0], 1e-12)
		for i, g := range fresh.grads {
			b, _ := plan.Buffer(g)
			closeTo(t, g.Name(), read(b), tapeGrads[i], 1e-12)
		}
		closeTo(t, "running mean", read(rm), tapeMean, 1e-12)
		closeTo(t, "running var", read(rv), tapeVar, 1e-12)

		plan.SetStep(1)
		require.NoError(t, plan.Run())
		assert.NotEqual(t, loss, read(lb)[0], "another step draws another dropout mask")
	})
}

func closeTo(t *testing.T, what string, got, want []float64, rtol float64) {
	t.Helper()
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > rtol*(scale+math.Abs(want[i])) {
			assert.Fail(t, what, "first bad index %d: got %v, want %v", i, got[i], want[i])
			return
		}
	}
}

func TestLayerBuildersRejectBadArguments(t *testing.T) {
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float64, 4, G.WithShape(2, 3, 5, 5), G.WithName("x"))
	w := G.NewTensor(g, tensor.Float64, 4, G.WithShape(4, 2, 3, 3), G.WithName("w"))
	v3 := G.NewVector(g, tensor.Float64, G.WithShape(3), G.WithName("v3"))
	v4 := G.NewVector(g, tensor.Float64, G.WithShape(4), G.WithName("v4"))
	m := G.NewMatrix(g, tensor.Float64, G.WithShape(1, 3), G.WithName("m"))
	cases := map[string]func() error{
		"a conv whose weight has other channels": func() error { _, err := nn.Conv2d(x, w, nil, nn.ConvOpts{}); return err },
		"a pool with padding over half the kernel": func() error {
			_, err := nn.MaxPool2d(x, [2]int{2, 2}, nn.PoolOpts{Padding: [2]int{2, 0}})
			return err
		},
		"a pool larger than the image":       func() error { _, err := nn.AvgPool2d(x, [2]int{6, 6}, nn.PoolOpts{}); return err },
		"ExcludePad on max pooling":          func() error { _, err := nn.MaxPool2d(x, [2]int{2, 2}, nn.PoolOpts{ExcludePad: true}); return err },
		"a dropout probability above 1":      func() error { _, err := nn.Dropout(x, 1.5, true); return err },
		"batch norm with a gamma of 4 for 3": func() error { _, err := nn.BatchNorm(x, v4, v3, v3, v3, nn.DefaultBatchNorm(true)); return err },
		"batch norm training on one value":   func() error { _, err := nn.BatchNorm(m, v3, v3, v3, v3, nn.DefaultBatchNorm(true)); return err },
		"batch norm with a computed statistic": func() error {
			_, err := nn.BatchNorm(x, v3, v3, G.Must(G.Neg(v3)), v3, nn.DefaultBatchNorm(false))
			return err
		},
	}
	for name, f := range cases {
		t.Run(name+" is an error", func(t *testing.T) { require.ErrorIs(t, f(), nn.ErrInvalid) })
	}
	y, err := nn.Dropout(x, 0.5, false)
	require.NoError(t, err)
	assert.Same(t, x, y, "dropout in evaluation mode is the identity")
}
