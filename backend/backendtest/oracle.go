package backendtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest/ref"
	"github.com/gotrain/gotrain/backend/exec"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The oracle tests compare a device, through our executor, against Gorgonia's own TapeMachine
// and solvers on the same data: Gorgonia is the reference the whole stack is held to.

// oracleCase is a small MLP whose hidden activation Gorgonia has natively.
type oracleCase struct {
	name   string
	act    kernels.Activation
	native func(*G.Node) (*G.Node, error)
}

var oracleCases = []oracleCase{
	{"relu", kernels.ReLU, G.Rectify},
	{"tanh", kernels.Tanh, G.Tanh},
	{"sigmoid", kernels.Sigmoid, G.Sigmoid},
}

const (
	oracleBatch   = 13 // odd on purpose
	oracleInputs  = 17
	oracleOutputs = 5
)

func oracleSpec(act kernels.Activation) models.Spec {
	s, err := models.ParseSpec(fmt.Sprintf("%d-11-7-%d", oracleInputs, oracleOutputs), act, kernels.SoftmaxCrossEntropy)
	if err != nil {
		panic(err) // a constant spec
	}
	return s
}

// NativeMLP is a softmax-cross-entropy MLP written only with Gorgonia's own ops (Mul,
// BroadcastAdd, the activation, LogSoftMax, HadamardProd, Sum, Div, Neg), with gorgonia.Grad's
// gradients: the reference the oracle tests and the benchmarks' baseline run on the TapeMachine.
type NativeMLP struct {
	G      *G.ExprGraph
	X, Y   *G.Node
	Loss   *G.Node
	Params []*G.Node
	Grads  []*G.Node
}

// BuildNativeMLP builds spec (whose loss must be softmax cross-entropy) for one batch size;
// act is the Gorgonia op for the hidden activation (gorgonia.Rectify, Tanh, Sigmoid).
func BuildNativeMLP(spec models.Spec, batch int, act func(*G.Node) (*G.Node, error), dt tensor.Dtype) (*NativeMLP, error) {
	if spec.Loss != kernels.SoftmaxCrossEntropy {
		return nil, fmt.Errorf("backendtest: BuildNativeMLP: loss %v, only softmax-ce has a native form", spec.Loss)
	}
	g := G.NewGraph()
	ng := &NativeMLP{G: g}
	ng.X = G.NewMatrix(g, dt, G.WithShape(batch, spec.Inputs), G.WithName("x"))
	ng.Y = G.NewMatrix(g, dt, G.WithShape(batch, spec.Outputs()), G.WithName("y"))
	h := ng.X
	for i, sh := range spec.ParamShapes() {
		if i%2 == 1 {
			continue
		}
		w := G.NewMatrix(g, dt, G.WithShape(sh...), G.WithName(fmt.Sprintf("w%d", i/2+1)))
		b := G.NewVector(g, dt, G.WithShape(sh[1]), G.WithName(fmt.Sprintf("b%d", i/2+1)))
		ng.Params = append(ng.Params, w, b)
		z, err := G.Mul(h, w)
		if err != nil {
			return nil, err
		}
		if z, err = G.BroadcastAdd(z, b, nil, []byte{0}); err != nil {
			return nil, err
		}
		if i/2 < len(spec.Layers)-1 {
			if z, err = act(z); err != nil {
				return nil, err
			}
		}
		h = z
	}
	logp, err := G.LogSoftMax(h)
	if err != nil {
		return nil, err
	}
	prod, err := G.HadamardProd(logp, ng.Y)
	if err != nil {
		return nil, err
	}
	sum, err := G.Sum(prod)
	if err != nil {
		return nil, err
	}
	var rows *G.Node
	if dt == tensor.Float64 {
		rows = G.NewConstant(float64(batch))
	} else {
		rows = G.NewConstant(float32(batch))
	}
	mean, err := G.Div(sum, rows)
	if err != nil {
		return nil, err
	}
	if ng.Loss, err = G.Neg(mean); err != nil {
		return nil, err
	}
	ng.Grads, err = G.Grad(ng.Loss, ng.Params...)
	return ng, err
}

// oracleData draws inputs, one-hot targets and weights.
func oracleData(spec models.Spec, rng *rand.Rand) (x, y []float64, params [][]float64) {
	x = make([]float64, oracleBatch*spec.Inputs)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	y = make([]float64, oracleBatch*spec.Outputs())
	for r := 0; r < oracleBatch; r++ {
		y[r*spec.Outputs()+rng.IntN(spec.Outputs())] = 1
	}
	params = spec.InitParams(models.InitGlorot, rng)
	for _, p := range params { // non-zero biases, so their gradients are exercised
		for i := range p {
			p[i] += 0.1 * rng.NormFloat64()
		}
	}
	return x, y, params
}

