package kernels

import (
	"fmt"
	"math"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// BatchNorm is batch normalisation over the channels of x viewed as [N, C, Inner], with
// PyTorch's BatchNorm1d (x [N, C], Inner = 1) and BatchNorm2d (x [N, C, H, W], Inner = H·W)
// semantics:
//
//	y = (x − μ) / √(σ² + Eps) · γ + β
//
// In training μ and σ² are the batch statistics of each channel over its M = N·Inner elements
// (σ² the biased variance, Σ(x−μ)²/M), and the running statistics are updated in place:
// running_mean ← (1−Momentum)·running_mean + Momentum·μ and running_var likewise with the
// unbiased variance Σ(x−μ)²/(M−1). In evaluation μ and σ² are the running statistics. PyTorch's
// defaults are Momentum 0.1 and Eps 1e-5; the running statistics start at 0 and 1.
//
// Every sum is taken in float64, two-pass (the mean, then the squared deviations). The backward
// pass recomputes the batch statistics from x instead of keeping them from the forward pass, so
// the graph carries no hidden state between the two.
type BatchNorm struct {
	N, C, Inner   int
	Eps, Momentum float64
	Train         bool
}

// M is the number of elements per channel, N·Inner.
func (b BatchNorm) M() int { return b.N * b.Inner }

// Len is N·C·Inner.
func (b BatchNorm) Len() int { return b.N * b.C * b.Inner }

// String names the geometry and the mode.
func (b BatchNorm) String() string {
	mode := "eval"
	if b.Train {
		mode = "train"
	}
	return fmt.Sprintf("batchnorm(%dx%dx%d, eps %g, momentum %g, %s)", b.N, b.C, b.Inner, b.Eps, b.Momentum, mode)
}

// Validate checks the sizes, Eps ≥ 0, Momentum in [0, 1], and, in training, more than one element
// per channel (PyTorch: "Expected more than 1 value per channel when training").
func (b BatchNorm) Validate() error {
	switch {
	case b.N <= 0 || b.C <= 0 || b.Inner <= 0:
		return fmt.Errorf("kernels: %v: sizes must be positive: %w", b, ErrInvalid)
	case !(b.Eps >= 0) || math.IsInf(b.Eps, 0):
		return fmt.Errorf("kernels: %v: eps must be finite and >= 0: %w", b, ErrInvalid)
	case !(b.Momentum >= 0 && b.Momentum <= 1):
		return fmt.Errorf("kernels: %v: momentum must be in [0, 1]: %w", b, ErrInvalid)
	case b.Train && b.M() < 2:
		return fmt.Errorf("kernels: %v: training needs more than one value per channel: %w", b, ErrInvalid)
	}
	return nil
}

func (b BatchNorm) check(op string, c0, c1 int, lens ...[2]int) error {
	if err := b.Validate(); err != nil {
		return err
	}
	for _, l := range lens {
		if l[0] != l[1] {
			return fmt.Errorf("kernels: %s: a tensor has %d elements, want %d, for %v: %w", op, l[0], l[1], b, ErrInvalid)
		}
	}
	if c0 < 0 || c1 > b.C || c0 > c1 {
		return fmt.Errorf("kernels: %s: channels [%d, %d) of %d: %w", op, c0, c1, b.C, ErrInvalid)
	}
	return nil
}

// BatchStats returns the mean and the biased variance of channel c of x, in float64.
func BatchStats[T Float](b BatchNorm, x []T, c int) (mean, variance float64) {
	m, v := batchStats8(b, x, c, c+1)
	return m[0], v[0]
}

// bnFused: the assembly multiplies and adds in separate roundings (no FMA), and the Go loops
// convert every product to float64 before adding it, which the language defines as a rounding
// that a compiler may not fuse away: a GOAMD64=v3 build would otherwise compile x*y + z into an
// FMA and the Go loops' bits (the tails, the levels below AVX-512) would no longer be the
// assembly's.
//
// The channel loops below work on eight channels at a time. Each channel's sums are still one
// float64 chain over its elements in order, so every result has the bits it had one channel at a
// time, but independent chains keep the adder busy where one waits out its latency on every
// element (a channel's statistics were a fifth of a cnn training step): at AVX-512, for float32,
// one lane each of the loops of bnchain512_amd64.s; elsewhere two groups of four scalar chains. A
// group that runs past the last channel c1−1 repeats it in its lanes; those are computed and
// dropped (the scalar loops skip a second group of four that would be all repeats).

// simd8 returns x as float32 where the AVX-512 loops take it: float32 rows of at least 8 elements.
func simd8[T Float](b BatchNorm, x []T) ([]float32, bool) {
	x32, ok := any(x).([]float32)
	return x32, ok && b.Inner >= 8 && level() >= cpufeat.AVX512
}

// simdPair is simd8 for an output and an input of the same type: both as float32 where the
// AVX-512 loops take them.
func simdPair[T Float](b BatchNorm, dst, x []T) (d32, x32 []float32, ok bool) {
	x32, ok = simd8(b, x)
	if ok {
		d32 = any(dst).([]float32)
	}
	return d32, x32, ok
}

// lanes8 returns, for the eight lanes from channel c (clamped below c1), the offset of each
// lane's row from channel c's row, in elements.
func lanes8(b BatchNorm, c, c1 int) (off [8]int) {
	for k := range off {
		off[k] = (min(c+k, c1-1) - c) * b.Inner
	}
	return off
}

// sum8 returns Σ float64(x) over the eight channels from c.
func sum8[T Float](b BatchNorm, x []T, c, c1 int) (s [8]float64) {
	if x32, ok := simd8(b, x); ok {
		// Per image: the first n8 elements of the eight rows in assembly, then each lane's tail.
		off, n8 := lanes8(b, c, c1), b.Inner&^7
		for n := 0; n < b.N; n++ {
			at := (n*b.C + c) * b.Inner
			bnSum512(&s, &x32[at], &off, n8)
			for k, o := range off {
				for _, v := range x32[at+o+n8 : at+o+b.Inner] {
					s[k] += float64(v)
				}
			}
		}
		return s
	}
	for h := 0; h < 8 && c+h < c1; h += 4 {
		r := sum4(b, x, c+h, c1)
		copy(s[h:], r[:])
	}
	return s
}

// sq8 returns Σ (float64(x) − mean)² over the eight channels from c.
func sq8[T Float](b BatchNorm, x []T, c, c1 int, mean [8]float64) (q [8]float64) {
	if x32, ok := simd8(b, x); ok {
		off, n8 := lanes8(b, c, c1), b.Inner&^7
		for n := 0; n < b.N; n++ {
			at := (n*b.C + c) * b.Inner
			bnSq512(&q, &x32[at], &off, n8, &mean)
			for k, o := range off {
				for _, v := range x32[at+o+n8 : at+o+b.Inner] {
					d := float64(v) - mean[k]
					q[k] += float64(d * d) // the conversions keep a GOAMD64=v3 build from fusing (see bnFused)
				}
			}
		}
		return q
	}
	for h := 0; h < 8 && c+h < c1; h += 4 {
		r := sq4(b, x, c+h, c1, [4]float64(mean[h:]))
		copy(q[h:], r[:])
	}
	return q
}

// dyx8 returns Σ dy (where withDy; the assembly computes it always, at no cost) and
// Σ dy·(x−μ)·invstd over the eight channels from c.
func dyx8[T Float](b BatchNorm, x, dy []T, c, c1 int, mean, invstd [8]float64, withDy bool) (sdy, sdyx [8]float64) {
	if x32, ok := simd8(b, x); ok {
		dy32 := any(dy).([]float32)
		var acc [16]float64
		off, n8 := lanes8(b, c, c1), b.Inner&^7
		for n := 0; n < b.N; n++ {
			at := (n*b.C + c) * b.Inner
			bnDyx512(&acc, &x32[at], &dy32[at], &off, n8, &mean, &invstd)
			for k, o := range off {
				xs, ds := x32[at+o+n8:at+o+b.Inner], dy32[at+o+n8:at+o+b.Inner]
				for i, d := range ds {
					acc[k] += float64(d)
					acc[8+k] += float64(float64(d) * (float64(xs[i]) - mean[k]) * invstd[k])
				}
			}
		}
		return [8]float64(acc[:8]), [8]float64(acc[8:])
	}
	for h := 0; h < 8 && c+h < c1; h += 4 {
		a, e := dyx4(b, x, dy, c+h, c1, [4]float64(mean[h:]), [4]float64(invstd[h:]), withDy)
		copy(sdy[h:], a[:])
		copy(sdyx[h:], e[:])
	}
	return sdy, sdyx
}

// batchStats8 is BatchStats for the eight channels from c.
func batchStats8[T Float](b BatchNorm, x []T, c, c1 int) (mean, variance [8]float64) {
	m := float64(b.M())
	s := sum8(b, x, c, c1)
	for k := range s {
		mean[k] = s[k] / m
	}
	q := sq8(b, x, c, c1, mean)
	for k := range q {
		variance[k] = q[k] / m
	}
	return mean, variance
}

// stats8 returns the mean and 1/√(σ²+Eps) of the eight channels from c: the batch's in training,
// the running ones in evaluation.
func stats8[T Float](b BatchNorm, x, rmean, rvar []T, c, c1 int) (mean, invstd [8]float64) {
	if b.Train {
		m, v := batchStats8(b, x, c, c1)
		for k := range v {
			invstd[k] = 1 / math.Sqrt(v[k]+b.Eps)
		}
		return m, invstd
	}
	for k := range mean {
		ch := min(c+k, c1-1)
		mean[k], invstd[k] = float64(rmean[ch]), 1/math.Sqrt(float64(rvar[ch])+b.Eps)
	}
	return mean, invstd
}

// rows4 returns image n's rows of the four channels from c, clamped below c1, each Inner long:
// the scalar loops' groups.
func rows4[T Float](b BatchNorm, x []T, n, c, c1 int) (r0, r1, r2, r3 []T) {
	row := func(k int) []T {
		at := (n*b.C + min(c+k, c1-1)) * b.Inner
		return x[at : at+b.Inner]
	}
	return row(0), row(1), row(2), row(3)
}

// sum4 is sum8 for four channels, in scalar chains.
func sum4[T Float](b BatchNorm, x []T, c, c1 int) (s [4]float64) {
	var s0, s1, s2, s3 float64
	for n := 0; n < b.N; n++ {
		r0, r1, r2, r3 := rows4(b, x, n, c, c1)
		r1, r2, r3 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)]
		for i, v := range r0 {
			s0 += float64(v)
			s1 += float64(r1[i])
			s2 += float64(r2[i])
			s3 += float64(r3[i])
		}
	}
	return [4]float64{s0, s1, s2, s3}
}

