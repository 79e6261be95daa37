package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/gotrain/gotrain/models"
)

// limitName names one of the limits on sizes that come from input. Every size read from a
// flag, a config file, a data file or a checkpoint is checked against one of them before
// anything of that size is allocated, so a typo (-model 784-1000000000-10) or a hostile file
// (-config /dev/zero) ends with a message instead of the Go runtime's "out of memory". Each
// limit has a default and an environment variable that changes it.
type limitName int

const (
	limParams     limitName = iota // parameters of a model
	limMemory                      // bytes a run needs: weights, gradients, optimizer state, activations, data
	limConfig                      // bytes of a config file (or a run's options.json)
	limCSV                         // bytes of a CSV data file
	limCheckpoint                  // bytes of a checkpoint file
	numLimits
)

type limitInfo struct {
	env, what string
	// measure says what was measured: "%s has %s parameters", "%s is %s".
	measure string
	bytes   bool
	def     func() int64
}

var limitTable = [numLimits]limitInfo{
	limParams:     {"GOTRAIN_MAX_PARAMS", "parameters", "%s has %s parameters", false, func() int64 { return 1 << 30 }},
	limMemory:     {"GOTRAIN_MAX_MEMORY", "memory", "%s needs about %s of memory", true, defaultMemoryLimit},
	limConfig:     {"GOTRAIN_MAX_CONFIG_BYTES", "config file size", "%s is %s", true, func() int64 { return 1 << 20 }},
	limCSV:        {"GOTRAIN_MAX_CSV_BYTES", "CSV file size", "%s is %s", true, func() int64 { return 2 << 30 }},
	limCheckpoint: {"GOTRAIN_MAX_CHECKPOINT_BYTES", "checkpoint file size", "%s is %s", true, func() int64 { return 4 << 30 }},
}

// limitValue returns the limit in force: the environment variable's value, or the default.
func limitValue(n limitName) (int64, error) {
	li := limitTable[n]
	s, ok := os.LookupEnv(li.env)
	if !ok || strings.TrimSpace(s) == "" {
		return li.def(), nil
	}
	v, err := parseSize(s)
	if err != nil {
		return 0, fmt.Errorf("environment variable %s=%q: %v; want a positive integer, with an optional K, M, G or T suffix (powers of 1024)", li.env, s, err)
	}
	return v, nil
}

// parseSize reads "1000", "512M" or "16GiB".
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		if i := strings.IndexByte("KMGT", t[n-1]); i >= 0 {
			mult = 1 << (10 * (i + 1))
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) || err == nil && v > math.MaxInt64/mult:
		return 0, errors.New("out of range")
	case err != nil:
		return 0, errors.New("not a size")
	case v <= 0:
		return 0, errors.New("not positive")
	}
	return v * mult, nil
}

// checkLimit returns an error when size exceeds limit n: it names what was measured, the size,
// the limit and the variable that raises it.
func checkLimit(n limitName, subject string, size float64) error {
	lim, err := limitValue(n)
	if err != nil {
		return err
	}
	if size <= float64(lim) {
		return nil
	}
	li := limitTable[n]
	return fmt.Errorf(li.measure+", more than the %s limit of %s; if that is intended, raise it with %s=%s",
		subject, showSize(size, li.bytes), li.what, showSize(float64(lim), li.bytes), li.env, suggest(size, li.bytes))
}

// suggest is a round value above size, for the message.
func suggest(size float64, bytes bool) string {
	if size >= 1<<62 {
		return "<a larger value>" // no int64 holds it: the size itself is absurd
	}
	if !bytes {
		return strconv.FormatFloat(math.Ceil(size), 'f', 0, 64)
	}
	for _, u := range []struct {
		s string
		v float64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}} {
		if size >= u.v {
			return strconv.FormatFloat(math.Ceil(size/u.v), 'f', 0, 64) + u.s
		}
	}
	return strconv.FormatFloat(math.Ceil(size), 'f', 0, 64)
}

