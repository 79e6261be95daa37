package tune

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL, for studies spanning machines
	_ "modernc.org/sqlite"             // SQLite in pure Go, so the CPU build stays CGO_ENABLED=0
)

// Store is where studies live: an SQLite file (the default; safe for several worker processes
// on one machine) or a PostgreSQL database (for workers on several machines).
//
// Every write is a short transaction. Claims (taking a new or abandoned trial) are serialised
// per study: on SQLite by BEGIN IMMEDIATE, which takes the write lock up front so two
// processes never both read and then both try to upgrade (the classic source of "database is
// locked"); on PostgreSQL by SELECT ... FOR UPDATE on the study's row. A claim looks at the
// whole study (generation barriers, which parked trials can be decided, whose lease ran out),
// so one lock per study is the natural grain; each claim holds it for about a millisecond.
// Every write by a trial's worker is fenced by the trial's attempt number, so a worker that
// lost its lease (it paused past it and another worker took over) can no longer write.
type Store struct {
	db   *sql.DB
	pg   bool
	name string // for messages, without a password
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// IsPostgres reports whether dsn names a PostgreSQL database rather than an SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") ||
		strings.HasPrefix(dsn, "host=") || strings.HasPrefix(dsn, "dbname=") || strings.HasPrefix(dsn, "user=")
}

// OpenStore opens (creating the tables if needed) the store dsn names: a PostgreSQL
// connection string (postgres://user@host/db, or key=value form) or an SQLite file path
// (optionally sqlite:PATH).
func OpenStore(ctx context.Context, dsn string) (*Store, error) {
	s := &Store{}
	var err error
	if IsPostgres(dsn) {
		s.pg = true
		s.name = redact(dsn)
		s.db, err = sql.Open("pgx", dsn)
	} else {
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
		if path == "" {
			return nil, errors.New("tune: -storage: empty SQLite path")
		}
		s.name = path
		// busy_timeout first, so setting WAL waits for other processes instead of failing;
		// synchronous=NORMAL in WAL mode keeps commits durable across a process kill (only
		// an OS crash can lose the last ones) without an fsync per commit.
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(60000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
		s.db, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	}
	if err != nil {
		return nil, fmt.Errorf("tune: opening %s: %w", s.name, err)
	}
	if s.pg {
		s.db.SetMaxOpenConns(8)
	}
	if err := s.init(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("tune: opening %s: %w", s.name, err)
	}
	return s, nil
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxx")
		}
		return u.String()
	}
	if i := strings.Index(dsn, "password="); i >= 0 {
		j := strings.IndexByte(dsn[i:], ' ')
		if j < 0 {
			j = len(dsn) - i
		}
		return dsn[:i] + "password=xxx" + dsn[i+j:]
	}
	return dsn
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// String names the store (without a password).
func (s *Store) String() string { return s.name }

