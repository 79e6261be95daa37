package train

import (
	"fmt"
	"slices"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/exec"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A trainer compiles one plan per batch size (training and evaluation apart), on first use; all
// of them share the weight and gradient buffers.

type batchPlan struct {
	// Host staging for this batch size, boxed once: converting a slice to the `any` that
	// Device.Write takes allocates, and the step must not.
	xs, ys       []float32
	xsAny, ysAny any
	// metrics lists the one-element buffers read back after a step: loss, correct, grad norm².
	metrics []backend.Buffer

	model   *models.Graph
	plan    *exec.Plan
	x, y    backend.Buffer
	loss    backend.Buffer
	logits  backend.Buffer
	correct backend.Buffer
	diag    *planDiag // built on the plan's first diagnostic step
}

func (bp *batchPlan) close(dev backend.Device) {
	if bp.diag != nil {
		bp.diag.close(dev)
	}
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
	m, err := t.cfg.Model.Build(rows, tensor.Float32, training)
	if err != nil {
		return nil, err
	}
	if len(m.Params) != len(t.params) || len(m.State) != len(t.state) {
		return nil, fmt.Errorf("train: %v: the %d-row graph has %d parameters and %d state tensors, the model %d and %d: %w",
			t.cfg.Model, rows, len(m.Params), len(m.State), len(t.params), len(t.state), ErrInvalid)
	}
	bind := map[*G.Node]backend.Buffer{}
	for i, p := range m.Params {
		bind[p] = t.params[i]
	}
	for i, st := range m.State {
		if !slices.Equal([]int(st.Node.Shape()), t.stateInfo[i].shape) || st.Node.Name() != t.stateInfo[i].name {
			return nil, fmt.Errorf("train: %v: the %d-row graph's state %d is %s %v, the model's %s %v: %w",
				t.cfg.Model, rows, i, st.Node.Name(), st.Node.Shape(), t.stateInfo[i].name, t.stateInfo[i].shape, ErrInvalid)
		}
		bind[st.Node] = t.state[i]
	}
	targets := []*G.Node{m.Loss, m.Logits}
	var keep []*G.Node
	if training {
		keep = hiddenActivations(m)
		for i, g := range m.Grads {
			bind[g] = t.grads[i]
		}
		targets = append(targets, m.Grads...)
	}
	arena := t.arena
	if t.cfg.noRecycle {
		arena = nil
	}
	plan, err := exec.Compile(m.Graph, exec.Config{Device: t.dev, DType: backend.Float32, Targets: targets, Bind: bind, Keep: keep,
		Recycle: !t.cfg.noRecycle && (!training || t.cfg.RecycleTraining), Arena: arena})
	if err != nil {
		return nil, fmt.Errorf("train: compiling the %d-row plan: %w", rows, err)
	}
	bp := &batchPlan{model: m, plan: plan,
		xs: make([]float32, rows*t.features()), ys: make([]float32, rows*t.cfg.Model.Outputs())}
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
		if ds.Pixels != nil {
			if err := kernels.PixelsToUnit(xs[r*f:(r+1)*f], ds.Pixels[i*f:(i+1)*f]); err != nil {
				return 0, 0, 0, err
			}
		} else {
			copy(xs[r*f:(r+1)*f], ds.X[i*f:(i+1)*f])
		}
		copy(ys[r*o:(r+1)*o], ds.Y[i*o:(i+1)*o])
	}
	if err := t.dev.Write(bp.x, bp.xsAny); err != nil {
		return 0, 0, 0, err
	}
	if err := t.dev.Write(bp.y, bp.ysAny); err != nil {
		return 0, 0, 0, err
	}
	if training {
		// Dropout's masks are keyed by the seed and the step, so a resumed run draws the
		// masks the uninterrupted one would.
		bp.plan.SetSeed(t.cfg.Seed)
		bp.plan.SetStep(uint64(t.step))
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

// features is the number of input values per example the model takes.
func (t *Trainer) features() int {
	n := 1
	for _, d := range t.cfg.Model.InputShape() {
		n *= d
	}
	return n
}
