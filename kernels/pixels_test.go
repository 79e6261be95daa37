package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// TestPixelsToUnitIsByteOver255: at every level, every byte value at every lane, on every length
// up to 40 and two long ones, at every misalignment of both slices, gives float32(b)/255 bit for
// bit (the pure-Go loop's table, which Go's own division must equal too).
func TestPixelsToUnitIsByteOver255(t *testing.T) {
	for b := range 256 {
		require.Equal(t, math.Float32bits(float32(b)/255), math.Float32bits(pixelScale[b]), "byte %d", b)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	all := make([]uint8, 256)
	for i := range all {
		all[i] = uint8(i)
	}
	for _, l := range cpufeat.Supported() {
		for _, n := range append(actLengths(), 256) {
			for off := range 8 {
				src := make([]uint8, n+off)[off:]
				if n == 256 {
					copy(src, all)
				} else {
					for i := range src {
						src[i] = uint8(rng.IntN(256))
					}
				}
				dst := nans32(n + off)[off:]
				withLevel(t, l, func() { require.NoError(t, PixelsToUnit(dst, src)) })
				for i, b := range src {
					if math.Float32bits(dst[i]) != math.Float32bits(float32(b)/255) {
						require.Failf(t, "bits differ", "%v, n=%d, offset %d: dst[%d] = %v for byte %d, want %v", l, n, off, i, dst[i], b, float32(b)/255)
					}
				}
			}
		}
	}
	require.ErrorIs(t, PixelsToUnit(make([]float32, 3), make([]uint8, 4)), ErrInvalid)
}

// BenchmarkPixelsToUnit: one MNIST batch (128 images of 784 pixels) widened from bytes, beside the
// copy of the same batch held as float32 that it replaces.
func BenchmarkPixelsToUnit(b *testing.B) {
	const n = 128 * 784
	src, dst, f32 := make([]uint8, n), make([]float32, n), make([]float32, n)
	b.Run("bytes", func(b *testing.B) {
		b.SetBytes(n)
		for b.Loop() {
			_ = PixelsToUnit(dst, src)
		}
	})
	b.Run("copy-float32", func(b *testing.B) {
		b.SetBytes(n)
		for b.Loop() {
			copy(dst, f32)
		}
	})
}
