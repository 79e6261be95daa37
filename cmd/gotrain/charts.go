package main

import (
	"flag"
	"strings"

	"github.com/gotrain/gotrain/cmd/gotrain/internal/plot"
)

// chartFormatFlag registers -chart-format, the file format of a command's charts, on fs.
func chartFormatFlag(fs *flag.FlagSet) *plot.Format {
	f := plot.PNG
	fs.TextVar(&f, "chart-format", plot.PNG, "file format of the charts: png, svg or pdf")
	return &f
}

// chartName is name (e.g. "chart.png") with the extension of format f.
func chartName(name string, f plot.Format) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[:i]
	}
	return name + f.Ext()
}
