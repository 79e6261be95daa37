//go:build !amd64 || purego

package gemm

import "github.com/gotrain/gotrain/backend/cpu/cpufeat"

// Without assembly kernels every product uses the pure-Go micro-kernels.
func asmKernels(cpufeat.Level) *kernelSet { return nil }

// peakLoop returns the pure-Go multiply-add loop, the only one without assembly.
func peakLoop(cpufeat.Level) (func(int), float64) {
	return func(n int) { peakLoopGo(n, 1, 0) }, 12 * 2
}

// transpose8 does nothing without assembly: packB's Go loop packs everything.
func transpose8[T scalar](dst, src []T, ld, kb, stride int) int { return 0 }

// transpose16 does nothing without assembly: packA's and packB's Go loops pack everything.
func transpose16[T scalar](dst, src []T, ld, kb, stride, rows int) int { return 0 }

// copyPanels32 does nothing without assembly: packB's Go loop packs everything.
func copyPanels32[T scalar](dst, src []T, ld, kb, panels int) bool { return false }

// copyPanels14 does nothing without assembly: packA's Go loop packs everything.
func copyPanels14[T scalar](dst, src []T, ld, kb, panels int) bool { return false }

// copyPanelsAVX2 does nothing without assembly: the Go loops of packA and packB pack everything.
func copyPanelsAVX2[T scalar](dst, src []T, ld, kb, panels, cols int) bool { return false }

// copyRows32 does nothing without assembly: packColPanel32's Go loop packs everything.
func copyRows32(dst, src []float32, ld, kb int) bool { return false }

// packRows6Asm does nothing without assembly: packRows6 packs everything.
func packRows6Asm[T scalar](dst, src []T, off, ld, kb int) int { return 0 }

// packRagged does nothing without assembly: packB's Go loop packs the ragged panel.
func packRagged[T scalar](dst, src []T, ld, kb, cols, nr int) bool { return false }
