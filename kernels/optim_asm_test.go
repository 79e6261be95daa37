package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// The AVX2 loops of optim_amd64.s and the AVX-512 loops of optim512_amd64.s must give the Go
// loops' float32 results bit for bit, so that a step does not depend on the CPU, on the
// instruction level, on the purego tag, nor on how the CPU backend splits a tensor over cores
// (the split moves the boundary between assembly and Go tail). These tests run Update with
// useOptimAsm off, and on at every level this CPU supports, over the same inputs and compare the
// bits of every output.

// asmUpdateCases are the configurations the assembly takes, and a few it leaves to Go (Nesterov,
// the first step) which must be unaffected.
var asmUpdateCases = []struct {
	name string
	h    UpdateParams
}{
	{"Adam", UpdateParams{Rule: RuleAdam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}},
	{"Adam with L2 weight decay", UpdateParams{Rule: RuleAdam, LR: 3e-2, WeightDecay: 0.1, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6}},
	{"AdamW", UpdateParams{Rule: RuleAdam, LR: 1e-2, DecoupledDecay: 0.05, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}},
	{"Adam with both decays and a large step", UpdateParams{Rule: RuleAdam, LR: 0.7, WeightDecay: 0.3, DecoupledDecay: 0.2, Beta1: 0.5, Beta2: 0.75, Eps: 1e-3}},
	{"Adam with AMSGrad", UpdateParams{Rule: RuleAdam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, AMSGrad: true}},
	{"AdamW with AMSGrad", UpdateParams{Rule: RuleAdam, LR: 1e-2, WeightDecay: 0.01, DecoupledDecay: 0.1, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, AMSGrad: true}},
	{"SGD with momentum", UpdateParams{Rule: RuleSGD, LR: 0.1, Momentum: 0.9}},
	{"SGD with momentum and dampening", UpdateParams{Rule: RuleSGD, LR: 0.05, Momentum: 0.8, Dampening: 0.3}},
	{"SGD with momentum and L2 weight decay", UpdateParams{Rule: RuleSGD, LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4}},
	{"SGD with momentum and decoupled decay", UpdateParams{Rule: RuleSGD, LR: 0.3, Momentum: 0.9, Dampening: 0.1, DecoupledDecay: 0.5}},
	{"SGD with Nesterov momentum (Go only)", UpdateParams{Rule: RuleSGD, LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-2}},
	{"SGD on its first step (Go only)", UpdateParams{Rule: RuleSGD, LR: 0.1, Momentum: 0.9, FirstStep: true}},
	{"RMSProp", UpdateParams{Rule: RuleRMSProp, LR: 1e-2, Alpha: 0.99, Eps: 1e-8}},
	{"RMSProp with L2 weight decay", UpdateParams{Rule: RuleRMSProp, LR: 0.3, Alpha: 0.9, Eps: 1e-6, WeightDecay: 0.1}},
	{"RMSProp with decoupled decay", UpdateParams{Rule: RuleRMSProp, LR: 0.05, Alpha: 0.99, Eps: 1e-8, DecoupledDecay: 0.2}},
	{"RMSProp with momentum (Go only)", UpdateParams{Rule: RuleRMSProp, LR: 1e-2, Alpha: 0.99, Eps: 1e-8, Momentum: 0.9}},
	{"centered RMSProp (Go only)", UpdateParams{Rule: RuleRMSProp, LR: 1e-2, Alpha: 0.99, Eps: 1e-8, Centered: true}},
}

// asmLengths covers every tail length, lengths below one vector, and a few thousands.
func asmLengths() []int {
	var ns []int
	for n := 0; n <= 40; n++ {
		ns = append(ns, n)
	}
	return append(ns, 1000, 4093, 4096, 6007)
}

// drawAsm fills s with a mix meant to reach every rounding path: normal values over a wide range
// of magnitudes, both zeros, subnormals, values near the float32 limits, and infinities.
func drawAsm(rng *rand.Rand, s []float32, nonNegative bool) {
	for i := range s {
		var x float32
		switch r := rng.IntN(20); {
		case r == 0:
			x = 0
		case r == 1:
			x = float32(math.Copysign(0, -1))
		case r == 2:
			x = math.Float32frombits(rng.Uint32N(1 << 23)) // subnormal
		case r == 3:
			x = float32(rng.Float64() * 1e-38)
		case r == 4:
			x = float32(rng.Float64() * 3e38)
		case r == 5:
			x = float32(math.Inf(1))
		case r < 10:
			x = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(60)-30)))
		default:
			x = float32(rng.NormFloat64())
		}
		if rng.IntN(2) == 0 {
			x = -x
		}
		if nonNegative {
			x = float32(math.Abs(float64(x)))
		}
		s[i] = x
	}
}

