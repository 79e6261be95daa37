package cpu_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/kernels"
)

// TestTransposedFilterGradientChangesNoBit: the full-width filter gradient computed transposed
// (dwᵀ = col(x)·dyᵀ, where K > OutC) gives the bits of the product the other way round, in float32
// and float64, on one and three workers, for LeNet's and the cnn preset's layers and odd,
// padded, dilated and batch-1 geometries, with several blocks and chunks per batch.
func TestTransposedFilterGradientChangesNoBit(t *testing.T) {
	geoms := []kernels.Conv2D{
		{N: 9, C: 6, H: 14, W: 14, OutC: 16, KH: 5, KW: 5},                  // lenet5 conv2
		{N: 5, C: 1, H: 28, W: 28, OutC: 6, KH: 5, KW: 5, PadH: 2, PadW: 2}, // lenet5 conv1
		{N: 3, C: 32, H: 14, W: 14, OutC: 64, KH: 3, KW: 3, PadH: 1, PadW: 1},
		{N: 7, C: 3, H: 11, W: 9, OutC: 4, KH: 3, KW: 2, PadH: 3, PadW: 1, DilH: 2},
		{N: 1, C: 2, H: 5, W: 7, OutC: 3, KH: 5, KW: 5},
	}
	for _, g := range geoms {
		g.StrideH, g.StrideW, g.DilW = 1, 1, 1
		if g.DilH == 0 {
			g.DilH = 1
		}
		require.NoError(t, g.Validate())
		require.Greater(t, g.K(), g.OutC, "%v: the transposed product applies where K > OutC", g)
		for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
			for _, workers := range []int{1, 3} {
				t.Run(fmt.Sprintf("%v/%v/%d workers", g, dt, workers), func(t *testing.T) {
					defer cpu.SetConvChunks(4)()
					defer cpu.SetConvBlockElems(g.K() * g.WideP() * 2)() // two images a block
					dev, err := cpu.New(workers)
					require.NoError(t, err)
					defer dev.Close()
					x, dy, dw := randomBuffer(t, dev, dt, g.XLen(), 1), randomBuffer(t, dev, dt, g.YLen(), 2), randomBuffer(t, dev, dt, g.WLen(), 3)
					var got [2][]float64
					for i, on := range []bool{false, true} {
						restore := cpu.SetFilterT(on)
						require.NoError(t, dev.Run(&backend.Call{Op: backend.OpConv2DGradFilter, Bufs: []backend.Buffer{dw, x, dy}, Attrs: &g}))
						restore()
						if dt == backend.Float64 {
							got[i] = make([]float64, g.WLen())
							require.NoError(t, dev.Read(got[i], dw))
						} else {
							f := make([]float32, g.WLen())
							require.NoError(t, dev.Read(f, dw))
							got[i] = make([]float64, len(f))
							for j, v := range f {
								got[i][j] = float64(v)
							}
						}
					}
					for j := range got[0] {
						if math.Float64bits(got[0][j]) != math.Float64bits(got[1][j]) {
							t.Fatalf("dw[%d] = %v transposed, %v not", j, got[1][j], got[0][j])
						}
					}
				})
			}
		}
	}
}

// randomBuffer allocates n elements of dt on dev holding randomF32(n, seed) (a third of it in
// float64).
func randomBuffer(t *testing.T, dev backend.Device, dt backend.DType, n int, seed uint64) backend.Buffer {
	t.Helper()
	buf, err := dev.Alloc(dt, n)
	require.NoError(t, err)
	v := randomF32(n, seed)
	if dt == backend.Float64 {
		v64 := make([]float64, n)
		for i, f := range v {
			v64[i] = float64(f) / 3
		}
		require.NoError(t, dev.Write(buf, v64))
	} else {
		require.NoError(t, dev.Write(buf, v))
	}
	return buf
}
