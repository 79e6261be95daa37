package train

import (
	"fmt"
	"math"
	"slices"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/models/nn"
	G "gorgonia.org/gorgonia"
)

// Per-layer diagnostics (Config.Diagnostics). On a diagnostic step the trainer queues, beside the
// step and on the device, one reduction per quantity into a one-element buffer, and brings every
// one of them back with a single ReadScalars after the optimizer step: the only extra round trip.
// Steps without diagnostics run exactly the code they ran before (one branch on an int), so they
// stay allocation-free and their trajectories are unchanged: diagnostics only read the weights,
// gradients and activations, and write buffers of their own.

// The saturation thresholds. A sigmoid unit's value is saturated outside [SigmoidLow,
// SigmoidHigh], where σ' = y(1-y) < 0.0099, a twenty-fifth of its maximum of 1/4; a tanh unit's
// when |y| > TanhLimit, where 1-y² < 0.02. The comparisons are made on the device in float32,
// against these constants rounded to float32.
const (
	SigmoidLow  = 0.01
	SigmoidHigh = 0.99
	TanhLimit   = 0.99
)

// Diagnostics are the per-layer measurements of one step, taken on the step's batch.
type Diagnostics struct {
	Epoch, Step int // as in StepMetrics
	Batch       int // rows in the batch
	// Params has one entry per parameter tensor, in Model.Params order.
	Params []ParamStats
	// Layers has one entry per hidden activation (every nn.ActivationOp node of the graph but
	// identities and the logits), in the order the forward pass computes them.
	Layers []LayerStats
}

// ParamStats are one parameter tensor's measurements.
type ParamStats struct {
	Name  string
	Shape []int
	Kind  models.ParamKind
	// GradNorm is the L2 norm of the gradient, before clipping.
	GradNorm float64
	// WeightNorm is the L2 norm of the weights before the update.
	WeightNorm float64
	// UpdateNorm is ||w_after - w_before||: the step the optimizer took, after clipping.
	UpdateNorm float64
	// UpdateRatio is UpdateNorm / WeightNorm; NaN when WeightNorm is 0 (a bias at its initial
	// zero).
	UpdateRatio float64
}

// LayerStats are one hidden activation's measurements over the batch: its values y for every
// example and unit. A unit is one output feature of a dense layer, one channel at one position
// of a convolutional layer (C·H·W units per example).
type LayerStats struct {
	// Name is "h1", "h2", ... in forward order.
	Name  string
	Act   kernels.Activation
	Shape []int // one example's shape: [units] or [C, H, W]
	// Mean and Std are the mean and (population) standard deviation of every value of the
	// layer in the batch.
	Mean, Std float64
	// Saturated is the fraction of values in the flat tails (SaturationRule); NaN for an
	// activation without a saturation rule (any but sigmoid and tanh).
	Saturated float64
	// Dead is the fraction of units that are inactive for every example of the batch
	// (DeadRule); NaN for an activation without a dead rule (any outside the ReLU family).
	Dead float64
}

// Units is the number of units per example.
func (l LayerStats) Units() int {
	n := 1
	for _, d := range l.Shape {
		n *= d
	}
	return n
}

// SaturationRule says when a value of act counts as saturated; "" when act has no rule.
func SaturationRule(act kernels.Activation) string {
	switch act {
	case kernels.Sigmoid:
		return fmt.Sprintf("y < %g or y > %g", SigmoidLow, SigmoidHigh)
	case kernels.Tanh:
		return fmt.Sprintf("|y| > %g", TanhLimit)
	}
	return ""
}

// DeadRule says when a unit of act counts as dead; "" when act has no rule. Every rule is y <= 0
// for every example of the batch: for ReLU that is y = 0 (no gradient flows through the unit
// for any of them); for the others of the family it is x <= 0, the side where leaky ReLU and
// ELU pass only a damped gradient and GELU and SiLU a small one, so there the unit is inactive
// rather than dead.
func DeadRule(act kernels.Activation) string {
	switch act {
	case kernels.ReLU:
		return "y = 0 for every example of the batch"
	case kernels.LeakyReLU, kernels.ELU, kernels.GELU, kernels.GELUTanh, kernels.SiLU:
		return "y <= 0 (x <= 0) for every example of the batch"
	}
	return ""
}