// sq4 is sq8 for four channels, in scalar chains.
func sq4[T Float](b BatchNorm, x []T, c, c1 int, mean [4]float64) [4]float64 {
	var q0, q1, q2, q3 float64
	for n := 0; n < b.N; n++ {
		r0, r1, r2, r3 := rows4(b, x, n, c, c1)
		r1, r2, r3 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)]
		for i, v := range r0 {
			d0 := float64(v) - mean[0]
			d1 := float64(r1[i]) - mean[1]
			d2 := float64(r2[i]) - mean[2]
			d3 := float64(r3[i]) - mean[3]
			q0 += float64(d0 * d0)
			q1 += float64(d1 * d1)
			q2 += float64(d2 * d2)
			q3 += float64(d3 * d3)
		}
	}
	return [4]float64{q0, q1, q2, q3}
}

// dyx4 is dyx8 for four channels, in scalar chains (Σ dy only where withDy: the γ gradient does
// not need it). The two sums are separate loops over each
// image's rows (in L1 for the second), because their eight accumulators and the temporaries of
// one loop do not fit the 15 registers, and a spilled accumulator puts a store and a load in its
// chain.
func dyx4[T Float](b BatchNorm, x, dy []T, c, c1 int, mean, invstd [4]float64, withDy bool) (sdy, sdyx [4]float64) {
	var a0, a1, a2, a3, e0, e1, e2, e3 float64
	for n := 0; n < b.N; n++ {
		x0, x1, x2, x3 := rows4(b, x, n, c, c1)
		d0, d1, d2, d3 := rows4(b, dy, n, c, c1)
		x0, x1, x2, x3 = x0[:len(d0)], x1[:len(d0)], x2[:len(d0)], x3[:len(d0)]
		d1, d2, d3 = d1[:len(d0)], d2[:len(d0)], d3[:len(d0)]
		if withDy {
			for i, d := range d0 {
				a0 += float64(d)
				a1 += float64(d1[i])
				a2 += float64(d2[i])
				a3 += float64(d3[i])
			}
		}
		for i, d := range d0 {
			e0 += float64(float64(d) * (float64(x0[i]) - mean[0]) * invstd[0])
			e1 += float64(float64(d1[i]) * (float64(x1[i]) - mean[1]) * invstd[1])
			e2 += float64(float64(d2[i]) * (float64(x2[i]) - mean[2]) * invstd[2])
			e3 += float64(float64(d3[i]) * (float64(x3[i]) - mean[3]) * invstd[3])
		}
	}
	return [4]float64{a0, a1, a2, a3}, [4]float64{e0, e1, e2, e3}
}

