package tune

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// TPE is the tree-structured Parzen estimator (Bergstra, Bardenet, Bengio and Kégl, "Algorithms
// for Hyper-Parameter Optimization", NeurIPS 2011), with the choices Optuna's TPESampler makes:
//
//   - The first Startup trials are random. After that, the ended trials are split into the
//     gamma(n) = min(ceil(0.1·n), 25) best ("below") and the rest: complete trials ranked by
//     loss first, then pruned trials ranked by how far they got and their last loss; failed
//     trials are left out, and in asynchronous mode running trials join the rest (Optuna's
//     constant liar), so workers do not all propose the same point.
//   - Each side is a Parzen estimator: a mixture with one kernel per trial plus a prior kernel
//     (weight PriorWeight, centred on the range with the range's width). Numeric kernels are
//     normal distributions truncated to the range, in log space for log parameters, with a
//     bandwidth from the distances to the neighbouring observations clipped to
//     [range/min(100, 1+kernels), range]; integers take the kernel's mass over [x-0.5, x+0.5].
//     A categorical kernel puts weight 1 on its trial's choice and PriorWeight/kernels on
//     every choice. Trials weigh 1, except that past 25 trials the older ones ramp down
//     linearly (Optuna's default_weights).
//   - Candidates points are drawn from the "below" estimator and the one maximising
//     log l(x) - log g(x) is taken.
//
// It is multivariate: parameters are modelled jointly (a mixture of product kernels), in
// groups of parameters that are active together (the unconditional ones, then each set that
// shares a condition, as Optuna's group=True decomposes a conditional space); a group is fitted
// on the trials where it was active. Univariate models each parameter on its own.
type TPE struct {
	Startup, Candidates int
	PriorWeight         float64
	Univariate          bool
	// Generation is the synchronous mode's batch: after the startup trials, trial k is sampled
	// from the trials before Startup + G·floor((k-Startup)/G), so G trials can run at once with
	// results that do not depend on the number of workers (0: 4).
	Generation int
}

func (t TPE) withDefaults() TPE {
	if t.Candidates <= 0 {
		t.Candidates = 24
	}
	if t.PriorWeight <= 0 {
		t.PriorWeight = 1
	}
	if t.Generation <= 0 {
		t.Generation = 4
	}
	return t
}

func (t TPE) String() string {
	t = t.withDefaults()
	s := fmt.Sprintf("tpe(startup=%d,candidates=%d,prior=%g,generation=%d", t.Startup, t.Candidates, t.PriorWeight, t.Generation)
	if t.Univariate {
		s += ",univariate"
	}
	return s + ")"
}

// Size is 0: TPE draws from the whole space.
func (TPE) Size(*Space) int { return 0 }

// Needs is 0 for the startup trials, then the first trial of k's generation.
func (t TPE) Needs(k int) int {
	t = t.withDefaults()
	if k < t.Startup {
		return 0
	}
	return t.Startup + (k-t.Startup)/t.Generation*t.Generation
}

// Sample draws trial k's parameters.
func (t TPE) Sample(s *Space, k int, hist []Observation, rng *rand.Rand) (Values, error) {
	t = t.withDefaults()
	var usable []Observation
	n := 0
	for _, o := range hist {
		switch o.State {
		case Complete, Pruned:
			n++
			usable = append(usable, o)
		case Running, Parked:
			usable = append(usable, o)
		}
	}
	if n < t.Startup || n == 0 {
		return Random{}.Sample(s, k, hist, rng)
	}
	below, above := splitTrials(usable, gamma(n))
	vals := Values{}
	for _, g := range t.groups(s) {
		if !s.Active(g[0], vals) {
			continue
		}
		lo := newParzen(g, below, t.PriorWeight)
		hi := newParzen(g, above, t.PriorWeight)
		cands := lo.sample(rng, t.Candidates)
		ll := lo.logPDF(cands)
		lg := hi.logPDF(cands)
		best := 0
		for i := range ll {
			if ll[i]-lg[i] > ll[best]-lg[best] {
				best = i
			}
		}
		for d, p := range g {
			x := cands[best][d]
			if p.Kind == Choice {
				vals[p.Name] = Value{Choice: p.Choices[int(x)]}
			} else {
				vals[p.Name] = Value{Num: x}
			}
		}
	}
	return vals, nil
}

// gamma is Optuna's default split: the best 10%, at most 25 trials.
func gamma(n int) int { return min(int(math.Ceil(0.1*float64(n))), 25) }

