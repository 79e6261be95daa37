package backendtest

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// opNobody is an op no device implements and that has no Via.
var opNobody = backend.NewOp(backend.OpSpec{Name: "backendtest_nobody", Operands: []string{"x"}})

// TestRunErrors checks that Device.Run answers bad calls with errors wrapping the documented
// sentinels, never a panic: an op without an executor, the wrong number of buffers, attributes
// of the wrong type, an invalid geometry, lengths that do not fit it, mixed dtypes, and nil or
// foreign buffers.
func TestRunErrors(t *testing.T, dev backend.Device) {
	alloc := func(dt backend.DType, n int) backend.Buffer {
		b, err := dev.Alloc(dt, n)
		require.NoError(t, err)
		t.Cleanup(func() { dev.Free(b) })
		return b
	}
	g := conv(1, 1, 4, 4, 2, 3, 3, 1, 1, 0, 0, 1, 1)
	y, x, w := alloc(backend.Float32, g.YLen()), alloc(backend.Float32, g.XLen()), alloc(backend.Float32, g.WLen())
	xd := alloc(backend.Float64, g.XLen())
	p := pool(kernels.MaxPool, 1, 1, 4, 4, 2, 2, 2, 2, 0, 0)
	py := alloc(backend.Float32, p.YLen())
	badPool := p
	badPool.PadH = 2
	bufs := func(b ...backend.Buffer) []backend.Buffer { return b }
	cases := []struct {
		name string
		want error // nil: any error
		call *backend.Call
	}{
		{"a nil call", nil, nil},
		{"an op without executor", backend.ErrUnsupported, &backend.Call{Op: opNobody, Bufs: bufs(x)}},
		{"too few buffers", backend.ErrShape, &backend.Call{Op: backend.OpConv2D, Bufs: bufs(y, x), Attrs: &g}},
		{"attributes of another op", backend.ErrInvalid, &backend.Call{Op: backend.OpConv2D, Bufs: bufs(y, x, w), Attrs: &p}},
		{"no attributes", backend.ErrInvalid, &backend.Call{Op: backend.OpPool2D, Bufs: bufs(py, x)}},
		{"an invalid geometry", backend.ErrInvalid, &backend.Call{Op: backend.OpPool2D, Bufs: bufs(py, x), Attrs: &badPool}},
		{"an output of the wrong length", backend.ErrShape, &backend.Call{Op: backend.OpConv2D, Bufs: bufs(x, x, w), Attrs: &g}},
		{"a weight of the wrong length", backend.ErrShape, &backend.Call{Op: backend.OpConv2D, Bufs: bufs(y, x, y), Attrs: &g}},
		{"mixed dtypes", backend.ErrDType, &backend.Call{Op: backend.OpConv2D, Bufs: bufs(y, xd, w), Attrs: &g}},
		{"a nil buffer", nil, &backend.Call{Op: backend.OpConv2D, Bufs: bufs(y, nil, w), Attrs: &g}},
		{"a foreign buffer", nil, &backend.Call{Op: backend.OpConv2D, Bufs: bufs(y, foreignBuffer{}, w), Attrs: &g}},
		{"a typed-method op with the wrong attributes", backend.ErrInvalid, &backend.Call{Op: backend.OpActivation, Bufs: bufs(x, x), Attrs: &g}},
		{"a typed-method op with too many buffers", backend.ErrShape, &backend.Call{Op: backend.OpActivation, Bufs: bufs(x, x, x),
			Attrs: &backend.ActivationAttrs{Act: kernels.Tanh}}},
		{"a dropout probability above 1", backend.ErrInvalid, &backend.Call{Op: backend.OpDropout, Bufs: bufs(x, x), Attrs: &kernels.Dropout{P: 2}}},
		{"batch norm training on one value per channel", backend.ErrInvalid, &backend.Call{Op: backend.OpBatchNorm,
			Bufs: bufs(x, x, x, x, x, x), Attrs: &kernels.BatchNorm{N: 1, C: 16, Inner: 1, Eps: 1e-5, Momentum: 0.1, Train: true}}},
	}
	for _, c := range cases {
		t.Run(c.name+" is an error", func(t *testing.T) {
			err := safe(func() error { return dev.Run(c.call) })
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "panicked", "the device panicked instead of returning an error")
			if c.want != nil && !errors.Is(err, c.want) {
				assert.Fail(t, "wrong error", "%v does not wrap %v", err, c.want)
			}
		})
	}
}
