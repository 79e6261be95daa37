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
	"strings"
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

// ErrNonFinite is wrapped when the loss or a gradient becomes NaN or infinite.
var ErrNonFinite = errors.New("train: non-finite loss or gradient")

// ErrInterrupted is returned by Fit when Config.ShouldStop asked it to stop.
var ErrInterrupted = errors.New("train: interrupted")

// NonFinitePolicy says what a step with a NaN or Inf loss or gradient does. Either way the
// update is not applied, so the weights never take a non-finite value from a bad step.
type NonFinitePolicy uint8

// The policies.
const (
	// Stop returns an error wrapping ErrNonFinite that names the epoch, the step and the first
	// parameter whose gradient is non-finite.
	Stop NonFinitePolicy = iota
	// Skip drops the step, counts it (Trainer.Skipped) and goes on.
	Skip
)

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
	LR          float64 // the rate this step used
	GradNorm    float64 // global L2 norm of the gradients before clipping
	Skipped     bool    // the step had a non-finite loss or gradient and was dropped (policy Skip)
}

// EpochMetrics is reported after every epoch.
type EpochMetrics struct {
	Epoch                 int
	TrainLoss, TrainAcc   float64 // averaged over the epoch's applied steps, weighted by rows; NaN when every step was skipped
	TestLoss, TestAcc     float64 // NaN when there is no test set
	Duration              time.Duration
	SamplesPerSec, LastLR float64
}

// Config configures a Trainer.
type Config struct {
	Spec      models.Spec
	Device    backend.Device
	Optimizer *optim.Optimizer
	Epochs    int
	BatchSize int
	// EvalBatch is the batch size for evaluation (default 1000).
	EvalBatch int
	Seed      uint64
	Init      models.Init

	// Schedule (optional) sets the learning rate from the optimizer's initial rate, advancing
	// every epoch or every batch as Interval says. Plateau (optional, not with Schedule) lowers
	// the rate when the epoch's test loss (training loss without a test set) stops improving.
	Schedule optim.Schedule
	Interval optim.Interval
	Plateau  *optim.Plateau
	// ClipNorm > 0 rescales the gradients so their global L2 norm is at most ClipNorm
	// (torch.nn.utils.clip_grad_norm_); ClipValue > 0 clamps each gradient element to
	// [-ClipValue, ClipValue] (clip_grad_value_). Norm clipping runs first.
	ClipNorm, ClipValue float64
	// NonFinite is the policy for a NaN or Inf loss or gradient.
	NonFinite NonFinitePolicy

	// ShouldStop, when set, is asked after every step; when it returns true, Fit returns an
	// error wrapping ErrInterrupted with the trainer in a state Snapshot can save and a later
	// Restore can continue exactly (the CLI sets it from SIGINT and SIGTERM).
	ShouldStop func() bool
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
	pcg    *rand.PCG
	step   int
	epoch  int
	// baseLR is the optimizer's rate when the trainer was made: schedules scale from it.
	baseLR  float64
	skipped int
	norm    backend.Buffer // one element: the squared gradient norm

	// Progress through the current epoch, kept so a run interrupted mid-epoch resumes exactly:
	// the data-order generator's state before this epoch's shuffle, the batches done, and the
	// epoch's running sums.
	midEpoch     bool
	epochRNG     []byte
	epochStep    int
	epochLoss    float64
	epochCorrect int
	epochSeen    int
	epochStart   time.Time
	history      []EpochMetrics

	// Plans by batch size, built on first use.
	trainPlans map[int]*batchPlan
	evalPlans  map[int]*batchPlan

	// vals receives the step's scalars (loss, correct count, squared gradient norm).
	vals []float64
}

