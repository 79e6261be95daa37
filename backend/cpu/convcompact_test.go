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

// TestCompactPathsChangeNoBit: the float32 convolutions on the compact column matrix (no
// full-width columns) give the bits of the full-width ones and of the row blocks (the full width
// off), on one and three workers, with several blocks and chunks per batch: the input gradient
// (kernels.Col2imPadded, padded rows of at most 16 lanes) on LeNet's second layer and the cnn
// preset's, a dilated and a batch-1 geometry; the forward pass (kernels.Im2colPadded, filters of
// depth at most 32) on both presets' first layers, the dilated one and a shallow batch-1 one. The
// geometries the compact paths do not take run too (the same path either way).
func TestCompactPathsChangeNoBit(t *testing.T) {
	geoms := []kernels.Conv2D{
		{N: 9, C: 6, H: 14, W: 14, OutC: 16, KH: 5, KW: 5},                    // lenet5 conv2
		{N: 3, C: 32, H: 14, W: 14, OutC: 64, KH: 3, KW: 3, PadH: 1, PadW: 1}, // cnn conv2
		{N: 7, C: 3, H: 11, W: 9, OutC: 4, KH: 3, KW: 2, PadH: 3, PadW: 1, DilH: 2},
		{N: 1, C: 2, H: 5, W: 7, OutC: 3, KH: 5, KW: 5},
		{N: 5, C: 1, H: 28, W: 28, OutC: 6, KH: 5, KW: 5, PadH: 2, PadW: 2},  // lenet5 conv1
		{N: 6, C: 1, H: 28, W: 28, OutC: 32, KH: 3, KW: 3, PadH: 1, PadW: 1}, // cnn conv1
		{N: 1, C: 2, H: 6, W: 19, OutC: 5, KH: 2, KW: 3, PadW: 1},
	}
	kinds := []struct {
		name  string
		op    *backend.Op
		takes func(kernels.Conv2D) bool
	}{
		{"input gradient", backend.OpConv2DGradInput, kernels.Col2imPaddedVectors},
		{"forward", backend.OpConv2D, func(g kernels.Conv2D) bool { return kernels.Im2colPaddedVectors(g) && g.K() <= 32 }},
	}
	taken := map[string]int{}
	for _, g := range geoms {
		g.StrideH, g.StrideW, g.DilW = 1, 1, 1
		if g.DilH == 0 {
			g.DilH = 1
		}
		require.NoError(t, g.Validate())
		for _, kind := range kinds {
			if kind.takes(g) {
				taken[kind.name]++
			}
			for _, workers := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/%v/%d workers", kind.name, g, workers), func(t *testing.T) {
					defer cpu.SetConvChunks(4)()
					defer cpu.SetConvBlockElems(g.K() * g.P() * 2)() // two images a block
					dev, err := cpu.New(workers)
					require.NoError(t, err)
					defer dev.Close()
					alloc := func(n int, seed uint64) backend.Buffer { return randomBuffer(t, dev, backend.Float32, n, seed) }
					w := alloc(g.WLen(), 2)
					bufs, n := []backend.Buffer{alloc(g.XLen(), 3), alloc(g.YLen(), 1), w}, g.XLen() // dx, dy, w
					if kind.op == backend.OpConv2D {
						bufs, n = []backend.Buffer{alloc(g.YLen(), 3), alloc(g.XLen(), 1), w}, g.YLen() // y, x, w
					}
					run := func(compact, wide bool) []float32 {
						defer cpu.SetConvCompactData(compact)()
						defer cpu.SetConvCompactForward(compact)()
						defer cpu.SetConvWide(wide)()
						require.NoError(t, dev.Run(&backend.Call{Op: kind.op, Bufs: bufs, Attrs: &g}))
						got := make([]float32, n)
						require.NoError(t, dev.Read(got, bufs[0]))
						return got
					}
					compact, wide, rows := run(true, true), run(false, true), run(false, false)
					for j := range compact {
						if math.Float32bits(compact[j]) != math.Float32bits(wide[j]) || math.Float32bits(compact[j]) != math.Float32bits(rows[j]) {
							t.Fatalf("%s[%d] = %v compact, %v full width, %v in row blocks", kind.name, j, compact[j], wide[j], rows[j])
						}
					}
				})
			}
		}
	}
	if !kernels.Col2imPaddedVectors(geoms[0]) {
		t.Skip("no AVX-512 here (or GOTRAIN_CPU below it): the compact paths are not taken; the full width and the row blocks were compared")
	}
	require.Equal(t, map[string]int{"input gradient": 4, "forward": 4}, taken, "the geometries each compact path takes")
}
