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

// TestCompactInputGradientChangesNoBit: the float32 input gradient on the compact column matrix
// (no full-width columns; kernels.Col2imPadded) gives the bits of the full-width one and of the
// row blocks (the full width off), on one and three workers, for LeNet's second layer and the
// cnn preset's (padded rows of 14 and 16 lanes, where it applies), a dilated and a batch-1
// geometry, and LeNet's first layer (rows of 32 lanes: not taken, the same path either way),
// with several blocks and chunks per batch.
func TestCompactInputGradientChangesNoBit(t *testing.T) {
	geoms := []kernels.Conv2D{
		{N: 9, C: 6, H: 14, W: 14, OutC: 16, KH: 5, KW: 5},                    // lenet5 conv2
		{N: 3, C: 32, H: 14, W: 14, OutC: 64, KH: 3, KW: 3, PadH: 1, PadW: 1}, // cnn conv2
		{N: 7, C: 3, H: 11, W: 9, OutC: 4, KH: 3, KW: 2, PadH: 3, PadW: 1, DilH: 2},
		{N: 1, C: 2, H: 5, W: 7, OutC: 3, KH: 5, KW: 5},
		{N: 5, C: 1, H: 28, W: 28, OutC: 6, KH: 5, KW: 5, PadH: 2, PadW: 2}, // lenet5 conv1
	}
	taken := 0
	for _, g := range geoms {
		g.StrideH, g.StrideW, g.DilW = 1, 1, 1
		if g.DilH == 0 {
			g.DilH = 1
		}
		require.NoError(t, g.Validate())
		if kernels.Col2imPaddedVectors(g) {
			taken++
		}
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%v/%d workers", g, workers), func(t *testing.T) {
				defer cpu.SetConvChunks(4)()
				defer cpu.SetConvBlockElems(g.K() * g.P() * 2)() // two images a block
				dev, err := cpu.New(workers)
				require.NoError(t, err)
				defer dev.Close()
				alloc := func(n int, seed uint64) backend.Buffer {
					buf, err := dev.Alloc(backend.Float32, n)
					require.NoError(t, err)
					require.NoError(t, dev.Write(buf, randomF32(n, seed)))
					return buf
				}
				dy, w, dx := alloc(g.YLen(), 1), alloc(g.WLen(), 2), alloc(g.XLen(), 3)
				run := func(compact, wide bool) []float32 {
					defer cpu.SetConvCompactData(compact)()
					defer cpu.SetConvWide(wide)()
					require.NoError(t, dev.Run(&backend.Call{Op: backend.OpConv2DGradInput, Bufs: []backend.Buffer{dx, dy, w}, Attrs: &g}))
					got := make([]float32, g.XLen())
					require.NoError(t, dev.Read(got, dx))
					return got
				}
				compact, wide, rows := run(true, true), run(false, true), run(false, false)
				for j := range compact {
					if math.Float32bits(compact[j]) != math.Float32bits(wide[j]) || math.Float32bits(compact[j]) != math.Float32bits(rows[j]) {
						t.Fatalf("dx[%d] = %v compact, %v full width, %v in row blocks", j, compact[j], wide[j], rows[j])
					}
				}
			})
		}
	}
	if !kernels.Col2imPaddedVectors(geoms[0]) {
		t.Skip("no AVX-512 here (or GOTRAIN_CPU below it): the compact input gradient is not taken; the full width and the row blocks were compared")
	}
	require.Equal(t, 4, taken, "the geometries with padded rows of at most 16 lanes")
}
