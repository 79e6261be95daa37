package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/optim"
)

// A resumed run is a continuation of the same run: it trains with the options recorded in its
// options.json, and an option given again must have its recorded value. Only -epochs may
// change (to continue past the planned end), and the options below, which say where and how
// to run, not what to train.
var resumeMayChange = map[string]bool{
	"epochs": true, "device": true, "workers": true, "eval-batch": true,
	"progress": true, "chart": true, "chart-format": true, "checkpoint-every": true, "diagnostics-every": true,
	"config": true, "resume": true, "run-dir": true, "overwrite": true,
}

// recordedRun is what a run directory's options.json says.
type recordedRun struct {
	dir string
	ref *command // a command holding the recorded values
}

// applyRecorded reads dir's options.json, refuses an option given now with another value than
// the recorded one (naming both), and applies the recorded values to the options not given.
func applyRecorded(c *command, dir string) (*recordedRun, error) {
	path := filepath.Join(dir, optionsFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("-resume %s: not a gotrain run directory (it has no %s)", dir, optionsFile)
	}
	raw, err := readLimitedFile("-resume", path, limConfig)
	if err != nil {
		return nil, err
	}
	entries, err := parseConfig(raw, true)
	if err != nil {
		return nil, fmt.Errorf("-resume: %s: %w", path, err)
	}
	source := "the run's " + optionsFile
	ref := newCommandByName(c.name)
	if err := ref.apply(entries, path, true); err != nil {
		return nil, fmt.Errorf("-resume: %w", err)
	}
	names := make([]string, 0, len(c.explicit))
	for n := range c.explicit {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if resumeMayChange[n] {
			continue
		}
		if ref.effective(n) != c.effective(n) {
			old, now := ref.show(n), c.show(n)
			return nil, fmt.Errorf("%s: the run in %s was trained with %s; a resumed run keeps its options (only -epochs may grow), so start a new run to change it",
				now, dir, old)
		}
	}
	if err := c.apply(entries, source, true); err != nil {
		return nil, err
	}
	return &recordedRun{dir: dir, ref: ref}, nil
}

// effective is the value an option has in a run, in a canonical form for comparison: the
// value given, or the default (for an optimizer option without a fixed default, the
// optimizer's), so that giving an option its default value is no change.
func (c *command) effective(name string) string {
	v := c.vals[name]
	if c.given(name) {
		return v.String()
	}
	if field, ok := optimFloats[name]; ok {
		oo, err := optim.Defaults(c.effective("optimizer"), 0)
		if err == nil {
			return strconv.FormatFloat(*field(&oo), 'g', -1, 64)
		}
	}
	if field, ok := optimBools[name]; ok {
		oo, err := optim.Defaults(c.effective("optimizer"), 0)
		if err == nil {
			return strconv.FormatBool(*field(&oo))
		}
	}
	w := v.scratch()
	if err := w.parse(c.fs.Lookup(name).DefValue); err != nil {
		return c.fs.Lookup(name).DefValue
	}
	return w.String()
}

// show renders an option's value for a message: "-lr 0.001", or its default.
func (c *command) show(name string) string {
	v := c.vals[name]
	if !c.given(name) {
		if def := c.fs.Lookup(name).DefValue; def != "" {
			return "the default " + quoteIfNeeded(def)
		}
		return "no -" + name + " (the default)"
	}
	return "-" + name + " " + quoteIfNeeded(v.String())
}

// checkResumeEpochs refuses an -epochs the checkpoint cannot continue to, and a change of
// -epochs that would change the learning rate of steps already planned (a schedule whose
// length comes from the run's length: cosine without tmax, onecycle without total).
func checkResumeEpochs(o *options, rec *recordedRun, st *train.State, steps int) error {
	done := len(st.History)
	switch {
	case st.MidEpoch && o.epochs < st.Epoch:
		return fmt.Errorf("-epochs %d: the run in %s is in epoch %d; give at least %d to continue it", o.epochs, rec.dir, st.Epoch, st.Epoch)
	case !st.MidEpoch && o.epochs == done:
		return fmt.Errorf("-resume %s: the run already finished its %d epochs; give -epochs with more to continue it", rec.dir, done)
	case !st.MidEpoch && o.epochs < done:
		return fmt.Errorf("-epochs %d: the run in %s has done %d epochs; give more than %d to continue it", o.epochs, rec.dir, done, done)
	}
	oldEpochs := 3 // the default
	if rec.ref.given("epochs") {
		oldEpochs = rec.ref.vals["epochs"].Get().(int)
	}
	if oldEpochs == o.epochs || scheduleName(o.schedule) == "plateau" {
		return nil
	}
	total := func(epochs int) int {
		if o.interval == "batch" {
			return epochs * steps
		}
		return epochs
	}
	before, _, err1 := optim.ParseRates(o.schedule, total(oldEpochs))
	after, _, err2 := optim.ParseRates(o.schedule, total(o.epochs))
	if err1 != nil || err2 != nil || before.String() != after.String() {
		what := "it would become invalid"
		if err1 == nil && err2 == nil {
			what = fmt.Sprintf("it would change from %v to %v", before, after)
		}
		return fmt.Errorf("-epochs %d: the run's -schedule %s takes its length from -epochs (%d), so %s and change the rate of steps already planned; a run you may extend needs a schedule of explicit length (tmax=, total=)",
			o.epochs, o.schedule, oldEpochs, what)
	}
	return nil
}
