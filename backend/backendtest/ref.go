package backendtest

// The float64 reference of the elementwise, GEMM and reduction ops: the plainest formulas for
// each op, written independently of the kernels package (whose twins are what the CPU backend
// runs). Those of the activations, softmax, losses and layers live in package ref, which the
// kernels' own tests share.

import (
	"math"

	"github.com/gotrain/gotrain/backend"
)

func refUnary(op backend.UnaryOp, x float64) float64 {
	switch op {
	case backend.Neg:
		return -x
	case backend.Exp:
		return math.Exp(x)
	case backend.Log:
		return math.Log(x)
	case backend.Square:
		return x * x
	case backend.Sqrt:
		return math.Sqrt(x)
	case backend.Abs:
		return math.Abs(x)
	case backend.Sign:
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return 0
	case backend.Inverse:
		return 1 / x
	case backend.Log1p:
		return math.Log1p(x)
	case backend.Expm1:
		return math.Expm1(x)
	case backend.Cube:
		return x * x * x
	}
	panic("backendtest: no reference for " + op.String()) // a new op needs a reference here
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func refBinary(op backend.BinaryOp, a, b float64) float64 {
	switch op {
	case backend.Add:
		return a + b
	case backend.Sub:
		return a - b
	case backend.Mul:
		return a * b
	case backend.Div:
		return a / b
	case backend.Pow:
		return math.Pow(a, b)
	case backend.Max:
		return math.Max(a, b)
	case backend.Min:
		return math.Min(a, b)
	case backend.Gt:
		return b2f(a > b)
	case backend.Ge:
		return b2f(a >= b)
	case backend.Lt:
		return b2f(a < b)
	case backend.Le:
		return b2f(a <= b)
	case backend.Eq:
		return b2f(a == b)
	case backend.Ne:
		return b2f(a != b)
	}
	panic("backendtest: no reference for " + op.String())
}

// refGemm returns alpha·op(A)·op(B) + beta·C (C ignored when beta == 0) and, for tolerances, the
// largest |alpha|·Σ|a·b| + |beta·c| over the elements.
func refGemm(transA, transB bool, m, n, k int, alpha float64, a, b []float64, beta float64, c []float64) (out []float64, scale float64) {
	out = make([]float64, m*n)
	for i := range m {
		for j := range n {
			s, sa := 0.0, 0.0
			for p := range k {
				av := a[i*k+p]
				if transA {
					av = a[p*m+i]
				}
				bv := b[p*n+j]
				if transB {
					bv = b[j*k+p]
				}
				s += av * bv
				sa += math.Abs(av * bv)
			}
			v, sc := alpha*s, math.Abs(alpha)*sa
			if beta != 0 {
				v += beta * c[i*n+j]
				sc += math.Abs(beta * c[i*n+j])
			}
			out[i*n+j] = v
			scale = max(scale, sc)
		}
	}
	return out, scale
}

func refBroadcast(src []float64, outer, mid, inner int) []float64 {
	out := make([]float64, 0, outer*mid*inner)
	for o := range outer {
		for range mid {
			out = append(out, src[o*inner:(o+1)*inner]...)
		}
	}
	return out
}

// refSum returns the sum over the middle axis and the largest Σ|x| of an output element.
func refSum(src []float64, outer, mid, inner int) (out []float64, scale float64) {
	out = make([]float64, outer*inner)
	for o := range outer {
		for i := range inner {
			s, sa := 0.0, 0.0
			for j := range mid {
				v := src[(o*mid+j)*inner+i]
				s += v
				sa += math.Abs(v)
			}
			out[o*inner+i] = s
			scale = max(scale, sa)
		}
	}
	return out, scale
}

func refBiasAdd(x, bias []float64, rows, cols int) []float64 {
	out := make([]float64, rows*cols)
	for r := range rows {
		for c := range cols {
			out[r*cols+c] = x[r*cols+c] + bias[c]
		}
	}
	return out
}

func argmax(row []float64) int {
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	return best
}

func refCountCorrect(x, y []float64, rows, cols int) float64 {
	n := 0
	for r := range rows {
		xs, ys := x[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]
		if cols == 1 {
			if (xs[0] > 0) == (ys[0] > 0.5) {
				n++
			}
		} else if argmax(xs) == argmax(ys) {
			n++
		}
	}
	return float64(n)
}
