package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
)

// optFloat is a float flag that remembers whether it was given, so "the rule's default" can be
// the default (PyTorch's defaults differ per optimizer).
type optFloat struct {
	v   float64
	set bool
}

func (o *optFloat) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.FormatFloat(o.v, 'g', -1, 64)
}

func (o *optFloat) Set(s string) error {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	o.v, o.set = v, true
	return nil
}

// optBool is the same for booleans.
type optBool struct {
	v   bool
	set bool
}

func (o *optBool) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.FormatBool(o.v)
}

func (o *optBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	o.v, o.set = v, true
	return nil
}

func (o *optBool) IsBoolFlag() bool { return true }

// options are the settings shared by train, sweep and lr-find. Their flag names are also the
// keys of the JSON config file.
type options struct {
	config string

	model, activation, loss, init string
	optimizer                     string
	lr                            float64
	momentum, dampening, wd       optFloat
	beta1, beta2, eps, alpha      optFloat
	lrDecay, initAcc, momDecay    optFloat
	nesterov, amsgrad, centered   optBool
	decoupled                     optBool
	noDecayBias                   bool

	schedule, interval  string
	clipNorm, clipValue float64
	onNonFinite         string

	epochs, batch, evalBatch int
	seed                     uint64
	device                   string
	workers                  int

	data, csv, label string
	valSplit         float64

	// sweep lists (only registered by sweep)
	lrList, optList, actList, schedList string
}

// register adds the shared flags to fs with their defaults. For sweep, -lr, -optimizer,
// -activation and -schedule take lists.
func (o *options) register(fs *flag.FlagSet) { o.registerFor(fs, false) }

func (o *options) registerFor(fs *flag.FlagSet, sweep bool) {
	fs.StringVar(&o.config, "config", "", "JSON file of options (keys are flag names); flags given on the command line override it")
	fs.StringVar(&o.model, "model", "784-256-256-10", "layer widths, input first; a hidden layer may name its activation (784-256:tanh-10); 784-10 is logistic regression")
	if sweep {
		fs.StringVar(&o.actList, "activation", "relu", "hidden-layer activations to compare, comma-separated: "+joinStringers(kernels.Activations()))
	} else {
		fs.StringVar(&o.activation, "activation", "relu", "hidden-layer activation: "+joinStringers(kernels.Activations()))
	}
	fs.StringVar(&o.loss, "loss", "softmax-ce", "loss: "+joinStringers(kernels.Losses()))
	fs.StringVar(&o.init, "init", "auto", "weight init: auto (He for ReLU-like layers, Glorot otherwise), glorot, he")
	if sweep {
		fs.StringVar(&o.optList, "optimizer", "sgd,adam", "optimizers to compare, comma-separated: "+strings.Join(optim.Names(), ", "))
		fs.StringVar(&o.lrList, "lr", "1e-3,1e-2,1e-1", "learning rates to compare, comma-separated")
	} else {
		fs.StringVar(&o.optimizer, "optimizer", "adam", "optimizer: "+strings.Join(optim.Names(), ", "))
		fs.Float64Var(&o.lr, "lr", 1e-3, "learning rate")
	}
	fs.Var(&o.momentum, "momentum", "momentum (sgd, rmsprop); default: the optimizer's (0.9 for momentum/nesterov, else 0)")
	fs.Var(&o.dampening, "dampening", "sgd dampening (default 0)")
	fs.Var(&o.nesterov, "nesterov", "sgd: use Nesterov momentum")
	fs.Var(&o.wd, "weight-decay", "weight decay: L2 for sgd/adam/rmsprop/adagrad/nadam, decoupled for adamw (default 0; 0.01 for adamw)")
	fs.Var(&o.beta1, "beta1", "adam/adamw/nadam beta1 (default 0.9)")
	fs.Var(&o.beta2, "beta2", "adam/adamw/nadam beta2 (default 0.999)")
	fs.Var(&o.eps, "eps", "epsilon (default 1e-8; 1e-10 for adagrad)")
	fs.Var(&o.amsgrad, "amsgrad", "adam/adamw: use AMSGrad")
	fs.Var(&o.alpha, "alpha", "rmsprop smoothing constant (default 0.99)")
	fs.Var(&o.centered, "centered", "rmsprop: centered variant")
	fs.Var(&o.lrDecay, "lr-decay", "adagrad lr_decay (default 0)")
	fs.Var(&o.initAcc, "initial-accumulator", "adagrad initial_accumulator_value (default 0)")
	fs.Var(&o.momDecay, "momentum-decay", "nadam momentum_decay (default 0.004)")
	fs.Var(&o.decoupled, "decoupled", "nadam: decoupled weight decay (NAdamW)")
	fs.BoolVar(&o.noDecayBias, "no-decay-bias", false, "put biases in a parameter group without weight decay")
	scheduleFlag := "learning-rate schedule"
	if sweep {
		scheduleFlag = "learning-rate schedules to compare, separated by '|', each"
	}
	fs.StringVar(&o.schedule, "schedule", "constant", scheduleFlag+" NAME[:key=value,...]: constant; step:size=,gamma=; multistep:milestones=3;6,gamma=; exponential:gamma=; cosine[:tmax=,eta_min=]; warmup:start=,end=,iters=; warmup-cosine:warmup=,tmax=; onecycle:max_lr=[,total=,pct_start=]; plateau[:factor=,patience=,threshold=,cooldown=,min_lr=,max=1,abs=1]")
	fs.StringVar(&o.interval, "schedule-interval", "epoch", "when the schedule advances: epoch or batch (plateau is always per epoch)")
	fs.Float64Var(&o.clipNorm, "clip-norm", 0, "clip gradients to this global L2 norm (0: off)")
	fs.Float64Var(&o.clipValue, "clip-value", 0, "clamp each gradient element to ±this (0: off)")
	fs.StringVar(&o.onNonFinite, "on-nonfinite", "stop", "a NaN/Inf loss or gradient: stop (error naming the step and parameter) or skip (drop the step and count it)")
	fs.IntVar(&o.epochs, "epochs", 3, "passes over the training set")
	fs.IntVar(&o.batch, "batch", 128, "mini-batch size (the last partial batch is used)")
	fs.IntVar(&o.evalBatch, "eval-batch", 1000, "batch size for evaluation")
	fs.Uint64Var(&o.seed, "seed", 1, "seed for the initial weights and the data order")
	fs.StringVar(&o.device, "device", "cpu", "device: cpu or cuda (cuda needs a binary built with -tags gpu)")
	fs.IntVar(&o.workers, "workers", 0, "CPU goroutines per run (0: all cores, shared among parallel sweep runs)")
	fs.StringVar(&o.data, "data", "", "directory with MNIST IDX files (train-images-idx3-ubyte[.gz], ...); empty: the built-in subset")
	fs.StringVar(&o.csv, "csv", "", "CSV file of numeric features and a label column (instead of MNIST)")
	fs.StringVar(&o.label, "label", "", "CSV label column: a header name or a 0-based index (default: the last column)")
	fs.Float64Var(&o.valSplit, "val-split", 0, "fraction of the training set held out for validation, in [0, 1); 0 evaluates on the test set (MNIST) or on nothing (CSV)")
}

