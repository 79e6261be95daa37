package gemm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// BenchmarkTileChoices times products that the transposing tiles (rowm.go) and the shallow
// tiles (shallow.go) take, each with the tiles on and off in every iteration (off: the path
// Sgemm takes without them), on one locked thread per CPU second at the AVX-512 level: the
// crossovers their rules encode, measured beside their baseline in one process. GF-on and
// GF-off are GFLOP/s, on/off the ratio of the times (below 1: the tiles are faster); the names
// give m×k×n.
func BenchmarkTileChoices(b *testing.B) {
	if cpufeat.Detected() < cpufeat.AVX512 {
		b.Skip("no AVX-512 on this CPU")
	}
	type choice struct {
		tiles   string
		knob    *bool
		transB  bool
		m, n, k int
	}
	var cs []choice
	for _, n := range []int{1, 4, 8, 10, 12, 14, 15} {
		cs = append(cs, choice{"transposing", &transposingTiles, false, 128, n, 256})
	}
	cs = append(cs, choice{"transposing", &transposingTiles, false, 1024, 10, 1024}, choice{"transposing", &transposingTiles, false, 128, 10, 84})
	for _, k := range []int{1, 2, 3, 4, 10, 16} {
		cs = append(cs, choice{"shallow", &shallowTiles, true, 128, 256, k})
	}
	cs = append(cs, choice{"shallow", &shallowTiles, true, 1024, 1024, 10}, choice{"shallow", &shallowTiles, true, 128, 40, 10})
	e := New(nil)
	for _, c := range cs {
		rng := rand.New(rand.NewPCG(1, 2))
		a, bm, cm := randSlice[float32](rng, c.m*c.k), randSlice[float32](rng, c.n*c.k), make([]float32, c.m*c.n)
		ldb := c.n
		if c.transB {
			ldb = c.k
		}
		b.Run(fmt.Sprintf("%s/%dx%dx%d", c.tiles, c.m, c.k, c.n), func(b *testing.B) {
			useLevel(b, cpufeat.AVX512)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			defer func() { *c.knob = true }()
			var d [2]time.Duration
			for b.Loop() {
				for i, on := range []bool{false, true} {
					*c.knob = on
					c0 := threadCPU()
					if err := e.Sgemm(false, c.transB, c.m, c.n, c.k, 1, a, c.k, bm, ldb, 0, cm, c.n); err != nil {
						b.Fatal(err)
					}
					d[i] += threadCPU() - c0
				}
			}
			flops := 2 * float64(c.m*c.n*c.k) * float64(b.N) / 1e9
			b.ReportMetric(flops/d[0].Seconds(), "GF-off")
			b.ReportMetric(flops/d[1].Seconds(), "GF-on")
			b.ReportMetric(d[1].Seconds()/d[0].Seconds(), "on/off")
		})
	}
}
