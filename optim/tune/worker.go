package tune

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrPruned is returned by Trial.Report when the pruner stopped the trial; the objective
// returns it (or an error wrapping it) and the worker moves on.
var ErrPruned = errors.New("tune: trial pruned")

// ErrParked is returned by Trial.Report when the worker set the trial aside (its pruning
// decision waits on a trial another worker must first take over); the objective returns it and
// the trial resumes later, from its checkpoint, on whichever worker claims it.
var ErrParked = errors.New("tune: trial parked")

// ErrNondeterministic is returned by Trial.Report when a resumed trial reports a value for an
// epoch that differs from the value stored before: the objective does not resume exactly.
var ErrNondeterministic = errors.New("tune: the objective gave another value for an epoch it had reported")

// Objective trains one trial. It must save a checkpoint after each epoch before reporting it,
// and resume from its last checkpoint when it finds one (a trial may be taken over after its
// worker died, or parked and resumed): a resumed trial first reports its checkpoint's last
// epoch again. It returns nil after reporting every epoch, or the error Report returned. When
// the trial's lease goes to another worker, ctx is cancelled with the cause ErrLeaseLost: the
// objective should stop without writing (context.Cause tells an interrupt from that).
type Objective interface {
	Run(ctx context.Context, t *Trial) error
}

// ObjectiveFunc adapts a function to Objective.
type ObjectiveFunc func(ctx context.Context, t *Trial) error

// Run calls f.
func (f ObjectiveFunc) Run(ctx context.Context, t *Trial) error { return f(ctx, t) }

// Trial is the trial a worker hands the objective.
type Trial struct {
	Index     int
	Params    Values
	MaxEpochs int
	Bracket   int
	// Attempt counts the claims of this trial: more than 1 means it resumes.
	Attempt int
	w       *Worker
	steps   []float64
	dec     map[int]string
}

// Reported is the number of epochs already stored for the trial.
func (t *Trial) Reported() int { return len(t.steps) }

// Event is something a worker did, for progress displays.
type Event struct {
	Kind   string // claim, resume, report, prune, complete, fail, park, lost
	Trial  int
	Epoch  int
	Value  float64
	Worker string
	Reason *Reason
	Err    error
	Params Values
}

// Study is an open study: a store, its id and its configuration.
type Study struct {
	Store *Store
	ID    int64
	Name  string
	Cfg   *Config
}

// OpenStudy opens the named study in store, creating it unless it exists; an existing study
// with another identity is an error wrapping ErrChanged that lists what changed.
func OpenStudy(ctx context.Context, store *Store, name string, cfg *Config) (*Study, error) {
	if cfg.Space == nil || cfg.Sampler == nil || cfg.Pruner == nil {
		return nil, errors.New("tune: a study needs a space, a sampler and a pruner")
	}
	if cfg.MaxEpochs < 1 {
		return nil, fmt.Errorf("tune: %d epochs per trial: want at least 1", cfg.MaxEpochs)
	}
	if n := cfg.Sampler.Size(cfg.Space); n > 0 {
		if cfg.Trials == 0 {
			cfg.Trials = n
		}
		if cfg.Trials > n {
			return nil, fmt.Errorf("tune: %d trials asked, but the %s sampler has only %d points", cfg.Trials, cfg.Sampler, n)
		}
	}
	if cfg.Trials < 1 {
		return nil, fmt.Errorf("tune: %d trials: want at least 1", cfg.Trials)
	}
	ident := cfg.Identity()
	id, stored, err := store.openStudy(ctx, name, ident, true)
	if err != nil {
		return nil, err
	}
	if diff := diffIdentity(stored, ident); len(diff) > 0 {
		return nil, fmt.Errorf("tune: study %q in %s was created with other settings: %s (use another -study name, or the same settings to resume it): %w",
			name, store, strings.Join(diff, "; "), ErrChanged)
	}
	return &Study{Store: store, ID: id, Name: name, Cfg: cfg}, nil
}

