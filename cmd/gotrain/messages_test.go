package main

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestEveryFailurePrintsOneMessage is class 7 of issue 12: every failure prints exactly one
// line naming the input, the value and what was expected; a command line that cannot be
// understood exits 2 (and prints nothing on stdout), any other failure exits 1.
func TestEveryFailurePrintsOneMessage(t *testing.T) {
	fx := runs(t)
	cfg := func(body string) string { return writeFile(t, "c.json", body) }
	twoRows := writeFile(t, "two-rows.csv", "a,b,label\n1,2,x\n3,4,y\n")
	cases := []cliCase{
		{name: "an unknown flag last on the line", args: []string{"train", "-bogus"}, code: 2, want: []string{"gotrain train: unknown flag -bogus: train has no such option"}},
		{name: "an unknown flag after others", args: []string{"train", "-lr", "0.1", "-bogus"}, code: 2, want: []string{"unknown flag -bogus"}},
		{name: "a stray argument", args: []string{"train", "foo"}, code: 2, want: []string{`unexpected argument "foo"`}},
		{name: "a stray argument between options", args: []string{"train", "-lr", "0.1", "foo", "-epochs", "2"}, code: 2, want: []string{`unexpected argument "foo"`}},
		{name: "eval without -checkpoint", args: []string{"eval"}, code: 2, want: []string{"-checkpoint is required"}},
		{name: "eval with an empty -checkpoint", args: []string{"eval", "-checkpoint", ""}, code: 2, want: []string{"-checkpoint is required"}},
		{name: "an integer that overflows", args: []string{"train", "-batch", "99999999999999999999"}, code: 2, want: []string{"-batch 99999999999999999999 is out of range"}},
		{name: "a negative integer that overflows", args: []string{"train", "-epochs", "-99999999999999999999"}, code: 2, want: []string{"is out of range"}},
		{name: "a seed that overflows", args: []string{"train", "-seed", "99999999999999999999999"}, code: 2, want: []string{"-seed 99999999999999999999999 is out of range"}},
		{name: "a negative seed", args: []string{"train", "-seed", "-1"}, code: 2, want: []string{"-seed -1 is negative"}},
		{name: "a fractional integer", args: []string{"train", "-epochs", "2.5"}, code: 2, want: []string{"-epochs 2.5 is not an integer"}},
		{name: "a word for a number", args: []string{"train", "-lr", "fast"}, code: 2, want: []string{"-lr fast is not a number"}},
		{name: "a word for a boolean", args: []string{"train", "-chart=maybe"}, code: 2, want: []string{"-chart maybe is not true or false"}},
		{name: "an option given twice", args: []string{"train", "-lr", "0.1", "-lr", "0.2"}, code: 2, want: []string{"-lr 0.2 given twice (first 0.1)"}},
		{name: "a boolean given twice", args: []string{"train", "-chart", "-chart=false"}, code: 2, want: []string{"-chart false given twice"}},
		{name: "an option without its value", args: []string{"train", "-model"}, code: 2, want: []string{"-model needs a value"}},
		{name: "three dashes", args: []string{"train", "---lr", "0.1"}, code: 2, want: []string{"bad flag syntax: ---lr"}},
		{name: "an unknown command", args: []string{"trian"}, code: 2, want: []string{`gotrain: unknown command "trian"`}},
		{name: "version with an argument", args: []string{"version", "now"}, code: 2, want: []string{`unexpected argument "now"`}},
		{name: "a config integer that overflows", args: quick(t, "-config", cfg(`{"batch": 1e30}`)), code: 2, want: []string{`option "batch": 1e30 is out of range`}},
		{name: "a config string for an integer", args: quick(t, "-config", cfg(`{"epochs": "many"}`)), code: 2, want: []string{`option "epochs": "many" is a string; want an integer`}},
		{name: "a config boolean for a number", args: quick(t, "-config", cfg(`{"lr": true}`)), code: 2, want: []string{`option "lr": true is a boolean; want a number`}},
		{name: "a config number for a string", args: quick(t, "-config", cfg(`{"schedule": 3}`)), code: 2, want: []string{`option "schedule": 3 is a number; want a string`}},
		{name: "a config string for a boolean", args: quick(t, "-config", cfg(`{"chart": "yes"}`)), code: 2, want: []string{`option "chart": "yes" is a string; want true or false`}},
		{name: "a config fraction for an integer", args: quick(t, "-config", cfg(`{"epochs": 2.5}`)), code: 2, want: []string{`option "epochs": 2.5 is not an integer`}},
		{name: "a config number that overflows float64", args: quick(t, "-config", cfg(`{"lr": 1e999}`)), code: 2, want: []string{`option "lr": 1e999 is out of range`}},
		{name: "a config key given on the command line too is fine, a wrong one is not", args: quick(t, "-config", cfg(`{"lr": 0.01, "epochz": 1}`)), code: 2,
			want: []string{`unknown option "epochz"`, "did you mean -epochs?"}},
		{name: "a config with a UTF-8 BOM", args: quick(t, "-config", cfg("\xef\xbb\xbf{\"epochs\": 1, \"model\": \"784-8-10\"}")), code: 0},
		{name: "a config with a BOM and a bad key", args: quick(t, "-config", cfg("\xef\xbb\xbf{\"momentun\": 1}")), code: 2, want: []string{`unknown option "momentun"`}},
		{name: "an empty config", args: quick(t, "-config", cfg("")), code: 1, want: []string{"the file is empty; want a JSON object"}},
		{name: "a config that is not JSON", args: quick(t, "-config", cfg(`{"lr" 0.1}`)), code: 1, want: []string{"invalid JSON at byte offset 6"}},
		{name: "a config that is not closed", args: quick(t, "-config", cfg(`{"lr": 0.1`)), code: 1, want: []string{"the object is not closed"}},
		{name: "a config that is not there", args: quick(t, "-config", "/nonexistent/c.json"), code: 1, want: []string{"-config /nonexistent/c.json: no such file"}},
		{name: "zero epochs", args: quick(t, "-epochs", "0"), code: 1, want: []string{"-epochs 0: want at least 1"}},
		{name: "a validation fraction of 1", args: quick(t, "-val-split", "1"), code: 1, want: []string{"-val-split 1: want a fraction in [0, 1)"}},
		{name: "an empty validation split is called that", args: quick(t, "-csv", twoRows, "-model", "2-2", "-val-split", "0.5"), code: 1,
			want: []string{"a validation split needs at least 3"}},
		{name: "a data directory that is not there", args: quick(t, "-data", "/nonexistent/mnist"), code: 1, want: []string{"-data /nonexistent/mnist: no such directory"}},
		{name: "a CSV file that is not there", args: quick(t, "-csv", "/nonexistent/x.csv", "-model", "2-2"), code: 1, want: []string{"-csv /nonexistent/x.csv: no such file"}},
		{name: "an unknown device", args: quick(t, "-device", "tpu"), code: 1, want: []string{`-device "tpu": want cpu or cuda`}},
		{name: "an unknown optimizer", args: quick(t, "-optimizer", "adamx"), code: 1, want: []string{`unknown optimizer "adamx"`}},
		{name: "an unknown progress mode", args: quick(t, "-progress", "fancy"), code: 1, want: []string{`-progress "fancy": want auto, bar, lines or none`}},
		{name: "a negative checkpoint interval", args: quick(t, "-checkpoint-every", "-1"), code: 1, want: []string{"-checkpoint-every -1: want >= 0"}},
		{name: "an unknown eval split", args: []string{"eval", "-checkpoint", fx.mnist, "-split", "val"}, code: 1, want: []string{`-split "val": want test or train`}},
		{name: "an eval batch of 0", args: []string{"eval", "-checkpoint", fx.mnist, "-batch", "0"}, code: 1, want: []string{"-batch 0: want at least 1"}},
		{name: "an eval checkpoint that is not there", args: []string{"eval", "-checkpoint", "/nonexistent/c.ckpt"}, code: 1, want: []string{"-checkpoint /nonexistent/c.ckpt: no such file"}},
		{name: "a run that fails part way", args: quick(t, "-optimizer", "sgd", "-lr", "1e20", "-run-dir", t.TempDir()), code: 1,
			want: []string{"epoch 1 step 2:", "non-finite", "the update was not applied", "metrics so far are in"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errS := c.check(t)
			if c.code == exitUsage {
				assert.Empty(t, out, "a usage error prints nothing on stdout")
			}
			if strings.Contains(c.name, "unknown flag") {
				assert.Equal(t, 1, strings.Count(errS, "-bogus"), "the message is printed once: %q", errS)
			}
		})
	}
	t.Run("help for a command", func(t *testing.T) {
		code, out, _ := runCLI(t, context.Background(), "help", "train")
		assert.Equal(t, 0, code)
		assert.Empty(t, out)
	})
}

