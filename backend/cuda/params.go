package cuda

import (
	"math"
	"unsafe"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// maxArgs bounds the parameters of one kernel (the optimizer has the most: 6 + optimSlots).
const maxArgs = 16

// args packs kernel parameters the way gorgonia.org/cu's Function.Launch passes them: it copies
// exactly 8 bytes from each pointer in its list, so every parameter is one uint64 here. Device
// pointers and int64 go as they are; a double as its bits; a float32 as its bits in the low half,
// which is where the kernel reads a 4-byte parameter from (little-endian). The pointer list is
// built once and points into vals, so packing and launching allocate nothing; an args must not
// be copied after init.
type args struct {
	vals  [maxArgs]uint64
	ptrs  [maxArgs]unsafe.Pointer
	kinds [maxArgs]byte // the kernelTable signature letter of each parameter packed
	n     int
}

func (a *args) init() {
	for i := range a.ptrs {
		a.ptrs[i] = unsafe.Pointer(&a.vals[i])
	}
}

// reset starts a new parameter list.
func (a *args) reset() *args {
	a.n = 0
	return a
}

func (a *args) put(v uint64, kind byte) *args {
	if a.n < maxArgs {
		a.vals[a.n] = v
		a.kinds[a.n] = kind
	}
	a.n++ // an overflow shows in list, which the launcher checks
	return a
}

// ptr appends a device pointer.
func (a *args) ptr(p uint64) *args { return a.put(p, 'p') }

// i64 appends an integer (the kernels take every count and enum as a long long).
func (a *args) i64(v int) *args { return a.put(uint64(int64(v)), 'i') }

// f64 appends a double.
func (a *args) f64(v float64) *args { return a.put(math.Float64bits(v), 'd') }

// f32 appends a float: its bits in the low 32 bits of the 8. Kernels take a float only as their
// element type T, so it is packed as a T parameter.
func (a *args) f32(v float32) *args { return a.put(uint64(math.Float32bits(v)), 't') }

// float appends a scalar of the kernel's element type T: a float for Float32 buffers (v rounded
// to float32 first, as the CPU backend converts it), a double for Float64.
func (a *args) float(dt backend.DType, v float64) *args {
	if dt == backend.Float32 {
		return a.f32(float32(v))
	}
	return a.put(math.Float64bits(v), 't')
}

// list returns the parameter pointers for Function.Launch, or nil if more than maxArgs were
// packed (a bug the launcher reports).
func (a *args) list() []unsafe.Pointer {
	if a.n > maxArgs {
		return nil
	}
	return a.ptrs[:a.n]
}

// matches reports whether the parameters packed are, in number and kind, the signature sig (see
// kernelTable). It allocates nothing.
func (a *args) matches(sig string) bool {
	if a.n != len(sig) || a.n > maxArgs {
		return false
	}
	for i := 0; i < a.n; i++ {
		if a.kinds[i] != sig[i] {
			return false
		}
	}
	return true
}

// packed returns the signature of the parameters packed, for an error message.
func (a *args) packed() string { return string(a.kinds[:min(a.n, maxArgs)]) }

// optimSlots is the number of scalar parameters of the optimizer kernels: a kernels.Step's S,
// passed as doubles and converted to T in the kernel as the Go loops convert them, so the kernel
// and the twin read the same numbers (nothing here recomputes a rule's scalars).
const optimSlots = kernels.NumScalars
