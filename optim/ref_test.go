package optim_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/optim"
)

// Each optimizer's test file registers a reference: its torch.optim algorithm over float64
// parameters, written from the algorithm box of PyTorch's documentation (γ lr, λ weight decay,
// μ momentum, τ dampening, β1/β2, ε, α (RMSprop), η lr_decay (Adagrad), ψ momentum_decay
// (NAdam)), never from package kernels or from the optimizer's description. The trajectory test
// runs every registered optimizer, its defaults and each of its variants, on the CPU device and
// compares it with its reference after every step.

// reference is one optimizer's float64 algorithm.
type reference struct {
	// states names the state tensors in the order the optimizer snapshots them, and init gives
	// a state's first value (nil: 0).
	states func(o optim.Options) []string
	init   func(kind string, o optim.Options) float64
	// advance updates a per-step host scalar once per step before the tensors (NAdam's product
	// of momentum coefficients, which starts at 1); nil when there is none.
	advance func(o optim.Options, t int, carry *float64)
	// step updates one parameter tensor p in place from its gradient g at step t (from 1) and
	// rate lr; st returns the tensor's state of a kind.
	step func(o optim.Options, t int, lr, carry float64, p, g []float64, st func(kind string) []float64)
}

var references = map[string]reference{}

// trajCase is a configuration followed by the trajectory test beyond the descriptions' defaults
// and variants (another rate, several options at once).
type trajCase struct {
	name string
	o    optim.Options
}

var trajectoryCases []trajCase

// opts returns name's defaults at rate lr, edited; a bad name is a bug in a test table.
func opts(name string, lr float64, edit func(o *optim.Options)) optim.Options {
	o, err := optim.Defaults(name, lr)
	if err != nil {
		panic(err)
	}
	if edit != nil {
		edit(&o)
	}
	return o
}

// options is opts for tests that have a t.
func options(t *testing.T, name string, lr float64, edit func(o *optim.Options)) optim.Options {
	t.Helper()
	o, err := optim.Defaults(name, lr)
	require.NoError(t, err)
	if edit != nil {
		edit(&o)
	}
	return o
}

// torchRef runs a reference over a list of parameters.
type torchRef struct {
	ref   reference
	o     optim.Options
	t     int
	carry float64
	kinds []string
	state [][][]float64 // [kind][param][element]
}

func newTorchRef(t *testing.T, o optim.Options, params [][]float64) *torchRef {
	ref, ok := references[o.Name]
	require.True(t, ok, "optimizer %s has no float64 reference: register one in its _test.go file", o.Name)
	r := &torchRef{ref: ref, o: o, carry: 1, kinds: ref.states(o)}
	for _, k := range r.kinds {
		init := 0.0
		if ref.init != nil {
			init = ref.init(k, o)
		}
		s := make([][]float64, len(params))
		for i, p := range params {
			s[i] = make([]float64, len(p))
			for j := range s[i] {
				s[i][j] = init
			}
		}
		r.state = append(r.state, s)
	}
	return r
}

// step applies one update at rate lr to params in place.
func (r *torchRef) step(lr float64, params, grads [][]float64) {
	r.t++
	if r.ref.advance != nil {
		r.ref.advance(r.o, r.t, &r.carry)
	}
	for i, p := range params {
		st := func(kind string) []float64 {
			for k, name := range r.kinds {
				if name == kind {
					return r.state[k][i]
				}
			}
			panic("no state " + kind)
		}
		r.ref.step(r.o, r.t, lr, r.carry, p, grads[i], st)
	}
}

// flatState is the reference state in the optimizer's snapshot order (kind by kind, parameter
// by parameter) for one group.
func (r *torchRef) flatState() [][]float64 {
	var out [][]float64
	for _, s := range r.state {
		out = append(out, s...)
	}
	return out
}

// trajSizes are the parameter shapes of the trajectory tests: several tensors, one of one element.
var trajSizes = []int{3, 1, 5}

const (
	trajSteps    = 12
	trajZeroStep = 6 // a step whose gradients are all zero
)

// trajGrad is the gradient of a quadratic bowl around 0.3 with a deterministic wiggle, so the
// gradient depends on where the optimizer has taken the parameters; step trajZeroStep gives 0.
func trajGrad(step int, params [][]float64) [][]float64 {
	g := make([][]float64, len(params))
	for i, p := range params {
		g[i] = make([]float64, len(p))
		if step == trajZeroStep {
			continue
		}
		for j, v := range p {
			g[i][j] = 0.8*(v-0.3) + 0.5*math.Sin(1.7*float64(step)+0.9*float64(i)+0.37*float64(j))
		}
	}
	return g
}

