package cuda

import (
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gotrain/gotrain/backend"
)

func TestArgsPackEightBytesPerParameter(t *testing.T) {
	var a args
	a.init()
	a.reset().ptr(0xdeadbeef00).i64(-3).f32(1.5).f64(-2.25).float(backend.Float32, 0.1).float(backend.Float64, 0.1)
	l := a.list()
	require.Len(t, l, 6)
	// Function.Launch reads 8 bytes through each pointer.
	read := func(i int) uint64 { return *(*uint64)(l[i]) }
	assert.Equal(t, uint64(0xdeadbeef00), read(0), "a device pointer goes as it is")
	assert.Equal(t, uint64(math.MaxUint64-2), read(1), "an int64 as its two's complement")
	assert.Equal(t, uint64(math.Float32bits(1.5)), read(2), "a float32 as its bits in the low half, zero above")
	assert.Equal(t, float32(1.5), *(*float32)(l[2]), "a 4-byte kernel parameter reads the low half")
	assert.Equal(t, math.Float64bits(-2.25), read(3))
	assert.Equal(t, float32(0.1), *(*float32)(l[4]), "a T-typed scalar of a float32 kernel is a float32")
	assert.Equal(t, 0.1, *(*float64)(l[5]))
	for i := range l {
		assert.Equal(t, unsafe.Pointer(&a.vals[i]), l[i], "the list points into vals, built once")
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { a.reset().ptr(1).i64(2).f32(3).f64(4).list() }))

	a.reset()
	for range maxArgs + 1 {
		a.i64(1)
	}
	assert.Nil(t, a.list(), "too many parameters")
}

func TestArgsRecordTheirSignature(t *testing.T) {
	var a args
	a.init()
	a.reset().ptr(1).i64(2).f64(3).float(backend.Float32, 4).float(backend.Float64, 5).f32(6)
	assert.Equal(t, "pidttt", a.packed())
	assert.True(t, a.matches("pidttt"))
	assert.False(t, a.matches("pidtt"), "one parameter short")
	assert.False(t, a.matches("pidttt"+"i"), "one parameter too many")
	assert.False(t, a.matches("piittt"), "a double where an integer is wanted")
	assert.False(t, a.matches("ppdttt"), "an integer where a pointer is wanted")
	assert.False(t, a.matches("iidttt"), "a pointer where an integer is wanted")
	assert.Zero(t, testing.AllocsPerRun(100, func() { a.reset().ptr(1).f64(2).matches("pd") }))
	a.reset()
	for range maxArgs + 1 {
		a.i64(1)
	}
	assert.False(t, a.matches(strings.Repeat("i", maxArgs+1)), "an overflow never matches")
	assert.Len(t, a.packed(), maxArgs)
}
