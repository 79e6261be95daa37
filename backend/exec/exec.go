// Package exec compiles a Gorgonia expression graph (forward ops plus the gradient ops that
// gorgonia.Grad added) into a Plan: a flat list of device calls over buffers allocated once.
// Running a plan does no graph walking, no allocation and no host copies; the caller writes the
// inputs, runs the plan, and reads whatever outputs it needs.
//
// Compile lowers two kinds of op. Our own graph ops (package models/nn, or any op with a Lower
// method, see Lowerer) describe themselves: each names a registered device op (backend.Op) and
// its attributes, which become one backend.Call built at compile time and run with Device.Run, so
// adding an op family adds nothing here. Gorgonia's own ops, which models and their gradients
// produce, are lowered by this package: matrix products with transposes, elementwise arithmetic
// and comparisons (with scalar broadcasting), unary math, repeat (broadcast), sum over contiguous
// axes, reshape (an alias), size and constant nodes, and Gorgonia's softmax. Any other op is a
// compile error naming the op and the node, never a silent fallback.
//
// Buffers are allocated at compile time. With Config.Recycle a node's buffer passes to a later
// node once its last reader has run, and with Config.Arena plans that never run at once share
// theirs; both leave every value as it was.
//
// A plan carries run-time state that its calls read when they run (backend.RunState: the seed and
// step that key dropout's mask), set with SetSeed and SetStep between runs without recompiling.
package exec

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gotrain/gotrain/backend"
	"github.com/gotrain/gotrain/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ErrUnsupported is wrapped when a graph holds an op the executor cannot lower.
var ErrUnsupported = errors.New("exec: unsupported op")

// Config says how to compile a graph.
type Config struct {
	// Device runs the plan.
	Device backend.Device
	// DType is the element type of every node (float32 for training, float64 for references).
	DType backend.DType
	// Targets are the nodes the plan must compute; only their ancestors are lowered.
	Targets []*G.Node
	// Bind maps nodes to buffers the caller owns: parameters (leaves the plan reads) and
	// gradients (nodes the plan writes into the given buffer, so several plans can share one
	// set of gradient buffers). Bound buffers are not freed by Plan.Close.
	Bind map[*G.Node]backend.Buffer
	// Keep lists nodes besides the targets whose values the caller reads after Run (activations
	// for diagnostics): their buffers are not recycled.
	Keep []*G.Node
	// Recycle lets a later node take over a buffer once the last step that reads it has run:
	// a buffer of its length, or part of a larger one on a device that can view part of a
	// buffer (backend.Viewer). A forward-only plan then holds about two layers' activations
	// instead of all of them (the cnn preset at batch 1000: 194 MiB instead of 615). Every
	// step computes the same values either way. Without Recycle each node has a buffer of
	// its own, which can be faster: on a 2-core EPYC guest a buffer that passes between ops
	// that split their work differently between the cores costs cross-core cache traffic
	// (a LeNet-5 training step 2-7% slower recycled).
	Recycle bool
	// Arena, when set, holds the buffers of the plan's intermediate nodes, shared with the
	// other plans compiled with it: a node takes an arena buffer (or part of one, on a device
	// with views) before the device allocates a new one. Plans of one arena must be used one
	// at a time: write the inputs, run, read the outputs, and only then run another, whose
	// run overwrites them. The arena frees its buffers on Close, not the plans.
	Arena *Arena
}

// Arena is a set of buffers that plans share (Config.Arena), such as the plans a trainer
// compiles for each batch size, which never run at the same time. Compiling two plans into one
// arena at the same time is not safe.
type Arena struct {
	dev   backend.Device
	bufs  []backend.Buffer
	elems int
}

// NewArena returns an empty arena of buffers on dev.
func NewArena(dev backend.Device) *Arena { return &Arena{dev: dev} }

// Elements is the number of elements the arena's buffers hold.
func (a *Arena) Elements() int { return a.elems }

