//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestARefusedLockNamesAHolderThatWritesLate: a process that takes a directory's lock writes its
// description just after taking it; one refused in between still names it (it reads again while
// the file is empty), and one refused by a holder that never writes says "another process".
func TestARefusedLockNamesAHolderThatWritesLate(t *testing.T) {
	dir := t.TempDir()
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))
	_, err = lockDir(dir, "-run-dir")
	require.ErrorContains(t, err, "is in use by another process", "a holder that never writes")
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _ = f.WriteAt([]byte("pid 4242 on testhost\n"), 0)
	}()
	_, err = lockDir(dir, "-run-dir")
	require.ErrorContains(t, err, "is in use by pid 4242 on testhost")
	require.ErrorContains(t, peekLock(dir, "-run-dir"), "is in use by pid 4242 on testhost")
}

// TestADirectoryInUseIsRefusedNamingItsHolder holds a run directory's lock as another process
// would, and checks that train, -resume, sweep and lr-find fail at once naming the holder; then
// that a lock file left by a process that died does not block anything.
func TestADirectoryInUseIsRefusedNamingItsHolder(t *testing.T) {
	fx := runs(t)
	run := copyDir(t, fx.mnist)
	empty := t.TempDir()
	for _, dir := range []string{run, empty} {
		f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		require.NoError(t, err)
		_, err = f.WriteString("pid 4242 on testhost since 2026-01-01T00:00:00Z (gotrain train -run-dir x)\n")
		require.NoError(t, err)
		require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))
		t.Cleanup(func() { f.Close() })
	}
	holder := "is in use by pid 4242 on testhost since 2026-01-01T00:00:00Z (gotrain train -run-dir x)"
	cases := []cliCase{
		{name: "train", args: quick(t, "-run-dir", empty), code: 1, want: []string{holder}},
		{name: "train -overwrite", args: quick(t, "-run-dir", run, "-overwrite"), code: 1, want: []string{holder}},
		{name: "train -resume", args: []string{"train", "-resume", run, "-epochs", "3"}, code: 1, want: []string{"-resume " + run + " " + holder}},
		{name: "sweep", args: []string{"sweep", "-model", "784-16-10", "-lr", "0.1", "-out", empty}, code: 1, want: []string{holder}},
		{name: "lr-find", args: []string{"lr-find", "-model", "784-16-10", "-out", empty}, code: 1, want: []string{holder}},
	}
	for _, c := range cases {
		t.Run(c.name+" fails naming the holder", func(t *testing.T) { c.check(t) })
	}

	stale := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(stale, lockFile), []byte("pid 999999 on testhost since 2020-01-01T00:00:00Z (gotrain train)\n"), 0o644))
	t.Run("a lock left by a dead process does not block", func(t *testing.T) {
		cliCase{args: quick(t, "-run-dir", stale), code: 0}.check(t)
		b, err := os.ReadFile(filepath.Join(stale, lockFile))
		require.NoError(t, err)
		assert.Contains(t, string(b), "pid "+strconv.Itoa(os.Getpid()), "the lock now names this process")
	})
}