// q rewrites ? placeholders as $1, $2, ... for PostgreSQL.
func (s *Store) q(query string) string {
	if !s.pg {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// now is the database's clock in Unix milliseconds, so leases mean the same on every machine.
func (s *Store) now() string {
	if s.pg {
		return "CAST(EXTRACT(EPOCH FROM clock_timestamp())*1000 AS BIGINT)"
	}
	return "CAST(unixepoch('subsec')*1000 AS INTEGER)"
}

func (s *Store) init(ctx context.Context) error {
	idCol := "id INTEGER PRIMARY KEY"
	if s.pg {
		idCol = "id BIGSERIAL PRIMARY KEY"
	}
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS tune_studies (` + idCol + `, name TEXT NOT NULL UNIQUE, identity TEXT NOT NULL,
			rev BIGINT NOT NULL DEFAULT 0, created BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS tune_trials (study BIGINT NOT NULL, idx INTEGER NOT NULL, state TEXT NOT NULL,
			params TEXT NOT NULL, bracket INTEGER NOT NULL, value DOUBLE PRECISION, worker TEXT NOT NULL,
			attempt INTEGER NOT NULL, lease_until BIGINT NOT NULL, pending INTEGER NOT NULL, reason TEXT NOT NULL,
			error TEXT NOT NULL, started BIGINT NOT NULL, ended BIGINT NOT NULL, rev BIGINT NOT NULL,
			PRIMARY KEY (study, idx))`,
		`CREATE TABLE IF NOT EXISTS tune_steps (study BIGINT NOT NULL, idx INTEGER NOT NULL, epoch INTEGER NOT NULL,
			value DOUBLE PRECISION, decision TEXT NOT NULL, rev BIGINT NOT NULL, PRIMARY KEY (study, idx, epoch))`,
		`CREATE INDEX IF NOT EXISTS tune_trials_rev ON tune_trials (study, rev)`,
		`CREATE INDEX IF NOT EXISTS tune_steps_rev ON tune_steps (study, rev)`,
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if s.pg {
			// CREATE TABLE IF NOT EXISTS races with itself on PostgreSQL; serialise it.
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7274737)"); err != nil {
				return err
			}
		}
		for _, st := range stmts {
			if _, err := tx.ExecContext(ctx, st); err != nil {
				return err
			}
		}
		return nil
	})
}

// busy reports errors worth retrying: SQLite's busy lock (after its timeout) and PostgreSQL's
// serialization failures and deadlocks.
func busy(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	return strings.Contains(m, "SQLITE_BUSY") || strings.Contains(m, "database is locked") ||
		strings.Contains(m, "(SQLSTATE 40001)") || strings.Contains(m, "(SQLSTATE 40P01)")
}

// tx runs fn in a transaction (BEGIN IMMEDIATE on SQLite), retrying when the database is busy.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
			}
		}
		var tx *sql.Tx
		tx, err = s.db.BeginTx(ctx, nil)
		if err != nil {
			if busy(err) {
				continue
			}
			return err
		}
		if err = fn(tx); err != nil {
			tx.Rollback()
			if busy(err) {
				continue
			}
			return err
		}
		if err = tx.Commit(); err != nil {
			if busy(err) {
				continue
			}
			return err
		}
		return nil
	}
	return fmt.Errorf("tune: %s stayed busy: %w", s.name, err)
}

// studyTx runs fn in a transaction that holds the study's lock, after bumping its revision
// (every write that changes what workers cache gets a new revision).
func (s *Store) studyTx(ctx context.Context, study int64, fn func(tx *sql.Tx, rev, now int64) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		rev, now, err := s.bump(ctx, tx, study)
		if err != nil {
			return err
		}
		return fn(tx, rev, now)
	})
}

// bump gives the study a new revision (locking its row on PostgreSQL) and returns it with the
// database's clock.
func (s *Store) bump(ctx context.Context, tx *sql.Tx, study int64) (rev, now int64, err error) {
	err = tx.QueryRowContext(ctx, s.q("UPDATE tune_studies SET rev = rev + 1 WHERE id = ? RETURNING rev, "+s.now()), study).Scan(&rev, &now)
	if err != nil {
		err = fmt.Errorf("updating study %d: %w", study, err)
	}
	return rev, now, err
}

// claimTx runs fn in a transaction holding the study's lock without changing its revision, so
// fn can read the study as of now and then write (after bump) or not at all.
func (s *Store) claimTx(ctx context.Context, study int64, fn func(tx *sql.Tx) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if s.pg {
			// SQLite's BEGIN IMMEDIATE already holds the write lock.
			var rev int64
			if err := tx.QueryRowContext(ctx, s.q("SELECT rev FROM tune_studies WHERE id = ? FOR UPDATE"), study).Scan(&rev); err != nil {
				return fmt.Errorf("locking study %d: %w", study, err)
			}
		}
		return fn(tx)
	})
}

// openStudy returns the study's id, creating it with identity when create is set and it does
// not exist; stored is the identity it was created with.
func (s *Store) openStudy(ctx context.Context, name string, identity map[string]string, create bool) (id int64, stored map[string]string, err error) {
	raw, err := json.Marshal(identity)
	if err != nil {
		return 0, nil, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if create {
			// Several workers may create the study at once: one insert wins, all read it back.
			if _, err := tx.ExecContext(ctx, s.q("INSERT INTO tune_studies (name, identity, rev, created) VALUES (?, ?, 0, ?) ON CONFLICT (name) DO NOTHING"),
				name, string(raw), time.Now().UnixMilli()); err != nil {
				return err
			}
		}
		var ident string
		err := tx.QueryRowContext(ctx, s.q("SELECT id, identity FROM tune_studies WHERE name = ?"), name).Scan(&id, &ident)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("tune: %s has no study %q", s.name, name)
		}
		if err != nil {
			return err
		}
		return json.Unmarshal([]byte(ident), &stored)
	})
	return id, stored, err
}

// Studies lists the studies' names.
func (s *Store) Studies(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name FROM tune_studies ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// stepRow is one reported value.
type stepRow struct {
	idx, epoch int
	value      float64
	decision   string
}

// delta is what changed in a study since a revision.
type delta struct {
	trials []*TrialRecord // changed, running or parked (steps not filled)
	steps  []stepRow
	rev    int64 // the study's revision when read: every change up to it is included
	now    int64
}

// load reads the trials and steps changed after revision since, and every running or parked
// trial (whose leases the caller needs to see).
func (s *Store) load(ctx context.Context, q querier, study, since int64) (*delta, error) {
	d := &delta{}
	if err := q.QueryRowContext(ctx, s.q("SELECT rev, "+s.now()+" FROM tune_studies WHERE id = ?"), study).Scan(&d.rev, &d.now); err != nil {
		return nil, fmt.Errorf("reading study %d: %w", study, err)
	}
	rows, err := q.QueryContext(ctx, s.q(`SELECT idx, state, params, bracket, value, worker, attempt, lease_until, pending,
		reason, error, started, ended, rev FROM tune_trials WHERE study = ? AND (rev > ? OR state IN ('running', 'parked')) ORDER BY idx`), study, since)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		t := &TrialRecord{}
		var params, reason string
		var value sql.NullFloat64
		if err := rows.Scan(&t.Index, &t.State, &params, &t.Bracket, &value, &t.Worker, &t.Attempt, &t.LeaseUntil,
			&t.Pending, &reason, &t.Error, &t.Started, &t.Ended, &t.rev); err != nil {
			rows.Close()
			return nil, err
		}
		t.Value = math.NaN()
		if value.Valid {
			t.Value = value.Float64
		}
		if t.Params, err = unmarshalParams(params); err != nil {
			rows.Close()
			return nil, fmt.Errorf("trial %d: parameters %q: %w", t.Index, params, err)
		}
		if reason != "" {
			t.Reason = &Reason{}
			if err := json.Unmarshal([]byte(reason), t.Reason); err != nil {
				rows.Close()
				return nil, fmt.Errorf("trial %d: reason %q: %w", t.Index, reason, err)
			}
		}
		d.trials = append(d.trials, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	srows, err := q.QueryContext(ctx, s.q("SELECT idx, epoch, value, decision FROM tune_steps WHERE study = ? AND rev > ? ORDER BY idx, epoch"), study, since)
	if err != nil {
		return nil, err
	}
	defer srows.Close()
	for srows.Next() {
		var r stepRow
		var v sql.NullFloat64
		if err := srows.Scan(&r.idx, &r.epoch, &v, &r.decision); err != nil {
			return nil, err
		}
		r.value = math.NaN()
		if v.Valid {
			r.value = v.Float64
		}
		d.steps = append(d.steps, r)
	}
	return d, srows.Err()
}

func nullable(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return v
}

// insertTrial creates trial idx, held by worker.
func (s *Store) insertTrial(ctx context.Context, tx *sql.Tx, study int64, t *TrialRecord, leaseMS, rev, now int64) error {
	params, err := marshalParams(t.Params)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO tune_trials (study, idx, state, params, bracket, value, worker, attempt,
		lease_until, pending, reason, error, started, ended, rev) VALUES (?, ?, 'running', ?, ?, NULL, ?, 1, ?, 0, '', '', ?, 0, ?)`),
		study, t.Index, params, t.Bracket, t.Worker, now+leaseMS, now, rev)
	return err
}

// takeTrial hands an abandoned or parked trial to worker, with a new attempt number.
func (s *Store) takeTrial(ctx context.Context, tx *sql.Tx, study int64, idx int, worker string, leaseMS, rev, now int64) (int, error) {
	var attempt int
	err := tx.QueryRowContext(ctx, s.q(`UPDATE tune_trials SET state = 'running', worker = ?, attempt = attempt + 1,
		lease_until = ?, rev = ? WHERE study = ? AND idx = ? AND state IN ('running', 'parked') RETURNING attempt`),
		worker, now+leaseMS, rev, study, idx).Scan(&attempt)
	return attempt, err
}

// fence is the condition every write by a trial's worker carries.
const fence = " WHERE study = ? AND idx = ? AND attempt = ? AND state = 'running'"

// ErrLeaseLost is returned to a worker whose trial was taken over (its lease ran out).
var ErrLeaseLost = errors.New("tune: the trial's lease was lost to another worker")

func affected(r sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := r.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return ErrLeaseLost
	}
	return nil
}

