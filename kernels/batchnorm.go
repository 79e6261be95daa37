package kernels

import (
	"fmt"
	"math"
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
	var s float64
	for n := 0; n < b.N; n++ {
		for _, v := range x[(n*b.C+c)*b.Inner : (n*b.C+c+1)*b.Inner] {
			s += float64(v)
		}
	}
	mean = s / float64(b.M())
	var q float64
	for n := 0; n < b.N; n++ {
		for _, v := range x[(n*b.C+c)*b.Inner : (n*b.C+c+1)*b.Inner] {
			d := float64(v) - mean
			q += d * d
		}
	}
	return mean, q / float64(b.M())
}

// stats returns channel c's mean and 1/√(σ²+Eps): the batch's in training, the running ones in
// evaluation.
func stats[T Float](b BatchNorm, x, rmean, rvar []T, c int) (mean, invstd float64) {
	if b.Train {
		m, v := BatchStats(b, x, c)
		return m, 1 / math.Sqrt(v+b.Eps)
	}
	return float64(rmean[c]), 1 / math.Sqrt(float64(rvar[c])+b.Eps)
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
	for c := c0; c < c1; c++ {
		var mean, invstd float64
		if b.Train {
			var v float64
			mean, v = BatchStats(b, x, c)
			invstd = 1 / math.Sqrt(v+b.Eps)
			m := float64(b.M())
			rmean[c] = T((1-b.Momentum)*float64(rmean[c]) + b.Momentum*mean)
			rvar[c] = T((1-b.Momentum)*float64(rvar[c]) + b.Momentum*v*m/(m-1))
		} else {
			mean, invstd = stats(b, x, rmean, rvar, c)
		}
		scale := float64(gamma[c]) * invstd
		shift := float64(beta[c]) - mean*scale
		for n := 0; n < b.N; n++ {
			at := (n*b.C + c) * b.Inner
			dst, src := y[at:at+b.Inner], x[at:at+b.Inner]
			for i, v := range src {
				dst[i] = T(float64(v)*scale + shift)
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
	for c := c0; c < c1; c++ {
		mean, invstd := stats(b, x, rmean, rvar, c)
		g := float64(gamma[c]) * invstd
		var sdy, sdyx float64
		if b.Train {
			for n := 0; n < b.N; n++ {
				at := (n*b.C + c) * b.Inner
				xs, ds := x[at:at+b.Inner], dy[at:at+b.Inner]
				for i, d := range ds {
					sdy += float64(d)
					sdyx += float64(d) * (float64(xs[i]) - mean) * invstd
				}
			}
		}
		mdy, mdyx := sdy/m, sdyx/m
		for n := 0; n < b.N; n++ {
			at := (n*b.C + c) * b.Inner
			xs, ds, out := x[at:at+b.Inner], dy[at:at+b.Inner], dx[at:at+b.Inner]
			for i, d := range ds {
				if !b.Train {
					out[i] = T(float64(d) * g)
					continue
				}
				xh := (float64(xs[i]) - mean) * invstd
				out[i] = T(g * (float64(d) - mdy - xh*mdyx))
			}
		}
	}
	return nil
}

// BatchNormBackwardGamma sets dγ[c] = Σ dy·x̂ for the channels [c0, c1) (the statistics as in
// the forward pass of the same mode). dβ is ChannelSum of dy.
func BatchNormBackwardGamma[T Float](b BatchNorm, dgamma, x, rmean, rvar, dy []T, c0, c1 int) error {
	if err := b.check("BatchNormBackwardGamma", c0, c1, [2]int{len(dgamma), b.C}, [2]int{len(x), b.Len()},
		[2]int{len(dy), b.Len()}, [2]int{len(rmean), b.C}, [2]int{len(rvar), b.C}); err != nil {
		return err
	}
	for c := c0; c < c1; c++ {
		mean, invstd := stats(b, x, rmean, rvar, c)
		var s float64
		for n := 0; n < b.N; n++ {
			at := (n*b.C + c) * b.Inner
			xs, ds := x[at:at+b.Inner], dy[at:at+b.Inner]
			for i, d := range ds {
				s += float64(d) * (float64(xs[i]) - mean) * invstd
			}
		}
		dgamma[c] = T(s)
	}
	return nil
}
