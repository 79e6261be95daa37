package train_test

import (
	"math"
	"testing"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/models/mnist"
	"github.com/gotrain/gotrain/optim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newDevice(t testing.TB) backend.Device {
	d, err := cpu.New(0)
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d
}

// blobs is backendtest.Blobs, the training tests' data.
var blobs = backendtest.Blobs

// scheduler is the scheduler of opt's groups with schedule sc (per iv) and plateau rule p.
func scheduler(t testing.TB, opt *optim.Optimizer, sc optim.Schedule, iv optim.Interval, p *optim.Plateau) *optim.Scheduler {
	s, err := optim.NewScheduler(opt.BaseRates(), sc, iv, p)
	require.NoError(t, err)
	return s
}

func newTrainer(t testing.TB, dev backend.Device, spec string, opt *optim.Optimizer, batch, epochs int, seed uint64) *train.Trainer {
	s, err := models.ParseSpec(spec, kernels.Tanh, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	tr, err := train.New(train.Config{Model: s, Device: dev, Optimizer: opt, BatchSize: batch, Epochs: epochs, Seed: seed})
	require.NoError(t, err)
	t.Cleanup(tr.Close)
	return tr
}

func TestTrainerLearnsSeparableBlobs(t *testing.T) {
	dev := newDevice(t)
	data, test := blobs(t, 600, 8, 4, 1), blobs(t, 200, 8, 4, 1)
	tr := newTrainer(t, dev, "8-16-4", optim.MustNamed("adam", 0.01), 32, 5, 3)
	hist, err := tr.Fit(data, test)
	require.NoError(t, err)
	require.Len(t, hist, 5)
	assert.Less(t, hist[4].TrainLoss, hist[0].TrainLoss/2, "loss should fall")
	assert.Greater(t, hist[4].TestAcc, 0.9, "clusters are separable")
}

func TestSameSeedGivesBitIdenticalWeights(t *testing.T) {
	data := blobs(t, 203, 8, 3, 2) // 203 rows: the last batch of each epoch is partial
	run := func(seed uint64) [][]float32 {
		tr := newTrainer(t, newDevice(t), "8-12-3", optim.MustNamed("momentum", 0.05), 16, 3, seed)
		_, err := tr.Fit(data, nil)
		require.NoError(t, err)
		p, err := tr.Params()
		require.NoError(t, err)
		return p
	}
	a, b, c := run(42), run(42), run(43)
	for i := range a {
		for j := range a[i] {
			require.Equal(t, math.Float32bits(a[i][j]), math.Float32bits(b[i][j]), "tensor %d element %d", i, j)
		}
	}
	assert.NotEqual(t, a[0], c[0], "another seed must give other weights")
}

func TestTheLastPartialBatchIsUsed(t *testing.T) {
	data := blobs(t, 50, 4, 2, 3)
	s, err := models.ParseSpec("4-2", kernels.Identity, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	var sizes []int
	tr, err := train.New(train.Config{Model: s, Device: newDevice(t), Optimizer: optim.MustNamed("sgd", 0.1), BatchSize: 16, Epochs: 2, Seed: 1,
		OnStep: func(m train.StepMetrics) error { sizes = append(sizes, m.Batch); return nil }})
	require.NoError(t, err)
	defer tr.Close()
	_, err = tr.Fit(data, nil)
	require.NoError(t, err)
	assert.Equal(t, []int{16, 16, 16, 2, 16, 16, 16, 2}, sizes)
}

func TestEvaluateCountsEveryExample(t *testing.T) {
	data := blobs(t, 1234, 5, 3, 4) // not a multiple of the eval batch
	s, err := models.ParseSpec("5-3", kernels.Identity, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	tr, err := train.New(train.Config{Model: s, Device: newDevice(t), Optimizer: optim.MustNamed("sgd", 0.1), BatchSize: 8, EvalBatch: 100, Seed: 1})
	require.NoError(t, err)
	defer tr.Close()
	loss, acc, err := tr.Evaluate(data)
	require.NoError(t, err)
	// The same numbers from a host computation on the weights the trainer holds.
	p, err := tr.Params()
	require.NoError(t, err)
	var sum float64
	correct := 0
	for i := 0; i < data.N; i++ {
		z := make([]float64, 3)
		best := 0
		for c := 0; c < 3; c++ {
			z[c] = float64(p[1][c])
			for f := 0; f < 5; f++ {
				z[c] += float64(data.X[i*5+f]) * float64(p[0][f*3+c])
			}
			if z[c] > z[best] {
				best = c
			}
		}
		m := math.Max(z[0], math.Max(z[1], z[2]))
		lse := m + math.Log(math.Exp(z[0]-m)+math.Exp(z[1]-m)+math.Exp(z[2]-m))
		for c := 0; c < 3; c++ {
			if data.Y[i*3+c] == 1 {
				sum += lse - z[c]
				if best == c {
					correct++
				}
			}
		}
	}
	assert.InDelta(t, sum/float64(data.N), loss, 1e-5)
	assert.Equal(t, float64(correct)/float64(data.N), acc)
}

func TestANonFiniteLossStopsBeforeTheUpdate(t *testing.T) {
	dev := newDevice(t)
	data := blobs(t, 64, 4, 2, 5)
	tr := newTrainer(t, dev, "4-3-2", optim.MustNamed("sgd", 0.1), 16, 1, 1)
	p, err := tr.Params()
	require.NoError(t, err)
	p[0][0] = float32(math.NaN())
	require.NoError(t, tr.SetParams(p))
	_, err = tr.Fit(data, nil)
	require.ErrorIs(t, err, train.ErrNonFinite)
	assert.Contains(t, err.Error(), "epoch 1 step 1")
	after, err := tr.Params()
	require.NoError(t, err)
	assert.Equal(t, p[1], after[1], "the update must not have been applied")
}

func TestTheTrainingStepAllocatesNothing(t *testing.T) {
	for _, opt := range []*optim.Optimizer{optim.MustNamed("adam", 1e-3), optim.MustNamed("momentum", 0.01)} {
		t.Run(opt.Name(), func(t *testing.T) {
			data := blobs(t, 256, 32, 10, 6)
			tr := newTrainer(t, newDevice(t), "32-64-64-10", opt, 64, 1, 1)
			idx := make([]int, 64)
			for i := range idx {
				idx[i] = i
			}
			_, _, err := tr.TrainStep(data, idx) // compiles the plan
			require.NoError(t, err)
			allocs := testing.AllocsPerRun(20, func() {
				if _, _, err := tr.TrainStep(data, idx); err != nil {
					t.Fatal(err)
				}
			})
			assert.Zero(t, allocs)
		})
	}
}

func TestBadConfigurationsAreRejected(t *testing.T) {
	dev := newDevice(t)
	spec, err := models.ParseSpec("4-2", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	cases := []struct {
		name string
		cfg  train.Config
		want string
	}{
		{"no device", train.Config{Model: spec, Optimizer: optim.MustNamed("sgd", 0.1), BatchSize: 1}, "no device"},
		{"no optimizer", train.Config{Model: spec, Device: dev, BatchSize: 1}, "no optimizer"},
		{"zero batch", train.Config{Model: spec, Device: dev, Optimizer: optim.MustNamed("sgd", 0.1)}, "batch size 0"},
		{"negative epochs", train.Config{Model: spec, Device: dev, Optimizer: optim.MustNamed("sgd", 0.1), BatchSize: 1, Epochs: -1}, "epochs -1"},
	}
	for _, c := range cases {
		t.Run(c.name+" is an error naming it", func(t *testing.T) {
			_, err := train.New(c.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestDataThatDoesNotFitTheModelIsRejected(t *testing.T) {
	tr := newTrainer(t, newDevice(t), "4-2", optim.MustNamed("sgd", 0.1), 8, 1, 1)
	_, err := tr.Fit(blobs(t, 20, 5, 2, 1), nil)
	require.ErrorIs(t, err, train.ErrInvalid)
	assert.Contains(t, err.Error(), "5 features")
	_, err = train.Classification([]float32{1, 2}, []uint8{0, 7}, 1, 3)
	require.ErrorIs(t, err, train.ErrInvalid)
	assert.Contains(t, err.Error(), "label 7 at example 1")
	bad := &train.Dataset{X: []float32{1}, Y: []float32{1, 0}, N: 2, Features: 1, Outputs: 1}
	_, err = tr.Fit(bad, nil)
	require.ErrorIs(t, err, train.ErrInvalid)
}

func TestSchedulesSetTheRatePerEpochOrPerBatch(t *testing.T) {
	data := blobs(t, 40, 4, 2, 7)
	s, err := models.ParseSpec("4-2", kernels.Identity, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	run := func(sc optim.Schedule, iv optim.Interval) []float64 {
		var lrs []float64
		opt := optim.MustNamed("sgd", 0.4)
		tr, err := train.New(train.Config{Model: s, Device: newDevice(t), Optimizer: opt, BatchSize: 16, Epochs: 3, Seed: 1,
			Scheduler: scheduler(t, opt, sc, iv, nil), OnStep: func(m train.StepMetrics) error { lrs = append(lrs, m.LR); return nil }})
		require.NoError(t, err)
		defer tr.Close()
		_, err = tr.Fit(data, nil)
		require.NoError(t, err)
		return lrs
	}
	// 40 rows in batches of 16: 3 steps per epoch.
	assert.Equal(t, []float64{0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1}, run(optim.Step{Size: 1, Gamma: 0.5}, optim.PerEpoch))
	assert.Equal(t, []float64{0.4, 0.4, 0.2, 0.2, 0.1, 0.1, 0.05, 0.05, 0.025}, run(optim.Step{Size: 2, Gamma: 0.5}, optim.PerBatch))
}

func TestPlateauLowersTheRateWhenTheLossStalls(t *testing.T) {
	data := blobs(t, 40, 4, 2, 8)
	s, err := models.ParseSpec("4-2", kernels.Identity, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	var lrs []float64
	// All-zero targets make the cross-entropy gradient (softmax·Σy - y) zero, so the weights and
	// the loss (0) never move: with patience 1 the rate halves after every second bad epoch
	// (epochs 3 and 5); LastLR is the rate an epoch trained with.
	p := optim.NewPlateau()
	p.Patience, p.Factor = 1, 0.5
	opt := optim.MustNamed("sgd", 1)
	tr, err := train.New(train.Config{Model: s, Device: newDevice(t), Optimizer: opt, BatchSize: 40, Epochs: 5, Seed: 1,
		Scheduler: scheduler(t, opt, nil, optim.PerEpoch, p), OnEpoch: func(m train.EpochMetrics) error { lrs = append(lrs, m.LastLR); return nil }})
	require.NoError(t, err)
	defer tr.Close()
	zero := &train.Dataset{X: data.X, Y: make([]float32, len(data.Y)), N: data.N, Features: data.Features, Outputs: data.Outputs}
	_, err = tr.Fit(zero, nil)
	require.NoError(t, err)
	assert.Equal(t, []float64{1, 1, 1, 0.5, 0.5}, lrs)
	assert.Equal(t, 0.25, tr.Config().Scheduler.LR(), "the reduction after epoch 5")
}

func TestClippingBoundsTheUpdate(t *testing.T) {
	data := blobs(t, 32, 6, 3, 9)
	idx := make([]int, 32)
	for i := range idx {
		idx[i] = i
	}
	step := func(clipNorm, clipValue float64) (before, after [][]float32, gradNorm float64) {
		s, err := models.ParseSpec("6-5-3", kernels.Tanh, kernels.SoftmaxCrossEntropy)
		require.NoError(t, err)
		var m train.StepMetrics
		tr, err := train.New(train.Config{Model: s, Device: newDevice(t), Optimizer: optim.MustNamed("sgd", 1), BatchSize: 32, Epochs: 1, Seed: 1,
			ClipNorm: clipNorm, ClipValue: clipValue, OnStep: func(sm train.StepMetrics) error { m = sm; return nil }})
		require.NoError(t, err)
		defer tr.Close()
		before, err = tr.Params()
		require.NoError(t, err)
		_, err = tr.Fit(data, nil)
		require.NoError(t, err)
		after, err = tr.Params()
		require.NoError(t, err)
		return before, after, m.GradNorm
	}
	b, a, norm := step(0.01, 0)
	require.Greater(t, norm, 0.01, "the test needs a gradient larger than the clip")
	var ss float64
	for i := range b {
		for j := range b[i] {
			d := float64(a[i][j] - b[i][j])
			ss += d * d
		}
	}
	assert.InDelta(t, 0.01, math.Sqrt(ss), 1e-5, "with lr 1 the update is the clipped gradient")

	b, a, _ = step(0, 1e-3)
	for i := range b {
		for j := range b[i] {
			require.LessOrEqual(t, math.Abs(float64(a[i][j]-b[i][j])), 1e-3+1e-7, "tensor %d element %d", i, j)
		}
	}
}

func TestNonFiniteStepsAreSkippedOrStopNamingTheParameter(t *testing.T) {
	data := blobs(t, 48, 4, 2, 10)
	poisoned := func(policy train.NonFinitePolicy) *train.Trainer {
		s, err := models.ParseSpec("4-3-2", kernels.Tanh, kernels.SoftmaxCrossEntropy)
		require.NoError(t, err)
		tr, err := train.New(train.Config{Model: s, Device: newDevice(t), Optimizer: optim.MustNamed("adam", 0.01), BatchSize: 16, Epochs: 2, Seed: 1, NonFinite: policy})
		require.NoError(t, err)
		t.Cleanup(tr.Close)
		p, err := tr.Params()
		require.NoError(t, err)
		p[2][4] = float32(math.Inf(1)) // w2
		require.NoError(t, tr.SetParams(p))
		return tr
	}
	tr := poisoned(train.Skip)
	hist, err := tr.Fit(data, nil)
	require.NoError(t, err)
	assert.Equal(t, 6, tr.Skipped(), "every step of both epochs is dropped")
	require.Len(t, hist, 2)
	for _, m := range hist {
		assert.True(t, math.IsNaN(m.TrainLoss) && math.IsNaN(m.TrainAcc), "an epoch of skipped steps has no training loss, not 0: %+v", m)
	}

	tr = poisoned(train.Stop)
	_, err = tr.Fit(data, nil)
	require.ErrorIs(t, err, train.ErrNonFinite)
	assert.Contains(t, err.Error(), "epoch 1 step 1")
	assert.Contains(t, err.Error(), "the parameter w2 [3 2] is non-finite")
}

func TestFindLRSuggestsARateAndRestoresTheRun(t *testing.T) {
	data := blobs(t, 512, 8, 4, 11)
	tr := newTrainer(t, newDevice(t), "8-16-4", optim.MustNamed("sgd", 0.1), 32, 1, 1)
	before, err := tr.Params()
	require.NoError(t, err)
	res, err := tr.FindLR(data, optim.RangeTest{Start: 1e-5, End: 100, Steps: 80})
	require.NoError(t, err)
	after, err := tr.Params()
	require.NoError(t, err)
	assert.Equal(t, before, after, "weights restored")
	assert.Equal(t, 0, tr.Step())
	assert.Equal(t, 0.1, tr.Config().Scheduler.LR())
	require.GreaterOrEqual(t, len(res.Points), 10)
	for i := 1; i < len(res.Points); i++ {
		require.Greater(t, res.Points[i].LR, res.Points[i-1].LR)
	}
	assert.Contains(t, []string{"diverged", "non-finite loss"}, res.Stopped, "lr 100 blows SGD up")
	assert.Greater(t, res.Valley, 1e-4)
	assert.Less(t, res.Valley, 10.0)
	assert.Greater(t, res.Steepest, 1e-5)
	// Training from the restored state is the same as never having run the test.
	tr2 := newTrainer(t, newDevice(t), "8-16-4", optim.MustNamed("sgd", 0.1), 32, 1, 1)
	_, err = tr.Fit(data, nil)
	require.NoError(t, err)
	_, err = tr2.Fit(data, nil)
	require.NoError(t, err)
	p1, _ := tr.Params()
	p2, _ := tr2.Params()
	assert.Equal(t, p2, p1)
}

// countingDevice counts the calls that make a host wait for a device.
type countingDevice struct {
	backend.Device
	reads, syncs, scalarReads, writes int
}

func (c *countingDevice) Read(dst any, src backend.Buffer) error {
	c.reads++
	return c.Device.Read(dst, src)
}

func (c *countingDevice) Sync() error { c.syncs++; return c.Device.Sync() }

func (c *countingDevice) ReadScalars(dst []float64, srcs []backend.Buffer) error {
	c.scalarReads++
	return c.Device.ReadScalars(dst, srcs)
}

func (c *countingDevice) Write(dst backend.Buffer, src any) error {
	c.writes++
	return c.Device.Write(dst, src)
}

// TestATrainingStepWaitsForTheDeviceOnce checks the step's host traffic: the batch goes in (two
// writes) and one ReadScalars brings loss, correct count and gradient norm back; nothing else
// synchronises.
func TestATrainingStepWaitsForTheDeviceOnce(t *testing.T) {
	dev := &countingDevice{Device: newDevice(t)}
	s, err := models.ParseSpec("8-16-3", kernels.ReLU, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	tr, err := train.New(train.Config{Model: s, Device: dev, Optimizer: optim.MustNamed("adam", 0.01), BatchSize: 16, Seed: 1, ClipNorm: 0.5})
	require.NoError(t, err)
	defer tr.Close()
	data := blobs(t, 64, 8, 3, 30)
	idx := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	_, _, err = tr.TrainStep(data, idx) // compiles the plan
	require.NoError(t, err)
	*dev = countingDevice{Device: dev.Device}
	for range 5 {
		_, _, err = tr.TrainStep(data, idx)
		require.NoError(t, err)
	}
	assert.Equal(t, 5, dev.scalarReads, "one ReadScalars per step")
	assert.Zero(t, dev.reads+dev.syncs, "no other host synchronisation")
	assert.Equal(t, 10, dev.writes, "the batch's inputs and targets")
}

func TestFindLRStopsWhenAskedAndStillRestoresTheRun(t *testing.T) {
	data := blobs(t, 512, 8, 4, 11)
	asked := 0
	s, err := models.ParseSpec("8-16-4", kernels.Tanh, kernels.SoftmaxCrossEntropy)
	require.NoError(t, err)
	tr, err := train.New(train.Config{Model: s, Device: newDevice(t), Optimizer: optim.MustNamed("sgd", 0.1), BatchSize: 32, Epochs: 1, Seed: 1,
		ShouldStop: func() bool { asked++; return asked > 10 }})
	require.NoError(t, err)
	defer tr.Close()
	before, err := tr.Params()
	require.NoError(t, err)
	res, err := tr.FindLR(data, optim.RangeTest{Start: 1e-5, End: 100, Steps: 80})
	require.ErrorIs(t, err, train.ErrInterrupted)
	assert.Len(t, res.Points, 10, "the points before the stop are kept")
	after, err := tr.Params()
	require.NoError(t, err)
	assert.Equal(t, before, after, "weights restored")
}

// TestDropoutDrawsANewMaskEveryStep trains the same batch twice at rate 0 (the weights never
// move): only dropout's mask, keyed by the step, can change the loss; without dropout it must
// not change.
func TestDropoutDrawsANewMaskEveryStep(t *testing.T) {
	data := blobs(t, 32, 8, 2, 3)
	for _, c := range []struct {
		model string
		same  bool
	}{{"8-dropout(0.5)-16:relu-dropout(0.5)-2", false}, {"8-16:relu-2", true}} {
		m, err := models.ParseModel(c.model, kernels.ReLU, kernels.SoftmaxCrossEntropy)
		require.NoError(t, err)
		tr, err := train.New(train.Config{Model: m, Device: newDevice(t), Optimizer: optim.MustNamed("sgd", 0), BatchSize: 32, Seed: 1})
		require.NoError(t, err)
		idx := make([]int, 32)
		for i := range idx {
			idx[i] = i
		}
		l1, _, err := tr.TrainStep(data, idx)
		require.NoError(t, err)
		l2, _, err := tr.TrainStep(data, idx)
		require.NoError(t, err)
		assert.Equal(t, c.same, l1 == l2, "%s: losses %v and %v", c.model, l1, l2)
		tr.Close()
	}
}

// TestPixelsTrainAsTheirFloats: MNIST held as bytes (Dataset.Pixels) trains and evaluates to the
// bits of the same images held as float32: the widened batches are the loader's floats, and a
// dataset with both, or with pixels of the wrong length, is refused.
func TestPixelsTrainAsTheirFloats(t *testing.T) {
	ftr, fte, err := mnist.Embedded()
	require.NoError(t, err)
	ptr, pte, err := mnist.EmbeddedPixels()
	require.NoError(t, err)
	ftr, fte, ptr, pte = ftr.Subset(0, 700), fte.Subset(0, 300), ptr.Subset(0, 700), pte.Subset(0, 300)
	fx, err := train.Classification(ftr.X, ftr.Labels, ftr.Features, ftr.Classes)
	require.NoError(t, err)
	fxe, err := train.Classification(fte.X, fte.Labels, fte.Features, fte.Classes)
	require.NoError(t, err)
	px, err := train.ClassificationPixels(ptr.Pixels, ptr.Labels, ptr.Features, ptr.Classes)
	require.NoError(t, err)
	pxe, err := train.ClassificationPixels(pte.Pixels, pte.Labels, pte.Features, pte.Classes)
	require.NoError(t, err)
	run := func(tr, te *train.Dataset) ([]train.EpochMetrics, [][]float32) {
		trn := newTrainer(t, newDevice(t), "784-32-10", optim.MustNamed("adam", 0.003), 64, 2, 5)
		hist, err := trn.Fit(tr, te)
		require.NoError(t, err)
		for i := range hist {
			hist[i].Duration, hist[i].SamplesPerSec = 0, 0 // the clock's
		}
		p, err := trn.Params()
		require.NoError(t, err)
		return hist, p
	}
	fh, fp := run(fx, fxe)
	ph, pp := run(px, pxe)
	require.Equal(t, fh, ph, "the epochs' losses and accuracies")
	for i := range fp {
		for j := range fp[i] {
			require.Equal(t, math.Float32bits(fp[i][j]), math.Float32bits(pp[i][j]), "tensor %d element %d", i, j)
		}
	}
	both := *px
	both.X = fx.X
	require.ErrorIs(t, both.Validate(), train.ErrInvalid)
	short := *px
	short.Pixels = short.Pixels[1:]
	require.ErrorIs(t, short.Validate(), train.ErrInvalid)
	_, err = train.ClassificationPixels(ptr.Pixels[1:], ptr.Labels, ptr.Features, ptr.Classes)
	require.ErrorIs(t, err, train.ErrInvalid)
}
