//go:build !amd64 || purego

package cpufeat

// detect reports Generic: without the amd64 assembly (other architectures, or the purego tag)
// the kernels run their pure-Go loops.
func detect() Level { return Generic }

// l1dWays reports 0 (not known): the GEMM's cache choices keep their defaults.
func l1dWays() int { return 0 }