func gorgoniaValue(dt tensor.Dtype, shape tensor.Shape, v []float64) G.Value {
	if dt == tensor.Float64 {
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float64(nil), v...)))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(f32(v)))
}

func f32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func valueF64(v G.Value) []float64 {
	switch d := v.Data().(type) {
	case []float64:
		return append([]float64(nil), d...)
	case []float32:
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = float64(x)
		}
		return out
	case float64:
		return []float64{d}
	case float32:
		return []float64{float64(d)}
	}
	panic(fmt.Sprintf("unexpected value data %T", v.Data()))
}

// tapeRun evaluates the native graph on Gorgonia's TapeMachine: loss and gradients.
func tapeRun(t *testing.T, ng *NativeMLP, dt tensor.Dtype, x, y []float64, params [][]float64) (float64, [][]float64) {
	t.Helper()
	require.NoError(t, G.Let(ng.X, gorgoniaValue(dt, ng.X.Shape(), x)))
	require.NoError(t, G.Let(ng.Y, gorgoniaValue(dt, ng.Y.Shape(), y)))
	for i, p := range ng.Params {
		require.NoError(t, G.Let(p, gorgoniaValue(dt, p.Shape(), params[i])))
	}
	m := G.NewTapeMachine(ng.G)
	defer m.Close()
	require.NoError(t, m.RunAll())
	grads := make([][]float64, len(ng.Grads))
	for i, g := range ng.Grads {
		grads[i] = valueF64(g.Value())
	}
	return valueF64(ng.Loss.Value())[0], grads
}

func backendDType(dt tensor.Dtype) backend.DType {
	if dt == tensor.Float64 {
		return backend.Float64
	}
	return backend.Float32
}

// planRun compiles g on dev with params bound, writes x and y, runs it, and returns the loss
// and gradients.
func planRun(t *testing.T, dev backend.Device, dt tensor.Dtype, g *G.ExprGraph, xn, yn, loss *G.Node,
	pn, gn []*G.Node, x, y []float64, params [][]float64) (float64, [][]float64) {
	t.Helper()
	bdt := backendDType(dt)
	bind := map[*G.Node]backend.Buffer{}
	for i, p := range pn {
		bind[p] = oracleBuf(t, dev, bdt, params[i])
		// Gradients land in caller-owned buffers, as in training; for Gorgonia's graph a bias
		// gradient is a reshape, which exercises the executor's copy into a bound buffer.
		bind[gn[i]] = oracleBuf(t, dev, bdt, make([]float64, len(params[i])))
	}
	plan, err := exec.Compile(g, exec.Config{Device: dev, DType: bdt, Targets: append([]*G.Node{loss}, gn...), Bind: bind})
	require.NoError(t, err)
	defer plan.Close()
	xb, ok := plan.Buffer(xn)
	require.True(t, ok)
	yb, ok := plan.Buffer(yn)
	require.True(t, ok)
	oracleWrite(t, dev, xb, x)
	oracleWrite(t, dev, yb, y)
	require.NoError(t, plan.Run())
	lb, _ := plan.Buffer(loss)
	grads := make([][]float64, len(gn))
	for i, g := range gn {
		b, ok := plan.Buffer(g)
		require.True(t, ok)
		grads[i] = readAs(t, dev, b, g.Name())
	}
	return readAs(t, dev, lb, "loss")[0], grads
}

// TestOracleGradients checks, for float64 (1e-12 relative) and float32 (1e-5), that the loss and
// gradients of an MLP computed on dev equal Gorgonia's TapeMachine: once by running Gorgonia's
// own graph through our executor, and once with our model graph (our fused ops) on the same
// weights and data.
func TestOracleGradients(t *testing.T, dev backend.Device) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		rtol := 1e-12
		if dt == tensor.Float32 {
			rtol = 1e-5
		}
		for _, oc := range oracleCases {
			t.Run(fmt.Sprintf("%v MLP with %s matches the TapeMachine", dt, oc.name), func(t *testing.T) {
				spec := oracleSpec(oc.act)
				x, y, params := oracleData(spec, rand.New(rand.NewPCG(7, uint64(len(oc.name)))))
				ng, err := BuildNativeMLP(spec, oracleBatch, oc.native, dt)
				require.NoError(t, err)
				wantLoss, wantGrads := tapeRun(t, ng, dt, x, y, params)
				require.False(t, math.IsNaN(wantLoss))

				gotLoss, gotGrads := planRun(t, dev, dt, ng.G, ng.X, ng.Y, ng.Loss, ng.Params, ng.Grads, x, y, params)
				checkClose(t, "loss (Gorgonia graph on our executor)", []float64{gotLoss}, []float64{wantLoss}, tol{0, rtol})
				for i := range wantGrads {
					checkClose(t, fmt.Sprintf("grad %s (Gorgonia graph on our executor)", ng.Params[i].Name()), gotGrads[i], wantGrads[i], tol{rtol * ref.MaxAbs(wantGrads[i]), rtol})
				}

				m, err := spec.Build(oracleBatch, dt, true)
				require.NoError(t, err)
				gotLoss, gotGrads = planRun(t, dev, dt, m.Graph, m.X, m.Y, m.Loss, m.Params, m.Grads, x, y, params)
				checkClose(t, "loss (our model graph)", []float64{gotLoss}, []float64{wantLoss}, tol{0, rtol})
				for i := range wantGrads {
					checkClose(t, fmt.Sprintf("grad %s (our model graph)", m.Params[i].Name()), gotGrads[i], wantGrads[i], tol{rtol * ref.MaxAbs(wantGrads[i]), rtol})
				}
			})
		}
	}
}

