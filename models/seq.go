package models

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LayerKind is the kind of a Seq layer.
type LayerKind uint8

// The layer kinds.
const (
	Dense     LayerKind = iota + 1 // Units outputs: x·W + b (W [in, out]); images are flattened first
	Conv                           // Conv2d with Units output channels, square Kernel, Stride, Pad, Dilation, bias unless NoBias
	MaxPool                        // MaxPool2d: square Kernel, Stride (0: the kernel), Pad
	AvgPool                        // AvgPool2d, count_include_pad=True
	BatchNorm                      // BatchNorm2d after an image layer, BatchNorm1d after a dense one (momentum 0.1, eps 1e-5)
	Dropout                        // Dropout with probability P in training
	Flatten                        // [N, C, H, W] to [N, C·H·W]
	Act                            // the activation Act (Alpha)
)

var kindNames = map[LayerKind]string{Dense: "dense", Conv: "conv", MaxPool: "maxpool", AvgPool: "avgpool", BatchNorm: "bn",
	Dropout: "dropout", Flatten: "flatten", Act: "act"}

// SeqLayer is one layer of a Seq.
type SeqLayer struct {
	Kind                          LayerKind
	Units                         int // Dense: outputs; Conv: output channels
	Kernel, Stride, Pad, Dilation int // Conv and pooling (square)
	NoBias                        bool
	P                             float64 // Dropout
	Act                           kernels.Activation
	Alpha                         float64
}

// Seq is a sequential network: image layers (convolutions, pooling, batch normalisation,
// dropout, activations), then dense layers; the last layer is a Dense whose outputs are the
// logits. Its grammar (ParseModel) extends the MLP spec's:
//
//	1x28x28-conv(32,3,pad=1)-bn-relu-maxpool(2)-conv(64,3,pad=1)-bn-relu-maxpool(2)-flatten-dropout(0.25)-128-10
//
// Layers use PyTorch's semantics and defaults (Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d/2d,
// Dropout). Parameters are named conv1.w [out, in, k, k], conv1.b, bn1.gamma, bn1.beta, fc1.w
// [in, out], fc1.b, ... in layer order; batch normalisation's running statistics are state.
type Seq struct {
	Input  []int // one example: [C, H, W] (or [features] for dense-only networks)
	Layers []SeqLayer
	Loss   kernels.Loss
}