// diagState is the trainer's part of the diagnostics: per parameter, a scratch copy of the weights
// before the update and the one-element buffers of its three squared norms.
type diagState struct {
	every      int
	scratch    []backend.Buffer
	g2, w2, d2 []backend.Buffer
	// One-buffer lists for SumSquares, built once: a slice literal per call would allocate.
	grads, weights, deltas [][]backend.Buffer
}

// planDiag is a plan's part: the activations it computes and the buffers that reduce them.
type planDiag struct {
	layers []layerDiag
	// zero is a one-element 0, for the comparison over the units.
	zero backend.Buffer
	// srcs lists every scalar a diagnostic step reads back (the parameters' then the layers'),
	// vals receives them.
	srcs  []backend.Buffer
	vals  []float64
	owned []backend.Buffer
}

// layerDiag is one activation's reductions.
type layerDiag struct {
	name          string
	act           kernels.Activation
	shape         []int
	y             backend.Buffer
	rows, units   int
	unit          backend.Buffer // per-unit sums
	sum, ss       backend.Buffer // Σy, Σ(y-mean)²
	negMean       backend.Buffer
	count         backend.Buffer // saturated values or dead units
	tmp           backend.Buffer // scratch of the layer's length, shared by layers of that length
	tmpList       []backend.Buffer
	unitList      []backend.Buffer
	saturate, die bool
}

// diagOn says whether step (counted from 1) takes diagnostics: the first, and every multiple of
// Config.Diagnostics.
func (t *Trainer) diagOn(step int) bool {
	return t.diag != nil && (step == 1 || step%t.diag.every == 0)
}

// allocDiag allocates the parameters' diagnostic buffers (New calls it when Diagnostics > 0).
func (t *Trainer) allocDiag() error {
	if t.cfg.Diagnostics == 0 {
		return nil
	}
	d := &diagState{every: t.cfg.Diagnostics}
	t.diag = d
	one := func() (backend.Buffer, error) { return t.dev.Alloc(backend.Float32, 1) }
	for i, p := range t.params {
		s, err := t.dev.Alloc(backend.Float32, p.Len())
		if err != nil {
			return fmt.Errorf("train: allocating the diagnostics' copy of %s: %w", t.paramInfo[i].Name, err)
		}
		d.scratch = append(d.scratch, s)
		for _, dst := range []*[]backend.Buffer{&d.g2, &d.w2, &d.d2} {
			b, err := one()
			if err != nil {
				return fmt.Errorf("train: allocating diagnostics: %w", err)
			}
			*dst = append(*dst, b)
		}
		d.grads = append(d.grads, []backend.Buffer{t.grads[i]})
		d.weights = append(d.weights, []backend.Buffer{p})
		d.deltas = append(d.deltas, []backend.Buffer{s})
	}
	return nil
}

// freeDiag frees the parameters' diagnostic buffers.
func (t *Trainer) freeDiag() {
	if t.diag == nil {
		return
	}
	for _, list := range [][]backend.Buffer{t.diag.scratch, t.diag.g2, t.diag.w2, t.diag.d2} {
		for _, b := range list {
			t.dev.Free(b)
		}
	}
	t.diag = nil
}

// hiddenActivations lists the graph's activation nodes other than the identity and the logits:
// the layers diagnostics describe. A training plan keeps their buffers (exec.Config.Keep), so
// they hold the step's activations when the diagnostics read them.
func hiddenActivations(m *models.Graph) []*G.Node {
	var out []*G.Node
	for _, n := range m.Graph.AllNodes() {
		if op, ok := n.Op().(nn.ActivationOp); ok && op.Act != kernels.Identity && n != m.Logits {
			out = append(out, n)
		}
	}
	return out
}

