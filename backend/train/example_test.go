package train_test

import (
	"fmt"

	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/models/mnist"
	"github.com/gotrain/gotrain/models/nn"
	"github.com/gotrain/gotrain/optim"
	G "gorgonia.org/gorgonia"
)

// Example_customModel trains a Gorgonia graph written by hand: an MLP whose second hidden layer
// adds its input back (a skip connection), with GELU then tanh, on the built-in MNIST digits,
// with Adam and a cosine schedule on the CPU device, then evaluates it.
func Example_customModel() {
	model := models.Func{
		Name:    "skip-mlp-784-128-128-10",
		Input:   []int{784},
		Classes: 10,
		Loss:    kernels.SoftmaxCrossEntropy,
		Weights: []models.Param{
			{Name: "w1", Shape: []int{784, 128}, Act: kernels.GELU}, {Name: "b1", Shape: []int{128}, Kind: models.Bias},
			{Name: "w2", Shape: []int{128, 128}, Act: kernels.Tanh}, {Name: "b2", Shape: []int{128}, Kind: models.Bias},
			{Name: "w3", Shape: []int{128, 10}}, {Name: "b3", Shape: []int{10}, Kind: models.Bias},
		},
		Forward: func(x *G.Node, p models.Nodes, training bool) (*G.Node, error) {
			dense := func(h *G.Node, w, b string) *G.Node {
				return G.Must(nn.BiasAdd(G.Must(G.Mul(h, p.Get(w))), p.Get(b)))
			}
			h1 := G.Must(nn.Activate(dense(x, "w1", "b1"), kernels.GELU, 0))
			h2 := G.Must(nn.Activate(dense(h1, "w2", "b2"), kernels.Tanh, 0))
			skip := G.Must(G.Add(h1, h2)) // the skip connection
			return dense(skip, "w3", "b3"), nil
		},
	}

	trainDigits, testDigits, err := mnist.Embedded()
	if err != nil {
		fmt.Println(err)
		return
	}
	trainSet, err := train.Classification(trainDigits.X, trainDigits.Labels, trainDigits.Features, trainDigits.Classes)
	if err != nil {
		fmt.Println(err)
		return
	}
	testSet, err := train.Classification(testDigits.X, testDigits.Labels, testDigits.Features, testDigits.Classes)
	if err != nil {
		fmt.Println(err)
		return
	}

	dev, err := cpu.New(0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dev.Close()
	opt := optim.MustNamed("adam", 2e-3)
	const epochs = 3
	sched, err := optim.NewScheduler(opt.BaseRates(), optim.Cosine{TMax: epochs}, optim.PerEpoch, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	tr, err := train.New(train.Config{Model: model, Device: dev, Optimizer: opt, Scheduler: sched,
		Epochs: epochs, BatchSize: 128, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tr.Close()
	hist, err := tr.Fit(trainSet, testSet)
	if err != nil {
		fmt.Println(err)
		return
	}
	loss, acc, err := tr.Evaluate(testSet)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %d parameters in %v\n", model, int(models.Count(model)), tr.ParamNames())
	fmt.Printf("%d epochs; the rate ended at %.2g of the base\n", len(hist), hist[len(hist)-1].LastLR/2e-3)
	// The digits differ in the last bits between CPUs (their matrix kernels round differently),
	// so the example prints what holds on every one.
	fmt.Printf("test accuracy above 90%%: %v; the evaluation matches the last epoch's: %v\n", acc > 0.9, acc == hist[len(hist)-1].TestAcc)
	fmt.Printf("test loss below 0.35: %v\n", loss < 0.35)
	// Output:
	// skip-mlp-784-128-128-10: 118282 parameters in [w1 [784 128] b1 [128] w2 [128 128] b2 [128] w3 [128 10] b3 [10]]
	// 3 epochs; the rate ended at 0.25 of the base
	// test accuracy above 90%: true; the evaluation matches the last epoch's: true
	// test loss below 0.35: true
}
