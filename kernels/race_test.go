//go:build race

package kernels

// raceBuild: which NaN a Go expression propagates when two meet depends on the instructions and
// operand order the compiler picks (the Go spec leaves NaN payloads open), and in the race
// detector's build the Go twins of TestOptimAsmKeepsNaNPayloads and
// TestSumColumnsMatchesGoLoopAtEveryLevel propagate other payloads than in the normal build, which
// the assembly matches (sameBits32).
const raceBuild = true