// newPlanDiag finds bp's hidden activations and allocates their reductions.
func (t *Trainer) newPlanDiag(bp *batchPlan) (*planDiag, error) {
	pd := &planDiag{}
	alloc := func(n int) (backend.Buffer, error) {
		b, err := t.dev.Alloc(backend.Float32, n)
		if err == nil {
			pd.owned = append(pd.owned, b)
		}
		return b, err
	}
	constant := func(v float64) (backend.Buffer, error) {
		b, err := alloc(1)
		if err == nil {
			err = t.dev.Fill(b, v)
		}
		return b, err
	}
	fail := func(err error) (*planDiag, error) {
		pd.close(t.dev)
		return nil, fmt.Errorf("train: allocating diagnostics: %w", err)
	}
	rows := bp.model.X.Shape()[0]
	// Elementwise ops need equal lengths, so the scratch is shared by the layers of one length:
	// one buffer for a stack of equal widths. (Views of one buffer would serve too, but only on a
	// backend.Viewer; this works on every device.)
	scratch := map[int]backend.Buffer{}
	for _, n := range hiddenActivations(bp.model) {
		op := n.Op().(nn.ActivationOp)
		y, ok := bp.plan.Buffer(n)
		if !ok || n.Shape()[0] != rows {
			continue
		}
		l := layerDiag{name: fmt.Sprintf("h%d", len(pd.layers)+1), act: op.Act, shape: []int(n.Shape()[1:].Clone()), y: y,
			rows: rows, units: y.Len() / rows, saturate: SaturationRule(op.Act) != "", die: DeadRule(op.Act) != ""}
		var err error
		if l.unit, err = alloc(l.units); err != nil {
			return fail(err)
		}
		for _, b := range []*backend.Buffer{&l.sum, &l.ss, &l.negMean, &l.count} {
			if *b, err = alloc(1); err != nil {
				return fail(err)
			}
		}
		if l.tmp = scratch[y.Len()]; l.tmp == nil {
			if l.tmp, err = alloc(y.Len()); err != nil {
				return fail(err)
			}
			scratch[y.Len()] = l.tmp
		}
		l.tmpList, l.unitList = []backend.Buffer{l.tmp}, []backend.Buffer{l.unit}
		pd.layers = append(pd.layers, l)
	}
	var err error
	if pd.zero, err = constant(0); err != nil {
		return fail(err)
	}
	d := t.diag
	for i := range t.params {
		pd.srcs = append(pd.srcs, d.g2[i], d.w2[i], d.d2[i])
	}
	for i := range pd.layers {
		l := &pd.layers[i]
		pd.srcs = append(pd.srcs, l.sum, l.ss)
		if l.saturate || l.die {
			pd.srcs = append(pd.srcs, l.count)
		}
	}
	pd.vals = make([]float64, len(pd.srcs))
	return pd, nil
}

func (pd *planDiag) close(dev backend.Device) {
	for _, b := range pd.owned {
		dev.Free(b)
	}
	pd.owned, pd.layers = nil, nil
}

// diagBefore queues what is measured before the update: the gradients' and weights' squared
// norms, the copy of the weights, and the activations' reductions.
func (t *Trainer) diagBefore(bp *batchPlan) error {
	if bp.diag == nil {
		pd, err := t.newPlanDiag(bp)
		if err != nil {
			return err
		}
		bp.diag = pd
	}
	d, dev := t.diag, t.dev
	for i, p := range t.params {
		if err := dev.SumSquares(d.g2[i], d.grads[i]); err != nil {
			return err
		}
		if err := dev.SumSquares(d.w2[i], d.weights[i]); err != nil {
			return err
		}
		if err := dev.Copy(d.scratch[i], p); err != nil {
			return err
		}
	}
	for i := range bp.diag.layers {
		if err := bp.diag.reduce(dev, &bp.diag.layers[i]); err != nil {
			return fmt.Errorf("train: diagnostics of layer %s: %w", bp.diag.layers[i].name, err)
		}
	}
	return nil
}

