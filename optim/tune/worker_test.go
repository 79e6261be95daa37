package tune

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runStudy runs cfg with n workers (goroutines) in a fresh SQLite file and returns the study.
func runStudy(t *testing.T, cfg *Config, n int, delay func(k, e int) time.Duration) *Study {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	store, err := OpenStore(ctx, filepath.Join(dir, "study.db"))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	st, err := OpenStudy(ctx, store, "s", cfg)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &Worker{Study: st, ID: NewWorkerID(i), Objective: &synthObjective{dir: dir, delay: delay},
				Lease: 5 * time.Second, Poll: 2 * time.Millisecond}
			errs[i] = w.Run(ctx)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	trials, err := st.Trials(ctx)
	require.NoError(t, err)
	for _, tr := range trials {
		require.Equal(t, 1, tr.Attempt, "trial %d was claimed twice although no worker died", tr.Index)
	}
	return st
}

func jitter(seed uint64) func(k, e int) time.Duration {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, 1))
	return func(k, e int) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return time.Duration(r.IntN(3000)) * time.Microsecond
	}
}

func TestAStudyIsTheSameWhateverTheNumberOfWorkersAndTheirTiming(t *testing.T) {
	cases := []struct{ sampler, pruner string }{
		{"tpe:startup=6", "asha"},
		{"tpe:startup=4", "hyperband"},
		{"random", "median:startup=3"},
		{"grid:points=2", "asha:eta=2"},
	}
	for _, c := range cases {
		t.Run(c.sampler+" with "+c.pruner, func(t *testing.T) {
			ref := summary(t, runStudy(t, testConfig(t, c.sampler, c.pruner, 24), 1, nil))
			require.Len(t, ref, 24)
			pruned := 0
			for _, l := range ref {
				if contains(l, " pruned ") {
					pruned++
				}
			}
			if c.pruner != "median:startup=3" || pruned > 0 {
				assert.Greater(t, pruned, 0, "the pruner pruned nothing: the comparison would not test decisions")
			}
			for _, n := range []int{3, 4} {
				got := summary(t, runStudy(t, testConfig(t, c.sampler, c.pruner, 24), n, jitter(uint64(n))))
				assert.Equal(t, ref, got, "%d workers", n)
			}
		})
	}
}

func contains(s, sub string) bool { return len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0) }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestAsynchronousModeCompletesTheStudy(t *testing.T) {
	cfg := testConfig(t, "tpe:startup=4", "asha", 20)
	cfg.Async = true
	st := runStudy(t, cfg, 4, jitter(3))
	trials, err := st.Trials(context.Background())
	require.NoError(t, err)
	require.Len(t, trials, 20)
	for _, tr := range trials {
		assert.True(t, tr.State.Ended(), "trial %d is %s", tr.Index, tr.State)
	}
}

func TestEveryPrunedTrialSaysWhy(t *testing.T) {
	st := runStudy(t, testConfig(t, "tpe:startup=6", "asha", 20), 2, nil)
	trials, err := st.Trials(context.Background())
	require.NoError(t, err)
	n := 0
	for _, tr := range trials {
		if tr.State != Pruned {
			assert.Nil(t, tr.Reason)
			continue
		}
		n++
		require.NotNil(t, tr.Reason, "trial %d", tr.Index)
		r := tr.Reason
		assert.Equal(t, "asha", r.Rule)
		assert.Equal(t, 1, r.Epoch)
		assert.Equal(t, tr.Steps[0], r.Value)
		assert.Less(t, r.Value, r.Threshold, "pruned although not below the cut")
		assert.Equal(t, r.Peers, countReported(trials[:tr.Index], 1)+1)
		assert.Contains(t, r.String(), "asha rung 0 (epoch 1)")
		assert.Equal(t, "prune", tr.Decisions[1])
		assert.Len(t, tr.Steps, 1)
	}
	assert.Greater(t, n, 0)
}

func countReported(ts []*TrialRecord, e int) int {
	n := 0
	for _, t := range ts {
		if len(t.Steps) >= e {
			n++
		}
	}
	return n
}

