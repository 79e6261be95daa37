package backendtest

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// optimTol: one step is a few roundings in the dtype, relative to the largest term (a momentum
// buffer can be a small difference of terms like g/√v ≈ 10), so each tensor is compared with
// its absolute part widened by rtol·max|want|. The reference is rounded to the dtype after every
// step, as the device stores it, so the error does not grow with the number of steps. This is
// tight enough to see a coefficient off by more than a few float32 ulp: computing 1-β2 as
// 1 - float32(0.999) puts the fresh g² term of v off by 1.3e-5.
var optimTol = tols{f32: tol{1e-30, 4e-6}, f64: tol{1e-300, 1e-12}}

// paramSizes are the lengths of the tensors in one multi-tensor update: different, odd, one
// element, empty, and one large enough that a CPU splits it over goroutines.
var paramSizes = []int{7, 1, 0, 33, 1000, 100003}

const optimSteps = 5

// tensors is a list of buffers, one per parameter.
type tensors []*buf

func (e *env) tensors(name string, draw func(n int) []float64, alloc func(name string, x []float64) *buf) tensors {
	var out tensors
	for i, n := range paramSizes {
		out = append(out, alloc(fmt.Sprintf("%s[%d]", name, i), draw(n)))
	}
	return out
}

func (ts tensors) buffers() []backend.Buffer {
	if ts == nil {
		return nil
	}
	out := make([]backend.Buffer, len(ts))
	for i, b := range ts {
		out[i] = b.b
	}
	return out
}

// checkTensors compares each tensor with want[i].
func (e *env) checkTensors(ts tensors, want [][]float64, tl tol) {
	e.t.Helper()
	for i, b := range ts {
		e.check(b, want[i], tl)
	}
}

func hostCopies(ts tensors) [][]float64 {
	if ts == nil {
		return nil
	}
	out := make([][]float64, len(ts))
	for i, b := range ts {
		out[i] = append([]float64(nil), b.host...)
	}
	return out
}

