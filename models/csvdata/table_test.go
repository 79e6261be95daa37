package csvdata

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomTable draws a valid table of n rows from a seeded source. Row i's
// first feature is i, so rows can be told apart after a shuffle; the others
// are random, so no test runs on zeros.
func randomTable(seed uint64, n, features, classes int) *Table {
	r := rand.New(rand.NewPCG(seed, 3))
	t := &Table{N: n, Features: features, Classes: classes}
	for i := range n {
		t.X = append(t.X, float32(i))
		for range features - 1 {
			t.X = append(t.X, float32(r.NormFloat64()*3+1))
		}
		t.Labels = append(t.Labels, uint8(r.IntN(classes)))
	}
	for j := range features {
		t.FeatureNames = append(t.FeatureNames, "f"+string(rune('a'+j)))
	}
	for c := range classes {
		t.ClassNames = append(t.ClassNames, string(rune('A'+c)))
	}
	return t
}

// rowIDs returns the first feature of every row: the row's index in the
// table randomTable built.
func rowIDs(t *Table) []int {
	ids := make([]int, t.N)
	for i := range ids {
		ids[i] = int(t.X[i*t.Features])
	}
	return ids
}

func TestSplit(t *testing.T) {
	cases := []struct {
		name             string
		n                int
		frac             float64
		wantTrain, wantV int
	}{
		{"a fifth of 150 rows goes to validation", 150, 0.2, 120, 30},
		{"the validation count is rounded to nearest", 10, 0.25, 7, 3},
		{"a zero fraction keeps every row for training", 10, 0, 10, 0},
		{"a tiny fraction still gives validation one row", 10, 0.001, 9, 1},
		{"a fraction near one still leaves training one row", 10, 0.999, 1, 9},
		{"two rows split one and one for any positive fraction", 2, 0.01, 1, 1},
		{"a single row stays in training", 1, 0.5, 1, 0},
		{"a single row with a zero fraction stays in training", 1, 0, 1, 0},
		{"an empty table splits into two empty tables", 0, 0.3, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tab := randomTable(1, tc.n, 3, 4)
			orig := randomTable(1, tc.n, 3, 4)
			tr, val, err := tab.Split(tc.frac, 42)
			require.NoError(t, err)
			require.NoError(t, tr.Validate())
			require.NoError(t, val.Validate())
			assert.Equal(t, tc.wantTrain, tr.N, "train rows")
			assert.Equal(t, tc.wantV, val.N, "validation rows")
			assert.Equal(t, orig, tab, "Split modified its table")

			// Every row lands in exactly one part, with its features and label.
			ids := append(rowIDs(tr), rowIDs(val)...)
			slices.Sort(ids)
			for i, id := range ids {
				require.Equal(t, i, id, "rows after the split are not a permutation")
			}
			for _, part := range []*Table{tr, val} {
				assert.Equal(t, tab.Features, part.Features)
				assert.Equal(t, tab.Classes, part.Classes)
				assert.Equal(t, tab.FeatureNames, part.FeatureNames)
				assert.Equal(t, tab.ClassNames, part.ClassNames)
				for i, id := range rowIDs(part) {
					assert.Equal(t, tab.X[id*3:id*3+3], part.X[i*3:i*3+3], "row %d", id)
					assert.Equal(t, tab.Labels[id], part.Labels[i], "label of row %d", id)
				}
			}
		})
	}
}

