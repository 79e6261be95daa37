//go:build !unix

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// dirLock is a held lock on an output directory. Without flock(2) it is the lock file's
// existence (created exclusively), so a process that died leaves it behind; the message says so.
type dirLock struct{ path string }

func lockDir(dir, flagName string) (*dirLock, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, peekLock(dir, flagName)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: the lock file: %w", flagName, dir, err)
	}
	_, _ = f.WriteString(holder() + "\n")
	f.Close()
	return &dirLock{path: path}, nil
}

func (l *dirLock) release() {
	if l != nil && l.path != "" {
		os.Remove(l.path)
		l.path = ""
	}
}

func peekLock(dir, flagName string) error {
	path := filepath.Join(dir, lockFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	who := holderOf(func() string { b, _ := os.ReadFile(path); return string(b) })
	return fmt.Errorf("%w (if that process no longer runs, delete %s)", lockHeld(flagName, dir, who), path)
}
