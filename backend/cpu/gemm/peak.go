package gemm

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/gotrain/gotrain/backend/cpu/cpufeat"
)

// PeakGFLOPS measures this machine's peak float32 multiply-add rate at level l on workers
// goroutines at once (a register-only loop of independent FMAs, or of multiplies and adds for
// Generic, which has no fused instruction in Go), for about d, and returns GFLOP/s (an FMA
// counts two) of wall time. It is the limit beside the GEMM's figures: benchmarks report their
// rate as a fraction of it, measured in the same process, because a VM's clock, turbo and core
// sharing make any number from a spec sheet wrong by tens of percent. A level the CPU lacks is
// an error.
func PeakGFLOPS(l cpufeat.Level, workers int, d time.Duration) (float64, error) {
	wall, _, err := peak(l, workers, d)
	return wall, err
}

// PeakGFLOPSPerCPUSecond is PeakGFLOPS per second of CPU time of one thread: the loop runs on a
// locked OS thread, whose CPU time excludes the time other processes held the core. On a
// shared machine it is the steadier figure to compare one-worker products with.
func PeakGFLOPSPerCPUSecond(l cpufeat.Level, d time.Duration) (float64, error) {
	_, cpu, err := peak(l, 1, d)
	return cpu, err
}

func peak(l cpufeat.Level, workers int, d time.Duration) (wall, cpu float64, err error) {
	if l > cpufeat.Detected() {
		return 0, 0, fmt.Errorf("gemm: PeakGFLOPS: level %v is not supported by this CPU (it has %v)", l, cpufeat.Detected())
	}
	loop, flopsPerIter := peakLoop(l)
	workers = max(workers, 1)
	// Calibrate one worker's iterations for d/5, then time all workers together (best of 3).
	n := 1 << 12
	for {
		st := time.Now()
		loop(n)
		if e := time.Since(st); e > d/50 {
			n = int(float64(n) * float64(d/5) / float64(e))
			break
		}
		n *= 4
	}
	for range 3 {
		var wg sync.WaitGroup
		st := time.Now()
		cpus := make([]time.Duration, workers)
		for w := range workers {
			wg.Go(func() {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				c0 := threadCPU()
				loop(n)
				cpus[w] = threadCPU() - c0
			})
		}
		wg.Wait()
		wall = max(wall, float64(workers)*float64(n)*flopsPerIter/time.Since(st).Seconds()/1e9)
		if cpus[0] > 0 {
			cpu = max(cpu, float64(n)*flopsPerIter/cpus[0].Seconds()/1e9)
		}
	}
	return wall, cpu, nil
}

// peakLoopGo (called with m = 1, c = 0, which it cannot see) runs n rounds of 12 independent
// float32 multiply-adds; Go at GOAMD64=v1 compiles each to a MULSS and an ADDSS (and at v3 to
// one VFMADD), the scalar code the generic kernels are made of. Twelve chains cover the latency
// of a multiply followed by an add on two pipes each.
//
//go:noinline
func peakLoopGo(n int, m, c float32) float32 {
	a0, a1, a2, a3, a4, a5, a6, a7 := m, m, m, m, m, m, m, m
	a8, a9, a10, a11 := m, m, m, m
	for range n {
		a8 = a8*m + c
		a9 = a9*m + c
		a10 = a10*m + c
		a11 = a11*m + c
		a0 = a0*m + c
		a1 = a1*m + c
		a2 = a2*m + c
		a3 = a3*m + c
		a4 = a4*m + c
		a5 = a5*m + c
		a6 = a6*m + c
		a7 = a7*m + c
	}
	return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11
}