func trajInit(seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([][]float64, len(trajSizes))
	for i, n := range trajSizes {
		out[i] = make([]float64, n)
		for j := range out[i] {
			out[i][j] = 2*rng.Float64() - 1
		}
	}
	return out
}

// allTrajectoryCases are every registered optimizer's defaults and variants (at a rate of 0.05,
// large enough to move), then the files' own cases.
func allTrajectoryCases(t *testing.T) []trajCase {
	var out []trajCase
	for _, name := range optim.Names() {
		d, err := optim.Describe(name)
		require.NoError(t, err)
		if d.Alias != "" {
			continue
		}
		o := options(t, name, 0.05, nil)
		out = append(out, trajCase{name, o})
		for _, v := range d.Variants {
			ov := o
			v.Set(&ov)
			out = append(out, trajCase{name + " " + v.Name, ov})
		}
	}
	return append(out, trajectoryCases...)
}

// TestOptimizersFollowPyTorchTrajectories runs every optimizer for 12 steps (one with zero
// gradients, and a rate that changes every step as under a schedule) on float64 parameters and
// compares the parameters after every step, and the state at the end, with the reference.
func TestOptimizersFollowPyTorchTrajectories(t *testing.T) {
	for ci, c := range allTrajectoryCases(t) {
		t.Run(c.name, func(t *testing.T) {
			dev := openCPU(t)
			host := trajInit(uint64(ci))
			ref := newTorchRef(t, c.o, clone2(host))
			refP := clone2(host)
			params := upload(t, dev, backend.Float64, host)
			opt, err := optim.New(c.o)
			require.NoError(t, err)
			require.NoError(t, opt.Attach(dev, params))
			defer opt.Close()

			moved := false
			for step := 1; step <= trajSteps; step++ {
				lr := c.o.LR * (1 + 0.05*float64(step%4))
				got := download(t, dev, params)
				grads := upload(t, dev, backend.Float64, trajGrad(step, got))
				require.NoError(t, opt.StepAt(grads, []float64{lr}), "step %d", step)
				ref.step(lr, refP, trajGrad(step, refP))
				after := download(t, dev, params)
				if !assertClose(t, fmt.Sprintf("params after step %d", step), refP, after, 1e-12) {
					return
				}
				moved = moved || after[0][0] != got[0][0]
			}
			assert.True(t, moved, "the parameters never moved")
			assert.Equal(t, trajSteps, opt.Steps())
			snap, err := opt.Snapshot()
			require.NoError(t, err)
			assert.Equal(t, trajSteps, snap.Steps)
			assertClose(t, "state after the last step ("+strings.Join(ref.kinds, ", ")+")", ref.flatState(), snap.Tensors, 1e-12)
		})
	}
}

// TestEveryOptimizerIsComplete checks that each registered optimizer has what the rest of the
// project relies on: defaults that validate, a float64 reference, state names that match its
// step's state count at every step, and the hyperparameters it reads named among the known ones.
func TestEveryOptimizerIsComplete(t *testing.T) {
	known := map[string]bool{}
	for _, h := range optim.Hyperparameters() {
		known[h] = true
	}
	for _, name := range optim.Names() {
		t.Run(name, func(t *testing.T) {
			o := options(t, name, 0.01, nil)
			require.NoError(t, o.Validate())
			d, err := optim.Describe(o.Name)
			require.NoError(t, err)
			_, ok := references[o.Name]
			assert.True(t, ok, "no float64 reference registered for %s", o.Name)
			for _, h := range d.Uses {
				assert.True(t, known[h], "%s uses %q, which is not one of optim.Hyperparameters()", name, h)
			}
			variants := []optim.Variant{{Name: "defaults", Set: func(*optim.Options) {}}}
			if o.Name == name { // an alias is a preset: its base's variants are not its own
				variants = append(variants, d.Variants...)
			}
			for _, v := range variants {
				ov := o
				v.Set(&ov)
				require.NoError(t, ov.Validate(), "variant %s", v.Name)
				carry := 1.0
				for step := 1; step <= 3; step++ {
					s := d.Step(ov, ov.LR, step, &carry)
					require.NotNil(t, s.Rule, "variant %s step %d", v.Name, step)
					assert.Len(t, d.States(ov), s.States, "variant %s step %d: state names and the step's state count", v.Name, step)
				}
			}
		})
	}
}