// BatchNormForward sets y for the channels [c0, c1) (the CPU device splits the channels over its
// cores; each channel is one goroutine's, so the bits do not depend on the split) and, in
// training, updates rmean and rvar of those channels in place. y = T(x·scale + shift) with
// scale = γ/√(σ²+Eps) and shift = β − μ·scale in float64.
func BatchNormForward[T Float](b BatchNorm, y, x, gamma, beta, rmean, rvar []T, c0, c1 int) error {
	if err := b.check("BatchNormForward", c0, c1, [2]int{len(y), b.Len()}, [2]int{len(x), b.Len()},
		[2]int{len(gamma), b.C}, [2]int{len(beta), b.C}, [2]int{len(rmean), b.C}, [2]int{len(rvar), b.C}); err != nil {
		return err
	}
	for g := c0; g < c1; g += 8 {
		var means, vars, invstds [8]float64
		if b.Train {
			means, vars = batchStats8(b, x, g, c1)
		} else {
			means, invstds = stats8(b, x, rmean, rvar, g, c1)
		}
		for c := g; c < min(g+8, c1); c++ {
			mean, invstd := means[c-g], invstds[c-g]
			if b.Train {
				v := vars[c-g]
				invstd = 1 / math.Sqrt(v+b.Eps)
				m := float64(b.M())
				rmean[c] = T((1-b.Momentum)*float64(rmean[c]) + b.Momentum*mean)
				rvar[c] = T((1-b.Momentum)*float64(rvar[c]) + b.Momentum*v*m/(m-1))
			}
			scale := float64(gamma[c]) * invstd
			shift := float64(beta[c]) - mean*scale
			y32, x32, simd := simdPair(b, y, x)
			for n := 0; n < b.N; n++ {
				at := (n*b.C + c) * b.Inner
				i0 := 0
				if simd {
					i0 = b.Inner &^ 7
					bnAffine512(&y32[at], &x32[at], i0, scale, shift)
				}
				dst, src := y[at+i0:at+b.Inner], x[at+i0:at+b.Inner]
				for i, v := range src {
					dst[i] = T(float64(float64(v)*scale) + shift)
				}
			}
		}
	}
	return nil
}

