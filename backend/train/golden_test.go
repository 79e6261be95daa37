package train_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
	"github.com/stretchr/testify/require"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden-trajectories.json from this build")

const goldenFile = "testdata/golden-trajectories.json"

// goldenCase is one training configuration whose whole trajectory is pinned: every step's loss,
// rate and gradient norm, every epoch's metrics, the final weights and the optimizer's state.
// The hashes in testdata were recorded before the optimizers, schedules and trainer were
// restructured (issue 13); a refactor must reproduce them bit for bit.
type goldenCase struct {
	name     string
	opt      func() *optim.Optimizer
	schedule optim.Schedule
	interval optim.Interval
	plateau  func() *optim.Plateau
	clipNorm float64
	clipVal  float64
	// stopAt > 0 also runs the case interrupted after that many steps, through a checkpoint
	// file, into a fresh trainer: its result must hash the same, and the checkpoint's contents
	// are pinned too.
	stopAt int
}

func goldenOpt(name string, lr float64, edit func(*optim.Options)) func() *optim.Optimizer {
	return func() *optim.Optimizer {
		o, err := optim.Defaults(name, lr)
		if err != nil {
			panic(err)
		}
		if edit != nil {
			edit(&o)
		}
		opt, err := optim.New(o)
		if err != nil {
			panic(err)
		}
		return opt
	}
}

func goldenCases() []goldenCase {
	adamNoDecayBias := func() *optim.Optimizer {
		o, _ := optim.Defaults("adam", 0.01)
		o.WeightDecay = 0.01
		s, _ := models.ParseSpec(goldenSpec, kernels.Tanh, kernels.SoftmaxCrossEntropy)
		opt, err := optim.New(o, optim.NoDecayGroups(o, s.ParamShapes())...)
		if err != nil {
			panic(err)
		}
		return opt
	}
	plateau := func() *optim.Plateau {
		p := optim.NewPlateau()
		p.Patience, p.Factor = 0, 0.5
		return p
	}
	return []goldenCase{
		{name: "sgd constant", opt: goldenOpt("sgd", 0.1, nil)},
		{name: "momentum step per epoch", opt: goldenOpt("momentum", 0.05, nil), schedule: optim.Step{Size: 1, Gamma: 0.5}, stopAt: 13},
		{name: "nesterov cosine per batch", opt: goldenOpt("nesterov", 0.05, nil), schedule: optim.Cosine{TMax: 39}, interval: optim.PerBatch, stopAt: 17},
		{name: "sgd momentum dampening weight decay exponential", opt: goldenOpt("sgd", 0.05, func(o *optim.Options) {
			o.Momentum, o.Dampening, o.WeightDecay = 0.9, 0.1, 1e-3
		}), schedule: optim.Exponential{Gamma: 0.9}},
		{name: "rmsprop constant", opt: goldenOpt("rmsprop", 0.01, nil)},
		{name: "rmsprop centered momentum multistep", opt: goldenOpt("rmsprop", 0.005, func(o *optim.Options) {
			o.Centered, o.Momentum, o.WeightDecay = true, 0.5, 1e-3
		}), schedule: optim.MultiStep{Milestones: []int{1, 2}, Gamma: 0.5}},
		{name: "adam constant", opt: goldenOpt("adam", 0.01, nil)},
		{name: "adam amsgrad weight decay warmup-cosine per batch", opt: goldenOpt("adam", 0.01, func(o *optim.Options) {
			o.AMSGrad, o.WeightDecay = true, 1e-2
		}), schedule: optim.Sequential{Schedules: []optim.Schedule{optim.Linear{Start: 0.01, End: 1, Iters: 5}, optim.Cosine{TMax: 34}}, Milestones: []int{5}},
			interval: optim.PerBatch, stopAt: 9},
		{name: "adam onecycle per batch", opt: goldenOpt("adam", 0.01, nil), schedule: optim.OneCycle{MaxLR: 0.05, TotalSteps: 39, PctStart: 0.3, DivFactor: 25, FinalDivFactor: 1e4}, interval: optim.PerBatch},
		{name: "adam plateau", opt: goldenOpt("adam", 0.02, nil), plateau: plateau, stopAt: 20},
		{name: "adamw linear warm-up per batch", opt: goldenOpt("adamw", 0.01, nil), schedule: optim.Linear{Start: 0.1, End: 1, Iters: 10}, interval: optim.PerBatch},
		{name: "adagrad lr decay initial accumulator weight decay", opt: goldenOpt("adagrad", 0.1, func(o *optim.Options) {
			o.LRDecay, o.InitialAccumulator, o.WeightDecay = 0.01, 0.1, 1e-3
		})},
		{name: "nadam constant", opt: goldenOpt("nadam", 0.01, nil), stopAt: 20},
		{name: "nadamw step per epoch", opt: goldenOpt("nadam", 0.01, func(o *optim.Options) {
			o.Decoupled, o.WeightDecay = true, 0.01
		}), schedule: optim.Step{Size: 2, Gamma: 0.3}},
		{name: "adam no decay on biases", opt: adamNoDecayBias},
		{name: "adam no decay on biases cosine per batch", opt: adamNoDecayBias, schedule: optim.Cosine{TMax: 39}, interval: optim.PerBatch},
		{name: "momentum clipped by norm and value", opt: goldenOpt("momentum", 0.1, nil), clipNorm: 1, clipVal: 0.05},
	}
}

