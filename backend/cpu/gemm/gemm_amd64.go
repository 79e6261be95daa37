//go:build amd64 && !purego

package gemm

import "github.com/gotrain/gotrain/backend/cpu/cpufeat"

// hasAVX2FMA reports whether the CPU and the operating system support the AVX2 and FMA
// instructions the assembly kernels use.
var hasAVX2FMA = cpufeat.FMA

// asmKernel32 returns the AVX2/FMA float32 kernel, or nil if this CPU cannot run it.
func asmKernel32() microKernel[float32] {
	if hasAVX2FMA {
		return sgemmKernel6x16
	}
	return nil
}

// asmKernel64 returns the AVX2/FMA float64 kernel, or nil if this CPU cannot run it.
func asmKernel64() microKernel[float64] {
	if hasAVX2FMA {
		return dgemmKernel6x8
	}
	return nil
}

// sgemmKernel6x16 implements microKernel[float32] for a 6×16 tile with AVX2 and FMA.
//
//go:noescape
func sgemmKernel6x16(k int, a, b, c *float32, ldc int, alpha, beta float32)

// dgemmKernel6x8 implements microKernel[float64] for a 6×8 tile with AVX2 and FMA.
//
//go:noescape
func dgemmKernel6x8(k int, a, b, c *float64, ldc int, alpha, beta float64)
