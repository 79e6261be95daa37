package tune

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// trivial reports one epoch of the synthetic value: what is left is the study's own cost
// (claims, reports, sampling, the database).
var trivial = ObjectiveFunc(func(ctx context.Context, t *Trial) error {
	for e := 1; e <= t.MaxEpochs; e++ {
		if err := t.Report(ctx, e, synthValue(t.Params, 4)); err != nil {
			return err
		}
	}
	return nil
})

// BenchmarkStudy runs whole studies of a trivial objective on SQLite with one worker:
//
//	go test -run xxx -bench Study -benchtime 1x -count 5 ./optim/tune/
//
// It reports the cost per trial; random search beside TPE shows what the sampler adds.
func BenchmarkStudy(b *testing.B) {
	for _, sampler := range []string{"tpe", "random"} {
		for _, n := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/trials=%d", sampler, n), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					cfg, err := configFor(sampler, "none", n)
					if err != nil {
						b.Fatal(err)
					}
					cfg.MaxEpochs = 1
					ctx := context.Background()
					store, err := OpenStore(ctx, filepath.Join(b.TempDir(), "bench.db"))
					if err != nil {
						b.Fatal(err)
					}
					st, err := OpenStudy(ctx, store, "bench", cfg)
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					start := time.Now()
					if err := (&Worker{Study: st, ID: "w", Objective: trivial}).Run(ctx); err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(time.Since(start).Microseconds())/float64(n), "µs/trial")
					b.StopTimer()
					store.Close()
				}
			})
		}
	}
}

// BenchmarkTPESample is one TPE proposal with a history of 100 and 1000 trials (24 candidates
// scored under both estimators).
func BenchmarkTPESample(b *testing.B) {
	s := synthSpace(b)
	for _, n := range []int{100, 1000} {
		var hist []Observation
		for k := 0; k < n; k++ {
			v, _ := Random{}.Sample(s, k, nil, trialRNG(1, k, 0))
			hist = append(hist, Observation{Index: k, Params: v, State: Complete, Loss: -synthValue(v, 4)})
		}
		b.Run(fmt.Sprintf("history=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := (TPE{Startup: 10}).Sample(s, n, hist, trialRNG(1, n, 0)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