func showSize(v float64, bytes bool) string {
	if !bytes {
		if v >= 1e6 {
			return fmt.Sprintf("%.3g", v)
		}
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	for _, u := range []struct {
		s string
		v float64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if v >= u.v {
			return fmt.Sprintf("%.4g %s", v/u.v, u.s)
		}
	}
	return fmt.Sprintf("%.0f bytes", v)
}

// defaultMemoryLimit is 80% of the memory this process may use where that can be read (Linux:
// the machine's memory, or a container's cgroup limit when lower), 16 GiB elsewhere: a run that
// needs more would be killed, or die in the Go runtime, part way.
func defaultMemoryLimit() int64 {
	total := int64(0)
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				if err == nil && kb > 0 {
					total = kb * 1024
				}
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 && (total == 0 || v < total) {
			total = v // "max" (no limit) does not parse
		}
	}
	if total == 0 {
		return 16 << 30
	}
	return total / 10 * 8
}

// limitsHelp is the end of every command's -h.
func limitsHelp() string {
	var b strings.Builder
	b.WriteString("\nLimits (checked before anything is allocated; raise one with its environment variable):\n")
	for _, li := range limitTable {
		fmt.Fprintf(&b, "  %-29s %s (default %s)\n", li.env, li.what, showSize(float64(li.def()), li.bytes))
	}
	return b.String()
}

// modelFootprint counts a model's parameters from its parameter shapes (in float64, so absurd
// widths cannot overflow) and estimates the bytes a run needs: weights, gradients and up to
// three optimizer state tensors, a host copy of the initial weights, and the activations of the
// training and evaluation plans (the plans for a last partial batch share their buffers, and
// evaluation recycles its own, so this is generous). It is a rough upper bound, meant to tell a
// typo from a model that fits.
func modelFootprint(m models.Model, batch, evalBatch int) (params, bytes float64) {
	params = models.Count(m)
	width := models.Activations(m)
	const f32 = 4
	bytes = f32*params*5 + 12*params // device tensors; the float64 initial values and their float32 copy
	bytes += f32 * width * (3*float64(batch) + 2*float64(evalBatch))
	return params, bytes
}

// checkModel refuses a model whose size is over the limits, before it is built. batch and
// evalBatch are the rows of one step and one evaluation batch (0 when not known yet).
func checkModel(flagName string, spec models.Model, batch, evalBatch int, dataBytes float64) error {
	params, bytes := modelFootprint(spec, batch, evalBatch)
	if err := checkLimit(limParams, fmt.Sprintf("%s %v", flagName, spec), params); err != nil {
		return err
	}
	subject := fmt.Sprintf("%s %v with batch %d", flagName, spec, batch)
	if batch == 0 {
		subject = fmt.Sprintf("%s %v", flagName, spec)
	}
	if dataBytes > 0 {
		subject += " and its data"
	}
	return checkLimit(limMemory, subject+" (weights, gradients, optimizer state, activations)", bytes+dataBytes)
}

// readLimitedFile reads a small input file (a config, options.json) after checking that it is
// a regular file within the limit: /dev/zero, a directory or a named pipe is refused by name
// before it is opened, and the read itself is bounded in case the file grows meanwhile.
func readLimitedFile(flagName, path string, n limitName) ([]byte, error) {
	f, size, err := openRegular(flagName, path, n)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, size+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	if int64(len(raw)) > size {
		return nil, checkLimit(n, flagName+" "+path, float64(len(raw)))
	}
	return raw, nil
}

// openRegular opens path for reading after checking (without opening it, which blocks on a
// named pipe) that it is a regular file no larger than limit n. It returns the limit to read up to.
func openRegular(flagName, path string, n limitName) (*os.File, int64, error) {
	lim, err := statRegular(flagName, path, n)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", flagName, err)
	}
	return f, lim, nil
}

// statRegular is openRegular without the opening.
func statRegular(flagName, path string, n limitName) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("%s %s: no such file", flagName, path)
		}
		return 0, fmt.Errorf("%s: %w", flagName, err)
	}
	if err := regularFile(flagName, path, st); err != nil {
		return 0, err
	}
	if err := checkLimit(n, flagName+" "+path, float64(st.Size())); err != nil {
		return 0, err
	}
	return limitValue(n)
}

// regularFile says what path is when it is not a regular file.
func regularFile(flagName, path string, st fs.FileInfo) error {
	m := st.Mode()
	what := ""
	switch {
	case m.IsRegular():
		return nil
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeDevice != 0:
		what = "a device"
	default:
		what = "not a regular file"
	}
	return fmt.Errorf("%s %s: is %s; want a regular file", flagName, path, what)
}
