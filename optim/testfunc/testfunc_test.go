package testfunc_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/optim"
	"github.com/gotrain/gotrain/optim/testfunc"
)

func openCPU(t *testing.T) backend.Device {
	t.Helper()
	dev, err := cpu.New(1)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, dev.Close()) })
	return dev
}

func get(t *testing.T, name string) *testfunc.Function {
	t.Helper()
	f, err := testfunc.Get(name)
	require.NoError(t, err)
	return f
}

func TestGradientsMatchCentralDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for _, name := range testfunc.Names() {
		f := get(t, name)
		t.Run(name, func(t *testing.T) {
			for range 50 {
				x := f.XMin + r.Float64()*(f.XMax-f.XMin)
				y := f.YMin + r.Float64()*(f.YMax-f.YMin)
				gx, gy := f.Grad(x, y)
				const h = 1e-6
				nx := (f.F(x+h, y) - f.F(x-h, y)) / (2 * h)
				ny := (f.F(x, y+h) - f.F(x, y-h)) / (2 * h)
				assert.InDelta(t, nx, gx, 1e-5*(1+math.Abs(nx)), "d/dx at (%v, %v)", x, y)
				assert.InDelta(t, ny, gy, 1e-5*(1+math.Abs(ny)), "d/dy at (%v, %v)", x, y)
			}
		})
	}
}

func TestMinimaAreStationaryZeros(t *testing.T) {
	for _, name := range testfunc.Names() {
		f := get(t, name)
		for _, m := range f.Minima {
			gx, gy := f.Grad(m.X, m.Y)
			assert.Zero(t, f.F(m.X, m.Y), name)
			assert.Zero(t, gx, name)
			assert.Zero(t, gy, name)
			assert.Zero(t, f.Distance(m))
		}
	}
	assert.True(t, math.IsNaN(get(t, "saddle").Distance(testfunc.Point{})), "a saddle has no minimum")
}

func TestRunIsGradientDescentOnTheDevice(t *testing.T) {
	// Plain SGD on (x² + 10y²)/2 multiplies x by (1 - lr) and y by (1 - 10·lr) each step.
	dev := openCPU(t)
	f := get(t, "quadratic")
	o, err := optim.Defaults("sgd", 0.05)
	require.NoError(t, err)
	start := testfunc.Point{X: -4, Y: 1.5}
	p, err := testfunc.Run(dev, o, f, start, 20)
	require.NoError(t, err)
	require.Len(t, p.Points, 21)
	assert.Zero(t, p.Diverged)
	x, y := start.X, start.Y
	for i, q := range p.Points {
		assert.InDelta(t, x, q.X, 1e-12, "x at step %d", i)
		assert.InDelta(t, y, q.Y, 1e-12, "y at step %d", i)
		x, y = x*(1-0.05), y*(1-testfunc.QuadraticCondition*0.05)
	}
}

func TestMomentumApproachesTheQuadraticsMinimumFasterThanSGDAtTheSameRate(t *testing.T) {
	// At lr 0.01 plain GD shrinks the shallow direction by 0.99 a step (0.55 after 60 steps);
	// momentum 0.9 moves about ten times as far per step.
	dev := openCPU(t)
	f := get(t, "quadratic")
	dist := map[string]float64{}
	for _, name := range []string{"sgd", "momentum", "nesterov"} {
		o, err := optim.Defaults(name, 0.01)
		require.NoError(t, err)
		p, err := testfunc.Run(dev, o, f, f.Start, 60)
		require.NoError(t, err)
		dist[name] = f.Distance(p.Last())
	}
	assert.Less(t, dist["momentum"], dist["sgd"]/4, "%v", dist)
	assert.Less(t, dist["nesterov"], dist["sgd"]/4, "%v", dist)
}

func TestEveryOptimizerFollowsAFinitePathFromTheStartOnEveryFunction(t *testing.T) {
	dev := openCPU(t)
	for _, fn := range testfunc.Names() {
		f := get(t, fn)
		for _, name := range optim.Names() {
			t.Run(fmt.Sprintf("%s on %s", name, fn), func(t *testing.T) {
				o, err := optim.Defaults(name, f.Rate(name))
				require.NoError(t, err)
				steps := min(f.Steps, 300)
				p, err := testfunc.Run(dev, o, f, f.Start, steps)
				require.NoError(t, err)
				require.Zero(t, p.Diverged, "the default rate keeps the path finite")
				require.Len(t, p.Points, steps+1)
				assert.Equal(t, f.Start, p.Points[0])
				for i, q := range p.Points {
					require.False(t, math.IsNaN(q.X) || math.IsInf(q.X, 0) || math.IsNaN(q.Y) || math.IsInf(q.Y, 0), "step %d: %v", i, q)
				}
				if len(f.Minima) > 0 {
					assert.Less(t, f.F(p.Last().X, p.Last().Y), f.F(f.Start.X, f.Start.Y), "the path goes downhill")
				}
			})
		}
	}
}

func TestADivergingPathEndsWhereItStopsBeingFinite(t *testing.T) {
	dev := openCPU(t)
	f := get(t, "quadratic")
	o, err := optim.Defaults("sgd", 1e150) // y multiplies by -1e151 a step: Inf in three steps
	require.NoError(t, err)
	p, err := testfunc.Run(dev, o, f, f.Start, 50)
	require.NoError(t, err)
	assert.Positive(t, p.Diverged)
	assert.Len(t, p.Points, p.Diverged)
}

func TestBadArguments(t *testing.T) {
	dev := openCPU(t)
	f := get(t, "beale")
	o, err := optim.Defaults("adam", 0.01)
	require.NoError(t, err)
	_, err = testfunc.Run(dev, o, f, testfunc.Point{X: math.NaN()}, 10)
	assert.ErrorIs(t, err, testfunc.ErrInvalid)
	_, err = testfunc.Run(dev, o, f, f.Start, -1)
	assert.ErrorIs(t, err, testfunc.ErrInvalid)
	_, err = testfunc.Run(dev, o, nil, f.Start, 1)
	assert.ErrorIs(t, err, testfunc.ErrInvalid)
	o.LR = -1
	_, err = testfunc.Run(dev, o, f, f.Start, 1)
	assert.ErrorIs(t, err, optim.ErrInvalid)
	_, err = testfunc.Get("himmelblau")
	assert.ErrorIs(t, err, testfunc.ErrInvalid)
	assert.ErrorContains(t, err, "quadratic, rosenbrock, beale, saddle")
}
