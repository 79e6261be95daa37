// Command gotrain trains neural networks on the CPU or an NVIDIA GPU.
//
//	gotrain train [flags]     train a model (real MNIST digits are built in: no download)
//	gotrain version           print the version and the devices this binary supports
//
// This file holds flags and wiring only; the math lives in the packages it calls.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/gotrain/gotrain/backend"
	_ "github.com/gotrain/gotrain/backend/cpu"
	_ "github.com/gotrain/gotrain/backend/cuda"
	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/models/mnist"
	"github.com/gotrain/gotrain/optim"
)

// version is set at link time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `gotrain trains neural networks on the CPU or an NVIDIA GPU.

Usage:
  gotrain train [flags]    train a model; -h lists the flags
  gotrain version          print the version and the available devices
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "train":
		if err := trainCmd(args[1:], stdout, stderr); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintln(stderr, "gotrain train:", err)
			return 1
		}
		return 0
	case "version":
		fmt.Fprintf(stdout, "gotrain %s (%s, %s/%s), devices: %v\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, backend.Names())
		return 0
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "gotrain: unknown command %q\n\n%s", args[0], usage)
	return 2
}

type trainFlags struct {
	model, activation, loss, optimizer, init, device, data string
	lr                                                     float64
	epochs, batch                                          int
	seed                                                   uint64
}

func trainCmd(args []string, stdout, stderr io.Writer) error {
	var f trainFlags
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.model, "model", "784-256-256-10", "layer widths, input first; hidden layers may name an activation (784-256:tanh-10); 784-10 is logistic regression")
	fs.StringVar(&f.activation, "activation", "relu", fmt.Sprintf("hidden-layer activation: %v", kernels.Activations()))
	fs.StringVar(&f.loss, "loss", "softmax-ce", fmt.Sprintf("loss: %v", kernels.Losses()))
	fs.StringVar(&f.optimizer, "optimizer", "adam", fmt.Sprintf("optimizer: %v", optim.Names()))
	fs.Float64Var(&f.lr, "lr", 1e-3, "learning rate")
	fs.IntVar(&f.epochs, "epochs", 3, "passes over the training set")
	fs.IntVar(&f.batch, "batch", 128, "mini-batch size (the last partial batch is used)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed for the initial weights and the data order")
	fs.StringVar(&f.init, "init", "auto", "weight init: auto (He for ReLU-like, Glorot otherwise), glorot, he")
	fs.StringVar(&f.device, "device", "cpu", "device: cpu or cuda (cuda needs a binary built with -tags gpu)")
	fs.StringVar(&f.data, "data", "", "directory with MNIST IDX files (gz or raw); empty uses the built-in subset (10000 train, 2000 test)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (flags go before them?)", fs.Args())
	}

	// Check every option before any work starts.
	act, err := kernels.ParseActivation(f.activation)
	if err != nil {
		return fmt.Errorf("-activation: %w", err)
	}
	loss, err := kernels.ParseLoss(f.loss)
	if err != nil {
		return fmt.Errorf("-loss: %w", err)
	}
	spec, err := models.ParseSpec(f.model, act, loss)
	if err != nil {
		return fmt.Errorf("-model: %w", err)
	}
	init, err := models.ParseInit(f.init)
	if err != nil {
		return fmt.Errorf("-init: %w", err)
	}
	opt, err := optim.NewNamed(f.optimizer, f.lr)
	if err != nil {
		return fmt.Errorf("-optimizer/-lr: %w", err)
	}
	if f.epochs < 1 {
		return fmt.Errorf("-epochs %d: must be at least 1", f.epochs)
	}
	if f.batch < 1 {
		return fmt.Errorf("-batch %d: must be at least 1", f.batch)
	}

	trainSet, testSet, source, err := loadData(f.data)
	if err != nil {
		return fmt.Errorf("-data: %w", err)
	}
	classes := spec.Outputs()
	if spec.Inputs != trainSet.Features {
		return fmt.Errorf("-model %v: the input width %d does not match the data's %d features", spec, spec.Inputs, trainSet.Features)
	}
	if classes != 10 {
		return fmt.Errorf("-model %v: MNIST has 10 classes, the output width is %d", spec, classes)
	}
	tr, err := train.Classification(trainSet.X, trainSet.Labels, trainSet.Features, classes)
	if err != nil {
		return err
	}
	te, err := train.Classification(testSet.X, testSet.Labels, testSet.Features, classes)
	if err != nil {
		return err
	}

	dev, err := backend.Open(f.device)
	if err != nil {
		return fmt.Errorf("-device: %w", err)
	}
	defer dev.Close()

	fmt.Fprintf(stdout, "data: %s (%d train, %d test)\n", source, tr.N, te.N)
	fmt.Fprintf(stdout, "model: %v, loss %v, %d parameters; optimizer %s lr %g, batch %d, seed %d; device %s\n",
		spec, loss, spec.ParamCount(), opt.Name(), f.lr, f.batch, f.seed, dev.Describe())
	start := time.Now()
	t, err := train.New(train.Config{Spec: spec, Device: dev, Optimizer: opt, Epochs: f.epochs, BatchSize: f.batch,
		Seed: f.seed, Init: init,
		OnEpoch: func(m train.EpochMetrics) error {
			fmt.Fprintf(stdout, "epoch %d/%d  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%  %.1fs %.0f samples/s\n",
				m.Epoch, f.epochs, m.TrainLoss, 100*m.TrainAcc, m.TestLoss, 100*m.TestAcc, m.Duration.Seconds(), m.SamplesPerSec)
			return nil
		}})
	if err != nil {
		return err
	}
	defer t.Close()
	hist, err := t.Fit(tr, te)
	if err != nil {
		return err
	}
	last := hist[len(hist)-1]
	fmt.Fprintf(stdout, "done in %.1fs: test accuracy %.2f%%\n", time.Since(start).Seconds(), 100*last.TestAcc)
	return nil
}

func loadData(dir string) (trainSet, testSet *mnist.Dataset, source string, err error) {
	if dir == "" {
		trainSet, testSet, err = mnist.Embedded()
		return trainSet, testSet, "built-in MNIST subset", err
	}
	trainSet, testSet, err = mnist.LoadDir(dir)
	return trainSet, testSet, "MNIST from " + dir, err
}
