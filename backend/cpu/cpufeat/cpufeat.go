// Package cpufeat decides, once per process, which vector instructions the CPU kernels of
// backend/cpu/gemm and kernels use: the one place where the level is chosen.
//
// The CPU's features come from golang.org/x/sys/cpu (which also checks that the operating system
// saves the wider registers). The level is the highest of Generic, AVX2 and AVX512 that the CPU
// supports, or a lower one forced through the environment variable GOTRAIN_CPU (generic, avx2 or
// avx512), so that one machine can run and time every variant. A level above what the CPU has,
// or a value that names no level, is not obeyed: the level is clamped to the detected one and
// Note says why (the CPU backend prints it in its description).
package cpufeat

import (
	"fmt"
	"os"
	"strings"
)

// Level is a set of vector instructions the kernels may use; higher levels include lower ones.
type Level uint8

// The levels, lowest first.
const (
	// Generic runs the pure-Go loops: other architectures, the purego build tag, or an amd64 CPU
	// without AVX2 and FMA.
	Generic Level = iota
	// AVX2 is AVX2 with FMA3 (the vector part of x86-64-v3): 16 registers of 8 float32.
	AVX2
	// AVX512 is AVX-512 F, BW, DQ and VL (the vector part of x86-64-v4): 32 registers of 16
	// float32 and 8 mask registers. Every AVX-512 CPU since Skylake-SP (2017) has all four.
	AVX512
)

// EnvVar is the environment variable that forces a lower level.
const EnvVar = "GOTRAIN_CPU"

var levelNames = [...]string{Generic: "generic", AVX2: "avx2", AVX512: "avx512"}

// String returns the level's name as GOTRAIN_CPU spells it.
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", uint8(l))
}

// ParseLevel parses a level name (case-insensitive, surrounding space ignored).
func ParseLevel(s string) (Level, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for l, name := range levelNames {
		if t == name {
			return Level(l), nil
		}
	}
	return Generic, fmt.Errorf("cpufeat: %q is not a level: want one of %s", s, strings.Join(levelNames[:], ", "))
}

var (
	detected = detect()
	current  Level
	note     string
)

// FMA reports whether the process started at a level that runs the FMA kernels (AVX2 or
// AVX-512, after GOTRAIN_CPU); Use does not change it. It is the previous API of this package,
// kept for the tests that pin the trajectories of the assembly GEMM.
var FMA bool

func init() {
	current, note = choose(detected, os.Getenv(EnvVar))
	FMA = current >= AVX2
}

// choose applies the value of GOTRAIN_CPU (env, possibly empty) to the detected level.
func choose(det Level, env string) (Level, string) {
	if strings.TrimSpace(env) == "" {
		return det, ""
	}
	want, err := ParseLevel(env)
	if err != nil {
		return det, fmt.Sprintf("%s=%q names no level (want %s); using %v, what this CPU has",
			EnvVar, env, strings.Join(levelNames[:], ", "), det)
	}
	if want > det {
		return det, fmt.Sprintf("%s=%v asks for more than this CPU has; using %v", EnvVar, want, det)
	}
	return want, ""
}

// Detected returns the highest level this CPU and operating system support.
func Detected() Level { return detected }

// Current returns the level the kernels use: Detected, or the lower level GOTRAIN_CPU asks for.
// Kernels read it on every call (a load), so that tests can switch levels between calls.
func Current() Level { return current }

// Note explains why GOTRAIN_CPU was not obeyed, or is empty.
func Note() string { return note }

// Supported returns every level the CPU can run, lowest first: the levels a test or benchmark
// loops over.
func Supported() []Level {
	out := make([]Level, 0, detected+1)
	for l := Generic; l <= detected; l++ {
		out = append(out, l)
	}
	return out
}

// Use makes the kernels run at level l until the returned function restores the previous
// level. It is meant for tests and benchmarks that compare levels in one process, and must not
// be called while a kernel runs. A level the CPU does not support is an error.
func Use(l Level) (restore func(), err error) {
	if l > detected {
		return nil, fmt.Errorf("cpufeat: level %v is not supported by this CPU (it has %v)", l, detected)
	}
	old := current
	current = l
	return func() { current = old }, nil
}

// Describe returns the level in use, for a device description: "avx512", or "avx2 (GOTRAIN_CPU;
// the CPU has avx512)" when forced lower, with Note appended when the variable was not obeyed.
func Describe() string {
	s := current.String()
	if current != detected {
		s += fmt.Sprintf(" (%s; the CPU has %v)", EnvVar, detected)
	}
	if note != "" {
		s += " [" + note + "]"
	}
	return s
}

// fullyAssociative is what L1DataWays returns for a fully associative L1 data cache.
const fullyAssociative = 1 << 10

var l1Ways = l1dWays()

// L1DataWays returns the associativity of this CPU's L1 data cache as CPUID reports it (Intel's
// leaf 4, AMD's leaf 0x80000005), 1<<10 for a fully associative one, or 0 when it is not known
// (another vendor or architecture, or the purego build). A virtual machine reports what its
// hypervisor passes on, usually the host's. The GEMM uses it to decide whether rows of A that
// fall into one cache set can be read in place (backend/cpu/gemm).
func L1DataWays() int { return l1Ways }
