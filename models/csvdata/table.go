package csvdata

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Validate checks that t is internally consistent: the lengths agree with N,
// Features and Classes, every label is below Classes, and the name lists,
// when present, have one name per feature and per class. Read always returns
// valid tables; Validate is for tables built or modified by hand.
func (t *Table) Validate() error {
	switch {
	case t == nil:
		return fmt.Errorf("csvdata: nil table: %w", ErrInvalid)
	case t.N < 0 || t.Features < 1 || t.Classes < 1 || t.Classes > MaxClasses:
		return fmt.Errorf("csvdata: table has N=%d, Features=%d, Classes=%d; want N >= 0, Features >= 1, 1 <= Classes <= %d: %w",
			t.N, t.Features, t.Classes, MaxClasses, ErrInvalid)
	case len(t.X) != t.N*t.Features:
		return fmt.Errorf("csvdata: table has len(X)=%d, want N*Features=%d*%d=%d: %w",
			len(t.X), t.N, t.Features, t.N*t.Features, ErrInvalid)
	case len(t.Labels) != t.N:
		return fmt.Errorf("csvdata: table has len(Labels)=%d, want N=%d: %w", len(t.Labels), t.N, ErrInvalid)
	case t.FeatureNames != nil && len(t.FeatureNames) != t.Features:
		return fmt.Errorf("csvdata: table has %d feature names for %d features: %w", len(t.FeatureNames), t.Features, ErrInvalid)
	case t.ClassNames != nil && len(t.ClassNames) != t.Classes:
		return fmt.Errorf("csvdata: table has %d class names for %d classes: %w", len(t.ClassNames), t.Classes, ErrInvalid)
	}
	for i, l := range t.Labels {
		if int(l) >= t.Classes {
			return fmt.Errorf("csvdata: table label %d at row %d not in [0,%d): %w", l, i, t.Classes, ErrInvalid)
		}
	}
	return nil
}

// Split shuffles the rows with a PCG generator seeded by seed and deals the
// first round(valFraction*N) of them to val and the rest to train, so the
// same seed always gives the same split. When valFraction > 0 and N >= 2
// both parts get at least one row; train never gets none unless N is 0. The
// split is not stratified: on a small set a rare class can miss val.
//
// Both tables are copies in shuffled row order, with t's Features, Classes and
// names (a class absent from a part keeps its index). valFraction must be in
// [0,1).
func (t *Table) Split(valFraction float64, seed uint64) (train, val *Table, err error) {
	if err := t.Validate(); err != nil {
		return nil, nil, fmt.Errorf("csvdata: split: %w", err)
	}
	if !(valFraction >= 0 && valFraction < 1) { // also refuses NaN
		return nil, nil, fmt.Errorf("csvdata: split: validation fraction %v not in [0,1): %w", valFraction, ErrInvalid)
	}
	nVal := min(int(math.Round(valFraction*float64(t.N))), max(t.N-1, 0))
	if valFraction > 0 && t.N >= 2 {
		nVal = max(nVal, 1)
	}
	perm := rand.New(rand.NewPCG(seed, 0x5851f42d4c957f2d)).Perm(t.N)
	return t.rows(perm[nVal:]), t.rows(perm[:nVal]), nil
}

// rows copies the given rows of t into a new table.
func (t *Table) rows(idx []int) *Table {
	f := t.Features
	s := &Table{
		X:            make([]float32, 0, len(idx)*f),
		Labels:       make([]uint8, 0, len(idx)),
		N:            len(idx),
		Features:     f,
		Classes:      t.Classes,
		FeatureNames: slices.Clone(t.FeatureNames),
		ClassNames:   slices.Clone(t.ClassNames),
	}
	for _, i := range idx {
		s.X = append(s.X, t.X[i*f:(i+1)*f]...)
		s.Labels = append(s.Labels, t.Labels[i])
	}
	return s
}

// Standardize rescales every feature to zero mean and unit variance over
// t's rows (the z-score, as scikit-learn's StandardScaler: the population
// standard deviation, divided by N), and returns the statistics it used, so
// that ApplyStandardize can transform a validation or test table with the
// training set's numbers. A constant feature gets std 1, so it becomes all
// zeros rather than NaN; an empty table gets mean 0 and std 1.
//
// The sums run in float64. t must be valid (see Validate); an invalid table
// is left alone and nil, nil returned.
func (t *Table) Standardize() (mean, std []float32) {
	if t.Validate() != nil {
		return nil, nil
	}
	f := t.Features
	sum := make([]float64, f)
	for i, v := range t.X {
		sum[i%f] += float64(v)
	}
	mean = make([]float32, f)
	m := make([]float64, f)
	for j := range m {
		if t.N > 0 {
			m[j] = sum[j] / float64(t.N)
		}
		mean[j] = float32(m[j])
	}
	clear(sum)
	for i, v := range t.X {
		d := float64(v) - m[i%f]
		sum[i%f] += d * d
	}
	std = make([]float32, f)
	for j := range std {
		if t.N > 0 {
			std[j] = float32(math.Sqrt(sum[j] / float64(t.N)))
		}
		if std[j] == 0 {
			std[j] = 1
		}
	}
	// With std from the data, |x-mean|/std <= sqrt(N), so this cannot fail.
	_ = t.ApplyStandardize(mean, std)
	return mean, std
}

// ApplyStandardize sets every feature value x to (x-mean[j])/std[j], with the
// statistics of another table's Standardize. Both slices need Features
// entries, means must be finite and stds finite and positive. If a result
// would not be finite as float32 (a tiny std), it returns an error and leaves
// t unchanged.
func (t *Table) ApplyStandardize(mean, std []float32) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("csvdata: standardize: %w", err)
	}
	f := t.Features
	if len(mean) != f || len(std) != f {
		return fmt.Errorf("csvdata: standardize: %d means and %d stds for %d features: %w", len(mean), len(std), f, ErrInvalid)
	}
	for j := range f {
		m, s := float64(mean[j]), float64(std[j])
		if math.IsNaN(m) || math.IsInf(m, 0) || !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("csvdata: standardize: feature %d has mean %v and std %v; want a finite mean and a finite positive std: %w",
				j, m, s, ErrInvalid)
		}
	}
	z := func(i int) float32 { return float32((float64(t.X[i]) - float64(mean[i%f])) / float64(std[i%f])) }
	for i := range t.X {
		if v := z(i); math.IsInf(float64(v), 0) {
			return fmt.Errorf("csvdata: standardize: row %d, feature %d: (%v-%v)/%v overflows float32: %w",
				i/f, i%f, t.X[i], mean[i%f], std[i%f], ErrInvalid)
		}
	}
	for i := range t.X {
		t.X[i] = z(i)
	}
	return nil
}
