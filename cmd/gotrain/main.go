// Command gotrain trains neural networks on the CPU or an NVIDIA GPU and compares the
// hyperparameters that decide how well and how fast training goes.
//
//	gotrain train [flags]     train a model (real MNIST digits are built in: no download)
//	gotrain eval [flags]      evaluate a checkpoint: loss, accuracy, confusion matrix
//	gotrain sweep [flags]     train every combination of learning rates, optimizers, activations and schedules
//	gotrain lr-find [flags]   the learning-rate range test, with a chart
//	gotrain tune [flags]      search hyperparameters (TPE, ASHA) in studies that resume and span machines
//	gotrain serve [DIR...]    a local web page comparing runs, sweeps and studies, live
//	gotrain version           the version and the devices this binary supports
//
// Each subcommand's -h lists every option with its default. This package holds flags and
// wiring only; the math lives in the packages it calls.
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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"train": trainCmd, "eval": evalCmd, "sweep": sweepCmd, "lr-find": lrFindCmd, "tune": tuneCmd,
	}
	cmds["serve"] = serveCmd
	switch name := args[0]; name {
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "gotrain %s (%s, %s/%s); devices: %v\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, backend.Names())
		return exitOK
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		cmd, ok := cmds[name]
		if !ok {
			fmt.Fprintf(stderr, "gotrain: unknown command %q\n\n%s", name, usage)
			return exitUsage
		}
		err := cmd(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.Is(err, errUsage):
			return exitUsage
		case errors.Is(err, train.ErrInterrupted):
			fmt.Fprintln(stderr, "gotrain "+name+":", err)
			return exitInterrupted
		}
		fmt.Fprintln(stderr, "gotrain "+name+":", err)
		return exitError
	}
}

// errUsage marks a flag-parsing error the flag package already reported.
var errUsage = errors.New("usage")

// parseFlags parses with the config file and maps the flag package's own errors to errUsage.
func parseFlags(fs *flag.FlagSet, args []string, config *string) error {
	err := parseWithConfig(fs, args, config)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	if fs.Parsed() && fs.NArg() == 0 {
		return err // a config-file error: not reported by the flag package yet
	}
	return fmt.Errorf("%w: %w", errUsage, err)
}
