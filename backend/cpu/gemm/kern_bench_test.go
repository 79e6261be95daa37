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
// AVX2: 91-98% (the least with 32 B panels, from L2).
func BenchmarkMicroKernel(b *testing.B) {
	for _, l := range cpufeat.Supported() {
		ks := asmKernels(l)
		if ks == nil {
			continue
		}
		blk := ks.b32
		for _, panels := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("%v/panels%d", l, panels), func(b *testing.B) {
				useLevel(b, l)
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				kc := 256
				a := make([]float32, blk.mr*kc)
				bp := make([]float32, panels*blk.nr*kc)
				c := make([]float32, blk.mr*blk.nr*panels)
				for i := range a {
					a[i] = float32(i%7) * 0.1
				}
				for i := range bp {
					bp[i] = float32(i%5) * 0.1
				}
				c0 := threadCPU()
				for b.Loop() {
					for j := range panels {
						ks.k32(kc, &a[0], &bp[j*blk.nr*kc], &c[j*blk.nr], blk.nr*panels, 1, 1)
					}
				}
				cpu := threadCPU() - c0
				p, err := PeakGFLOPSPerCPUSecond(l, 200*time.Millisecond)
				if err != nil {
					b.Fatal(err)
				}
				g := 2 * float64(blk.mr*blk.nr*kc*panels) * float64(b.N) / cpu.Seconds() / 1e9
				b.ReportMetric(g, "GFLOP/s")
				b.ReportMetric(100*g/p, "cpu-peak%")
			})
		}
	}
}
