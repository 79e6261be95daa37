package backendtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest/ref"
	"github.com/gotrain/gotrain/backend/exec"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models/nn"
)

// The convolution and pooling oracle: our models/nn Conv2d and MaxPool2d, lowered by our executor
// to the device, against Gorgonia's own Conv2d (im2col, a matrix product, a transpose) and
// MaxPool2D on its TapeMachine, forward and backward, in float64 to 1e-12 relative. The loss is
// ⟨r, y⟩ for a random r, so the gradients are the backward ops applied to r.
//
// Gorgonia's MaxPool2D agrees with PyTorch (and us) when the padding is at most half the kernel,
// the cases below. Beyond that PyTorch refuses the padding and so do we, while Gorgonia accepts it
// and gives a window that lies wholly in the padding the value -MaxFloat64 (with a mask index of
// -1, which its backward pass then uses as an index); the last subtest records that difference.
// Gorgonia's MaxPool2D has no dilation and no average pooling, so AvgPool2d is checked against
// the reference and central differences only (TestPool2D).

type oracleConv struct {
	g    kernels.Conv2D
	name string
}

var oracleConvCases = []oracleConv{
	{conv(2, 3, 7, 6, 4, 3, 2, 2, 1, 1, 1, 1, 2), "odd sizes, stride 2×1, dilation 1×2"},
	{conv(3, 2, 5, 7, 3, 3, 3, 1, 2, 2, 2, 1, 1), "padding beyond half the kernel"},
	{conv(1, 2, 8, 8, 3, 3, 3, 1, 1, 0, 0, 2, 2), "batch 1, dilation 2"},
	{conv(2, 3, 1, 1, 2, 3, 3, 1, 1, 1, 1, 1, 1), "1×1 images"},
	{conv(4, 1, 12, 12, 6, 5, 5, 1, 1, 2, 2, 1, 1), "LeNet's first layer"},
}

var oracleMaxPoolCases = []struct {
	g    kernels.Pool2D
	name string
}{
	{pool(kernels.MaxPool, 2, 3, 6, 6, 2, 2, 2, 2, 0, 0), "2×2 windows, stride 2"},
	{pool(kernels.MaxPool, 1, 2, 7, 5, 3, 3, 1, 2, 1, 1), "overlapping 3×3 windows, padding 1, batch 1"},
	{pool(kernels.MaxPool, 3, 2, 9, 8, 3, 2, 2, 3, 1, 1), "odd sizes, rectangular window"},
	{pool(kernels.MaxPool, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0), "1×1 images"},
}

// TestOracleConvPool checks Conv2d and MaxPool2d on dev against Gorgonia's Conv2d and MaxPool2D
// on the TapeMachine (see the comment above).
func TestOracleConvPool(t *testing.T, dev backend.Device) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, c := range oracleConvCases {
		t.Run(fmt.Sprintf("Conv2d matches Gorgonia's Conv2d: %s (%v)", c.name, c.g), func(t *testing.T) {
			g := c.g
			x, w, r := randNormal(rng, g.XLen()), randNormal(rng, g.WLen()), randNormal(rng, g.YLen())
			xs, ws := tensor.Shape{g.N, g.C, g.H, g.W}, tensor.Shape{g.OutC, g.C, g.KH, g.KW}
			want := gorgoniaRun(t, xs, ws, x, w, r, func(x, w *G.Node) (*G.Node, error) {
				return G.Conv2d(x, w, tensor.Shape{g.KH, g.KW}, []int{g.PadH, g.PadW}, []int{g.StrideH, g.StrideW}, []int{g.DilH, g.DilW})
			})
			got := oursRun(t, dev, xs, ws, x, w, r, func(x, w *G.Node) (*G.Node, error) {
				return nn.Conv2d(x, w, nil, nn.ConvOpts{Stride: [2]int{g.StrideH, g.StrideW}, Padding: [2]int{g.PadH, g.PadW},
					Dilation: [2]int{g.DilH, g.DilW}})
			})
			compareOracle(t, got, want)
		})
	}
	for _, c := range oracleMaxPoolCases {
		t.Run(fmt.Sprintf("MaxPool2d matches Gorgonia's MaxPool2D: %s (%v)", c.name, c.g), func(t *testing.T) {
			g := c.g
			x, r := randNormal(rng, g.XLen()), randNormal(rng, g.YLen())
			xs := tensor.Shape{g.N, g.C, g.H, g.W}
			want := gorgoniaRun(t, xs, nil, x, nil, r, func(x, _ *G.Node) (*G.Node, error) {
				return G.MaxPool2D(x, tensor.Shape{g.KH, g.KW}, []int{g.PadH, g.PadW}, []int{g.StrideH, g.StrideW})
			})
			got := oursRun(t, dev, xs, nil, x, nil, r, func(x, _ *G.Node) (*G.Node, error) {
				return nn.MaxPool2d(x, [2]int{g.KH, g.KW}, nn.PoolOpts{Stride: [2]int{g.StrideH, g.StrideW}, Padding: [2]int{g.PadH, g.PadW}})
			})
			compareOracle(t, got, want)
		})
	}
	t.Run("beyond half the kernel, Gorgonia pads where PyTorch and we refuse", func(t *testing.T) {
		gr := G.NewGraph()
		x := G.NewTensor(gr, tensor.Float64, 4, G.WithShape(1, 1, 1, 1), G.WithName("x"),
			G.WithValue(tensor.New(tensor.WithShape(1, 1, 1, 1), tensor.WithBacking([]float64{3}))))
		y, err := G.MaxPool2D(x, tensor.Shape{2, 2}, []int{2, 2}, []int{2, 2})
		require.NoError(t, err, "Gorgonia accepts padding 2 for a 2×2 kernel")
		m := G.NewTapeMachine(gr)
		defer m.Close()
		require.NoError(t, m.RunAll())
		assert.Equal(t, []float64{-math.MaxFloat64, -math.MaxFloat64, -math.MaxFloat64, 3}, y.Value().Data(),
			"windows wholly in the padding hold -MaxFloat64")
		_, err = nn.MaxPool2d(x, [2]int{2, 2}, nn.PoolOpts{Stride: [2]int{2, 2}, Padding: [2]int{2, 2}})
		require.ErrorIs(t, err, nn.ErrInvalid)
	})
}

