package backendtest

import (
	"fmt"
	"math"
	"testing"

	"github.com/gotrain/gotrain/backend"
)

// optimTol: a few steps of float32 updates on O(1) parameters, each step a few roundings.
var optimTol = tols{f32: tol{1e-6, 1e-5}, f64: tol{1e-14, 1e-12}}

// paramSizes are the lengths of the tensors in one multi-tensor update: different, odd, one
// element, and empty.
var paramSizes = []int{7, 1, 0, 33, 1000}

const optimSteps = 4

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

// TestSGDStep runs several SGD steps over a list of parameters of different sizes, with momentum,
// dampening, Nesterov and weight decay, and compares parameters and momentum buffers with the
// reference after every step. The momentum buffers start as NaN: the first step must overwrite
// them without reading.
func TestSGDStep(t *testing.T, dev backend.Device) {
	cases := []struct {
		name string
		h    backend.SGDParams
	}{
		{"plain", backend.SGDParams{LR: 0.1}},
		{"weight decay without momentum", backend.SGDParams{LR: 0.1, WeightDecay: 0.05}},
		{"momentum", backend.SGDParams{LR: 0.1, Momentum: 0.9}},
		{"momentum with dampening", backend.SGDParams{LR: 0.1, Momentum: 0.9, Dampening: 0.3}},
		{"nesterov", backend.SGDParams{LR: 0.1, Momentum: 0.9, Nesterov: true}},
		{"nesterov with weight decay", backend.SGDParams{LR: 0.05, Momentum: 0.8, WeightDecay: 0.05, Nesterov: true}},
		{"everything", backend.SGDParams{LR: 0.05, Momentum: 0.7, Dampening: 0.2, WeightDecay: 0.1, Nesterov: true}},
	}
	forDTypes(t, dev, func(e *env) {
		e.run("empty lists", func(e *env) {
			e.do("SGDStep", func() error {
				return e.dev.SGDStep(backend.SGDParams{LR: 0.1, Momentum: 0.9, FirstStep: true}, nil, nil, nil)
			})
		})
		for _, c := range cases {
			e.run(c.name, func(e *env) {
				params := e.tensors("param", func(n int) []float64 { return e.uniform(n, -1, 1) }, e.state)
				var moms tensors
				if c.h.Momentum != 0 {
					moms = e.tensors("mom", func(n int) []float64 { return fill(n, math.NaN()) }, e.state)
				}
				p, buf := hostCopies(params), hostCopies(moms)
				for step := range optimSteps {
					e.inputs = nil
					grads := e.tensors(fmt.Sprintf("grad%d", step), func(n int) []float64 { return e.uniform(n, -1, 1) }, e.input)
					h := c.h
					h.FirstStep = step == 0
					e.do(fmt.Sprintf("SGDStep %d", step), func() error {
						return e.dev.SGDStep(h, params.buffers(), grads.buffers(), moms.buffers())
					})
					for i := range p {
						var bi []float64
						if buf != nil {
							bi = buf[i]
						}
						refSGD(h, p[i], grads[i].host, bi)
					}
					e.checkTensors(params, p, optimTol.of(e.dt))
					if moms != nil {
						e.checkTensors(moms, buf, optimTol.of(e.dt))
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

// TestAdamStep runs several Adam steps over a list of parameters of different sizes, with L2
// and decoupled weight decay and AMSGrad, from random (not zero) moments, and compares every
// parameter and moment with the reference after every step.
func TestAdamStep(t *testing.T, dev backend.Device) {
	base := backend.AdamParams{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	with := func(f func(h *backend.AdamParams)) backend.AdamParams { h := base; f(&h); return h }
	cases := []struct {
		name string
		h    backend.AdamParams
	}{
		{"adam", base},
		{"adam with L2 weight decay", with(func(h *backend.AdamParams) { h.WeightDecay = 0.05 })},
		{"adamw", with(func(h *backend.AdamParams) { h.DecoupledDecay = 0.1 })},
		{"amsgrad", with(func(h *backend.AdamParams) { h.AMSGrad = true })},
		{"amsgrad adamw", with(func(h *backend.AdamParams) { h.AMSGrad, h.DecoupledDecay = true, 0.1 })},
		{"everything", with(func(h *backend.AdamParams) {
			h.AMSGrad, h.DecoupledDecay, h.WeightDecay, h.Beta1, h.Beta2, h.Eps = true, 0.1, 0.05, 0.8, 0.99, 1e-6
		})},
	}
	forDTypes(t, dev, func(e *env) {
		e.run("empty lists", func(e *env) {
			h := with(func(h *backend.AdamParams) { h.AMSGrad, h.BiasCorrection1, h.BiasCorrection2 = true, 0.1, 0.001 })
			e.do("AdamStep", func() error { return e.dev.AdamStep(h, nil, nil, nil, nil, nil) })
		})
		for _, c := range cases {
			e.run(c.name, func(e *env) {
				params := e.tensors("param", func(n int) []float64 { return e.uniform(n, -1, 1) }, e.state)
				m := e.tensors("m", func(n int) []float64 { return e.uniform(n, -0.1, 0.1) }, e.state)
				v := e.tensors("v", func(n int) []float64 { return e.uniform(n, 1e-4, 0.1) }, e.state)
				var vmax tensors
				if c.h.AMSGrad {
					// Some above v and some below, so both sides of the max are taken.
					vmax = e.tensors("vmax", func(n int) []float64 { return e.uniform(n, 1e-4, 0.1) }, e.state)
				}
				hp, hm, hv, hvmax := hostCopies(params), hostCopies(m), hostCopies(v), hostCopies(vmax)
				for step := range optimSteps {
					e.inputs = nil
					grads := e.tensors(fmt.Sprintf("grad%d", step), func(n int) []float64 { return e.uniform(n, -1, 1) }, e.input)
					h := c.h
					h.BiasCorrection1 = 1 - math.Pow(h.Beta1, float64(step+1))
					h.BiasCorrection2 = 1 - math.Pow(h.Beta2, float64(step+1))
					e.do(fmt.Sprintf("AdamStep %d", step), func() error {
						return e.dev.AdamStep(h, params.buffers(), grads.buffers(), m.buffers(), v.buffers(), vmax.buffers())
					})
					for i := range hp {
						var vm []float64
						if hvmax != nil {
							vm = hvmax[i]
						}
						refAdam(h, hp[i], grads[i].host, hm[i], hv[i], vm)
					}
					tl := optimTol.of(e.dt)
					e.checkTensors(params, hp, tl)
					e.checkTensors(m, hm, tl)
					e.checkTensors(v, hv, tl)
					if vmax != nil {
						e.checkTensors(vmax, hvmax, tl)
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