const goldenSpec = "8-12:tanh-7:relu-3"

func (c goldenCase) config(stop func() bool) train.Config {
	s, err := models.ParseSpec(goldenSpec, kernels.Tanh, kernels.SoftmaxCrossEntropy)
	if err != nil {
		panic(err)
	}
	opt := c.opt()
	var p *optim.Plateau
	if c.plateau != nil {
		p = c.plateau()
	}
	sched, err := optim.NewScheduler(opt.BaseRates(), c.schedule, c.interval, p)
	if err != nil {
		panic(err)
	}
	return train.Config{Model: s, Optimizer: opt, Scheduler: sched, BatchSize: 16, Epochs: 3, Seed: 7,
		ClipNorm: c.clipNorm, ClipValue: c.clipVal, ShouldStop: stop}
}

// hasher accumulates the bits of a trajectory.
type hasher struct{ b []byte }

func (h *hasher) f64(v float64) { h.b = binary.LittleEndian.AppendUint64(h.b, math.Float64bits(v)) }
func (h *hasher) f32(v float32) { h.b = binary.LittleEndian.AppendUint32(h.b, math.Float32bits(v)) }
func (h *hasher) int(v int)     { h.b = binary.LittleEndian.AppendUint64(h.b, uint64(v)) }
func (h *hasher) sum() string {
	s := sha256.Sum256(h.b)
	return hex.EncodeToString(s[:])
}

// hashState hashes what a checkpoint holds that decides the rest of a run: weights, optimizer
// state (tensors, step count, NAdam products), plateau state and the position. The rates are
// pinned by the steps' hash (each step's rate), not by how a checkpoint stores them.
func hashState(st *train.State) string {
	var h hasher
	for _, p := range st.Params {
		for _, v := range p {
			h.f32(v)
		}
	}
	h.int(st.Optimizer.Steps)
	for _, v := range st.Optimizer.MuProduct {
		h.f64(v)
	}
	for _, tns := range st.Optimizer.Tensors {
		for _, v := range tns {
			h.f64(v)
		}
	}
	if ps := plateauOf(st); ps != nil {
		h.f64(ps.Best)
		h.int(ps.NumBad)
		h.int(ps.CooldownCounter)
		h.int(ps.Epochs)
	}
	h.int(st.Epoch)
	h.int(st.Step)
	h.int(st.EpochStep)
	h.f64(st.EpochLoss)
	h.int(st.EpochCorrect)
	return h.sum()
}

// plateauOf is the plateau state of a checkpoint: in its scheduler state, or where checkpoints
// written before the scheduler existed kept it.
func plateauOf(st *train.State) *optim.PlateauState {
	if st.Scheduler != nil {
		return st.Scheduler.Plateau
	}
	return st.Plateau
}

