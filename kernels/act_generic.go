//go:build !amd64 || purego

package kernels

import "github.com/gotrain/gotrain/backend/cpu/cpufeat"

// Without assembly every float32 loop is the Go one.
func level() cpufeat.Level { return cpufeat.Generic }

var (
	sigmoidFwd = unary32{goLoop: sigmoid32Go}
	tanhFwd    = unary32{goLoop: tanh32Go}
	reluFwd    = unary32{goLoop: relu32Go}
	sigmoidBwd = binary32{goLoop: sigmoidGrad32Go}
	tanhBwd    = binary32{goLoop: tanhGrad32Go}
	reluBwd    = binary32{goLoop: reluGrad32Go}
)

func softmax32AVX2(dst, x *float32, rows, cols int) int { return 0 }
func softmax512(dst, x *float32, rows, cols int)        {}

// sigmoidDirect is the Go loop.
func sigmoidDirect(dst, x []float32) { sigmoid32Go(dst, x) }

// siluMul does nothing without assembly: silu32's Go loop computes every product.
func siluMul(dst, x, s []float32) int { return 0 }