// LoadStudy opens an existing study for reading (a report), its configuration rebuilt from
// what was stored.
func LoadStudy(ctx context.Context, store *Store, name string) (*Study, error) {
	id, stored, err := store.openStudy(ctx, name, nil, false)
	if err != nil {
		return nil, err
	}
	cfg, err := ConfigFromIdentity(stored)
	if err != nil {
		return nil, fmt.Errorf("tune: study %q: %w", name, err)
	}
	return &Study{Store: store, ID: id, Name: name, Cfg: cfg}, nil
}

// Trials reads every trial of the study, in index order.
func (s *Study) Trials(ctx context.Context) ([]*TrialRecord, error) {
	var v view
	d, err := s.Store.load(ctx, s.Store.db, s.ID, -1)
	if err != nil {
		return nil, err
	}
	v.apply(d)
	return v.trials, nil
}

// view is a worker's cache of the study. Ended trials never change, so after the first read
// only what changed since the last revision (and the running and parked trials) is read.
type view struct {
	trials []*TrialRecord
	rev    int64
	now    int64
}

func (v *view) apply(d *delta) {
	for _, t := range d.trials {
		for len(v.trials) <= t.Index {
			v.trials = append(v.trials, nil)
		}
		if old := v.trials[t.Index]; old != nil {
			t.Steps, t.Decisions = old.Steps, old.Decisions
		}
		if t.Decisions == nil {
			t.Decisions = map[int]string{}
		}
		v.trials[t.Index] = t
	}
	for _, s := range d.steps {
		if s.idx >= len(v.trials) || v.trials[s.idx] == nil {
			continue // a step row committed after its trial row was read: the next read has both
		}
		t := v.trials[s.idx]
		for len(t.Steps) < s.epoch {
			t.Steps = append(t.Steps, math.NaN())
		}
		t.Steps[s.epoch-1] = s.value
		if s.decision != "" {
			t.Decisions[s.epoch] = s.decision
		}
	}
	v.rev, v.now = d.rev, d.now
}

// Worker claims trials of a study and runs them until the study is done.
type Worker struct {
	Study     *Study
	ID        string
	Objective Objective
	// Lease is how long a claim lasts without a heartbeat (heartbeats come every Lease/3);
	// a trial whose worker died is taken over this long after its last heartbeat.
	Lease time.Duration
	// Poll is how often a waiting worker looks at the study again.
	Poll    time.Duration
	OnEvent func(Event)
	view    view
	loaded  bool
}

// NewWorkerID names a worker by host, process and slot.
func NewWorkerID(slot int) string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%d", h, os.Getpid(), slot)
}

func (w *Worker) lease() time.Duration {
	if w.Lease <= 0 {
		return 30 * time.Second
	}
	return w.Lease
}

func (w *Worker) poll() time.Duration {
	if w.Poll <= 0 {
		return 200 * time.Millisecond
	}
	return w.Poll
}

func (w *Worker) emit(e Event) {
	if w.OnEvent != nil {
		e.Worker = w.ID
		w.OnEvent(e)
	}
}

func (w *Worker) refresh(ctx context.Context, q querier) error {
	since := w.view.rev
	if !w.loaded {
		since = -1
	}
	d, err := w.Study.Store.load(ctx, q, w.Study.ID, since)
	if err != nil {
		return err
	}
	w.view.apply(d)
	w.loaded = true
	return nil
}

// Run claims and runs trials until every trial of the study has ended (complete, pruned or
// failed), or ctx is done. Several workers, in one process or many, may run on one study.
func (w *Worker) Run(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, resumed, done, err := w.claim(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if rec == nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(w.poll()):
			}
			continue
		}
		if err := w.runTrial(ctx, rec, resumed); err != nil {
			return err
		}
	}
}

