package tune

import (
	"cmp"
	"errors"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// ParamImportance is one parameter's share of the objective's variance.
type ParamImportance struct {
	Name string
	// Importance is the parameter's share among the parameters (they sum to 1).
	Importance float64
	// Fraction is the share of the total variance its main effect explains (fANOVA's
	// individual importance; the rest is interactions and other parameters).
	Fraction float64
}

// Importance estimates each parameter's importance as fANOVA does (Hutter, Hoos and
// Leyton-Brown, "An Efficient Approach for Assessing Hyperparameter Importance", ICML 2014;
// Optuna's FanovaImportanceEvaluator): it fits a random forest to the complete trials' values
// and, per tree, divides the variance of the parameter's marginal (the prediction averaged over
// every other parameter, uniformly over the space) by the tree's total variance. Numeric
// parameters are taken in their sampling scale (log for log parameters); categorical ones are
// split by sets of choices, so a choice has no false order. Only parameters present in every
// complete trial are assessed (conditional ones usually are not).
func Importance(s *Space, trials []*TrialRecord, seed uint64) ([]ParamImportance, error) {
	var done []*TrialRecord
	for _, t := range trials {
		if t.State == Complete && !math.IsNaN(t.Value) && !math.IsInf(t.Value, 0) {
			done = append(done, t)
		}
	}
	if len(done) < 2 {
		return nil, errors.New("tune: importance needs at least two complete trials")
	}
	var params []*Param
	for i := range s.Params {
		p := &s.Params[i]
		all := true
		for _, t := range done {
			if _, ok := t.Params[p.Name]; !ok {
				all = false
				break
			}
		}
		if all && (p.Kind != Choice || len(p.Choices) <= 64) {
			params = append(params, p)
		}
	}
	if len(params) == 0 {
		return nil, errors.New("tune: importance: no parameter is set in every complete trial")
	}
	X := make([][]float64, len(done))
	y := make([]float64, len(done))
	for i, t := range done {
		X[i] = make([]float64, len(params))
		for d, p := range params {
			v := t.Params[p.Name]
			switch {
			case p.Kind == Choice:
				X[i][d] = float64(slices.Index(p.Choices, v.Choice))
			case p.Log:
				X[i][d] = math.Log(v.Num)
			default:
				X[i][d] = v.Num
			}
		}
		y[i] = t.Value
	}
	f := fitForest(params, X, y, 64, seed)
	frac := f.importance()
	sum := 0.0
	for _, v := range frac {
		sum += v
	}
	out := make([]ParamImportance, len(params))
	for d, p := range params {
		out[d] = ParamImportance{Name: p.Name, Fraction: frac[d]}
		if sum > 0 {
			out[d].Importance = frac[d] / sum
		}
	}
	slices.SortStableFunc(out, func(a, b ParamImportance) int { return cmp.Compare(b.Importance, a.Importance) })
	return out, nil
}

// forest is a random forest regressor over a box-shaped space.
type forest struct {
	dims  []fdim
	trees []*node
}

// fdim is one feature's domain: [lo, hi] for numeric ones, n choices for categorical ones.
type fdim struct {
	cat    bool
	n      int
	lo, hi float64
}

// node is a tree node: a leaf (value) or a split. Numeric splits send x <= thr left;
// categorical splits send the choices in the left mask left.
type node struct {
	leaf                  bool
	value                 float64
	dim                   int
	thr                   float64
	left                  uint64
	leftChild, rightChild *node
}

func fitForest(params []*Param, X [][]float64, y []float64, nTrees int, seed uint64) *forest {
	f := &forest{}
	for _, p := range params {
		switch {
		case p.Kind == Choice:
			f.dims = append(f.dims, fdim{cat: true, n: len(p.Choices)})
		case p.Log && p.Kind == Int:
			f.dims = append(f.dims, fdim{lo: math.Log(p.Low - 0.5), hi: math.Log(p.High + 0.5)})
		case p.Log:
			f.dims = append(f.dims, fdim{lo: math.Log(p.Low), hi: math.Log(p.High)})
		case p.Kind == Int:
			f.dims = append(f.dims, fdim{lo: p.Low - 0.5, hi: p.High + 0.5})
		default:
			f.dims = append(f.dims, fdim{lo: p.Low, hi: p.High})
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0xfa9a))
	n := len(y)
	for range nTrees {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = rng.IntN(n) // a bootstrap sample
		}
		f.trees = append(f.trees, f.grow(X, y, idx, 0))
	}
	return f
}

