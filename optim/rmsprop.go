package optim

import "github.com/gotrain/gotrain/kernels"

// RMSProp is torch.optim.RMSprop: a running average of squared gradients, optionally centered
// (the squared average of the gradient subtracted) and with momentum. Note that eps is added
// outside the square root, as PyTorch does (Gorgonia's RMSPropSolver puts it inside).
//
// Scalars of its loop: alpha, eps, momentum, lr, weight decay (L2), 1-alpha. Flags:
// FlagMomentum, FlagCentered. States: the square average, then the momentum buffer (with
// momentum), then the gradient average (centered).
//
//	g += wd·p;  v = alpha·v + (1-alpha)·g²;  centered: ga = alpha·ga + (1-alpha)·g, d = √(v - ga²) + eps
//	else d = √v + eps;  momentum: buf = momentum·buf + g/d, p -= lr·buf;  else p -= lr·g/d
var rmspropRule = &kernels.Rule{Name: "rmsprop", F32: rmsprop[float32], F64: rmsprop[float64]}

func init() {
	Register(&Description{
		Name:    "rmsprop",
		Summary: "RMSProp (alpha, eps, momentum, centered, weight decay)",
		Uses:    []string{"alpha", "eps", "momentum", "centered", "weight-decay"},
		Defaults: func(o *Options) {
			o.Alpha, o.Eps = 0.99, 1e-8
		},
		Validate: func(o Options) error {
			if !unit(o.Alpha) {
				return o.bad("alpha", o.Alpha, "in [0, 1)")
			}
			if !nonNeg(o.Momentum) {
				return o.bad("momentum", o.Momentum, ">= 0")
			}
			return o.checkEps()
		},
		Variants: []Variant{
			{"with weight decay", func(o *Options) { o.WeightDecay = 0.02 }},
			{"with momentum", func(o *Options) { o.Momentum = 0.9 }},
			{"centered", func(o *Options) { o.Centered = true }},
			{"centered with momentum and weight decay", func(o *Options) { o.Momentum, o.Centered, o.WeightDecay = 0.9, true, 0.02 }},
		},
		States: func(o Options) []string {
			names := []string{"square_avg"}
			if o.Momentum != 0 {
				names = append(names, "momentum_buffer")
			}
			if o.Centered {
				names = append(names, "grad_avg")
			}
			return names
		},
		Step: func(o Options, lr float64, _ int, _ *float64) kernels.Step {
			s := kernels.Step{Rule: rmspropRule, States: 1, S: [kernels.NumScalars]float64{o.Alpha, o.Eps, o.Momentum, lr, o.WeightDecay, 1 - o.Alpha}}
			if o.Momentum != 0 {
				s.Flags |= kernels.FlagMomentum
				s.States++
			}
			if o.Centered {
				s.Flags |= kernels.FlagCentered
				s.States++
			}
			return s
		},
	})
}

func rmsprop[T kernels.Float](s *kernels.Step, p, g []T, st [kernels.MaxStates][]T) {
	n := len(p)
	g, sq := g[:n], st[0][:n]
	a, eps, mu, lr, wd, ca := T(s.S[0]), T(s.S[1]), T(s.S[2]), T(s.S[3]), T(s.S[4]), T(s.S[5])
	var buf, gavg []T
	k := 1
	if s.Flags&kernels.FlagMomentum != 0 {
		buf = st[k][:n]
		k++
	}
	if s.Flags&kernels.FlagCentered != 0 {
		gavg = st[k][:n]
	}
	if buf == nil && gavg == nil {
		kernels.RMSPropPlain(p, g, sq, a, ca, eps, lr, wd) // AVX2/AVX-512 where it can
		return
	}
	// Every product that is added to or subtracted from is converted (T(x*y)), so that a
	// GOAMD64=v3 build does not fuse it into an FMA (see kernels.SGD's loops).
	for i := range p {
		pi := p[i]
		gi := g[i] + T(wd*pi)
		v := T(a*sq[i]) + T(ca*gi*gi)
		sq[i] = v
		if gavg != nil {
			ga := T(a*gavg[i]) + T(ca*gi)
			gavg[i] = ga
			v -= T(ga * ga)
		}
		d := kernels.SqrtT(v) + eps
		if buf != nil {
			b := T(mu*buf[i]) + gi/d
			buf[i] = b
			p[i] = pi - T(lr*b)
		} else {
			p[i] = pi - lr*gi/d
		}
	}
}
