package optim

import (
	"fmt"
	"slices"
)

// Scheduler owns a run's learning rates: one rate per parameter group (in the optimizer's
// BaseRates order), from a closed-form Schedule advanced per epoch or per batch, from a Plateau
// rule advanced per epoch, or from a schedule that hands over to a plateau rule once it has run
// its course (a warm-up, then ReduceLROnPlateau). The trainer asks it for the rates of each step
// (Rates), tells it when a batch and an epoch end, and checkpoints it with Snapshot; nothing else
// holds a rate.
//
// Each group follows the schedule from its own base rate, as PyTorch's schedulers do with
// param_groups' initial_lr; a plateau reduces every group on the same decision.
type Scheduler struct {
	bases    []float64
	schedule Schedule // nil: the base rates
	interval Interval
	plateau  *Plateau
	// until is the schedule's length, in its interval's steps, after which the plateau rule takes
	// over (0 with no schedule: the plateau from the start).
	until int
	st    SchedulerState
	// rates is the scratch Rates returns in the schedule phase.
	rates []float64
}

// SchedulerState is what a checkpoint keeps of a Scheduler.
type SchedulerState struct {
	Batches, Epochs int // steps and epochs done
	// Rates are the plateau phase's current rates, per group; nil before that phase.
	Rates   []float64
	Plateau *PlateauState
}

// Finite is a Schedule with a length: Steps is the number of its steps after which it has run
// its course. A schedule followed by a plateau rule must be one.
type Finite interface {
	Schedule
	Steps() int
}

// Steps is the warm-up's length.
func (s Linear) Steps() int { return s.Iters }

// Steps is the length of the cosine's half period.
func (s Cosine) Steps() int { return s.TMax }

// Steps is the cycle's length.
func (s OneCycle) Steps() int { return s.TotalSteps }

// NewScheduler returns the scheduler of a run whose groups start at bases (Optimizer.BaseRates).
// schedule (nil: constant) advances per interval; plateau (nil: none) lowers the rates when the
// epochs' metric stalls, from the start or, with a schedule, once the schedule's Steps are done.
// Both are validated; the scheduler keeps the plateau and its state.
func NewScheduler(bases []float64, schedule Schedule, interval Interval, plateau *Plateau) (*Scheduler, error) {
	if len(bases) == 0 {
		return nil, fmt.Errorf("optim: scheduler: no parameter groups: %w", ErrInvalid)
	}
	for i, b := range bases {
		if !nonNeg(b) {
			return nil, fmt.Errorf("optim: scheduler: group %d's rate %v: want finite and >= 0: %w", i, b, ErrInvalid)
		}
	}
	if interval != PerEpoch && interval != PerBatch {
		return nil, fmt.Errorf("optim: scheduler: interval %d: want PerEpoch or PerBatch: %w", interval, ErrInvalid)
	}
	s := &Scheduler{bases: slices.Clone(bases), schedule: schedule, interval: interval, plateau: plateau, rates: make([]float64, len(bases))}
	if schedule != nil {
		if err := ValidateSchedule(schedule); err != nil {
			return nil, err
		}
	}
	if plateau != nil {
		if err := plateau.Validate(); err != nil {
			return nil, err
		}
		if schedule != nil {
			f, ok := schedule.(Finite)
			if !ok {
				return nil, fmt.Errorf("optim: scheduler: %v cannot hand over to %v: it has no end (use warmup, cosine or onecycle before a plateau): %w",
					schedule, plateau, ErrInvalid)
			}
			s.until = f.Steps()
		}
		s.enterPlateau()
	}
	return s, nil
}

// count is the schedule's step count: epochs or batches done.
func (s *Scheduler) count() int {
	if s.interval == PerBatch {
		return s.st.Batches
	}
	return s.st.Epochs
}

// scheduled fills dst with the schedule's rates at step k.
func (s *Scheduler) scheduled(dst []float64, k int) {
	for i, b := range s.bases {
		if s.schedule == nil {
			dst[i] = b
		} else {
			dst[i] = s.schedule.LR(b, k)
		}
	}
}

