// Package kernels holds the numerical kernels of gotrain: activations, row softmax, fused losses,
// optimizer updates, 2-D convolution (im2col and col2im), pooling, dropout's counter-based random
// mask, batch normalisation and per-channel bias. Each family has a pure-Go twin that is always
// compiled (the CPU backend runs it, and the CUDA kernels of the .cu files here are tested
// against it). This package is numerics only: it imports no Gorgonia; the graph ops that wrap
// the twins live in package models/nn.
//
// Twins are serial functions over slices; the CPU backend splits large work over cores by calling
// them on sub-slices (rows for the row-wise kernels), so every twin must be correct on any
// contiguous sub-range of its elements or rows.
package kernels

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every argument error of this package.
var ErrInvalid = errors.New("invalid argument")

// Float is the element type the twins are written for.
type Float interface{ ~float32 | ~float64 }

// Activation names an elementwise activation function.
type Activation uint8

// The activations. Alpha is the negative slope for LeakyReLU and the scale for ELU; the others
// ignore it.
const (
	Identity Activation = iota
	Sigmoid
	Tanh
	ReLU
	LeakyReLU
	ELU
	GELU     // exact form, x·Φ(x) with the error function
	GELUTanh // the tanh approximation used by GPT-2 and BERT
	SiLU     // x·sigmoid(x), also called swish
	Softplus // log(1+exp(x))
	numActivations
)

var activationNames = [...]string{
	Identity: "identity", Sigmoid: "sigmoid", Tanh: "tanh", ReLU: "relu", LeakyReLU: "leakyrelu",
	ELU: "elu", GELU: "gelu", GELUTanh: "gelu-tanh", SiLU: "silu", Softplus: "softplus",
}

// DefaultAlpha is the alpha an activation gets when the user gives none (PyTorch's defaults).
func (a Activation) DefaultAlpha() float64 {
	switch a {
	case LeakyReLU:
		return 0.01
	case ELU:
		return 1
	}
	return 0
}

// String returns the name ParseActivation accepts.
func (a Activation) String() string {
	if a < numActivations {
		return activationNames[a]
	}
	return fmt.Sprintf("Activation(%d)", uint8(a))
}

// Valid reports whether a is one of the defined activations.
func (a Activation) Valid() bool { return a < numActivations }

// Activations lists every activation, in declaration order.
func Activations() []Activation {
	out := make([]Activation, numActivations)
	for i := range out {
		out[i] = Activation(i)
	}
	return out
}

// ParseActivation maps a name (case-insensitive; "swish" and "lrelu" are accepted aliases) to an
// Activation.
func ParseActivation(name string) (Activation, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "swish":
		return SiLU, nil
	case "lrelu", "leaky_relu", "leaky-relu":
		return LeakyReLU, nil
	case "gelu_tanh", "gelutanh":
		return GELUTanh, nil
	case "linear", "none":
		return Identity, nil
	}
	for i, s := range activationNames {
		if s == n {
			return Activation(i), nil
		}
	}
	return 0, fmt.Errorf("kernels: unknown activation %q (want one of %s): %w", name,
		strings.Join(activationNames[:], ", "), ErrInvalid)
}

// Loss names a fused loss. All losses reduce by the mean, as PyTorch does by default.
type Loss uint8

// The fused losses.
const (
	// SoftmaxCrossEntropy takes logits x [rows, cols] and a target distribution y of the same
	// shape (one-hot for class labels) and returns mean over rows of -Σ y·log_softmax(x).
	SoftmaxCrossEntropy Loss = iota
	// BCEWithLogits takes logits and targets in [0,1] of the same shape and returns the mean over
	// all elements of max(x,0) - x·y + log(1+exp(-|x|)).
	BCEWithLogits
	// MSE returns the mean over all elements of (x-y)².
	MSE
	numLosses
)

var lossNames = [...]string{SoftmaxCrossEntropy: "softmax-ce", BCEWithLogits: "bce-logits", MSE: "mse"}

// String returns the name ParseLoss accepts.
func (l Loss) String() string {
	if l < numLosses {
		return lossNames[l]
	}
	return fmt.Sprintf("Loss(%d)", uint8(l))
}

// Valid reports whether l is one of the defined losses.
func (l Loss) Valid() bool { return l < numLosses }

// Losses lists every loss, in declaration order.
func Losses() []Loss { return []Loss{SoftmaxCrossEntropy, BCEWithLogits, MSE} }

// ParseLoss maps a name to a Loss ("ce" and "cross-entropy" mean softmax cross-entropy).
func ParseLoss(name string) (Loss, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "ce", "cross-entropy", "crossentropy", "softmax-cross-entropy":
		return SoftmaxCrossEntropy, nil
	case "bce", "bcewithlogits":
		return BCEWithLogits, nil
	}
	for i, s := range lossNames {
		if s == n {
			return Loss(i), nil
		}
	}
	return 0, fmt.Errorf("kernels: unknown loss %q (want one of %s): %w", name,
		strings.Join(lossNames[:], ", "), ErrInvalid)
}
