package gemm

import "unsafe"

// useAsm lets tests run the pure-Go micro-kernels on machines that have assembly ones, so that
// both are checked by the same suite. It is only changed by tests, between products.
var useAsm = true

// kernel32 and kernel64 pick the micro-kernel for a product: assembly where the platform file
// provides one for this CPU, else the pure-Go kernel, which reads the same packed layout.
func kernel32() microKernel[float32] {
	if k := asmKernel32(); useAsm && k != nil {
		return k
	}
	return sgemmKernelGo
}

func kernel64() microKernel[float64] {
	if k := asmKernel64(); useAsm && k != nil {
		return k
	}
	return dgemmKernelGo
}

// sgemmKernelGo is the portable 6×16 float32 micro-kernel.
func sgemmKernelGo(k int, a, b, c *float32, ldc int, alpha, beta float32) {
	kernelGo(6, 16, k, a, b, c, ldc, alpha, beta)
}

// dgemmKernelGo is the portable 6×8 float64 micro-kernel.
func dgemmKernelGo(k int, a, b, c *float64, ldc int, alpha, beta float64) {
	kernelGo(6, 8, k, a, b, c, ldc, alpha, beta)
}

// kernelGo implements microKernel for an mr×nr tile with mr*nr <= 96. It is written for
// clarity and the compiler's bounds-check elimination rather than speed: it is the fallback for
// CPUs without AVX2 and FMA, and the reference the assembly kernels are tested against.
func kernelGo[T scalar](mr, nr, k int, a, b, c *T, ldc int, alpha, beta T) {
	var acc [96]T
	tile := acc[:mr*nr]
	as := unsafe.Slice(a, mr*k)
	bs := unsafe.Slice(b, nr*k)
	for p := range k {
		ap := as[p*mr : p*mr+mr]
		bp := bs[p*nr : p*nr+nr]
		for i, av := range ap {
			row := tile[i*nr : i*nr+nr]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	cs := unsafe.Slice(c, (mr-1)*ldc+nr)
	for i := range mr {
		row := cs[i*ldc : i*ldc+nr]
		src := tile[i*nr : i*nr+nr]
		for j, v := range src {
			if beta == 0 {
				row[j] = alpha * v
			} else {
				row[j] = alpha*v + beta*row[j]
			}
		}
	}
}
