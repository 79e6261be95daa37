//go:build !amd64 || purego

package gemm

// Without assembly kernels every product uses the pure-Go micro-kernels.

func asmKernel32() microKernel[float32] { return nil }

func asmKernel64() microKernel[float64] { return nil }
