package tune

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTheIssuesGridHas240Points(t *testing.T) {
	s, err := ParseSpace([]string{"lr=loguniform:1e-4:1:grid=5", "optimizer=choice:sgd,momentum,adam,rmsprop",
		"activation=choice:relu,tanh,sigmoid,gelu", "batch=logint:32:512:grid=3"})
	require.NoError(t, err)
	g := Grid{}
	assert.Equal(t, []Value{{Num: 1e-4}, {Num: 1e-3}, {Num: 1e-2}, {Num: 1e-1}, {Num: 1}}, g.GridValues(s.Param("lr")))
	assert.Equal(t, []Value{{Num: 32}, {Num: 128}, {Num: 512}}, g.GridValues(s.Param("batch")))
	all := g.All(s)
	require.Len(t, all, 240)
	seen := map[string]bool{}
	for k := range all {
		v, err := g.Sample(s, k, nil, nil)
		require.NoError(t, err)
		seen[s.Describe(v)] = true
	}
	assert.Len(t, seen, 240, "the shuffled walk repeats a point")
	_, err = g.Sample(s, 240, nil, nil)
	assert.ErrorContains(t, err, "past the grid's 240 points")
}

func TestAConditionalParameterMultipliesOnlyItsBranch(t *testing.T) {
	s, err := ParseSpace([]string{"optimizer=choice:sgd,adam", "momentum=uniform:0:0.9:grid=3:if=optimizer=sgd", "width=int:1:2"})
	require.NoError(t, err)
	assert.Len(t, Grid{}.All(s), (3+1)*2)
}

func TestRandomSamplingStaysInTheSpaceAndIsUniformInLogSpace(t *testing.T) {
	s := synthSpace(t)
	var logs []float64
	counts := map[string]int{}
	for k := 0; k < 4000; k++ {
		v, err := Random{}.Sample(s, k, nil, trialRNG(1, k, 0))
		require.NoError(t, err)
		require.NoError(t, s.Check(v))
		logs = append(logs, math.Log10(v["lr"].Num))
		counts[v["optimizer"].Choice]++
		b := v["batch"].Num
		assert.True(t, b >= 32 && b <= 512 && b == math.Trunc(b))
	}
	below := 0
	for _, l := range logs {
		if l < -2 {
			below++
		}
	}
	assert.InDelta(t, 0.5, float64(below)/4000, 0.03, "half of a log-uniform 1e-4..1 lies below 1e-2")
	for _, c := range []string{"sgd", "momentum", "adam", "rmsprop"} {
		assert.InDelta(t, 1000, counts[c], 120, c)
	}
	a, _ := Random{}.Sample(s, 5, nil, trialRNG(1, 5, 0))
	b, _ := Random{}.Sample(s, 5, nil, trialRNG(1, 5, 0))
	c, _ := Random{}.Sample(s, 6, nil, trialRNG(1, 6, 0))
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, c)
}

func TestOptunasDefaultWeights(t *testing.T) {
	assert.Equal(t, []float64{1, 1, 1}, weights(3))
	w := weights(30)
	require.Len(t, w, 30)
	// numpy.linspace(1/30, 1, 5), then 25 ones.
	for i, want := range []float64{1.0 / 30, 1.0/30 + (1-1.0/30)/4, 1.0/30 + 2*(1-1.0/30)/4, 1.0/30 + 3*(1-1.0/30)/4, 1} {
		assert.InDelta(t, want, w[i], 1e-15)
	}
	for _, x := range w[5:] {
		assert.Equal(t, 1.0, x)
	}
}

func TestNeighbourBandwidths(t *testing.T) {
	// Observations 0.2, 0.5, 0.9 in [0, 1]: the middle one takes its larger gap (0.4); the ends
	// take their inner gaps (0.3, 0.4); the floor is 1/min(100, 1+kernels).
	assert.InDeltaSlice(t, []float64{0.4, 0.3, 0.4}, neighbourSigmas([]float64{0.5, 0.2, 0.9}, 0, 1, 4), 1e-15)
	assert.InDeltaSlice(t, []float64{0.25, 0.25}, neighbourSigmas([]float64{0.5, 0.51}, 0, 1, 3), 1e-15)
	assert.InDeltaSlice(t, []float64{0.5}, neighbourSigmas([]float64{0.5}, 0, 1, 2), 1e-15)
}