func joinStringers[T fmt.Stringer](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = x.String()
	}
	return strings.Join(s, ", ")
}

// parse parses args into fs, then applies the config file to every flag not given on the
// command line. Unknown config keys are errors.
func parseWithConfig(fs *flag.FlagSet, args []string, config *string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: options are flags (-name value) and come before nothing else", fs.Args())
	}
	if *config == "" {
		return nil
	}
	raw, err := os.ReadFile(*config)
	if err != nil {
		return fmt.Errorf("-config: %w", err)
	}
	return applyConfig(fs, raw, *config)
}

// applyConfig sets the flags named by the keys of a JSON object, except flags already set.
func applyConfig(fs *flag.FlagSet, raw []byte, name string) error {
	var values map[string]any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&values); err != nil {
		return fmt.Errorf("-config %s: not a JSON object of options: %w", name, err)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if fs.Lookup(k) == nil || k == "config" {
			return fmt.Errorf("-config %s: unknown option %q (see -h for the options)", name, k)
		}
		if given[k] {
			continue
		}
		var s string
		switch v := values[k].(type) {
		case string:
			s = v
		case json.Number:
			s = v.String()
		case bool:
			s = strconv.FormatBool(v)
		default:
			return fmt.Errorf("-config %s: option %q has a %T value; want a string, number or boolean", name, k, v)
		}
		if err := fs.Set(k, s); err != nil {
			return fmt.Errorf("-config %s: option %q: %w", name, k, err)
		}
	}
	return nil
}

// setup is what validated options build.
type setup struct {
	spec     models.Spec
	init     models.Init
	optOpts  optim.Options
	schedule optim.Schedule
	plateau  *optim.Plateau
	interval optim.Interval
	policy   train.NonFinitePolicy
}

