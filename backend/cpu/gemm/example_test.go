package gemm_test

import (
	"fmt"

	"github.com/gotrain/gotrain/backend/cpu/gemm"
	"github.com/gotrain/gotrain/backend/cpu/parallel"
)

// A dense layer's forward pass, Y = X·W, for a batch of two inputs with three features each.
func ExampleSgemm() {
	x := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	w := []float32{
		1, 0,
		0, 1,
		1, 1,
	}
	y := make([]float32, 2*2)
	if err := gemm.Sgemm(false, false, 2, 2, 3, 1, x, 3, w, 2, 0, y, 2); err != nil {
		fmt.Println(err)
	}
	fmt.Println(y)
	// Output: [4 5 10 11]
}

// The weight gradient dW = Xᵀ·dY, accumulated into an existing gradient (beta = 1) on an
// Engine with its own pool, as a training loop would hold one.
func ExampleEngine_Sgemm() {
	pool := parallel.New(2)
	defer pool.Close()
	e := gemm.New(pool)

	x := []float32{1, 2, 3, 4, 5, 6} // 2×3: two samples
	dy := []float32{1, 0, 0, 1}      // 2×2
	dw := []float32{10, 10, 10, 10, 10, 10}
	if err := e.Sgemm(true, false, 3, 2, 2, 1, x, 3, dy, 2, 1, dw, 2); err != nil {
		fmt.Println(err)
	}
	fmt.Println(dw)
	// Output: [11 14 12 15 13 16]
}
