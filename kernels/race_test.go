//go:build race

package kernels

// raceBuild: which NaN a Go expression propagates when two meet depends on the operand order the
// compiler picks, and the race detector's build picks differently, so the Go twins' NaN payloads
// are not the normal build's there (sameBits32).
const raceBuild = true
