package gemm

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// TestTranspose16WritesItsBlockOnly checks the AVX-512 16×16 transposes that pack a
// non-transposed A's 14-row panels and a transposed B's 32-column ones, against the definition
// dst[p*stride+r] = src[r*ld+p], for 14 and 16 rows, strides of a packed panel and wider, and kb
// with a tail past the last multiple of 16 (which it must leave alone and report). Every other
// element of dst keeps a sentinel, so a store of 16 lanes where 14 were asked for fails.
func TestTranspose16WritesItsBlockOnly(t *testing.T) {
	if cpufeat.Detected() < cpufeat.AVX512 {
		t.Skip("transpose16 is AVX-512 assembly; this CPU has", cpufeat.Detected())
	}
	useLevel(t, cpufeat.AVX512)
	sentinel := float32(math.Inf(-1))
	for _, rows := range []int{14, 16} {
		for _, stride := range []int{rows, 32, 45} {
			for _, kb := range []int{16, 37, 256} {
				for _, ld := range []int{kb, kb + 3, 1024} {
					t.Run(fmt.Sprintf("rows%d/stride%d/kb%d/ld%d", rows, stride, kb, ld), func(t *testing.T) {
						src := make([]float32, (rows-1)*ld+kb)
						for i := range src {
							src[i] = float32(i) + 0.5
						}
						dst := make([]float32, kb*stride+16)
						for i := range dst {
							dst[i] = sentinel
						}
						k := transpose16(dst, src, ld, kb, stride, rows)
						require.Equal(t, kb&^15, k, "columns packed")
						for i, v := range dst {
							p, r := i/stride, i%stride
							want := sentinel
							if p < k && r < rows {
								want = src[r*ld+p]
							}
							if v != want {
								t.Fatalf("dst[%d] (column %d, row %d) = %v, want %v", i, p, r, v, want)
							}
						}
					})
				}
			}
		}
	}
	useLevel(t, cpufeat.AVX2)
	require.Zero(t, transpose16(make([]float32, 16*14), make([]float32, 14*16), 16, 16, 14, 14), "below AVX-512 it packs nothing")
}

// TestPackRaggedIsTheGoLoop checks the AVX-512 packing of a non-transposed B's ragged last
// micro-panel against its definition, dst[p*nr+j] = src[p*ld+j] for j < cols and 0 up to nr,
// for the 16- and 32-column tiles, every width below the tile, a few depths and leading
// dimensions, with NaN payloads in src (a move keeps them) and a sentinel past the panel, which
// must stay.
func TestPackRaggedIsTheGoLoop(t *testing.T) {
	if cpufeat.Detected() < cpufeat.AVX512 {
		t.Skip("packRagged is AVX-512 assembly; this CPU has", cpufeat.Detected())
	}
	useLevel(t, cpufeat.AVX512)
	sentinel := math.Float32frombits(0x7fc0beef)
	for _, nr := range []int{16, 32} {
		for cols := 1; cols <= nr; cols++ {
			for _, kb := range []int{1, 5, 256} {
				for _, ld := range []int{cols, cols + 7, 1024} {
					src := make([]float32, (kb-1)*ld+cols)
					for i := range src {
						src[i] = float32(i) + 0.25
						if i%5 == 0 {
							src[i] = math.Float32frombits(0x7fc00000 | uint32(i))
						}
					}
					dst := make([]float32, kb*nr+16)
					for i := range dst {
						dst[i] = sentinel
					}
					require.True(t, packRagged(dst, src, ld, kb, cols, nr))
					for i, v := range dst {
						p, j := i/nr, i%nr
						want := sentinel
						switch {
						case p < kb && j < cols:
							want = src[p*ld+j]
						case p < kb:
							want = 0
						}
						if math.Float32bits(v) != math.Float32bits(want) {
							t.Fatalf("nr %d, cols %d, kb %d, ld %d: dst[%d] (row %d, column %d) = %#08x, want %#08x",
								nr, cols, kb, ld, i, p, j, math.Float32bits(v), math.Float32bits(want))
						}
					}
				}
			}
		}
	}
	useLevel(t, cpufeat.AVX2)
	require.False(t, packRagged(make([]float32, 16), make([]float32, 10), 10, 1, 10, 16), "below AVX-512 it packs nothing")
}
