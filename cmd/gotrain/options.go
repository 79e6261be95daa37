package main

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
)

// options are the settings shared by train, sweep and lr-find. Their flag names are also the
// keys of the JSON config file.
type options struct {
	cmd    string // the subcommand: train, sweep or lr-find
	config string
	// explicit maps each option given on the command line or in a config file to where it came
	// from (shared by the copies a sweep makes per run).
	explicit map[string]string

	model, activation, loss, init string
	optimizer                     string
	lr                            float64
	momentum, dampening, wd       float64
	beta1, beta2, eps, alpha      float64
	lrDecay, initAcc, momDecay    float64
	nesterov, amsgrad, centered   bool
	decoupled                     bool
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

// register adds the shared options of cmd (train, sweep or lr-find) to c. For sweep, -lr,
// -optimizer, -activation and -schedule take lists; lr-find has no options that only matter
// to a run of epochs (-lr, -epochs, -schedule, evaluation).
func (o *options) register(c *command, cmd string) {
	o.cmd, o.explicit = cmd, c.explicit
	sweep, rangeTest := cmd == "sweep", cmd == "lr-find"
	c.strOrEmpty(&o.config, "config", "", "JSON file of options (keys are flag names); flags given on the command line override it")
	c.config = &o.config
	c.str(&o.model, "model", "784-256-256-10", "the network: layer widths, input first, a hidden layer may name its activation (784-256:tanh-10; 784-10 is logistic regression); "+
		"or layers joined by '-' from an input CxHxW: conv(out,k[,stride=,pad=,dilation=,bias=0])[:act], maxpool(k[,stride=,pad=]), avgpool(...), bn, dropout(p), flatten, an activation (relu, ...), N[:act] dense, the output width last "+
		"(1x28x28-conv(32,3,pad=1):none-bn-relu-maxpool(2)-128-10); or a preset: "+presetNames())
	if sweep {
		c.str(&o.actList, "activation", "relu", "hidden-layer activations to compare, comma-separated: "+joinStringers(kernels.Activations()))
	} else {
		c.str(&o.activation, "activation", "relu", "hidden-layer activation: "+joinStringers(kernels.Activations()))
	}
	c.str(&o.loss, "loss", "softmax-ce", "loss: "+joinStringers(kernels.Losses()))
	c.str(&o.init, "init", "auto", "weight init: auto (He for ReLU-like layers, Glorot otherwise), glorot, he")
	switch {
	case sweep:
		c.str(&o.optList, "optimizer", "sgd,adam", "optimizers to compare, comma-separated: "+strings.Join(optim.Names(), ", "))
		c.str(&o.lrList, "lr", "1e-3,1e-2,1e-1", "learning rates to compare, comma-separated")
	case rangeTest:
		c.str(&o.optimizer, "optimizer", "adam", "optimizer: "+strings.Join(optim.Names(), ", "))
	default:
		c.str(&o.optimizer, "optimizer", "adam", "optimizer: "+strings.Join(optim.Names(), ", "))
		c.float(&o.lr, "lr", 1e-3, "learning rate")
	}
	// The optimizer options say which optimizers read them from the optimizers' descriptions,
	// so a new optimizer's help is right without an edit here.
	for _, f := range []struct {
		p     *float64
		name  string
		usage string
	}{
		{&o.momentum, "momentum", "momentum (default: the optimizer's: 0.9 for momentum/nesterov, else 0)"},
		{&o.dampening, "dampening", "dampening of the momentum buffer (default 0)"},
		{&o.wd, "weight-decay", "weight decay: L2 added to the gradient, or decoupled for adamw and lion (and -decoupled) (default 0; 0.01 for adamw)"},
		{&o.beta1, "beta1", "first-moment decay (default 0.9)"},
		{&o.beta2, "beta2", "second-moment decay (default 0.999; 0.99 for lion)"},
		{&o.eps, "eps", "epsilon, > 0 (default 1e-8; 1e-10 for adagrad)"},
		{&o.alpha, "alpha", "smoothing constant (default 0.99)"},
		{&o.lrDecay, "lr-decay", "lr_decay (default 0)"},
		{&o.initAcc, "initial-accumulator", "initial_accumulator_value (default 0)"},
		{&o.momDecay, "momentum-decay", "momentum_decay (default 0.004)"},
	} {
		c.optFloat(f.p, f.name, f.usage+"; "+usedBy(f.name))
	}
	for _, f := range []struct {
		p     *bool
		name  string
		usage string
	}{
		{&o.nesterov, "nesterov", "use Nesterov momentum"},
		{&o.amsgrad, "amsgrad", "use AMSGrad"},
		{&o.centered, "centered", "centered variant"},
		{&o.decoupled, "decoupled", "decoupled weight decay (NAdamW, RAdamW)"},
	} {
		c.bool(f.p, f.name, false, f.usage+"; "+usedBy(f.name))
	}
	c.bool(&o.noDecayBias, "no-decay-bias", false, "put biases in a parameter group without weight decay")
	if !rangeTest {
		scheduleFlag := "learning-rate schedule"
		if sweep {
			scheduleFlag = "learning-rate schedules to compare, separated by '|', each"
		}
		c.str(&o.schedule, "schedule", "constant", scheduleFlag+" NAME[:key=value,...]: constant; step:size=,gamma=; multistep:milestones=3;6,gamma=; exponential:gamma=; cosine[:tmax=,eta_min=]; warmup:start=,end=,iters=; warmup-cosine:warmup=,tmax=; onecycle:max_lr=[,total=,pct_start=]; plateau[:factor=,patience=,threshold=,cooldown=,min_lr=,max=1,abs=1]; a warmup, cosine or onecycle then a plateau rule: SCHEDULE+plateau[:...]")
		c.str(&o.interval, "schedule-interval", "epoch", "when the schedule advances: epoch or batch (plateau is always per epoch)")
	} else {
		o.schedule, o.interval = "constant", "epoch"
	}
	c.float(&o.clipNorm, "clip-norm", 0, "clip gradients to this global L2 norm (0: off)")
	c.float(&o.clipValue, "clip-value", 0, "clamp each gradient element to ±this (0: off)")
	if !rangeTest {
		c.str(&o.onNonFinite, "on-nonfinite", "stop", "a NaN/Inf loss or gradient: stop (error naming the step and parameter) or skip (drop the step and count it)")
		c.int(&o.epochs, "epochs", 3, "passes over the training set")
	} else {
		o.onNonFinite, o.epochs = "stop", 1
	}
	c.int(&o.batch, "batch", 128, "mini-batch size (the last partial batch is used; a batch larger than the data is the whole data)")
	if !rangeTest {
		c.int(&o.evalBatch, "eval-batch", 1000, "batch size for evaluation")
	} else {
		o.evalBatch = 1000
	}
	c.uint(&o.seed, "seed", 1, "seed for the initial weights and the data order")
	c.str(&o.device, "device", "cpu", "device: cpu or cuda (cuda needs a binary built with -tags gpu)")
	c.int(&o.workers, "workers", 0, "CPU goroutines per run (0: all cores, shared among parallel sweep runs)")
	c.strOrEmpty(&o.data, "data", "", "directory with MNIST IDX files (train-images-idx3-ubyte[.gz], ...); empty: the built-in subset")
	c.strOrEmpty(&o.csv, "csv", "", "CSV file of numeric features and a label column (instead of MNIST)")
	c.strOrEmpty(&o.label, "label", "", "CSV label column: a header name or a 0-based index (default: the last column)")
	if !rangeTest {
		c.float(&o.valSplit, "val-split", 0, "fraction of the training set held out for validation, in [0, 1); 0 evaluates on the test set (MNIST) or on nothing (CSV)")
	}
}

func joinStringers[T fmt.Stringer](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = x.String()
	}
	return strings.Join(s, ", ")
}

