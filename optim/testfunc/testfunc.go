// Package testfunc holds two-dimensional test functions for optimizers (an ill-conditioned
// quadratic, Rosenbrock's valley, Beale's function, a saddle), with analytic gradients, and Run,
// which follows an optimizer's path on one of them with the optimizer's real update code on a
// device. gotrain paths draws those paths over the functions' contours: the picture of "plain
// gradient descent zig-zags across a narrow valley, momentum and Adam do not" computed rather
// than drawn by hand.
//
// Each function carries the view that shows it well (a rectangle, contour levels, a start point
// and a step count) and a learning rate per optimizer chosen so that each path is informative:
// plain gradient descent near its stability limit on the quadratic, so that it zig-zags; the
// others at rates where they converge in the steps given. Those rates are choices for a picture,
// not tuned optima.
package testfunc

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/optim"
)

// ErrInvalid is wrapped by the errors for bad arguments.
var ErrInvalid = errors.New("testfunc: invalid argument")

// Point is a point of the plane.
type Point struct{ X, Y float64 }

// Function is a test function with its gradient and the view it is drawn in.
type Function struct {
	Name, Summary string
	F             func(x, y float64) float64
	// Grad is F's analytic gradient.
	Grad func(x, y float64) (gx, gy float64)
	// Minima are the global minima (none for a saddle, which is unbounded below).
	Minima []Point
	// XMin, XMax, YMin, YMax is the rectangle drawn; Levels the contour levels.
	XMin, XMax, YMin, YMax float64
	Levels                 []float64
	// Start and Steps are the default start point and number of steps.
	Start Point
	Steps int
	// LR is the default learning rate per optimizer name; DefaultLR the rate for any other.
	LR        map[string]float64
	DefaultLR float64
}

// Rate is the function's default learning rate for the named optimizer.
func (f *Function) Rate(optimizer string) float64 {
	if lr, ok := f.LR[optimizer]; ok {
		return lr
	}
	return f.DefaultLR
}

// Distance is the distance from p to the nearest minimum, or NaN when F has none.
func (f *Function) Distance(p Point) float64 {
	d := math.NaN()
	for _, m := range f.Minima {
		if h := math.Hypot(p.X-m.X, p.Y-m.Y); !(h >= d) {
			d = h
		}
	}
	return d
}

// logLevels is n levels from lo to hi evenly spaced in log10.
func logLevels(lo, hi float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = lo * math.Pow(hi/lo, float64(i)/float64(n-1))
	}
	return out
}

// QuadraticCondition is the ratio of the quadratic's curvatures: its valley is √10 ≈ 3.2 times
// longer than wide.
const QuadraticCondition = 10

var functions = []*Function{
	{
		Name:    "quadratic",
		Summary: "f = (x² + 10y²)/2, an ill-conditioned bowl (curvatures 1 and 10), minimum at (0, 0)",
		F:       func(x, y float64) float64 { return (x*x + QuadraticCondition*y*y) / 2 },
		Grad:    func(x, y float64) (float64, float64) { return x, QuadraticCondition * y },
		Minima:  []Point{{0, 0}},
		XMin:    -6, XMax: 2, YMin: -2.5, YMax: 2.5,
		Levels: logLevels(0.01, 40, 13),
		Start:  Point{-5, 2},
		Steps:  60,
		// GD is stable for lr < 2/10; at 0.18 the steep direction flips sign each step (factor
		// -0.8) while the shallow one shrinks by 0.82: the zig-zag. Momentum 0.9 at 0.01 moves
		// about as far per step as GD at 0.1, without the zig-zag but overshooting.
		LR: map[string]float64{
			"sgd": 0.18, "momentum": 0.01, "nesterov": 0.01,
			"rmsprop": 0.05, "adam": 0.1, "adamw": 0.1, "nadam": 0.1, "radam": 0.1, "adamax": 0.1,
			"adagrad": 0.5, "lion": 0.1,
		},
		DefaultLR: 0.01,
	},
	{
		Name:    "rosenbrock",
		Summary: "f = (1-x)² + 100(y-x²)², a curved narrow valley, minimum at (1, 1)",
		F: func(x, y float64) float64 {
			return (1-x)*(1-x) + 100*(y-x*x)*(y-x*x)
		},
		Grad: func(x, y float64) (float64, float64) {
			return -2*(1-x) - 400*x*(y-x*x), 200 * (y - x*x)
		},
		Minima: []Point{{1, 1}},
		XMin:   -2, XMax: 2, YMin: -1, YMax: 3,
		Levels: logLevels(0.3, 3000, 12),
		Start:  Point{-1.5, 2},
		Steps:  3000,
		// GD diverges above about 0.0015 at the start, where the valley's walls curve most.
		LR: map[string]float64{
			"sgd": 0.001, "momentum": 0.0003, "nesterov": 0.0003,
			// RAdam's first steps are plain momentum steps without the adaptive scaling.
			"rmsprop": 0.001, "adam": 0.02, "adamw": 0.02, "nadam": 0.02, "radam": 0.002, "adamax": 0.02,
			"adagrad": 0.1, "lion": 0.002,
		},
		DefaultLR: 0.001,
	},
	{
		Name:    "beale",
		Summary: "f = (1.5-x+xy)² + (2.25-x+xy²)² + (2.625-x+xy³)², flat plateaus and sharp ridges, minimum at (3, 0.5)",
		F: func(x, y float64) float64 {
			a, b, c := 1.5-x+x*y, 2.25-x+x*y*y, 2.625-x+x*y*y*y
			return a*a + b*b + c*c
		},
		Grad: func(x, y float64) (float64, float64) {
			a, b, c := 1.5-x+x*y, 2.25-x+x*y*y, 2.625-x+x*y*y*y
			return 2*a*(y-1) + 2*b*(y*y-1) + 2*c*(y*y*y-1), 2*a*x + 4*b*x*y + 6*c*x*y*y
		},
		Minima: []Point{{3, 0.5}},
		XMin:   -3, XMax: 4, YMin: -1.5, YMax: 2.5,
		Levels: logLevels(0.01, 5000, 14),
		Start:  Point{0.5, 1.5},
		Steps:  1000,
		LR: map[string]float64{
			"sgd": 0.005, "momentum": 0.001, "nesterov": 0.001,
			"rmsprop": 0.005, "adam": 0.02, "adamw": 0.02, "nadam": 0.02, "radam": 0.02, "adamax": 0.02,
			"adagrad": 0.2, "lion": 0.005,
		},
		DefaultLR: 0.002,
	},
	{
		Name:    "saddle",
		Summary: "f = x² - y², a saddle point at (0, 0), unbounded below along y",
		F:       func(x, y float64) float64 { return x*x - y*y },
		Grad:    func(x, y float64) (float64, float64) { return 2 * x, -2 * y },
		XMin:    -1.5, XMax: 1.5, YMin: -1.5, YMax: 1.5,
		Start: Point{-1.2, 0.001},
		Steps: 60,
		LR: map[string]float64{
			"sgd": 0.05, "momentum": 0.01, "nesterov": 0.01,
			"rmsprop": 0.02, "adam": 0.05, "adamw": 0.05, "nadam": 0.05, "radam": 0.05, "adamax": 0.05,
			"adagrad": 0.3, "lion": 0.03,
		},
		DefaultLR: 0.02,
	},
}

