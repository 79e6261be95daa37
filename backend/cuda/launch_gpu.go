//go:build gpu

package cuda

import (
	"fmt"

	"gorgonia.org/cu"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
)

// launch launches kernel k for dtype dt with the parameters packed in d.args on a 1-D grid.
func (d *Device) launch(op string, k kernelID, dt backend.DType, grid, block int) error {
	return d.launch2(op, k, dt, grid, 1, block, 1)
}

// launch2 launches kernel k for dtype dt on a gx×gy grid of bx×by blocks.
func (d *Device) launch2(op string, k kernelID, dt backend.DType, gx, gy, bx, by int) error {
	spec := &kernelTable[k]
	return d.launchFn(op, spec.name, dt, spec.params, d.fns[k][dtypeIndex(dt)], gx, gy, bx, by)
}

// launchFn launches f, the kernel name+dtypeSuffix(dt) of signature sig, with the packed
// parameters, after checking them against sig (a launch with the wrong parameters reads garbage
// or faults the context, so it is refused). It records the launch in d.last without formatting
// anything; with syncEach it waits for the kernel and names it if it failed. Errors describe the
// launch: kernel, grid, block and every parameter.
func (d *Device) launchFn(op, name string, dt backend.DType, sig string, f cu.Function, gx, gy, bx, by int) error {
	rec := launchRecord{name: name, dt: dt, gx: gx, gy: gy, bx: bx, by: by}
	params := d.args.list()
	if params == nil {
		return fmt.Errorf("cuda: %s: %s%s: more than %d kernel parameters", op, name, dtypeSuffix(dt), maxArgs)
	}
	if !d.args.matches(sig) {
		return fmt.Errorf("cuda: %s: %s%s: packed parameters %q, the kernel takes %q", op, name, dtypeSuffix(dt), d.args.packed(), sig)
	}
	if err := f.Launch(gx, gy, 1, bx, by, 1, 0, d.stream, params); err != nil {
		return fmt.Errorf("cuda: %s: cuLaunchKernel(%s): %w", op, describeLaunch(rec, sig, d.args.vals[:d.args.n]), err)
	}
	d.last = rec
	if d.syncEach {
		if err := d.stream.Synchronize(); err != nil {
			return fmt.Errorf("cuda: %s: %s failed (%s is on: the device waited for it, so the fault is this kernel's or an operation's issued after the previous kernel): %w",
				op, describeLaunch(rec, sig, d.args.vals[:d.args.n]), syncEnv, err)
		}
	}
	return nil
}

// optimKernels is one update rule's kernels (f32, f64) and their base name.
type optimKernels struct {
	fns  [2]cu.Function
	name string
}

// optimFunctions returns rule's optimizer kernels, looked up in the optim module the first time
// the rule runs; the name is built then too, so a step formats nothing.
func (d *Device) optimFunctions(rule *kernels.Rule) (optimKernels, error) {
	if ok, found := d.optimFns[rule]; found {
		return ok, nil
	}
	ok := optimKernels{name: "optim_" + rule.Name}
	for _, dt := range []backend.DType{backend.Float32, backend.Float64} {
		name := optimKernelName(rule.Name, dt)
		if err := d.enter("OptimizerStep"); err != nil {
			return ok, err
		}
		f, err := d.optimMod.Function(name)
		d.leave()
		if err != nil {
			return ok, fmt.Errorf("cuda: OptimizerStep: cuModuleGetFunction(optim, %s): kernels/optim.cu has no kernel for the rule %q: %w",
				name, rule.Name, err)
		}
		ok.fns[dtypeIndex(dt)] = f
	}
	d.optimFns[rule] = ok
	return ok, nil
}
