package kernels

import (
	"fmt"
	"hash/fnv"
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

// rmspropPlain is plain RMSProp's loop as package optim's rmsprop runs it (RMSPropPlain), under
// a Rule of this test: scalars alpha, eps, momentum (0), lr, weight decay, 1-alpha, as optim's.
var rmspropPlain = &Rule{Name: "rmsprop-plain",
	F32: func(s *Step, p, g []float32, st [MaxStates][]float32) {
		RMSPropPlain(p, g, st[0], float32(s.S[0]), float32(s.S[5]), float32(s.S[1]), float32(s.S[3]), float32(s.S[4]))
	},
	F64: func(s *Step, p, g []float64, st [MaxStates][]float64) {
		RMSPropPlain(p, g, st[0], s.S[0], s.S[5], s.S[1], s.S[3], s.S[4])
	},
}

// nadamTest is NAdam's loop as package optim's nadam runs it (NAdamLoop), under a Rule of this
// test: scalars β1, β2, eps, 1/bc2, cg, cm, weight decay, 1-lr·decoupled, 1-β1, 1-β2, as optim's.
var nadamTest = &Rule{Name: "nadam",
	F32: func(s *Step, p, g []float32, st [MaxStates][]float32) {
		f := func(i int) float32 { return float32(s.S[i]) }
		NAdamLoop(p, g, st[0], st[1], f(7), f(6), f(0), f(8), f(1), f(9), f(4), f(3), f(2), f(5))
	},
	F64: func(s *Step, p, g []float64, st [MaxStates][]float64) {
		NAdamLoop(p, g, st[0], st[1], s.S[7], s.S[6], s.S[0], s.S[8], s.S[1], s.S[9], s.S[4], s.S[3], s.S[2], s.S[5])
	},
}

// radamTest is RAdam's loop as package optim's radam runs it (RAdamLoop), under a Rule of this
// test: scalars β1, β2, step, √bc2, eps, weight decay, 1-lr·decoupled, 1-β1, 1-β2, as optim's.
var radamTest = &Rule{Name: "radam",
	F32: func(s *Step, p, g []float32, st [MaxStates][]float32) {
		f := func(i int) float32 { return float32(s.S[i]) }
		RAdamLoop(p, g, st[0], st[1], f(6), f(5), f(0), f(7), f(1), f(8), f(2), f(3), f(4), s.Flags&FlagRectified != 0)
	},
	F64: func(s *Step, p, g []float64, st [MaxStates][]float64) {
		RAdamLoop(p, g, st[0], st[1], s.S[6], s.S[5], s.S[0], s.S[7], s.S[1], s.S[8], s.S[2], s.S[3], s.S[4], s.Flags&FlagRectified != 0)
	},
}

// adamaxTest is Adamax's loop as package optim's adamax runs it (AdamaxLoop), under a Rule of
// this test: scalars β1, 1-β1, β2, eps, lr/bc1, weight decay, as optim's.
var adamaxTest = &Rule{Name: "adamax",
	F32: func(s *Step, p, g []float32, st [MaxStates][]float32) {
		f := func(i int) float32 { return float32(s.S[i]) }
		AdamaxLoop(p, g, st[0], st[1], f(0), f(1), f(2), f(3), f(4), f(5))
	},
	F64: func(s *Step, p, g []float64, st [MaxStates][]float64) {
		AdamaxLoop(p, g, st[0], st[1], s.S[0], s.S[1], s.S[2], s.S[3], s.S[4], s.S[5])
	},
}

// lionTest is Lion's loop as package optim's lion runs it (LionLoop), under a Rule of this test:
// scalars β1, 1-β1, β2, 1-β2, lr, 1-lr·decoupled decay, as optim's.
var lionTest = &Rule{Name: "lion",
	F32: func(s *Step, p, g []float32, st [MaxStates][]float32) {
		f := func(i int) float32 { return float32(s.S[i]) }
		LionLoop(p, g, st[0], f(0), f(1), f(2), f(3), f(4), f(5))
	},
	F64: func(s *Step, p, g []float64, st [MaxStates][]float64) {
		LionLoop(p, g, st[0], s.S[0], s.S[1], s.S[2], s.S[3], s.S[4], s.S[5])
	},
}

// asmCase is one configuration of a rule with an AVX2 loop: which of its optional terms are on
// (flags, L2 weight decay, decoupled decay, SGD's dampening); step fills in the scalars.
type asmCase struct {
	name          string
	rule          *Rule
	wd, dec, damp bool
	flags         uint32
}

// step fills the scalars of step t with arbitrary but plausible numbers drawn for this case and
// step, slot by slot as the rules' documentation names them (kernels.SGD, kernels.Adam,
// rmspropPlain). The test compares two loops on the same Step, so the numbers need only have the
// sizes real steps have (Adam's first steps have step sizes near lr/(1-β1) and 1/√bc2 up to
// ~30); deriving them from hyperparameters as package optim does would restate the rule here.
// A term a case leaves off holds its neutral value: weight decay 0, 1-lr·decay 1, 1-dampening 1.
func (c asmCase) step(t int) *Step {
	h := fnv.New64a()
	h.Write([]byte(c.name))
	rng := rand.New(rand.NewPCG(uint64(t), h.Sum64()))
	logU := func(lo, hi float64) float64 { return lo * math.Pow(hi/lo, rng.Float64()) }
	wd, keep, damp := 0.0, 1.0, 1.0
	if c.wd {
		wd = logU(1e-4, 0.3)
	}
	if c.dec {
		keep = 1 - logU(1e-5, 0.5)
	}
	if c.damp {
		damp = 1 - logU(0.05, 0.5)
	}
	s := &Step{Rule: c.rule, Flags: c.flags}
	switch c.rule {
	case SGD: // lr, momentum, 1-dampening, weight decay, 1-lr·decoupled decay
		s.S = [NumScalars]float64{logU(1e-3, 1), 1 - logU(1e-2, 0.5), damp, wd, keep}
		if c.flags&FlagMomentum != 0 {
			s.States = 1
		}
	case lionTest: // β1, 1-β1, β2, 1-β2, lr, 1-lr·decoupled decay
		b1, b2 := 1-logU(1e-2, 0.5), 1-logU(1e-4, 0.25)
		s.S = [NumScalars]float64{b1, 1 - b1, b2, 1 - b2, logU(1e-5, 1e-2), keep}
		s.States = 1
	case adamaxTest: // β1, 1-β1, β2, eps, lr/bc1, weight decay
		b1 := 1 - logU(1e-2, 0.5)
		s.S = [NumScalars]float64{b1, 1 - b1, 1 - logU(1e-4, 0.25), logU(1e-8, 1e-3), logU(1e-4, 0.1), wd}
		s.States = 2
	case radamTest: // β1, β2, step, √bc2, eps, weight decay, 1-lr·decoupled, 1-β1, 1-β2
		s.S = [NumScalars]float64{1 - logU(1e-2, 0.5), 1 - logU(1e-4, 0.25), logU(1e-5, 3), logU(1e-2, 1), logU(1e-8, 1e-3),
			wd, keep, logU(1e-2, 0.5), logU(1e-4, 0.25)}
		s.States = 2
	case nadamTest: // β1, β2, eps, 1/bc2, cg, cm, weight decay, 1-lr·decoupled, 1-β1, 1-β2
		s.S = [NumScalars]float64{1 - logU(1e-2, 0.5), 1 - logU(1e-4, 0.25), logU(1e-8, 1e-3), logU(1, 30),
			logU(1e-5, 0.1), logU(1e-5, 1), wd, keep, logU(1e-2, 0.5), logU(1e-4, 0.25)}
		s.States = 2
	case rmspropPlain: // alpha, eps, momentum (0), lr, weight decay, 1-alpha
		s.S = [NumScalars]float64{1 - logU(1e-3, 0.1), logU(1e-8, 1e-6), 0, logU(1e-3, 0.3), wd, logU(1e-3, 0.1)}
		s.States = 1
	default: // Adam: β1, β2, lr/bc1, 1/√bc2, eps, weight decay, 1-lr·decoupled decay, 1-β1, 1-β2
		s.S = [NumScalars]float64{1 - logU(1e-2, 0.5), 1 - logU(1e-4, 0.25), logU(1e-5, 3), logU(1, 30), logU(1e-8, 1e-3),
			wd, keep, logU(1e-2, 0.5), logU(1e-4, 0.25)}
		s.States = 2
		if c.flags&FlagAMSGrad != 0 {
			s.States = 3
		}
	}
	return s
}

// asmUpdateCases are the configurations the assembly takes, and a few it leaves to Go (Nesterov,
// the first step) which must be unaffected.
var asmUpdateCases = []asmCase{
	{name: "Adam", rule: Adam},
	{name: "Adam with L2 weight decay", rule: Adam, wd: true},
	{name: "AdamW", rule: Adam, dec: true},
	{name: "Adam with both decays", rule: Adam, wd: true, dec: true},
	{name: "Adam with AMSGrad", rule: Adam, flags: FlagAMSGrad},
	{name: "AdamW with AMSGrad", rule: Adam, wd: true, dec: true, flags: FlagAMSGrad},
	{name: "SGD", rule: SGD},
	{name: "SGD with L2 weight decay and decoupled decay", rule: SGD, wd: true, dec: true},
	{name: "SGD with momentum", rule: SGD, flags: FlagMomentum},
	{name: "SGD with momentum and dampening", rule: SGD, damp: true, flags: FlagMomentum},
	{name: "SGD with momentum and L2 weight decay", rule: SGD, wd: true, flags: FlagMomentum},
	{name: "SGD with momentum and decoupled decay", rule: SGD, damp: true, dec: true, flags: FlagMomentum},
	{name: "SGD with Nesterov momentum", rule: SGD, flags: FlagMomentum | FlagNesterov},
	{name: "SGD with Nesterov momentum, dampening and both decays", rule: SGD, wd: true, dec: true, damp: true, flags: FlagMomentum | FlagNesterov},
	{name: "SGD on its first step (Go only)", rule: SGD, flags: FlagMomentum | FlagFirstStep},
	{name: "Lion", rule: lionTest},
	{name: "Lion with decoupled decay", rule: lionTest, dec: true},
	{name: "Adamax", rule: adamaxTest},
	{name: "Adamax with weight decay", rule: adamaxTest, wd: true},
	{name: "RAdam, rectified", rule: radamTest, flags: FlagRectified},
	{name: "RAdam, not rectified, with both decays", rule: radamTest, wd: true, dec: true},
	{name: "NAdam", rule: nadamTest},
	{name: "NAdamW with L2 weight decay", rule: nadamTest, wd: true, dec: true},
	{name: "RMSProp", rule: rmspropPlain},
	{name: "RMSProp with L2 weight decay", rule: rmspropPlain, wd: true},
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

func newAsmInputs(rng *rand.Rand, h *Step, n int) asmInputs {
	slice := func(nonNegative bool) []float32 {
		off := rng.IntN(8)
		s := make([]float32, off+n+rng.IntN(8))[off : off+n]
		drawAsm(rng, s, nonNegative)
		return s
	}
	in := asmInputs{p: slice(false), g: slice(false)}
	for k := range h.States {
		// Adam's v and vmax are sums of squares; a negative one is a NaN path worth a few draws too.
		in.state = append(in.state, slice(h.Rule == Adam && k > 0 && rng.IntN(4) != 0))
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
func (in asmInputs) update(t *testing.T, h *Step, lo, hi int, asm bool) {
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
						h := c.step(step)
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
				withLevel(t, l, func() { splitCase(t, rng, c.step(3)) })
			}
		})
	}
}

