package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gotrain/gotrain/optim/tune"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTuneBudget is the budget experiment: TPE with ASHA against the full grid
// (lr 5 values, optimizer 4, activation 4, batch 3: 240 runs of 3 epochs) on the built-in MNIST
// subset, validation accuracy on a held-out 20% of its training set, median over 5 study seeds,
// with random search on the same budget beside it. It takes tens of minutes, so it runs only
// when asked:
//
//	GOTRAIN_TUNE_BUDGET=1 go test -run TestTuneBudget -timeout 3h -v ./cmd/gotrain/
//
// GOTRAIN_TUNE_BUDGET_DIR keeps the studies (reruns resume them); GOTRAIN_TUNE_BUDGET_TRIALS
// sets the TPE and random+ASHA trial count (default 80).
func TestTuneBudget(t *testing.T) {
	if os.Getenv("GOTRAIN_TUNE_BUDGET") == "" {
		t.Skip("the budget experiment takes tens of minutes: set GOTRAIN_TUNE_BUDGET=1")
	}
	dir := os.Getenv("GOTRAIN_TUNE_BUDGET_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	n := 80
	if s := os.Getenv("GOTRAIN_TUNE_BUDGET_TRIALS"); s != "" {
		var err error
		n, err = strconv.Atoi(s)
		require.NoError(t, err)
	}
	common := []string{"-epochs", "3", "-val-split", "0.2", "-seed", "1", "-parallel", "2", "-workers", "1", "-progress", "none",
		"-param", "lr=loguniform:1e-4:1:grid=5", "-param", "optimizer=choice:sgd,momentum,adam,rmsprop",
		"-param", "activation=choice:relu,tanh,sigmoid,gelu", "-param", "batch=logint:32:512:grid=3"}
	type result struct {
		best   float64
		epochs int
		wall   time.Duration
		params string
	}
	study := func(name string, extra ...string) result {
		d := filepath.Join(dir, name)
		start := time.Now()
		args := append(append([]string{"tune", "-dir", d}, common...), extra...)
		code, _, errS := runCLI(t, context.Background(), args...)
		require.Equal(t, 0, code, errS)
		store, err := tune.OpenStore(context.Background(), filepath.Join(d, "study.db"))
		require.NoError(t, err)
		defer store.Close()
		st, err := tune.LoadStudy(context.Background(), store, "default")
		require.NoError(t, err)
		trials, err := st.Trials(context.Background())
		require.NoError(t, err)
		c := tune.Count(st.Cfg, trials)
		require.NotNil(t, c.Best, name)
		r := result{best: c.Best.Value, epochs: c.Epochs, wall: time.Since(start), params: st.Cfg.Space.Describe(c.Best.Params)}
		t.Logf("%-22s best %.2f%% (%s), %d epochs, %.0fs", name, 100*r.best, r.params, r.epochs, r.wall.Seconds())
		return r
	}
	// 240 runs of 3 epochs: 720 epochs (runs that diverge stop early, so it reports fewer).
	grid := study("grid", "-sampler", "grid", "-pruner", "none")
	kinds := []struct{ name, sampler, pruner, trials string }{
		{"tpe+asha", "tpe", "asha", strconv.Itoa(n)},
		{"random+asha", "random", "asha", strconv.Itoa(n)},
		{"random", "random", "none", "60"}, // 60 full runs: 180 epochs, a quarter of the grid's
	}
	summary := fmt.Sprintf("grid (240 runs, %d epochs; diverged runs stop early): best %.2f%% (%s)\n", grid.epochs, 100*grid.best, grid.params)
	medians := map[string]float64{}
	for _, k := range kinds {
		var gaps []float64
		var epochs []int
		for seed := 1; seed <= 5; seed++ {
			r := study(fmt.Sprintf("%s-%d", k.name, seed), "-sampler", k.sampler, "-pruner", k.pruner, "-trials", k.trials,
				"-study-seed", strconv.Itoa(seed))
			gaps = append(gaps, 100*(grid.best-r.best))
			epochs = append(epochs, r.epochs)
		}
		sorted := slices.Clone(gaps)
		slices.Sort(sorted)
		medians[k.name] = sorted[2]
		summary += fmt.Sprintf("%-12s %s trials: gap to the grid's best (points) per seed %v, median %.2f; epochs %v (max %d = %.0f%% of the grid's)\n",
			k.name, k.trials, round2(gaps), sorted[2], epochs, slices.Max(epochs), 100*float64(slices.Max(epochs))/720)
		if k.name == "tpe+asha" {
			assert.LessOrEqual(t, slices.Max(epochs), 180, "TPE+ASHA used more than a quarter of the grid's epochs")
		}
	}
	t.Log("\n" + summary)
	assert.LessOrEqual(t, medians["tpe+asha"], 0.3, "TPE+ASHA's median is more than 0.3 points below the grid's best")
}

func round2(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Round(100*x) / 100
	}
	return out
}
