package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gotrain/gotrain/optim"
)

// FindLR runs the learning-rate range test (optim.RangeTest) on shuffled batches of ds and then
// puts the weights, the optimizer state and the step count back as they were, so training can
// start from the same point with the suggested rate. Config.ShouldStop is asked before every
// batch; when it says stop, FindLR returns the points so far and an error wrapping ErrInterrupted.
func (t *Trainer) FindLR(ds *Dataset, rt optim.RangeTest) (optim.RangeResult, error) {
	if err := t.checkData(ds, "range-test"); err != nil {
		return optim.RangeResult{}, err
	}
	curve, err := rt.Begin()
	if err != nil {
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
	step0, skipped0 := t.step, t.skipped
	// The range test's steps are undone, so they take no diagnostics.
	diag := t.diag
	t.diag = nil
	defer func() { t.diag = diag }()
	// Its own data order, so the range test does not shift the training run's shuffles.
	rng := rand.New(rand.NewPCG(t.cfg.Seed, 0x5851f42d4c957f2d))
	perm := rng.Perm(ds.N)
	bs := min(t.cfg.BatchSize, ds.N)
	// Every group follows the test's rate in proportion to its base rate.
	bases := t.sched.Bases()
	rates := make([]float64, len(bases))
	var runErr error
	for pos, i := 0, 0; ; i++ {
		if t.cfg.ShouldStop != nil && t.cfg.ShouldStop() {
			runErr = fmt.Errorf("train: range test stopped after %d steps: %w", i, ErrInterrupted)
			break
		}
		if pos+bs > len(perm) {
			rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			pos = 0
		}
		idx := perm[pos : pos+bs]
		pos += bs
		lr := curve.LR()
		for g, b := range bases {
			rates[g] = lr
			if d := bases[len(bases)-1]; b != d && d != 0 {
				rates[g] = lr * b / d
			}
		}
		m, err := t.trainStep(ds, idx, rates)
		loss := m.Loss
		if errors.Is(err, ErrNonFinite) {
			loss, err = math.NaN(), nil // the curve stops on it
		}
		if err != nil {
			runErr = fmt.Errorf("train: range test step %d (lr %g): %w", i, lr, err)
			break
		}
		if curve.Add(loss) {
			break
		}
	}
	// Restore whatever happened.
	t.step, t.skipped = step0, skipped0
	if err := t.SetParams(params); err != nil {
		return optim.RangeResult{}, err
	}
	if err := t.cfg.Optimizer.Restore(ostate); err != nil {
		return optim.RangeResult{}, err
	}
	if errors.Is(runErr, ErrInterrupted) {
		res, _ := curve.Result() // the points so far, for the caller to keep
		return res, runErr
	}
	if runErr != nil {
		return optim.RangeResult{}, runErr
	}
	return curve.Result()
}
