package tune

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// ErrSpace is wrapped by every error about a search space: the message names the parameter.
var ErrSpace = errors.New("tune: bad search space")

// Kind is a parameter's type.
type Kind uint8

// The kinds of parameter.
const (
	// Float is a real number in [Low, High], uniform or (Log) log-uniform.
	Float Kind = iota
	// Int is a whole number in [Low, High], uniform or (Log) log-uniform.
	Int
	// Choice is one of Choices (a categorical parameter).
	Choice
)

// Condition makes a parameter conditional: it is searched only in trials where the categorical
// parameter Param is itself active and takes one of Values (momentum only when the optimizer
// is sgd).
type Condition struct {
	Param  string   `json:"param"`
	Values []string `json:"values"`
}

// Param is one searched parameter. Its Name is the option it sets (a flag of gotrain train).
type Param struct {
	Name      string
	Kind      Kind
	Low, High float64
	Log       bool
	Choices   []string
	If        *Condition
	// GridPoints is how many values the grid sampler takes of a numeric parameter (0: the
	// sampler's default; an integer range smaller than that is taken whole).
	GridPoints int
}

// Space is an ordered set of parameters; a condition's parameter always comes before the
// parameters that depend on it.
type Space struct {
	Params []Param
}

// Value is one parameter's value in a trial: Num for Float and Int parameters, Choice for
// categorical ones. It is written to JSON as a number or a string.
type Value struct {
	Num    float64
	Choice string
}

// Values are a trial's parameters by name. A conditional parameter that is not active in the
// trial is absent.
type Values map[string]Value

// MarshalJSON writes a number for a numeric value and a string for a choice.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.Choice != "" {
		return json.Marshal(v.Choice)
	}
	if math.IsNaN(v.Num) || math.IsInf(v.Num, 0) {
		return nil, fmt.Errorf("tune: non-finite parameter value %v", v.Num)
	}
	return json.Marshal(v.Num)
}

// UnmarshalJSON reads a number or a string.
func (v *Value) UnmarshalJSON(b []byte) error {
	*v = Value{}
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &v.Choice)
	}
	return json.Unmarshal(b, &v.Num)
}

// Format renders v as the option's value: integers without an exponent, floats in their
// shortest exact form (so the value parses back to the same float64).
func (p *Param) Format(v Value) string {
	switch p.Kind {
	case Choice:
		return v.Choice
	case Int:
		return strconv.FormatInt(int64(v.Num), 10)
	}
	return strconv.FormatFloat(v.Num, 'g', -1, 64)
}

// String is the parameter in the -param grammar, canonical: parsing it gives the same Param.
func (p *Param) String() string {
	var b strings.Builder
	b.WriteString(p.Name)
	b.WriteByte('=')
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	switch p.Kind {
	case Float:
		if p.Log {
			b.WriteString("loguniform:")
		} else {
			b.WriteString("uniform:")
		}
		b.WriteString(num(p.Low) + ":" + num(p.High))
	case Int:
		if p.Log {
			b.WriteString("logint:")
		} else {
			b.WriteString("int:")
		}
		b.WriteString(num(p.Low) + ":" + num(p.High))
	case Choice:
		sep := ","
		if slices.ContainsFunc(p.Choices, func(c string) bool { return strings.Contains(c, ",") }) {
			sep = "|"
		}
		b.WriteString("choice:" + strings.Join(p.Choices, sep))
	}
	if p.GridPoints > 0 {
		fmt.Fprintf(&b, ":grid=%d", p.GridPoints)
	}
	if p.If != nil {
		b.WriteString(":if=" + p.If.Param + "=" + strings.Join(p.If.Values, ","))
	}
	return b.String()
}

// Grammar describes the -param syntax, for help texts.
const Grammar = `NAME=DIST[:grid=N][:if=PARENT=V1,V2,...] where DIST is
  uniform:LOW:HIGH      a real number, uniform in [LOW, HIGH]
  loguniform:LOW:HIGH   a real number, uniform in log space (LOW > 0)
  int:LOW:HIGH          a whole number in [LOW, HIGH]
  logint:LOW:HIGH       a whole number, uniform in log space (LOW >= 1)
  choice:A,B,C          one of the values (separate them with '|' when a value has a comma)
grid=N sets how many values the grid sampler takes of a numeric parameter; if= makes the
parameter conditional on a choice parameter (e.g. momentum=uniform:0:0.99:if=optimizer=sgd)`

