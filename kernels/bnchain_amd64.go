//go:build amd64 && !purego

package kernels

// The loops of bnchain512_amd64.s; see batchnorm.go (sums8) for how they are used.

// bnSum512 sets acc[k] += float64(x[off[k]+i]) for i < n (a multiple of 8), in order.
//
//go:noescape
func bnSum512(acc *[8]float64, x *float32, off *[8]int, n int)

// bnSq512 sets acc[k] += d·d, d = float64(x[off[k]+i]) − mean[k], for i < n, in order.
//
//go:noescape
func bnSq512(acc *[8]float64, x *float32, off *[8]int, n int, mean *[8]float64)

// bnDyx512 sets acc[k] += float64(dy[j]) and acc[8+k] += float64(dy[j])·(float64(x[j])−mean[k])·invstd[k],
// j = off[k]+i, for i < n, in order.
//
//go:noescape
func bnDyx512(acc *[16]float64, x, dy *float32, off *[8]int, n int, mean, invstd *[8]float64)

// bnAffine512 sets dst[i] = float32(float64(x[i])·scale + shift) for i < n (a multiple of 8).
//
//go:noescape
func bnAffine512(dst, x *float32, n int, scale, shift float64)

// bnInput512 sets dx[i] = float32(g·((dy−mdy) − ((x−mean)·invstd)·mdyx)) for i < n (a multiple of
// 8), with p = (mean, invstd, g, mdy, mdyx).
//
//go:noescape
func bnInput512(dx, x, dy *float32, n int, p *[5]float64)
