package main

import (
	"fmt"
	"strings"

	"github.com/gotrain/gotrain/cmd/gotrain/internal/plot"
)

// chartFormat is the -chart-format option of the commands that write charts.
type chartFormat struct{ name string }

// register adds -chart-format to c.
func (f *chartFormat) register(c *command) {
	c.str(&f.name, "chart-format", "png", "file format of the charts: png, svg or pdf")
}

// check refuses an unknown format; a command calls it before doing any work.
func (f *chartFormat) check() error {
	if _, err := plot.ParseFormat(f.name); err != nil {
		return fmt.Errorf("-chart-format %q: want png, svg or pdf", f.name)
	}
	return nil
}

// file is name ("chart.png") with the chosen format's extension ("chart.svg").
func (f *chartFormat) file(name string) string {
	g, err := plot.ParseFormat(f.name)
	if err != nil {
		g = plot.PNG // unreachable after check
	}
	return chartName(name, g)
}

// chartName is name with the extension of format g.
func chartName(name string, g plot.Format) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[:i]
	}
	return name + g.Ext()
}

// chartFiles lists each chart file name in every format, for the files a command may replace.
func chartFiles(names ...string) []string {
	var out []string
	for _, n := range names {
		for _, g := range plot.Formats() {
			out = append(out, chartName(n, g))
		}
	}
	return out
}
