//go:build amd64 && !purego

package kernels

// dropout512 is DropoutForward's loop for n elements (a multiple of 64) from element 4·blk of the
// tensor, ctr = (step mod 2³², ⌊step/2³²⌋, stream) and keys the ten rounds' (k0, k1)
// (dropout512_amd64.s).
//
//go:noescape
func dropout512(y, x *float32, n int, blk uint32, ctr *[3]uint32, keys *[20]uint32, thr uint32, scale float32)
