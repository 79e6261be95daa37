package backend

import (
	"fmt"
	"strings"
	"sync"
)

// Op is a registered device operation: an op family's one description that every device and the
// executor share. It names the op and its buffer operands and holds the argument check every
// device runs before computing, so the CPU and CUDA devices never restate a shape rule. Ops are
// created once, at package initialisation, by NewOp (see conv.go, pool.go and the other files of
// this package); a device implements an op by registering an executor for it in an init function
// of its own op file, and the executor lowers a graph op to a Call of it.
type Op struct {
	name     string
	operands []string
	names    string // the operands joined by ", ", for errors
	check    func(c *Call) error
	via      func(dev Device, c *Call) error
	id       int
}

// OpSpec describes an Op to NewOp.
type OpSpec struct {
	// Name is unique among ops ("conv2d", "maxpool2d_grad").
	Name string
	// Operands names the buffers of a call, outputs first ("y", "x", "w").
	Operands []string
	// Check validates a call whose buffers the device has already checked (its own, live, one
	// dtype, as many as Operands): attributes and buffer lengths. It returns errors without the
	// device and op prefix, which Op.Check adds. Nil means nothing beyond that.
	Check func(c *Call) error
	// Via, when set, computes the op with other Device methods, for every device that registers
	// no executor of its own: how the ops that have typed methods (Activation, Softmax, ...)
	// are reached from a Call. Via does its own checking through those methods.
	Via func(dev Device, c *Call) error
}

var (
	opsMu    sync.Mutex
	opList   []*Op
	opByName = map[string]*Op{}
)

// NewOp registers an op. It is called from package-level variable declarations; a duplicate name
// or an empty operand list is a programming error and panics at start-up.
func NewOp(s OpSpec) *Op {
	opsMu.Lock()
	defer opsMu.Unlock()
	if s.Name == "" || len(s.Operands) == 0 {
		panic("backend: NewOp needs a name and operands")
	}
	if _, dup := opByName[s.Name]; dup {
		panic("backend: NewOp called twice for " + s.Name)
	}
	o := &Op{name: s.Name, operands: s.Operands, names: strings.Join(s.Operands, ", "), check: s.Check, via: s.Via, id: len(opList)}
	opList = append(opList, o)
	opByName[s.Name] = o
	return o
}

// Ops lists every registered op in registration order.
func Ops() []*Op {
	opsMu.Lock()
	defer opsMu.Unlock()
	return append([]*Op(nil), opList...)
}

// Name is the op's registered name.
func (o *Op) Name() string { return o.name }

// String is the op's name.
func (o *Op) String() string { return o.name }

// ID is a small integer unique to the op, dense from 0: devices index their executor tables by it.
func (o *Op) ID() int { return o.id }

// Operands names the op's buffer operands in call order.
func (o *Op) Operands() []string { return append([]string(nil), o.operands...) }

// OperandList is the operands joined by ", " (for a device's own operand errors).
func (o *Op) OperandList() string { return o.names }

// Via is the op's composition from other Device methods, or nil.
func (o *Op) Via() func(dev Device, c *Call) error { return o.via }

// Check runs the shared argument check of call c for device dev ("cpu", "cuda"): the operand
// count, then the op's own check. Errors read "dev: op: what was wrong" and wrap ErrShape,
// ErrInvalid or ErrUnsupported. The success path formats and allocates nothing.
func (o *Op) Check(dev string, c *Call) error {
	if len(c.Bufs) != len(o.operands) {
		return fmt.Errorf("%s: %s: %d buffers, want %d (%s): %w", dev, o.name, len(c.Bufs), len(o.operands), o.names, ErrShape)
	}
	for i, b := range c.Bufs {
		if b == nil {
			return fmt.Errorf("%s: %s: %s is nil: %w", dev, o.name, o.operands[i], ErrInvalid)
		}
	}
	if o.check == nil {
		return nil
	}
	if err := o.check(c); err != nil {
		return fmt.Errorf("%s: %s: %w", dev, o.name, err)
	}
	return nil
}

// RunState is the run-time state a plan shares with its calls: values that change from run to
// run without recompiling, such as the training step that keys dropout's random mask. The
// executor owns one per plan and the trainer sets it before each step.
type RunState struct {
	// Seed and Step key counter-based random streams (dropout): the same seed and step give
	// the same mask on every device, so a resumed run draws what the uninterrupted one drew.
	Seed, Step uint64
}

// Call is one invocation of an Op: its buffers in the op's operand order and its attributes (a
// pointer to the op family's attribute struct, such as *kernels.Conv2D). A Call is built once,
// when a plan is compiled, and run many times, so running it allocates nothing.
type Call struct {
	Op    *Op
	Bufs  []Buffer
	Attrs any
	// State is the plan's run-time state; nil reads as the zero state.
	State *RunState
}

// Step returns the call's training step (0 without state).
func (c *Call) Step() uint64 {
	if c.State == nil {
		return 0
	}
	return c.State.Step
}

// Seed returns the call's random seed (0 without state).
func (c *Call) Seed() uint64 {
	if c.State == nil {
		return 0
	}
	return c.State.Seed
}

// Executors is a device's table of op implementations, indexed by Op.ID. A device declares one
// (var execs backend.Executors[*Device, *Buffer]) and each of its op files registers into it in
// an init function, so adding an op touches no central file of the device.
type Executors[D any, B any] struct {
	fns []func(d D, c *Call, bufs []B) error
}

// Register sets the executor of op; registering an op twice is a programming error and panics.
func (e *Executors[D, B]) Register(op *Op, f func(d D, c *Call, bufs []B) error) {
	for len(e.fns) <= op.id {
		e.fns = append(e.fns, nil)
	}
	if e.fns[op.id] != nil {
		panic("backend: executor registered twice for " + op.name)
	}
	e.fns[op.id] = f
}

// Lookup returns the executor of op, or nil.
func (e *Executors[D, B]) Lookup(op *Op) func(d D, c *Call, bufs []B) error {
	if op == nil || op.id >= len(e.fns) {
		return nil
	}
	return e.fns[op.id]
}

// Has reports whether op has an executor.
func (e *Executors[D, B]) Has(op *Op) bool { return e.Lookup(op) != nil }

// CheckCall validates the parts of c that do not depend on the device (a nil call or op).
func CheckCall(dev string, c *Call) error {
	if c == nil || c.Op == nil {
		return fmt.Errorf("%s: Run: a nil call or op: %w", dev, ErrInvalid)
	}
	return nil
}

// Unsupported is the error of a device that has no executor for an op that has no Via.
func Unsupported(dev string, op *Op) error {
	return fmt.Errorf("%s: %s: no executor on this device: %w", dev, op.name, ErrUnsupported)
}

// CheckLens checks that the buffers of c have the given lengths, in operand order, naming the
// first that does not (for ops' Check functions).
func CheckLens(c *Call, lens ...int) error {
	for i, want := range lens {
		if got := c.Bufs[i].Len(); got != want {
			return fmt.Errorf("%s has %d elements, want %d: %w", c.Op.operands[i], got, want, ErrShape)
		}
	}
	return nil
}
