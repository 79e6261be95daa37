package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/backend/cpu"
	"github.com/gotrain/gotrain/backend/train"
	"github.com/gotrain/gotrain/models"
	"github.com/gotrain/gotrain/optim"
)

// plannedRun is one run a command will train: its options and, once prepared, what they build.
type plannedRun struct {
	name string // for a sweep, what varies ("sgd lr=0.1"); "" otherwise
	o    options
	s    *setup
}

// prepared is what train, sweep and lr-find build before they touch a device or an output
// file: every run's validated setup and the data, every check passed.
type prepared struct {
	runs  []*plannedRun
	data  *dataset
	steps int      // batches per epoch
	notes []string // options that apply to some runs of a sweep only
}

// prepare is the one setup of train, sweep and lr-find. It validates each run's options before
// loading anything (so a typo costs nothing), checks that every option given applies, loads the
// data (the data options are shared by all runs), validates again with the data's size (the
// length of per-batch schedules), and checks that each model fits the data and the memory limit.
func prepare(ctx context.Context, runs []*plannedRun) (*prepared, error) {
	facts := make([]*runFacts, len(runs))
	for i, r := range runs {
		s, err := r.o.validate(0)
		if err != nil {
			return nil, r.wrap(err)
		}
		facts[i] = &s.facts
	}
	notes, err := checkApplies(runs[0].o.explicit, facts)
	if err != nil {
		return nil, err
	}
	ds, err := loadData(&runs[0].o)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, interruptedf("interrupted while loading the data, before anything was written")
	}
	base := &runs[0].o
	p := &prepared{runs: runs, data: ds, steps: (ds.train.N + base.batch - 1) / base.batch, notes: notes}
	dataBytes := 4 * float64(ds.train.N) * float64(ds.train.Features+ds.train.Outputs)
	evalRows := 0
	if ds.eval != nil {
		dataBytes += 4 * float64(ds.eval.N) * float64(ds.eval.Features+ds.eval.Outputs)
		evalRows = min(base.evalBatch, ds.eval.N)
	}
	for _, r := range runs {
		if r.s, err = r.o.validate(p.steps); err != nil {
			return nil, r.wrap(err)
		}
		if err := checkFits(r.s, ds); err != nil {
			return nil, r.wrap(err)
		}
		if err := checkModel("-model", r.s.model, min(r.o.batch, ds.train.N), evalRows, dataBytes); err != nil {
			return nil, r.wrap(err)
		}
	}
	return p, nil
}

// wrap names the run of a sweep in an error, keeping its kind (a usage error stays one).
func (r *plannedRun) wrap(err error) error {
	if r.name == "" {
		return err
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return usagef("run %q: %s", r.name, ue.msg)
	}
	return fmt.Errorf("run %q: %w", r.name, err)
}

// trainer opens a device for the run (a CPU device gets workers goroutines) and builds its
// optimizer and trainer; hooks carries the callbacks.
func (r *plannedRun) trainer(workers int, hooks train.Config) (backend.Device, *train.Trainer, error) {
	dev, err := openDevice(r.o.device, workers)
	if err != nil {
		return nil, nil, err
	}
	s := r.s
	var groups []optim.Group
	if r.o.noDecayBias {
		groups = optim.NoDecayGroups(s.optOpts, models.Shapes(s.model.Params()))
	}
	opt, err := optim.New(s.optOpts, groups...)
	if err != nil {
		dev.Close()
		return nil, nil, err
	}
	cfg := hooks
	cfg.Model, cfg.Device, cfg.Optimizer = s.model, dev, opt
	cfg.Epochs, cfg.BatchSize, cfg.EvalBatch, cfg.Seed, cfg.Init = r.o.epochs, r.o.batch, r.o.evalBatch, r.o.seed, s.init
	if cfg.Scheduler, err = optim.NewScheduler(opt.BaseRates(), s.schedule, s.interval, s.plateau); err != nil {
		dev.Close()
		return nil, nil, err
	}
	cfg.ClipNorm, cfg.ClipValue, cfg.NonFinite = r.o.clipNorm, r.o.clipValue, s.policy
	tr, err := train.New(cfg)
	if err != nil {
		dev.Close()
		return nil, nil, err
	}
	return dev, tr, nil
}

// openDevice opens the named device; a CPU device gets workers goroutines.
func openDevice(name string, workers int) (backend.Device, error) {
	if name == "cpu" {
		return cpu.New(workers)
	}
	d, err := backend.Open(name)
	if err != nil {
		return nil, fmt.Errorf("-device %s: %w", name, err)
	}
	return d, nil
}

// loadCheckpointFile reads a checkpoint after checking that it is a regular file within the
// checkpoint size limit.
func loadCheckpointFile(flagName, path string) (*train.State, error) {
	lim, err := statRegular(flagName, path, limCheckpoint)
	if err != nil {
		return nil, err
	}
	st, err := train.LoadCheckpointMax(path, lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flagName, err)
	}
	return st, nil
}
