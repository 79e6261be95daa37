package backendtest

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
)

// TestAllocWriteRead checks that what is written is read back bit for bit (special values
// included), that Write copies the host slice and Read fills a fresh one, and that the
// housekeeping calls succeed.
func TestAllocWriteRead(t *testing.T, dev backend.Device) {
	assert.NotEmpty(t, dev.Name(), "Name")
	assert.NotEmpty(t, dev.Describe(), "Describe")
	require.NoError(t, safe(func() error { dev.Free(nil); return nil }), "Free(nil)")
	require.NoError(t, safe(dev.Sync), "Sync")

	forDTypes(t, dev, func(e *env) {
		for _, n := range sizes {
			e.run(fmt.Sprintf("round trip of %d elements", n), func(e *env) {
				x := e.uniform(n, -10, 10)
				b := e.input("x", x)
				e.check(b, b.host, tol{})
				// A second read sees the same data: Read does not consume.
				e.check(b, b.host, tol{})
			})
		}
		e.run("special values survive a round trip", func(e *env) {
			special := []float64{math.Inf(1), math.Inf(-1), 0, 1e-30, -1e-30, 3.4e38, -3.4e38, 1.5, -2.25}
			b := e.input("special", special)
			got := e.read(b)
			checkClose(e.t, "special", got, b.host, tol{})
			assert.True(e.t, math.Signbit(e.read(e.input("minus zero", []float64{math.Copysign(0, -1)}))[0]), "-0 lost its sign")
			assert.True(e.t, math.IsNaN(e.read(e.input("nan", []float64{math.NaN()}))[0]), "NaN did not survive")
		})
		e.run("Write copies the host slice", func(e *env) {
			x := e.uniform(33, -1, 1)
			b := e.alloc("x", len(x))
			var src any
			if e.dt == backend.Float32 {
				f := make([]float32, len(x))
				for i, v := range x {
					f[i] = float32(v)
				}
				src = f
				e.do("Write", func() error { return e.dev.Write(b.b, src) })
				for i := range f {
					f[i] = -7
				}
			} else {
				f := append([]float64(nil), x...)
				e.do("Write", func() error { return e.dev.Write(b.b, f) })
				for i := range f {
					f[i] = -7
				}
			}
			e.check(b, e.round(x), tol{})
		})
		e.run("Read fills a slice the device does not keep", func(e *env) {
			b := e.input("x", e.uniform(7, -1, 1))
			got := e.read(b)
			for i := range got {
				got[i] = 99
			}
			e.check(b, b.host, tol{})
		})
	})
}

// TestFill checks Fill at every size, with values that float32 cannot hold exactly.
func TestFill(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, n := range sizes {
			e.run(fmt.Sprintf("%d elements", n), func(e *env) {
				v := e.uniform(1, -3, 3)[0]
				dst := e.output("dst", n)
				e.do("Fill", func() error { return e.dev.Fill(dst.b, v) })
				e.check(dst, e.round(fill(n, v)), exact.of(e.dt))
			})
		}
	})
}

// TestCopy checks Copy at every size.
func TestCopy(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, n := range sizes {
			e.run(fmt.Sprintf("%d elements", n), func(e *env) {
				src := e.input("src", e.uniform(n, -5, 5))
				dst := e.output("dst", n)
				e.do("Copy", func() error { return e.dev.Copy(dst.b, src.b) })
				e.check(dst, src.host, exact.of(e.dt))
				e.checkInputs()
			})
		}
	})
}

// scaleTol: one multiplication, plus alpha's own rounding to float32.
var scaleTol = tols{f32: tol{0, 3e-7}, f64: tol{0, 1e-15}}

// TestScale checks dst = alpha·x, alpha = 0 included.
func TestScale(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		for _, n := range sizes {
			for _, alpha := range []float64{-1.7, 0, 0.3} {
				e.run(fmt.Sprintf("%d elements times %v", n, alpha), func(e *env) {
					x := e.input("x", e.uniform(n, -5, 5))
					dst := e.output("dst", n)
					e.do("Scale", func() error { return e.dev.Scale(dst.b, x.b, alpha) })
					want := make([]float64, n)
					for i, v := range x.host {
						want[i] = alpha * v
					}
					e.check(dst, want, scaleTol.of(e.dt))
					e.checkInputs()
				})
			}
		}
	})
}