// Close frees the arena's buffers; the plans that used them must not run again.
func (a *Arena) Close() {
	for _, b := range a.bufs {
		a.dev.Free(b)
	}
	a.bufs, a.elems = nil, 0
}

// Lowerer is implemented by graph ops that say which registered device op computes them (every
// op of package models/nn). Lower gets the shapes of the node's inputs and its own shape and
// returns the op and its attributes (a pointer the call keeps); the plan then calls the op with
// the node's buffer first and its inputs' buffers after it, in input order.
type Lowerer interface {
	Lower(in []tensor.Shape, out tensor.Shape) (op *backend.Op, attrs any, err error)
}

// Plan is a compiled graph: run it with Run after writing its inputs.
type Plan struct {
	dev   backend.Device
	steps []step
	bufs  map[*G.Node]backend.Buffer
	owned []backend.Buffer
	state *backend.RunState
	// recycled holds the nodes whose buffers later nodes reuse: their values do not outlive
	// the run, so Buffer does not hand them out, nor those of the reshapes aliasing them
	// (rootOf maps each node to the node whose buffer it uses).
	recycled map[*G.Node]bool
	rootOf   map[*G.Node]*G.Node
	// elems is the number of elements in the buffers the plan allocated (its own and those it
	// added to an arena); unshared, the number a buffer per node would take.
	elems, unshared int
}

// step is one device call: a registered op's call, or (for Gorgonia's ops) a function.
type step struct {
	node *G.Node
	call *backend.Call
	run  func() error
}

// Buffer returns the buffer that holds n's value (an input to write, or an output to read). The
// inputs, parameters, constants, bound nodes, targets and Config.Keep nodes always have one; a
// node whose buffer a later node takes over (Config.Recycle) does not, and Buffer reports false.
func (p *Plan) Buffer(n *G.Node) (backend.Buffer, bool) {
	if r, ok := p.rootOf[n]; ok && p.recycled[r] {
		return nil, false
	}
	b, ok := p.bufs[n]
	return b, ok
}

// Elements returns the number of elements in the buffers the plan allocated (times the element
// size for bytes; with an arena, those it added to the arena count), and the number they would
// hold if no buffer were recycled or shared (see Config.Recycle and Config.Arena).
func (p *Plan) Elements() (owned, unshared int) { return p.elems, p.unshared }

// Steps is the number of device calls one Run makes.
func (p *Plan) Steps() int { return len(p.steps) }

// Describe lists the steps, one per line, for debugging and docs.
func (p *Plan) Describe() string {
	var sb strings.Builder
	for i, s := range p.steps {
		fmt.Fprintf(&sb, "%3d %-24v %v\n", i, s.node.Op(), s.node.Shape())
	}
	return sb.String()
}

// SetStep sets the training step the next runs see (it keys dropout's mask with the seed): the
// trainer sets it before every step, so a resumed run draws the masks the uninterrupted run drew.
func (p *Plan) SetStep(step uint64) { p.state.Step = step }

// SetSeed sets the seed of the plan's random streams (dropout).
func (p *Plan) SetSeed(seed uint64) { p.state.Seed = seed }

// Run executes every step in order. An error names the node whose step failed.
func (p *Plan) Run() error {
	for i := range p.steps {
		s := &p.steps[i]
		var err error
		if s.call != nil {
			err = p.dev.Run(s.call)
		} else {
			err = s.run()
		}
		if err != nil {
			n := p.steps[i].node
			return fmt.Errorf("exec: step %d, node %q (%v): %w", i, n.Name(), n.Op(), err)
		}
	}
	return nil
}

// Close frees the buffers the plan allocated (not the bound ones).
func (p *Plan) Close() {
	for _, b := range p.owned {
		p.dev.Free(b)
	}
	p.owned, p.steps, p.bufs = nil, nil, nil
}

