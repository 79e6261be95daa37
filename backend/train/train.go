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
	"slices"
	"time"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/exec"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
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

// Config configures a Trainer.
type Config struct {
	// Model is the network: a models.Spec (an MLP), a models.Seq (a convolutional network), a
	// models.Func (a graph written by hand) or any other models.Model.
	Model     models.Model
	Device    backend.Device
	Optimizer *optim.Optimizer
	Epochs    int
	BatchSize int
	// EvalBatch is the batch size for evaluation (default 1000).
	EvalBatch int
	Seed      uint64
	Init      models.Init

	// Scheduler (optional) owns the learning rates: built from Optimizer.BaseRates with a
	// schedule, a plateau rule or both (optim.NewScheduler). Its plateau rule watches the epoch's
	// test loss (the training loss without a test set). Without one the rates stay at the
	// optimizer's base rates.
	Scheduler *optim.Scheduler
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

	// Diagnostics > 0 measures every layer on the first step and every Diagnostics-th step
	// (gradient, weight and update norms per parameter; activation statistics, saturated and
	// dead units per hidden layer) and hands them to OnDiagnostics; see Diagnostics. 0 (the
	// default) measures nothing and costs nothing.
	Diagnostics   int
	OnDiagnostics func(Diagnostics) error

	// RecycleTraining recycles the buffers of training plans as evaluation plans always do
	// (exec.Config.Recycle): a node's buffer is taken over by a later node once its last
	// reader has run. It changes no value; it saves memory (the cnn preset's plan at batch
	// 128: 99 MiB instead of 142) and can cost speed where the cores do not share a cache.
	RecycleTraining bool

	// noRecycle compiles every plan with a buffer per node: the baseline the tests compare
	// recycled plans against.
	noRecycle bool
}

// Trainer owns the device buffers of one training run.
type Trainer struct {
	cfg    Config
	dev    backend.Device
	params []backend.Buffer
	grads  []backend.Buffer
	// paramInfo describes params; state are the model's non-trainable state buffers
	// (stateInfo describes them).
	paramInfo []models.Param
	state     []backend.Buffer
	stateInfo []stateInfo
	rng       *rand.Rand
	pcg       *rand.PCG
	step      int
	epoch     int
	sched     *optim.Scheduler
	lastLR    float64 // the default group's rate of the last step
	skipped   int
	norm      backend.Buffer // one element: the squared gradient norm
	diag      *diagState     // nil unless Config.Diagnostics > 0
	diagOut   Diagnostics    // the last diagnostic step's measurements, while diagReady
	diagReady bool

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
	// arena holds the plans' intermediate buffers: the plans run one at a time, so the
	// partial last batch's plan and the evaluation plans reuse the training plan's memory.
	arena *exec.Arena

	// vals receives the step's scalars (loss, correct count, squared gradient norm).
	vals []float64
}

