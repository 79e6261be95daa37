package exec_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest/ref"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/backend/exec"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/models/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func newDevice(t *testing.T) backend.Device {
	d, err := cpu.New(0)
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d
}

func TestAnUnsupportedOpIsACompileErrorNamingOpAndNode(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(2, 3), G.WithName("x"))
	y := G.Must(G.Sin(x))
	_, err := exec.Compile(g, exec.Config{Device: newDevice(t), DType: backend.Float64, Targets: []*G.Node{y}})
	require.ErrorIs(t, err, exec.ErrUnsupported)
	assert.Contains(t, err.Error(), "sin")
	assert.Contains(t, err.Error(), y.Name())
}

func TestOnlyTheTargetsAncestorsAreLowered(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(2, 3), G.WithName("x"))
	a := G.Must(G.Neg(x))
	_ = G.Must(G.Sin(x)) // unsupported, but not needed for a
	p, err := exec.Compile(g, exec.Config{Device: newDevice(t), DType: backend.Float64, Targets: []*G.Node{a}})
	require.NoError(t, err)
	defer p.Close()
	assert.Equal(t, 1, p.Steps())
}

func TestCompileRejectsBadConfigs(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(2, 3), G.WithName("x"))
	a := G.Must(G.Neg(x))
	dev := newDevice(t)
	other := G.NewGraph()
	stray := G.NewScalar(other, tensor.Float64, G.WithName("stray"))
	small, err := dev.Alloc(backend.Float64, 5)
	require.NoError(t, err)
	cases := []struct {
		name string
		cfg  exec.Config
		want string
	}{
		{"no device", exec.Config{DType: backend.Float64, Targets: []*G.Node{a}}, "no device"},
		{"no targets", exec.Config{Device: dev, DType: backend.Float64}, "no targets"},
		{"a target from another graph", exec.Config{Device: dev, DType: backend.Float64, Targets: []*G.Node{stray}}, "not in the graph"},
		{"a dtype the graph does not have", exec.Config{Device: dev, DType: backend.Float32, Targets: []*G.Node{a}}, "dtype"},
		{"a bound buffer of the wrong size", exec.Config{Device: dev, DType: backend.Float64, Targets: []*G.Node{a},
			Bind: map[*G.Node]backend.Buffer{x: small}}, "5 elements"},
	}
	for _, c := range cases {
		t.Run(c.name+" is an error", func(t *testing.T) {
			_, err := exec.Compile(g, c.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// TestFanOutGradientsAccumulate differentiates a graph where x feeds three branches (Gorgonia
// adds their gradients with + nodes) and a bound reshape result, and checks the executor's
// gradient against the closed form.
func TestFanOutGradientsAccumulate(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(3, 4), G.WithName("x"))
	a := G.Must(nn.Activate(x, kernels.Tanh, 0))
	b := G.Must(G.Square(x))
	c := G.Must(G.HadamardProd(a, x))
	s := G.Must(G.Sum(G.Must(G.Add(G.Must(G.Add(a, b)), c))))
	grads, err := G.Grad(s, x)
	require.NoError(t, err)

	dev := newDevice(t)
	gb, err := dev.Alloc(backend.Float64, 12)
	require.NoError(t, err)
	p, err := exec.Compile(g, exec.Config{Device: dev, DType: backend.Float64, Targets: []*G.Node{s, grads[0]},
		Bind: map[*G.Node]backend.Buffer{grads[0]: gb}})
	require.NoError(t, err)
	defer p.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	xv := make([]float64, 12)
	for i := range xv {
		xv[i] = rng.NormFloat64()
	}
	xb, ok := p.Buffer(x)
	require.True(t, ok)
	require.NoError(t, dev.Write(xb, xv))
	require.NoError(t, p.Run())
	got := make([]float64, 12)
	require.NoError(t, dev.Read(got, gb))
	for i, v := range xv {
		d := ref.ActDeriv(kernels.Tanh, 0, v) // s = Σ tanh x + x² + x·tanh x
		want := d + 2*v + (ref.Act(kernels.Tanh, 0, v) + v*d)
		assert.InDelta(t, want, got[i], 1e-12, "element %d", i)
	}
}

// TestAPlanRunsBatchAfterBatch checks a compiled model plan gives the same loss when run twice
// on the same inputs (no state leaks between runs) and another loss on other inputs.
func TestAPlanRunsBatchAfterBatch(t *testing.T) {
	spec, err := models.ParseSpec("6-5-3", kernels.GELU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	m, err := spec.Build(4, tensor.Float32, true)
	require.NoError(t, err)
	dev := newDevice(t)
	bind := map[*G.Node]backend.Buffer{}
	rng := rand.New(rand.NewPCG(3, 4))
	for i, v := range spec.InitParams(models.InitAuto, rng) {
		b, err := dev.Alloc(backend.Float32, len(v))
		require.NoError(t, err)
		require.NoError(t, dev.Write(b, f32(v)))
		bind[m.Params[i]] = b
	}
	p, err := exec.Compile(m.Graph, exec.Config{Device: dev, DType: backend.Float32, Targets: append([]*G.Node{m.Loss}, m.Grads...), Bind: bind})
	require.NoError(t, err)
	defer p.Close()
	xb, _ := p.Buffer(m.X)
	yb, _ := p.Buffer(m.Y)
	lb, _ := p.Buffer(m.Loss)
	run := func(seed uint64) float32 {
		r := rand.New(rand.NewPCG(seed, 0))
		x := make([]float32, 24)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		y := make([]float32, 12)
		for i := 0; i < 4; i++ {
			y[i*3+r.IntN(3)] = 1
		}
		require.NoError(t, dev.Write(xb, x))
		require.NoError(t, dev.Write(yb, y))
		require.NoError(t, p.Run())
		l := make([]float32, 1)
		require.NoError(t, dev.Read(l, lb))
		return l[0]
	}
	a, b, c := run(1), run(1), run(2)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, c)
	assert.Contains(t, p.Describe(), "loss:softmax-ce")
}

func f32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// hidden hides the CPU device's View: a device that cannot view part of a buffer.
type hidden struct{ backend.Device }

// TestARecycledPlanHandsOutOnlyLiveValues compiles a chain whose nodes shrink and grow, with and
// without recycling, on a device with views and on one without: the outputs are equal, the
// recycled plans own fewer elements (fewest with views), the intermediate nodes' buffers are not
// handed out, and the input, the targets and the Keep nodes' are, holding their values.
func TestARecycledPlanHandsOutOnlyLiveValues(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(4, 6), G.WithName("x"))
	a := G.Must(G.Exp(x))                                                                      // 24
	b := G.Must(G.Neg(a))                                                                      // 24, a dies
	c := G.Must(G.Sum(b, 1))                                                                   // 4, b dies: c can live in a's buffer
	d := G.Must(G.Square(c))                                                                   // 4
	rd := G.Must(G.Reshape(d, tensor.Shape{4, 1}))                                             // an alias of d's buffer
	e := G.Must(G.Mul(rd, G.NewMatrix(g, tensor.Float64, G.WithShape(1, 6), G.WithName("w")))) // 4x1 · 1x6 = 24
	f := G.Must(G.Tanh(e))                                                                     // 24, the target
	xs := make([]float64, 24)
	for i := range xs {
		xs[i] = float64(i%5)/7 - 0.3
	}
	ws := []float64{0.5, -1, 0.25, 2, -0.125, 1}
	run := func(dev backend.Device, recycle bool) (*exec.Plan, []float64, []float64) {
		w, err := dev.Alloc(backend.Float64, 6)
		require.NoError(t, err)
		require.NoError(t, dev.Write(w, ws))
		var wn *G.Node
		for _, n := range g.AllNodes() {
			if n.Name() == "w" {
				wn = n
			}
		}
		p, err := exec.Compile(g, exec.Config{Device: dev, DType: backend.Float64, Targets: []*G.Node{f}, Keep: []*G.Node{c},
			Bind: map[*G.Node]backend.Buffer{wn: w}, Recycle: recycle})
		require.NoError(t, err)
		t.Cleanup(p.Close)
		xb, ok := p.Buffer(x)
		require.True(t, ok, "the input")
		require.NoError(t, dev.Write(xb, xs))
		require.NoError(t, p.Run())
		require.NoError(t, p.Run()) // a second run on the same input gives the same values
		out := func(n *G.Node) []float64 {
			bf, ok := p.Buffer(n)
			require.True(t, ok, "node %s", n.Name())
			v := make([]float64, bf.Len())
			require.NoError(t, dev.Read(v, bf))
			return v
		}
		return p, out(f), out(c)
	}
	dev := newDevice(t)
	base, wantF, wantC := run(dev, false)
	owned, unshared := base.Elements()
	assert.Equal(t, unshared, owned)
	_, ok := base.Buffer(b)
	assert.True(t, ok, "without recycling every node's buffer holds its value")
	prev := owned
	for _, device := range []backend.Device{hidden{dev}, dev} {
		p, gotF, gotC := run(device, true)
		assert.Equal(t, wantF, gotF)
		assert.Equal(t, wantC, gotC, "a Keep node holds its value")
		recycled := []*G.Node{a, b}
		if _, views := device.(backend.Viewer); views {
			// f, the target, takes d's buffer: neither d nor its reshape holds d's value.
			recycled = append(recycled, d, rd)
		}
		for _, n := range recycled {
			_, ok := p.Buffer(n)
			assert.False(t, ok, "node %s's buffer is recycled", n.Name())
		}
		o, u := p.Elements()
		assert.Equal(t, unshared, u)
		assert.Less(t, o, prev)
		prev = o
	}
}

// TestPlansOfAnArenaShareBuffers compiles an MLP's training plans for batches of 4 and 3 into
// one arena: the second plan adds no buffer to it, both plans, run one after the other, give the
// losses and gradients that plans of their own give, and an arena of another device is refused.
func TestPlansOfAnArenaShareBuffers(t *testing.T) {
	spec, err := models.ParseSpec("6-5-3", kernels.GELU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	dev := newDevice(t)
	init := spec.InitParams(models.InitAuto, rand.New(rand.NewPCG(3, 4)))
	params := make([]backend.Buffer, len(init))
	for i, v := range init {
		params[i], err = dev.Alloc(backend.Float32, len(v))
		require.NoError(t, err)
		require.NoError(t, dev.Write(params[i], f32(v)))
	}
	compile := func(rows int, arena *exec.Arena) (*exec.Plan, *models.Graph) {
		m, err := spec.Build(rows, tensor.Float32, true)
		require.NoError(t, err)
		bind := map[*G.Node]backend.Buffer{}
		for i, p := range m.Params {
			bind[p] = params[i]
		}
		p, err := exec.Compile(m.Graph, exec.Config{Device: dev, DType: backend.Float32, Targets: append([]*G.Node{m.Loss}, m.Grads...), Bind: bind, Arena: arena})
		require.NoError(t, err)
		t.Cleanup(p.Close)
		return p, m
	}
	run := func(p *exec.Plan, m *models.Graph, rows int) [][]float32 {
		r := rand.New(rand.NewPCG(uint64(rows), 0))
		x, y := make([]float32, rows*6), make([]float32, rows*3)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		for i := range rows {
			y[i*3+r.IntN(3)] = 1
		}
		xb, _ := p.Buffer(m.X)
		yb, _ := p.Buffer(m.Y)
		require.NoError(t, dev.Write(xb, x))
		require.NoError(t, dev.Write(yb, y))
		require.NoError(t, p.Run())
		var out [][]float32
		for _, n := range append([]*G.Node{m.Loss}, m.Grads...) {
			b, ok := p.Buffer(n)
			require.True(t, ok)
			v := make([]float32, b.Len())
			require.NoError(t, dev.Read(v, b))
			out = append(out, v)
		}
		return out
	}
	own4, m4 := compile(4, nil)
	own3, m3 := compile(3, nil)
	want4, want3 := run(own4, m4, 4), run(own3, m3, 3)

	arena := exec.NewArena(dev)
	t.Cleanup(arena.Close)
	a4, n4 := compile(4, arena)
	size := arena.Elements()
	require.Positive(t, size)
	a3, n3 := compile(3, arena)
	assert.Equal(t, size, arena.Elements(), "the 3-row plan fits in the 4-row plan's buffers")
	for range 2 {
		assert.Equal(t, want4, run(a4, n4, 4))
		assert.Equal(t, want3, run(a3, n3, 3))
	}

	other, err := cpu.New(0)
	require.NoError(t, err)
	defer other.Close()
	_, err = exec.Compile(m3.Graph, exec.Config{Device: dev, DType: backend.Float32, Targets: []*G.Node{m3.Loss}, Arena: exec.NewArena(other)})
	require.ErrorIs(t, err, backend.ErrInvalid)
}

// TestBatchNormGradientsAreFused: a training plan merges each batch norm's input-gradient and
// γ-gradient calls, which the graph puts next to each other, into one call
// (backend.OpBatchNormGradInputGamma), and gives the loss, the gradients and the running
// statistics the two calls give, bit for bit; a recycled plan, or one with the merging off,
// keeps them apart.
func TestBatchNormGradientsAreFused(t *testing.T) {
	model, err := models.ParseModel("2x5x5-conv(3,3,pad=1):none-bn-relu-7:none-bn-relu-3", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	dev := newDevice(t)
	const rows = 6
	init := model.InitParams(models.InitAuto, rand.New(rand.NewPCG(5, 6)))
	r := rand.New(rand.NewPCG(7, 8))
	x, y := make([]float32, rows*2*5*5), make([]float32, rows*3)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for i := range rows {
		y[i*3+r.IntN(3)] = 1
	}
	run := func(fuse, recycle bool) (ops []string, out [][]float32) {
		defer exec.SetFuseBatchNorm(fuse)()
		m, err := model.Build(rows, tensor.Float32, true)
		require.NoError(t, err)
		bind := map[*G.Node]backend.Buffer{}
		bufOf := func(vals []float64) backend.Buffer {
			b, err := dev.Alloc(backend.Float32, len(vals))
			require.NoError(t, err)
			require.NoError(t, dev.Write(b, f32(vals)))
			t.Cleanup(func() { dev.Free(b) })
			return b
		}
		for i, p := range m.Params {
			bind[p] = bufOf(init[i])
		}
		var state []*G.Node
		for _, s := range m.State {
			v := make([]float64, s.Node.Shape().TotalSize())
			for i := range v {
				v[i] = s.Init
			}
			bind[s.Node] = bufOf(v)
			state = append(state, s.Node)
		}
		p, err := exec.Compile(m.Graph, exec.Config{Device: dev, DType: backend.Float32, Targets: append([]*G.Node{m.Loss}, m.Grads...), Bind: bind, Recycle: recycle})
		require.NoError(t, err)
		t.Cleanup(p.Close)
		xb, _ := p.Buffer(m.X)
		yb, _ := p.Buffer(m.Y)
		require.NoError(t, dev.Write(xb, x))
		require.NoError(t, dev.Write(yb, y))
		require.NoError(t, p.Run())
		for _, n := range append(append([]*G.Node{m.Loss}, m.Grads...), state...) {
			b := bind[n]
			if b == nil {
				var ok bool
				b, ok = p.Buffer(n)
				require.True(t, ok)
			}
			v := make([]float32, b.Len())
			require.NoError(t, dev.Read(v, b))
			out = append(out, v)
		}
		return exec.DeviceOps(p), out
	}
	count := func(ops []string, name string) (n int) {
		for _, o := range ops {
			if o == name {
				n++
			}
		}
		return n
	}
	fusedOps, fused := run(true, false)
	apartOps, apart := run(false, false)
	recycledOps, recycled := run(true, true)
	assert.Equal(t, 2, count(fusedOps, backend.OpBatchNormGradInputGamma.Name()), "both batch norms' gradients merged")
	assert.Zero(t, count(fusedOps, backend.OpBatchNormGradGamma.Name()))
	assert.Equal(t, len(apartOps)-2, len(fusedOps))
	assert.Equal(t, 2, count(apartOps, backend.OpBatchNormGradGamma.Name()), "merging off")
	assert.Equal(t, 2, count(recycledOps, backend.OpBatchNormGradGamma.Name()), "a recycled plan keeps them apart")
	for i := range apart {
		for j := range apart[i] {
			require.Equal(t, math.Float32bits(apart[i][j]), math.Float32bits(fused[i][j]), "result %d[%d] fused", i, j)
			require.Equal(t, math.Float32bits(apart[i][j]), math.Float32bits(recycled[i][j]), "result %d[%d] recycled", i, j)
		}
	}
}