// Names lists the functions, in the order Get knows them.
func Names() []string {
	out := make([]string, len(functions))
	for i, f := range functions {
		out[i] = f.Name
	}
	return out
}

// Get returns the named function.
func Get(name string) (*Function, error) {
	for _, f := range functions {
		if strings.EqualFold(strings.TrimSpace(name), f.Name) {
			return f, nil
		}
	}
	return nil, fmt.Errorf("testfunc: unknown function %q (want one of %s): %w", name, strings.Join(Names(), ", "), ErrInvalid)
}

// Path is an optimizer's path: the start point and the point after each step.
type Path struct {
	Points []Point
	// Diverged is the step after which the point or the gradient stopped being finite (the path
	// ends there), or 0.
	Diverged int
}

// Last is the path's last point.
func (p Path) Last() Point { return p.Points[len(p.Points)-1] }

// Run follows the optimizer with options o on f from start for steps steps on dev: the
// parameters (x, y) live in a float64 device buffer that the optimizer updates with its own
// update code; each step the gradient is computed on the host from the current point and written
// to the device. A path whose point or gradient stops being finite ends there.
func Run(dev backend.Device, o optim.Options, f *Function, start Point, steps int) (Path, error) {
	if f == nil || dev == nil {
		return Path{}, fmt.Errorf("testfunc: run: nil function or device: %w", ErrInvalid)
	}
	if steps < 0 || math.IsNaN(start.X) || math.IsNaN(start.Y) || math.IsInf(start.X, 0) || math.IsInf(start.Y, 0) {
		return Path{}, fmt.Errorf("testfunc: run %s: start %v, %d steps: want a finite start and steps >= 0: %w", f.Name, start, steps, ErrInvalid)
	}
	opt, err := optim.New(o)
	if err != nil {
		return Path{}, err
	}
	defer opt.Close()
	p, err := dev.Alloc(backend.Float64, 2)
	if err != nil {
		return Path{}, err
	}
	defer dev.Free(p)
	g, err := dev.Alloc(backend.Float64, 2)
	if err != nil {
		return Path{}, err
	}
	defer dev.Free(g)
	xy := []float64{start.X, start.Y}
	if err := dev.Write(p, xy); err != nil {
		return Path{}, err
	}
	if err := opt.Attach(dev, []backend.Buffer{p}); err != nil {
		return Path{}, err
	}
	path := Path{Points: make([]Point, 0, steps+1)}
	path.Points = append(path.Points, start)
	grad := make([]float64, 2)
	for t := 1; t <= steps; t++ {
		grad[0], grad[1] = f.Grad(xy[0], xy[1])
		if !finite(grad[0]) || !finite(grad[1]) {
			path.Diverged = t - 1
			break
		}
		if err := dev.Write(g, grad); err != nil {
			return Path{}, err
		}
		if err := opt.Step([]backend.Buffer{g}); err != nil {
			return Path{}, err
		}
		if err := dev.Read(xy, p); err != nil {
			return Path{}, err
		}
		if !finite(xy[0]) || !finite(xy[1]) {
			path.Diverged = t
			break
		}
		path.Points = append(path.Points, Point{xy[0], xy[1]})
	}
	return path, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Representative is the default set of optimizers to compare: plain gradient descent, the two
// momentum variants and two adaptive rules.
func Representative() []string { return []string{"sgd", "momentum", "nesterov", "rmsprop", "adam"} }