// given says whether option name was given on the command line or in a config file.
func (o *options) given(name string) bool { _, ok := o.explicit[name]; return ok }

// setup is what validated options build.
type setup struct {
	model    models.Model
	init     models.Init
	optOpts  optim.Options
	schedule optim.Schedule
	plateau  *optim.Plateau
	interval optim.Interval
	policy   train.NonFinitePolicy
	facts    runFacts
}

// optimFloats and optimBools map the optimizer options to their optim.Options fields.
var (
	optimFloats = map[string]func(*optim.Options) *float64{
		"momentum": func(o *optim.Options) *float64 { return &o.Momentum }, "dampening": func(o *optim.Options) *float64 { return &o.Dampening },
		"weight-decay": func(o *optim.Options) *float64 { return &o.WeightDecay }, "beta1": func(o *optim.Options) *float64 { return &o.Beta1 },
		"beta2": func(o *optim.Options) *float64 { return &o.Beta2 }, "eps": func(o *optim.Options) *float64 { return &o.Eps },
		"alpha": func(o *optim.Options) *float64 { return &o.Alpha }, "lr-decay": func(o *optim.Options) *float64 { return &o.LRDecay },
		"initial-accumulator": func(o *optim.Options) *float64 { return &o.InitialAccumulator },
		"momentum-decay":      func(o *optim.Options) *float64 { return &o.MomentumDecay },
	}
	optimBools = map[string]func(*optim.Options) *bool{
		"nesterov": func(o *optim.Options) *bool { return &o.Nesterov }, "amsgrad": func(o *optim.Options) *bool { return &o.AMSGrad },
		"centered": func(o *optim.Options) *bool { return &o.Centered }, "decoupled": func(o *optim.Options) *bool { return &o.Decoupled },
	}
)