type compiler struct {
	cfg   Config
	plan  *Plan
	dtype tensor.Dtype

	// Buffer recycling (see Config.Recycle). A node's buffer belongs to its root: the node
	// itself, or for a reshape, which aliases its input, the root of that input. lastUse is
	// the position, in lowering order, of the last node that reads a root's buffer; at that
	// position plus one the buffer the root holds (parentOf: an owned buffer, which the
	// root's may be a view of) joins free for the next node that needs one.
	pos      int
	rootOf   map[*G.Node]*G.Node
	lastUse  map[*G.Node]int
	dieAt    map[int][]*G.Node
	takes    map[*G.Node]bool // the node's buffer may be one that a dead node held
	freeable map[*G.Node]bool // and it can pass to a later node after its last reader
	parentOf map[*G.Node]backend.Buffer
	free     []backend.Buffer
	holders  map[backend.Buffer][]*G.Node
}

// Compile lowers the ancestors of cfg.Targets in g to a plan.
func Compile(g *G.ExprGraph, cfg Config) (*Plan, error) {
	if cfg.Device == nil {
		return nil, fmt.Errorf("exec: Compile: no device: %w", backend.ErrInvalid)
	}
	if cfg.Arena != nil && cfg.Arena.dev != cfg.Device {
		return nil, fmt.Errorf("exec: Compile: the arena holds buffers of another device: %w", backend.ErrInvalid)
	}
	if len(cfg.Targets) == 0 {
		return nil, fmt.Errorf("exec: Compile: no targets: %w", backend.ErrInvalid)
	}
	c := &compiler{cfg: cfg, plan: &Plan{dev: cfg.Device, bufs: map[*G.Node]backend.Buffer{}, state: &backend.RunState{}}}
	switch cfg.DType {
	case backend.Float32:
		c.dtype = tensor.Float32
	case backend.Float64:
		c.dtype = tensor.Float64
	default:
		return nil, fmt.Errorf("exec: Compile: dtype %v: %w", cfg.DType, backend.ErrDType)
	}
	sorted, err := G.Sort(g)
	if err != nil {
		return nil, fmt.Errorf("exec: Compile: sorting the graph: %w", err)
	}
	needed := map[*G.Node]bool{}
	var mark func(n *G.Node)
	mark = func(n *G.Node) {
		if needed[n] {
			return
		}
		needed[n] = true
		for _, ch := range children(g, n) {
			mark(ch)
		}
	}
	for _, t := range cfg.Targets {
		if t == nil || t.Graph() != g {
			return nil, fmt.Errorf("exec: Compile: target %v is not in the graph: %w", t, backend.ErrInvalid)
		}
		mark(t)
	}
	for n, b := range cfg.Bind {
		if b.DType() != cfg.DType || b.Len() != n.Shape().TotalSize() {
			return nil, fmt.Errorf("exec: Compile: node %q %v is bound to a %v buffer of %d elements, want %v of %d: %w",
				n.Name(), n.Shape(), b.DType(), b.Len(), cfg.DType, n.Shape().TotalSize(), backend.ErrShape)
		}
	}
	// G.Sort puts roots first; leaves come last, so walk backwards.
	var order []*G.Node
	for i := len(sorted) - 1; i >= 0; i-- {
		if n := sorted[i]; needed[n] {
			order = append(order, n)
		}
	}
	c.planReuse(g, order)
	for i, n := range order {
		c.pos = i
		c.release()
		if err := c.lower(g, n); err != nil {
			c.plan.Close()
			return nil, err
		}
	}
	c.fuseBatchNormGrads()
	return c.plan, nil
}

