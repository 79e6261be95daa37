//go:build amd64 && !purego

package kernels

import "github.com/gotrain/gotrain/backend/cpu/cpufeat"

// useActAsm selects the AVX2 loops of act_amd64.s for the float32 sigmoid and softmax. It is set
// once from CPUID (package cpufeat); tests set it false to run the Go loops on the same
// data.
var useActAsm = cpufeat.Current() >= cpufeat.AVX2

// sigmoid32AVX2 stores σ(x) for the elements of x in blocks of 8, n being a multiple of 8, and
// returns how many it did: n, or the start of the first block that holds an argument for
// sigmoid32Go's exact path (-|x| <= exp32Min or NaN), which it leaves to the caller.
//
//go:noescape
func sigmoid32AVX2(dst, x *float32, n int) int

// softmax32AVX2 computes softmax32Row for the rows of the [rows, cols] matrix x (cols > 0), and
// returns how many it did: rows, or the index of the first row that holds a NaN or a difference
// from the row max at or below exp32Min, which it leaves, unwritten, to the caller.
//
//go:noescape
func softmax32AVX2(dst, x *float32, rows, cols int) int
