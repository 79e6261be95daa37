// Package parallel splits a range of work over a fixed set of worker goroutines without allocating
// per call, so that the CPU backend's training step stays at zero allocations.
//
// Work is described by a Task (an interface satisfied by a pointer to a long-lived struct), never
// by a closure: a closure handed to another goroutine escapes to the heap on every call.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Task runs the half-open range [lo, hi) of its work.
type Task interface {
	Range(lo, hi int)
}

type chunk struct {
	t      Task
	lo, hi int
}

// DefaultSpin is how long a worker waits for the next chunk, and the caller for the workers to
// finish, by polling before they block. Blocking costs a wake-up: a worker readied by the channel
// send waits in the sender's run queue until the thread of an idle P wakes up and steals it, or
// until the sender blocks and runs it itself. On a 2-vCPU KVM guest (a Zen 2 EPYC) the steal took
// 60-85 µs, longer than many of the training step's products (a 128×256×256 GEMM takes about
// 100 µs on one core), so the chunks mostly ran one after the other (BenchmarkRunJoin/block: the
// worker's chunk began 22 µs in, after the caller's own 20 µs). Polling answers in well under a
// microsecond; the cost is that an idle worker keeps a CPU busy for up to DefaultSpin after its
// last chunk. OpenMP runtimes and OpenBLAS do the same (GOMP_SPINCOUNT, OpenBLAS's thread
// timeout), for longer.
const DefaultSpin = 200 * time.Microsecond

// Pool runs tasks on its workers plus the calling goroutine. A Pool is driven by one goroutine
// at a time.
type Pool struct {
	workers int
	spin    time.Duration
	work    chan chunk
	pending atomic.Int32 // chunks handed to workers and not yet finished
	// The caller's wait after its spin: sleeping is set under mu before it re-checks pending
	// and waits on done; the worker that brings pending to zero signals if it sees sleeping.
	mu       sync.Mutex
	done     *sync.Cond
	sleeping atomic.Bool
	once     sync.Once
}

// New returns a pool that uses n goroutines in all (n <= 0 means GOMAXPROCS), polling for
// DefaultSpin before blocking.
func New(n int) *Pool { return NewSpin(n, DefaultSpin) }

// NewSpin is New with the time the workers and the caller poll before they block (0: block
// after a few polls, about as a plain channel and WaitGroup would).
func NewSpin(n int, spin time.Duration) *Pool {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &Pool{workers: n, spin: max(spin, 0), work: make(chan chunk, n)}
	p.done = sync.NewCond(&p.mu)
	for i := 1; i < n; i++ {
		go p.loop()
	}
	return p
}

func (p *Pool) loop() {
	for {
		c, ok := p.receive()
		if !ok {
			return
		}
		c.t.Range(c.lo, c.hi)
		if p.pending.Add(-1) == 0 && p.sleeping.Load() {
			p.mu.Lock()
			p.done.Signal()
			p.mu.Unlock()
		}
	}
}

// receive returns the next chunk, polling for up to p.spin before it blocks; false once the
// pool is closed.
func (p *Pool) receive() (chunk, bool) {
	var start time.Time
	for i := 0; ; i++ {
		select {
		case c, ok := <-p.work:
			return c, ok
		default:
		}
		if i%16 == 0 {
			if i == 0 {
				start = time.Now()
			} else if time.Since(start) >= p.spin {
				c, ok := <-p.work
				return c, ok
			}
		}
		runtime.Gosched() // the poll must not hold a P that runnable goroutines need
	}
}

// wait returns when every chunk handed out is finished: polling for up to p.spin, then blocked.
func (p *Pool) wait() {
	start := time.Now()
	for i := 1; p.pending.Load() != 0; i++ {
		if i%16 == 0 && time.Since(start) >= p.spin {
			p.mu.Lock()
			p.sleeping.Store(true)
			for p.pending.Load() != 0 {
				p.done.Wait()
			}
			p.sleeping.Store(false)
			p.mu.Unlock()
			return
		}
		runtime.Gosched()
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
	p.pending.Add(int32(parts - 1))
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
	p.wait()
}

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() { p.once.Do(func() { close(p.work) }) }