const maxDepth = 64

func (f *forest) grow(X [][]float64, y []float64, idx []int, depth int) *node {
	mean := 0.0
	for _, i := range idx {
		mean += y[i]
	}
	mean /= float64(len(idx))
	leaf := &node{leaf: true, value: mean}
	if len(idx) < 2 || depth >= maxDepth {
		return leaf
	}
	bestGain, best := 1e-12, (*node)(nil)
	sse := func(ids []int) (float64, float64) {
		s, s2 := 0.0, 0.0
		for _, i := range ids {
			s += y[i]
			s2 += y[i] * y[i]
		}
		return s, s2
	}
	totS, totS2 := sse(idx)
	parent := totS2 - totS*totS/float64(len(idx))
	for d, dim := range f.dims {
		// Order the samples along the feature (categories by their mean target, which makes
		// the best subset split a prefix: Breiman's result for regression).
		key := make(map[int]float64)
		if dim.cat {
			sum, cnt := map[int]float64{}, map[int]float64{}
			for _, i := range idx {
				c := int(X[i][d])
				sum[c] += y[i]
				cnt[c]++
			}
			for c := range sum {
				key[c] = sum[c] / cnt[c]
			}
		}
		kv := func(i int) float64 {
			if dim.cat {
				return key[int(X[i][d])]
			}
			return X[i][d]
		}
		order := slices.Clone(idx)
		slices.SortFunc(order, func(a, b int) int {
			if c := cmp.Compare(kv(a), kv(b)); c != 0 {
				return c
			}
			return cmp.Compare(X[a][d], X[b][d])
		})
		ls, ls2 := 0.0, 0.0
		for j := 0; j < len(order)-1; j++ {
			i := order[j]
			ls += y[i]
			ls2 += y[i] * y[i]
			a, b := X[order[j]][d], X[order[j+1]][d]
			if a == b {
				continue
			}
			nl, nr := float64(j+1), float64(len(order)-j-1)
			rs, rs2 := totS-ls, totS2-ls2
			child := (ls2 - ls*ls/nl) + (rs2 - rs*rs/nr)
			if gain := parent - child; gain > bestGain {
				bestGain = gain
				nd := &node{dim: d}
				if dim.cat {
					for _, k := range order[:j+1] {
						nd.left |= 1 << uint(int(X[k][d]))
					}
				} else {
					nd.thr = 0.5 * (a + b)
				}
				best = nd
			}
		}
	}
	if best == nil {
		return leaf
	}
	var l, r []int
	for _, i := range idx {
		if f.goesLeft(best, X[i][best.dim]) {
			l = append(l, i)
		} else {
			r = append(r, i)
		}
	}
	best.leftChild = f.grow(X, y, l, depth+1)
	best.rightChild = f.grow(X, y, r, depth+1)
	return best
}

func (f *forest) goesLeft(n *node, x float64) bool {
	if f.dims[n.dim].cat {
		return n.left&(1<<uint(int(x))) != 0
	}
	return x <= n.thr
}

// box is a leaf's region: an interval per numeric feature, a set of choices per categorical.
type box struct {
	lo, hi []float64
	set    []uint64
}

