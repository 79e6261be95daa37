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

// copyPanels32 does nothing without assembly: packB's Go loop packs everything.
func copyPanels32[T scalar](dst, src []T, ld, kb, panels int) bool { return false }

// copyPanels14 does nothing without assembly: packA's Go loop packs everything.
func copyPanels14[T scalar](dst, src []T, ld, kb, panels int) bool { return false }

// copyPanels16 does nothing without assembly: packB's Go loop packs everything.
func copyPanels16[T scalar](dst, src []T, ld, kb, panels int) bool { return false }

// copyPanels6 does nothing without assembly: packA's Go loop packs everything.
func copyPanels6[T scalar](dst, src []T, ld, kb, panels int) bool { return false }
