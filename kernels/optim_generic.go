//go:build !amd64 || purego

package kernels

// Without assembly the Go loops of adam and sgd do every element. useOptimAsm exists so that the
// same tests build everywhere; setting it changes nothing here.
var useOptimAsm = false

func adamVec[T Float](p, g, m, v, vmax []T, decay, wd, b1, c1, b2, c2, step, invBC2, eps T) int {
	return 0
}

func momentumVec[T Float](p, g, buf []T, decay, wd, mu, damp, lr T) int { return 0 }

func sgdVec[T Float](p, g []T, decay, wd, lr T) int { return 0 }

func nesterovVec[T Float](p, g, buf []T, decay, wd, mu, damp, lr T) int { return 0 }

func adamaxVec[T Float](p, g, m, u []T, b1, c1, b2, eps, clr, wd T) int { return 0 }

func lionVec[T Float](p, g, m []T, b1, c1, b2, c2, lr, decay T) int { return 0 }

func radamVec[T Float](p, g, m, v []T, decay, wd, b1, c1, b2, c2, step, sbc2, eps T, rectified bool) int {
	return 0
}

func nadamVec[T Float](p, g, m, v []T, decay, wd, b1, c1, b2, c2, cg, invBC2, eps, cm T) int {
	return 0
}

func rmspropVec[T Float](p, g, sq []T, wd, a, ca, eps, lr T) int { return 0 }