// BatchNormBackwardInput sets dx = ∂⟨dy, y⟩/∂x for the channels [c0, c1). In training (through
// the batch statistics) dx = γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)) with x̂ = (x−μ)·invstd;
// in evaluation dx = γ·invstd·dy with the running statistics.
func BatchNormBackwardInput[T Float](b BatchNorm, dx, x, gamma, rmean, rvar, dy []T, c0, c1 int) error {
	if err := b.check("BatchNormBackwardInput", c0, c1, [2]int{len(dx), b.Len()}, [2]int{len(x), b.Len()},
		[2]int{len(dy), b.Len()}, [2]int{len(gamma), b.C}, [2]int{len(rmean), b.C}, [2]int{len(rvar), b.C}); err != nil {
		return err
	}
	m := float64(b.M())
	for c8 := c0; c8 < c1; c8 += 8 {
		means, invstds := stats8(b, x, rmean, rvar, c8, c1)
		var sdys, sdyxs [8]float64
		if b.Train {
			sdys, sdyxs = dyx8(b, x, dy, c8, c1, means, invstds, true)
		}
		for c := c8; c < min(c8+8, c1); c++ {
			mean, invstd := means[c-c8], invstds[c-c8]
			g := float64(gamma[c]) * invstd
			mdy, mdyx := sdys[c-c8]/m, sdyxs[c-c8]/m
			bnBackwardInputChannel(b, dx, x, dy, c, mean, invstd, g, mdy, mdyx)
		}
	}
	return nil
}

