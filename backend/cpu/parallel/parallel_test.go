package parallel

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// marks records which indices a Run visited, and how often.
type marks struct {
	mu   sync.Mutex
	seen []int
}

func (m *marks) Range(lo, hi int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := lo; i < hi; i++ {
		m.seen[i]++
	}
}

func TestRunCoversEveryIndexOnce(t *testing.T) {
	for _, c := range []struct {
		workers int
		spin    time.Duration
	}{{1, DefaultSpin}, {2, DefaultSpin}, {3, DefaultSpin}, {8, DefaultSpin}, {2, 0}, {3, 0}, {3, time.Microsecond}} {
		workers := c.workers
		p := NewSpin(workers, c.spin)
		for _, n := range []int{0, 1, 2, 7, 100, 1001} {
			for _, grain := range []int{0, 1, 3, 64, 5000} {
				t.Run(fmt.Sprintf("%d workers, spin %v, n %d, grain %d", workers, c.spin, n, grain), func(t *testing.T) {
					m := &marks{seen: make([]int, n)}
					p.Run(m, n, grain)
					for i, c := range m.seen {
						if c != 1 {
							t.Fatalf("index %d visited %d times", i, c)
						}
					}
				})
			}
		}
		p.Close()
	}
}

type nop struct{}

func (nop) Range(lo, hi int) {}

func TestRunAllocatesNothing(t *testing.T) {
	p := New(2)
	defer p.Close()
	var task nop
	assert.Zero(t, testing.AllocsPerRun(100, func() { p.Run(task, 1<<20, 1) }))
}

// spinTask spends d on each chunk but the caller's (lo = 0), which takes first, recording when
// the chunks after the first began.
type spinTask struct {
	d, first time.Duration
	start    time.Time
	joined   atomic.Int64 // ns after start that the last chunk with lo > 0 began
	ran      atomic.Int32
}

func (s *spinTask) Range(lo, hi int) {
	d := s.first
	if lo > 0 {
		s.joined.Store(int64(time.Since(s.start)))
		d = s.d
	}
	for t := time.Now(); time.Since(t) < d; {
	}
	s.ran.Add(int32(hi - lo))
}

// TestRunWaitsForEveryChunk: Run returns only after every chunk has finished, whether the
// workers and the caller find each other while polling, after a pause longer than the spin (so
// that the workers have blocked), or with no spin at all; and where the workers' chunks outlast
// the caller's spin, so that it blocks and must be woken. A pool with more workers than
// GOMAXPROCS still finishes (the poll yields its P).
func TestRunWaitsForEveryChunk(t *testing.T) {
	for _, spin := range []time.Duration{0, 50 * time.Microsecond, DefaultSpin} {
		p := NewSpin(3, spin)
		for _, pause := range []time.Duration{0, 2 * spin} {
			for _, d := range []time.Duration{30 * time.Microsecond, 2*spin + 100*time.Microsecond} {
				for range 10 {
					time.Sleep(pause)
					s := &spinTask{d: d}
					p.Run(s, 3, 1)
					require.Equal(t, int32(3), s.ran.Load(), "spin %v, pause %v, chunks of %v: Run returned before its chunks finished", spin, pause, d)
				}
			}
		}
		p.Close()
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p := New(4)
	defer p.Close()
	for range 50 {
		s := &spinTask{d: 10 * time.Microsecond, first: 10 * time.Microsecond}
		p.Run(s, 4, 1)
		require.Equal(t, int32(4), s.ran.Load())
	}
}

// BenchmarkRunJoin: two chunks of 20 µs on two workers, with 30 µs of the caller's own serial
// work between two Runs (as a training step has between its products), the second worker
// polling (the default) and blocking (spin 0). joined-us is how long after the call the
// worker's chunk began; a Run takes about 20 µs when it starts at once.
func BenchmarkRunJoin(b *testing.B) {
	for _, c := range []struct {
		name string
		spin time.Duration
	}{{"poll", DefaultSpin}, {"block", 0}} {
		b.Run(c.name, func(b *testing.B) {
			if runtime.GOMAXPROCS(0) < 2 {
				b.Skip("needs GOMAXPROCS >= 2")
			}
			p := NewSpin(2, c.spin)
			defer p.Close()
			s := &spinTask{d: 20 * time.Microsecond, first: 20 * time.Microsecond}
			var joined time.Duration
			for b.Loop() {
				for t := time.Now(); time.Since(t) < 30*time.Microsecond; {
				}
				s.start = time.Now()
				p.Run(s, 2, 1)
				joined += time.Duration(s.joined.Load())
			}
			b.ReportMetric(float64(joined.Microseconds())/float64(b.N), "joined-us")
		})
	}
}
