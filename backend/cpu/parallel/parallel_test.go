package parallel

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
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
	for _, workers := range []int{1, 2, 3, 8} {
		p := New(workers)
		for _, n := range []int{0, 1, 2, 7, 100, 1001} {
			for _, grain := range []int{0, 1, 3, 64, 5000} {
				t.Run(fmt.Sprintf("%d workers, n %d, grain %d", workers, n, grain), func(t *testing.T) {
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
