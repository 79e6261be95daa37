package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gotrain/gotrain/backend/backendtest/ref"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The Gorgonia ops must run on Gorgonia's own TapeMachine (that is what lets the oracle tests
// compare graphs) and their symbolic gradients must be our backward ops. These tests build a
// small graph from every op, differentiate it with gorgonia.Grad, run it on the TapeMachine in
// float64 and compare the gradient with central differences of the same graph.

func opsGraph(t *testing.T, act kernels.Activation, loss kernels.Loss, x0, b0, y0 []float64) (g *G.ExprGraph, x, b, l *G.Node, grads G.Nodes) {
	t.Helper()
	g = G.NewGraph()
	x = G.NewMatrix(g, tensor.Float64, G.WithShape(3, 4), G.WithName("x"), G.WithValue(tensor.New(tensor.WithShape(3, 4), tensor.WithBacking(x0))))
	b = G.NewVector(g, tensor.Float64, G.WithShape(4), G.WithName("b"), G.WithValue(tensor.New(tensor.WithShape(4), tensor.WithBacking(b0))))
	y := G.NewMatrix(g, tensor.Float64, G.WithShape(3, 4), G.WithName("y"), G.WithValue(tensor.New(tensor.WithShape(3, 4), tensor.WithBacking(y0))))
	z := G.Must(nn.BiasAdd(x, b))
	h := G.Must(nn.Activate(z, act, act.DefaultAlpha()))
	sm := G.Must(nn.Softmax(h, act == kernels.Tanh)) // both softmax forms over the table
	l = G.Must(nn.FusedLoss(sm, y, loss))
	grads, err := G.Grad(l, x, b)
	require.NoError(t, err)
	return g, x, b, l, grads
}

func runTape(t *testing.T, g *G.ExprGraph) {
	t.Helper()
	m := G.NewTapeMachine(g)
	defer m.Close()
	require.NoError(t, m.RunAll())
}

func scalarOf(v G.Value) float64 {
	switch d := v.Data().(type) {
	case float64:
		return d
	case float32:
		return float64(d)
	}
	panic(fmt.Sprintf("not a scalar: %T", v.Data()))
}

func TestOpsDifferentiateThroughOurBackwardOnTheTapeMachine(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	draw := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return v
	}
	for _, act := range kernels.Activations() {
		for _, loss := range kernels.Losses() {
			t.Run(fmt.Sprintf("%v then %v has central-difference gradients", act, loss), func(t *testing.T) {
				x0, b0 := draw(12), draw(4)
				y0 := make([]float64, 12)
				for r := 0; r < 3; r++ {
					if loss == kernels.SoftmaxCrossEntropy {
						y0[r*4+rng.IntN(4)] = 1
					} else {
						for c := 0; c < 4; c++ {
							y0[r*4+c] = rng.Float64()
						}
					}
				}
				if act == kernels.ReLU || act == kernels.LeakyReLU {
					for i := range x0 { // keep away from the kink at 0 after the bias
						if math.Abs(x0[i]+b0[i%4]) < 0.05 {
							x0[i] += 0.2
						}
					}
				}
				g, _, _, l, grads := opsGraph(t, act, loss, x0, b0, y0)
				runTape(t, g)
				gx := grads[0].Value().Data().([]float64)
				gb := grads[1].Value().Data().([]float64)

				f := func(x, b []float64) float64 {
					g2, _, _, l2, _ := opsGraph(t, act, loss, x, b, y0)
					runTape(t, g2)
					return scalarOf(l2.Value())
				}
				const h = 1e-6
				for i, want := range ref.CentralDiff(x0, h, func(x []float64) float64 { return f(x, b0) }) {
					assert.InDelta(t, want, gx[i], 1e-6+1e-5*math.Abs(want), "dL/dx[%d]", i)
				}
				for i, want := range ref.CentralDiff(b0, h, func(b []float64) float64 { return f(x0, b) }) {
					assert.InDelta(t, want, gb[i], 1e-6+1e-5*math.Abs(want), "dL/db[%d]", i)
				}
				assert.False(t, math.IsNaN(scalarOf(l.Value())))
			})
		}
	}
}

func TestGradUsesOurBackwardOps(t *testing.T) {
	g, _, _, _, _ := opsGraph(t, kernels.GELU, kernels.SoftmaxCrossEntropy, make([]float64, 12), make([]float64, 4), make([]float64, 12))
	seen := map[string]bool{}
	for _, n := range g.AllNodes() {
		if n.Op() != nil {
			seen[fmt.Sprintf("%T", n.Op())] = true
		}
	}
	for _, want := range []string{"nn.ActivationGradOp", "nn.SoftmaxGradOp", "nn.LossGradOp", "nn.BiasGradOp"} {
		assert.True(t, seen[want], "graph lacks %s; has %v", want, seen)
	}
}

func TestOpBuildersRejectBadShapes(t *testing.T) {
	g := G.NewGraph()
	m := G.NewMatrix(g, tensor.Float64, G.WithShape(3, 4), G.WithName("m"))
	v := G.NewVector(g, tensor.Float64, G.WithShape(5), G.WithName("v"))
	other := G.NewMatrix(g, tensor.Float64, G.WithShape(3, 5), G.WithName("o"))
	_, err := nn.BiasAdd(m, v)
	require.ErrorIs(t, err, nn.ErrInvalid)
	_, err = nn.Softmax(v, false)
	require.ErrorIs(t, err, nn.ErrInvalid)
	_, err = nn.FusedLoss(m, other, kernels.MSE)
	require.ErrorIs(t, err, nn.ErrInvalid)
	_, err = nn.Activate(m, kernels.Activation(200), 0)
	require.ErrorIs(t, err, nn.ErrInvalid)
}
