package train

import (
	"fmt"
	"math"
	"strings"

	"github.com/gotrain/gotrain/backend"
)

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

// TrainStep runs one optimizer step on rows idx of ds and returns the batch loss (before the
// update) and the number of rows predicted correctly. A non-finite loss or gradient is handled
// by the NonFinite policy: with Stop it is an error wrapping ErrNonFinite, with Skip the step is
// dropped and counted (Skipped).
//
// The step takes the scheduler's rates and advances it by one batch, as a step inside Fit does.
func (t *Trainer) TrainStep(ds *Dataset, idx []int) (float64, int, error) {
	m, err := t.scheduledStep(ds, idx)
	return m.Loss, m.Correct, err
}

// scheduledStep is a step at the scheduler's rates, which it then advances.
func (t *Trainer) scheduledStep(ds *Dataset, idx []int) (StepMetrics, error) {
	m, err := t.trainStep(ds, idx, t.sched.Rates())
	if err == nil {
		t.sched.Batch()
		t.lastLR = m.LR
		if t.diagReady {
			// Called once the step is complete, so an error from it leaves a consistent state.
			err = t.deliverDiag()
		}
	}
	return m, err
}

// trainStep runs one step at the given rates (one per group, the default group's last).
func (t *Trainer) trainStep(ds *Dataset, idx []int, rates []float64) (StepMetrics, error) {
	m := StepMetrics{Epoch: t.epoch, Step: t.step + 1, Batch: len(idx), LR: rates[len(rates)-1]}
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
	diag := t.diagOn(m.Step)
	if diag {
		if err := t.diagBefore(bp); err != nil {
			return m, err
		}
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
	if err := t.cfg.Optimizer.StepAt(t.grads, rates); err != nil {
		return m, err
	}
	t.step++
	if diag {
		return m, t.diagAfter(bp, m)
	}
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
