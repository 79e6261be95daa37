package train_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
	"github.com/stretchr/testify/require"
)

// BenchmarkDiagnosticsOverhead times training steps without diagnostics and with diagnostics
// every 10 steps (Config.Diagnostics = 10), batch 128, Adam, in the same process: each iteration
// is 10 steps on a trainer of each kind, alternating, so that machine noise falls on both. It
// reports both times per step and overhead-% = 100·(with/without - 1) for the median round, the
// figure the 5% budget is about. The models: the MLP of BenchmarkTrainStep (784-256-256-10, ReLU) and the deep sigmoid
// MLP of the README's diagnostics section (784 and six hidden layers of 64), where the per-layer
// work is largest against the step's.
//
//	go test ./backend/train -run xxx -bench DiagnosticsOverhead -count 5
func BenchmarkDiagnosticsOverhead(b *testing.B) {
	for _, c := range []struct {
		name, spec string
		act        kernels.Activation
	}{
		{"784-256-256-10 relu", "784-256-256-10", kernels.ReLU},
		{"784-64x6-10 sigmoid", "784-64-64-64-64-64-64-10", kernels.Sigmoid},
	} {
		b.Run(c.name, func(b *testing.B) {
			const batch, every = 128, 10
			spec, err := models.ParseSpec(c.spec, c.act, kernels.SoftmaxCrossEntropy)
			require.NoError(b, err)
			data := blobs(b, 1024, 784, 10, 1)
			idx := make([]int, batch)
			for i := range idx {
				idx[i] = i
			}
			mk := func(diag int) *train.Trainer {
				cfg := train.Config{Model: spec, Device: newDevice(b), Optimizer: optim.MustNamed("adam", 1e-3), BatchSize: batch, Seed: 1, Diagnostics: diag}
				if diag > 0 {
					cfg.OnDiagnostics = func(train.Diagnostics) error { return nil }
				}
				tr, err := train.New(cfg)
				require.NoError(b, err)
				b.Cleanup(tr.Close)
				return tr
			}
			plain, diag := mk(0), mk(every)
			steps := func(tr *train.Trainer) time.Duration {
				start := time.Now()
				for range every {
					if _, _, err := tr.TrainStep(data, idx); err != nil {
						b.Fatal(err)
					}
				}
				return time.Since(start)
			}
			steps(plain) // compile the plans, warm the caches
			steps(diag)
			var tp, td time.Duration
			ratios := make([]float64, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p, d := steps(plain), steps(diag)
				tp, td = tp+p, td+d
				ratios = append(ratios, float64(d)/float64(p))
			}
			n := float64(b.N * every)
			b.ReportMetric(float64(tp.Nanoseconds())/n, "plain-ns/step")
			b.ReportMetric(float64(td.Nanoseconds())/n, "diag-ns/step")
			// The median of the rounds' ratios: a burst of load from elsewhere spoils a round,
			// not the figure.
			slices.Sort(ratios)
			b.ReportMetric(100*(ratios[len(ratios)/2]-1), "overhead-%")
		})
	}
}
