package train_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/models/nn"
	"github.com/gotrain/gotrain/optim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
)

// images draws n random images of the given size with labels that depend on the pixels, so a
// model learns something and every layer's gradient matters.
func images(t *testing.T, n int, shape []int, classes int, seed uint64) *train.Dataset {
	features := 1
	for _, d := range shape {
		features *= d
	}
	rng := rand.New(rand.NewPCG(seed, 11))
	x, labels := make([]float32, n*features), make([]uint8, n)
	for i := range n {
		sum := 0.0
		for j := range features {
			v := rng.Float64()
			x[i*features+j] = float32(v)
			if j%3 == 0 {
				sum += v
			}
		}
		labels[i] = uint8(int(sum*7) % classes)
	}
	ds, err := train.Classification(x, labels, features, classes)
	require.NoError(t, err)
	ds.Shape = shape
	return ds
}

// TestRecycledBuffersChangeNoBit trains models of every kind three ways: as the trainer does by
// default (evaluation plans recycle their buffers, training plans do not), with training plans
// recycling too, and with a buffer per node everywhere. It wants the same bits from all three:
// every epoch's losses and accuracies, every diagnostic step's measurements (which read the
// activations after the step), the weights, running statistics and optimizer state, and the
// confusion matrix. The models cover convolutions with padding, stride and dilation, both
// poolings, batch normalisation over channels and features, dropout, a skip connection (a
// fan-out whose gradients add), reshapes and several activations.
func TestRecycledBuffersChangeNoBit(t *testing.T) {
	skip := models.Func{
		Name: "skip", Input: []int{36}, Classes: 4, Loss: kernels.SoftmaxCrossEntropy,
		Weights: []models.Param{
			{Name: "w1", Shape: []int{36, 12}, Act: kernels.GELU}, {Name: "b1", Shape: []int{12}, Kind: models.Bias},
			{Name: "w2", Shape: []int{12, 12}, Act: kernels.Tanh}, {Name: "b2", Shape: []int{12}, Kind: models.Bias},
			{Name: "w3", Shape: []int{12, 4}}, {Name: "b3", Shape: []int{4}, Kind: models.Bias},
		},
		Forward: func(x *G.Node, p models.Nodes, _ bool) (*G.Node, error) {
			dense := func(h *G.Node, w, b string) *G.Node {
				return G.Must(nn.BiasAdd(G.Must(G.Mul(h, p.Get(w))), p.Get(b)))
			}
			h1 := G.Must(nn.Activate(dense(x, "w1", "b1"), kernels.GELU, 0))
			h2 := G.Must(nn.Activate(dense(h1, "w2", "b2"), kernels.Tanh, 0))
			return dense(G.Must(G.Add(h1, h2)), "w3", "b3"), nil
		},
	}
	parse := func(s string) models.Model {
		m, err := models.ParseModel(s, kernels.ReLU, kernels.SoftmaxCrossEntropy)
		require.NoError(t, err)
		return m
	}
	cases := []struct {
		name  string
		model models.Model
		shape []int
	}{
		{"mlp", parse("36-20:sigmoid-16:elu-12:tanh-4"), nil},
		{"skip", skip, nil},
		{"conv bn pool dropout", parse("1x6x6-conv(5,3,pad=1):none-bn-relu-maxpool(2)-conv(6,2,pad=2,dilation=2):relu-avgpool(2,stride=1)-dropout(0.25)-10:none-bn-silu-dropout(0.5)-4"), []int{1, 6, 6}},
		{"strided", parse("2x6x6-conv(4,3,stride=2,pad=1):tanh-conv(3,1)-flatten-7:relu-4"), []int{2, 6, 6}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			shape := c.shape
			if shape == nil {
				shape = []int{36}
			}
			data, test := images(t, 70, shape, 4, 1), images(t, 45, shape, 4, 2)
			type result struct {
				hist  []train.EpochMetrics
				state string
				diag  []string
				conf  [][]int
			}
			run := func(edit func(*train.Config)) result {
				var r result
				cfg := train.Config{Model: c.model, Device: newDevice(t), Optimizer: optim.MustNamed("adam", 0.01),
					BatchSize: 16, EvalBatch: 20, Epochs: 3, Seed: 5, Diagnostics: 2,
					OnDiagnostics: func(d train.Diagnostics) error { r.diag = append(r.diag, fmt.Sprintf("%+v", d)); return nil }}
				edit(&cfg)
				tr, err := train.New(cfg)
				require.NoError(t, err)
				defer tr.Close()
				r.hist, err = tr.Fit(data, test)
				require.NoError(t, err)
				st, err := tr.Snapshot()
				require.NoError(t, err)
				r.state = hashState(st)
				r.conf, err = tr.Confusion(test)
				require.NoError(t, err)
				return r
			}
			none := run(func(cfg *train.Config) { *cfg = train.WithoutRecycling(*cfg) })
			require.Len(t, none.hist, 3)
			require.NotEmpty(t, none.diag)
			for _, way := range []struct {
				name string
				edit func(*train.Config)
			}{
				{"evaluation plans recycled", func(*train.Config) {}},
				{"every plan recycled", func(cfg *train.Config) { cfg.RecycleTraining = true }},
			} {
				got := run(way.edit)
				for i := range none.hist {
					a, b := got.hist[i], none.hist[i]
					for _, p := range [][2]float64{{a.TrainLoss, b.TrainLoss}, {a.TrainAcc, b.TrainAcc}, {a.TestLoss, b.TestLoss}, {a.TestAcc, b.TestAcc}} {
						require.Equal(t, math.Float64bits(p[1]), math.Float64bits(p[0]), "%s, epoch %d: %v, %v with a buffer per node", way.name, i+1, p[0], p[1])
					}
				}
				assert.Equal(t, none.diag, got.diag, "%s: diagnostics", way.name)
				assert.Equal(t, none.state, got.state, "%s: weights, statistics and optimizer state", way.name)
				assert.Equal(t, none.conf, got.conf, "%s: confusion matrix", way.name)
			}
		})
	}
}

