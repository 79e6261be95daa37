//go:build gpu

package cuda

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"gorgonia.org/cu"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/kernels/ptx"
)

// jitLogBytes is the size of each JIT log buffer: the info log of the largest module (optim, 16
// kernels) with verbose on is a few KiB; a longer log is cut, never overrun.
const jitLogBytes = 64 << 10

// moduleLoad says how one kernel family was loaded: from its fatbin (machine code for sm_90, the
// PTX for other GPUs) or from its PTX, how long the driver took, and the JIT's info log (empty when
// the driver compiled nothing).
type moduleLoad struct {
	module, kind string
	took         time.Duration
	info         string
	// refused is the fatbin's error when the driver refused it and the PTX was loaded instead.
	refused error
	// withoutLogs is cuModuleLoadDataEx's error when it failed and cuModuleLoadData (no JIT
	// options) loaded the image: a guard against the options themselves being the trouble.
	withoutLogs error
}

func (l moduleLoad) String() string {
	s := fmt.Sprintf("%s.%s %.1f ms", l.module, l.kind, float64(l.took.Microseconds())/1e3)
	if l.refused != nil {
		s += " (the fatbin was refused: " + l.refused.Error() + ")"
	}
	if l.withoutLogs != nil {
		s += " (loaded without JIT logs: " + l.withoutLogs.Error() + ")"
	}
	return s
}

// loadModule loads one module image (a fatbin or PTX) into the current context with the JIT's
// error and info logs captured: a module the driver refuses says why (the PTX assembler's message,
// the unsupported instruction, the register limit), instead of a bare status code.
func loadModule(module, kind, image string) (cu.Module, moduleLoad, error) {
	errLog := make([]byte, jitLogBytes)
	infoLog := make([]byte, jitLogBytes)
	opts := []cu.JITOption{
		&cu.JITErrorLogBuffer{Buffer: errLog},
		&cu.JITInfoLogBuffer{Buffer: infoLog},
		&cu.JITLogVerbose{Enabled: true},
	}
	start := time.Now()
	m, err := cu.LoadDataEx(image, opts...)
	rep := moduleLoad{module: module, kind: kind, took: time.Since(start)}
	// The driver wrote into the buffers through addresses cu passed as integers.
	runtime.KeepAlive(errLog)
	runtime.KeepAlive(infoLog)
	rep.info = cString(infoLog)
	if err != nil {
		if plain, perr := cu.LoadData(image); perr == nil {
			rep.withoutLogs = err
			return plain, rep, nil
		}
		msg := fmt.Sprintf("cuda: Open: cuModuleLoadDataEx(%s.%s): %v", module, kind, err)
		if e := cString(errLog); e != "" {
			msg += "\nJIT error log:\n" + e
		}
		if rep.info != "" {
			msg += "\nJIT info log:\n" + rep.info
		}
		return m, rep, fmt.Errorf("%s: %w", msg, backend.ErrNoDevice)
	}
	return m, rep, nil
}

// cString is the NUL-terminated text at the start of b, trimmed.
func cString(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}

// moduleImage is what there is to load of one kernel family: its fatbin (empty when there is none
// or forcePTX asked for the PTX) and its PTX.
type moduleImage struct{ fatbin, ptx string }

// moduleImages returns every kernel family's images.
func moduleImages(forcePTX bool) (map[string]moduleImage, error) {
	ptxs, err := ptx.Modules()
	if err != nil {
		return nil, fmt.Errorf("cuda: Open: %w", err)
	}
	fats, err := ptx.Fatbins()
	if err != nil {
		return nil, fmt.Errorf("cuda: Open: %w", err)
	}
	out := make(map[string]moduleImage, len(ptxs))
	for mod, src := range ptxs {
		img := moduleImage{ptx: src}
		if !forcePTX {
			img.fatbin = fats[mod]
		}
		out[mod] = img
	}
	return out, nil
}

// load loads the family's fatbin, or its PTX when there is no fatbin or the driver refuses it (the
// refusal is kept in the report: TestSmoke fails on it, the device still works).
func (img moduleImage) load(module string) (cu.Module, moduleLoad, error) {
	if img.fatbin == "" {
		return loadModule(module, "ptx", img.ptx)
	}
	m, rep, err := loadModule(module, "fatbin", img.fatbin)
	if err == nil {
		return m, rep, nil
	}
	m, rep, perr := loadModule(module, "ptx", img.ptx)
	rep.refused = err
	if perr != nil {
		return m, rep, fmt.Errorf("%w; and its PTX: %w", err, perr)
	}
	return m, rep, nil
}

// loadKernels loads every kernel family the device uses and looks up every kernel of kernelTable.
// The optimizer kernels are looked up by rule when first used (optimFunctions).
func (d *Device) loadKernels(forcePTX bool) error {
	images, err := moduleImages(forcePTX)
	if err != nil {
		return err
	}
	loaded := map[string]cu.Module{}
	get := func(module string) (cu.Module, error) {
		if m, ok := loaded[module]; ok {
			return m, nil
		}
		img, ok := images[module]
		if !ok {
			return cu.Module{}, fmt.Errorf("cuda: Open: no embedded kernels for module %q (regenerate with go generate ./kernels/ptx)", module)
		}
		m, rep, err := img.load(module)
		d.loads = append(d.loads, rep)
		if err != nil {
			return m, err
		}
		loaded[module] = m
		d.mods = append(d.mods, m)
		return m, nil
	}
	if d.optimMod, err = get(optimModule); err != nil {
		return err
	}
	d.optimFns = map[*kernels.Rule]optimKernels{}
	d.fns = make([][2]cu.Function, len(kernelTable))
	for id, k := range kernelTable {
		m, err := get(k.module)
		if err != nil {
			return err
		}
		for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
			name := k.name + dtypeSuffix(dt)
			f, err := m.Function(name)
			if err != nil {
				return fmt.Errorf("cuda: Open: cuModuleGetFunction(%s, %s): %w", k.module, name, err)
			}
			d.fns[id][dtypeIndex(dt)] = f
		}
	}
	return nil
}

// loadReport says how the kernels were loaded, one module per entry ("optim.fatbin 2.1 ms").
func (d *Device) loadReport() string {
	parts := make([]string, len(d.loads))
	var total time.Duration
	for i, l := range d.loads {
		parts[i] = l.String()
		total += l.took
	}
	return fmt.Sprintf("%.1f ms in all: %s", float64(total.Microseconds())/1e3, strings.Join(parts, ", "))
}