// BatchNormBackwardInputGamma sets dx as BatchNormBackwardInput does and dγ as
// BatchNormBackwardGamma does, for the channels [c0, c1), in one pass over x and dy in training:
// dγ[c] is the input gradient's Σ dy·x̂, the same sum in the same order, so the bits are those
// of the two calls; their statistics and sums are computed once instead of twice. In
// evaluation the input gradient needs no sums, and this is the two calls.
func BatchNormBackwardInputGamma[T Float](b BatchNorm, dx, dgamma, x, gamma, rmean, rvar, dy []T, c0, c1 int) error {
	if err := b.check("BatchNormBackwardInputGamma", c0, c1, [2]int{len(dx), b.Len()}, [2]int{len(dgamma), b.C},
		[2]int{len(x), b.Len()}, [2]int{len(dy), b.Len()}, [2]int{len(gamma), b.C}, [2]int{len(rmean), b.C}, [2]int{len(rvar), b.C}); err != nil {
		return err
	}
	if !b.Train {
		if err := BatchNormBackwardInput(b, dx, x, gamma, rmean, rvar, dy, c0, c1); err != nil {
			return err
		}
		return BatchNormBackwardGamma(b, dgamma, x, rmean, rvar, dy, c0, c1)
	}
	m := float64(b.M())
	for c8 := c0; c8 < c1; c8 += 8 {
		means, invstds := stats8(b, x, rmean, rvar, c8, c1)
		sdys, sdyxs := dyx8(b, x, dy, c8, c1, means, invstds, true)
		for c := c8; c < min(c8+8, c1); c++ {
			mean, invstd := means[c-c8], invstds[c-c8]
			g := float64(gamma[c]) * invstd
			mdy, mdyx := sdys[c-c8]/m, sdyxs[c-c8]/m
			bnBackwardInputChannel(b, dx, x, dy, c, mean, invstd, g, mdy, mdyx)
			dgamma[c] = T(sdyxs[c-c8])
		}
	}
	return nil
}

// bnBackwardInputChannel writes channel c of dx from its statistics and sums.
func bnBackwardInputChannel[T Float](b BatchNorm, dx, x, dy []T, c int, mean, invstd, g, mdy, mdyx float64) {
	dx32, x32, simd := simdPair(b, dx, x)
	simd = simd && b.Train // evaluation's dy·g stays in Go (the loop's −0 is not x·g + 0's)
	var dy32 []float32
	if simd {
		dy32 = any(dy).([]float32)
	}
	p := [5]float64{mean, invstd, g, mdy, mdyx}
	for n := 0; n < b.N; n++ {
		at := (n*b.C + c) * b.Inner
		i0 := 0
		if simd {
			i0 = b.Inner &^ 7
			bnInput512(&dx32[at], &x32[at], &dy32[at], i0, &p)
		}
		xs, ds, out := x[at+i0:at+b.Inner], dy[at+i0:at+b.Inner], dx[at+i0:at+b.Inner]
		for i, d := range ds {
			if !b.Train {
				out[i] = T(float64(d) * g)
				continue
			}
			xh := (float64(xs[i]) - mean) * invstd
			out[i] = T(g * (float64(d) - mdy - float64(xh*mdyx)))
		}
	}
}

// BatchNormBackwardGamma sets dγ[c] = Σ dy·x̂ for the channels [c0, c1) (the statistics as in
// the forward pass of the same mode). dβ is ChannelSum of dy.
func BatchNormBackwardGamma[T Float](b BatchNorm, dgamma, x, rmean, rvar, dy []T, c0, c1 int) error {
	if err := b.check("BatchNormBackwardGamma", c0, c1, [2]int{len(dgamma), b.C}, [2]int{len(x), b.Len()},
		[2]int{len(dy), b.Len()}, [2]int{len(rmean), b.C}, [2]int{len(rvar), b.C}); err != nil {
		return err
	}
	for c8 := c0; c8 < c1; c8 += 8 {
		means, invstds := stats8(b, x, rmean, rvar, c8, c1)
		_, s := dyx8(b, x, dy, c8, c1, means, invstds, false)
		for c := c8; c < min(c8+8, c1); c++ {
			dgamma[c] = T(s[c-c8])
		}
	}
	return nil
}