// TestNumbersParseOneWay checks the one parser every numeric option uses.
func TestNumbersParseOneWay(t *testing.T) {
	cases := []struct {
		kind kind
		in   string
		want string // the stored value, or the error
	}{
		{kindInt, "42", "42"}, {kindInt, " 7 ", "7"}, {kindInt, "1e3", "1000"}, {kindInt, "-0", "0"},
		{kindInt, "2.5", "is not an integer"}, {kindInt, "Inf", "is not an integer"}, {kindInt, "NaN", "is not an integer"},
		{kindInt, "0x10", "is not an integer"}, {kindInt, "", "is not an integer"},
		{kindInt, "99999999999999999999", "is out of range"}, {kindInt, "-99999999999999999999", "is out of range"},
		{kindInt, "1e19", "is out of range"}, {kindInt, "1e999", "is out of range"},
		{kindUint, "18446744073709551615", "18446744073709551615"}, {kindUint, "18446744073709551616", "is out of range"},
		{kindUint, "-1", "is negative"}, {kindUint, "-1.5", "is not an integer"}, {kindUint, "2e19", "is out of range"},
		{kindFloat, "1e-3", "0.001"}, {kindFloat, "NaN", "is not a finite number"}, {kindFloat, "-Inf", "is not a finite number"},
		{kindFloat, "1e400", "is out of range"}, {kindFloat, "fast", "is not a number"},
		{kindBool, "true", "true"}, {kindBool, "0", "false"}, {kindBool, "yes", "is not true or false"},
	}
	for _, c := range cases {
		t.Run(c.kind.want()+" from "+strconv.Quote(c.in), func(t *testing.T) {
			v := (&optValue{kind: c.kind, ptr: map[kind]any{kindInt: new(int), kindUint: new(uint64), kindFloat: new(float64), kindBool: new(bool)}[c.kind]}).scratch()
			if err := v.Set(c.in); err != nil {
				assert.Contains(t, err.Error(), c.want)
				return
			}
			assert.Equal(t, c.want, v.String())
			assert.Contains(t, v.Set(c.in).Error(), "given twice", "a second Set is refused")
		})
	}
}