// reduce queues one layer's reductions, each into a one-element buffer:
//
//   - Σy, over the batch per unit and then over the units, and from it the mean;
//   - Σ(y-mean)², a second pass, so the spread is not the difference of two large sums;
//   - for sigmoid and tanh, the values outside [lo, hi]: y - clamp(y, lo, hi) is nonzero exactly
//     there (y < lo or y > hi, compared in float32); scaled by 2^126 every nonzero difference
//     (at least 2^-30 in magnitude, the spacing of float32 near the thresholds, and at most 1)
//     has magnitude 2^96 or more, so clamping to [-1, 1] makes it ±1 and a sum of squares
//     counts them;
//   - for the ReLU family, the units whose every example is <= 0: the per-unit sum of max(y, 0)
//     is 0 exactly then (its terms cannot cancel; for ReLU y >= 0 already, so the sums of the
//     mean serve), and a comparison over the units and a sum of squares count them.
//
// Comparisons, Sign and Max run elementwise through a function call per element on the CPU
// device, four times slower than Add, Scale and Clamp, so only the per-unit comparison (over
// one row's worth of elements) uses one.
func (pd *planDiag) reduce(dev backend.Device, l *layerDiag) error {
	n := l.y.Len()
	tmp := l.tmp
	if err := dev.Sum(l.unit, l.y, 1, l.rows, l.units); err != nil {
		return err
	}
	if err := dev.Sum(l.sum, l.unit, 1, l.units, 1); err != nil {
		return err
	}
	if err := dev.Scale(l.negMean, l.sum, -1/float64(n)); err != nil {
		return err
	}
	if err := dev.Binary(backend.Add, tmp, l.y, l.negMean); err != nil {
		return err
	}
	if err := dev.SumSquares(l.ss, l.tmpList); err != nil {
		return err
	}
	switch {
	case l.saturate:
		lo, hi := SigmoidLow, SigmoidHigh
		if l.act == kernels.Tanh {
			lo, hi = -TanhLimit, TanhLimit
		}
		if err := dev.Clamp(tmp, l.y, lo, hi); err != nil {
			return err
		}
		if err := dev.Binary(backend.Sub, tmp, l.y, tmp); err != nil {
			return err
		}
		if err := dev.Scale(tmp, tmp, 0x1p126); err != nil {
			return err
		}
		if err := dev.Clamp(tmp, tmp, -1, 1); err != nil {
			return err
		}
		return dev.SumSquares(l.count, l.tmpList)
	case l.die:
		if l.act != kernels.ReLU {
			if err := dev.Clamp(tmp, l.y, 0, math.MaxFloat32); err != nil {
				return err
			}
			if err := dev.Sum(l.unit, tmp, 1, l.rows, l.units); err != nil {
				return err
			}
		}
		if err := dev.Binary(backend.Le, l.unit, l.unit, pd.zero); err != nil {
			return err
		}
		return dev.SumSquares(l.count, l.unitList)
	}
	return nil
}

// diagAfter measures the update (w_after - w_before, in the scratch copy) and reads every scalar
// of the step back at once, for deliverDiag.
func (t *Trainer) diagAfter(bp *batchPlan, m StepMetrics) error {
	d, dev, pd := t.diag, t.dev, bp.diag
	for i, p := range t.params {
		if err := dev.Binary(backend.Sub, d.scratch[i], p, d.scratch[i]); err != nil {
			return err
		}
		if err := dev.SumSquares(d.d2[i], d.deltas[i]); err != nil {
			return err
		}
	}
	if err := dev.ReadScalars(pd.vals, pd.srcs); err != nil {
		return err
	}
	out := Diagnostics{Epoch: m.Epoch, Step: m.Step, Batch: m.Batch,
		Params: make([]ParamStats, len(t.params)), Layers: make([]LayerStats, len(pd.layers))}
	v := pd.vals
	for i, info := range t.paramInfo {
		ps := ParamStats{Name: info.Name, Shape: slices.Clone(info.Shape), Kind: info.Kind,
			GradNorm: math.Sqrt(v[0]), WeightNorm: math.Sqrt(v[1]), UpdateNorm: math.Sqrt(v[2]), UpdateRatio: math.NaN()}
		if ps.WeightNorm > 0 {
			ps.UpdateRatio = ps.UpdateNorm / ps.WeightNorm
		}
		out.Params[i] = ps
		v = v[3:]
	}
	for i := range pd.layers {
		l := &pd.layers[i]
		n := float64(l.y.Len())
		ls := LayerStats{Name: l.name, Act: l.act, Shape: slices.Clone(l.shape), Mean: v[0] / n, Std: math.Sqrt(v[1] / n),
			Saturated: math.NaN(), Dead: math.NaN()}
		v = v[2:]
		switch {
		case l.saturate:
			ls.Saturated, v = v[0]/n, v[1:]
		case l.die:
			ls.Dead, v = v[0]/float64(l.units), v[1:]
		}
		out.Layers[i] = ls
	}
	t.diagOut, t.diagReady = out, true
	return nil
}

// deliverDiag hands the last diagnostic step's measurements to Config.OnDiagnostics.
func (t *Trainer) deliverDiag() error {
	t.diagReady = false
	if t.cfg.OnDiagnostics == nil {
		return nil
	}
	return t.cfg.OnDiagnostics(t.diagOut)
}
