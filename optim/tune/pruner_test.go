package tune

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestASHARungsAreAtMinTimesEtaPowers(t *testing.T) {
	a := ASHA{MinEpochs: 1, Eta: 3, MaxEpochs: 27}
	var at []int
	for e := 1; e <= 27; e++ {
		if a.Decides(0, e) {
			at = append(at, e)
		}
	}
	assert.Equal(t, []int{1, 3, 9}, at, "no decision at the last epoch: the trial is complete")
	a.Rate = 1
	assert.False(t, a.Decides(0, 1))
	assert.True(t, a.Decides(0, 3))
	assert.Equal(t, 0, a.rung(3))
}

func TestASHAKeepsTheTopThird(t *testing.T) {
	a := ASHA{MinEpochs: 1, Eta: 3, MaxEpochs: 9}
	cases := []struct {
		v     float64
		peers []float64
		prune bool
		cut   float64
		keep  int
	}{
		{0.5, nil, false, 0.5, 1},                                // alone: the best goes on
		{0.5, []float64{0.4}, true, 0.4, 1},                      // two: only the best
		{0.3, []float64{0.4, 0.6}, false, 0.3, 1},                // three: floor(3/3) = 1
		{0.45, []float64{0.4, 0.6, 0.1, 0.9, 0.7}, true, 0.4, 2}, // six: the best two
		{0.4, []float64{0.4, 0.6, 0.1, 0.9, 0.7}, false, 0.4, 2}, // a tie with the cut goes on
		{0.2, []float64{math.NaN(), 0.6}, false, 0.2, 1},         // a NaN peer is the worst
	}
	for _, c := range cases {
		prune, why := a.Decide(0, 1, []float64{c.v}, c.peers)
		assert.Equal(t, c.prune, prune, "%v among %v", c.v, c.peers)
		assert.Equal(t, c.cut, why.Threshold)
		assert.Equal(t, c.keep, why.Keep)
		assert.Equal(t, len(c.peers)+1, why.Peers)
	}
	prune, why := a.Decide(0, 1, []float64{math.NaN()}, nil)
	assert.True(t, prune)
	assert.Equal(t, "nan", why.Rule)
}

func TestHyperbandSpreadsTrialsByBracketBudget(t *testing.T) {
	h := Hyperband{MinEpochs: 1, Eta: 3, MaxEpochs: 27}
	assert.Equal(t, 4, h.brackets())
	assert.Equal(t, []int{27, 12, 6, 4}, h.budgets())
	counts := make([]int, 4)
	for k := 0; k < 4900; k++ {
		counts[h.Bracket(1, k)]++
	}
	for b, want := range []float64{27, 12, 6, 4} {
		assert.InDelta(t, want/49*4900, counts[b], 90, "bracket %d", b)
	}
	assert.True(t, h.Decides(0, 1))
	assert.False(t, h.Decides(1, 1))
	assert.True(t, h.Decides(1, 3))
	assert.False(t, h.Decides(3, 9), "the last bracket never prunes")
	_, why := h.Decide(2, 9, make([]float64, 9), []float64{-1, -2})
	assert.Equal(t, "hyperband", why.Rule)
	assert.Equal(t, 2, why.Bracket)
	assert.Contains(t, why.String(), "hyperband rung 0 of bracket 2 (epoch 9)")
}

func TestMedianComparesTheBestSoFarWithThePeersMedian(t *testing.T) {
	m := Median{Startup: 3, MaxEpochs: 5}
	prune, _ := m.Decide(0, 2, []float64{0.9, 0.8}, []float64{0.1, 0.2})
	assert.False(t, prune, "fewer peers than the startup count")
	prune, why := m.Decide(0, 2, []float64{0.3, 0.8}, []float64{0.1, 0.2, 0.25, 0.5})
	assert.True(t, prune)
	assert.InDelta(t, 0.225, why.Threshold, 1e-15)
	assert.Equal(t, 0.3, why.Value, "the best loss so far, not this epoch's")
	prune, _ = m.Decide(0, 2, []float64{0.2, 0.8}, []float64{0.1, 0.2, 0.25, 0.5})
	assert.False(t, prune)
	m.Warmup, m.Interval = 1, 2
	assert.False(t, m.Decides(0, 1))
	assert.True(t, m.Decides(0, 2))
	assert.False(t, m.Decides(0, 3))
	assert.True(t, m.Decides(0, 4))
	assert.False(t, m.Decides(0, 5), "the last epoch")
}

func TestAReasonWithNaNRoundTripsThroughJSON(t *testing.T) {
	r := Reason{Rule: "nan", Epoch: 2, Value: math.NaN(), Threshold: 0.5, Peers: 3}
	b, err := json.Marshal(r)
	assert.NoError(t, err)
	var back Reason
	assert.NoError(t, json.Unmarshal(b, &back))
	assert.True(t, math.IsNaN(back.Value))
	back.Value = 0
	r.Value = 0
	assert.Equal(t, r, back)
}
