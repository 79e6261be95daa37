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