// enterPlateau starts the plateau phase once the schedule has run its course: the rates stay
// where the schedule left them, and the plateau rule moves them from there.
func (s *Scheduler) enterPlateau() {
	if s.plateau == nil || s.st.Rates != nil || s.count() < s.until {
		return
	}
	s.st.Rates = make([]float64, len(s.bases))
	s.scheduled(s.st.Rates, s.until)
}

// Rates returns the rates of the next step, per group (the slice is the scheduler's: read it,
// do not keep it).
func (s *Scheduler) Rates() []float64 {
	if s.st.Rates != nil {
		return s.st.Rates
	}
	s.scheduled(s.rates, s.count())
	return s.rates
}

// LR is the default group's rate of the next step (the last of Rates).
func (s *Scheduler) LR() float64 {
	r := s.Rates()
	return r[len(r)-1]
}

// Batch records that a training step was taken (skipped steps count: the schedule is a
// function of the step number).
func (s *Scheduler) Batch() {
	s.st.Batches++
	s.enterPlateau()
}

// Epoch records the end of an epoch and its metric (the validation loss, or the training loss
// without a validation set), which a plateau rule in its phase watches.
func (s *Scheduler) Epoch(metric float64) {
	if s.st.Rates != nil && s.plateau.Observe(metric) {
		for i, r := range s.st.Rates {
			s.st.Rates[i] = s.plateau.Reduce(r)
		}
	}
	s.st.Epochs++
	s.enterPlateau()
}

// Snapshot returns the state to checkpoint.
func (s *Scheduler) Snapshot() SchedulerState {
	st := SchedulerState{Batches: s.st.Batches, Epochs: s.st.Epochs, Rates: slices.Clone(s.st.Rates)}
	if s.plateau != nil {
		ps := s.plateau.Snapshot()
		st.Plateau = &ps
	}
	return st
}

// Restore puts a snapshot back into a scheduler built with the same schedule, plateau rule and
// groups; a mismatch is an error that names it.
func (s *Scheduler) Restore(st SchedulerState) error {
	switch {
	case st.Batches < 0 || st.Epochs < 0:
		return fmt.Errorf("optim: scheduler: restore: %d batches and %d epochs done: %w", st.Batches, st.Epochs, ErrInvalid)
	case (st.Plateau != nil) != (s.plateau != nil):
		return fmt.Errorf("optim: scheduler: restore: the snapshot has a plateau rule: %v, this scheduler: %v: %w", st.Plateau != nil, s.plateau != nil, ErrInvalid)
	case st.Rates != nil && len(st.Rates) != len(s.bases):
		return fmt.Errorf("optim: scheduler: restore: %d rates for %d groups: %w", len(st.Rates), len(s.bases), ErrInvalid)
	}
	for i, r := range st.Rates {
		if !nonNeg(r) {
			return fmt.Errorf("optim: scheduler: restore: group %d's rate %v: %w", i, r, ErrInvalid)
		}
	}
	s.st = SchedulerState{Batches: st.Batches, Epochs: st.Epochs, Rates: slices.Clone(st.Rates)}
	if s.plateau != nil {
		s.plateau.Restore(*st.Plateau)
		if st.Rates == nil {
			s.enterPlateau()
		}
	}
	return nil
}

// Bases returns the groups' base rates.
func (s *Scheduler) Bases() []float64 { return slices.Clone(s.bases) }

// String describes the schedule and the plateau rule.
func (s *Scheduler) String() string {
	switch {
	case s.plateau == nil && s.schedule == nil:
		return "constant"
	case s.plateau == nil:
		return s.schedule.String()
	case s.schedule == nil:
		return s.plateau.String()
	}
	return fmt.Sprintf("%v, then %v", s.schedule, s.plateau)
}

// Interval is when the schedule advances.
func (s *Scheduler) Interval() Interval { return s.interval }

// HasPlateau reports whether a plateau rule watches the epochs' metric.
func (s *Scheduler) HasPlateau() bool { return s.plateau != nil }

// Constant reports whether the rates never change.
func (s *Scheduler) Constant() bool {
	_, c := s.schedule.(Constant)
	return s.plateau == nil && (s.schedule == nil || c)
}
