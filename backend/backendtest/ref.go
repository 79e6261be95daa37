package backendtest

// The float64 reference: the plainest formulas for each op, written independently of the
// kernels package (whose twins are what the CPU backend runs), stable where the naive formula
// would overflow.

import (
	"math"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
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

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// geluTanhC is sqrt(2/π), the constant of the tanh approximation of GELU.
var geluTanhC = math.Sqrt(2 / math.Pi)

const geluTanhK = 0.044715

func refAct(act kernels.Activation, alpha, x float64) float64 {
	switch act {
	case kernels.Identity:
		return x
	case kernels.Sigmoid:
		return sigmoid(x)
	case kernels.Tanh:
		return math.Tanh(x)
	case kernels.ReLU:
		return math.Max(x, 0)
	case kernels.LeakyReLU:
		if x > 0 {
			return x
		}
		return alpha * x
	case kernels.ELU:
		if x > 0 {
			return x
		}
		return alpha * math.Expm1(x)
	case kernels.GELU:
		// x·Φ(x) with Φ(x) = (1+erf(x/√2))/2, written with erfc so that large negative x keeps
		// its relative accuracy.
		return 0.5 * x * math.Erfc(-x/math.Sqrt2)
	case kernels.GELUTanh:
		return 0.5 * x * (1 + math.Tanh(geluTanhC*(x+geluTanhK*x*x*x)))
	case kernels.SiLU:
		return x * sigmoid(x)
	case kernels.Softplus:
		return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
	}
	panic("backendtest: no reference for " + act.String())
}

// refActDeriv returns f'(x).
func refActDeriv(act kernels.Activation, alpha, x float64) float64 {
	switch act {
	case kernels.Identity:
		return 1
	case kernels.Sigmoid:
		s := sigmoid(x)
		return s * (1 - s)
	case kernels.Tanh:
		th := math.Tanh(x)
		return 1 - th*th
	case kernels.ReLU:
		return b2f(x > 0)
	case kernels.LeakyReLU:
		if x > 0 {
			return 1
		}
		return alpha
	case kernels.ELU:
		if x > 0 {
			return 1
		}
		return alpha * math.Exp(x)
	case kernels.GELU:
		return 0.5*math.Erfc(-x/math.Sqrt2) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
	case kernels.GELUTanh:
		th := math.Tanh(geluTanhC * (x + geluTanhK*x*x*x))
		return 0.5*(1+th) + 0.5*x*(1-th*th)*geluTanhC*(1+3*geluTanhK*x*x)
	case kernels.SiLU:
		s := sigmoid(x)
		return s + x*s*(1-s)
	case kernels.Softplus:
		return sigmoid(x)
	}
	panic("backendtest: no reference for " + act.String())
}

// refSoftmax returns the row softmax (log-softmax when log), subtracting the row max first.
func refSoftmax(log bool, x []float64, rows, cols int) []float64 {
	out := make([]float64, rows*cols)
	for r := range rows {
		row := x[r*cols : (r+1)*cols]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, v)
		}
		s := 0.0
		for _, v := range row {
			s += math.Exp(v - m)
		}
		for c, v := range row {
			if log {
				out[r*cols+c] = v - m - math.Log(s)
			} else {
				out[r*cols+c] = math.Exp(v-m) / s
			}
		}
	}
	return out
}

// refSoftmaxGrad returns dx given the forward output y: y·(dy - Σdy·y) for softmax and
// dy - exp(y)·Σdy for log-softmax.
func refSoftmaxGrad(log bool, y, dy []float64, rows, cols int) []float64 {
	out := make([]float64, rows*cols)
	for r := range rows {
		ys, dys := y[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols]
		s := 0.0
		for c := range cols {
			if log {
				s += dys[c]
			} else {
				s += dys[c] * ys[c]
			}
		}
		for c := range cols {
			if log {
				out[r*cols+c] = dys[c] - math.Exp(ys[c])*s
			} else {
				out[r*cols+c] = ys[c] * (dys[c] - s)
			}
		}
	}
	return out
}

func refLoss(kind kernels.Loss, x, y []float64, rows, cols int) float64 {
	s := 0.0
	switch kind {
	case kernels.SoftmaxCrossEntropy:
		ls := refSoftmax(true, x, rows, cols)
		for i := range ls {
			if y[i] != 0 {
				s -= y[i] * ls[i]
			}
		}
		return s / float64(rows)
	case kernels.BCEWithLogits:
		for i, v := range x {
			s += math.Max(v, 0) - v*y[i] + math.Log1p(math.Exp(-math.Abs(v)))
		}
	case kernels.MSE:
		for i, v := range x {
			s += (v - y[i]) * (v - y[i])
		}
	default:
		panic("backendtest: no reference for " + kind.String())
	}
	return s / float64(rows*cols)
}

// refLossGrad returns dloss·∂loss/∂x. For cross-entropy that is (softmax(x)·Σy - y)/rows, which is
// softmax(x) - y per row when the targets are a distribution.
func refLossGrad(kind kernels.Loss, x, y []float64, dloss float64, rows, cols int) []float64 {
	out := make([]float64, len(x))
	switch kind {
	case kernels.SoftmaxCrossEntropy:
		p := refSoftmax(false, x, rows, cols)
		for r := range rows {
			sy := 0.0
			for c := range cols {
				sy += y[r*cols+c]
			}
			for c := range cols {
				i := r*cols + c
				out[i] = dloss * (p[i]*sy - y[i]) / float64(rows)
			}
		}
	case kernels.BCEWithLogits:
		for i, v := range x {
			out[i] = dloss * (sigmoid(v) - y[i]) / float64(rows*cols)
		}
	case kernels.MSE:
		for i, v := range x {
			out[i] = dloss * 2 * (v - y[i]) / float64(rows*cols)
		}
	default:
		panic("backendtest: no reference for " + kind.String())
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
