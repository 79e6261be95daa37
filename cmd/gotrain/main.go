// Command gotrain trains neural networks on the CPU or an NVIDIA GPU and compares the
// hyperparameters that decide how well and how fast training goes.
//
//	gotrain train [flags]     train a model (real MNIST digits are built in: no download)
//	gotrain eval [flags]      evaluate a checkpoint: loss, accuracy, confusion matrix
//	gotrain sweep [flags]     train every combination of learning rates, optimizers, activations and schedules
//	gotrain lr-find [flags]   the learning-rate range test, with a chart
//	gotrain tune [flags]      search hyperparameters (TPE, ASHA) in studies that resume and span machines
//	gotrain serve [DIR...]    a local web page comparing runs, sweeps and studies, live
//	gotrain paths [flags]     optimizers' paths on 2-D test functions, over their contours
//	gotrain diagnose RUN_DIR  what a run's per-layer diagnostics show, with charts
//	gotrain version           the version and the devices this binary supports
//
// Each subcommand's -h lists every option with its default. This package holds flags and
// wiring only; the math lives in the packages it calls.
//
// Every failure prints one line naming the input, the value and what was expected. Exit
// status 2 means the command line (or a config file) could not be understood: an unknown
// option, a value of the wrong type, an option given twice or where it does not apply, a stray
// argument, a missing required option. Status 1 is every other failure; 130 an interruption
// (SIGINT or SIGTERM), after saying what was saved.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/gotrain/gotrain/backend"
	_ "github.com/gotrain/gotrain/backend/cpu"
	_ "github.com/gotrain/gotrain/backend/cuda"
	"github.com/gotrain/gotrain/backend/train"
)

// version is set at link time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `gotrain trains neural networks on the CPU or an NVIDIA GPU.

Usage:
  gotrain train [flags]     train a model; real MNIST digits are built in
  gotrain eval [flags]      evaluate a checkpoint: loss, accuracy, confusion matrix
  gotrain sweep [flags]     compare learning rates, optimizers, activations and schedules
  gotrain lr-find [flags]   find a learning rate with the range test
  gotrain tune [flags]      search hyperparameters, pruning poor trials early
  gotrain serve [DIR...]    compare runs, sweeps and studies in a browser, live
  gotrain paths [flags]     draw optimizers' paths on 2-D test functions
  gotrain diagnose RUN_DIR  say what a run's per-layer diagnostics show, and chart them
  gotrain version           print the version and the available devices

Run "gotrain COMMAND -h" for a command's options.
`

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// gcPercent is the collector's GOGC for a run that does not set one. A run holds its dataset
// for its whole life and allocates little per step, so Go's default of 100, which lets the heap
// grow to twice the live data before a collection, mostly inflates the resident set: on full
// MNIST (Zen 2 EPYC, 2 cores), 5 epochs of the default MLP peaked at 224 MiB with 100 and 159 MiB
// with 25 (pixels held as bytes; as float32, 490 and 333 MiB), at the same speed.
const gcPercent = 25

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, the default action comes back: a second Ctrl-C ends the
		// process at once (checkpoints are written atomically, so that is safe).
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// commands maps a subcommand's name to its function.
var commands = map[string]func(context.Context, []string, io.Writer, io.Writer) error{
	"train": trainCmd, "eval": evalCmd, "sweep": sweepCmd, "lr-find": lrFindCmd, "serve": serveCmd, "paths": pathsCmd,
	"tune": tuneCmd, "diagnose": diagnoseCmd,
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch name := args[0]; name {
	case "version", "-version", "--version":
		if len(args) > 1 {
			fmt.Fprintf(stderr, "gotrain version: unexpected argument %q: version takes none\n", args[1])
			return exitUsage
		}
		fmt.Fprintf(stdout, "gotrain %s (%s, %s/%s); devices: %v\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, backend.Names())
		return exitOK
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			if _, ok := commands[args[1]]; ok {
				return run(ctx, []string{args[1], "-h"}, stdout, stderr)
			}
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		cmd, ok := commands[name]
		if !ok {
			fmt.Fprintf(stderr, "gotrain: unknown command %q; the commands are train, eval, sweep, lr-find, tune, serve, paths, diagnose and version (gotrain -h)\n", name)
			return exitUsage
		}
		err := cmd(ctx, args[1:], stdout, stderr)
		var ue *usageError
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "gotrain %s: %s (see gotrain %s -h)\n", name, oneLine(err.Error()), name)
			return exitUsage
		case errors.Is(err, train.ErrInterrupted):
			fmt.Fprintf(stderr, "gotrain %s: %s\n", name, oneLine(err.Error()))
			return exitInterrupted
		}
		fmt.Fprintf(stderr, "gotrain %s: %s\n", name, oneLine(err.Error()))
		return exitError
	}
}

// oneLine keeps a message on one line: a value quoted from a file could hold a newline.
func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", `\n`) }

// usageError is a command line (or config file) that could not be understood; it exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError.
func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// interrupted is the error of a command stopped by a signal: its message says what was saved.
type interrupted struct{ msg string }

func (e *interrupted) Error() string { return e.msg }
func (e *interrupted) Unwrap() error { return train.ErrInterrupted }

func interruptedf(format string, a ...any) error { return &interrupted{fmt.Sprintf(format, a...)} }
