//go:build amd64 && !purego

package cpufeat

import "golang.org/x/sys/cpu"

// detect maps x/sys/cpu's feature bits (which already require the operating system to save the
// YMM and ZMM state) to a level.
func detect() Level {
	x := cpu.X86
	if !x.HasAVX2 || !x.HasFMA {
		return Generic
	}
	if x.HasAVX512F && x.HasAVX512BW && x.HasAVX512DQ && x.HasAVX512VL {
		return AVX512
	}
	return AVX2
}
