package kernels

import (
	"fmt"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// pixelScale is float32(b)/255 for every byte b: the pure-Go loop's values, which the vector
// loop computes with one correctly rounded division each, so the two agree bit for bit.
var pixelScale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// PixelsToUnit sets dst[i] = float32(src[i])/255 for every i: 8-bit image pixels scaled to [0, 1],
// as a dataset held as bytes (a quarter of the memory of float32) is widened batch by batch.
func PixelsToUnit(dst []float32, src []uint8) error {
	if len(dst) != len(src) {
		return fmt.Errorf("kernels: PixelsToUnit: len(dst)=%d, len(src)=%d: %w", len(dst), len(src), ErrInvalid)
	}
	i := 0
	if n := len(src) &^ 7; n > 0 && level() >= cpufeat.AVX2 {
		pixelsAVX2(&dst[0], &src[0], n)
		i = n
	}
	for ; i < len(src); i++ {
		dst[i] = pixelScale[src[i]]
	}
	return nil
}