// claim takes, in one locked transaction, the first of: a trial whose lease ran out, a parked
// trial that can go on, a new trial (once the trials its parameters depend on have ended).
// With none, it reports whether the study is done.
func (w *Worker) claim(ctx context.Context) (rec *TrialRecord, resumed, done bool, err error) {
	st := w.Study
	cfg := st.Cfg
	leaseMS := w.lease().Milliseconds()
	err = st.Store.claimTx(ctx, st.ID, func(tx *sql.Tx) error {
		rec, resumed, done = nil, false, false
		if err := w.refresh(ctx, tx); err != nil {
			return err
		}
		trials := w.view.trials
		take := func(t *TrialRecord) error {
			rev, now, err := st.Store.bump(ctx, tx, st.ID)
			if err != nil {
				return err
			}
			attempt, err := st.Store.takeTrial(ctx, tx, st.ID, t.Index, w.ID, leaseMS, rev, now)
			if err != nil {
				return err
			}
			c := *t
			c.Attempt, c.State, c.Worker = attempt, Running, w.ID
			rec, resumed = &c, true
			return nil
		}
		for _, t := range trials {
			if t != nil && t.State == Running && t.LeaseUntil < w.view.now {
				return take(t)
			}
		}
		for _, t := range trials {
			if t != nil && t.State == Parked && w.resumable(t) {
				return take(t)
			}
		}
		k := len(trials)
		if k < cfg.Trials {
			hist, ok := w.history(k)
			if ok {
				params, err := cfg.Sampler.Sample(cfg.Space, k, hist, trialRNG(cfg.Seed, k, 0))
				if err != nil {
					return fmt.Errorf("tune: sampling trial %d: %w", k, err)
				}
				if err := cfg.Space.Check(params); err != nil {
					return fmt.Errorf("tune: the %s sampler proposed a bad point for trial %d: %w", cfg.Sampler, k, err)
				}
				rev, now, err := st.Store.bump(ctx, tx, st.ID)
				if err != nil {
					return err
				}
				t := &TrialRecord{Index: k, State: Running, Params: params, Bracket: cfg.Pruner.Bracket(cfg.Seed, k),
					Worker: w.ID, Attempt: 1, Value: math.NaN(), Decisions: map[int]string{}}
				if err := st.Store.insertTrial(ctx, tx, st.ID, t, leaseMS, rev, now); err != nil {
					return err
				}
				rec = t
				return nil
			}
			return nil
		}
		done = true
		for _, t := range trials {
			if t == nil || !t.State.Ended() {
				done = false
			}
		}
		return nil
	})
	return rec, resumed, done, err
}

// history returns what trial k's sampler may see, or false when (synchronous mode) a trial it
// depends on has not ended yet.
func (w *Worker) history(k int) ([]Observation, bool) {
	cfg := w.Study.Cfg
	var hist []Observation
	if cfg.Async {
		for _, t := range w.view.trials {
			if t != nil {
				hist = append(hist, cfg.observation(t))
			}
		}
		return hist, true
	}
	need := cfg.Sampler.Needs(k)
	for _, t := range w.view.trials[:need] {
		if t == nil || !t.State.Ended() {
			return nil, false
		}
		hist = append(hist, cfg.observation(t))
	}
	return hist, true
}

// resumable reports whether a parked trial can go on now: it waits for no decision, or the
// decision's peers are all in.
func (w *Worker) resumable(t *TrialRecord) bool {
	if t.Pending == 0 {
		return true
	}
	_, ok := w.peers(t.Index, t.Bracket, t.Pending)
	return ok
}

// peers are the losses at epoch e of the trials trial k is compared with: in synchronous mode
// the lower-numbered trials of its bracket, and only once each of them has reported epoch e or
// ended (false otherwise); in asynchronous mode whatever other trials of the bracket reported.
func (w *Worker) peers(k, bracket, e int) ([]float64, bool) {
	cfg := w.Study.Cfg
	var out []float64
	for _, t := range w.view.trials {
		if t == nil {
			if !cfg.Async {
				return nil, false
			}
			continue
		}
		if t.Index == k {
			if cfg.Async {
				continue
			}
			break
		}
		if t.Bracket != bracket {
			continue
		}
		switch {
		case len(t.Steps) >= e:
			out = append(out, cfg.loss(t.Steps[e-1]))
		case t.State.Ended() || cfg.Async:
		default:
			return nil, false
		}
	}
	return out, true
}