func TestLogMassIsAccurateInBothTails(t *testing.T) {
	assert.InDelta(t, math.Log(0.682689492137086), logMass(-1, 1), 1e-12)
	assert.InDelta(t, logMass(2, 3), logMass(-3, -2), 1e-12)
	assert.InDelta(t, math.Log(stdNormCDF(3)-stdNormCDF(2)), logMass(2, 3), 1e-12)
	// Far in the tail: log(Φ(-40)) ≈ -40²/2 - log(40·√(2π)).
	far := logMass(40, 41)
	assert.InDelta(t, -800-math.Log(40*math.Sqrt(2*math.Pi)), far, 0.01)
	assert.True(t, math.IsInf(logMass(1, 1), -1))
}

// The estimator's density integrates to one over the space, per kind of parameter.
func TestParzenDensitiesAreNormalised(t *testing.T) {
	s, err := ParseSpace([]string{"lr=loguniform:1e-4:1", "batch=logint:32:512", "w=int:1:9", "opt=choice:a,b,c"})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(3, 4))
	var obs []Observation
	for k := 0; k < 12; k++ {
		v, _ := Random{}.Sample(s, k, nil, rng)
		obs = append(obs, Observation{Index: k, Params: v})
	}
	for _, n := range []int{0, 1, 12} {
		for i := range s.Params {
			p := &s.Params[i]
			pz := newParzen([]*Param{p}, obs[:n], 1)
			total := 0.0
			switch {
			case p.Kind == Choice:
				for c := range p.Choices {
					total += math.Exp(pz.logPDF([][]float64{{float64(c)}})[0])
				}
			case p.Kind == Int:
				for x := p.Low; x <= p.High; x++ {
					total += math.Exp(pz.logPDF([][]float64{{x}})[0])
				}
			default:
				const m = 20000
				lo, hi := math.Log(p.Low), math.Log(p.High)
				h := (hi - lo) / m
				for j := 0; j < m; j++ {
					total += math.Exp(pz.logPDF([][]float64{{math.Exp(lo + (float64(j)+0.5)*h)}})[0]) * h
				}
			}
			assert.InDelta(t, 1, total, 2e-3, "%s with %d observations", p.Name, n)
		}
	}
}

// Samples from the estimator follow its density (checked on the mean of a numeric parameter).
func TestParzenSamplesFollowTheDensity(t *testing.T) {
	s, err := ParseSpace([]string{"x=uniform:0:10", "o=choice:a,b"})
	require.NoError(t, err)
	obs := []Observation{{Params: Values{"x": {Num: 2}, "o": {Choice: "a"}}}, {Params: Values{"x": {Num: 3}, "o": {Choice: "a"}}}}
	g := []*Param{&s.Params[0], &s.Params[1]}
	pz := newParzen(g, obs, 1)
	pts := pz.sample(rand.New(rand.NewPCG(1, 2)), 200000)
	var mean, meanPDF, pa float64
	for _, p := range pts {
		mean += p[0]
		if p[1] == 0 {
			pa++
		}
	}
	mean /= float64(len(pts))
	pa /= float64(len(pts))
	const m = 20000
	for j := 0; j < m; j++ {
		x := (float64(j) + 0.5) * 10 / m
		// The marginal in x: sum over the choice.
		d := math.Exp(pz.logPDF([][]float64{{x, 0}})[0]) + math.Exp(pz.logPDF([][]float64{{x, 1}})[0])
		meanPDF += x * d * 10 / m
	}
	assert.InDelta(t, meanPDF, mean, 0.03)
	// Kernels: two observed (weight 1 each, each 1+1/3 on "a" out of 1+2/3) and the prior (1/2 on "a").
	want := (2*(1+1.0/3)/(1+2.0/3) + 0.5) / 3
	assert.InDelta(t, want, pa, 0.005)
}

func TestSplitRanksCompleteThenPrunedTrials(t *testing.T) {
	obs := []Observation{
		{Index: 0, State: Complete, Loss: 0.5},
		{Index: 1, State: Pruned, Steps: []float64{0.1}},
		{Index: 2, State: Pruned, Steps: []float64{0.9, 0.8}},
		{Index: 3, State: Complete, Loss: 0.2},
		{Index: 4, State: Running},
		{Index: 5, State: Complete, Loss: math.NaN()},
	}
	idx := func(os []Observation) []int {
		var out []int
		for _, o := range os {
			out = append(out, o.Index)
		}
		return out
	}
	b, a := splitTrials(obs, 1)
	assert.Equal(t, []int{3}, idx(b))
	assert.Equal(t, []int{0, 1, 2, 4, 5}, idx(a))
	b, _ = splitTrials(obs, 4)
	// Complete by loss (NaN last), then pruned by epochs reached; each side in index order.
	assert.Equal(t, []int{0, 2, 3, 5}, idx(b))
}

