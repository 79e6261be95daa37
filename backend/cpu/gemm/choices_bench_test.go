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
// tiles (shallow.go) take at the AVX-512 level, and the column tiles (narrowm.go) at AVX2, each
// with the tiles on and off in every iteration (off: the path Sgemm takes without them), on one
// locked thread per CPU second: the crossovers their rules encode, measured beside their
// baseline in one process. GF-on and GF-off are GFLOP/s, on/off the ratio of the times (below
// 1: the tiles are faster); the names give m×k×n, with a T after m where A is transposed.
func BenchmarkTileChoices(b *testing.B) {
	if cpufeat.Detected() < cpufeat.AVX2 {
		b.Skip("no AVX2 on this CPU")
	}
	type choice struct {
		tiles          string
		level          cpufeat.Level
		knob           *bool
		transA, transB bool
		m, n, k        int
	}
	var cs []choice
	if cpufeat.Detected() >= cpufeat.AVX512 {
		for _, n := range []int{1, 4, 8, 10, 12, 14, 15} {
			cs = append(cs, choice{"transposing", cpufeat.AVX512, &transposingTiles, false, false, 128, n, 256})
		}
		cs = append(cs, choice{"transposing", cpufeat.AVX512, &transposingTiles, false, false, 1024, 10, 1024},
			choice{"transposing", cpufeat.AVX512, &transposingTiles, false, false, 128, 10, 84})
		for _, k := range []int{1, 2, 3, 4, 10, 16} {
			cs = append(cs, choice{"shallow", cpufeat.AVX512, &shallowTiles, false, true, 128, 256, k})
		}
		cs = append(cs, choice{"shallow", cpufeat.AVX512, &shallowTiles, false, true, 1024, 1024, 10},
			choice{"shallow", cpufeat.AVX512, &shallowTiles, false, true, 128, 40, 10})
	}
	for _, n := range []int{1, 4, 6, 8, 10, 11, 12, 13, 14, 15} {
		cs = append(cs, choice{"avx2-columns", cpufeat.AVX2, &colTiles, false, false, 128, n, 256},
			choice{"avx2-columns", cpufeat.AVX2, &colTiles, true, false, 256, n, 128})
	}
	cs = append(cs, choice{"avx2-columns", cpufeat.AVX2, &colTiles, false, false, 1024, 10, 1024},
		choice{"avx2-columns", cpufeat.AVX2, &colTiles, true, false, 1024, 10, 1024},
		choice{"avx2-columns", cpufeat.AVX2, &colTiles, false, false, 128, 10, 16},
		choice{"avx2-columns", cpufeat.AVX2, &colTiles, true, false, 128, 10, 16})
	e := New(nil)
	for _, c := range cs {
		rng := rand.New(rand.NewPCG(1, 2))
		a, bm, cm := randSlice[float32](rng, c.m*c.k), randSlice[float32](rng, c.n*c.k), make([]float32, c.m*c.n)
		ldb, lda, ta := c.n, c.k, ""
		if c.transB {
			ldb = c.k
		}
		if c.transA {
			lda, ta = c.m, "T"
		}
		b.Run(fmt.Sprintf("%s/%d%sx%dx%d", c.tiles, c.m, ta, c.k, c.n), func(b *testing.B) {
			useLevel(b, c.level)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			defer func() { *c.knob = true }()
			var d [2]time.Duration
			for b.Loop() {
				for i, on := range []bool{false, true} {
					*c.knob = on
					c0 := threadCPU()
					if err := e.Sgemm(c.transA, c.transB, c.m, c.n, c.k, 1, a, lda, bm, ldb, 0, cm, c.n); err != nil {
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