// splitCase runs one configuration on [0,k) then [k,n) and on [0,n) at the current level.
func splitCase(t *testing.T, rng *rand.Rand, h *Step) {
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
			h := c.step(5)
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
		h := c.step(1)
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
		h     *Step
		bytes int
	}{
		{"adam", asmCase{rule: Adam}.step(10), 28},
		{"adam-amsgrad", asmCase{rule: Adam, flags: FlagAMSGrad}.step(10), 36},
		{"momentum", asmCase{rule: SGD, flags: FlagMomentum}.step(10), 20},
		{"momentum-wd", asmCase{rule: SGD, wd: true, flags: FlagMomentum}.step(10), 20},
		{"rmsprop", asmCase{rule: rmspropPlain}.step(10), 20},
	}
	for _, c := range cases {
		p, g := make([]float32, n), make([]float32, n)
		st := make([][]float32, c.h.States)
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

// TestRMSPropFTZEdges checks the cases where the x86's flush-to-zero (tininess after rounding
// to 24 bits, unbounded exponent) and float32's rounding part: an exact product or quotient in
// [2^-126 - 2^-150, 2^-126 - 2^-151) rounds to 2^-126 in float32 but is flushed. The assembly at
// every level and rmspropFTZ must agree, and the flush must have happened.
func TestRMSPropFTZEdges(t *testing.T) {
	below := float32(1 - 0x1p-24) // (1 - 2^-24)·2^-126 = 2^-126 - 2^-150
	cases := []struct {
		name               string
		p, g, sq           float32
		a, ca, eps, lr, wd float32
		wantP, wantSq      float32
	}{
		// p·wd rounds to 2^-126 but is flushed, so g = 0 stays 0 and p does not move (unflushed,
		// p would move by lr·2^-126/eps = 2^-16).
		{"product at the edge", below, 0, 0, 0.9, 0.1, 0x1p-100, 0x1p10, 0x1p-126, below, 0},
		// p·wd = 2^-126 - 2^-149 is subnormal in float32 too.
		{"subnormal product", 1 - 0x1p-23, 0, 0, 0.9, 0.1, 1e-8, 0.1, 0x1p-126, 1 - 0x1p-23, 0},
		// (g·lr)/d = 2^-100(1-2^-24) / 2^26 rounds to 2^-126 but is flushed: p = 0 - 0.
		{"quotient at the edge", 0, 0x1p-100 * below, 0x1p52, 1, 0, 1e-8, 1, 0, 0, 0x1p52},
		// the same quotient one ulp of g higher is 2^-126 exactly.
		{"quotient at 2^-126", 0, 0x1p-100, 0x1p52, 1, 0, 1e-8, 1, 0, -0x1p-126, 0x1p52},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const n = 37 // a vector and a tail at both levels
			run := func(asm bool) (p, sq []float32) {
				defer func(old bool) { useOptimAsm = old }(useOptimAsm)
				useOptimAsm = asm
				p, g, sq := make([]float32, n), make([]float32, n), make([]float32, n)
				for i := range p {
					p[i], g[i], sq[i] = c.p, c.g, c.sq
				}
				RMSPropPlain(p, g, sq, c.a, c.ca, c.eps, c.lr, c.wd)
				return p, sq
			}
			wp, wsq := run(false)
			for i := range wp {
				require.Equal(t, math.Float32bits(c.wantP), math.Float32bits(wp[i]), "Go p[%d] = %g", i, wp[i])
				require.Equal(t, math.Float32bits(c.wantSq), math.Float32bits(wsq[i]), "Go sq[%d] = %g", i, wsq[i])
			}
			for _, l := range asmLevels() {
				withLevel(t, l, func() {
					gp, gsq := run(true)
					for i := range wp {
						require.Equal(t, math.Float32bits(wp[i]), math.Float32bits(gp[i]), "%v p[%d] = %g", l, i, gp[i])
						require.Equal(t, math.Float32bits(wsq[i]), math.Float32bits(gsq[i]), "%v sq[%d] = %g", l, i, gsq[i])
					}
				})
			}
		})
	}
}
