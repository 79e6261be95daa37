package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gotrain/gotrain/optim"
)

// An option that does not apply to what it was given with is an error, never ignored:
// -optimizer adam -momentum 0.5 used to train plain Adam and record momentum 0.5. This file is
// the one place that knows which option applies when (which optimizer reads which
// hyperparameter comes from the optimizers' descriptions, optim.Description.Uses); prepare asks
// it about every option given on the command line or in a config file.

// optimizersUsing lists the optimizers (by their -optimizer names, presets included) whose
// descriptions in package optim say they read the hyperparameter name; nil when name is not an
// optimizer hyperparameter.
func optimizersUsing(name string) []string {
	if !slices.Contains(optim.Hyperparameters(), name) {
		return nil
	}
	var out []string
	for _, n := range optim.Names() {
		d, err := optim.Describe(n)
		if err != nil {
			continue
		}
		if d.Alias != "" {
			if d, err = optim.Describe(d.Alias); err != nil {
				continue
			}
		}
		if slices.Contains(d.Uses, name) {
			out = append(out, n)
		}
	}
	return out
}

// usedBy says, for -h, which optimizers read an option.
func usedBy(name string) string {
	users := optimizersUsing(name)
	if len(users) == len(optim.Names()) {
		return "for every optimizer"
	}
	return "for " + strings.Join(users, ", ")
}

// runFacts are what an option's applicability depends on, for one run.
type runFacts struct {
	optimizer string        // as given to -optimizer
	opt       optim.Options // the optimizer's options, defaults merged
	schedule  string        // the schedule's name (constant, cosine, ..., plateau)
	csv       bool          // the data is a CSV file
	evalSet   bool          // something is evaluated after each epoch
	defActs   int           // hidden layers that take -activation (not naming their own)
	model     string
}

// conditions are the rules beyond the optimizer table: each says why its option does not
// apply to a run, or "" when it does.
var conditions = map[string]func(r *runFacts) string{
	"dampening": func(r *runFacts) string {
		if r.opt.Momentum == 0 {
			return "dampening scales the momentum buffer, and the momentum is 0; give -momentum"
		}
		return ""
	},
	"no-decay-bias": func(r *runFacts) string {
		if r.opt.WeightDecay == 0 {
			return fmt.Sprintf("the weight decay of -optimizer %s is 0, so there is no decay to exempt biases from; give -weight-decay", r.optimizer)
		}
		return ""
	},
	"decoupled": func(r *runFacts) string {
		if r.opt.WeightDecay == 0 {
			return "it decouples the weight decay, and the weight decay is 0; give -weight-decay"
		}
		return ""
	},
	"schedule-interval": func(r *runFacts) string {
		switch r.schedule {
		case "constant":
			return "with -schedule constant the rate never changes"
		case "plateau":
			return "the plateau rule looks at the evaluation loss once per epoch"
		}
		return ""
	},
	"lr": func(r *runFacts) string {
		if r.schedule == "onecycle" {
			return "the onecycle schedule sets the rate from its max_lr"
		}
		return ""
	},
	"label": func(r *runFacts) string {
		if !r.csv {
			return "it names the label column of a CSV file; give -csv"
		}
		return ""
	},
	"split": func(r *runFacts) string {
		if r.csv {
			return "a CSV file is evaluated whole; -split chooses between MNIST's test and training sets"
		}
		return ""
	},
	"eval-batch": func(r *runFacts) string {
		if !r.evalSet {
			return "nothing is evaluated: a CSV file without -val-split has no evaluation set"
		}
		return ""
	},
	"target": func(r *runFacts) string {
		if !r.evalSet {
			return "nothing is evaluated: a CSV file without -val-split has no evaluation set"
		}
		return ""
	},
	"activation": func(r *runFacts) string {
		if r.defActs == 0 {
			return fmt.Sprintf("the model %s has no hidden layer that takes it (784-10 has none; 784-64:tanh-10 names its own)", r.model)
		}
		return ""
	},
}

// whyNot says why option name does not apply to r, or "" when it does.
func whyNot(name string, r *runFacts) string {
	if opts := optimizersUsing(name); opts != nil && !slices.Contains(opts, r.optimizer) {
		return fmt.Sprintf("it is an option of %s", strings.Join(opts, ", "))
	}
	if cond := conditions[name]; cond != nil {
		return cond(r)
	}
	return ""
}

// context names what an option was checked against, for the message.
func (r *runFacts) context(name string) string {
	switch {
	case optimizersUsing(name) != nil:
		return "-optimizer " + r.optimizer
	case name == "schedule-interval" || name == "lr":
		return "-schedule " + r.schedule
	case name == "label":
		return "MNIST data"
	case name == "split":
		return "-csv"
	case name == "activation":
		return "-model " + r.model
	}
	return "this run"
}

// checkApplies returns a usage error for the first explicitly given option (in name order)
// that does not apply to any of runs, and notes for options that apply to some runs only (a
// sweep may compare sgd with momentum against adam).
func checkApplies(explicit map[string]string, runs []*runFacts) (notes []string, err error) {
	names := make([]string, 0, len(explicit))
	for n := range explicit {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		var why, ctx string
		skipped := 0
		for _, r := range runs {
			if w := whyNot(n, r); w != "" {
				skipped++
				if why == "" {
					why, ctx = w, r.context(n)
				}
			}
		}
		if skipped == 0 {
			continue
		}
		src := ""
		if s := explicit[n]; s != fromCommandLine {
			src = " (set by " + s + ")"
		}
		if skipped == len(runs) {
			return nil, usagef("-%s%s does not apply to %s: %s", n, src, ctx, why)
		}
		notes = append(notes, fmt.Sprintf("note: -%s%s applies to %d of the %d runs; the others (%s: %s) run without it",
			n, src, len(runs)-skipped, len(runs), ctx, why))
	}
	return notes, nil
}
