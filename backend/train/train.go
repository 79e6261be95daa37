// Package train runs training: it builds a model's graph once per batch shape, compiles it to
// plans on a device (package exec), keeps weights, gradients and optimizer state on the device
// for the whole run, and per step writes one batch in and reads the loss and the number of
// correct predictions out.
//
// Mini-batches are drawn from a seeded shuffle each epoch; the last partial batch is used (it has
// its own plan sharing the same weight and gradient buffers). With the same seed, a CPU run gives
// the same weights bit for bit.
package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/exec"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ErrInvalid is wrapped by configuration and data errors.
var ErrInvalid = errors.New("train: invalid")

// ErrNonFinite is wrapped when the loss becomes NaN or infinite.
var ErrNonFinite = errors.New("train: non-finite loss")

// Dataset is a set of examples with dense targets.
type Dataset struct {
	X        []float32 // N×Features, row-major
	Y        []float32 // N×Outputs targets (one-hot rows for classification)
	N        int
	Features int
	Outputs  int
}

// Classification builds a Dataset from class labels, one-hot encoding them. With classes == 1
// the labels must be 0 or 1 and become a single binary target.
func Classification(x []float32, labels []uint8, features, classes int) (*Dataset, error) {
	n := len(labels)
	if features <= 0 || classes <= 0 || len(x) != n*features {
		return nil, fmt.Errorf("train: %d inputs of %d features need %d values, have %d (classes %d): %w",
			n, features, n*features, len(x), classes, ErrInvalid)
	}
	width := classes
	y := make([]float32, n*width)
	for i, l := range labels {
		switch {
		case classes == 1 && l <= 1:
			y[i] = float32(l)
		case classes > 1 && int(l) < classes:
			y[i*width+int(l)] = 1
		default:
			return nil, fmt.Errorf("train: label %d at example %d is out of range for %d classes: %w", l, i, classes, ErrInvalid)
		}
	}
	return &Dataset{X: x, Y: y, N: n, Features: features, Outputs: width}, nil
}

// Validate checks the lengths.
func (d *Dataset) Validate() error {
	if d == nil || d.N <= 0 || d.Features <= 0 || d.Outputs <= 0 {
		return fmt.Errorf("train: empty dataset or non-positive sizes: %w", ErrInvalid)
	}
	if len(d.X) != d.N*d.Features || len(d.Y) != d.N*d.Outputs {
		return fmt.Errorf("train: dataset has %d inputs and %d targets for %d examples of %d features and %d outputs: %w",
			len(d.X), len(d.Y), d.N, d.Features, d.Outputs, ErrInvalid)
	}
	return nil
}

// StepMetrics is reported after every optimizer step.
type StepMetrics struct {
	Epoch, Step int // Epoch from 1; Step counts from 1 over the whole run
	Batch       int // rows in this batch
	Loss        float64
	Correct     int
	LR          float64
}

// EpochMetrics is reported after every epoch.
type EpochMetrics struct {
	Epoch                 int
	TrainLoss, TrainAcc   float64 // averaged over the epoch's batches, weighted by rows
	TestLoss, TestAcc     float64 // NaN when there is no test set
	Duration              time.Duration
	SamplesPerSec, LastLR float64
}

// Config configures a Trainer.
type Config struct {
	Spec      models.Spec
	Device    backend.Device
	Optimizer optim.Optimizer
	Epochs    int
	BatchSize int
	// EvalBatch is the batch size for evaluation (default 1000).
	EvalBatch int
	Seed      uint64
	Init      models.Init
	// OnStep and OnEpoch, when set, are called after each step and epoch; returning an error
	// stops training with that error.
	OnStep  func(StepMetrics) error
	OnEpoch func(EpochMetrics) error
}