// TestPlansShareTheirMemory checks what recycling and sharing save on the cnn preset: its
// evaluation plan at the default batch of 1000 holds its activations in well under half the
// memory a buffer per node needs; the plan for the epoch's last, partial batch (60000 rows in
// batches of 128 leave 96) fits, but for a few small nodes, in the memory of the plan for full
// batches; and with
// RecycleTraining the training plan needs less as well.
func TestPlansShareTheirMemory(t *testing.T) {
	m, err := models.ParseModel("cnn", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	newTrainer := func(recycle bool) *train.Trainer {
		tr, err := train.New(train.Config{Model: m, Device: newDevice(t), Optimizer: optim.MustNamed("adam", 0.001),
			BatchSize: 128, Epochs: 1, RecycleTraining: recycle})
		require.NoError(t, err)
		t.Cleanup(tr.Close)
		return tr
	}
	tr := newTrainer(false)
	owned, unshared, err := tr.PlanElements(128, true)
	require.NoError(t, err)
	t.Logf("cnn training plan, batch 128: %.0f MiB", elemMiB(owned))
	assert.Equal(t, unshared, owned, "by default a training plan has a buffer per node")
	full := tr.ArenaElements()
	owned96, unshared96, err := tr.PlanElements(96, true)
	require.NoError(t, err)
	t.Logf("cnn training plan, batch 96: %.1f MiB more, %.0f MiB on its own", elemMiB(owned96), elemMiB(unshared96))
	assert.Less(t, owned96, unshared96/50, "the 96-row plan fits in the 128-row plan's buffers, all but a few small nodes")
	assert.LessOrEqual(t, tr.ArenaElements()-full, owned96)
	owned, unshared, err = tr.PlanElements(1000, false)
	require.NoError(t, err)
	t.Logf("cnn evaluation plan, batch 1000: %.0f MiB more, %.0f MiB on its own; all three plans %.0f MiB",
		elemMiB(owned), elemMiB(unshared), elemMiB(tr.ArenaElements()))
	assert.Less(t, owned, unshared*2/5)

	owned, unshared, err = newTrainer(true).PlanElements(128, true)
	require.NoError(t, err)
	t.Logf("cnn training plan, batch 128, RecycleTraining: %.0f MiB, %.0f MiB without recycling", elemMiB(owned), elemMiB(unshared))
	assert.Less(t, owned, unshared*9/10)
}

func elemMiB(elems int) float64 { return float64(elems) * 4 / (1 << 20) }