// asmInputs is one draw of a parameter, its gradient and its state, each slice starting at its
// own offset 0..7 elements into a larger allocation, so that loads are unaligned.
type asmInputs struct {
	p, g  []float32
	state [][]float32
}

func newAsmInputs(rng *rand.Rand, h UpdateParams, n int) asmInputs {
	slice := func(nonNegative bool) []float32 {
		off := rng.IntN(8)
		s := make([]float32, off+n+rng.IntN(8))[off : off+n]
		drawAsm(rng, s, nonNegative)
		return s
	}
	in := asmInputs{p: slice(false), g: slice(false)}
	for k := range StateCount(h) {
		// Adam's v and vmax are sums of squares; a negative one is a NaN path worth a few draws too.
		in.state = append(in.state, slice(h.Rule == RuleAdam && k > 0 && rng.IntN(4) != 0))
	}
	return in
}

func (in asmInputs) clone() asmInputs {
	out := asmInputs{p: append([]float32(nil), in.p...), g: append([]float32(nil), in.g...)}
	for _, s := range in.state {
		out.state = append(out.state, append([]float32(nil), s...))
	}
	return out
}

// update runs Update on elements [lo, hi) of in, with or without the assembly.
func (in asmInputs) update(t *testing.T, h UpdateParams, lo, hi int, asm bool) {
	t.Helper()
	defer func(old bool) { useOptimAsm = old }(useOptimAsm)
	useOptimAsm = asm
	st := make([][]float32, len(in.state))
	for k, s := range in.state {
		st[k] = s[lo:hi]
	}
	require.NoError(t, Update(h, in.p[lo:hi], in.g[lo:hi], st...))
}

// requireSameBits fails at the first element whose bits differ, naming the tensor.
func requireSameBits(t *testing.T, want, got asmInputs, what string) {
	t.Helper()
	check := func(name string, w, g []float32) {
		t.Helper()
		for i := range w {
			if math.Float32bits(w[i]) != math.Float32bits(g[i]) {
				require.Failf(t, what, "%s[%d]: got %v (%#08x), want %v (%#08x)", name, i,
					g[i], math.Float32bits(g[i]), w[i], math.Float32bits(w[i]))
			}
		}
	}
	check("p", want.p, got.p)
	check("g", want.g, got.g)
	for k := range want.state {
		check(fmt.Sprintf("state %d", k), want.state[k], got.state[k])
	}
}

func TestOptimAsmMatchesGoLoopsBitForBit(t *testing.T) {
	if !useOptimAsm {
		t.Skip("no AVX2 assembly in this build or on this CPU, or Go fuses float32 multiply-adds (GOAMD64=v3)")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, l := range asmLevels() {
		for _, c := range asmUpdateCases {
			t.Run(fmt.Sprintf("%s in %v assembly gives the Go loop's bits", c.name, l), func(t *testing.T) {
				withLevel(t, l, func() {
					for _, step := range []int{1, 2, 10, 1000} {
						h := c.h
						h.BiasCorrection1, h.BiasCorrection2 = AdamBiasCorrections(h.Beta1, h.Beta2, step)
						for _, n := range asmLengths() {
							in := newAsmInputs(rng, h, n)
							want, got := in.clone(), in.clone()
							want.update(t, h, 0, n, false)
							got.update(t, h, 0, n, true)
							requireSameBits(t, want, got, fmt.Sprintf("step %d, n %d", step, n))
						}
					}
				})
			})
		}
	}
}

func TestOptimAsmResultsDoNotDependOnTheSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, c := range asmUpdateCases {
		t.Run(c.name+" on [0,k) then [k,n) equals one call on [0,n) at every level", func(t *testing.T) {
			for _, l := range cpufeat.Supported() {
				withLevel(t, l, func() { splitCase(t, rng, c.h) })
			}
		})
	}
}

// splitCase runs one configuration on [0,k) then [k,n) and on [0,n) at the current level.
func splitCase(t *testing.T, rng *rand.Rand, h UpdateParams) {
	h.BiasCorrection1, h.BiasCorrection2 = AdamBiasCorrections(h.Beta1, h.Beta2, 3)
	for _, n := range []int{17, 40, 1000, 4093} {
		in := newAsmInputs(rng, h, n)
		whole := in.clone()
		whole.update(t, h, 0, n, useOptimAsm)
		for _, k := range []int{1, 3, 7, 9, 15, 16, 17, n/2 | 1, n - 1} {
			split := in.clone()
			split.update(t, h, 0, k, useOptimAsm)
			split.update(t, h, k, n, useOptimAsm)
			requireSameBits(t, whole, split, fmt.Sprintf("n %d split at %d", n, k))
		}
	}
}