// ParseParam parses one parameter in the -param grammar (see Grammar).
func ParseParam(s string) (Param, error) {
	s = strings.TrimSpace(s)
	name, rest, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return Param{}, fmt.Errorf("tune: -param %q: want NAME=DIST:ARGS (%s): %w", s, "e.g. lr=loguniform:1e-4:1", ErrSpace)
	}
	p := Param{Name: name}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("tune: parameter %q: %s: %w", name, fmt.Sprintf(format, args...), ErrSpace)
	}
	// Options come last; peel them off the end so a choice may contain ':' (a schedule).
	body := rest
	for {
		i := strings.LastIndex(body, ":")
		if i < 0 {
			break
		}
		seg := body[i+1:]
		switch {
		case strings.HasPrefix(seg, "if="):
			if p.If != nil {
				return p, bad("more than one if=")
			}
			parent, vals, ok := strings.Cut(seg[len("if="):], "=")
			if !ok || strings.TrimSpace(parent) == "" {
				return p, bad("if=%s: want if=PARENT=V1,V2", seg[len("if="):])
			}
			p.If = &Condition{Param: strings.TrimSpace(parent)}
			for _, v := range strings.Split(vals, ",") {
				p.If.Values = append(p.If.Values, strings.TrimSpace(v))
			}
		case strings.HasPrefix(seg, "grid="):
			n, err := strconv.Atoi(seg[len("grid="):])
			if err != nil {
				return p, bad("grid=%s is not a whole number", seg[len("grid="):])
			}
			p.GridPoints = n
		default:
			i = -1
		}
		if i < 0 {
			break
		}
		body = body[:i]
	}
	dist, args, _ := strings.Cut(body, ":")
	dist = strings.TrimSpace(dist)
	switch dist {
	case "uniform", "loguniform", "int", "logint":
		p.Kind, p.Log = Float, strings.HasPrefix(dist, "log")
		if strings.HasSuffix(dist, "int") {
			p.Kind = Int
		}
		lo, hi, ok := strings.Cut(args, ":")
		if !ok || strings.Contains(hi, ":") {
			return p, bad("%s wants LOW:HIGH, got %q", dist, args)
		}
		var err error
		if p.Low, err = strconv.ParseFloat(strings.TrimSpace(lo), 64); err != nil {
			return p, bad("low %q is not a number", lo)
		}
		if p.High, err = strconv.ParseFloat(strings.TrimSpace(hi), 64); err != nil {
			return p, bad("high %q is not a number", hi)
		}
	case "choice":
		p.Kind = Choice
		sep := ","
		if strings.Contains(args, "|") {
			sep = "|"
		}
		for _, c := range strings.Split(args, sep) {
			p.Choices = append(p.Choices, strings.TrimSpace(c))
		}
	default:
		return p, bad("unknown distribution %q (want uniform, loguniform, int, logint or choice)", dist)
	}
	return p, p.validate()
}

// validate checks the parameter on its own (Space.Validate checks conditions).
func (p *Param) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("tune: parameter %q: %s: %w", p.Name, fmt.Sprintf(format, args...), ErrSpace)
	}
	if p.Name == "" || strings.ContainsAny(p.Name, " =:,|\t\n") {
		return bad("the name must be a non-empty option name")
	}
	if p.GridPoints < 0 || p.GridPoints == 1 {
		return bad("grid=%d: want at least 2 points", p.GridPoints)
	}
	switch p.Kind {
	case Float, Int:
		if len(p.Choices) > 0 {
			return bad("a numeric parameter has no choices")
		}
		if math.IsNaN(p.Low) || math.IsNaN(p.High) || math.IsInf(p.Low, 0) || math.IsInf(p.High, 0) {
			return bad("the range [%v, %v] must be finite", p.Low, p.High)
		}
		if !(p.Low < p.High) {
			return bad("low %v must be below high %v (to fix a value, set the option instead)", p.Low, p.High)
		}
		if p.Kind == Int && (p.Low != math.Trunc(p.Low) || p.High != math.Trunc(p.High)) {
			return bad("an integer range needs whole bounds, got [%v, %v]", p.Low, p.High)
		}
		if p.Kind == Int && (math.Abs(p.Low) > 1<<52 || math.Abs(p.High) > 1<<52) {
			return bad("the integer range [%v, %v] is too wide", p.Low, p.High)
		}
		if p.Log && p.Kind == Float && p.Low <= 0 {
			return bad("a log range needs low > 0, got %v", p.Low)
		}
		if p.Log && p.Kind == Int && p.Low < 1 {
			return bad("a log integer range needs low >= 1, got %v", p.Low)
		}
	case Choice:
		if p.GridPoints != 0 {
			return bad("grid= applies to numeric parameters; the grid takes every choice")
		}
		if len(p.Choices) < 2 {
			return bad("want at least two choices, got %q (to fix a value, set the option instead)", p.Choices)
		}
		seen := map[string]bool{}
		for _, c := range p.Choices {
			if c == "" {
				return bad("an empty choice")
			}
			if seen[c] {
				return bad("choice %q appears twice", c)
			}
			seen[c] = true
		}
	default:
		return bad("unknown kind %d", p.Kind)
	}
	return nil
}

