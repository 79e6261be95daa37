package kernels

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// Dropout's mask comes from Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
// 1, 2, 3", SC 2011), a counter-based generator: the random bits of element i are a pure function
// of (seed, layer stream, training step, i), computed with 32-bit integer arithmetic only. So the
// CPU and CUDA devices draw identical masks, the backward pass regenerates the forward's mask
// instead of storing it, and a run resumed at step s draws what the uninterrupted run drew at s.
//
// Element i uses word i mod 4 of the Philox block with counter
// (⌊i/4⌋, step mod 2³², ⌊step/2³²⌋, stream) and key (seed mod 2³², ⌊seed/2³²⌋). The top 24 bits
// of the word, u, are a uniform integer in [0, 2²⁴); the element is kept when u ≥ ⌊p·2²⁴⌋, so it
// is dropped with probability p to within 2⁻²⁴, and a kept element is scaled by 1/(1−p) (inverted
// dropout, as PyTorch's Dropout does in training). y = x·m with m ∈ {0, 1/(1−p)} in the element
// type, so a NaN input stays NaN even where it is dropped, as in PyTorch.

// Philox constants (Random123's philox.h).
const (
	philoxM0 = 0xD2511F53
	philoxM1 = 0xCD9E8D57
	philoxW0 = 0x9E3779B9
	philoxW1 = 0xBB67AE85
)

// Philox4x32 is Philox4x32-10: 10 rounds over the counter ctr with key key.
func Philox4x32(ctr [4]uint32, key [2]uint32) [4]uint32 {
	c0, c1, c2, c3 := ctr[0], ctr[1], ctr[2], ctr[3]
	k0, k1 := key[0], key[1]
	for r := 0; r < 10; r++ {
		hi0, lo0 := bits.Mul32(philoxM0, c0)
		hi1, lo1 := bits.Mul32(philoxM1, c2)
		c0, c1, c2, c3 = hi1^c1^k0, lo1, hi0^c3^k1, lo0
		k0 += philoxW0
		k1 += philoxW1
	}
	return [4]uint32{c0, c1, c2, c3}
}

// Dropout is one dropout layer's parameters: the drop probability P in [0, 1] and the layer's
// Stream, which tells the layers of one model apart. The seed and the step are run-time values
// (backend.RunState), not part of the graph.
type Dropout struct {
	P      float64
	Stream uint32
}

// Validate checks P.
func (d Dropout) Validate() error {
	if !(d.P >= 0 && d.P <= 1) {
		return fmt.Errorf("kernels: dropout probability %v not in [0, 1]: %w", d.P, ErrInvalid)
	}
	return nil
}

// Threshold is ⌊P·2²⁴⌋: an element whose 24-bit draw is below it is dropped.
func (d Dropout) Threshold() uint32 { return uint32(math.Floor(d.P * (1 << 24))) }

// Scale is 1/(1−P), the factor of a kept element (0 when P is 1: nothing is kept).
func (d Dropout) Scale() float64 {
	if d.P >= 1 {
		return 0
	}
	return 1 / (1 - d.P)
}

// MaxDropoutElems bounds a tensor's elements: the block index ⌊i/4⌋ is one 32-bit counter word.
const MaxDropoutElems = 1 << 34

// DropoutKeep reports whether element i of a tensor is kept.
func DropoutKeep(d Dropout, seed, step uint64, i int) bool {
	r := Philox4x32([4]uint32{uint32(i >> 2), uint32(step), uint32(step >> 32), d.Stream}, [2]uint32{uint32(seed), uint32(seed >> 32)})
	return r[i&3]>>8 >= d.Threshold()
}

