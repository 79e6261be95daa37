package gemm

import (
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// BenchmarkMicroKernel times the float32 micro-kernel of each level alone, kc = 256, on one
// packed A micro-panel and 1, 8 or 32 packed B micro-panels (in L1, L1-L2, L2), against the
// level's peak FMA rate per CPU second: the ceiling of BenchmarkSgemmLevels, whose difference
// to it is what packing, the ragged edges and C's cache misses cost. On the 2-core Zen 1 EPYC at
// AVX2: 91-98% (the least with 32 B panels, from L2). At AVX-512 the panels are one call of the
// column kernel sweeping them all, as the driver calls it (see sweep), and it also times the
// 8-row tile (rows8) of the rows that 14-row panels do not fill (see rowPlan). The peak loop runs
// after every round for as many flops on the same thread (as in BenchmarkSgemmLevels), and
// cpu-peak% is the ratio of the CPU times.
func BenchmarkMicroKernel(b *testing.B) {
	for _, l := range cpufeat.Supported() {
		ks := asmKernels(l)
		if ks == nil {
			continue
		}
		type sweepFunc func(k int, a, b, c *float32, panels int)
		mr, nr, kc := ks.b32.mr, ks.b32.nr, 256
		tiles := []struct {
			name string
			mr   int
			kern sweepFunc
		}{{"", mr, func(k int, a, b, c *float32, panels int) {
			for j := range panels {
				ks.k32(k, a, (*float32)(unsafe.Add(unsafe.Pointer(b), 4*j*nr*k)), (*float32)(unsafe.Add(unsafe.Pointer(c), 4*j*nr)), nr*panels, 1, 1)
			}
		}}}
		if ks.col32 != nil {
			tiles[0].kern = func(k int, a, b, c *float32, panels int) {
				ks.col32(k, a, b, c, nr*panels, mr, nr, nr*k, panels, 1, 1)
			}
			tiles = append(tiles, struct {
				name string
				mr   int
				kern sweepFunc
			}{"/rows8", 8, func(k int, a, b, c *float32, panels int) {
				ks.col8(k, a, b, c, nr*panels, 8, nr, nr*k, panels, 1, 1)
			}})
		}
		for _, tile := range tiles {
			for _, panels := range []int{1, 8, 32} {
				b.Run(fmt.Sprintf("%v%s/panels%d", l, tile.name, panels), func(b *testing.B) {
					useLevel(b, l)
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					a := make([]float32, tile.mr*kc)
					bp := make([]float32, panels*nr*kc)
					c := make([]float32, tile.mr*nr*panels)
					for i := range a {
						a[i] = float32(i%7) * 0.1
					}
					for i := range bp {
						bp[i] = float32(i%5) * 0.1
					}
					loop, flopsPerIter := peakLoop(l)
					flops := 2 * float64(tile.mr*nr*kc*panels)
					iters := max(1, int(flops/flopsPerIter))
					var inKernel, inPeak time.Duration
					for b.Loop() {
						c0 := threadCPU()
						tile.kern(kc, &a[0], &bp[0], &c[0], panels)
						c1 := threadCPU()
						loop(iters)
						inKernel += c1 - c0
						inPeak += threadCPU() - c1
					}
					b.ReportMetric(flops*float64(b.N)/inKernel.Seconds()/1e9, "GFLOP/s")
					b.ReportMetric(100*(flops/(float64(iters)*flopsPerIter))*inPeak.Seconds()/inKernel.Seconds(), "cpu-peak%")
				})
			}
		}
	}
}
