package train_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gotrain/gotrain/backend/backendtest"
	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LeNet-5 for 28×28 MNIST digits, as PyTorch tutorials write it: conv 6@5×5 padding 2, ReLU, 2×2
// max pooling, conv 16@5×5, ReLU, 2×2 max pooling, then dense 400-120-84-10 with ReLU, softmax
// cross-entropy. lenetShapes are its parameters in order (weights [out, in, kh, kw] and [in, out]
// as the dense layers of models.Spec).
var lenetShapes = [][]int{{6, 1, 5, 5}, {6}, {16, 6, 5, 5}, {16}, {400, 120}, {120}, {120, 84}, {84}, {84, 10}, {10}}

// lenet is a built LeNet-5 graph.
type lenet struct {
	g          *G.ExprGraph
	x, y, loss *G.Node
	params     []*G.Node
	grads      G.Nodes
}

func lenetName(i int) string {
	return [...]string{"conv1.w", "conv1.b", "conv2.w", "conv2.b", "fc1.w", "fc1.b", "fc2.w", "fc2.b", "fc3.w", "fc3.b"}[i]
}

// buildNativeLeNet builds the same network from Gorgonia's own ops: Conv2d (im2col, a product, a
// transpose), a broadcast bias, Rectify, MaxPool2D, Reshape, Mul, BroadcastAdd, LogSoftMax and
// the mean of -y·log p.
func buildNativeLeNet(tb testing.TB, batch int) *lenet {
	dt := tensor.Float32
	g := G.NewGraph()
	m := &lenet{g: g}
	for i, s := range lenetShapes {
		if i < 4 && len(s) == 1 { // conv biases as [1, C, 1, 1] for BroadcastAdd
			s = []int{1, s[0], 1, 1}
		}
		m.params = append(m.params, G.NewTensor(g, dt, len(s), G.WithShape(s...), G.WithName(lenetName(i))))
	}
	m.x = G.NewTensor(g, dt, 4, G.WithShape(batch, 1, 28, 28), G.WithName("x"))
	m.y = G.NewMatrix(g, dt, G.WithShape(batch, 10), G.WithName("y"))
	p := m.params
	conv := func(h, w, b *G.Node, pad int) *G.Node {
		h = G.Must(G.Conv2d(h, w, tensor.Shape{5, 5}, []int{pad, pad}, []int{1, 1}, []int{1, 1}))
		h = G.Must(G.BroadcastAdd(h, b, nil, []byte{0, 2, 3}))
		h = G.Must(G.Rectify(h))
		return G.Must(G.MaxPool2D(h, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}))
	}
	h := conv(m.x, p[0], p[1], 2)
	h = conv(h, p[2], p[3], 0)
	h = G.Must(G.Reshape(h, tensor.Shape{batch, 400}))
	for l := 0; l < 3; l++ {
		h = G.Must(G.BroadcastAdd(G.Must(G.Mul(h, p[4+2*l])), p[5+2*l], nil, []byte{0}))
		if l < 2 {
			h = G.Must(G.Rectify(h))
		}
	}
	logp := G.Must(G.LogSoftMax(h))
	sum := G.Must(G.Sum(G.Must(G.HadamardProd(logp, m.y))))
	m.loss = G.Must(G.Neg(G.Must(G.Div(sum, G.NewConstant(float32(batch))))))
	var err error
	m.grads, err = G.Grad(m.loss, m.params...)
	require.NoError(tb, err)
	return m
}

// lenetBatch draws a batch of random images and one-hot labels.
func lenetBatch(batch int) (x, y []float32) {
	rng := rand.New(rand.NewPCG(5, 6))
	x, y = make([]float32, batch*784), make([]float32, batch*10)
	for i := range x {
		x[i] = float32(rng.Float64())
	}
	for r := 0; r < batch; r++ {
		y[r*10+rng.IntN(10)] = 1
	}
	return x, y
}

// BenchmarkLeNetStep times one Adam training step of LeNet-5 at batch 128 in float32: ours (the
// lenet5 preset through the trainer on the CPU device: the batch written, the plan run, the loss,
// correct count and gradient norm read back, the update applied) against Gorgonia's TapeMachine
// and AdamSolver on its own Conv2d and MaxPool2D graph from the same initial weights, in the same
// process. Compare the two ns/op figures.
func BenchmarkLeNetStep(b *testing.B) {
	const batch = 128
	x, y := lenetBatch(batch)
	model, err := models.ParseModel("lenet5", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(b, err)
	data := &train.Dataset{X: x, Y: y, N: batch, Features: 784, Outputs: 10, Shape: []int{1, 28, 28}}
	tr, err := train.New(train.Config{Model: model, Device: newDevice(b), Optimizer: optim.MustNamed("adam", 1e-3), BatchSize: batch, Seed: 1})
	require.NoError(b, err)
	defer tr.Close()
	init, err := tr.Params()
	require.NoError(b, err)

	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		first, last := backendtest.TimeSteps(b, batch, 1, backendtest.TrainerStep(b, tr, data, backendtest.FirstN(batch)))
		if !(last < first) {
			b.Fatalf("the loss did not fall on a fixed batch: %v then %v", first, last)
		}
	})

	b.Run("gorgonia", func(b *testing.B) {
		m := buildNativeLeNet(b, batch)
		backendtest.TimeGorgoniaAdamSteps(b, m.g, m.params, init, m.x, m.y, x, y)
	})
}