// Trainer owns the device buffers of one training run.
type Trainer struct {
	cfg    Config
	dev    backend.Device
	params []backend.Buffer
	grads  []backend.Buffer
	rng    *rand.Rand
	step   int
	epoch  int

	// Plans by batch size, built on first use.
	trainPlans map[int]*batchPlan
	evalPlans  map[int]*batchPlan

	// scalar is a one-element host buffer for read-backs, boxed once: converting a slice to the
	// `any` that Device.Read takes allocates, and the step must not.
	scalar    []float32
	scalarAny any
}

type batchPlan struct {
	// Host staging for this batch size, also boxed once (see Trainer.scalarAny).
	xs, ys       []float32
	xsAny, ysAny any

	model   *models.Model
	plan    *exec.Plan
	x, y    backend.Buffer
	loss    backend.Buffer
	logits  backend.Buffer
	correct backend.Buffer
}

// New validates cfg, initialises the weights from cfg.Seed and attaches the optimizer.
func New(cfg Config) (*Trainer, error) {
	if err := cfg.Spec.Validate(); err != nil {
		return nil, err
	}
	if cfg.Device == nil {
		return nil, fmt.Errorf("train: no device: %w", ErrInvalid)
	}
	if cfg.Optimizer == nil {
		return nil, fmt.Errorf("train: no optimizer: %w", ErrInvalid)
	}
	if cfg.Epochs < 0 {
		return nil, fmt.Errorf("train: epochs %d must be >= 0: %w", cfg.Epochs, ErrInvalid)
	}
	if cfg.BatchSize <= 0 {
		return nil, fmt.Errorf("train: batch size %d must be positive: %w", cfg.BatchSize, ErrInvalid)
	}
	if cfg.EvalBatch == 0 {
		cfg.EvalBatch = 1000
	}
	if cfg.EvalBatch < 0 {
		return nil, fmt.Errorf("train: eval batch size %d must be positive: %w", cfg.EvalBatch, ErrInvalid)
	}
	t := &Trainer{cfg: cfg, dev: cfg.Device, trainPlans: map[int]*batchPlan{}, evalPlans: map[int]*batchPlan{},
		scalar: make([]float32, 1)}
	t.scalarAny = t.scalar
	// Two streams from one seed: initial weights and the data order, so changing the number of
	// epochs never changes the initial weights.
	initRNG := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	t.rng = rand.New(rand.NewPCG(cfg.Seed, 0xda3e39cb94b95bdb))
	init := cfg.Spec.InitParams(cfg.Init, initRNG)
	for _, v := range init {
		p, err := t.dev.Alloc(backend.Float32, len(v))
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("train: allocating parameters: %w", err)
		}
		t.params = append(t.params, p)
		if err := t.dev.Write(p, toF32(v)); err != nil {
			t.Close()
			return nil, err
		}
		gb, err := t.dev.Alloc(backend.Float32, len(v))
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("train: allocating gradients: %w", err)
		}
		t.grads = append(t.grads, gb)
	}
	if err := cfg.Optimizer.Attach(t.dev, t.params); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func toF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// Params reads the current parameters back to the host, in Spec.ParamShapes order.