// fuseBatchNormGrads merges each batch-norm input gradient and the γ gradient right after it
// on the same x, statistics and dy into one call (backend.OpBatchNormGradInputGamma): dγ is the
// input gradient's Σ dy·x̂, so the device passes over x and dy once for both, where the γ
// gradient recomputed the statistics and the sum (on the Xeon about 8% of the cnn preset's
// step). Only steps next to each other are merged, so nothing runs between the two results;
// and not with Recycle, where dγ's buffer could be a recycled one that the input gradient still
// reads. The values are the same.
func (c *compiler) fuseBatchNormGrads() {
	if c.cfg.Recycle || !fuseBatchNorm {
		return
	}
	steps := c.plan.steps
	out := steps[:0]
	for i := 0; i < len(steps); i++ {
		if i+1 < len(steps) {
			if f := fusedBatchNormGrads(steps[i].call, steps[i+1].call); f != nil {
				out = append(out, step{node: steps[i].node, call: f})
				i++
				continue
			}
		}
		out = append(out, steps[i])
	}
	c.plan.steps = out
}

// fuseBatchNorm enables fuseBatchNormGrads; tests turn it off to compare.
var fuseBatchNorm = true

// fusedBatchNormGrads returns the one call for an input-gradient call a followed by a
// γ-gradient call b of the same geometry and mode on the same x, running statistics and dy, or
// nil.
func fusedBatchNormGrads(a, b *backend.Call) *backend.Call {
	if a == nil || b == nil || a.Op != backend.OpBatchNormGradInput || b.Op != backend.OpBatchNormGradGamma {
		return nil
	}
	ba, ok := a.Attrs.(*kernels.BatchNorm)
	bb, ok2 := b.Attrs.(*kernels.BatchNorm)
	if !ok || !ok2 || ba == nil || bb == nil || *ba != *bb {
		return nil
	}
	// a: dx, x, gamma, rmean, rvar, dy; b: dgamma, x, rmean, rvar, dy.
	if a.Bufs[1] != b.Bufs[1] || a.Bufs[3] != b.Bufs[2] || a.Bufs[4] != b.Bufs[3] || a.Bufs[5] != b.Bufs[4] || a.State != b.State {
		return nil
	}
	return &backend.Call{Op: backend.OpBatchNormGradInputGamma, Bufs: []backend.Buffer{a.Bufs[0], b.Bufs[0], a.Bufs[1], a.Bufs[2], a.Bufs[3], a.Bufs[4], a.Bufs[5]}, Attrs: a.Attrs, State: a.State}
}

// isAlias reports whether n's lowering shares its input's buffer (an unbound reshape).
func (c *compiler) isAlias(n *G.Node) bool {
	if n.Op() == nil {
		return false
	}
	if _, bound := c.cfg.Bind[n]; bound {
		return false
	}
	return gorgoniaOp(n.Op()) == "reshapeOp"
}

// gorgoniaOp names the type of one of Gorgonia's unexported ops, pointer or not ("reshapeOp"),
// or of another op with its package ("nn.ConvOp").
func gorgoniaOp(op G.Op) string {
	return strings.TrimPrefix(strings.TrimPrefix(fmt.Sprintf("%T", op), "*"), "gorgonia.")
}

// knownAtCompileTime reports whether op's value is written once when the plan is compiled (a
// constant, or the size of an axis).
func knownAtCompileTime(op G.Op) bool {
	switch gorgoniaOp(op) {
	case "constantScalar", "constantTensor", "sizeOp":
		return true
	}
	return false
}

