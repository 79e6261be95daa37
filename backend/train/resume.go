package train

import (
	"fmt"
	"math"
	"time"

	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
)

// Snapshot captures the trainer's state (reading the weights and optimizer state back from the
// device).
func (t *Trainer) Snapshot() (*State, error) {
	params, err := t.Params()
	if err != nil {
		return nil, err
	}
	ost, err := t.cfg.Optimizer.Snapshot()
	if err != nil {
		return nil, err
	}
	rng, err := t.pcg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	running, err := t.State()
	if err != nil {
		return nil, err
	}
	s := &State{Spec: t.cfg.Model.String(), Loss: t.cfg.Model.LossKind().String(), Shapes: models.Shapes(t.paramInfo), Running: running,
		Seed: t.cfg.Seed, BatchSize: t.cfg.BatchSize, Params: params, Optimizer: ost,
		Epoch: t.epoch, Step: t.step, Skipped: t.skipped,
		MidEpoch: t.midEpoch, EpochRNG: append([]byte(nil), t.epochRNG...), EpochStep: t.epochStep,
		EpochLoss: t.epochLoss, EpochCorrect: t.epochCorrect, EpochSeen: t.epochSeen,
		RNG: rng, History: append([]EpochMetrics(nil), t.history...), Saved: time.Now().UTC()}
	bases := t.sched.Bases()
	s.BaseLR = bases[len(bases)-1]
	sst := t.sched.Snapshot()
	s.Scheduler = &sst
	return s, nil
}

// Restore puts a snapshot back into a trainer built with the same model, optimizer, batch size
// and seed; any mismatch is an error wrapping ErrCheckpoint that names it.
func (t *Trainer) Restore(s *State) error {
	mismatch := func(what string, got, want any) error {
		return fmt.Errorf("train: the checkpoint's %s is %v, this run's is %v: %w", what, got, want, ErrCheckpoint)
	}
	switch {
	case s.Spec != t.cfg.Model.String():
		return mismatch("model", s.Spec, t.cfg.Model.String())
	case s.Loss != t.cfg.Model.LossKind().String():
		return mismatch("loss", s.Loss, t.cfg.Model.LossKind())
	case len(s.Running) != len(t.state):
		return mismatch("number of state tensors (running statistics)", len(s.Running), len(t.state))
	case s.BatchSize != t.cfg.BatchSize:
		return mismatch("batch size", s.BatchSize, t.cfg.BatchSize)
	case s.Seed != t.cfg.Seed:
		return mismatch("seed", s.Seed, t.cfg.Seed)
	case len(s.Params) != len(t.params):
		return mismatch("parameter count", len(s.Params), len(t.params))
	}
	bases := t.sched.Bases()
	if base := bases[len(bases)-1]; s.BaseLR != base {
		return mismatch("learning rate", s.BaseLR, base)
	}
	sst := s.schedulerState(t.cfg.Optimizer, len(bases))
	if (sst.Plateau != nil) != t.sched.HasPlateau() {
		return mismatch("plateau rule", sst.Plateau != nil, t.sched.HasPlateau())
	}
	for i, p := range s.Params {
		if len(p) != t.params[i].Len() {
			return mismatch(fmt.Sprintf("parameter %d size", i), len(p), t.params[i].Len())
		}
		for j, v := range p {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("train: the checkpoint's parameter %d element %d is %v: %w", i, j, v, ErrCheckpoint)
			}
		}
	}
	if err := t.cfg.Optimizer.Restore(s.Optimizer); err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	if err := t.pcg.UnmarshalBinary(s.RNG); err != nil {
		return fmt.Errorf("train: the checkpoint's data-order state: %w: %w", err, ErrCheckpoint)
	}
	if err := t.sched.Restore(sst); err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	for i, r := range s.Running {
		if len(r) != t.state[i].Len() {
			return mismatch(fmt.Sprintf("state %s size", t.stateInfo[i].name), len(r), t.state[i].Len())
		}
		for j, v := range r {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("train: the checkpoint's state %s element %d is %v: %w", t.stateInfo[i].name, j, v, ErrCheckpoint)
			}
		}
	}
	if err := t.SetParams(s.Params); err != nil {
		return err
	}
	for i, r := range s.Running {
		if err := t.dev.Write(t.state[i], r); err != nil {
			return fmt.Errorf("train: restoring the state %s: %w", t.stateInfo[i].name, err)
		}
	}
	t.epoch, t.step, t.skipped = s.Epoch, s.Step, s.Skipped
	t.midEpoch, t.epochRNG, t.epochStep = s.MidEpoch, append([]byte(nil), s.EpochRNG...), s.EpochStep
	t.epochLoss, t.epochCorrect, t.epochSeen = s.EpochLoss, s.EpochCorrect, s.EpochSeen
	t.history = append([]EpochMetrics(nil), s.History...)
	return nil
}

// schedulerState is the checkpoint's scheduler state; a checkpoint written before the scheduler
// existed has its parts elsewhere: the step and epoch counts, the plateau state and, in the
// plateau's phase, the optimizer's last rates.
func (s *State) schedulerState(opt *optim.Optimizer, groups int) optim.SchedulerState {
	if s.Scheduler != nil {
		return *s.Scheduler
	}
	st := optim.SchedulerState{Batches: s.Step, Epochs: s.Epoch, Plateau: s.Plateau}
	if s.MidEpoch {
		st.Epochs-- // the epoch begun is not done
	}
	if s.Plateau != nil {
		st.Rates = make([]float64, groups)
		for i := range st.Rates {
			st.Rates[i] = s.Optimizer.DefaultLR
		}
		if len(s.Optimizer.LRs) == groups {
			copy(st.Rates, s.Optimizer.LRs)
		}
	}
	return st
}
