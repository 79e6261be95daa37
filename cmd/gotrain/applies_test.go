package main

import (
	"testing"
)

// TestOptionsThatDoNotApplyOrAreMalformedAreRefused is class 5 of issue 12: an option that does
// not apply to what it was given with (another optimizer, schedule, data source, model or
// command) is an error naming the option and why, exit 2; and a value that is not what it must
// be is an error, never rounded or replaced.
func TestOptionsThatDoNotApplyOrAreMalformedAreRefused(t *testing.T) {
	fx := runs(t)
	momentumConfig := writeFile(t, "m.json", `{"optimizer": "adam", "momentum": 0.5}`)
	trailing := writeFile(t, "t.json", `{"lr": 0.01} {"lr": 0.1}`)
	trailingText := writeFile(t, "tt.json", "{\"lr\": 0.01}\nlr=0.1\n")
	dup := writeFile(t, "d.json", `{"lr": 0.01, "epochs": 2, "lr": 0.1}`)
	nested := writeFile(t, "n.json", `{"schedule": {"name": "cosine"}}`)
	array := writeFile(t, "a.json", `[{"lr": 0.01}]`)
	nullValue := writeFile(t, "null.json", `{"lr": null}`)
	resumeKey := writeFile(t, "r.json", `{"resume": "runs/x"}`)
	sweep := func(extra ...string) []string {
		return append([]string{"sweep", "-model", "784-16-10", "-epochs", "1", "-out", newRunDir(t)}, extra...)
	}
	lrFind := func(extra ...string) []string {
		return append([]string{"lr-find", "-model", "784-16-10", "-out", newRunDir(t)}, extra...)
	}
	cases := []cliCase{
		// An option of another optimizer.
		{name: "-momentum with adam", args: quick(t, "-optimizer", "adam", "-momentum", "0.5"), code: 2,
			want: []string{"-momentum does not apply to -optimizer adam: it is an option of momentum, nesterov, rmsprop, sgd"}},
		{name: "-beta1 with sgd", args: quick(t, "-optimizer", "sgd", "-beta1", "0.5"), code: 2, want: []string{"-beta1 does not apply to -optimizer sgd"}},
		{name: "-amsgrad with sgd", args: quick(t, "-optimizer", "sgd", "-amsgrad"), code: 2, want: []string{"-amsgrad does not apply to -optimizer sgd: it is an option of adam, adamw"}},
		{name: "-amsgrad=false with sgd", args: quick(t, "-optimizer", "sgd", "-amsgrad=false"), code: 2, want: []string{"-amsgrad does not apply"}},
		{name: "-nesterov with adam", args: quick(t, "-optimizer", "adam", "-nesterov"), code: 2, want: []string{"-nesterov does not apply to -optimizer adam"}},
		{name: "-alpha with adam", args: quick(t, "-alpha", "0.9"), code: 2, want: []string{"-alpha does not apply to -optimizer adam: it is an option of rmsprop"}},
		{name: "-centered with nadam", args: quick(t, "-optimizer", "nadam", "-centered"), code: 2, want: []string{"-centered does not apply to -optimizer nadam"}},
		{name: "-lr-decay with sgd", args: quick(t, "-optimizer", "sgd", "-lr-decay", "0.1"), code: 2, want: []string{"-lr-decay does not apply to -optimizer sgd: it is an option of adagrad"}},
		{name: "-initial-accumulator with rmsprop", args: quick(t, "-optimizer", "rmsprop", "-initial-accumulator", "0.1"), code: 2, want: []string{"-initial-accumulator does not apply"}},
		{name: "-momentum-decay with adam", args: quick(t, "-momentum-decay", "0.01"), code: 2, want: []string{"-momentum-decay does not apply to -optimizer adam: it is an option of nadam"}},
		{name: "-decoupled with adamw", args: quick(t, "-optimizer", "adamw", "-decoupled"), code: 2, want: []string{"-decoupled does not apply to -optimizer adamw"}},
		{name: "-eps with sgd", args: quick(t, "-optimizer", "sgd", "-eps", "1e-6"), code: 2, want: []string{"-eps does not apply to -optimizer sgd"}},
		{name: "-eps with lion", args: quick(t, "-optimizer", "lion", "-eps", "1e-6"), code: 2, want: []string{"-eps does not apply to -optimizer lion"}},
		{name: "-amsgrad with adamax", args: quick(t, "-optimizer", "adamax", "-amsgrad"), code: 2, want: []string{"-amsgrad does not apply to -optimizer adamax"}},
		{name: "-decoupled with radam without weight decay", args: quick(t, "-optimizer", "radam", "-decoupled"), code: 2, want: []string{"-decoupled does not apply", "weight decay is 0"}},
		{name: "-momentum with adam from a config file", args: quick(t, "-config", momentumConfig), code: 2,
			want: []string{"-momentum (set by -config " + momentumConfig + ") does not apply to -optimizer adam"}},
		// An option whose effect is nil with the other settings.
		{name: "-decoupled without weight decay", args: quick(t, "-optimizer", "nadam", "-decoupled"), code: 2, want: []string{"the weight decay is 0"}},
		{name: "-no-decay-bias without weight decay", args: quick(t, "-no-decay-bias"), code: 2, want: []string{"-no-decay-bias does not apply", "weight decay of -optimizer adam is 0"}},
		{name: "-dampening without momentum", args: quick(t, "-optimizer", "sgd", "-dampening", "0.5"), code: 2, want: []string{"-dampening does not apply", "the momentum is 0"}},
		{name: "-schedule-interval with a constant rate", args: quick(t, "-schedule-interval", "batch"), code: 2,
			want: []string{"-schedule-interval does not apply to -schedule constant"}},
		{name: "-schedule-interval with plateau", args: quick(t, "-schedule", "plateau", "-schedule-interval", "batch"), code: 2,
			want: []string{"-schedule-interval does not apply to -schedule plateau"}},
		{name: "-lr with onecycle", args: quick(t, "-schedule", "onecycle:max_lr=0.1", "-epochs", "10", "-lr", "0.5"), code: 2, want: []string{"-lr does not apply to -schedule onecycle", "max_lr"}},
		{name: "-activation with no hidden layer", args: quick(t, "-model", "784-10", "-activation", "tanh"), code: 2,
			want: []string{"-activation does not apply to -model 784-10: the model 784-10 has no hidden layer that takes it"}},
		{name: "-activation when every hidden layer names its own", args: quick(t, "-model", "784-16:tanh-10", "-activation", "relu"), code: 2,
			want: []string{"-activation does not apply"}},
		// An option of another data source or command.
		{name: "-label without -csv", args: quick(t, "-label", "3"), code: 2, want: []string{"-label does not apply to MNIST data: it names the label column of a CSV file"}},
		{name: "-eval-batch with nothing to evaluate", args: quick(t, "-csv", irisCSV, "-model", "4-3", "-eval-batch", "10"), code: 2,
			want: []string{"-eval-batch does not apply", "a CSV file without -val-split has no evaluation set"}},
		{name: "-data and -csv", args: quick(t, "-data", t.TempDir(), "-csv", irisCSV), code: 2, want: []string{"give one data source, not both"}},
		{name: "eval -label without -csv", args: []string{"eval", "-checkpoint", fx.mnist, "-label", "3"}, code: 2, want: []string{"-label does not apply to MNIST data"}},
		{name: "eval -split with -csv", args: []string{"eval", "-checkpoint", fx.iris, "-csv", irisCSV, "-split", "train"}, code: 2,
			want: []string{"-split does not apply to -csv: a CSV file is evaluated whole"}},
		{name: "eval -model", args: []string{"eval", "-checkpoint", fx.mnist, "-model", "784-10"}, code: 2,
			want: []string{"-model is not an option of eval (the model comes from the checkpoint); it is one of train, sweep, lr-find"}},
		{name: "eval -config", args: []string{"eval", "-config", momentumConfig}, code: 2, want: []string{"-config is not an option of eval"}},
		{name: "lr-find -epochs", args: lrFind("-epochs", "3"), code: 2, want: []string{"-epochs is not an option of lr-find (the range test runs -steps batches)"}},
		{name: "lr-find -lr", args: lrFind("-lr", "0.1"), code: 2, want: []string{"-lr is not an option of lr-find (the range test sets the rate, from -start to -end)"}},
		{name: "lr-find -schedule", args: lrFind("-schedule", "cosine"), code: 2, want: []string{"-schedule is not an option of lr-find"}},
		{name: "train -target", args: quick(t, "-target", "0.9"), code: 2, want: []string{"-target is not an option of train; it is one of sweep"}},
		{name: "train -steps", args: quick(t, "-steps", "10"), code: 2, want: []string{"-steps is not an option of train; it is one of lr-find"}},
		{name: "a misspelt option", args: quick(t, "-momentun", "0.9"), code: 2, want: []string{"unknown flag -momentun", "did you mean -momentum?"}},
		{name: "sweep -momentum when no run uses it", args: sweep("-optimizer", "adam,adamw", "-momentum", "0.9"), code: 2,
			want: []string{"-momentum does not apply to -optimizer adam"}},
		{name: "sweep -target with nothing to evaluate", args: []string{"sweep", "-csv", irisCSV, "-model", "4-3", "-target", "0.9", "-out", newRunDir(t)}, code: 2, want: []string{"-target does not apply"}},
		{name: "sweep onecycle over the default rates", args: sweep("-schedule", "onecycle:max_lr=0.1"), code: 2, want: []string{"would train 3 identical runs"}},
		// A value that is not what it must be.
		{name: "a step size of 2.5", args: quick(t, "-schedule", "step:size=2.5"), code: 1, want: []string{"size=2.5: want an integer"}},
		{name: "a step size beyond any run", args: quick(t, "-schedule", "step:size=1e30"), code: 1, want: []string{"out of range"}},
		{name: "a schedule option given twice", args: quick(t, "-schedule", "step:size=3,size=4"), code: 1, want: []string{"option size is given twice"}},
		{name: "plateau patience 1.5", args: quick(t, "-schedule", "plateau:patience=1.5"), code: 1, want: []string{"patience=1.5: want an integer"}},
		{name: "plateau max=2", args: quick(t, "-schedule", "plateau:max=2"), code: 1, want: []string{"max=2: want 0 or 1"}},
		{name: "lr-find -start 0", args: lrFind("-start", "0"), code: 1, want: []string{"-start 0", "want 0 < start < end"}},
		{name: "lr-find -end below -start", args: lrFind("-start", "1e-3", "-end", "1e-4"), code: 1, want: []string{"start 0.001 and end 0.0001"}},
		{name: "lr-find -steps 2", args: lrFind("-steps", "2"), code: 1, want: []string{"steps 2: want at least 3"}},
		{name: "-lr 0", args: quick(t, "-lr", "0"), code: 1, want: []string{"-lr 0: want a rate > 0"}},
		{name: "sweep -lr with an empty item", args: sweep("-lr", "0.1,,0.2"), code: 1, want: []string{`item 2 is empty`}},
		{name: "sweep -lr with an item twice", args: sweep("-lr", "0.1,0.1"), code: 1, want: []string{`"0.1" is listed twice`}},
		{name: "sweep -optimizer with a trailing comma", args: sweep("-optimizer", "sgd,"), code: 1, want: []string{"item 2 is empty"}},
		{name: "sweep -lr NaN", args: sweep("-lr", "0.1,NaN"), code: 1, want: []string{`-lr: "NaN" is not a finite number`}},
		{name: "sweep -parallel -1", args: sweep("-parallel", "-1"), code: 1, want: []string{"-parallel -1: want >= 0"}},
		{name: "sweep -target 97", args: sweep("-target", "97"), code: 1, want: []string{"-target 97: want an accuracy in (0, 1]"}},
		{name: "text after the config's object", args: quick(t, "-config", trailing), code: 1, want: []string{"unexpected text after the JSON object at byte offset 13"}},
		{name: "a second line after the config's object", args: quick(t, "-config", trailingText), code: 1, want: []string{"unexpected text after the JSON object at byte offset 13"}},
		{name: "a key given twice in a config", args: quick(t, "-config", dup), code: 1, want: []string{`option "lr" is given twice`}},
		{name: "a nested value in a config", args: quick(t, "-config", nested), code: 1, want: []string{`option "schedule" is an object; want a string, a number or true/false`}},
		{name: "a config that is an array", args: quick(t, "-config", array), code: 1, want: []string{"the file holds an array; want a JSON object"}},
		{name: "a null in a config", args: quick(t, "-config", nullValue), code: 1, want: []string{`option "lr" is null`}},
		{name: "resume set by a config", args: quick(t, "-config", resumeKey), code: 2, want: []string{`option "resume" cannot be set in a file`}},
		{name: "an empty -schedule", args: quick(t, "-schedule", ""), code: 2, want: []string{`-schedule "" is empty`}},
		{name: "an empty -optimizer", args: quick(t, "-optimizer="), code: 2, want: []string{`-optimizer "" is empty`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t) })
	}
}
