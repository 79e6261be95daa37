//go:build !amd64 || purego

package kernels

// Stubs: level() is Generic without assembly, so these are never called.

func bnSum512(acc *[8]float64, x *float32, off *[8]int, n int)                                {}
func bnSq512(acc *[8]float64, x *float32, off *[8]int, n int, mean *[8]float64)               {}
func bnDyx512(acc *[16]float64, x, dy *float32, off *[8]int, n int, mean, invstd *[8]float64) {}
func bnAffine512(dst, x *float32, n int, scale, shift float64)                                {}
func bnInput512(dx, x, dy *float32, n int, p *[5]float64)                                     {}