// heartbeat extends the lease; ErrLeaseLost when the worker no longer holds it.
func (s *Store) heartbeat(ctx context.Context, study int64, idx, attempt int, leaseMS int64) error {
	var err error
	for try := 0; try < 5; try++ {
		err = affected(s.db.ExecContext(ctx, s.q("UPDATE tune_trials SET lease_until = "+s.now()+" + ?"+fence), leaseMS, study, idx, attempt))
		if !busy(err) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return err
}

// report records the value after epoch (a repeat of a stored epoch is ignored) and renews the lease.
func (s *Store) report(ctx context.Context, study int64, idx, attempt, epoch int, value float64, leaseMS int64) error {
	return s.studyTx(ctx, study, func(tx *sql.Tx, rev, now int64) error {
		if err := affected(tx.ExecContext(ctx, s.q("UPDATE tune_trials SET lease_until = ?, rev = ?"+fence), now+leaseMS, rev, study, idx, attempt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO tune_steps (study, idx, epoch, value, decision, rev) VALUES (?, ?, ?, ?, '', ?)
			ON CONFLICT (study, idx, epoch) DO NOTHING`), study, idx, epoch, nullable(value), rev)
		return err
	})
}

// decide records a pruning decision after epoch; pruning also ends the trial.
func (s *Store) decide(ctx context.Context, study int64, idx, attempt, epoch int, prune bool, why *Reason, value float64) error {
	return s.studyTx(ctx, study, func(tx *sql.Tx, rev, now int64) error {
		d := "continue"
		if prune {
			d = "prune"
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE tune_steps SET decision = ?, rev = ? WHERE study = ? AND idx = ? AND epoch = ?"), d, rev, study, idx, epoch); err != nil {
			return err
		}
		if !prune {
			return affected(tx.ExecContext(ctx, s.q("UPDATE tune_trials SET rev = ?"+fence), rev, study, idx, attempt))
		}
		reason, err := json.Marshal(why)
		if err != nil {
			return err
		}
		return affected(tx.ExecContext(ctx, s.q("UPDATE tune_trials SET state = 'pruned', reason = ?, value = ?, ended = ?, worker = '', lease_until = 0, rev = ?"+fence),
			string(reason), nullable(value), now, rev, study, idx, attempt))
	})
}

// finish ends a trial as complete or failed.
func (s *Store) finish(ctx context.Context, study int64, idx, attempt int, state State, value float64, errText string) error {
	return s.studyTx(ctx, study, func(tx *sql.Tx, rev, now int64) error {
		return affected(tx.ExecContext(ctx, s.q("UPDATE tune_trials SET state = ?, value = ?, error = ?, ended = ?, worker = '', lease_until = 0, rev = ?"+fence),
			string(state), nullable(value), errText, now, rev, study, idx, attempt))
	})
}

// park releases a trial for any worker to resume; pending is the epoch whose decision it waits for.
func (s *Store) park(ctx context.Context, study int64, idx, attempt, pending int) error {
	return s.studyTx(ctx, study, func(tx *sql.Tx, rev, now int64) error {
		return affected(tx.ExecContext(ctx, s.q("UPDATE tune_trials SET state = 'parked', pending = ?, worker = '', lease_until = 0, rev = ?"+fence),
			pending, rev, study, idx, attempt))
	})
}
