package kernels_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gotrain/gotrain/kernels"
)

func BenchmarkPoolLeNet(b *testing.B) {
	g := kernels.Pool2D{Kind: kernels.MaxPool, N: 128, C: 6, H: 28, W: 28, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
	x := make([]float32, g.XLen())
	for i := range x {
		x[i] = rand.Float32()
	}
	y := make([]float32, g.YLen())
	b.Run("fwd", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_ = kernels.PoolForward(g, y, x, 0, g.Planes())
		}
	})
	dx := make([]float32, g.XLen())
	b.Run("bwd", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_ = kernels.PoolBackward(g, dx, x, y, 0, g.Planes())
		}
	})
}