// claimable reports whether some trial other than k could be claimed now: one whose lease ran
// out, or a parked one that can go on. A worker waiting for a decision parks its own trial
// then, so that the trial everyone waits on is never left without a worker.
func (w *Worker) claimable(k int) bool {
	for _, t := range w.view.trials {
		if t == nil || t.Index == k {
			continue
		}
		if t.State == Running && t.LeaseUntil < w.view.now || t.State == Parked && w.resumable(t) {
			return true
		}
	}
	return false
}

// runTrial runs one claimed trial with a heartbeat, then records how it ended.
func (w *Worker) runTrial(ctx context.Context, rec *TrialRecord, resumed bool) error {
	st := w.Study
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	t := &Trial{Index: rec.Index, Params: rec.Params, MaxEpochs: st.Cfg.MaxEpochs, Bracket: rec.Bracket, Attempt: rec.Attempt,
		w: w, steps: append([]float64(nil), rec.Steps...), dec: map[int]string{}}
	for e, d := range rec.Decisions {
		t.dec[e] = d
	}
	kind := "claim"
	if resumed {
		kind = "resume"
	}
	w.emit(Event{Kind: kind, Trial: t.Index, Epoch: len(t.steps), Params: t.Params})

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(w.lease() / 3)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				err := st.Store.heartbeat(context.WithoutCancel(ctx), st.ID, t.Index, t.Attempt, w.lease().Milliseconds())
				if errors.Is(err, ErrLeaseLost) {
					cancel(ErrLeaseLost)
					return
				}
			}
		}
	}()
	err := st.Cfg.run(tctx, w.Objective, t)
	close(stop)
	wg.Wait()

	// Record the end with a context that survives an interrupt, so the trial is released.
	bg, cancelBG := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancelBG()
	lost := errors.Is(context.Cause(tctx), ErrLeaseLost) || errors.Is(err, ErrLeaseLost)
	switch {
	case lost:
		w.emit(Event{Kind: "lost", Trial: t.Index, Epoch: len(t.steps), Err: ErrLeaseLost})
		return nil
	case errors.Is(err, ErrPruned), errors.Is(err, ErrParked):
		return nil
	case err == nil && len(t.steps) == t.MaxEpochs:
		v := st.Cfg.valueOf(t.steps)
		if ferr := st.Store.finish(bg, st.ID, t.Index, t.Attempt, Complete, v, ""); ferr != nil {
			return w.writeErr(t, ferr)
		}
		w.emit(Event{Kind: "complete", Trial: t.Index, Epoch: len(t.steps), Value: v, Params: t.Params})
		return nil
	case ctx.Err() != nil:
		// Interrupted: release the trial for a later run to resume from its checkpoint.
		if perr := st.Store.park(bg, st.ID, t.Index, t.Attempt, 0); perr != nil {
			return w.writeErr(t, perr)
		}
		w.emit(Event{Kind: "park", Trial: t.Index, Epoch: len(t.steps)})
		return nil
	}
	if err == nil {
		err = fmt.Errorf("the objective returned after reporting %d of %d epochs", len(t.steps), t.MaxEpochs)
	}
	if ferr := st.Store.finish(bg, st.ID, t.Index, t.Attempt, Failed, st.Cfg.valueOf(t.steps), err.Error()); ferr != nil {
		return w.writeErr(t, ferr)
	}
	w.emit(Event{Kind: "fail", Trial: t.Index, Epoch: len(t.steps), Err: err})
	return nil
}

// writeErr turns a failed write at the end of a trial into the worker's error, except a lost
// lease, which only means another worker has the trial now.
func (w *Worker) writeErr(t *Trial, err error) error {
	if errors.Is(err, ErrLeaseLost) {
		w.emit(Event{Kind: "lost", Trial: t.Index, Epoch: len(t.steps), Err: err})
		return nil
	}
	return fmt.Errorf("tune: recording trial %d: %w", t.Index, err)
}

// run calls the objective, turning a panic into an error so one bad trial does not take the
// worker (and its lease) down silently.
func (c *Config) run(ctx context.Context, obj Objective, t *Trial) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("tune: the objective panicked: %v", r)
		}
	}()
	return obj.Run(ctx, t)
}

