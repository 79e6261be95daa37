package backendtest

import (
	"math"

	"github.com/gotrain/gotrain/kernels"
)

// refDropoutKeep is the dropout mask from its specification (kernels.Dropout's documentation):
// word i mod 4 of Philox4x32-10 at counter (⌊i/4⌋, step low, step high, stream) and key (seed
// low, seed high), top 24 bits compared with ⌊p·2²⁴⌋. Philox itself is checked against
// Random123's known answers in package kernels.
func refDropoutKeep(p float64, stream uint32, seed, step uint64, i int) bool {
	r := kernels.Philox4x32([4]uint32{uint32(i / 4), uint32(step), uint32(step >> 32), stream}, [2]uint32{uint32(seed), uint32(seed >> 32)})
	return float64(r[i%4]>>8) >= math.Floor(p*(1<<24))
}