// planReuse finds which op nodes may take a buffer another node held (every node's but the
// leaves', constants' and bound nodes') and, with Recycle, the last position that reads each
// root's buffer. Targets and Keep nodes, and anything aliasing them, keep their buffers for the
// whole run.
func (c *compiler) planReuse(g *G.ExprGraph, order []*G.Node) {
	c.rootOf, c.lastUse, c.dieAt = map[*G.Node]*G.Node{}, map[*G.Node]int{}, map[int][]*G.Node{}
	c.plan.rootOf = c.rootOf
	c.takes, c.freeable = map[*G.Node]bool{}, map[*G.Node]bool{}
	c.parentOf, c.holders = map[*G.Node]backend.Buffer{}, map[backend.Buffer][]*G.Node{}
	if !c.cfg.Recycle && c.cfg.Arena == nil {
		return
	}
	if c.cfg.Arena != nil {
		c.free = slices.Clone(c.cfg.Arena.bufs)
	}
	for i, n := range order {
		ch := children(g, n)
		if c.isAlias(n) && len(ch) == 1 {
			c.rootOf[n] = c.rootOf[ch[0]]
		} else {
			c.rootOf[n] = n
			_, bound := c.cfg.Bind[n]
			c.takes[n] = n.Op() != nil && !bound && !knownAtCompileTime(n.Op())
			c.freeable[n] = c.takes[n] && c.cfg.Recycle
			c.lastUse[n] = i
		}
		for _, x := range ch {
			if r := c.rootOf[x]; r != nil {
				c.lastUse[r] = max(c.lastUse[r], i)
			}
		}
	}
	for _, n := range append(slices.Clone(c.cfg.Targets), c.cfg.Keep...) {
		if r := c.rootOf[n]; r != nil {
			c.freeable[r] = false
		}
	}
	for _, n := range order { // in order, so a compile gives the same buffers every time
		if c.freeable[n] {
			c.dieAt[c.lastUse[n]+1] = append(c.dieAt[c.lastUse[n]+1], n)
		}
	}
}

// release returns to the free lists the buffers whose last reader came before this position.
func (c *compiler) release() {
	for _, n := range c.dieAt[c.pos] {
		if b, ok := c.parentOf[n]; ok {
			c.free = append(c.free, b)
		}
	}
}

// take removes from the free list and returns the smallest buffer of at least size elements,
// or of exactly size when the device cannot view part of a buffer or when, in a recycling plan,
// the node keeps its buffer to the end (a target: part of a large buffer would hold all of it
// from later nodes); nil when none is free.
func (c *compiler) take(size int, keeps bool) backend.Buffer {
	_, views := c.cfg.Device.(backend.Viewer)
	views = views && !keeps
	best := -1
	for i, b := range c.free {
		if l := b.Len(); l == size || (views && l > size && (best < 0 || l < c.free[best].Len())) {
			if best = i; l == size {
				break
			}
		}
	}
	if best < 0 {
		return nil
	}
	b := c.free[best]
	c.free = append(c.free[:best], c.free[best+1:]...)
	return b
}

func children(g *G.ExprGraph, n *G.Node) []*G.Node {
	it := g.From(n.ID())
	out := make([]*G.Node, 0, it.Len())
	for it.Next() {
		out = append(out, it.Node().(*G.Node))
	}
	return out
}

// output returns the buffer n writes into: its bound buffer, or a new one the plan owns.
func (c *compiler) output(n *G.Node) (backend.Buffer, error) {
	if b, ok := c.cfg.Bind[n]; ok {
		c.plan.bufs[n] = b
		return b, nil
	}
	size := n.Shape().TotalSize()
	c.plan.unshared += size
	if c.takes[n] {
		if parent := c.take(size, c.cfg.Recycle && !c.freeable[n]); parent != nil {
			b := parent
			if parent.Len() != size {
				v, err := c.cfg.Device.(backend.Viewer).View(parent, size)
				if err != nil {
					return nil, fmt.Errorf("exec: a view of %d elements for node %q: %w", size, n.Name(), err)
				}
				b = v
			}
			c.plan.bufs[n], c.parentOf[n] = b, parent
			c.share(parent, n)
			return b, nil
		}
	}
	b, err := c.cfg.Device.Alloc(c.cfg.DType, size)
	if err != nil {
		return nil, fmt.Errorf("exec: allocating %v for node %q: %w", n.Shape(), n.Name(), err)
	}
	if a := c.cfg.Arena; a != nil && c.takes[n] {
		a.bufs = append(a.bufs, b)
		a.elems += size
	} else {
		c.plan.owned = append(c.plan.owned, b)
	}
	c.plan.elems += size
	c.plan.bufs[n], c.parentOf[n] = b, b
	c.holders[b] = []*G.Node{n}
	return b, nil
}