// New validates cfg, initialises the weights from cfg.Seed and attaches the optimizer.
func New(cfg Config) (*Trainer, error) {
	if cfg.Model == nil {
		return nil, fmt.Errorf("train: no model: %w", ErrInvalid)
	}
	if v, ok := cfg.Model.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return nil, err
		}
	}
	if err := models.Check(cfg.Model); err != nil {
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
	bases := cfg.Optimizer.BaseRates()
	if cfg.Scheduler == nil {
		var err error
		if cfg.Scheduler, err = optim.NewScheduler(bases, nil, optim.PerEpoch, nil); err != nil {
			return nil, err
		}
	} else if got := cfg.Scheduler.Bases(); !slices.Equal(got, bases) {
		return nil, fmt.Errorf("train: the scheduler starts from the rates %v, the optimizer's groups from %v: build it from Optimizer.BaseRates: %w",
			got, bases, ErrInvalid)
	}
	if !(cfg.ClipNorm >= 0) || !(cfg.ClipValue >= 0) || math.IsInf(cfg.ClipNorm, 0) || math.IsInf(cfg.ClipValue, 0) {
		return nil, fmt.Errorf("train: clip norm %v and clip value %v must be finite and >= 0 (0 disables): %w", cfg.ClipNorm, cfg.ClipValue, ErrInvalid)
	}
	if cfg.Diagnostics < 0 {
		return nil, fmt.Errorf("train: diagnostics every %d steps: want >= 0 (0 disables): %w", cfg.Diagnostics, ErrInvalid)
	}
	if cfg.OnDiagnostics != nil && cfg.Diagnostics == 0 {
		return nil, fmt.Errorf("train: OnDiagnostics is set but Diagnostics is 0, so it would never be called: %w", ErrInvalid)
	}
	if cfg.EvalBatch < 0 {
		return nil, fmt.Errorf("train: eval batch size %d must be positive: %w", cfg.EvalBatch, ErrInvalid)
	}
	t := &Trainer{cfg: cfg, dev: cfg.Device, trainPlans: map[int]*batchPlan{}, evalPlans: map[int]*batchPlan{}, arena: exec.NewArena(cfg.Device),
		vals: make([]float64, 3)}
	// Two streams from one seed: initial weights and the data order, so changing the number of
	// epochs never changes the initial weights.
	initRNG := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	t.pcg = rand.NewPCG(cfg.Seed, 0xda3e39cb94b95bdb)
	t.rng = rand.New(t.pcg)
	t.sched = cfg.Scheduler
	t.lastLR = t.sched.LR()
	t.paramInfo = cfg.Model.Params()
	init := cfg.Model.InitParams(cfg.Init, initRNG)
	if len(init) != len(t.paramInfo) {
		return nil, fmt.Errorf("train: %v: InitParams gave %d tensors for %d parameters: %w", cfg.Model, len(init), len(t.paramInfo), ErrInvalid)
	}
	for i, v := range init {
		if float64(len(v)) != t.paramInfo[i].Size() {
			return nil, fmt.Errorf("train: %v: InitParams gave %d values for parameter %s %v: %w", cfg.Model, len(v), t.paramInfo[i].Name, t.paramInfo[i].Shape, ErrInvalid)
		}
	}
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
	if err := t.allocState(); err != nil {
		t.Close()
		return nil, err
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
	if err := t.allocDiag(); err != nil {
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

// allocState finds the model's non-trainable state (batch normalisation's running statistics)
// in a one-row evaluation graph, and allocates a buffer for each at its initial value; every
// plan binds the same buffers.
func (t *Trainer) allocState() error {
	g, err := t.cfg.Model.Build(1, tensor.Float32, false)
	if err != nil {
		return err
	}
	for _, st := range g.State {
		b, err := t.dev.Alloc(backend.Float32, st.Node.Shape().TotalSize())
		if err == nil {
			err = t.dev.Fill(b, st.Init)
		}
		if err != nil {
			return fmt.Errorf("train: allocating the state %s: %w", st.Node.Name(), err)
		}
		t.state = append(t.state, b)
		t.stateInfo = append(t.stateInfo, stateInfo{name: st.Node.Name(), shape: slices.Clone([]int(st.Node.Shape())), init: st.Init})
	}
	return nil
}

// stateInfo describes one state buffer.
type stateInfo struct {
	name  string
	shape []int
	init  float64
}

// Params reads the current parameters back to the host, in Model.Params order.
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
	t.arena.Close()
	for _, b := range append(append(t.params, t.grads...), t.state...) {
		t.dev.Free(b)
	}
	t.state = nil
	t.freeDiag()
	if t.norm != nil {
		t.dev.Free(t.norm)
		t.norm = nil
	}
	t.params, t.grads = nil, nil
	if t.cfg.Optimizer != nil {
		t.cfg.Optimizer.Close()
	}
}

// ParamNames names the parameters in Model.Params order, with their shapes: "w1 [784 256]".
func (t *Trainer) ParamNames() []string {
	out := make([]string, len(t.paramInfo))
	for i, p := range t.paramInfo {
		out[i] = fmt.Sprintf("%s %v", p.Name, p.Shape)
	}
	return out
}

// SetState overwrites the model's non-trainable state (for evaluating a checkpoint), in the
// graph's state order; nil leaves it at its initial values.
func (t *Trainer) SetState(vals [][]float32) error {
	if vals == nil {
		return nil
	}
	if len(vals) != len(t.state) {
		return fmt.Errorf("train: SetState: %d tensors, the model has %d: %w", len(vals), len(t.state), ErrInvalid)
	}
	for i, b := range t.state {
		if err := t.dev.Write(b, vals[i]); err != nil {
			return fmt.Errorf("train: SetState: %s: %w", t.stateInfo[i].name, err)
		}
	}
	return nil
}

// State reads the model's non-trainable state back to the host (batch normalisation's
// running statistics), in the graph's state order.
func (t *Trainer) State() ([][]float32, error) {
	out := make([][]float32, len(t.state))
	for i, b := range t.state {
		out[i] = make([]float32, b.Len())
		if err := t.dev.Read(out[i], b); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Skipped is the number of steps dropped for non-finite values under the Skip policy.
func (t *Trainer) Skipped() int { return t.skipped }

// Step is the number of steps taken (including skipped ones); Epoch the number of epochs begun.
func (t *Trainer) Step() int { return t.step }

// Epoch is the number of epochs begun.
func (t *Trainer) Epoch() int { return t.epoch }

// Config returns the trainer's configuration.
func (t *Trainer) Config() Config { return t.cfg }
