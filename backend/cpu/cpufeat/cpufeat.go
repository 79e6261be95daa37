// Package cpufeat says which vector instructions this CPU and operating system support, for the
// assembly kernels of backend/cpu/gemm and kernels. It reads CPUID directly: golang.org/x/sys/cpu
// is not a direct dependency of the module, and these few bits are all the kernels need.
package cpufeat

var feats = detect()

// AVX2 reports whether AVX2 can be used (the CPU has it and the OS saves the YMM registers).
var AVX2 = feats.avx2

// FMA reports whether AVX2 and FMA3 can both be used.
var FMA = feats.avx2 && feats.fma

type features struct{ avx2, fma bool }
