//go:build amd64 && !purego

package cpufeat

// cpuid executes the CPUID instruction for leaf eaxArg, subleaf ecxArg.
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// xgetbv reads extended control register 0, which says which register states the OS saves.
func xgetbv() (eax, edx uint32)

func detect() features {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return features{}
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	if ecx1&(osxsave|avx) != osxsave|avx {
		return features{}
	}
	// The OS must save the XMM (bit 1) and YMM (bit 2) register halves on context switches.
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return features{}
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const avx2 = 1 << 5
	return features{avx2: ebx7&avx2 != 0, fma: ecx1&fma != 0}
}