func TestReopeningAStudyWithAnotherSpaceSaysWhatChanged(t *testing.T) {
	ctx := context.Background()
	store, err := OpenStore(ctx, filepath.Join(t.TempDir(), "s.db"))
	require.NoError(t, err)
	defer store.Close()
	_, err = OpenStudy(ctx, store, "s", testConfig(t, "tpe", "asha", 10))
	require.NoError(t, err)

	again := testConfig(t, "tpe", "asha", 30) // more trials: allowed
	_, err = OpenStudy(ctx, store, "s", again)
	require.NoError(t, err)

	changed := testConfig(t, "tpe", "median", 10)
	changed.Space.Params[0].Low = 1e-3
	changed.Fixed["model"] = "784-64-10"
	_, err = OpenStudy(ctx, store, "s", changed)
	require.ErrorIs(t, err, ErrChanged)
	assert.Contains(t, err.Error(), "param lr: the study has lr=loguniform:0.0001:1, this command has lr=loguniform:0.001:1")
	assert.Contains(t, err.Error(), "pruner: the study has asha(min=1,eta=3,rate=0), this command has median(")
	assert.Contains(t, err.Error(), "option model: the study has 784-32-10, this command has 784-64-10")
}

// abandon claims a trial and walks away without a heartbeat, as a killed worker does.
func abandon(t *testing.T, st *Study, dir string, epochs int) int {
	t.Helper()
	w := &Worker{Study: st, ID: "doomed", Lease: 300 * time.Millisecond, Poll: time.Millisecond}
	rec, _, _, err := w.claim(context.Background())
	require.NoError(t, err)
	require.NotNil(t, rec)
	obj := &synthObjective{dir: dir, hook: func(k, e int) error {
		if e > epochs {
			return errDied
		}
		return nil
	}}
	tr := &Trial{Index: rec.Index, Params: rec.Params, MaxEpochs: st.Cfg.MaxEpochs, Attempt: rec.Attempt, w: w, dec: map[int]string{}}
	err = obj.Run(context.Background(), tr)
	require.ErrorIs(t, err, errDied)
	return rec.Index
}

var errDied = errors.New("died")

func TestATrialWhoseWorkerDiedIsTakenOverFromItsCheckpoint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := OpenStore(ctx, filepath.Join(dir, "s.db"))
	require.NoError(t, err)
	defer store.Close()
	cfg := testConfig(t, "random", "none", 6)
	st, err := OpenStudy(ctx, store, "s", cfg)
	require.NoError(t, err)
	k := abandon(t, st, dir, 2) // two epochs checkpointed and reported, then gone

	var reruns atomic.Int32
	obj := &synthObjective{dir: dir, hook: func(i, e int) error {
		if i == k && e <= 2 {
			reruns.Add(1)
		}
		return nil
	}}
	w := &Worker{Study: st, ID: "survivor", Objective: obj, Lease: time.Second, Poll: 5 * time.Millisecond}
	var events []Event
	w.OnEvent = func(e Event) { events = append(events, e) }
	require.NoError(t, w.Run(ctx))
	assert.Zero(t, reruns.Load(), "the epochs before the checkpoint were trained again")
	trials, err := st.Trials(ctx)
	require.NoError(t, err)
	require.Len(t, trials, 6)
	for _, tr := range trials {
		assert.Equal(t, Complete, tr.State)
		assert.Len(t, tr.Steps, 4)
	}
	assert.Equal(t, 2, trials[k].Attempt)
	resumed := false
	for _, e := range events {
		if e.Kind == "resume" && e.Trial == k && e.Epoch == 2 {
			resumed = true
		}
	}
	assert.True(t, resumed, "no resume event for trial %d at epoch 2: %v", k, events)
}

func TestAWorkerThatLostItsLeaseCannotWrite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := OpenStore(ctx, filepath.Join(dir, "s.db"))
	require.NoError(t, err)
	defer store.Close()
	st, err := OpenStudy(ctx, store, "s", testConfig(t, "random", "none", 1))
	require.NoError(t, err)
	old := &Worker{Study: st, ID: "old", Lease: 50 * time.Millisecond}
	rec, _, _, err := old.claim(ctx)
	require.NoError(t, err)
	time.Sleep(80 * time.Millisecond)
	thief := &Worker{Study: st, ID: "new", Lease: time.Minute}
	rec2, resumed, _, err := thief.claim(ctx)
	require.NoError(t, err)
	require.NotNil(t, rec2)
	assert.True(t, resumed)
	assert.Equal(t, rec.Index, rec2.Index)
	tr := &Trial{Index: rec.Index, Params: rec.Params, MaxEpochs: 4, Attempt: rec.Attempt, w: old, dec: map[int]string{}}
	assert.ErrorIs(t, tr.Report(ctx, 1, 0.5), ErrLeaseLost)
	assert.ErrorIs(t, store.finish(ctx, st.ID, rec.Index, rec.Attempt, Complete, 1, ""), ErrLeaseLost)
	assert.ErrorIs(t, store.heartbeat(ctx, st.ID, rec.Index, rec.Attempt, 1000), ErrLeaseLost)
}

