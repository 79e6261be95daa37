package tune

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTheGrammarRoundTrips(t *testing.T) {
	for _, s := range []string{
		"lr=loguniform:0.0001:1",
		"dropout=uniform:0:0.5",
		"batch=logint:32:512:grid=3",
		"width=int:16:256",
		"optimizer=choice:sgd,momentum,adam,rmsprop",
		"schedule=choice:constant|step:size=1,gamma=0.5|cosine:tmax=3",
		"momentum=uniform:0:0.99:if=optimizer=sgd,momentum",
		"lr=loguniform:0.0001:1:grid=5:if=optimizer=adam",
	} {
		p, err := ParseParam(s)
		require.NoError(t, err, s)
		assert.Equal(t, s, p.String())
		again, err := ParseParam(p.String())
		require.NoError(t, err)
		assert.Equal(t, p, again)
	}
	p, err := ParseParam(" lr = loguniform: 1e-4 : 1 ")
	require.NoError(t, err)
	assert.Equal(t, Param{Name: "lr", Kind: Float, Log: true, Low: 1e-4, High: 1}, p)
	p, err = ParseParam("lr=loguniform:1e-4:1:if=optimizer=sgd:grid=4")
	require.NoError(t, err)
	assert.Equal(t, 4, p.GridPoints)
	assert.Equal(t, &Condition{Param: "optimizer", Values: []string{"sgd"}}, p.If)
}

func TestBadSpacesAreErrorsThatNameTheParameter(t *testing.T) {
	cases := []struct {
		specs []string
		want  string
	}{
		{[]string{"lr"}, `"lr": want NAME=DIST:ARGS`},
		{[]string{"lr=gauss:0:1"}, `parameter "lr": unknown distribution "gauss"`},
		{[]string{"lr=loguniform:0:1"}, `parameter "lr": a log range needs low > 0`},
		{[]string{"lr=uniform:1:1"}, `parameter "lr": low 1 must be below high 1`},
		{[]string{"lr=uniform:a:1"}, `parameter "lr": low "a" is not a number`},
		{[]string{"lr=uniform:0:1:2"}, `parameter "lr": uniform wants LOW:HIGH`},
		{[]string{"lr=uniform:0:inf"}, `parameter "lr": the range [0, +Inf] must be finite`},
		{[]string{"batch=int:32.5:512"}, `parameter "batch": an integer range needs whole bounds`},
		{[]string{"batch=logint:0:512"}, `parameter "batch": a log integer range needs low >= 1`},
		{[]string{"opt=choice:sgd"}, `parameter "opt": want at least two choices`},
		{[]string{"opt=choice:sgd,sgd"}, `parameter "opt": choice "sgd" appears twice`},
		{[]string{"opt=choice:sgd,,adam"}, `parameter "opt": an empty choice`},
		{[]string{"opt=choice:a,b:grid=3"}, `parameter "opt": grid= applies to numeric parameters`},
		{[]string{"lr=uniform:0:1:grid=1"}, `parameter "lr": grid=1`},
		{[]string{"lr=uniform:0:1", "lr=uniform:0:2"}, `parameter "lr" is given twice`},
		{[]string{"m=uniform:0:1:if=optimizer=sgd"}, `parameter "m": its condition names "optimizer", which is not searched`},
		{[]string{"lr=uniform:0:1", "m=uniform:0:1:if=lr=sgd"}, `parameter "m": its condition's parameter "lr" must be a choice`},
		{[]string{"o=choice:a,b", "m=uniform:0:1:if=o=c"}, `parameter "m": its condition's value "c" is not a choice of "o"`},
		{[]string{"a=choice:x,y:if=b=x", "b=choice:x,y:if=a=x"}, `its conditions form a cycle`},
		{[]string{"a=choice:x,y:if=a=x"}, `parameter "a": its condition names itself`},
		{nil, "no parameters to search"},
	}
	for _, c := range cases {
		_, err := ParseSpace(c.specs)
		require.ErrorIs(t, err, ErrSpace, "%q", c.specs)
		assert.Contains(t, err.Error(), c.want, "%q", c.specs)
	}
}