// sameValue compares reported values bit for bit (NaN equals NaN).
func sameValue(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
}

// Stop ends the trial as pruned by the objective itself, recording why (a run whose loss became
// NaN: a result worth learning from, unlike a crash, so samplers count it as a poor trial where
// they leave failed ones out). It returns ErrPruned, for the objective to return.
func (t *Trial) Stop(ctx context.Context, why string) error {
	w := t.w
	st := w.Study
	r := Reason{Rule: "objective", Epoch: len(t.steps), Value: math.NaN(), Threshold: math.NaN(), Rung: -1, Detail: why}
	if n := len(t.steps); n > 0 {
		r.Value = t.steps[n-1]
	}
	if err := st.Store.decide(ctx, st.ID, t.Index, t.Attempt, len(t.steps), true, &r, st.Cfg.valueOf(t.steps)); err != nil {
		return err
	}
	w.emit(Event{Kind: "prune", Trial: t.Index, Epoch: len(t.steps), Value: r.Value, Reason: &r, Params: t.Params})
	return ErrPruned
}

// Report records the value after epoch (1-based) and, at a pruning point, returns ErrPruned
// when the trial should stop. The objective must have saved the epoch's checkpoint before.
// A resumed trial reports its checkpoint's last epoch again; the value must be the one stored.
func (t *Trial) Report(ctx context.Context, epoch int, value float64) error {
	w := t.w
	st := w.Study
	switch {
	case epoch < 1 || epoch > t.MaxEpochs:
		return fmt.Errorf("tune: trial %d reported epoch %d; trials have epochs 1 to %d", t.Index, epoch, t.MaxEpochs)
	case epoch <= len(t.steps):
		if !sameValue(t.steps[epoch-1], value) {
			return fmt.Errorf("tune: trial %d epoch %d: reported %v, stored %v: %w", t.Index, epoch, value, t.steps[epoch-1], ErrNondeterministic)
		}
	case epoch == len(t.steps)+1:
		if err := st.Store.report(ctx, st.ID, t.Index, t.Attempt, epoch, value, w.lease().Milliseconds()); err != nil {
			return err
		}
		t.steps = append(t.steps, value)
		w.emit(Event{Kind: "report", Trial: t.Index, Epoch: epoch, Value: value})
	default:
		return fmt.Errorf("tune: trial %d reported epoch %d after epoch %d", t.Index, epoch, len(t.steps))
	}
	if epoch >= t.MaxEpochs || !st.Cfg.Pruner.Decides(t.Bracket, epoch) {
		return nil
	}
	if d, ok := t.dec[epoch]; ok {
		if d == "prune" {
			return ErrPruned
		}
		return nil
	}
	cfg := st.Cfg
	for {
		if err := w.refresh(ctx, st.Store.db); err != nil {
			return err
		}
		if me := w.view.trials[t.Index]; me == nil || me.Attempt != t.Attempt || me.State != Running {
			return ErrLeaseLost
		}
		if peers, ok := w.peers(t.Index, t.Bracket, epoch); ok {
			losses := make([]float64, len(t.steps))
			for i, v := range t.steps {
				losses[i] = cfg.loss(v)
			}
			prune, why := cfg.Pruner.Decide(t.Bracket, epoch, losses, peers)
			why.Value, why.Threshold = cfg.loss(why.Value), cfg.loss(why.Threshold)
			if err := st.Store.decide(ctx, st.ID, t.Index, t.Attempt, epoch, prune, &why, cfg.valueOf(t.steps)); err != nil {
				return err
			}
			if prune {
				t.dec[epoch] = "prune"
				w.emit(Event{Kind: "prune", Trial: t.Index, Epoch: epoch, Value: value, Reason: &why, Params: t.Params})
				return ErrPruned
			}
			t.dec[epoch] = "continue"
			return nil
		}
		if w.claimable(t.Index) {
			if err := st.Store.park(ctx, st.ID, t.Index, t.Attempt, epoch); err != nil {
				return err
			}
			w.emit(Event{Kind: "park", Trial: t.Index, Epoch: epoch})
			return ErrParked
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(w.poll()):
		}
	}
}