// share records that n takes over b: b's earlier holders, and the reshapes aliasing them, no
// longer hold their values after a run.
func (c *compiler) share(b backend.Buffer, n *G.Node) {
	if c.plan.recycled == nil {
		c.plan.recycled = map[*G.Node]bool{}
	}
	for _, h := range c.holders[b] {
		c.plan.recycled[h] = true
	}
	c.holders[b] = append(c.holders[b], n)
}

func (c *compiler) add(n *G.Node, run func() error) {
	c.plan.steps = append(c.plan.steps, step{node: n, run: run})
}

func unsupported(n *G.Node, why string) error {
	return fmt.Errorf("exec: node %q: op %v (%T) %s: %w", n.Name(), n.Op(), n.Op(), why, ErrUnsupported)
}

// rowsCols views a shape as a matrix whose rows run along the last axis.
func rowsCols(s tensor.Shape) (int, int) {
	if len(s) == 0 {
		return 1, 1
	}
	last := s[len(s)-1]
	if last == 0 {
		return 0, 0
	}
	return s.TotalSize() / last, last
}

func (c *compiler) lower(g *G.ExprGraph, n *G.Node) error {
	dev := c.cfg.Device
	if n.Dtype() != c.dtype {
		return fmt.Errorf("exec: node %q has dtype %v, the plan is %v: %w", n.Name(), n.Dtype(), c.dtype, backend.ErrDType)
	}
	op := n.Op()
	if op == nil { // a leaf: a parameter (bound) or an input (allocated here, written by the caller)
		_, err := c.output(n)
		return err
	}
	ch := children(g, n)
	in := make([]backend.Buffer, len(ch))
	for i, x := range ch {
		b, ok := c.plan.bufs[x]
		if !ok {
			return fmt.Errorf("exec: node %q: input %q was not lowered before it (graph order): %w", n.Name(), x.Name(), backend.ErrInvalid)
		}
		in[i] = b
	}
	shape := n.Shape()
	size := shape.TotalSize()

	// Ops whose value is known at compile time, and reshape, which is an alias.
	switch gorgoniaOp(op) {
	case "constantScalar", "constantTensor":
		v := n.Value()
		if v == nil {
			return unsupported(n, "has no value")
		}
		return c.constant(n, v.Data())
	case "sizeOp":
		s := op.String()
		var val int
		if rest, ok := strings.CutPrefix(s, "SizeOf="); ok {
			v, err := strconv.Atoi(rest)
			if err != nil {
				return unsupported(n, "has an unreadable size")
			}
			val = v
		} else if rest, ok := strings.CutPrefix(s, "SizeOf("); ok {
			axis, err := strconv.Atoi(strings.TrimSuffix(rest, ")"))
			cs := ch[0].Shape()
			if err != nil || axis < 0 || axis >= len(cs) {
				return unsupported(n, "has an unreadable axis")
			}
			val = cs[axis]
		} else {
			return unsupported(n, "is an unknown size form")
		}
		return c.constant(n, float64(val))
	case "reshapeOp":
		if b, ok := c.cfg.Bind[n]; ok { // a bound result must land in its own buffer
			c.plan.bufs[n] = b
			src := in[0]
			c.add(n, func() error { return dev.Copy(b, src) })
			return nil
		}
		c.plan.bufs[n] = in[0]
		return nil
	}

	out, err := c.output(n)
	if err != nil {
		return err
	}
	if l, ok := op.(Lowerer); ok {
		shapes := make([]tensor.Shape, len(ch))
		for i, x := range ch {
			shapes[i] = x.Shape()
		}
		dop, attrs, err := l.Lower(shapes, shape)
		if err != nil {
			return fmt.Errorf("exec: node %q (%v): %w", n.Name(), op, err)
		}
		if dop == nil {
			return unsupported(n, "lowers to no device op")
		}
		call := &backend.Call{Op: dop, Bufs: append([]backend.Buffer{out}, in...), Attrs: attrs, State: c.plan.state}
		c.plan.steps = append(c.plan.steps, step{node: n, call: call})
		return nil
	}
	return c.lowerGorgonia(n, ch, in, out, size)
}

