package exec

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestZZSteps(t *testing.T) {
	shapes := [][]int{{6, 1, 5, 5}, {6}, {16, 6, 5, 5}, {16}, {400, 120}, {120}, {120, 84}, {84}, {84, 10}, {10}}
	g := G.NewGraph()
	var ps []*G.Node
	for i, s := range shapes {
		ps = append(ps, G.NewTensor(g, tensor.Float32, len(s), G.WithShape(s...), G.WithName(fmt.Sprint("p", i))))
	}
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(128, 1, 28, 28), G.WithName("x"))
	y := G.NewMatrix(g, tensor.Float32, G.WithShape(128, 10), G.WithName("y"))
	h := G.Must(nn.Conv2d(x, ps[0], ps[1], nn.ConvOpts{Padding: [2]int{2, 2}}))
	h = G.Must(nn.Activate(h, kernels.ReLU, 0))
	h = G.Must(nn.MaxPool2d(h, [2]int{2, 2}, nn.PoolOpts{}))
	h = G.Must(nn.Conv2d(h, ps[2], ps[3], nn.ConvOpts{}))
	h = G.Must(nn.Activate(h, kernels.ReLU, 0))
	h = G.Must(nn.MaxPool2d(h, [2]int{2, 2}, nn.PoolOpts{}))
	h = G.Must(nn.Flatten(h))
	for l := 0; l < 3; l++ {
		h = G.Must(nn.BiasAdd(G.Must(G.Mul(h, ps[4+2*l])), ps[5+2*l]))
		if l < 2 {
			h = G.Must(nn.Activate(h, kernels.ReLU, 0))
		}
	}
	loss := G.Must(nn.FusedLoss(h, y, kernels.SoftmaxCrossEntropy))
	grads, _ := G.Grad(loss, ps...)
	dev, _ := cpu.New(0)
	bind := map[*G.Node]backend.Buffer{}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range ps {
		b, _ := dev.Alloc(backend.Float32, p.Shape().TotalSize())
		v := make([]float32, b.Len())
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.1)
		}
		dev.Write(b, v)
		bind[p] = b
	}
	plan, err := Compile(g, Config{Device: dev, DType: backend.Float32, Targets: append([]*G.Node{loss}, grads...), Bind: bind})
	if err != nil {
		t.Fatal(err)
	}
	xb, _ := plan.Buffer(x)
	xv := make([]float32, xb.Len())
	for i := range xv {
		xv[i] = rng.Float32()
	}
	dev.Write(xb, xv)
	plan.Run()
	const reps = 30
	times := make([]time.Duration, len(plan.steps))
	for r := 0; r < reps; r++ {
		for i := range plan.steps {
			s := &plan.steps[i]
			t0 := time.Now()
			if s.call != nil {
				dev.Run(s.call)
			} else {
				s.run()
			}
			times[i] += time.Since(t0)
		}
	}
	type row struct {
		i int
		d time.Duration
	}
	var rows []row
	var total time.Duration
	for i, d := range times {
		rows = append(rows, row{i, d / reps})
		total += d / reps
	}
	sort.Slice(rows, func(a, b int) bool { return rows[a].d > rows[b].d })
	fmt.Println("total", total)
	for _, r := range rows[:15] {
		fmt.Printf("%8v %5.1f%%  %v\n", r.d, 100*float64(r.d)/float64(total), plan.steps[r.i].node.Op())
	}
}
