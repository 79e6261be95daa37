package tune

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// synthSpace is the space: lr, optimizer, activation, batch, plus a conditional.
func synthSpace(t testing.TB) *Space { return testConfig(t, "random", "none", 1).Space }

// synthValue is a deterministic "validation accuracy" after epoch e: best near lr 1e-2.5 with
// adam and relu, rising with epochs, with a fine structure so values rarely tie.
func synthValue(p Values, e int) float64 {
	lr := math.Log10(p["lr"].Num)
	opt := map[string]float64{"sgd": -2, "momentum": -2.5, "adam": -3, "rmsprop": -3.2}[p["optimizer"].Choice]
	act := map[string]float64{"relu": 0, "tanh": 0.02, "sigmoid": 0.06, "gelu": 0.005}[p["activation"].Choice]
	b := math.Log2(p["batch"].Num)
	v := 0.97 - 0.03*(lr-opt)*(lr-opt) - act - 0.004*(b-5)
	if m, ok := p["momentum"]; ok {
		v -= 0.02 * (m.Num - 0.9) * (m.Num - 0.9)
	}
	return v - 0.1/float64(e) + 1e-6*math.Sin(1e3*p["lr"].Num)
}

// synthObjective checkpoints its (trivial) state in dir after every epoch and resumes from it,
// as a training objective must. delay slows each epoch.
type synthObjective struct {
	dir   string
	delay func(k, e int) time.Duration
	// hook runs after each epoch's checkpoint, before the report (tests kill or fail there).
	hook func(k, e int) error
}

type synthCkpt struct {
	Epoch int
	Value float64
}

func (o *synthObjective) Run(ctx context.Context, t *Trial) error {
	path := filepath.Join(o.dir, "trial-"+strconv.Itoa(t.Index)+".json")
	start := 0
	if raw, err := os.ReadFile(path); err == nil {
		var c synthCkpt
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		start = c.Epoch
		if err := t.Report(ctx, c.Epoch, c.Value); err != nil {
			return err
		}
	}
	for e := start + 1; e <= t.MaxEpochs; e++ {
		if o.delay != nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(o.delay(t.Index, e)):
			}
		}
		v := synthValue(t.Params, e)
		raw, _ := json.Marshal(synthCkpt{Epoch: e, Value: v})
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, raw, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
		if o.hook != nil {
			if err := o.hook(t.Index, e); err != nil {
				return err
			}
		}
		if err := t.Report(ctx, e, v); err != nil {
			return err
		}
	}
	return nil
}

// summary renders a study's trials as text for exact comparison.
func summary(t testing.TB, st *Study) []string {
	trials, err := st.Trials(context.Background())
	require.NoError(t, err)
	var out []string
	for _, tr := range trials {
		r := ""
		if tr.Reason != nil {
			r = tr.Reason.String()
		}
		out = append(out, fmt.Sprintf("%d %s %s steps=%v value=%v bracket=%d %s", tr.Index, tr.State,
			st.Cfg.Space.Describe(tr.Params), tr.Steps, tr.Value, tr.Bracket, r))
	}
	return out
}

func testConfig(t testing.TB, sampler, pruner string, trials int) *Config {
	c, err := configFor(sampler, pruner, trials)
	require.NoError(t, err)
	return c
}

func configFor(sampler, pruner string, trials int) (*Config, error) {
	sp, err := ParseSpace([]string{
		"lr=loguniform:1e-4:1",
		"optimizer=choice:sgd,momentum,adam,rmsprop",
		"activation=choice:relu,tanh,sigmoid,gelu",
		"batch=logint:32:512",
		"momentum=uniform:0:0.99:if=optimizer=sgd",
	})
	if err != nil {
		return nil, err
	}
	s, err := ParseSampler(sampler, 7, 4)
	if err != nil {
		return nil, err
	}
	p, err := ParsePruner(pruner, 4)
	if err != nil {
		return nil, err
	}
	return &Config{Space: sp, Sampler: s, Pruner: p, Seed: 7, MaxEpochs: 4, Metric: "accuracy", Maximize: true, Trials: trials,
		Fixed: map[string]string{"model": "784-32-10"}}, nil
}
