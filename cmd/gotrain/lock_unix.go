//go:build unix

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// dirLock is a held lock on an output directory: flock(2) on its lock file, which the kernel
// releases when the process ends however it ends, so a lock left by a process that died is
// free again (its stale description in the file is overwritten).
type dirLock struct{ f *os.File }

// lockDir takes dir's lock, or fails at once naming the process that holds it.
func lockDir(dir, flagName string) (*dirLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s %s: the lock file: %w", flagName, dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, lockHeld(flagName, dir, holderOf(fileHolder(f)))
		}
		return nil, fmt.Errorf("%s %s: locking: %w", flagName, dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(holder()+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

// release gives the lock up (the file stays: removing it could race with a process opening it).
func (l *dirLock) release() {
	if l != nil && l.f != nil {
		_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
		l.f.Close()
		l.f = nil
	}
}

// peekLock fails when another process holds dir's lock, without changing anything.
func peekLock(dir, flagName string) error {
	f, err := os.Open(filepath.Join(dir, lockFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return nil // unreadable: take will report it
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return lockHeld(flagName, dir, holderOf(fileHolder(f)))
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return nil
}

// fileHolder reads the first KiB of the lock file f: the holder's description.
func fileHolder(f *os.File) func() string {
	return func() string {
		b := make([]byte, 1024)
		n, _ := f.ReadAt(b, 0)
		return string(b[:n])
	}
}