func TestSplitIsDeterministic(t *testing.T) {
	tab := randomTable(2, 100, 2, 3)
	tr1, val1, err := tab.Split(0.3, 7)
	require.NoError(t, err)
	tr2, val2, err := tab.Split(0.3, 7)
	require.NoError(t, err)
	tr3, val3, err := tab.Split(0.3, 8)
	require.NoError(t, err)

	t.Run("the same seed gives the same split in the same order", func(t *testing.T) {
		assert.Equal(t, tr1, tr2)
		assert.Equal(t, val1, val2)
	})
	t.Run("another seed gives another split", func(t *testing.T) {
		assert.NotEqual(t, rowIDs(val1), rowIDs(val3))
		assert.Equal(t, val1.N, val3.N)
		assert.Equal(t, tr1.N, tr3.N)
	})
	t.Run("the parts are copies that do not alias the table", func(t *testing.T) {
		before := slices.Clone(tab.X)
		tr1.X[0], val1.X[0] = -1, -1
		tr1.FeatureNames[0] = "changed"
		assert.Equal(t, before, tab.X)
		assert.Equal(t, "fa", tab.FeatureNames[0])
	})
}

func TestSplitRejectsBadArguments(t *testing.T) {
	cases := []struct {
		name string
		tab  *Table
		frac float64
		want string
	}{
		{"a fraction of one is refused", randomTable(1, 10, 2, 2), 1, "fraction 1 not in [0,1)"},
		{"a negative fraction is refused", randomTable(1, 10, 2, 2), -0.1, "fraction -0.1 not in [0,1)"},
		{"a NaN fraction is refused", randomTable(1, 10, 2, 2), math.NaN(), "fraction NaN not in [0,1)"},
		{"a table whose X is short is refused", &Table{X: []float32{1}, Labels: []uint8{0, 0}, N: 2, Features: 1, Classes: 1}, 0.5, "len(X)=1"},
		{"a table with a label out of range is refused", &Table{X: []float32{1}, Labels: []uint8{3}, N: 1, Features: 1, Classes: 2}, 0.5, "label 3 at row 0"},
		{"a nil table is refused", nil, 0.5, "nil table"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, val, err := tc.tab.Split(tc.frac, 1)
			assert.ErrorIs(t, err, ErrInvalid)
			assert.ErrorContains(t, err, tc.want)
			assert.Nil(t, tr)
			assert.Nil(t, val)
		})
	}
}

// near reports |got-want| <= atol + rtol*|want|.
func near(got, want, atol, rtol float64) bool {
	return math.Abs(got-want) <= atol+rtol*math.Abs(want)
}

func TestStandardize(t *testing.T) {
	t.Run("every feature ends with mean 0 and population std 1", func(t *testing.T) {
		tab := randomTable(3, 500, 4, 3)
		orig := slices.Clone(tab.X)
		mean, std := tab.Standardize()
		require.Len(t, mean, 4)
		require.Len(t, std, 4)
		for j := range 4 {
			// float64 reference from the original values.
			var s, ss float64
			for i := range 500 {
				s += float64(orig[i*4+j])
			}
			m := s / 500
			for i := range 500 {
				d := float64(orig[i*4+j]) - m
				ss += d * d
			}
			sd := math.Sqrt(ss / 500)
			assert.True(t, near(float64(mean[j]), m, 1e-6, 1e-6), "feature %d: mean %v, want %v", j, mean[j], m)
			assert.True(t, near(float64(std[j]), sd, 1e-6, 1e-6), "feature %d: std %v, want %v", j, std[j], sd)

			var zs, zss float64
			for i := range 500 {
				z := float64(tab.X[i*4+j])
				want := (float64(orig[i*4+j]) - m) / sd
				require.True(t, near(z, want, 1e-5, 1e-5), "row %d feature %d: got %v, want %v", i, j, z, want)
				zs += z
				zss += z * z
			}
			assert.InDelta(t, 0, zs/500, 1e-5, "feature %d mean after", j)
			assert.InDelta(t, 1, math.Sqrt(zss/500), 1e-5, "feature %d std after", j)
		}
	})
	t.Run("a constant feature gets std 1 and becomes zeros", func(t *testing.T) {
		tab := &Table{X: []float32{7, 1, 7, 2, 7, 3}, Labels: []uint8{0, 0, 0}, N: 3, Features: 2, Classes: 1}
		mean, std := tab.Standardize()
		assert.Equal(t, []float32{7, 2}, mean)
		assert.Equal(t, float32(1), std[0])
		assert.InDelta(t, math.Sqrt(2.0/3), std[1], 1e-7)
		assert.Equal(t, float32(0), tab.X[0])
		assert.Equal(t, float32(0), tab.X[2])
		assert.Equal(t, float32(0), tab.X[4])
	})
	t.Run("an empty table gets mean 0 and std 1", func(t *testing.T) {
		tab := &Table{Features: 2, Classes: 1}
		mean, std := tab.Standardize()
		assert.Equal(t, []float32{0, 0}, mean)
		assert.Equal(t, []float32{1, 1}, std)
	})
	t.Run("an invalid table is left alone", func(t *testing.T) {
		tab := &Table{X: []float32{1, 2, 3}, Labels: []uint8{0}, N: 1, Features: 2, Classes: 1}
		mean, std := tab.Standardize()
		assert.Nil(t, mean)
		assert.Nil(t, std)
		assert.Equal(t, []float32{1, 2, 3}, tab.X)
	})
	t.Run("a second table is transformed with the first table's statistics", func(t *testing.T) {
		tab := randomTable(4, 200, 3, 2)
		tr, val, err := tab.Split(0.25, 9)
		require.NoError(t, err)
		orig := slices.Clone(val.X)
		mean, std := tr.Standardize()
		require.NoError(t, val.ApplyStandardize(mean, std))
		for i, v := range val.X {
			want := (float64(orig[i]) - float64(mean[i%3])) / float64(std[i%3])
			require.True(t, near(float64(v), want, 1e-6, 1e-6), "value %d: got %v, want %v", i, v, want)
		}
	})
}