// TestOracleSGD checks that 10 steps of our SGD on dev follow Gorgonia's VanillaSolver
// trajectory on the TapeMachine (float64, 1e-12 relative on every weight after every step).
func TestOracleSGD(t *testing.T, dev backend.Device) {
	const lr, steps = 0.3, 10
	dt := tensor.Float64
	spec := oracleSpec(kernels.Tanh)
	rng := rand.New(rand.NewPCG(11, 12))
	x, y, params := oracleData(spec, rng)

	ng, err := BuildNativeMLP(spec, oracleBatch, G.Tanh, dt)
	require.NoError(t, err)
	for i, p := range ng.Params {
		require.NoError(t, G.Let(p, gorgoniaValue(dt, p.Shape(), params[i])))
	}
	require.NoError(t, G.Let(ng.X, gorgoniaValue(dt, ng.X.Shape(), x)))
	require.NoError(t, G.Let(ng.Y, gorgoniaValue(dt, ng.Y.Shape(), y)))
	vm := G.NewTapeMachine(ng.G, G.BindDualValues(ng.Params...))
	defer vm.Close()
	solver := G.NewVanillaSolver(G.WithLearnRate(lr))

	m, err := spec.Build(oracleBatch, dt, true)
	require.NoError(t, err)
	pbufs := make([]backend.Buffer, len(params))
	gbufs := make([]backend.Buffer, len(params))
	bind := map[*G.Node]backend.Buffer{}
	for i := range params {
		pbufs[i] = oracleBuf(t, dev, backend.Float64, params[i])
		gbufs[i] = oracleBuf(t, dev, backend.Float64, make([]float64, len(params[i])))
		bind[m.Params[i]], bind[m.Grads[i]] = pbufs[i], gbufs[i]
	}
	plan, err := exec.Compile(m.Graph, exec.Config{Device: dev, DType: backend.Float64, Targets: append([]*G.Node{m.Loss}, m.Grads...), Bind: bind})
	require.NoError(t, err)
	defer plan.Close()
	xb, _ := plan.Buffer(m.X)
	yb, _ := plan.Buffer(m.Y)
	oracleWrite(t, dev, xb, x)
	oracleWrite(t, dev, yb, y)
	opt := optim.MustNamed("sgd", lr)
	require.NoError(t, opt.Attach(dev, pbufs))
	defer opt.Close()

	for s := 1; s <= steps; s++ {
		require.NoError(t, vm.RunAll())
		require.NoError(t, solver.Step(G.NodesToValueGrads(ng.Params)))
		vm.Reset()
		require.NoError(t, plan.Run())
		require.NoError(t, opt.Step(gbufs))
		for i, p := range ng.Params {
			want := valueF64(p.Value())
			require.True(t, checkClose(t, fmt.Sprintf("step %d %s", s, p.Name()), readAs(t, dev, pbufs[i], p.Name()), want, tol{1e-12 * ref.MaxAbs(want), 1e-12}))
		}
	}
}

// oracleBuf allocates a buffer of dt holding v, freed when the test ends.
func oracleBuf(t *testing.T, dev backend.Device, dt backend.DType, v []float64) backend.Buffer {
	t.Helper()
	b, err := dev.Alloc(dt, len(v))
	require.NoError(t, err)
	t.Cleanup(func() { dev.Free(b) })
	oracleWrite(t, dev, b, v)
	return b
}

func oracleWrite(t *testing.T, dev backend.Device, b backend.Buffer, v []float64) {
	t.Helper()
	var src any = v
	if b.DType() == backend.Float32 {
		src = f32(v)
	}
	require.NoError(t, dev.Write(b, src))
}
