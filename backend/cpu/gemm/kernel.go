package gemm

import (
	"unsafe"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// kernelSet is the micro-kernels of one instruction level with the blocking they are tuned for.
type kernelSet struct {
	k32        microKernel[float32]
	col32, r32 inPlaceKernel[float32] // optional: read A in place (k32 is then col32 on a packed panel)
	col8, r8   inPlaceKernel[float32] // optional, with col32: col32 and r32 for 8-row tiles (see rowPlan)
	k4         microKernel[float32]   // optional, without col32: k32 for 4-row tiles (see tailPlan)
	s32, s4    sweepKernel[float32]   // optional, without col32: k32 and k4 down a column panel
	b32        blocking
	k64        microKernel[float64]
	s64        sweepKernel[float64] // optional: k64 down a column panel
	b64        blocking
	// narrow, if set, is the float32 set for products of at most 16 columns, whose one ragged
	// tile of 32 would keep at most half its lanes (AVX-512: 14×16 tiles).
	narrow *kernelSet
	// cols, if set (in a narrow set), are the column tiles for w = 1..widestColTile columns (narrowm.go).
	cols *[widestColTile + 1]colTile
	// cols16, if set (AVX2), are the 16-row column tiles for w = 1..widestColTile16 columns (narrowm.go).
	cols16 *[widestColTile + 1]colTile
	// copying16, if set with cols16, are those tiles copying the next panel of a transposed A.
	copying16 *[widestColTile16 + 1]copyingTile
	// shallow, if set, are the shallow tiles for B transposed and depths 1..16 (shallow.go).
	shallow *[17]shallowTile
	// trows, if set (in a narrow set), are the transposing tiles for w = 1..15 columns (rowm.go).
	trows *[16]slicedTile
	// rowm, if set (in a narrow set), is the masked 14-row tile (rowm.go).
	rowm rowTile
}

// goKernels are the portable kernels, the fallback of every level the platform file has no
// assembly for, with the AVX2 kernels' tiles.
var goKernels = kernelSet{
	k32: sgemmKernelGo, b32: blocking{mr: 6, nr: 16, mc: 168, kc: 256, nc: 4080},
	k64: dgemmKernelGo, b64: blocking{mr: 6, nr: 8, mc: 72, kc: 256, nc: 4080},
}

// kernels returns the kernel set of the level cpufeat selects (read on every product, so that
// tests can switch levels between products); asmKernels (gemm_amd64.go, gemm_generic.go) has
// the assembly ones.
func kernels() *kernelSet {
	if ks := asmKernels(cpufeat.Current()); ks != nil {
		return ks
	}
	return &goKernels
}

// sgemmKernelGo is the portable 6×16 float32 micro-kernel.
func sgemmKernelGo(k int, a, b, c *float32, ldc int, alpha, beta float32) {
	kernelGo(6, 16, k, a, b, c, ldc, alpha, beta)
}

// dgemmKernelGo is the portable 6×8 float64 micro-kernel.
func dgemmKernelGo(k int, a, b, c *float64, ldc int, alpha, beta float64) {
	kernelGo(6, 8, k, a, b, c, ldc, alpha, beta)
}

// kernelGo implements microKernel for an mr×nr tile with mr*nr <= 448 (up to the AVX-512 tile,
// which the tests run it on too). It is written for clarity and the compiler's bounds-check
// elimination rather than speed: it is the fallback for CPUs without AVX2 and FMA, and the
// reference the assembly kernels are tested against.
func kernelGo[T scalar](mr, nr, k int, a, b, c *T, ldc int, alpha, beta T) {
	if mr*nr <= 96 { // the portable kernels' own tiles: a small accumulator to clear
		var acc [96]T
		kernelGoTile(acc[:mr*nr], mr, nr, k, a, b, c, ldc, alpha, beta)
		return
	}
	var acc [448]T
	kernelGoTile(acc[:mr*nr], mr, nr, k, a, b, c, ldc, alpha, beta)
}

func kernelGoTile[T scalar](tile []T, mr, nr, k int, a, b, c *T, ldc int, alpha, beta T) {
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