type goldenResult struct {
	Steps      string `json:"steps"`      // every step's loss, rate, gradient norm and correct count
	Epochs     string `json:"epochs"`     // every epoch's train loss/accuracy, test loss/accuracy and last rate
	Final      string `json:"final"`      // the final checkpoint's contents (hashState)
	Checkpoint string `json:"checkpoint"` // the interrupted run's checkpoint contents, when stopAt > 0
}

func runGolden(t *testing.T, c goldenCase) goldenResult {
	data, test := blobs(t, 203, 8, 3, 31), blobs(t, 60, 8, 3, 32)
	var steps hasher
	record := func(cfg *train.Config) {
		cfg.OnStep = func(m train.StepMetrics) error {
			steps.int(m.Step)
			steps.f64(m.Loss)
			steps.f64(m.LR)
			steps.f64(m.GradNorm)
			steps.int(m.Correct)
			return nil
		}
	}
	cfg := c.config(nil)
	cfg.Device = newDevice(t)
	record(&cfg)
	tr, err := train.New(cfg)
	require.NoError(t, err)
	defer tr.Close()
	hist, err := tr.Fit(data, test)
	require.NoError(t, err)
	var epochs hasher
	for _, m := range hist {
		epochs.f64(m.TrainLoss)
		epochs.f64(m.TrainAcc)
		epochs.f64(m.TestLoss)
		epochs.f64(m.TestAcc)
		epochs.f64(m.LastLR)
	}
	st, err := tr.Snapshot()
	require.NoError(t, err)
	res := goldenResult{Steps: steps.sum(), Epochs: epochs.sum(), Final: hashState(st)}
	if c.stopAt == 0 {
		return res
	}

	// The same run interrupted, saved to a file, loaded into a fresh trainer and finished.
	n := 0
	cfg = c.config(func() bool { n++; return n >= c.stopAt })
	cfg.Device = newDevice(t)
	a, err := train.New(cfg)
	require.NoError(t, err)
	defer a.Close()
	_, err = a.Fit(data, test)
	require.ErrorIs(t, err, train.ErrInterrupted)
	mid, err := a.Snapshot()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "golden.ckpt")
	require.NoError(t, train.SaveCheckpoint(path, mid))
	loaded, err := train.LoadCheckpoint(path)
	require.NoError(t, err)
	res.Checkpoint = hashState(loaded)

	cfg = c.config(nil)
	cfg.Device = newDevice(t)
	b, err := train.New(cfg)
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, b.Restore(loaded))
	_, err = b.Fit(data, test)
	require.NoError(t, err)
	end, err := b.Snapshot()
	require.NoError(t, err)
	require.Equal(t, res.Final, hashState(end), "the resumed run must end where the uninterrupted one does")
	return res
}

// TestTrajectoriesAreTheRecordedOnes pins the CPU trajectories of every optimizer and schedule
// kind, with and without an interruption, to hashes recorded before the optimizer refactor. The
// GEMM's AVX2/FMA kernel rounds differently from its Go twin, so the hashes are those of the
// AVX2/FMA path; a machine without it cannot reproduce them.
func TestTrajectoriesAreTheRecordedOnes(t *testing.T) {
	if !cpufeat.FMA {
		t.Skip("the recorded trajectories are those of the AVX2/FMA kernels; this CPU has no AVX2/FMA")
	}
	got := map[string]goldenResult{}
	for _, c := range goldenCases() {
		got[c.name] = runGolden(t, c)
	}
	if *updateGolden {
		b, err := json.MarshalIndent(got, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(goldenFile, append(b, '\n'), 0o644))
		return
	}
	raw, err := os.ReadFile(goldenFile)
	require.NoError(t, err)
	var want map[string]goldenResult
	require.NoError(t, json.Unmarshal(raw, &want))
	for _, c := range goldenCases() {
		w, ok := want[c.name]
		if !ok {
			t.Errorf("%s: no recorded trajectory (run with -update-golden only when a change of trajectory is intended)", c.name)
			continue
		}
		if got[c.name] != w {
			t.Errorf("%s: the trajectory changed:\n got %+v\nwant %+v", c.name, got[c.name], w)
		}
	}
}
