//go:build !linux

package gemm

import "time"

// threadCPU returns 0 where the thread's CPU time is not at hand.
func threadCPU() time.Duration { return 0 }