// NewSpace checks the parameters and orders them so that each condition's parameter comes
// before the parameters depending on it (otherwise keeping the given order).
func NewSpace(params ...Param) (*Space, error) {
	if len(params) == 0 {
		return nil, fmt.Errorf("tune: no parameters to search: %w", ErrSpace)
	}
	byName := map[string]*Param{}
	for i := range params {
		p := &params[i]
		if err := p.validate(); err != nil {
			return nil, err
		}
		if byName[p.Name] != nil {
			return nil, fmt.Errorf("tune: parameter %q is given twice: %w", p.Name, ErrSpace)
		}
		byName[p.Name] = p
	}
	for i := range params {
		p := &params[i]
		if p.If == nil {
			continue
		}
		parent := byName[p.If.Param]
		switch {
		case p.If.Param == p.Name:
			return nil, fmt.Errorf("tune: parameter %q: its condition names itself: %w", p.Name, ErrSpace)
		case parent == nil:
			return nil, fmt.Errorf("tune: parameter %q: its condition names %q, which is not searched: %w", p.Name, p.If.Param, ErrSpace)
		case parent.Kind != Choice:
			return nil, fmt.Errorf("tune: parameter %q: its condition's parameter %q must be a choice: %w", p.Name, p.If.Param, ErrSpace)
		case len(p.If.Values) == 0:
			return nil, fmt.Errorf("tune: parameter %q: its condition lists no values of %q: %w", p.Name, p.If.Param, ErrSpace)
		}
		for _, v := range p.If.Values {
			if !slices.Contains(parent.Choices, v) {
				return nil, fmt.Errorf("tune: parameter %q: its condition's value %q is not a choice of %q (%s): %w",
					p.Name, v, parent.Name, strings.Join(parent.Choices, ", "), ErrSpace)
			}
		}
	}
	// Stable topological order; a cycle leaves parameters unplaced.
	var out []Param
	placed := map[string]bool{}
	for len(out) < len(params) {
		progress := false
		for _, p := range params {
			if placed[p.Name] || (p.If != nil && !placed[p.If.Param]) {
				continue
			}
			out = append(out, p)
			placed[p.Name] = true
			progress = true
		}
		if !progress {
			for _, p := range params {
				if !placed[p.Name] {
					return nil, fmt.Errorf("tune: parameter %q: its conditions form a cycle: %w", p.Name, ErrSpace)
				}
			}
		}
	}
	return &Space{Params: out}, nil
}

