//go:build unix

package main

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// mkfifo makes a named pipe at path for the tests that feed one where a file is expected.
func mkfifo(t *testing.T, path string) bool {
	require.NoError(t, syscall.Mkfifo(path, 0o644))
	return true
}
