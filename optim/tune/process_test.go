package tune

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gotrain/gotrain/optim/tune/tunetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain doubles as a worker process for the tests that kill one.
func TestMain(m *testing.M) {
	if os.Getenv("TUNE_TEST_WORKER") != "" {
		os.Exit(helperWorker())
	}
	os.Exit(m.Run())
}

const (
	procSampler = "tpe:startup=6"
	procPruner  = "asha"
	procTrials  = 20
)

func helperWorker() int {
	ctx := context.Background()
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	store, err := OpenStore(ctx, os.Getenv("TUNE_TEST_DSN"))
	if err != nil {
		return fail(err)
	}
	defer store.Close()
	cfg, err := configFor(procSampler, procPruner, procTrials)
	if err != nil {
		return fail(err)
	}
	st, err := OpenStudy(ctx, store, "s", cfg)
	if err != nil {
		return fail(err)
	}
	// Later epochs are slower, so the test's poll finds a trial with epochs to go.
	obj := &synthObjective{dir: os.Getenv("TUNE_TEST_DIR"), delay: func(_, e int) time.Duration {
		return time.Duration(min(e, 3)) * 20 * time.Millisecond
	}}
	w := &Worker{Study: st, ID: NewWorkerID(0), Objective: obj, Lease: time.Second, Poll: 5 * time.Millisecond}
	if err := w.Run(ctx); err != nil {
		return fail(err)
	}
	return 0
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// killOneOf runs n worker processes on the study at dsn, SIGKILLs the first once it is inside a
// trial (an epoch reported, more to come), lets the rest finish, and returns the killed trial.
func killOneOf(t *testing.T, dsn string, n int) int {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	var cmds []*exec.Cmd
	var outs []*lockedBuffer
	for i := 0; i < n; i++ {
		cmd := exec.Command(exe, "-test.run=^$")
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.Env = append(os.Environ(), "TUNE_TEST_WORKER=1", "TUNE_TEST_DSN="+dsn, "TUNE_TEST_DIR="+dir)
		require.NoError(t, cmd.Start())
		cmds = append(cmds, cmd)
		outs = append(outs, out)
	}
	defer func() {
		for _, c := range cmds {
			c.Process.Kill()
		}
	}()
	ctx := context.Background()
	store, err := OpenStore(ctx, dsn)
	require.NoError(t, err)
	defer store.Close()
	byPid := map[string]int{}
	for i, c := range cmds {
		byPid[":"+strconv.Itoa(c.Process.Pid)+":"] = i
	}
	killed, victim := -1, -1
	var lastErr error
	deadline := time.Now().Add(30 * time.Second)
	for killed < 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
		st, err := LoadStudy(ctx, store, "s")
		if err != nil {
			lastErr = err
			continue // the workers have not created it yet
		}
		trials, err := st.Trials(ctx)
		require.NoError(t, err)
		for _, tr := range trials {
			// Inside a trial with at least two epochs to go (promoted at epoch 1, or at epoch 2),
			// so it cannot end before the signal lands.
			inside := len(tr.Steps) == 1 && tr.Decisions[1] == "continue" || len(tr.Steps) == 2
			if tr.State != Running || !inside {
				continue
			}
			for pid, i := range byPid {
				if strings.Contains(tr.Worker, pid) {
					require.NoError(t, cmds[i].Process.Signal(syscall.SIGKILL))
					killed, victim = tr.Index, i
				}
			}
			break
		}
	}
	if killed < 0 {
		t.Logf("last error: %v", lastErr)
		for i, o := range outs {
			t.Logf("worker %d: %s", i, o.String())
		}
	}
	require.GreaterOrEqual(t, killed, 0, "no worker was seen inside a trial")
	for i, c := range cmds {
		err := c.Wait()
		if i == victim {
			require.Error(t, err, "the victim was not killed")
			continue
		}
		require.NoError(t, err, "worker %d: %s", i, outs[i].String())
	}
	for i, o := range outs {
		assert.NotContains(t, o.String(), "locked", "worker %d", i)
		assert.NotContains(t, o.String(), "BUSY", "worker %d", i)
	}
	return killed
}

func checkKilledStudy(t *testing.T, dsn string, killed int) {
	ctx := context.Background()
	store, err := OpenStore(ctx, dsn)
	require.NoError(t, err)
	defer store.Close()
	st, err := LoadStudy(ctx, store, "s")
	require.NoError(t, err)
	st.Cfg, err = configFor(procSampler, procPruner, procTrials)
	require.NoError(t, err)
	got := summary(t, st)
	want := summary(t, runStudy(t, testConfig(t, procSampler, procPruner, procTrials), 1, nil))
	assert.Equal(t, want, got, "the study with a killed worker differs from an uninterrupted one")
	trials, err := st.Trials(ctx)
	require.NoError(t, err)
	require.Len(t, trials, procTrials)
	for i, tr := range trials {
		assert.Equal(t, i, tr.Index)
		assert.True(t, tr.State.Ended(), "trial %d is %s", i, tr.State)
	}
	assert.GreaterOrEqual(t, trials[killed].Attempt, 2, "the killed trial was not taken over")
}

func TestFourWorkerProcessesOnSQLiteSurviveASIGKILL(t *testing.T) {
	dsn := t.TempDir() + "/study.db"
	killed := killOneOf(t, dsn, 4)
	checkKilledStudy(t, dsn, killed)
}

func TestTwoWorkerProcessesOnPostgreSQLSurviveASIGKILL(t *testing.T) {
	dsn := tunetest.Postgres(t)
	killed := killOneOf(t, dsn, 2)
	checkKilledStudy(t, dsn, killed)
}

// Many workers claiming at once on PostgreSQL: every trial is claimed exactly once.
func TestConcurrentClaimsOnPostgreSQLNeverDoubleAssign(t *testing.T) {
	dsn := tunetest.Postgres(t)
	ctx := context.Background()
	store, err := OpenStore(ctx, dsn)
	require.NoError(t, err)
	defer store.Close()
	cfg := testConfig(t, "random", "none", 60)
	cfg.MaxEpochs = 1
	st, err := OpenStudy(ctx, store, "claims", cfg)
	require.NoError(t, err)
	var mu sync.Mutex
	claims := map[int]int{}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &Worker{Study: st, ID: NewWorkerID(i), Objective: trivial, Poll: time.Millisecond, OnEvent: func(e Event) {
				if e.Kind == "claim" || e.Kind == "resume" {
					mu.Lock()
					claims[e.Trial]++
					mu.Unlock()
				}
			}}
			errs[i] = w.Run(ctx)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, claims, 60)
	for k, n := range claims {
		assert.Equal(t, 1, n, "trial %d was claimed %d times", k, n)
	}
	trials, err := st.Trials(ctx)
	require.NoError(t, err)
	for _, tr := range trials {
		assert.Equal(t, Complete, tr.State)
		assert.Equal(t, 1, tr.Attempt)
	}
}