// ParseSpace builds a space from -param strings.
func ParseSpace(specs []string) (*Space, error) {
	var ps []Param
	for _, s := range specs {
		p, err := ParseParam(s)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return NewSpace(ps...)
}

// jsonParam is a parameter in a JSON space file.
type jsonParam struct {
	Name    string     `json:"name"`
	Type    string     `json:"type"`
	Low     *float64   `json:"low,omitempty"`
	High    *float64   `json:"high,omitempty"`
	Choices []string   `json:"choices,omitempty"`
	If      *Condition `json:"if,omitempty"`
	Grid    int        `json:"grid,omitempty"`
}

// ParseSpaceJSON reads a space from JSON: {"params": [...]} or a bare array, whose elements
// are either -param strings or objects such as
// {"name": "momentum", "type": "uniform", "low": 0, "high": 0.99, "if": {"param": "optimizer", "values": ["sgd"]}}.
// Types are those of the grammar: uniform, loguniform, int, logint, choice.
func ParseSpaceJSON(raw []byte) ([]Param, error) {
	raw = bytes.TrimSpace(raw)
	var elems []json.RawMessage
	if len(raw) > 0 && raw[0] == '{' {
		var doc struct {
			Params []json.RawMessage `json:"params"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("tune: space file: want {\"params\": [...]}: %v: %w", err, ErrSpace)
		}
		elems = doc.Params
	} else if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, fmt.Errorf("tune: space file: want {\"params\": [...]} or an array: %v: %w", err, ErrSpace)
	}
	var out []Param
	for i, e := range elems {
		var s string
		if json.Unmarshal(e, &s) == nil {
			p, err := ParseParam(s)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
			continue
		}
		var jp jsonParam
		dec := json.NewDecoder(bytes.NewReader(e))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&jp); err != nil {
			return nil, fmt.Errorf("tune: space file: parameter %d: %v: %w", i+1, err, ErrSpace)
		}
		p := Param{Name: jp.Name, Choices: jp.Choices, If: jp.If, GridPoints: jp.Grid}
		where := fmt.Sprintf("parameter %q", jp.Name)
		if jp.Name == "" {
			where = fmt.Sprintf("parameter %d", i+1)
		}
		switch jp.Type {
		case "uniform", "loguniform", "int", "logint":
			p.Kind, p.Log = Float, strings.HasPrefix(jp.Type, "log")
			if strings.HasSuffix(jp.Type, "int") {
				p.Kind = Int
			}
			if jp.Low == nil || jp.High == nil {
				return nil, fmt.Errorf("tune: space file: %s: %s needs low and high: %w", where, jp.Type, ErrSpace)
			}
			p.Low, p.High = *jp.Low, *jp.High
		case "choice":
			p.Kind = Choice
		default:
			return nil, fmt.Errorf("tune: space file: %s: unknown type %q (want uniform, loguniform, int, logint or choice): %w", where, jp.Type, ErrSpace)
		}
		if err := p.validate(); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// LoadSpaceFile reads a JSON space file (see ParseSpaceJSON).
func LoadSpaceFile(path string) ([]Param, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tune: space file: %w", err)
	}
	ps, err := ParseSpaceJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ps, nil
}

// Param returns the named parameter, or nil.
func (s *Space) Param(name string) *Param {
	for i := range s.Params {
		if s.Params[i].Name == name {
			return &s.Params[i]
		}
	}
	return nil
}

// Active reports whether p is searched in a trial whose earlier parameters are vals.
func (s *Space) Active(p *Param, vals Values) bool {
	if p.If == nil {
		return true
	}
	v, ok := vals[p.If.Param]
	return ok && slices.Contains(p.If.Values, v.Choice)
}

// Strings renders every parameter in the grammar, in order.
func (s *Space) Strings() []string {
	out := make([]string, len(s.Params))
	for i := range s.Params {
		out[i] = s.Params[i].String()
	}
	return out
}

// Check tells whether vals is a point of the space: exactly the active parameters, each in
// range. It guards values read back from storage.
func (s *Space) Check(vals Values) error {
	n := 0
	for i := range s.Params {
		p := &s.Params[i]
		v, ok := vals[p.Name]
		active := s.Active(p, vals)
		switch {
		case active && !ok:
			return fmt.Errorf("tune: parameter %q is missing: %w", p.Name, ErrSpace)
		case !active && ok:
			return fmt.Errorf("tune: parameter %q is set but its condition does not hold: %w", p.Name, ErrSpace)
		case !active:
			continue
		}
		n++
		switch p.Kind {
		case Choice:
			if !slices.Contains(p.Choices, v.Choice) {
				return fmt.Errorf("tune: parameter %q: %q is not a choice: %w", p.Name, v.Choice, ErrSpace)
			}
		default:
			if v.Choice != "" || !(v.Num >= p.Low && v.Num <= p.High) || (p.Kind == Int && v.Num != math.Trunc(v.Num)) {
				return fmt.Errorf("tune: parameter %q: %v is outside %s: %w", p.Name, v, p.String(), ErrSpace)
			}
		}
	}
	if n != len(vals) {
		for k := range vals {
			if s.Param(k) == nil {
				return fmt.Errorf("tune: parameter %q is not in the space: %w", k, ErrSpace)
			}
		}
	}
	return nil
}

// Describe renders vals as NAME=VALUE pairs in the space's order.
func (s *Space) Describe(vals Values) string {
	var parts []string
	for i := range s.Params {
		p := &s.Params[i]
		if v, ok := vals[p.Name]; ok {
			parts = append(parts, p.Name+"="+p.Format(v))
		}
	}
	return strings.Join(parts, " ")
}