func (f *forest) root() box {
	b := box{lo: make([]float64, len(f.dims)), hi: make([]float64, len(f.dims)), set: make([]uint64, len(f.dims))}
	for d, dim := range f.dims {
		b.lo[d], b.hi[d] = dim.lo, dim.hi
		if dim.cat {
			b.set[d] = (uint64(1) << uint(dim.n)) - 1
			if dim.n == 64 {
				b.set[d] = ^uint64(0)
			}
		}
	}
	return b
}

func (b box) clone() box {
	return box{lo: slices.Clone(b.lo), hi: slices.Clone(b.hi), set: slices.Clone(b.set)}
}

// size is the fraction of feature d's domain the box covers.
func (f *forest) size(b box, d int) float64 {
	dim := f.dims[d]
	if dim.cat {
		return float64(bits.OnesCount64(b.set[d])) / float64(dim.n)
	}
	return (b.hi[d] - b.lo[d]) / (dim.hi - dim.lo)
}

type leafBox struct {
	b     box
	value float64
}

// leaves lists the tree's leaves with their regions, clipped to the space (a leaf outside it
// has zero volume and drops out).
func (f *forest) leaves(n *node, b box, out []leafBox) []leafBox {
	if n.leaf {
		return append(out, leafBox{b, n.value})
	}
	l, r := b.clone(), b.clone()
	if f.dims[n.dim].cat {
		l.set[n.dim] &= n.left
		r.set[n.dim] &^= n.left
	} else {
		l.hi[n.dim] = math.Min(l.hi[n.dim], math.Max(n.thr, l.lo[n.dim]))
		r.lo[n.dim] = math.Max(r.lo[n.dim], math.Min(n.thr, r.hi[n.dim]))
	}
	out = f.leaves(n.leftChild, l, out)
	return f.leaves(n.rightChild, r, out)
}

// importance is, per feature, the mean over trees of the variance of its marginal divided by
// the tree's total variance.
func (f *forest) importance() []float64 {
	out := make([]float64, len(f.dims))
	used := 0
	for _, t := range f.trees {
		ls := f.leaves(t, f.root(), nil)
		vol := make([]float64, len(ls))
		mean := 0.0
		for i, l := range ls {
			v := 1.0
			for d := range f.dims {
				v *= f.size(l.b, d)
			}
			vol[i] = v
			mean += v * l.value
		}
		total := 0.0
		for i, l := range ls {
			total += vol[i] * (l.value - mean) * (l.value - mean)
		}
		if !(total > 0) {
			continue
		}
		used++
		for d, dim := range f.dims {
			// The cells of feature d: its split points, or its choices.
			type cell struct{ lo, hi float64 }
			var cells []cell
			if dim.cat {
				for c := 0; c < dim.n; c++ {
					cells = append(cells, cell{float64(c), float64(c)})
				}
			} else {
				pts := []float64{dim.lo, dim.hi}
				for _, l := range ls {
					pts = append(pts, l.b.lo[d], l.b.hi[d])
				}
				slices.Sort(pts)
				pts = slices.Compact(pts)
				for i := 0; i+1 < len(pts); i++ {
					cells = append(cells, cell{pts[i], pts[i+1]})
				}
			}
			v := 0.0
			for _, c := range cells {
				w := 1.0 / float64(dim.n)
				if !dim.cat {
					w = (c.hi - c.lo) / (dim.hi - dim.lo)
				}
				if w <= 0 {
					continue
				}
				m := 0.0 // the marginal prediction in this cell
				for i, l := range ls {
					var in bool
					if dim.cat {
						in = l.b.set[d]&(1<<uint(int(c.lo))) != 0
					} else {
						in = l.b.lo[d] <= c.lo && c.hi <= l.b.hi[d]
					}
					if in && vol[i] > 0 {
						m += l.value * vol[i] / f.size(l.b, d)
					}
				}
				v += w * (m - mean) * (m - mean)
			}
			out[d] += v / total
		}
	}
	if used > 0 {
		for d := range out {
			out[d] /= float64(used)
		}
	}
	return out
}
