package backendtest

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/backendtest/ref"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/optim"
)

// optimTol: the device runs the same operations in the same dtype as the pure-Go loop, so it
// should give its bits; the tolerance allows a few roundings, relative to the largest term (a
// momentum buffer can be a small difference of terms like g/√v ≈ 10), so each tensor is compared
// with its absolute part widened by rtol·max|want|. That is still tight enough to see a
// coefficient off by more than a few float32 ulp: computing 1-β2 as 1 - float32(0.999) puts the
// fresh g² term of v off by 1.3e-5.
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

// drawState draws the initial value of one state tensor (named as the description names it).
// Nothing starts at zero, so every term of the update matters; SGD's momentum buffer starts as
// NaN because the first step must write it without reading it. Running averages of squares
// (and their maxima, sums and infinity norms) are drawn positive; RMSProp's gradient average is
// drawn small enough that the centered variance v - ḡ² starts (and, being a running variance,
// stays) well above zero.
func (e *env) drawState(optimizer, name string, n int) []float64 {
	switch name {
	case "momentum_buffer":
		if optimizer == "sgd" {
			return fill(n, math.NaN())
		}
		return e.uniform(n, -0.5, 0.5)
	case "exp_avg":
		return e.uniform(n, -0.1, 0.1)
	case "exp_avg_sq", "max_exp_avg_sq", "exp_inf":
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
	e.t.Fatalf("backendtest: no initial value for the state %q of %s: add one to drawState", name, optimizer)
	return nil
}

// optimCase is one optimizer configuration: a description's defaults or one of its variants.
type optimCase struct {
	name string
	desc *optim.Description
	o    optim.Options
	// fromZero starts the state at its initial value, as PyTorch does (SGD's momentum buffer
	// still at NaN): the first steps are then dominated by the fresh (1-β)·g terms.
	fromZero bool
}

// optimCases are every registered optimizer's defaults and variants, each from drawn state, and
// the defaults from zero state as well.
func optimCases(t *testing.T) []optimCase {
	var out []optimCase
	for _, name := range optim.Names() {
		d, err := optim.Describe(name)
		require.NoError(t, err)
		if d.Alias != "" {
			continue
		}
		o, err := optim.Defaults(name, 0.01)
		require.NoError(t, err)
		out = append(out, optimCase{name: name, desc: d, o: o}, optimCase{name: name + " from zero state", desc: d, o: o, fromZero: true})
		for _, v := range d.Variants {
			ov := o
			v.Set(&ov)
			require.NoError(t, ov.Validate(), "%s %s", name, v.Name)
			out = append(out, optimCase{name: name + " " + v.Name, desc: d, o: ov})
		}
	}
	return out
}

// twinStep applies s to one parameter in float64 or float32 arithmetic (as dt says) with the
// pure-Go loop: what every device must reproduce.
func twinStep(t *testing.T, dt backend.DType, s *kernels.Step, p, g []float64, state [][]float64) {
	if dt == backend.Float64 {
		require.NoError(t, kernels.Update(s, p, g, state...))
		return
	}
	f := func(x []float64) []float32 {
		out := make([]float32, len(x))
		for i, v := range x {
			out[i] = float32(v)
		}
		return out
	}
	back := func(dst []float64, src []float32) {
		for i, v := range src {
			dst[i] = float64(v)
		}
	}
	p32, st32 := f(p), make([][]float32, len(state))
	for k := range state {
		st32[k] = f(state[k])
	}
	require.NoError(t, kernels.Update(s, p32, f(g), st32...))
	back(p, p32)
	for k := range state {
		back(state[k], st32[k])
	}
}

// TestOptimizerStep runs several steps of every registered optimizer and each of its variants
// (momentum, dampening, Nesterov, weight decay of both kinds, AMSGrad, centered RMSProp,
// Adagrad's decayed rate, NAdam's momentum schedule, ...) over one list of parameters of
// different sizes, from drawn state and from PyTorch's initial state, with the steps its
// description computes, and compares every parameter and state tensor after every step with
// the pure-Go loop's (the oracle for every backend; optim's tests check that loop against
// float64 references written from PyTorch's algorithms).
func TestOptimizerStep(t *testing.T, dev backend.Device) {
	cases := optimCases(t)
	forDTypes(t, dev, func(e *env) {
		for _, c := range cases {
			e.run(c.name+" accepts empty lists", func(e *env) {
				carry := 1.0
				s := c.desc.Step(c.o, c.o.LR, 1, &carry)
				state := make([][]backend.Buffer, s.States)
				e.do("OptimizerStep", func() error { return e.dev.OptimizerStep(&s, nil, nil, state) })
			})
		}
		for _, c := range cases {
			e.run(c.name, func(e *env) {
				names := c.desc.States(c.o)
				params := e.tensors("param", func(n int) []float64 { return e.uniform(n, -1, 1) }, e.state)
				state := make([]tensors, len(names))
				for k, name := range names {
					draw := func(n int) []float64 { return e.drawState(c.o.Name, name, n) }
					if c.fromZero && !(name == "momentum_buffer" && c.o.Name == "sgd") {
						init := 0.0
						if c.desc.Init != nil {
							init = c.desc.Init(c.o)
						}
						draw = func(n int) []float64 { return fill(n, init) }
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
				carry := 1.0
				for step := 1; step <= optimSteps; step++ {
					e.inputs = nil
					grads := e.tensors(fmt.Sprintf("grad%d", step), func(n int) []float64 { return e.uniform(n, -1, 1) }, e.input)
					// A rate that changes every step, as under a schedule.
					s := c.desc.Step(c.o, c.o.LR*(1+0.1*float64(step)), step, &carry)
					require.Equal(e.t, len(names), s.States, "the description's state names and its step's state count")
					e.do(fmt.Sprintf("OptimizerStep %d", step), func() error {
						return e.dev.OptimizerStep(&s, params.buffers(), grads.buffers(), stateBufs)
					})
					for i := range hp {
						st := make([][]float64, len(hs))
						for k := range hs {
							st[k] = hs[k][i]
						}
						twinStep(e.t, e.dt, &s, hp[i], grads[i].host, st)
					}
					tl := optimTol.of(e.dt)
					for i, b := range params {
						e.check(b, hp[i], tl.plus(ref.MaxAbs(hp[i])))
					}
					for k := range state {
						for i, b := range state[k] {
							e.check(b, hs[k][i], tl.plus(ref.MaxAbs(hs[k][i])))
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
