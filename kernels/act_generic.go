//go:build !amd64 || purego

package kernels

// Without assembly sigmoid32Go and softmax32Row do every element. useActAsm exists so that the
// same tests build everywhere; setting it changes nothing here, and the stubs below are never
// called.
var useActAsm = false

func sigmoid32AVX2(dst, x *float32, n int) int { return 0 }

func softmax32AVX2(dst, x *float32, rows, cols int) int { return 0 }