// DropoutForward sets y = x·mask for elements off … off+len(x)−1 of a tensor (off lets the CPU
// device split a tensor over its cores; the mask depends on the element's index in the tensor).
// One Philox block serves four consecutive elements.
func DropoutForward[T Float](d Dropout, seed, step uint64, y, x []T, off int) error {
	if err := checkDropout(d, len(y), len(x), off); err != nil {
		return err
	}
	scale, thr := T(d.Scale()), d.Threshold()
	key := [2]uint32{uint32(seed), uint32(seed >> 32)}
	ctr := [4]uint32{0, uint32(step), uint32(step >> 32), d.Stream}
	y = y[:len(x)]
	x32, ok := any(x).([]float32)
	if !ok || level() < cpufeat.AVX512 {
		dropoutRange(y, x, off, 0, len(x), ctr, key, scale, thr)
		return nil
	}
	// At AVX-512 (float32), the whole steps of 64 elements from the first block boundary (element
	// index a multiple of 4) run sixteen Philox blocks at a time in assembly, the same integer
	// arithmetic; the head before it and the tail after it in Go.
	k0 := min(len(x), (4-off%4)%4)
	k1 := k0 + (len(x)-k0)&^63
	dropoutRange(y, x, off, 0, k0, ctr, key, scale, thr)
	if k1 > k0 {
		var keys [20]uint32
		for r := range 10 {
			keys[2*r], keys[2*r+1] = key[0]+uint32(r)*philoxW0, key[1]+uint32(r)*philoxW1
		}
		dropout512(&any(y).([]float32)[k0], &x32[k0], k1-k0, uint32((off+k0)>>2), (*[3]uint32)(ctr[1:]), &keys, thr, float32(scale))
	}
	dropoutRange(y, x, off, k1, len(x), ctr, key, scale, thr)
	return nil
}

// dropoutRange is DropoutForward's Go loop over elements [lo, hi) of x (element off+k of the
// tensor), one Philox block per four consecutive elements (float32: dropoutRange32).
func dropoutRange[T Float](y, x []T, off, lo, hi int, ctr [4]uint32, key [2]uint32, scale T, thr uint32) {
	if y32, ok := any(y).([]float32); ok {
		dropoutRange32(y32, any(x).([]float32), off, lo, hi, ctr, key, float32(scale), thr)
		return
	}
	for k := lo; k < hi; {
		i := off + k
		ctr[0] = uint32(i >> 2)
		r := Philox4x32(ctr, key)
		for w := i & 3; w < 4 && k < hi; w++ {
			m := scale
			if r[w]>>8 < thr {
				m = 0
			}
			y[k] = x[k] * m
			k++
		}
	}
}

// dropoutRange32 is dropoutRange for float32, where a subnormal x is taken as a zero of its sign,
// as dropout512 computes under DAZ: x·scale (scale >= 1) is then never subnormal. On the Intel
// Xeon (family 6 model 167) a multiplication with a subnormal operand takes a microcode assist:
// half-subnormal inputs made the loop 4.8x slower.
func dropoutRange32(y, x []float32, off, lo, hi int, ctr [4]uint32, key [2]uint32, scale float32, thr uint32) {
	keep := func(v float32, r uint32) float32 {
		m := scale
		if r>>8 < thr {
			m = 0
		}
		if zeroOrSubnormal(v) {
			v = zeroOf(v)
		}
		return v * m
	}
	for k := lo; k < hi; {
		i := off + k
		ctr[0] = uint32(i >> 2)
		r := Philox4x32(ctr, key)
		if i&3 == 0 && k+4 <= hi { // a whole block
			yk, xk := y[k:k+4:k+4], x[k:k+4:k+4]
			yk[0], yk[1], yk[2], yk[3] = keep(xk[0], r[0]), keep(xk[1], r[1]), keep(xk[2], r[2]), keep(xk[3], r[3])
			k += 4
			continue
		}
		for w := i & 3; w < 4 && k < hi; w++ {
			y[k] = keep(x[k], r[w])
			k++
		}
	}
}

// DropoutBackward sets dx = dy·mask with the forward's mask (same seed, step and offsets).
func DropoutBackward[T Float](d Dropout, seed, step uint64, dx, dy []T, off int) error {
	return DropoutForward(d, seed, step, dx, dy, off)
}

func checkDropout(d Dropout, ny, nx, off int) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if ny != nx {
		return fmt.Errorf("kernels: dropout: %d outputs for %d inputs: %w", ny, nx, ErrInvalid)
	}
	if off < 0 || off+nx > MaxDropoutElems {
		return fmt.Errorf("kernels: dropout: elements [%d, %d) beyond the generator's 2^34: %w", off, off+nx, ErrInvalid)
	}
	return nil
}
