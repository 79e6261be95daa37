package gemm

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// BenchmarkMicroKernel times the float32 micro-kernel of each level alone, kc = 256, on one
// packed A micro-panel and 1, 8 or 32 packed B micro-panels (in L1, L1-L2, L2), against the
// level's peak FMA rate per CPU second: the ceiling of BenchmarkSgemmLevels, whose difference
// to it is what packing, the ragged edges and C's cache misses cost. On the 2-core Zen 1 EPYC at
// AVX2: 91-98% (the least with 32 B panels, from L2). At AVX-512 it also times the 8-row tile
// (rows8) of the rows that 14-row panels do not fill (see rowPlan).
func BenchmarkMicroKernel(b *testing.B) {
	for _, l := range cpufeat.Supported() {
		ks := asmKernels(l)
		if ks == nil {
			continue
		}
		tiles := []struct {
			name string
			mr   int
			kern microKernel[float32]
		}{{"", ks.b32.mr, ks.k32}}
		if ks.col8 != nil {
			col8 := ks.col8
			tiles = append(tiles, struct {
				name string
				mr   int
				kern microKernel[float32]
			}{"/rows8", 8, func(k int, a, b, c *float32, ldc int, alpha, beta float32) {
				col8(k, a, b, c, ldc, 8, 32, alpha, beta)
			}})
		}
		for _, tile := range tiles {
			for _, panels := range []int{1, 8, 32} {
				b.Run(fmt.Sprintf("%v%s/panels%d", l, tile.name, panels), func(b *testing.B) {
					useLevel(b, l)
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					mr, nr, kc := tile.mr, ks.b32.nr, 256
					a := make([]float32, mr*kc)
					bp := make([]float32, panels*nr*kc)
					c := make([]float32, mr*nr*panels)
					for i := range a {
						a[i] = float32(i%7) * 0.1
					}
					for i := range bp {
						bp[i] = float32(i%5) * 0.1
					}
					c0 := threadCPU()
					for b.Loop() {
						for j := range panels {
							tile.kern(kc, &a[0], &bp[j*nr*kc], &c[j*nr], nr*panels, 1, 1)
						}
					}
					cpu := threadCPU() - c0
					p, err := PeakGFLOPSPerCPUSecond(l, 200*time.Millisecond)
					if err != nil {
						b.Fatal(err)
					}
					g := 2 * float64(mr*nr*kc*panels) * float64(b.N) / cpu.Seconds() / 1e9
					b.ReportMetric(g, "GFLOP/s")
					b.ReportMetric(100*g/p, "cpu-peak%")
				})
			}
		}
	}
}