func TestASpaceOrdersConditionsBeforeTheirParameters(t *testing.T) {
	s, err := ParseSpace([]string{"momentum=uniform:0:0.99:if=optimizer=sgd", "lr=loguniform:1e-4:1", "optimizer=choice:sgd,adam"})
	require.NoError(t, err)
	var names []string
	for _, p := range s.Params {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"lr", "optimizer", "momentum"}, names)
	assert.NoError(t, s.Check(Values{"lr": {Num: 0.1}, "optimizer": {Choice: "adam"}}))
	assert.NoError(t, s.Check(Values{"lr": {Num: 0.1}, "optimizer": {Choice: "sgd"}, "momentum": {Num: 0.5}}))
	assert.ErrorContains(t, s.Check(Values{"lr": {Num: 0.1}, "optimizer": {Choice: "sgd"}}), `"momentum" is missing`)
	assert.ErrorContains(t, s.Check(Values{"lr": {Num: 0.1}, "optimizer": {Choice: "adam"}, "momentum": {Num: 0.5}}), `"momentum" is set but its condition does not hold`)
	assert.ErrorContains(t, s.Check(Values{"lr": {Num: 2}, "optimizer": {Choice: "adam"}}), `"lr": {2 } is outside`)
	assert.ErrorContains(t, s.Check(Values{"lr": {Num: 0.1}, "optimizer": {Choice: "adam"}, "x": {Num: 1}}), `"x" is not in the space`)
}

func TestASpaceFileTakesObjectsAndGrammarStrings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "space.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"params": [
		{"name": "lr", "type": "loguniform", "low": 1e-4, "high": 1},
		"optimizer=choice:sgd,adam",
		{"name": "momentum", "type": "uniform", "low": 0, "high": 0.99, "if": {"param": "optimizer", "values": ["sgd"]}},
		{"name": "batch", "type": "logint", "low": 32, "high": 512, "grid": 3}
	]}`), 0o644))
	ps, err := LoadSpaceFile(path)
	require.NoError(t, err)
	s, err := NewSpace(ps...)
	require.NoError(t, err)
	assert.Equal(t, []string{"lr=loguniform:0.0001:1", "optimizer=choice:sgd,adam", "momentum=uniform:0:0.99:if=optimizer=sgd",
		"batch=logint:32:512:grid=3"}, s.Strings())

	for raw, want := range map[string]string{
		`{"params": [{"name": "lr", "type": "loguniform", "low": 1e-4}]}`:     `parameter "lr": loguniform needs low and high`,
		`{"params": [{"name": "lr", "type": "normal", "low": 0, "high": 1}]}`: `parameter "lr": unknown type "normal"`,
		`{"params": [{"name": "lr", "type": "uniform", "lo": 0, "high": 1}]}`: `unknown field "lo"`,
		`{"parameters": []}`: `unknown field "parameters"`,
		`[{"name": "o", "type": "choice", "choices": ["a"]}]`:               `parameter "o": want at least two choices`,
		`{"params": [{"name": "b", "type": "int", "low": 1.5, "high": 4}]}`: `parameter "b": an integer range needs whole bounds`,
	} {
		_, err := ParseSpaceJSON([]byte(raw))
		require.ErrorIs(t, err, ErrSpace, raw)
		assert.Contains(t, err.Error(), want, raw)
	}
}

func TestValuesRoundTripThroughJSONExactly(t *testing.T) {
	v := Values{"lr": {Num: 0.1 + 0.2}, "opt": {Choice: "adam"}, "batch": {Num: 128}}
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var back Values
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, v, back)
	_, err = json.Marshal(Values{"lr": {Num: math.NaN()}})
	assert.Error(t, err)
	p := Param{Name: "batch", Kind: Int}
	assert.Equal(t, "1000000", p.Format(Value{Num: 1e6}))
}