type batchPlan struct {
	// Host staging for this batch size, boxed once: converting a slice to the `any` that
	// Device.Write takes allocates, and the step must not.
	xs, ys       []float32
	xsAny, ysAny any
	// metrics lists the one-element buffers read back after a step: loss, correct, grad norm².
	metrics []backend.Buffer

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
	if cfg.Schedule != nil && cfg.Plateau != nil {
		return nil, fmt.Errorf("train: give a schedule or a plateau rule, not both: %w", ErrInvalid)
	}
	if cfg.Schedule != nil {
		if err := optim.ValidateSchedule(cfg.Schedule); err != nil {
			return nil, err
		}
	}
	if cfg.Plateau != nil {
		if err := cfg.Plateau.Validate(); err != nil {
			return nil, err
		}
	}
	if !(cfg.ClipNorm >= 0) || !(cfg.ClipValue >= 0) || math.IsInf(cfg.ClipNorm, 0) || math.IsInf(cfg.ClipValue, 0) {
		return nil, fmt.Errorf("train: clip norm %v and clip value %v must be finite and >= 0 (0 disables): %w", cfg.ClipNorm, cfg.ClipValue, ErrInvalid)
	}
	if cfg.EvalBatch < 0 {
		return nil, fmt.Errorf("train: eval batch size %d must be positive: %w", cfg.EvalBatch, ErrInvalid)
	}
	t := &Trainer{cfg: cfg, dev: cfg.Device, trainPlans: map[int]*batchPlan{}, evalPlans: map[int]*batchPlan{},
		vals: make([]float64, 3)}
	// Two streams from one seed: initial weights and the data order, so changing the number of
	// epochs never changes the initial weights.
	initRNG := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	t.pcg = rand.NewPCG(cfg.Seed, 0xda3e39cb94b95bdb)
	t.rng = rand.New(t.pcg)
	t.baseLR = cfg.Optimizer.LR()
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
	var err error
	if t.norm, err = t.dev.Alloc(backend.Float32, 1); err != nil {
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
	if t.norm != nil {
		t.dev.Free(t.norm)
		t.norm = nil
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
	bp.metrics = []backend.Buffer{bp.loss, bp.correct, t.norm}
	cache[rows] = bp
	return bp, nil
}

// runBatch writes rows idx of ds, runs the plan and counts the correct predictions on the device;
// with training, it also reduces the squared gradient norm into t.norm. Then one ReadScalars
// brings the loss, the count and (training) the norm back: the step's only host round trip.
func (t *Trainer) runBatch(bp *batchPlan, ds *Dataset, idx []int, training bool) (loss float64, correct int, norm2 float64, err error) {
	f, o := ds.Features, ds.Outputs
	xs, ys := bp.xs, bp.ys
	for r, i := range idx {
		copy(xs[r*f:(r+1)*f], ds.X[i*f:(i+1)*f])
		copy(ys[r*o:(r+1)*o], ds.Y[i*o:(i+1)*o])
	}
	if err := t.dev.Write(bp.x, bp.xsAny); err != nil {
		return 0, 0, 0, err
	}
	if err := t.dev.Write(bp.y, bp.ysAny); err != nil {
		return 0, 0, 0, err
	}
	if err := bp.plan.Run(); err != nil {
		return 0, 0, 0, err
	}
	if err := t.dev.CountCorrect(bp.correct, bp.logits, bp.y, len(idx), o); err != nil {
		return 0, 0, 0, err
	}
	srcs := bp.metrics[:2]
	if training {
		if err := t.dev.SumSquares(t.norm, t.grads); err != nil {
			return 0, 0, 0, err
		}
		srcs = bp.metrics[:3]
	}
	vals := t.vals[:len(srcs)]
	if err := t.dev.ReadScalars(vals, srcs); err != nil {
		return 0, 0, 0, err
	}
	if training {
		norm2 = vals[2]
	}
	return vals[0], int(vals[1]), norm2, nil
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
// update) and the number of rows predicted correctly. A non-finite loss or gradient is handled
// by the NonFinite policy: with Stop it is an error wrapping ErrNonFinite, with Skip the step is
// dropped and counted (Skipped).
func (t *Trainer) TrainStep(ds *Dataset, idx []int) (float64, int, error) {
	m, err := t.trainStep(ds, idx)
	return m.Loss, m.Correct, err
}

func (t *Trainer) trainStep(ds *Dataset, idx []int) (StepMetrics, error) {
	m := StepMetrics{Epoch: t.epoch, Step: t.step + 1, Batch: len(idx), LR: t.cfg.Optimizer.LR()}
	bp, err := t.planFor(len(idx), true)
	if err != nil {
		return m, err
	}
	// The squared gradient norm comes back with the loss: it drives clipping and, being
	// non-finite exactly when some gradient element is, the fault check.
	var norm2 float64
	if m.Loss, m.Correct, norm2, err = t.runBatch(bp, ds, idx, true); err != nil {
		return m, err
	}
	m.GradNorm = math.Sqrt(norm2)
	if !finite(m.Loss) || !finite(m.GradNorm) {
		if t.cfg.NonFinite == Skip {
			t.skipped++
			t.step++
			m.Skipped = true
			return m, nil
		}
		return m, t.faultError(m)
	}
	if c := t.cfg.ClipNorm; c > 0 && m.GradNorm > c {
		// torch.nn.utils.clip_grad_norm_: scale by max_norm/(norm+1e-6).
		scale := c / (m.GradNorm + 1e-6)
		for _, g := range t.grads {
			if err := t.dev.Scale(g, g, scale); err != nil {
				return m, err
			}
		}
	}
	if c := t.cfg.ClipValue; c > 0 {
		for _, g := range t.grads {
			if err := t.dev.Clamp(g, g, -c, c); err != nil {
				return m, err
			}
		}
	}
	if err := t.cfg.Optimizer.Step(t.grads); err != nil {
		return m, err
	}
	t.step++
	return m, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// faultError says which step went wrong and why: the loss, the first parameter whose gradient is
// non-finite and the first parameter that itself holds a non-finite value. It runs only on the
// fault path, so it may allocate.
func (t *Trainer) faultError(m StepMetrics) error {
	var why []string
	if !finite(m.Loss) {
		why = append(why, fmt.Sprintf("loss is %v", m.Loss))
	}
	names := t.ParamNames()
	for _, set := range []struct {
		what string
		bufs []backend.Buffer
	}{{"the gradient of", t.grads}, {"the parameter", t.params}} {
		for i, b := range set.bufs {
			if err := t.dev.SumSquares(t.norm, []backend.Buffer{b}); err != nil {
				return err
			}
			if err := t.dev.ReadScalars(t.vals[:1], []backend.Buffer{t.norm}); err != nil {
				return err
			}
			if !finite(t.vals[0]) {
				why = append(why, fmt.Sprintf("%s %s is non-finite", set.what, names[i]))
				break
			}
		}
	}
	if len(why) == 0 {
		why = append(why, fmt.Sprintf("the gradient norm is %v", m.GradNorm))
	}
	return fmt.Errorf("train: epoch %d step %d: %s; the update was not applied: %w", m.Epoch, m.Step, strings.Join(why, "; "), ErrNonFinite)
}

// ParamNames names the parameters in Spec.ParamShapes order: w1, b1, w2, b2, ...
func (t *Trainer) ParamNames() []string {
	out := make([]string, len(t.params))
	for i := range out {
		kind := "w"
		if i%2 == 1 {
			kind = "b"
		}
		out[i] = fmt.Sprintf("%s%d %v", kind, i/2+1, t.cfg.Spec.ParamShapes()[i])
	}
	return out
}

// Skipped is the number of steps dropped for non-finite values under the Skip policy.
func (t *Trainer) Skipped() int { return t.skipped }

// Step is the number of steps taken (including skipped ones); Epoch the number of epochs begun.
func (t *Trainer) Step() int { return t.step }

// Epoch is the number of epochs begun.
func (t *Trainer) Epoch() int { return t.epoch }

// Evaluate returns the mean loss and the accuracy of the model on ds.
func (t *Trainer) Evaluate(ds *Dataset) (loss, acc float64, err error) {
	var sum float64
	correct := 0
	err = t.evalBatches(ds, func(_ *batchPlan, idx []int, l float64, c int) error {
		sum += l * float64(len(idx))
		correct += c
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return sum / float64(ds.N), float64(correct) / float64(ds.N), nil
}

// evalBatches runs the forward plan over ds in order, EvalBatch rows at a time, and hands each
// batch's plan, rows, mean loss and correct count to each.
func (t *Trainer) evalBatches(ds *Dataset, each func(bp *batchPlan, idx []int, loss float64, correct int) error) error {
	if err := t.checkData(ds, "evaluation"); err != nil {
		return err
	}
	bs := min(t.cfg.EvalBatch, ds.N)
	idx := make([]int, bs)
	for lo := 0; lo < ds.N; lo += bs {
		hi := min(lo+bs, ds.N)
		idx = idx[:hi-lo]
		for i := range idx {
			idx[i] = lo + i
		}
		bp, err := t.planFor(hi-lo, false)
		if err != nil {
			return err
		}
		l, c, _, err := t.runBatch(bp, ds, idx, false)
		if err != nil {
			return err
		}
		if err := each(bp, idx, l, c); err != nil {
			return err
		}
	}
	return nil
}

// Fit trains until cfg.Epochs epochs are done, evaluating on test (which may be nil) after each,
// and returns the metrics of every epoch so far (including epochs before a Restore). A trainer
// restored from a mid-epoch snapshot finishes that epoch first, with the same batches.
func (t *Trainer) Fit(trainSet, test *Dataset) ([]EpochMetrics, error) {
	if err := t.checkData(trainSet, "training"); err != nil {
		return t.history, err
	}
	if test != nil {
		if err := t.checkData(test, "test"); err != nil {
			return t.history, err
		}
	}
	bs := min(t.cfg.BatchSize, trainSet.N)
	perm := make([]int, trainSet.N)
	for t.midEpoch || t.epoch < t.cfg.Epochs {
		if !t.midEpoch {
			if t.cfg.Schedule != nil && t.cfg.Interval == optim.PerEpoch {
				t.cfg.Optimizer.SetLR(t.cfg.Schedule.LR(t.baseLR, t.epoch))
			}
			state, err := t.pcg.MarshalBinary()
			if err != nil {
				return t.history, err
			}
			t.epochRNG, t.midEpoch = state, true
			t.epoch++
			t.epochStep, t.epochLoss, t.epochCorrect, t.epochSeen = 0, 0, 0, 0
			t.epochStart = time.Now()
		} else if err := t.pcg.UnmarshalBinary(t.epochRNG); err != nil {
			return t.history, err
		}
		if t.epochStart.IsZero() {
			t.epochStart = time.Now()
		}
		for i := range perm {
			perm[i] = i
		}
		t.rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for lo := t.epochStep * bs; lo < len(perm); lo += bs {
			idx := perm[lo:min(lo+bs, len(perm))]
			if t.cfg.Schedule != nil && t.cfg.Interval == optim.PerBatch {
				t.cfg.Optimizer.SetLR(t.cfg.Schedule.LR(t.baseLR, t.step))
			}
			m, err := t.trainStep(trainSet, idx)
			if err != nil {
				return t.history, err
			}
			t.epochStep++
			if !m.Skipped {
				t.epochLoss += m.Loss * float64(len(idx))
				t.epochCorrect += m.Correct
				t.epochSeen += len(idx)
			}
			if t.cfg.OnStep != nil {
				if err := t.cfg.OnStep(m); err != nil {
					return t.history, err
				}
			}
			if t.cfg.ShouldStop != nil && t.cfg.ShouldStop() && lo+bs < len(perm) {
				return t.history, fmt.Errorf("train: stopped at epoch %d step %d: %w", t.epoch, t.step, ErrInterrupted)
			}
		}
		t.midEpoch = false
		dur := time.Since(t.epochStart)
		t.epochStart = time.Time{}
		m := EpochMetrics{Epoch: t.epoch, TrainLoss: t.epochLoss / float64(max(t.epochSeen, 1)),
			TrainAcc: float64(t.epochCorrect) / float64(max(t.epochSeen, 1)), TestLoss: math.NaN(), TestAcc: math.NaN(),
			Duration: dur, SamplesPerSec: float64(trainSet.N) / dur.Seconds(), LastLR: t.cfg.Optimizer.LR()}
		if t.epochSeen == 0 { // every step was skipped: there is no training loss to report, not a loss of 0
			m.TrainLoss, m.TrainAcc = math.NaN(), math.NaN()
		}
		if test != nil {
			var err error
			if m.TestLoss, m.TestAcc, err = t.Evaluate(test); err != nil {
				return t.history, err
			}
		}
		if t.cfg.Plateau != nil {
			metric := m.TestLoss
			if test == nil {
				metric = m.TrainLoss
			}
			t.cfg.Optimizer.SetLR(t.cfg.Plateau.Step(metric, t.cfg.Optimizer.LR()))
		}
		t.history = append(t.history, m)
		if t.cfg.OnEpoch != nil {
			if err := t.cfg.OnEpoch(m); err != nil {
				return t.history, err
			}
		}
		if t.cfg.ShouldStop != nil && t.cfg.ShouldStop() && t.epoch < t.cfg.Epochs {
			return t.history, fmt.Errorf("train: stopped after epoch %d: %w", t.epoch, ErrInterrupted)
		}
	}
	return t.history, nil
}

// FindLR runs the learning-rate range test (optim.RangeTest) on shuffled batches of ds and then
// puts the weights, the optimizer state and the step count back as they were, so training can
// start from the same point with the suggested rate. Config.ShouldStop is asked before every
// batch; when it says stop, FindLR returns the points so far and an error wrapping ErrInterrupted.
func (t *Trainer) FindLR(ds *Dataset, rt optim.RangeTest) (optim.RangeResult, error) {
	if err := t.checkData(ds, "range-test"); err != nil {
		return optim.RangeResult{}, err
	}
	params, err := t.Params()
	if err != nil {
		return optim.RangeResult{}, err
	}
	ostate, err := t.cfg.Optimizer.Snapshot()
	if err != nil {
		return optim.RangeResult{}, err
	}
	lr0, step0, skipped0 := t.cfg.Optimizer.LR(), t.step, t.skipped
	// Its own data order, so the range test does not shift the training run's shuffles.
	rng := rand.New(rand.NewPCG(t.cfg.Seed, 0x5851f42d4c957f2d))
	perm := rng.Perm(ds.N)
	bs := min(t.cfg.BatchSize, ds.N)
	pos := 0
	res, runErr := rt.Run(func(lr float64) (float64, error) {
		if t.cfg.ShouldStop != nil && t.cfg.ShouldStop() {
			return 0, fmt.Errorf("train: range test stopped: %w", ErrInterrupted)
		}
		if pos+bs > len(perm) {
			rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			pos = 0
		}
		idx := perm[pos : pos+bs]
		pos += bs
		t.cfg.Optimizer.SetLR(lr)
		m, err := t.trainStep(ds, idx)
		if errors.Is(err, ErrNonFinite) {
			return math.NaN(), nil // the test stops on it
		}
		return m.Loss, err
	})
	// Restore whatever happened.
	t.step, t.skipped = step0, skipped0
	if err := t.SetParams(params); err != nil {
		return res, err
	}
	if err := t.cfg.Optimizer.Restore(ostate); err != nil {
		return res, err
	}
	t.cfg.Optimizer.SetLR(lr0)
	return res, runErr
}

// Config returns the trainer's configuration.
func (t *Trainer) Config() Config { return t.cfg }

// Confusion returns the confusion matrix of the model on ds: counts[target][predicted], with
// classes taken as the argmax of the targets and of the logits (for a single output, the
// threshold at 0 and 0.5). Row sums are the class counts.
func (t *Trainer) Confusion(ds *Dataset) ([][]int, error) {
	classes := max(ds.Outputs, 2)
	counts := make([][]int, classes)
	for i := range counts {
		counts[i] = make([]int, classes)
	}
	logits := make([]float32, min(t.cfg.EvalBatch, ds.N)*ds.Outputs)
	err := t.evalBatches(ds, func(bp *batchPlan, idx []int, _ float64, _ int) error {
		out := logits[:len(idx)*ds.Outputs]
		if err := t.dev.Read(out, bp.logits); err != nil {
			return err
		}
		for r, i := range idx {
			want := classOf(ds.Y[i*ds.Outputs:(i+1)*ds.Outputs], 0.5)
			got := classOf(out[r*ds.Outputs:(r+1)*ds.Outputs], 0)
			counts[want][got]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// classOf is the argmax of a row, or for a single value whether it exceeds threshold.
func classOf(row []float32, threshold float32) int {
	if len(row) == 1 {
		if row[0] > threshold {
			return 1
		}
		return 0
	}
	best := 0
	for j, v := range row {
		if v > row[best] {
			best = j
		}
	}
	return best
}