func TestTPEProposesValidPointsAndRespectsConditions(t *testing.T) {
	s := synthSpace(t)
	tpe := TPE{Startup: 5}
	var hist []Observation
	for k := 0; k < 40; k++ {
		v, err := tpe.Sample(s, k, hist, trialRNG(9, k, 0))
		require.NoError(t, err)
		require.NoError(t, s.Check(v), "trial %d", k)
		hist = append(hist, Observation{Index: k, Params: v, State: Complete, Loss: -synthValue(v, 4)})
	}
}

// bestAfter runs a sequential study of n trials on the synthetic objective and returns the best
// value.
func bestAfter(t *testing.T, smp Sampler, seed uint64, n int) float64 {
	s := synthSpace(t)
	var hist []Observation
	best := math.Inf(-1)
	for k := 0; k < n; k++ {
		v, err := smp.Sample(s, k, hist, trialRNG(seed, k, 0))
		require.NoError(t, err)
		val := synthValue(v, 4)
		best = math.Max(best, val)
		hist = append(hist, Observation{Index: k, Params: v, State: Complete, Loss: -val})
	}
	return best
}

func TestTPEFindsBetterPointsThanRandomSearch(t *testing.T) {
	var tpe, rnd []float64
	for seed := uint64(1); seed <= 7; seed++ {
		tpe = append(tpe, bestAfter(t, TPE{Startup: 10}, seed, 60))
		rnd = append(rnd, bestAfter(t, Random{}, seed, 60))
		// Univariate TPE works too.
		assert.Greater(t, bestAfter(t, TPE{Startup: 10, Univariate: true}, seed, 60), 0.85)
	}
	slices.Sort(tpe)
	slices.Sort(rnd)
	t.Logf("median best after 60 trials: TPE %.4f, random %.4f (optimum 0.945)", tpe[3], rnd[3])
	assert.Greater(t, tpe[3], rnd[3])
	assert.Greater(t, tpe[3], 0.94)
}

func TestSamplerAndPrunerSpecs(t *testing.T) {
	for spec, want := range map[string]string{
		"tpe":                         "tpe(startup=10,candidates=24,prior=1,generation=4)",
		"tpe:startup=5,candidates=48": "tpe(startup=5,candidates=48,prior=1,generation=4)",
		"tpe:univariate,prior=2":      "tpe(startup=10,candidates=24,prior=2,generation=4,univariate)",
		"random":                      "random",
		"grid:points=3,ordered":       "grid(points=3,ordered)",
	} {
		s, err := ParseSampler(spec, 1, 4)
		require.NoError(t, err, spec)
		assert.Equal(t, want, s.String())
	}
	for spec, want := range map[string]string{
		"bayes":            `unknown sampler "bayes"`,
		"tpe:startup=x":    "startup=x",
		"tpe:candidates=0": "candidates=0",
		"tpe:prior=-1":     "prior=-1",
		"tpe:gamma=3":      `unknown option "gamma"`,
	} {
		_, err := ParseSampler(spec, 1, 4)
		assert.ErrorContains(t, err, want, spec)
	}
	for spec, want := range map[string]string{
		"asha":             "asha(min=1,eta=3,rate=0)",
		"asha:min=2,eta=4": "asha(min=2,eta=4,rate=0)",
		"hyperband":        "hyperband(min=1,eta=3,brackets=4)",
		"median:startup=2": "median(startup=2,warmup=0,interval=1)",
		"none":             "none",
	} {
		p, err := ParsePruner(spec, 27)
		require.NoError(t, err, spec)
		assert.Equal(t, want, p.String())
	}
	for spec, want := range map[string]string{
		"sha":              `unknown pruner "sha"`,
		"asha:eta=1":       "eta=1: want at least 2",
		"asha:min=x":       "min=x",
		"hyperband:min=40": "more than the 27 epochs",
		"median:speed=2":   `unknown option "speed"`,
	} {
		_, err := ParsePruner(spec, 27)
		assert.ErrorContains(t, err, want, spec)
	}
}
