package plot

import (
	"io"
	"testing"
)

func BenchmarkRenderLoss(b *testing.B) {
	c := lossChart()
	for b.Loop() {
		if _, err := c.Render(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWritePNGLoss(b *testing.B) {
	c := lossChart()
	for b.Loop() {
		if err := c.WritePNG(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