// optimOptions merges the optimizer flags that were given over the rule's PyTorch defaults.
func (o *options) optimOptions(name string, lr float64) (optim.Options, error) {
	oo, err := optim.Defaults(name, lr)
	if err != nil {
		return oo, err
	}
	values := map[string]float64{"momentum": o.momentum, "dampening": o.dampening, "weight-decay": o.wd, "beta1": o.beta1, "beta2": o.beta2,
		"eps": o.eps, "alpha": o.alpha, "lr-decay": o.lrDecay, "initial-accumulator": o.initAcc, "momentum-decay": o.momDecay}
	for n, field := range optimFloats {
		if o.given(n) {
			*field(&oo) = values[n]
		}
	}
	flags := map[string]bool{"nesterov": o.nesterov, "amsgrad": o.amsgrad, "centered": o.centered, "decoupled": o.decoupled}
	for n, field := range optimBools {
		if o.given(n) {
			*field(&oo) = flags[n]
		}
	}
	return oo, oo.Validate()
}

// scheduleName is the name part of a -schedule value.
func scheduleName(spec string) string {
	name, _, _ := strings.Cut(strings.TrimSpace(spec), ":")
	switch name = strings.ToLower(strings.TrimSpace(name)); name {
	case "", "none":
		return "constant"
	case "exp":
		return "exponential"
	case "linear":
		return "warmup"
	}
	return name
}

// validate checks every option of one run before any work starts. stepsPerEpoch (batches per
// epoch) sets the length of per-batch schedules; 0 means the data is not loaded yet, and only
// the options that do not depend on its size are checked fully.
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
	if s.model, err = models.ParseModel(o.model, act, loss); err != nil {
		return nil, fmt.Errorf("-model: %w", err)
	}
	if s.init, err = models.ParseInit(o.init); err != nil {
		return nil, fmt.Errorf("-init: %w", err)
	}
	if o.cmd != "lr-find" && !(o.lr > 0) {
		return nil, fmt.Errorf("-lr %v: want a rate > 0 (a rate of 0 never changes the weights)", o.lr)
	}
	if s.optOpts, err = o.optimOptions(o.optimizer, o.lr); err != nil {
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
		if o.epochs > math.MaxInt32/stepsPerEpoch {
			return nil, fmt.Errorf("-epochs %d: %d epochs of %d batches is out of range for a per-batch schedule", o.epochs, o.epochs, stepsPerEpoch)
		}
		total = o.epochs * stepsPerEpoch
	}
	if s.schedule, s.plateau, err = optim.ParseRates(o.schedule, total); err != nil {
		return nil, fmt.Errorf("-schedule: %w", err)
	}
	if !(o.clipNorm >= 0) {
		return nil, fmt.Errorf("-clip-norm %v: want a value >= 0 (0: off)", o.clipNorm)
	}
	if !(o.clipValue >= 0) {
		return nil, fmt.Errorf("-clip-value %v: want a value >= 0 (0: off)", o.clipValue)
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
		return nil, usagef("-data %s and -csv %s: give one data source, not both", o.data, o.csv)
	}
	s.facts = runFacts{optimizer: strings.ToLower(strings.TrimSpace(o.optimizer)), opt: s.optOpts, schedule: scheduleName(o.schedule),
		csv: o.csv != "", evalSet: o.csv == "" || o.valSplit > 0, model: o.model}
	s.facts.defActs = hiddenLayersTakingDefault(o.model)
	if err := checkModel("-model", s.model, 0, 0, 0); err != nil {
		return nil, err
	}
	return &s, nil
}

// hiddenLayersTakingDefault counts the hidden layers of a -model value that do not name their
// own activation.
func hiddenLayersTakingDefault(model string) int {
	src := strings.TrimSpace(model)
	if p, ok := models.Presets[strings.ToLower(src)]; ok {
		src = p
	}
	parts := strings.Split(src, "-")
	n := 0
	for i := 1; i < len(parts)-1; i++ {
		tok := strings.TrimSpace(parts[i])
		// A dense width or a convolution takes the default unless it names its activation
		// (a suffix after the width or the closing parenthesis).
		body := tok[strings.LastIndex(tok, ")")+1:]
		if strings.Contains(body, ":") {
			continue
		}
		if _, err := strconv.Atoi(tok); err == nil || strings.HasPrefix(strings.ToLower(tok), "conv(") {
			n++
		}
	}
	return n
}

// presetNames lists the -model presets.
func presetNames() string {
	names := make([]string, 0, len(models.Presets))
	for n := range models.Presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