// constant writes a compile-time value into the node's buffer once.
func (c *compiler) constant(n *G.Node, v any) error {
	out, err := c.output(n)
	if err != nil {
		return err
	}
	var vals []float64
	switch d := v.(type) {
	case float64:
		vals = []float64{d}
	case float32:
		vals = []float64{float64(d)}
	case int:
		vals = []float64{float64(d)}
	case []float64:
		vals = d
	case []float32:
		for _, x := range d {
			vals = append(vals, float64(x))
		}
	default:
		return unsupported(n, fmt.Sprintf("holds a constant of type %T", v))
	}
	if len(vals) != out.Len() {
		return unsupported(n, fmt.Sprintf("holds %d constant values for %d elements", len(vals), out.Len()))
	}
	if c.cfg.DType == backend.Float64 {
		return c.cfg.Device.Write(out, vals)
	}
	f := make([]float32, len(vals))
	for i, x := range vals {
		f[i] = float32(x)
	}
	return c.cfg.Device.Write(out, f)
}

var binarySymbols = map[string]backend.BinaryOp{
	"+": backend.Add, "-": backend.Sub, "⊙": backend.Mul, "÷": backend.Div, "^": backend.Pow,
	"<": backend.Lt, ">": backend.Gt, "<=": backend.Le, ">=": backend.Ge, "==": backend.Eq, "!=": backend.Ne,
}

var unaryNames = map[string]backend.UnaryOp{
	"abs": backend.Abs, "sign": backend.Sign, "exp": backend.Exp, "ln": backend.Log, "neg": backend.Neg,
	"square": backend.Square, "sqrt": backend.Sqrt, "inv": backend.Inverse, "cube": backend.Cube,
	"log1p": backend.Log1p, "expm1": backend.Expm1,
}

var unaryActivations = map[string]kernels.Activation{
	"tanh": kernels.Tanh, "sigmoid": kernels.Sigmoid, "softplus": kernels.Softplus,
}

// parseAxes reads "[0 1]" or "0" style axis lists out of an op's String.
func parseAxes(s string) ([]int, bool) {
	s = strings.Trim(strings.TrimSpace(s), "[]")
	var out []int
	for _, f := range strings.Fields(s) {
		a, err := strconv.Atoi(f)
		if err != nil {
			return nil, false
		}
		out = append(out, a)
	}
	return out, len(out) > 0
}

// split returns the [outer, mid, inner] view of shape around the contiguous axes [lo, hi].
func split(shape tensor.Shape, lo, hi int) (int, int, int) {
	outer, mid, inner := 1, 1, 1
	for i, d := range shape {
		switch {
		case i < lo:
			outer *= d
		case i <= hi:
			mid *= d
		default:
			inner *= d
		}
	}
	return outer, mid, inner
}