func (t *Trainer) Params() ([][]float32, error) {
	out := make([][]float32, len(t.params))
	for i, p := range t.params {
		out[i] = make([]float32, p.Len())
		if err := t.dev.Read(out[i], p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SetParams overwrites the parameters (for resuming or for tests).
func (t *Trainer) SetParams(vals [][]float32) error {
	if len(vals) != len(t.params) {
		return fmt.Errorf("train: SetParams: %d tensors, model has %d: %w", len(vals), len(t.params), ErrInvalid)
	}
	for i, p := range t.params {
		if err := t.dev.Write(p, vals[i]); err != nil {
			return fmt.Errorf("train: SetParams: tensor %d: %w", i, err)
		}
	}
	return nil
}

// Close frees every buffer of the run (not the device).
func (t *Trainer) Close() {
	for _, m := range []map[int]*batchPlan{t.trainPlans, t.evalPlans} {
		for k, bp := range m {
			bp.close(t.dev)
			delete(m, k)
		}
	}
	for _, b := range append(t.params, t.grads...) {
		t.dev.Free(b)
	}
	t.params, t.grads = nil, nil
	if t.cfg.Optimizer != nil {
		t.cfg.Optimizer.Close()
	}
}

func (bp *batchPlan) close(dev backend.Device) {
	bp.plan.Close()
	dev.Free(bp.correct)
}

// planFor compiles (once) the plan for a batch of the given size.
func (t *Trainer) planFor(rows int, training bool) (*batchPlan, error) {
	cache := t.evalPlans
	if training {
		cache = t.trainPlans
	}
	if bp, ok := cache[rows]; ok {
		return bp, nil
	}
	m, err := t.cfg.Spec.Build(rows, tensor.Float32, training)
	if err != nil {
		return nil, err
	}
	bind := map[*G.Node]backend.Buffer{}
	for i, p := range m.Params {
		bind[p] = t.params[i]
	}
	targets := []*G.Node{m.Loss, m.Logits}
	if training {
		for i, g := range m.Grads {
			bind[g] = t.grads[i]
		}
		targets = append(targets, m.Grads...)
	}
	plan, err := exec.Compile(m.Graph, exec.Config{Device: t.dev, DType: backend.Float32, Targets: targets, Bind: bind})
	if err != nil {
		return nil, fmt.Errorf("train: compiling the %d-row plan: %w", rows, err)
	}
	bp := &batchPlan{model: m, plan: plan,
		xs: make([]float32, rows*t.cfg.Spec.Inputs), ys: make([]float32, rows*t.cfg.Spec.Outputs())}
	bp.xsAny, bp.ysAny = bp.xs, bp.ys
	bp.x, _ = plan.Buffer(m.X)
	bp.y, _ = plan.Buffer(m.Y)
	bp.loss, _ = plan.Buffer(m.Loss)
	bp.logits, _ = plan.Buffer(m.Logits)
	if bp.correct, err = t.dev.Alloc(backend.Float32, 1); err != nil {
		plan.Close()
		return nil, err
	}
	cache[rows] = bp
	return bp, nil
}

// runBatch writes rows idx of ds, runs the plan and returns the loss and correct count.
func (t *Trainer) runBatch(bp *batchPlan, ds *Dataset, idx []int) (float64, int, error) {
	f, o := ds.Features, ds.Outputs
	xs, ys := bp.xs, bp.ys
	for r, i := range idx {
		copy(xs[r*f:(r+1)*f], ds.X[i*f:(i+1)*f])
		copy(ys[r*o:(r+1)*o], ds.Y[i*o:(i+1)*o])
	}
	if err := t.dev.Write(bp.x, bp.xsAny); err != nil {
		return 0, 0, err
	}
	if err := t.dev.Write(bp.y, bp.ysAny); err != nil {
		return 0, 0, err
	}
	if err := bp.plan.Run(); err != nil {
		return 0, 0, err
	}
	if err := t.dev.CountCorrect(bp.correct, bp.logits, bp.y, len(idx), o); err != nil {
		return 0, 0, err
	}
	if err := t.dev.Read(t.scalarAny, bp.loss); err != nil {
		return 0, 0, err
	}
	loss := float64(t.scalar[0])
	if err := t.dev.Read(t.scalarAny, bp.correct); err != nil {
		return 0, 0, err
	}
	return loss, int(t.scalar[0]), nil
}

func (t *Trainer) checkData(ds *Dataset, what string) error {
	if err := ds.Validate(); err != nil {
		return fmt.Errorf("train: %s set: %w", what, err)
	}
	if ds.Features != t.cfg.Spec.Inputs || ds.Outputs != t.cfg.Spec.Outputs() {
		return fmt.Errorf("train: %s set has %d features and %d outputs, model %v wants %d and %d: %w",
			what, ds.Features, ds.Outputs, t.cfg.Spec, t.cfg.Spec.Inputs, t.cfg.Spec.Outputs(), ErrInvalid)
	}
	return nil
}

// TrainStep runs one optimizer step on rows idx of ds and returns the batch loss (before the
// update) and the number of rows predicted correctly.
func (t *Trainer) TrainStep(ds *Dataset, idx []int) (float64, int, error) {
	bp, err := t.planFor(len(idx), true)
	if err != nil {
		return 0, 0, err
	}
	loss, correct, err := t.runBatch(bp, ds, idx)
	if err != nil {
		return 0, 0, err
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, correct, fmt.Errorf("train: epoch %d step %d: loss is %v; the update was not applied: %w", t.epoch, t.step+1, loss, ErrNonFinite)
	}
	if err := t.cfg.Optimizer.Step(t.grads); err != nil {
		return 0, 0, err
	}
	t.step++
	return loss, correct, nil
}

// Evaluate returns the mean loss and the accuracy of the model on ds.
func (t *Trainer) Evaluate(ds *Dataset) (loss, acc float64, err error) {
	if err := t.checkData(ds, "evaluation"); err != nil {
		return 0, 0, err
	}
	bs := min(t.cfg.EvalBatch, ds.N)
	idx := make([]int, bs)
	var sum float64
	correct := 0
	for lo := 0; lo < ds.N; lo += bs {
		hi := min(lo+bs, ds.N)
		idx = idx[:hi-lo]
		for i := range idx {
			idx[i] = lo + i
		}
		bp, err := t.planFor(hi-lo, false)
		if err != nil {
			return 0, 0, err
		}
		l, c, err := t.runBatch(bp, ds, idx)
		if err != nil {
			return 0, 0, err
		}
		sum += l * float64(hi-lo)
		correct += c
	}
	return sum / float64(ds.N), float64(correct) / float64(ds.N), nil
}

// Fit trains for cfg.Epochs epochs, evaluating on test (which may be nil) after each.
func (t *Trainer) Fit(trainSet, test *Dataset) ([]EpochMetrics, error) {
	if err := t.checkData(trainSet, "training"); err != nil {
		return nil, err
	}
	if test != nil {
		if err := t.checkData(test, "test"); err != nil {
			return nil, err
		}
	}
	bs := min(t.cfg.BatchSize, trainSet.N)
	perm := make([]int, trainSet.N)
	var history []EpochMetrics
	for e := 0; e < t.cfg.Epochs; e++ {
		t.epoch++
		start := time.Now()
		for i := range perm {
			perm[i] = i
		}
		t.rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		var lossSum float64
		correct := 0
		for lo := 0; lo < len(perm); lo += bs {
			idx := perm[lo:min(lo+bs, len(perm))]
			lr := t.cfg.Optimizer.LR()
			loss, c, err := t.TrainStep(trainSet, idx)
			if err != nil {
				return history, err
			}
			lossSum += loss * float64(len(idx))
			correct += c
			if t.cfg.OnStep != nil {
				if err := t.cfg.OnStep(StepMetrics{Epoch: t.epoch, Step: t.step, Batch: len(idx), Loss: loss, Correct: c, LR: lr}); err != nil {
					return history, err
				}
			}
		}
		dur := time.Since(start)
		m := EpochMetrics{Epoch: t.epoch, TrainLoss: lossSum / float64(trainSet.N),
			TrainAcc: float64(correct) / float64(trainSet.N), TestLoss: math.NaN(), TestAcc: math.NaN(),
			Duration: dur, SamplesPerSec: float64(trainSet.N) / dur.Seconds(), LastLR: t.cfg.Optimizer.LR()}
		if test != nil {
			var err error
			if m.TestLoss, m.TestAcc, err = t.Evaluate(test); err != nil {
				return history, err
			}
		}
		history = append(history, m)
		if t.cfg.OnEpoch != nil {
			if err := t.cfg.OnEpoch(m); err != nil {
				return history, err
			}
		}
	}
	return history, nil
}