func randNormal(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

// oracleOut is a layer's output and the gradients of ⟨r, y⟩ (dw nil for a pooling).
type oracleOut struct{ y, dx, dw []float64 }

func compareOracle(t *testing.T, got, want oracleOut) {
	t.Helper()
	const rtol = 1e-12
	checkClose(t, "y", got.y, want.y, tol{rtol * ref.MaxAbs(want.y), rtol})
	checkClose(t, "dx", got.dx, want.dx, tol{rtol * ref.MaxAbs(want.dx), rtol})
	if want.dw != nil {
		checkClose(t, "dw", got.dw, want.dw, tol{rtol * ref.MaxAbs(want.dw), rtol})
	}
}

func leaf(g *G.ExprGraph, name string, s tensor.Shape, v []float64) *G.Node {
	return G.NewTensor(g, tensor.Float64, len(s), G.WithShape(s...), G.WithName(name),
		G.WithValue(tensor.New(tensor.WithShape(s...), tensor.WithBacking(append([]float64(nil), v...)))))
}

// gorgoniaRun runs layer (Gorgonia's op) and the gradients of Sum(y ⊙ r) on the TapeMachine.
func gorgoniaRun(t *testing.T, xs, ws tensor.Shape, x, w, r []float64, layer func(x, w *G.Node) (*G.Node, error)) oracleOut {
	t.Helper()
	g := G.NewGraph()
	xn := leaf(g, "x", xs, x)
	var wn *G.Node
	wrt := []*G.Node{xn}
	if ws != nil {
		wn = leaf(g, "w", ws, w)
		wrt = append(wrt, wn)
	}
	y, err := layer(xn, wn)
	require.NoError(t, err)
	rn := leaf(g, "r", y.Shape(), r)
	loss, err := G.Sum(G.Must(G.HadamardProd(y, rn)))
	require.NoError(t, err)
	grads, err := G.Grad(loss, wrt...)
	require.NoError(t, err)
	m := G.NewTapeMachine(g)
	defer m.Close()
	require.NoError(t, m.RunAll())
	out := oracleOut{y: valueF64(y.Value()), dx: valueF64(grads[0].Value())}
	if ws != nil {
		out.dw = valueF64(grads[1].Value())
	}
	return out
}

// oursRun builds layer (ours) and the gradients of Sum(Flatten(y) ⊙ r), compiles them for dev and
// runs them.
func oursRun(t *testing.T, dev backend.Device, xs, ws tensor.Shape, x, w, r []float64, layer func(x, w *G.Node) (*G.Node, error)) oracleOut {
	t.Helper()
	g := G.NewGraph()
	xn := G.NewTensor(g, tensor.Float64, 4, G.WithShape(xs...), G.WithName("x"))
	var wn *G.Node
	wrt := []*G.Node{xn}
	if ws != nil {
		wn = G.NewTensor(g, tensor.Float64, 4, G.WithShape(ws...), G.WithName("w"))
		wrt = append(wrt, wn)
	}
	y, err := layer(xn, wn)
	require.NoError(t, err)
	flat, err := nn.Flatten(y)
	require.NoError(t, err)
	rn := G.NewMatrix(g, tensor.Float64, G.WithShape(flat.Shape()...), G.WithName("r"))
	loss, err := G.Sum(G.Must(G.HadamardProd(flat, rn)))
	require.NoError(t, err)
	grads, err := G.Grad(loss, wrt...)
	require.NoError(t, err)
	bind := map[*G.Node]backend.Buffer{xn: oracleBuf(t, dev, backend.Float64, x), rn: oracleBuf(t, dev, backend.Float64, r)}
	if wn != nil {
		bind[wn] = oracleBuf(t, dev, backend.Float64, w)
	}
	plan, err := exec.Compile(g, exec.Config{Device: dev, DType: backend.Float64, Targets: append([]*G.Node{y, loss}, grads...), Bind: bind})
	require.NoError(t, err)
	defer plan.Close()
	require.NoError(t, plan.Run())
	buf := func(n *G.Node) []float64 {
		b, ok := plan.Buffer(n)
		require.True(t, ok)
		return readAs(t, dev, b, n.Name())
	}
	out := oracleOut{y: buf(y), dx: buf(grads[0])}
	if ws != nil {
		out.dw = buf(grads[1])
	}
	return out
}