func TestAResumedTrialMustReportTheSameValueAgain(t *testing.T) {
	ctx := context.Background()
	store, err := OpenStore(ctx, filepath.Join(t.TempDir(), "s.db"))
	require.NoError(t, err)
	defer store.Close()
	st, err := OpenStudy(ctx, store, "s", testConfig(t, "random", "none", 1))
	require.NoError(t, err)
	w := &Worker{Study: st, ID: "w", Lease: time.Minute}
	rec, _, _, err := w.claim(ctx)
	require.NoError(t, err)
	tr := &Trial{Index: rec.Index, Params: rec.Params, MaxEpochs: 4, Attempt: rec.Attempt, w: w, dec: map[int]string{}}
	require.NoError(t, tr.Report(ctx, 1, 0.5))
	require.NoError(t, tr.Report(ctx, 1, 0.5))
	assert.ErrorIs(t, tr.Report(ctx, 1, 0.25), ErrNondeterministic)
	assert.ErrorContains(t, tr.Report(ctx, 3, 0.5), "reported epoch 3 after epoch 1")
}

func TestAFailingObjectiveFailsOnlyItsTrial(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := OpenStore(ctx, filepath.Join(dir, "s.db"))
	require.NoError(t, err)
	defer store.Close()
	st, err := OpenStudy(ctx, store, "s", testConfig(t, "random", "none", 3))
	require.NoError(t, err)
	obj := &synthObjective{dir: dir, hook: func(k, e int) error {
		if k == 1 && e == 2 {
			return errors.New("out of memory")
		}
		if k == 2 && e == 1 {
			panic("boom")
		}
		return nil
	}}
	require.NoError(t, (&Worker{Study: st, ID: "w", Objective: obj}).Run(ctx))
	trials, err := st.Trials(ctx)
	require.NoError(t, err)
	assert.Equal(t, Complete, trials[0].State)
	assert.Equal(t, Failed, trials[1].State)
	assert.Equal(t, "out of memory", trials[1].Error)
	assert.Equal(t, Failed, trials[2].State)
	assert.Contains(t, trials[2].Error, "panicked: boom")
}

func TestAnInterruptedWorkerParksItsTrialForTheNextRun(t *testing.T) {
	dir := t.TempDir()
	store, err := OpenStore(context.Background(), filepath.Join(dir, "s.db"))
	require.NoError(t, err)
	defer store.Close()
	st, err := OpenStudy(context.Background(), store, "s", testConfig(t, "random", "none", 2))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	obj := &synthObjective{dir: dir, hook: func(k, e int) error {
		if k == 0 && e == 2 {
			cancel()
		}
		return nil
	}, delay: func(int, int) time.Duration { return time.Millisecond }}
	err = (&Worker{Study: st, ID: "w", Objective: obj}).Run(ctx)
	require.ErrorIs(t, err, context.Canceled)
	trials, err := st.Trials(context.Background())
	require.NoError(t, err)
	require.Len(t, trials, 1)
	assert.Equal(t, Parked, trials[0].State)
	require.NoError(t, (&Worker{Study: st, ID: "w2", Objective: &synthObjective{dir: dir}}).Run(context.Background()))
	trials, err = st.Trials(context.Background())
	require.NoError(t, err)
	require.Len(t, trials, 2)
	for _, tr := range trials {
		assert.Equal(t, Complete, tr.State)
	}
	assert.Equal(t, synthValue(trials[0].Params, 4), trials[0].Value)
}

func TestAnObjectiveCanStopItsTrialAsPruned(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := OpenStore(ctx, filepath.Join(dir, "s.db"))
	require.NoError(t, err)
	defer store.Close()
	st, err := OpenStudy(ctx, store, "s", testConfig(t, "random", "none", 2))
	require.NoError(t, err)
	obj := ObjectiveFunc(func(ctx context.Context, tr *Trial) error {
		if tr.Index == 1 {
			if err := tr.Report(ctx, 1, 0.5); err != nil {
				return err
			}
			return tr.Stop(ctx, "diverged: the loss is NaN")
		}
		return trivial(ctx, tr)
	})
	require.NoError(t, (&Worker{Study: st, ID: "w", Objective: obj}).Run(ctx))
	trials, err := st.Trials(ctx)
	require.NoError(t, err)
	assert.Equal(t, Complete, trials[0].State)
	require.Equal(t, Pruned, trials[1].State, trials[1].Error)
	assert.Equal(t, "stopped by the objective after 1 epochs: diverged: the loss is NaN", trials[1].Reason.String())
	assert.Equal(t, 0.5, trials[1].Value)
}
