//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

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