// splitTrials divides the trials into the nBelow best and the rest, each in index order.
func splitTrials(obs []Observation, nBelow int) (below, above []Observation) {
	var complete, pruned, rest []int
	for i, o := range obs {
		switch o.State {
		case Complete:
			complete = append(complete, i)
		case Pruned:
			pruned = append(pruned, i)
		default:
			rest = append(rest, i)
		}
	}
	key := func(v float64) float64 {
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}
	slices.SortStableFunc(complete, func(a, b int) int { return cmp.Compare(key(obs[a].Loss), key(obs[b].Loss)) })
	// Pruned trials: those that got further first, then by their last loss.
	slices.SortStableFunc(pruned, func(a, b int) int {
		if c := cmp.Compare(len(obs[b].Steps), len(obs[a].Steps)); c != 0 {
			return c
		}
		return cmp.Compare(key(lastOr(obs[a].Steps)), key(lastOr(obs[b].Steps)))
	})
	nc := min(nBelow, len(complete))
	np := min(nBelow-nc, len(pruned))
	var bi, ai []int
	bi = append(append(bi, complete[:nc]...), pruned[:np]...)
	ai = append(append(append(ai, complete[nc:]...), pruned[np:]...), rest...)
	slices.Sort(bi)
	slices.Sort(ai)
	for _, i := range bi {
		below = append(below, obs[i])
	}
	for _, i := range ai {
		above = append(above, obs[i])
	}
	return below, above
}

func lastOr(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return xs[len(xs)-1]
}

// groups partitions the space into sets of parameters that are always active together.
func (t TPE) groups(s *Space) [][]*Param {
	var keys []string
	by := map[string][]*Param{}
	for i := range s.Params {
		p := &s.Params[i]
		k := condKey(s, p)
		if t.Univariate {
			k = p.Name
		}
		if _, ok := by[k]; !ok {
			keys = append(keys, k)
		}
		by[k] = append(by[k], p)
	}
	out := make([][]*Param, len(keys))
	for i, k := range keys {
		out[i] = by[k]
	}
	return out
}

// condKey identifies the chain of conditions under which p is active.
func condKey(s *Space, p *Param) string {
	var parts []string
	for p != nil && p.If != nil {
		v := slices.Clone(p.If.Values)
		slices.Sort(v)
		parts = append(parts, p.If.Param+"="+strings.Join(v, ","))
		p = s.Param(p.If.Param)
	}
	return strings.Join(parts, ";")
}

// weights is Optuna's default_weights: 1 each up to 25 trials, then a linear ramp from 1/n for
// the oldest trials to 1 for the 25 most recent.
func weights(n int) []float64 {
	w := make([]float64, n)
	if n < 25 {
		for i := range w {
			w[i] = 1
		}
		return w
	}
	m := n - 25
	for i := 0; i < m; i++ {
		if m == 1 {
			w[i] = 1.0 / float64(n)
		} else {
			w[i] = 1.0/float64(n) + float64(i)*(1-1.0/float64(n))/float64(m-1)
		}
	}
	for i := m; i < n; i++ {
		w[i] = 1
	}
	return w
}

// parzen is a mixture of product kernels over one group of parameters.
type parzen struct {
	logW []float64 // per kernel (the prior kernel last)
	cumW []float64
	dims []kdim
}

// kdim is one parameter's kernels. Numeric parameters live in a transformed space (log for log
// parameters; integers widened by half a step each side).
type kdim struct {
	p              *Param
	mu, sigma, lnZ []float64 // per kernel; lnZ normalises the truncation to [lo, hi]
	inv, cst       []float64 // per kernel: 1/sigma, and log(sigma·√(2π)) + lnZ
	lo, hi         float64
	// Categorical: kernel i puts pObs on its trial's choice obs[i] and pOther on each other
	// (the prior kernel, obs -1, is uniform); lnPT is log-probability by choice, then kernel.
	obs          []int
	pObs, pOther float64
	lnPT         [][]float64
}

func (d *kdim) fwd(x float64) float64 {
	if d.p.Log {
		return math.Log(x)
	}
	return x
}