// optimizerOptions merges the optimizer flags over the rule's PyTorch defaults.
func (o *options) optimizerOptions(name string, lr float64) (optim.Options, error) {
	oo, err := optim.Defaults(name, lr)
	if err != nil {
		return oo, err
	}
	floats := []struct {
		f   *optFloat
		dst *float64
	}{{&o.momentum, &oo.Momentum}, {&o.dampening, &oo.Dampening}, {&o.wd, &oo.WeightDecay}, {&o.beta1, &oo.Beta1},
		{&o.beta2, &oo.Beta2}, {&o.eps, &oo.Eps}, {&o.alpha, &oo.Alpha}, {&o.lrDecay, &oo.LRDecay},
		{&o.initAcc, &oo.InitialAccumulator}, {&o.momDecay, &oo.MomentumDecay}}
	for _, f := range floats {
		if f.f.set {
			*f.dst = f.f.v
		}
	}
	bools := []struct {
		b   *optBool
		dst *bool
	}{{&o.nesterov, &oo.Nesterov}, {&o.amsgrad, &oo.AMSGrad}, {&o.centered, &oo.Centered}, {&o.decoupled, &oo.Decoupled}}
	for _, b := range bools {
		if b.b.set {
			*b.dst = b.b.v
		}
	}
	return oo, oo.Validate()
}

// validate checks every option before any work starts. stepsPerEpoch (batches per epoch) sets
// the length of per-batch schedules; 0 means the data is not loaded yet, and only the options
// that do not depend on its size are checked fully.
func (o *options) validate(stepsPerEpoch int) (*setup, error) {
	var s setup
	act, err := kernels.ParseActivation(o.activation)
	if err != nil {
		return nil, fmt.Errorf("-activation: %w", err)
	}
	loss, err := kernels.ParseLoss(o.loss)
	if err != nil {
		return nil, fmt.Errorf("-loss: %w", err)
	}
	if s.spec, err = models.ParseSpec(o.model, act, loss); err != nil {
		return nil, fmt.Errorf("-model: %w", err)
	}
	if s.init, err = models.ParseInit(o.init); err != nil {
		return nil, fmt.Errorf("-init: %w", err)
	}
	if s.optOpts, err = o.optimizerOptions(o.optimizer, o.lr); err != nil {
		return nil, fmt.Errorf("-optimizer %s: %w", o.optimizer, err)
	}
	switch o.interval {
	case "epoch":
		s.interval = optim.PerEpoch
	case "batch":
		s.interval = optim.PerBatch
	default:
		return nil, fmt.Errorf("-schedule-interval %q: want epoch or batch", o.interval)
	}
	if o.epochs < 1 {
		return nil, fmt.Errorf("-epochs %d: want at least 1", o.epochs)
	}
	if o.batch < 1 {
		return nil, fmt.Errorf("-batch %d: want at least 1", o.batch)
	}
	if o.evalBatch < 1 {
		return nil, fmt.Errorf("-eval-batch %d: want at least 1", o.evalBatch)
	}
	total := o.epochs
	switch {
	case stepsPerEpoch <= 0 && s.interval == optim.PerBatch:
		total = 1 << 30 // unknown yet: long enough for any warm-up; checked again with the data
	case s.interval == optim.PerBatch:
		total = o.epochs * stepsPerEpoch
	}
	if strings.HasPrefix(strings.TrimSpace(o.schedule), "plateau") {
		if s.plateau, err = optim.ParsePlateau(o.schedule); err != nil {
			return nil, fmt.Errorf("-schedule: %w", err)
		}
	} else if s.schedule, err = optim.ParseSchedule(o.schedule, total); err != nil {
		return nil, fmt.Errorf("-schedule: %w", err)
	}
	if !(o.clipNorm >= 0) || math.IsInf(o.clipNorm, 0) {
		return nil, fmt.Errorf("-clip-norm %v: want a finite value >= 0", o.clipNorm)
	}
	if !(o.clipValue >= 0) || math.IsInf(o.clipValue, 0) {
		return nil, fmt.Errorf("-clip-value %v: want a finite value >= 0", o.clipValue)
	}
	switch o.onNonFinite {
	case "stop":
		s.policy = train.Stop
	case "skip":
		s.policy = train.Skip
	default:
		return nil, fmt.Errorf("-on-nonfinite %q: want stop or skip", o.onNonFinite)
	}
	if o.device != "cpu" && o.device != "cuda" {
		return nil, fmt.Errorf("-device %q: want cpu or cuda", o.device)
	}
	if o.workers < 0 || o.workers > 4*runtime.NumCPU() {
		return nil, fmt.Errorf("-workers %d: want 0 (all cores) up to %d", o.workers, 4*runtime.NumCPU())
	}
	if !(o.valSplit >= 0 && o.valSplit < 1) {
		return nil, fmt.Errorf("-val-split %v: want a fraction in [0, 1)", o.valSplit)
	}
	if o.data != "" && o.csv != "" {
		return nil, errors.New("-data and -csv: give one data source, not both")
	}
	if o.label != "" && o.csv == "" {
		return nil, errors.New("-label only applies with -csv")
	}
	return &s, nil
}