// optimStateNames names the state tensors a rule keeps per parameter, in the order
// kernels.StateCount documents (and OptimizerStep takes them).
func optimStateNames(h kernels.UpdateParams) []string {
	switch h.Rule {
	case kernels.RuleSGD:
		if h.Momentum != 0 {
			return []string{"momentum_buffer"}
		}
		return nil
	case kernels.RuleAdam:
		if h.AMSGrad {
			return []string{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
		}
		return []string{"exp_avg", "exp_avg_sq"}
	case kernels.RuleRMSProp:
		names := []string{"square_avg"}
		if h.Momentum != 0 {
			names = append(names, "momentum_buffer")
		}
		if h.Centered {
			names = append(names, "grad_avg")
		}
		return names
	case kernels.RuleAdagrad:
		return []string{"sum"}
	case kernels.RuleNAdam:
		return []string{"exp_avg", "exp_avg_sq"}
	}
	return nil
}

// drawState draws the initial value of one state tensor of rule. Nothing starts at zero, so
// every term of the update matters; SGD's momentum buffer starts as NaN because the first step
// must write it without reading it (RMSProp's is read from the first step, so it is finite).
// RMSProp's gradient average is drawn small enough that the centered variance v - ḡ² starts
// (and, being a running variance, stays) well above zero.
func (e *env) drawState(rule kernels.Rule, name string, n int) []float64 {
	switch name {
	case "momentum_buffer":
		if rule == kernels.RuleSGD {
			return fill(n, math.NaN())
		}
		return e.uniform(n, -0.5, 0.5)
	case "exp_avg":
		return e.uniform(n, -0.1, 0.1)
	case "exp_avg_sq", "max_exp_avg_sq":
		// vmax is drawn like v, so some elements start above v and some below: both sides of
		// the max are taken.
		return e.uniform(n, 1e-4, 0.1)
	case "square_avg":
		return e.uniform(n, 0.01, 0.1)
	case "grad_avg":
		return e.uniform(n, -0.05, 0.05)
	case "sum":
		return e.uniform(n, 0.05, 0.5)
	}
	panic("backendtest: no initial value for state " + name) // a case table bug, not device input
}

// The host side of each rule's step-dependent scalars for step t (from 1), as PyTorch computes
// them: written here from torch.optim's documentation rather than taken from package optim.

func sgdAt(h *kernels.UpdateParams, t int) { h.FirstStep = t == 1 }

func adamAt(h *kernels.UpdateParams, t int) {
	h.BiasCorrection1 = 1 - math.Pow(h.Beta1, float64(t))
	h.BiasCorrection2 = 1 - math.Pow(h.Beta2, float64(t))
}

func adagradAt(lr, lrDecay float64) func(h *kernels.UpdateParams, t int) {
	return func(h *kernels.UpdateParams, t int) { h.LR = lr / (1 + float64(t-1)*lrDecay) }
}

// nadamAt gives NAdam's coefficients for momentum decay psi: μ_t = β1(1 - ½·0.96^(tψ)),
// NAdamGrad = lr(1-μ_t)/(1-Π_{i≤t}μ_i), NAdamMom = lr·μ_{t+1}/(1-Π_{i≤t+1}μ_i).
func nadamAt(psi float64) func(h *kernels.UpdateParams, t int) {
	return func(h *kernels.UpdateParams, t int) {
		mu := func(i int) float64 { return h.Beta1 * (1 - 0.5*math.Pow(0.96, float64(i)*psi)) }
		prod := 1.0
		for i := 1; i <= t; i++ {
			prod *= mu(i)
		}
		h.NAdamGrad = h.LR * (1 - mu(t)) / (1 - prod)
		h.NAdamMom = h.LR * mu(t+1) / (1 - prod*mu(t+1))
		h.BiasCorrection2 = 1 - math.Pow(h.Beta2, float64(t))
	}
}

// optimCase is one OptimizerStep configuration: fixed hyperparameters and the per-step scalars.
type optimCase struct {
	name string
	h    kernels.UpdateParams
	at   func(h *kernels.UpdateParams, t int)
	// fromZero starts the state at zero (SGD's momentum buffer still at NaN), as PyTorch does:
	// the first steps are then dominated by the fresh (1-β)·g terms.
	fromZero bool
}

func optimCases() []optimCase {
	sgd := func(name string, h kernels.UpdateParams) optimCase {
		h.Rule = kernels.RuleSGD
		return optimCase{name: "sgd " + name, h: h, at: sgdAt}
	}
	adamBase := kernels.UpdateParams{Rule: kernels.RuleAdam, LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	adam := func(name string, f func(h *kernels.UpdateParams)) optimCase {
		h := adamBase
		f(&h)
		return optimCase{name: name, h: h, at: adamAt}
	}
	rmsBase := kernels.UpdateParams{Rule: kernels.RuleRMSProp, LR: 0.01, Alpha: 0.99, Eps: 1e-8}
	rms := func(name string, f func(h *kernels.UpdateParams)) optimCase {
		h := rmsBase
		f(&h)
		return optimCase{name: "rmsprop " + name, h: h}
	}
	nadamBase := kernels.UpdateParams{Rule: kernels.RuleNAdam, LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	nadam := func(name string, f func(h *kernels.UpdateParams)) optimCase {
		h := nadamBase
		f(&h)
		return optimCase{name: name, h: h, at: nadamAt(4e-3)}
	}
	zero := func(c optimCase) optimCase {
		c.name += " from zero state"
		c.fromZero = true
		return c
	}
	return []optimCase{
		sgd("plain", kernels.UpdateParams{LR: 0.1}),
		sgd("with weight decay", kernels.UpdateParams{LR: 0.1, WeightDecay: 0.05}),
		sgd("with decoupled decay", kernels.UpdateParams{LR: 0.1, DecoupledDecay: 0.2}),
		sgd("with decoupled decay and momentum", kernels.UpdateParams{LR: 0.1, DecoupledDecay: 0.2, Momentum: 0.9}),
		sgd("with momentum", kernels.UpdateParams{LR: 0.1, Momentum: 0.9}),
		sgd("with momentum and dampening", kernels.UpdateParams{LR: 0.1, Momentum: 0.9, Dampening: 0.3}),
		sgd("with nesterov", kernels.UpdateParams{LR: 0.1, Momentum: 0.9, Nesterov: true}),
		sgd("with nesterov and weight decay", kernels.UpdateParams{LR: 0.05, Momentum: 0.8, WeightDecay: 0.05, Nesterov: true}),
		sgd("with everything", kernels.UpdateParams{LR: 0.05, Momentum: 0.7, Dampening: 0.2, WeightDecay: 0.1, Nesterov: true}),

		adam("adam", func(h *kernels.UpdateParams) {}),
		adam("adam with L2 weight decay", func(h *kernels.UpdateParams) { h.WeightDecay = 0.05 }),
		adam("adamw", func(h *kernels.UpdateParams) { h.DecoupledDecay = 0.1 }),
		adam("adam with amsgrad", func(h *kernels.UpdateParams) { h.AMSGrad = true }),
		adam("adamw with amsgrad", func(h *kernels.UpdateParams) { h.AMSGrad, h.DecoupledDecay = true, 0.1 }),
		adam("adam with everything", func(h *kernels.UpdateParams) {
			h.AMSGrad, h.DecoupledDecay, h.WeightDecay, h.Beta1, h.Beta2, h.Eps = true, 0.1, 0.05, 0.8, 0.99, 1e-6
		}),

		rms("plain", func(h *kernels.UpdateParams) {}),
		rms("with momentum", func(h *kernels.UpdateParams) { h.Momentum = 0.9 }),
		rms("centered", func(h *kernels.UpdateParams) { h.Centered, h.Alpha = true, 0.9 }),
		rms("with weight decay", func(h *kernels.UpdateParams) { h.WeightDecay = 0.05 }),
		rms("with decoupled decay", func(h *kernels.UpdateParams) { h.DecoupledDecay = 0.1 }),
		rms("centered with momentum and weight decay", func(h *kernels.UpdateParams) {
			h.Centered, h.Momentum, h.WeightDecay, h.Alpha, h.Eps = true, 0.5, 0.05, 0.9, 1e-6
		}),

		{name: "adagrad from an initial accumulator", h: kernels.UpdateParams{Rule: kernels.RuleAdagrad, LR: 0.1, Eps: 1e-10},
			at: adagradAt(0.1, 0)},
		{name: "adagrad with a decayed lr and weight decay", h: kernels.UpdateParams{Rule: kernels.RuleAdagrad, LR: 0.1, Eps: 1e-10, WeightDecay: 0.05},
			at: adagradAt(0.1, 0.5)},

		nadam("nadam", func(h *kernels.UpdateParams) {}),
		nadam("nadam with L2 weight decay", func(h *kernels.UpdateParams) { h.WeightDecay = 0.05 }),
		nadam("nadamw (decoupled decay)", func(h *kernels.UpdateParams) { h.DecoupledDecay = 0.1 }),

		zero(adam("adam", func(h *kernels.UpdateParams) {})),
		zero(adam("adamw with amsgrad", func(h *kernels.UpdateParams) { h.AMSGrad, h.DecoupledDecay = true, 0.1 })),
		zero(rms("centered with momentum", func(h *kernels.UpdateParams) { h.Centered, h.Momentum = true, 0.9 })),
		zero(rms("with alpha 0.999", func(h *kernels.UpdateParams) { h.Alpha = 0.999 })),
		zero(nadam("nadam", func(h *kernels.UpdateParams) {})),
	}
}

// TestOptimizerStep runs several steps of every update rule (and its variants: momentum,
// dampening, Nesterov, L2 and decoupled decay, AMSGrad, centered RMSProp, Adagrad's decayed rate,
// NAdam's momentum schedule) over one list of parameters of different sizes, from random
// non-zero state and from zero state as PyTorch starts, and compares every parameter and state
// tensor with the float64 reference after every step.
func TestOptimizerStep(t *testing.T, dev backend.Device) {
	cases := optimCases()
	forDTypes(t, dev, func(e *env) {
		for _, c := range cases {
			e.run(c.name+" accepts empty lists", func(e *env) {
				h := c.h
				if c.at != nil {
					c.at(&h, 1)
				}
				state := make([][]backend.Buffer, len(optimStateNames(h)))
				e.do("OptimizerStep", func() error { return e.dev.OptimizerStep(h, nil, nil, state) })
			})
		}
		for _, c := range cases {
			e.run(c.name, func(e *env) {
				names := optimStateNames(c.h)
				require.Equal(e.t, len(names), kernels.StateCount(c.h), "kernels.StateCount(%+v)", c.h)
				params := e.tensors("param", func(n int) []float64 { return e.uniform(n, -1, 1) }, e.state)
				state := make([]tensors, len(names))
				for k, name := range names {
					draw := func(n int) []float64 { return e.drawState(c.h.Rule, name, n) }
					if c.fromZero && !(name == "momentum_buffer" && c.h.Rule == kernels.RuleSGD) {
						draw = func(n int) []float64 { return make([]float64, n) }
					}
					state[k] = e.tensors(name, draw, e.state)
				}
				hp := hostCopies(params)
				hs := make([][][]float64, len(state)) // [k][i]
				for k := range state {
					hs[k] = hostCopies(state[k])
				}
				stateBufs := make([][]backend.Buffer, len(state))
				for k := range state {
					stateBufs[k] = state[k].buffers()
				}
				for step := 1; step <= optimSteps; step++ {
					e.inputs = nil
					grads := e.tensors(fmt.Sprintf("grad%d", step), func(n int) []float64 { return e.uniform(n, -1, 1) }, e.input)
					h := c.h
					if c.at != nil {
						c.at(&h, step)
					}
					e.do(fmt.Sprintf("OptimizerStep %d", step), func() error {
						return e.dev.OptimizerStep(h, params.buffers(), grads.buffers(), stateBufs)
					})
					for i := range hp {
						st := make([][]float64, len(hs))
						for k := range hs {
							st[k] = hs[k][i]
						}
						refOptimizerStep(h, hp[i], grads[i].host, st)
						copy(hp[i], e.round(hp[i]))
						for k := range st {
							copy(st[k], e.round(st[k]))
						}
					}
					tl := optimTol.of(e.dt)
					for i, b := range params {
						e.check(b, hp[i], tl.plus(maxAbs(hp[i])))
					}
					for k := range state {
						for i, b := range state[k] {
							e.check(b, hs[k][i], tl.plus(maxAbs(hs[k][i])))
						}
					}
					e.checkInputs()
					if e.t.Failed() {
						e.t.Fatalf("stopping after step %d", step)
					}
				}
			})
		}
	})
}

// sumSquaresTol: the reference sums with compensation, so it is exact to a few ulp; a device
// accumulating 250k positive terms in float64 is within n·ε ≈ 3e-11 in the worst case (far less
// in practice), and a float32 dst rounds once at the end.
var sumSquaresTol = tols{f32: tol{0, 1e-6}, f64: tol{0, 1e-11}}

// refSumSquares is Σ over all xs of Σ x², summed with Neumaier's compensation so that the
// reference itself loses nothing to the order of the terms.
func refSumSquares(xs ...[]float64) float64 {
	var sum, c float64
	for _, x := range xs {
		for _, v := range x {
			sq := v * v
			t := sum + sq
			if math.Abs(sum) >= math.Abs(sq) {
				c += (sum - t) + sq
			} else {
				c += (sq - t) + sum
			}
			sum = t
		}
	}
	return sum + c
}

// TestSumSquares checks the squared global norm over lists of buffers of mixed sizes (empty ones
// included, and ones large enough to be split over goroutines or blocks), that it accumulates in
// float64 (small squares after a large one must not be lost, as they are in a float32 running
// sum), and that a NaN or Inf anywhere gives a non-finite result.
func TestSumSquares(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		lists := []struct {
			name  string
			sizes []int
		}{
			{"of no buffers", nil},
			{"of only empty buffers", []int{0, 0}},
			{"of one element", []int{1}},
			{"of mixed sizes with empty ones", []int{7, 0, 1, 33, 0, 1000}},
			{"of large buffers", []int{100003, 0, 250001, 5}},
		}
		for _, l := range lists {
			e.run("a list "+l.name, func(e *env) {
				xs := make(tensors, len(l.sizes))
				for i, n := range l.sizes {
					xs[i] = e.input(fmt.Sprintf("xs[%d]", i), e.uniform(n, -2, 2))
				}
				want := refSumSquares(hostCopies(xs)...)
				dst := e.output("dst", 1)
				e.do("SumSquares", func() error { return e.dev.SumSquares(dst.b, xs.buffers()) })
				e.check(dst, e.round([]float64{want}), sumSquaresTol.of(e.dt))
				e.checkInputs()
			})
		}
		e.run("small squares after a large one are all counted", func(e *env) {
			// 1 + 200000·(1e-4)² = 1.002: a float32 running sum stays at 1.
			small := fill(200000, 1e-4)
			xs := tensors{e.input("large", []float64{1}), e.input("small", small)}
			want := refSumSquares(hostCopies(xs)...)
			dst := e.output("dst", 1)
			e.do("SumSquares", func() error { return e.dev.SumSquares(dst.b, xs.buffers()) })
			e.check(dst, e.round([]float64{want}), sumSquaresTol.of(e.dt))
		})
		bad := []struct {
			name string
			v    []float64 // written at spread-out positions of the second buffer
		}{
			{"a NaN", []float64{math.NaN()}},
			{"an Inf", []float64{math.Inf(1)}},
			{"a -Inf", []float64{math.Inf(-1)}},
			{"a NaN and an Inf", []float64{math.Inf(1), math.NaN()}},
		}
		for _, b := range bad {
			e.run(b.name+" makes the result non-finite", func(e *env) {
				x := e.uniform(100003, -1, 1)
				for j, v := range b.v {
					x[(j+1)*len(x)/(len(b.v)+1)] = v
				}
				xs := tensors{e.input("xs[0]", e.uniform(5, -1, 1)), e.input("xs[1]", x), e.input("xs[2]", e.uniform(3, -1, 1))}
				dst := e.output("dst", 1)
				e.do("SumSquares", func() error { return e.dev.SumSquares(dst.b, xs.buffers()) })
				got := e.read(dst)[0]
				assert.False(e.t, !math.IsNaN(got) && !math.IsInf(got, 0), "SumSquares = %v, want NaN or Inf", got)
				e.checkInputs()
			})
		}
	})
}

// refClamp is min(max(x, lo), hi) with NaN passed through.
func refClamp(x, lo, hi float64) float64 {
	if math.IsNaN(x) {
		return x
	}
	return math.Min(math.Max(x, lo), hi)
}

// TestClamp checks Clamp at every size and several ranges, with NaN and ±Inf among the inputs
// (NaN must pass through), a degenerate range lo == hi, infinite bounds, and in place.
func TestClamp(t *testing.T, dev backend.Device) {
	ranges := []struct {
		name   string
		lo, hi float64
	}{
		{"[-0.5, 0.7]", -0.5, 0.7},
		{"lo == hi", 0.3, 0.3},
		{"(-Inf, 0]", math.Inf(-1), 0},
		{"[0.1, +Inf)", 0.1, math.Inf(1)},
		{"all reals", math.Inf(-1), math.Inf(1)},
	}
	draw := func(e *env, n int) []float64 {
		x := e.uniform(n, -2, 2)
		specials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.NaN()}
		for j := 0; j < len(specials) && n > 0; j++ {
			x[e.rng.IntN(n)] = specials[j]
		}
		return x
	}
	want := func(e *env, x []float64, lo, hi float64) []float64 {
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = refClamp(v, lo, hi)
		}
		return e.round(out)
	}
	forDTypes(t, dev, func(e *env) {
		for _, r := range ranges {
			for _, n := range sizes {
				e.run(fmt.Sprintf("to %s at %d elements", r.name, n), func(e *env) {
					x := e.input("x", draw(e, n))
					dst := e.output("dst", n)
					e.do("Clamp", func() error { return e.dev.Clamp(dst.b, x.b, r.lo, r.hi) })
					e.check(dst, want(e, x.host, r.lo, r.hi), exact.of(e.dt))
					e.checkInputs()
				})
			}
			e.run(fmt.Sprintf("to %s in place", r.name), func(e *env) {
				x := e.state("x", draw(e, 4097))
				w := want(e, x.host, r.lo, r.hi)
				e.do("Clamp", func() error { return e.dev.Clamp(x.b, x.b, r.lo, r.hi) })
				e.check(x, w, exact.of(e.dt))
			})
		}
	})
}
