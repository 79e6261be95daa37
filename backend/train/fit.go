package train

import (
	"fmt"
	"math"
	"time"
)

// EpochMetrics is reported after every epoch.
type EpochMetrics struct {
	Epoch                 int
	TrainLoss, TrainAcc   float64 // averaged over the epoch's applied steps, weighted by rows; NaN when every step was skipped
	TestLoss, TestAcc     float64 // NaN when there is no test set
	Duration              time.Duration
	SamplesPerSec, LastLR float64
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
			m, err := t.scheduledStep(trainSet, idx)
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
			Duration: dur, SamplesPerSec: float64(trainSet.N) / dur.Seconds(), LastLR: t.lastLR}
		if t.epochSeen == 0 { // every step was skipped: there is no training loss to report, not a loss of 0
			m.TrainLoss, m.TrainAcc = math.NaN(), math.NaN()
		}
		if test != nil {
			var err error
			if m.TestLoss, m.TestAcc, err = t.Evaluate(test); err != nil {
				return t.history, err
			}
		}
		metric := m.TestLoss
		if test == nil {
			metric = m.TrainLoss
		}
		t.sched.Epoch(metric)
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