// TestReadScalars reads several one-element buffers in one call, special values included, and
// checks the argument errors.
func TestReadScalars(t *testing.T, dev backend.Device) {
	forDTypes(t, dev, func(e *env) {
		vals := []float64{1.5, -2.25, math.Inf(1), math.NaN(), 0, 3e30}
		if e.dt == backend.Float64 {
			vals = append(vals, 1e300)
		}
		var srcs []backend.Buffer
		for i, v := range vals {
			srcs = append(srcs, e.input(fmt.Sprintf("s%d", i), []float64{v}).b)
		}
		got := fill(len(vals), -7)
		e.do("ReadScalars", func() error { return e.dev.ReadScalars(got, srcs) })
		checkClose(e.t, "ReadScalars", got, e.round(vals), tol{})
		e.do("ReadScalars of nothing", func() error { return e.dev.ReadScalars(nil, nil) })
		e.checkInputs()

		two := e.input("two", []float64{1, 2})
		err := safe(func() error { return e.dev.ReadScalars(make([]float64, 1), []backend.Buffer{two.b}) })
		assert.ErrorIs(e.t, err, backend.ErrShape, "a two-element buffer")
		err = safe(func() error { return e.dev.ReadScalars(make([]float64, 1), srcs[:2]) })
		assert.ErrorIs(e.t, err, backend.ErrShape, "fewer destinations than buffers")
		other := backend.Float32
		if e.dt == backend.Float32 {
			other = backend.Float64
		}
		ob, aerr := e.dev.Alloc(other, 1)
		require.NoError(e.t, aerr)
		defer e.dev.Free(ob)
		err = safe(func() error { return e.dev.ReadScalars(make([]float64, 2), []backend.Buffer{srcs[0], ob}) })
		assert.ErrorIs(e.t, err, backend.ErrDType, "mixed dtypes")
	})
}

// TestViews checks a device's views (backend.Viewer), which plans use to put a node's value in
// part of a larger free buffer: a view has the dtype and the length asked for and shares the
// first elements of its buffer both ways, a view of a view starts at the same place, freeing a
// view leaves the buffer intact, and lengths outside [0, Len] are refused. A device without
// views has nothing to check: plans recycle its buffers by equal length only.
func TestViews(t *testing.T, dev backend.Device) {
	v, ok := dev.(backend.Viewer)
	if !ok {
		t.Logf("%s has no views", dev.Name())
		return
	}
	forDTypes(t, dev, func(e *env) {
		e.run("a view shares the first elements of its buffer", func(e *env) {
			whole := e.input("whole", e.uniform(37, -2, 2))
			var part backend.Buffer
			e.do("View", func() (err error) { part, err = v.View(whole.b, 20); return err })
			require.Equal(e.t, e.dt, part.DType())
			require.Equal(e.t, 20, part.Len())
			view := &buf{b: part, name: "view", host: whole.host[:20]}
			e.check(view, view.host, tol{})

			// Writing through the view changes the buffer's first elements and only those.
			x := e.uniform(20, 5, 6)
			e.write(view, x)
			want := append(append([]float64(nil), view.host...), whole.host[20:]...)
			e.check(whole, want, tol{})

			var inner backend.Buffer
			e.do("View of a view", func() (err error) { inner, err = v.View(part, 3); return err })
			e.check(&buf{b: inner, name: "view of the view"}, want[:3], tol{})

			dev.Free(part)
			e.check(whole, want, tol{})
			var empty backend.Buffer
			e.do("View of no elements", func() (err error) { empty, err = v.View(whole.b, 0); return err })
			assert.Zero(e.t, empty.Len())
			for _, n := range []int{-1, 38} {
				_, err := v.View(whole.b, n)
				assert.ErrorIs(e.t, err, backend.ErrInvalid, "a view of %d elements of 37", n)
			}
		})
	})
}