// lowerGorgonia handles Gorgonia's own op types, which are unexported: they are recognised by
// type name and read through their String (the only stable view Gorgonia offers).
func (c *compiler) lowerGorgonia(n *G.Node, ch []*G.Node, in []backend.Buffer, out backend.Buffer, size int) error {
	dev := c.cfg.Device
	op := n.Op()
	s := op.String()
	switch fmt.Sprintf("%T", op) {
	case "gorgonia.linAlgBinOp", "*gorgonia.linAlgBinOp":
		tA, tB := strings.Contains(s, "Aᵀ") || strings.Contains(s, "aᵀ"), strings.Contains(s, "Bᵀ") || strings.Contains(s, "bᵀ")
		as, bs := ch[0].Shape(), ch[1].Shape()
		if len(as) != 2 || len(bs) > 2 || len(bs) == 0 {
			return unsupported(n, fmt.Sprintf("on shapes %v × %v (only matrix×matrix and matrix×vector)", as, bs))
		}
		m, k := as[0], as[1]
		if tA {
			m, k = k, m
		}
		nn := 1
		if len(bs) == 2 {
			nn = bs[1]
			if tB {
				nn = bs[0]
			}
		}
		c.add(n, func() error { return dev.Gemm(tA, tB && len(bs) == 2, m, nn, k, 1, in[0], in[1], 0, out) })
	case "gorgonia.elemBinOp", "*gorgonia.elemBinOp":
		sym, _, _ := strings.Cut(s, " ")
		bop, ok := binarySymbols[sym]
		if !ok {
			return unsupported(n, "has an unknown operator")
		}
		la, lb := in[0].Len(), in[1].Len()
		if (la != size && la != 1) || (lb != size && lb != 1) {
			return unsupported(n, fmt.Sprintf("on shapes %v and %v (only equal shapes or a scalar)", ch[0].Shape(), ch[1].Shape()))
		}
		c.add(n, func() error { return dev.Binary(bop, out, in[0], in[1]) })
	case "gorgonia.elemUnaryOp", "*gorgonia.elemUnaryOp":
		if uop, ok := unaryNames[s]; ok {
			c.add(n, func() error { return dev.Unary(uop, out, in[0]) })
		} else if act, ok := unaryActivations[s]; ok {
			c.add(n, func() error { return dev.Activation(act, 0, out, in[0]) })
		} else {
			return unsupported(n, "has no device kernel")
		}
	case "gorgonia.repeatOp", "*gorgonia.repeatOp":
		axes, ok := parseAxes(strings.TrimPrefix(s, "Repeat"))
		if !ok || len(axes) != 1 {
			return unsupported(n, "repeats along several axes")
		}
		shape := n.Shape()
		ax := axes[0]
		if ax >= len(shape) {
			return unsupported(n, "repeats along an axis beyond its shape")
		}
		outer, mid, inner := split(shape, ax, ax)
		if in[0].Len() != outer*inner {
			return unsupported(n, fmt.Sprintf("repeats a %v input into %v", ch[0].Shape(), shape))
		}
		c.add(n, func() error { return dev.Broadcast(out, in[0], outer, mid, inner) })
	case "gorgonia.sumOp", "*gorgonia.sumOp":
		axes, ok := parseAxes(strings.TrimPrefix(s, "Σ"))
		xs := ch[0].Shape()
		if !ok {
			return unsupported(n, "has unreadable axes")
		}
		lo, hi := axes[0], axes[len(axes)-1]
		for i, a := range axes {
			if a != lo+i || a >= len(xs) {
				return unsupported(n, "sums over non-contiguous axes")
			}
		}
		outer, mid, inner := split(xs, lo, hi)
		c.add(n, func() error { return dev.Sum(out, in[0], outer, mid, inner) })
	case "*gorgonia.softmaxOp":
		if !strings.HasPrefix(s, "Softmax{-1,") && n.Dims() > 1 {
			return unsupported(n, "is over an axis other than the last")
		}
		log := strings.Contains(s, "true")
		r, cl := rowsCols(n.Shape())
		c.add(n, func() error { return dev.Softmax(log, out, in[0], r, cl) })
	case "*gorgonia.softmaxDiffOp":
		if !strings.HasPrefix(s, "SoftmaxDiff{-1,") && n.Dims() > 1 {
			return unsupported(n, "is over an axis other than the last")
		}
		log := strings.Contains(s, "true")
		r, cl := rowsCols(n.Shape())
		c.add(n, func() error { return dev.SoftmaxGrad(log, out, in[1], in[2], r, cl) })
	default:
		return unsupported(n, "has no lowering")
	}
	return nil
}