func TestApplyStandardizeRejectsBadStatistics(t *testing.T) {
	cases := []struct {
		name      string
		mean, std []float32
		want      string
	}{
		{"too few statistics are refused", []float32{0}, []float32{1}, "1 means and 1 stds for 2 features"},
		{"a zero std is refused", []float32{0, 0}, []float32{1, 0}, "feature 1 has mean 0 and std 0"},
		{"a negative std is refused", []float32{0, 0}, []float32{-1, 1}, "feature 0 has mean 0 and std -1"},
		{"a NaN mean is refused", []float32{float32(math.NaN()), 0}, []float32{1, 1}, "feature 0 has mean NaN"},
		{"an infinite std is refused", []float32{0, 0}, []float32{1, float32(math.Inf(1))}, "std +Inf"},
		{"a std so small that a value overflows is refused", []float32{0, 0}, []float32{1, 1e-38}, "row 0, feature 1: (1000-0)/1e-38 overflows float32"},
	}
	for _, tc := range cases {
		t.Run(tc.name+" and the table is unchanged", func(t *testing.T) {
			tab := &Table{X: []float32{5, 1000, 6, 7}, Labels: []uint8{0, 1}, N: 2, Features: 2, Classes: 2}
			err := tab.ApplyStandardize(tc.mean, tc.std)
			assert.ErrorIs(t, err, ErrInvalid)
			assert.ErrorContains(t, err, tc.want)
			assert.Equal(t, []float32{5, 1000, 6, 7}, tab.X)
		})
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		tab  *Table
		want string
	}{
		{"zero features are refused", &Table{Classes: 1}, "Features=0"},
		{"more than 256 classes are refused", &Table{Features: 1, Classes: 257}, "Classes=257"},
		{"a short Labels slice is refused", &Table{X: []float32{1}, N: 1, Features: 1, Classes: 1}, "len(Labels)=0"},
		{"feature names of the wrong count are refused", &Table{Features: 2, Classes: 1, FeatureNames: []string{"a"}}, "1 feature names for 2 features"},
		{"class names of the wrong count are refused", &Table{Features: 1, Classes: 2, ClassNames: []string{"a"}}, "1 class names for 2 classes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.tab.Validate()
			assert.ErrorIs(t, err, ErrInvalid)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
