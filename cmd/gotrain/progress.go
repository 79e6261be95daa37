package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gotrain/gotrain/backend/train"
)

// progress shows training progress: a live bar on a terminal, one line per epoch otherwise.
type progress struct {
	w          io.Writer
	live       bool
	epochs     int
	steps      int // per epoch
	batch      int
	start      time.Time
	last       time.Time
	seen       int
	inEpoch    int
	loss, acc  float64
	lr         float64
	quiet      bool
	curEpoch   int
	mu         sync.Mutex
	lineLength int
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progress) step(m train.StepMetrics) {
	if p.quiet || !p.live {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inEpoch == 0 || m.Epoch != p.epochOf() {
		p.start, p.seen, p.inEpoch = time.Now(), 0, 0
	}
	p.inEpoch++
	p.seen += m.Batch
	const smooth = 0.9
	acc := float64(m.Correct) / float64(max(m.Batch, 1))
	switch {
	case m.Skipped: // its loss is NaN: keep the smoothed values of the applied steps
	case p.inEpoch == 1 || math.IsNaN(p.loss):
		p.loss, p.acc = m.Loss, acc
	default:
		p.loss, p.acc = smooth*p.loss+(1-smooth)*m.Loss, smooth*p.acc+(1-smooth)*acc
	}
	p.lr = m.LR
	p.curEpoch = m.Epoch
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && p.inEpoch < p.steps {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	rate := float64(p.seen) / math.Max(el, 1e-9)
	eta := time.Duration(float64(p.steps-p.inEpoch) * el / float64(p.inEpoch) * float64(time.Second)).Round(time.Second)
	const width = 24
	fill := min(width, width*p.inEpoch/max(p.steps, 1))
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	line := fmt.Sprintf("epoch %d/%d [%s] %d/%d  %.0f samples/s  loss %.4f  acc %.1f%%  lr %.3g  ETA %v",
		m.Epoch, p.epochs, bar, p.inEpoch, p.steps, rate, p.loss, 100*p.acc, p.lr, eta)
	pad := max(0, p.lineLength-len(line))
	p.lineLength = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
}

func (p *progress) epochOf() int { return p.curEpoch }

func (p *progress) epoch(m train.EpochMetrics, evalName string) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.lineLength)+"\r")
		p.lineLength = 0
	}
	p.inEpoch = 0
	eval := ""
	if evalName != "" {
		eval = fmt.Sprintf("  %s loss %.4f acc %.2f%%", evalName, m.TestLoss, 100*m.TestAcc)
	}
	trainPart := fmt.Sprintf("train loss %.4f acc %.2f%%", m.TrainLoss, 100*m.TrainAcc)
	if math.IsNaN(m.TrainLoss) {
		trainPart = "train loss - (every step of the epoch was skipped: no update applied)"
	}
	fmt.Fprintf(p.w, "epoch %d/%d  %s%s  lr %.3g  %.1fs  %.0f samples/s\n",
		m.Epoch, p.epochs, trainPart, eval, m.LastLR, m.Duration.Seconds(), m.SamplesPerSec)
}

// stepHook, when set (by tests), runs after every training step of train.
var stepHook func()

// stopper turns a context into train.Config.ShouldStop.
func stopper(ctx context.Context) func() bool {
	return func() bool { return ctx.Err() != nil }
}