// shapes walks the layers from the input and returns the shape after each (without the batch
// axis), checking each layer's geometry.
func (s Seq) shapes() ([][]int, error) {
	cur := slices.Clone(s.Input)
	var out [][]int
	for i, l := range s.Layers {
		bad := func(format string, a ...any) error {
			return fmt.Errorf("models: %v: layer %d (%s): %s: %w", s, i+1, l.token(), fmt.Sprintf(format, a...), ErrSpec)
		}
		image := len(cur) == 3
		switch l.Kind {
		case Dense:
			if l.Units <= 0 {
				return nil, bad("%d units: want at least 1", l.Units)
			}
			cur = []int{l.Units}
		case Conv:
			if !image {
				return nil, bad("a convolution needs [C, H, W] images, the input here is %v", cur)
			}
			if l.Units <= 0 || l.Kernel <= 0 {
				return nil, bad("want positive channels and kernel size")
			}
			x := tensor.Shape{1, cur[0], cur[1], cur[2]}
			w := tensor.Shape{l.Units, cur[0], l.Kernel, l.Kernel}
			g, err := nn.ConvGeometry(x, w, l.convOpts())
			if err != nil {
				return nil, bad("%v", err)
			}
			cur = []int{l.Units, g.OutH(), g.OutW()}
		case MaxPool, AvgPool:
			if !image {
				return nil, bad("pooling needs [C, H, W] images, the input here is %v", cur)
			}
			kind := kernels.MaxPool
			if l.Kind == AvgPool {
				kind = kernels.AvgPool
			}
			g, err := nn.PoolGeometry(kind, tensor.Shape{1, cur[0], cur[1], cur[2]}, [2]int{l.Kernel, l.Kernel}, l.poolOpts())
			if err != nil {
				return nil, bad("%v", err)
			}
			cur = []int{cur[0], g.OutH(), g.OutW()}
		case Flatten:
			cur = []int{prod(cur)}
		case BatchNorm, Act:
		case Dropout:
			if !(l.P >= 0 && l.P < 1) {
				return nil, bad("p %v: want in [0, 1)", l.P)
			}
		default:
			return nil, bad("unknown layer kind %d", l.Kind)
		}
		if l.Kind == Act && !l.Act.Valid() {
			return nil, bad("activation %v", l.Act)
		}
		out = append(out, slices.Clone(cur))
	}
	return out, nil
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func (l SeqLayer) convOpts() nn.ConvOpts {
	return nn.ConvOpts{Stride: [2]int{l.Stride, l.Stride}, Padding: [2]int{l.Pad, l.Pad}, Dilation: [2]int{l.Dilation, l.Dilation}}
}

func (l SeqLayer) poolOpts() nn.PoolOpts {
	return nn.PoolOpts{Stride: [2]int{l.Stride, l.Stride}, Padding: [2]int{l.Pad, l.Pad}}
}

// Validate checks the layers' geometry from the input to the logits, the loss, and that the
// last layer is a Dense layer (the logits).
func (s Seq) Validate() error {
	if len(s.Input) != 1 && len(s.Input) != 3 || slices.ContainsFunc(s.Input, func(d int) bool { return d <= 0 }) {
		return fmt.Errorf("models: %v: input %v: want [features] or [channels, height, width] of positive sizes: %w", s, s.Input, ErrSpec)
	}
	if len(s.Layers) == 0 || s.Layers[len(s.Layers)-1].Kind != Dense {
		return fmt.Errorf("models: %v: the last layer must be a dense layer giving the logits: %w", s, ErrSpec)
	}
	if _, err := s.shapes(); err != nil {
		return err
	}
	return Check(s)
}

// InputShape is the shape of one example.
func (s Seq) InputShape() []int { return slices.Clone(s.Input) }

// Outputs is the last layer's width.
func (s Seq) Outputs() int {
	if len(s.Layers) == 0 {
		return 0
	}
	return s.Layers[len(s.Layers)-1].Units
}

// LossKind is the loss.
func (s Seq) LossKind() kernels.Loss { return s.Loss }

// actAfter is the activation that follows layer i (for He initialisation), Identity when none
// does before the next layer with parameters.
func (s Seq) actAfter(i int) kernels.Activation {
	for _, l := range s.Layers[i+1:] {
		switch l.Kind {
		case Act:
			return l.Act
		case Dense, Conv:
			return kernels.Identity
		}
	}
	return kernels.Identity
}

// Params lists the parameters in layer order. It assumes a valid model (Validate).
func (s Seq) Params() []Param {
	shapes, err := s.shapes()
	if err != nil {
		return nil
	}
	var out []Param
	in := slices.Clone(s.Input)
	var nConv, nBN, nFC int
	for i, l := range s.Layers {
		switch l.Kind {
		case Conv:
			nConv++
			out = append(out, Param{Name: fmt.Sprintf("conv%d.w", nConv), Shape: []int{l.Units, in[0], l.Kernel, l.Kernel}, Kind: Weight, Act: s.actAfter(i)})
			if !l.NoBias {
				out = append(out, Param{Name: fmt.Sprintf("conv%d.b", nConv), Shape: []int{l.Units}, Kind: Bias})
			}
		case BatchNorm:
			nBN++
			out = append(out, Param{Name: fmt.Sprintf("bn%d.gamma", nBN), Shape: []int{in[0]}, Kind: Scale},
				Param{Name: fmt.Sprintf("bn%d.beta", nBN), Shape: []int{in[0]}, Kind: Bias})
		case Dense:
			nFC++
			out = append(out, Param{Name: fmt.Sprintf("fc%d.w", nFC), Shape: []int{prod(in), l.Units}, Kind: Weight, Act: s.actAfter(i)},
				Param{Name: fmt.Sprintf("fc%d.b", nFC), Shape: []int{l.Units}, Kind: Bias})
		}
		in = shapes[i]
	}
	return out
}

// InitParams draws the parameters (InitParamsOf).
func (s Seq) InitParams(scheme Init, rng *rand.Rand) [][]float64 {
	return InitParamsOf(s.Params(), scheme, rng)
}

// Build makes the graph for one batch size.
func (s Seq) Build(batch int, dt tensor.Dtype, training bool) (*Graph, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if batch <= 0 {
		return nil, fmt.Errorf("models: batch size %d must be positive: %w", batch, ErrSpec)
	}
	g := G.NewGraph()
	x := Input(g, s, batch, dt)
	params := ParamNodes(g, s.Params(), dt)
	next := 0
	param := func() *G.Node { p := params[next]; next++; return p }
	h := x
	var nBN int
	for i, l := range s.Layers {
		var err error
		switch l.Kind {
		case Conv:
			w := param()
			var b *G.Node
			if !l.NoBias {
				b = param()
			}
			h, err = nn.Conv2d(h, w, b, l.convOpts())
		case MaxPool:
			h, err = nn.MaxPool2d(h, [2]int{l.Kernel, l.Kernel}, l.poolOpts())
		case AvgPool:
			h, err = nn.AvgPool2d(h, [2]int{l.Kernel, l.Kernel}, l.poolOpts())
		case BatchNorm:
			nBN++
			c := h.Shape()[1]
			mean := G.NewVector(g, dt, G.WithShape(c), G.WithName(fmt.Sprintf("bn%d.running_mean", nBN)))
			vr := G.NewVector(g, dt, G.WithShape(c), G.WithName(fmt.Sprintf("bn%d.running_var", nBN)))
			gamma, beta := param(), param()
			h, err = nn.BatchNorm(h, gamma, beta, mean, vr, nn.DefaultBatchNorm(training))
		case Dropout:
			h, err = nn.Dropout(h, l.P, training)
		case Flatten:
			h, err = nn.Flatten(h)
		case Act:
			h, err = nn.Activate(h, l.Act, l.Alpha)
		case Dense:
			if h.Dims() > 2 {
				if h, err = nn.Flatten(h); err != nil {
					break
				}
			}
			w, b := param(), param()
			if h, err = G.Mul(h, w); err == nil {
				h, err = nn.BiasAdd(h, b)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("models: %v: layer %d (%s): %w", s, i+1, l.token(), err)
		}
	}
	return Finish(s, g, x, h, params, training)
}

// String renders the model in ParseModel's grammar.
func (s Seq) String() string {
	parts := []string{shapeToken(s.Input)}
	for i := 0; i < len(s.Layers); i++ {
		l := s.Layers[i]
		t := l.token()
		// A dense or conv layer followed by its activation is written N:act, conv(...):act.
		if (l.Kind == Dense || l.Kind == Conv) && i+1 < len(s.Layers) && s.Layers[i+1].Kind == Act {
			t += ":" + s.Layers[i+1].actToken()
			i++
		} else if (l.Kind == Dense || l.Kind == Conv) && i+1 < len(s.Layers) {
			t += ":none"
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, "-")
}

func shapeToken(s []int) string {
	p := make([]string, len(s))
	for i, d := range s {
		p[i] = strconv.Itoa(d)
	}
	return strings.Join(p, "x")
}

func (l SeqLayer) actToken() string {
	if l.Alpha != l.Act.DefaultAlpha() {
		return fmt.Sprintf("%v(%g)", l.Act, l.Alpha)
	}
	return l.Act.String()
}

// token renders one layer (a Dense or Conv without its activation).
func (l SeqLayer) token() string {
	opt := func(name string, v, def int) string {
		if v == def || v == 0 && def == 1 {
			return ""
		}
		return fmt.Sprintf(",%s=%d", name, v)
	}
	switch l.Kind {
	case Dense:
		return strconv.Itoa(l.Units)
	case Conv:
		s := fmt.Sprintf("conv(%d,%d%s%s%s", l.Units, l.Kernel, opt("stride", l.Stride, 1), opt("pad", l.Pad, 0), opt("dilation", l.Dilation, 1))
		if l.NoBias {
			s += ",bias=0"
		}
		return s + ")"
	case MaxPool, AvgPool:
		stride := ""
		if l.Stride != 0 && l.Stride != l.Kernel {
			stride = fmt.Sprintf(",stride=%d", l.Stride)
		}
		return fmt.Sprintf("%s(%d%s%s)", kindNames[l.Kind], l.Kernel, stride, opt("pad", l.Pad, 0))
	case Dropout:
		return fmt.Sprintf("dropout(%g)", l.P)
	case Act:
		return l.actToken()
	}
	return kindNames[l.Kind]
}

// Presets are named models for MNIST-sized images (1x28x28), for -model.
var Presets = map[string]string{
	// LeNet-5 as PyTorch tutorials write it, with ReLU and max pooling.
	"lenet5": "1x28x28-conv(6,5,pad=2):relu-maxpool(2)-conv(16,5):relu-maxpool(2)-120:relu-84:relu-10",
	// Two blocks of convolution, batch normalisation, ReLU and pooling, then dropout and a
	// dense layer with batch normalisation.
	"cnn": "1x28x28-conv(32,3,pad=1):none-bn-relu-maxpool(2)-conv(64,3,pad=1):none-bn-relu-maxpool(2)-dropout(0.25)-128:none-bn-relu-dropout(0.5)-10",
}

// ParseModel reads -model: a preset name (Presets), the MLP grammar of ParseSpec
// ("784-256:tanh-10", giving a Spec), or the layer grammar of Seq, tokens joined by '-':
//
//	784 or 1x28x28           the input: features, or channels x height x width (first token)
//	N[:act]                  a dense layer of N units; hidden ones take act (the default
//	                         activation) unless they name theirs; :none for none; the last is the output
//	conv(out,k[,stride=s][,pad=p][,dilation=d][,bias=0])[:act]
//	                         a 2-D convolution, followed by act like a hidden dense layer
//	maxpool(k[,stride=s][,pad=p]), avgpool(...)
//	bn                       batch normalisation (2-D after images, 1-D after dense layers)
//	dropout(p)               dropout in training
//	flatten                  images to features (implied before the first dense layer)
//	relu, tanh, leakyrelu(0.1), ...
//	                         an activation layer
func ParseModel(s string, act kernels.Activation, loss kernels.Loss) (Model, error) {
	src := strings.TrimSpace(s)
	if p, ok := Presets[strings.ToLower(src)]; ok {
		src = p
	}
	parts := strings.Split(src, "-")
	dense := !strings.Contains(parts[0], "x")
	for _, p := range parts {
		w, _, _ := strings.Cut(p, ":")
		if _, err := strconv.Atoi(strings.TrimSpace(w)); err != nil {
			dense = false
		}
	}
	if dense {
		return ParseSpec(src, act, loss)
	}
	return parseSeq(s, src, act, loss)
}

func parseSeq(orig, src string, act kernels.Activation, loss kernels.Loss) (Seq, error) {
	parts := strings.Split(src, "-")
	bad := func(i int, format string, a ...any) error {
		return fmt.Errorf("models: model %q: token %d %q: %s: %w", orig, i+1, parts[min(i, len(parts)-1)], fmt.Sprintf(format, a...), ErrSpec)
	}
	if len(parts) < 2 {
		names := make([]string, 0, len(Presets))
		for n := range Presets {
			names = append(names, n)
		}
		slices.Sort(names)
		return Seq{}, fmt.Errorf("models: model %q: not a preset (%s), and no layers: want an input and at least an output layer, as in 784-10 or 1x28x28-conv(8,3)-10: %w",
			orig, strings.Join(names, ", "), ErrSpec)
	}
	s := Seq{Loss: loss}
	for _, d := range strings.Split(strings.TrimSpace(parts[0]), "x") {
		n, err := strconv.Atoi(strings.TrimSpace(d))
		if err != nil || n <= 0 {
			return Seq{}, bad(0, "the input is features (784) or channels x height x width (1x28x28) of positive integers")
		}
		s.Input = append(s.Input, n)
	}
	for i := 1; i < len(parts); i++ {
		p := strings.TrimSpace(parts[i])
		last := i == len(parts)-1
		body, actName, hasAct := p, "", false
		// An activation suffix follows the closing parenthesis, or the width of a dense layer.
		if j := strings.LastIndex(p, ":"); j >= 0 && j > strings.LastIndex(p, ")") {
			body, actName, hasAct = p[:j], p[j+1:], true
		}
		name, args, err := splitCall(body)
		if err != nil {
			return Seq{}, bad(i, "%v", err)
		}
		withAct := func(l SeqLayer) error {
			s.Layers = append(s.Layers, l)
			if last {
				if hasAct {
					return bad(i, "the output layer gives logits to the loss and takes no activation")
				}
				return nil
			}
			a := act
			if hasAct {
				if strings.EqualFold(actName, "none") || strings.EqualFold(actName, "identity") {
					return nil
				}
				if a, err = parseAct(actName); err != nil {
					return bad(i, "%v", err)
				}
			}
			if a != kernels.Identity {
				s.Layers = append(s.Layers, SeqLayer{Kind: Act, Act: a, Alpha: a.DefaultAlpha()})
			}
			return nil
		}
		if n, err := strconv.Atoi(name); err == nil && args == nil {
			if n <= 0 {
				return Seq{}, bad(i, "a dense layer's width must be positive")
			}
			if err := withAct(SeqLayer{Kind: Dense, Units: n}); err != nil {
				return Seq{}, err
			}
			continue
		}
		if last {
			return Seq{}, bad(i, "the last layer must be the output width (a number), giving the logits")
		}
		if hasAct && name != "conv" {
			return Seq{}, bad(i, "only dense and conv layers take an activation suffix; write the activation as a layer of its own")
		}
		switch name {
		case "conv":
			l := SeqLayer{Kind: Conv, Stride: 1, Dilation: 1}
			pos, kv, err := parseArgs(args, 2, "stride", "pad", "dilation", "bias")
			if err != nil {
				return Seq{}, bad(i, "conv(out,k[,stride=][,pad=][,dilation=][,bias=0]): %v", err)
			}
			l.Units, l.Kernel = pos[0], pos[1]
			l.Stride, l.Pad, l.Dilation = getOr(kv, "stride", 1), getOr(kv, "pad", 0), getOr(kv, "dilation", 1)
			if l.Stride < 1 || l.Dilation < 1 {
				return Seq{}, bad(i, "stride %d and dilation %d must be at least 1", l.Stride, l.Dilation)
			}
			switch getOr(kv, "bias", 1) {
			case 0:
				l.NoBias = true
			case 1:
			default:
				return Seq{}, bad(i, "bias=0 or bias=1")
			}
			if err := withAct(l); err != nil {
				return Seq{}, err
			}
		case "maxpool", "avgpool":
			pos, kv, err := parseArgs(args, 1, "stride", "pad")
			if err != nil {
				return Seq{}, bad(i, "%s(k[,stride=][,pad=]): %v", name, err)
			}
			kind := MaxPool
			if name == "avgpool" {
				kind = AvgPool
			}
			if st, ok := kv["stride"]; ok && st < 1 {
				return Seq{}, bad(i, "stride %d must be at least 1 (leave it out for the kernel size)", st)
			}
			s.Layers = append(s.Layers, SeqLayer{Kind: kind, Kernel: pos[0], Stride: getOr(kv, "stride", 0), Pad: getOr(kv, "pad", 0)})
		case "bn", "batchnorm":
			if args != nil {
				return Seq{}, bad(i, "bn takes no arguments")
			}
			s.Layers = append(s.Layers, SeqLayer{Kind: BatchNorm})
		case "flatten":
			if args != nil {
				return Seq{}, bad(i, "flatten takes no arguments")
			}
			s.Layers = append(s.Layers, SeqLayer{Kind: Flatten})
		case "dropout":
			if len(args) != 1 {
				return Seq{}, bad(i, "dropout(p) takes the probability of dropping an element")
			}
			pr, err := strconv.ParseFloat(args[0], 64)
			if err != nil {
				return Seq{}, bad(i, "dropout(p): %q is not a number", args[0])
			}
			s.Layers = append(s.Layers, SeqLayer{Kind: Dropout, P: pr})
		default:
			a, err := parseAct(body)
			if err != nil {
				return Seq{}, bad(i, "not a layer (a width, conv, maxpool, avgpool, bn, dropout, flatten or an activation)")
			}
			s.Layers = append(s.Layers, SeqLayer{Kind: Act, Act: a, Alpha: alphaOf(a, args)})
			if len(args) > 1 {
				return Seq{}, bad(i, "an activation takes at most its alpha")
			}
		}
	}
	return s, s.Validate()
}

// parseAct reads an activation, possibly with its alpha: leakyrelu(0.1).
func parseAct(s string) (kernels.Activation, error) {
	name, _, _ := strings.Cut(s, "(")
	return kernels.ParseActivation(strings.TrimSpace(name))
}

func alphaOf(a kernels.Activation, args []string) float64 {
	if len(args) == 1 {
		if v, err := strconv.ParseFloat(args[0], 64); err == nil {
			return v
		}
	}
	return a.DefaultAlpha()
}

// splitCall splits "name(a,b)" into name and its arguments (nil without parentheses).
func splitCall(s string) (string, []string, error) {
	open := strings.Index(s, "(")
	if open < 0 {
		return strings.ToLower(strings.TrimSpace(s)), nil, nil
	}
	if !strings.HasSuffix(s, ")") {
		return "", nil, fmt.Errorf("unclosed parenthesis")
	}
	inner := s[open+1 : len(s)-1]
	var args []string
	for _, a := range strings.Split(inner, ",") {
		args = append(args, strings.TrimSpace(a))
	}
	return strings.ToLower(strings.TrimSpace(s[:open])), args, nil
}

// parseArgs reads npos positive integers, then key=value integers among keys.
func parseArgs(args []string, npos int, keys ...string) ([]int, map[string]int, error) {
	var pos []int
	kv := map[string]int{}
	for _, a := range args {
		k, v, isKV := strings.Cut(a, "=")
		if !isKV {
			if len(kv) > 0 {
				return nil, nil, fmt.Errorf("positional %q after key=value arguments", a)
			}
			n, err := strconv.Atoi(a)
			if err != nil || n <= 0 {
				return nil, nil, fmt.Errorf("%q is not a positive integer", a)
			}
			pos = append(pos, n)
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if !slices.Contains(keys, k) {
			return nil, nil, fmt.Errorf("unknown option %q (want %s)", k, strings.Join(keys, ", "))
		}
		if _, dup := kv[k]; dup {
			return nil, nil, fmt.Errorf("option %q given twice", k)
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return nil, nil, fmt.Errorf("%s=%q is not a non-negative integer", k, v)
		}
		kv[k] = n
	}
	if len(pos) != npos {
		return nil, nil, fmt.Errorf("%d positional arguments, want %d", len(pos), npos)
	}
	return pos, kv, nil
}

func getOr(kv map[string]int, k string, def int) int {
	if v, ok := kv[k]; ok {
		return v
	}
	return def
}