func TestOptimAsmKeepsNaNPayloads(t *testing.T) {
	if !useOptimAsm {
		t.Skip("no AVX2 assembly in this build or on this CPU, or Go fuses float32 multiply-adds (GOAMD64=v3)")
	}
	// Quiet NaNs with distinct payloads in every input: where two meet in one instruction the
	// result keeps the first operand's, so the assembly must order operands as the compiler does.
	// That order is the register allocator's choice (checked with go1.26.8): if this test alone
	// fails after a Go upgrade, read the scalar loop in go build -gcflags=-S output and swap the
	// operands of the instruction it names in optim_amd64.s. Finite results are unaffected.
	rng := rand.New(rand.NewPCG(15, 16))
	for _, c := range asmUpdateCases {
		t.Run(c.name+" propagates the same NaN as the Go loop at every level", func(t *testing.T) {
			h := c.h
			h.BiasCorrection1, h.BiasCorrection2 = AdamBiasCorrections(h.Beta1, h.Beta2, 5)
			in := newAsmInputs(rng, h, 1024)
			all := append([][]float32{in.p, in.g}, in.state...)
			for k, s := range all {
				for i := range s {
					if rng.IntN(3) == 0 {
						s[i] = math.Float32frombits(0x7fc00000 | uint32(k+1)<<16 | rng.Uint32N(1<<16))
					}
				}
			}
			want := in.clone()
			want.update(t, h, 0, len(in.p), false)
			for _, l := range asmLevels() {
				got := in.clone()
				withLevel(t, l, func() { got.update(t, h, 0, len(in.p), true) })
				requireSameBits(t, want, got, l.String()+" with NaN inputs")
			}
		})
	}
}

func TestOptimAsmDoesNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, c := range asmUpdateCases {
		h := c.h
		h.BiasCorrection1, h.BiasCorrection2 = AdamBiasCorrections(h.Beta1, h.Beta2, 1)
		in := newAsmInputs(rng, h, 100)
		allocs := testing.AllocsPerRun(10, func() { _ = Update(h, in.p, in.g, in.state...) })
		assert.Zero(t, allocs, c.name)
	}
}

// BenchmarkOptimAsm times one core's update of 1M float32 parameters, the assembly against the
// Go loop in the same process. GB/s counts the bytes each rule reads and writes.
func BenchmarkOptimAsm(b *testing.B) {
	const n = 1 << 20
	rng := rand.New(rand.NewPCG(19, 20))
	cases := []struct {
		name  string
		h     UpdateParams
		bytes int
	}{
		{"adam", UpdateParams{Rule: RuleAdam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, BiasCorrection1: 0.1, BiasCorrection2: 0.001}, 28},
		{"adam-amsgrad", UpdateParams{Rule: RuleAdam, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, BiasCorrection1: 0.1, BiasCorrection2: 0.001, AMSGrad: true}, 36},
		{"momentum", UpdateParams{Rule: RuleSGD, LR: 1e-3, Momentum: 0.9}, 20},
		{"momentum-wd", UpdateParams{Rule: RuleSGD, LR: 1e-3, Momentum: 0.9, WeightDecay: 1e-4}, 20},
		{"rmsprop", UpdateParams{Rule: RuleRMSProp, LR: 1e-2, Alpha: 0.99, Eps: 1e-8}, 20},
	}
	for _, c := range cases {
		p, g := make([]float32, n), make([]float32, n)
		st := make([][]float32, StateCount(c.h))
		for i := range p {
			p[i], g[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		for k := range st {
			st[k] = make([]float32, n)
		}
		for _, l := range cpufeat.Supported() {
			if l > cpufeat.Generic && !useOptimAsm {
				continue
			}
			b.Run(c.name+"/"+l.String(), func(b *testing.B) {
				withLevel(b, l, func() {
					b.SetBytes(int64(c.bytes * n))
					done := cpuTimer(b)
					for b.Loop() {
						if err := Update(c.h, p, g, st...); err != nil {
							b.Fatal(err)
						}
					}
					done()
				})
				b.ReportMetric(float64(c.bytes*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	}
}
