package tune

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestImportanceFindsTheParameterThatMatters(t *testing.T) {
	s, err := ParseSpace([]string{"lr=loguniform:1e-4:1", "opt=choice:a,b,c,d", "noise=uniform:0:1", "w=int:1:10"})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 1))
	var trials []*TrialRecord
	for k := 0; k < 150; k++ {
		v, _ := Random{}.Sample(s, k, nil, rng)
		lr := math.Log10(v["lr"].Num)
		val := -(lr + 2) * (lr + 2) // lr matters most
		if v["opt"].Choice == "b" {
			val += 1.5 // opt a little
		}
		val += 0.01 * v["noise"].Num
		trials = append(trials, &TrialRecord{Index: k, State: Complete, Params: v, Value: val})
	}
	trials = append(trials, &TrialRecord{Index: 150, State: Pruned, Params: trials[0].Params, Value: 100})
	imp, err := Importance(s, trials, 3)
	require.NoError(t, err)
	require.Len(t, imp, 4)
	assert.Equal(t, "lr", imp[0].Name)
	assert.Equal(t, "opt", imp[1].Name)
	sum := 0.0
	for _, p := range imp {
		sum += p.Importance
		assert.GreaterOrEqual(t, p.Fraction, 0.0)
		assert.LessOrEqual(t, p.Fraction, 1.0+1e-9)
	}
	assert.InDelta(t, 1, sum, 1e-9)
	assert.Greater(t, imp[0].Importance, 0.6)
	assert.Less(t, imp[2].Importance+imp[3].Importance, 0.05)
	t.Logf("%+v", imp)
}

// On a purely additive function, the main effects explain all of the variance: fANOVA's
// fractions sum to (nearly) one.
func TestImportanceOfAnAdditiveFunctionSumsToOne(t *testing.T) {
	s, err := ParseSpace([]string{"x=uniform:0:1", "c=choice:p,q"})
	require.NoError(t, err)
	var trials []*TrialRecord
	for i := 0; i < 20; i++ {
		for _, c := range []string{"p", "q"} {
			x := (float64(i) + 0.5) / 20
			v := x
			if c == "q" {
				v += 0.5
			}
			trials = append(trials, &TrialRecord{State: Complete, Params: Values{"x": {Num: x}, "c": {Choice: c}}, Value: v})
		}
	}
	imp, err := Importance(s, trials, 1)
	require.NoError(t, err)
	assert.InDelta(t, 1, imp[0].Fraction+imp[1].Fraction, 0.05)
	// Var(x) over [0,1] = 1/12; Var(0.5·[c=q]) = 1/16: shares 4/7 and 3/7.
	for _, p := range imp {
		want := map[string]float64{"x": 4.0 / 7, "c": 3.0 / 7}[p.Name]
		assert.InDelta(t, want, p.Importance, 0.06, p.Name)
	}
}

func TestImportanceNeedsCompleteTrials(t *testing.T) {
	s, _ := ParseSpace([]string{"x=uniform:0:1"})
	_, err := Importance(s, []*TrialRecord{{State: Complete, Params: Values{"x": {Num: 0.5}}, Value: 1}}, 1)
	assert.ErrorContains(t, err, "at least two complete trials")
}
