//go:build amd64 && !purego

package gemm

// hasAVX2FMA reports whether the CPU and the operating system support the AVX2 and FMA
// instructions the assembly kernels use.
var hasAVX2FMA = detectAVX2FMA()

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

// cpuid executes the CPUID instruction for leaf eaxArg, subleaf ecxArg.
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// xgetbv reads extended control register 0, which says which register states the OS saves.
func xgetbv() (eax, edx uint32)

// detectAVX2FMA reads CPUID directly: golang.org/x/sys/cpu is not a direct dependency of the
// module, and these four bits are all the kernels need.
func detectAVX2FMA() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	// The OS must save the XMM (bit 1) and YMM (bit 2) register halves on context switches.
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const avx2 = 1 << 5
	return ebx7&avx2 != 0
}
