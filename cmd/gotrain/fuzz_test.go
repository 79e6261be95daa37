package main

import (
	"testing"
)

// FuzzConfig feeds arbitrary bytes to the config-file parser: it may refuse them, never panic,
// and anything it accepts must leave every option valid for its flag type.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(`{"model": "784-32-10", "lr": 0.01, "optimizer": "sgd", "momentum": 0.9, "nesterov": true}`))
	f.Add([]byte(`{"epochs": 1e309}`))
	f.Add([]byte(`{"lr": "fast"}`))
	f.Add([]byte(`{"schedule": "cosine:tmax=10", "clip-norm": -1}`))
	f.Add([]byte(`[1, 2]`))
	f.Add([]byte(`{"seed": -1}`))
	f.Add([]byte(`{"lr": 0.1, "lr": 0.2}`))
	f.Add([]byte("\xef\xbb\xbf{\"epochs\": 2} trailing"))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, o, _ := newTrainCommand()
		if err := c.fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		entries, err := parseConfig(raw, false)
		if err != nil {
			return
		}
		if err := c.apply(entries, "fuzz.json", false); err != nil {
			return
		}
		// Accepted: validation may still refuse the values, but must not panic either.
		_, _ = o.validate(10)
	})
}