// newParzen fits the estimator to the observations that have every parameter of the group.
func newParzen(group []*Param, obs []Observation, prior float64) *parzen {
	var pts [][]float64
	for _, o := range obs {
		pt := make([]float64, len(group))
		ok := true
		for d, p := range group {
			v, has := o.Params[p.Name]
			if !has {
				ok = false
				break
			}
			if p.Kind == Choice {
				i := slices.Index(p.Choices, v.Choice)
				if i < 0 {
					ok = false
					break
				}
				pt[d] = float64(i)
			} else {
				pt[d] = v.Num
			}
		}
		if ok {
			pts = append(pts, pt)
		}
	}
	n := len(pts)
	w := weights(n)
	if n == 0 {
		w = []float64{1}
	} else {
		w = append(w, prior)
	}
	k := len(w)
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	pz := &parzen{logW: make([]float64, k), cumW: make([]float64, k), dims: make([]kdim, len(group))}
	acc := 0.0
	for i, x := range w {
		pz.logW[i] = math.Log(x / sum)
		acc += x / sum
		pz.cumW[i] = acc
	}
	pz.cumW[k-1] = 1
	for di, p := range group {
		d := &pz.dims[di]
		d.p = p
		if p.Kind == Choice {
			nc := len(p.Choices)
			d.obs = make([]int, k)
			d.lnPT = make([][]float64, nc)
			for c := range d.lnPT {
				d.lnPT[c] = make([]float64, k)
			}
			base := prior / float64(k)
			tot := base*float64(nc) + 1
			d.pOther, d.pObs = base/tot, (base+1)/tot
			lnOther, lnObs, lnUniform := math.Log(d.pOther), math.Log(d.pObs), -math.Log(float64(nc))
			for i := 0; i < k; i++ {
				if i == n { // the prior kernel (or the only one, with no observations)
					d.obs[i] = -1
					for c := range d.lnPT {
						d.lnPT[c][i] = lnUniform
					}
					continue
				}
				d.obs[i] = int(pts[i][di])
				for c := range d.lnPT {
					d.lnPT[c][i] = lnOther
				}
				d.lnPT[d.obs[i]][i] = lnObs
			}
			continue
		}
		lo, hi := p.Low, p.High
		if p.Kind == Int {
			lo, hi = lo-0.5, hi+0.5
		}
		if p.Log {
			lo, hi = math.Log(lo), math.Log(hi)
		}
		d.lo, d.hi = lo, hi
		mus := make([]float64, n, k)
		for i := range pts {
			mus[i] = d.fwd(pts[i][di])
		}
		sig := neighbourSigmas(mus, lo, hi, k)
		mus = append(mus, 0.5*(lo+hi))
		sig = append(sig, hi-lo)
		d.mu, d.sigma = mus, sig
		d.lnZ, d.inv, d.cst = make([]float64, k), make([]float64, k), make([]float64, k)
		for i := range mus {
			d.lnZ[i] = logMass((lo-mus[i])/sig[i], (hi-mus[i])/sig[i])
			d.inv[i] = 1 / sig[i]
			d.cst[i] = math.Log(sig[i]) + 0.9189385332046727 + d.lnZ[i]
		}
	}
	return pz
}

// neighbourSigmas is each observation's bandwidth: the larger distance to its neighbours (the
// range's ends count as neighbours, except that the outermost observations use their inner
// neighbour only), clipped to [range/min(100, 1+kernels), range].
func neighbourSigmas(mus []float64, lo, hi float64, kernels int) []float64 {
	n := len(mus)
	out := make([]float64, n)
	if n == 0 {
		return out
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(mus[a], mus[b]); c != 0 {
			return c
		}
		return a - b
	})
	ext := make([]float64, n+2)
	ext[0], ext[n+1] = lo, hi
	for i, j := range order {
		ext[i+1] = mus[j]
	}
	sorted := make([]float64, n)
	for i := 1; i <= n; i++ {
		sorted[i-1] = math.Max(ext[i]-ext[i-1], ext[i+1]-ext[i])
	}
	if n+2 >= 4 {
		sorted[0] = ext[2] - ext[1]
		sorted[n-1] = ext[n] - ext[n-1]
	}
	maxS := hi - lo
	minS := (hi - lo) / math.Min(100, 1+float64(kernels))
	for i, j := range order {
		out[j] = math.Min(math.Max(sorted[i], minS), maxS)
	}
	return out
}

// sample draws n points: a kernel by weight, then each parameter from that kernel. Numeric
// values come back untransformed (rounded for integers), choices as their index.
func (pz *parzen) sample(rng *rand.Rand, n int) [][]float64 {
	out := make([][]float64, n)
	for c := range out {
		u := rng.Float64()
		i, _ := slices.BinarySearch(pz.cumW, u)
		i = min(i, len(pz.cumW)-1)
		pt := make([]float64, len(pz.dims))
		for di := range pz.dims {
			d := &pz.dims[di]
			if d.p.Kind == Choice {
				nc := len(d.lnPT)
				r := rng.Float64()
				acc, pick := 0.0, nc-1
				for ch := 0; ch < nc; ch++ {
					pr := d.pOther
					switch {
					case d.obs[i] < 0:
						pr = 1 / float64(nc)
					case ch == d.obs[i]:
						pr = d.pObs
					}
					acc += pr
					if r < acc {
						pick = ch
						break
					}
				}
				pt[di] = float64(pick)
				continue
			}
			mu, s := d.mu[i], d.sigma[i]
			a, b := stdNormCDF((d.lo-mu)/s), stdNormCDF((d.hi-mu)/s)
			z := stdNormQuantile(a + rng.Float64()*(b-a))
			x := math.Min(math.Max(mu+s*z, d.lo), d.hi)
			if d.p.Log {
				x = math.Exp(x)
			}
			if d.p.Kind == Int {
				x = math.Round(x)
			}
			pt[di] = math.Min(math.Max(x, d.p.Low), d.p.High)
		}
		out[c] = pt
	}
	return out
}

