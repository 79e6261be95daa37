// Package parallel splits a range of work over a fixed set of worker goroutines without allocating
// per call, so that the CPU backend's training step stays at zero allocations.
//
// Work is described by a Task (an interface satisfied by a pointer to a long-lived struct), never
// by a closure: a closure handed to another goroutine escapes to the heap on every call.
package parallel

import (
	"runtime"
	"sync"
)

// Task runs the half-open range [lo, hi) of its work.
type Task interface {
	Range(lo, hi int)
}

type chunk struct {
	t      Task
	lo, hi int
}

// Pool runs tasks on its workers plus the calling goroutine. A Pool is driven by one goroutine
// at a time.
type Pool struct {
	workers int
	work    chan chunk
	wg      sync.WaitGroup
	once    sync.Once
}

// New returns a pool that uses n goroutines in all (n <= 0 means GOMAXPROCS).
func New(n int) *Pool {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &Pool{workers: n, work: make(chan chunk, n)}
	for i := 1; i < n; i++ {
		go p.loop()
	}
	return p
}

func (p *Pool) loop() {
	for c := range p.work {
		c.t.Range(c.lo, c.hi)
		p.wg.Done()
	}
}

// Workers is the number of goroutines a call may use.
func (p *Pool) Workers() int { return p.workers }

// Run calls t.Range over [0, n) split into at most Workers() contiguous chunks of at least grain
// items each, and returns when all are done. Small n runs inline on the caller.
func (p *Pool) Run(t Task, n, grain int) {
	if grain < 1 {
		grain = 1
	}
	parts := n / grain
	if parts > p.workers {
		parts = p.workers
	}
	if parts <= 1 {
		if n > 0 {
			t.Range(0, n)
		}
		return
	}
	step := (n + parts - 1) / parts
	p.wg.Add(parts - 1)
	lo := step
	for i := 1; i < parts; i++ {
		hi := lo + step
		if hi > n {
			hi = n
		}
		p.work <- chunk{t, lo, hi}
		lo = hi
	}
	t.Range(0, step)
	p.wg.Wait()
}

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() { p.once.Do(func() { close(p.work) }) }