// logPDF is the mixture's log density at each point (numeric values in the transformed space's
// density, which is what the ratio l/g needs: the Jacobian cancels). It runs parameter by
// parameter over flat per-kernel arrays: with a thousand trials this is the sampler's whole cost.
func (pz *parzen) logPDF(pts [][]float64) []float64 {
	k := len(pz.logW)
	acc := make([]float64, len(pts)*k)
	for c := range pts {
		copy(acc[c*k:(c+1)*k], pz.logW)
	}
	for di := range pz.dims {
		d := &pz.dims[di]
		for c, pt := range pts {
			row := acc[c*k : (c+1)*k]
			x := pt[di]
			switch {
			case d.p.Kind == Choice:
				col := d.lnPT[int(x)]
				for i := range row {
					row[i] += col[i]
				}
			case d.p.Kind == Int:
				l, r := d.fwd(x-0.5), d.fwd(x+0.5)
				mu, inv, lnZ := d.mu[:len(row)], d.inv[:len(row)], d.lnZ[:len(row)]
				for i := range row {
					row[i] += logMassFast((l-mu[i])*inv[i], (r-mu[i])*inv[i]) - lnZ[i]
				}
			default:
				tx := d.fwd(x)
				mu, inv, cst := d.mu[:len(row)], d.inv[:len(row)], d.cst[:len(row)]
				for i := range row {
					z := (tx - mu[i]) * inv[i]
					row[i] += -0.5*z*z - cst[i]
				}
			}
		}
	}
	out := make([]float64, len(pts))
	for c := range pts {
		row := acc[c*k : (c+1)*k]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, v)
		}
		if math.IsInf(m, -1) {
			out[c] = m
			continue
		}
		sum := 0.0
		for _, v := range row {
			// Terms below e^-40 of the largest change the sum by less than its rounding.
			if v > m-40 {
				sum += math.Exp(v - m)
			}
		}
		out[c] = m + math.Log(sum)
	}
	return out
}

// logMassFast is logMass without the far-tail asymptotics: beyond about 37 standard deviations
// it returns -Inf, which is harmless inside a mixture that always holds the wide prior kernel.
func logMassFast(a, b float64) float64 {
	switch {
	case a > 0:
		return math.Log(0.5 * (math.Erfc(a/math.Sqrt2) - math.Erfc(b/math.Sqrt2)))
	case b < 0:
		return math.Log(0.5 * (math.Erfc(-b/math.Sqrt2) - math.Erfc(-a/math.Sqrt2)))
	}
	return math.Log1p(-0.5*math.Erfc(b/math.Sqrt2) - 0.5*math.Erfc(-a/math.Sqrt2))
}

// stdNormCDF is Φ(z).
func stdNormCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// stdNormQuantile is Φ⁻¹(u).
func stdNormQuantile(u float64) float64 {
	switch {
	case u <= 0:
		return math.Inf(-1)
	case u >= 1:
		return math.Inf(1)
	}
	return -math.Sqrt2 * math.Erfcinv(2*u)
}

// logPhiUpper is log(1-Φ(z)) = log Φ(-z), accurate far into the tail.
func logPhiUpper(z float64) float64 {
	x := z / math.Sqrt2
	if x < 25 {
		return math.Log(0.5 * math.Erfc(x))
	}
	// erfc(x) ~ exp(-x²)/(x√π)·(1 - 1/(2x²)).
	return math.Log(0.5) - x*x - math.Log(x) - 0.5*math.Log(math.Pi) + math.Log1p(-1/(2*x*x))
}

// logMass is log(Φ(b) - Φ(a)) for a <= b, without cancellation in either tail.
func logMass(a, b float64) float64 {
	switch {
	case a >= b:
		return math.Inf(-1)
	case a > 0:
		// Φ(b)-Φ(a) = Φ(-a) - Φ(-b).
		la, lb := logPhiUpper(a), logPhiUpper(b)
		return la + math.Log1p(-math.Exp(lb-la))
	case b < 0:
		return logMass(-b, -a)
	}
	return math.Log1p(-0.5*math.Erfc(b/math.Sqrt2) - 0.5*math.Erfc(-a/math.Sqrt2))
}
