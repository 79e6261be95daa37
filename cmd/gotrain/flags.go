package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// kind is the type of an option's value: how its text is parsed, and which JSON type a config
// file must give it.
type kind uint8

const (
	kindString kind = iota
	kindInt
	kindUint
	kindFloat
	kindBool
)

// want says what a value of the kind must be, for messages.
func (k kind) want() string {
	return [...]string{"a string", "an integer", "an integer >= 0", "a number", "true or false"}[k]
}

// typeName is the kind as -h shows it.
func (k kind) typeName() string { return [...]string{"string", "int", "uint", "float", ""}[k] }

// optValue is the flag.Value of every gotrain option. One type for all, so that every option
// follows the same rules: its text is parsed by the one parser of its kind (integers that
// overflow are "out of range", floats must be finite, "2.5" is not an integer), a string option
// may refuse to be empty, and an option given twice is an error rather than the last one
// winning silently.
type optValue struct {
	kind    kind
	ptr     any // *string, *int, *uint64, *float64, *bool, or *[]string (a repeatable option)
	emptyOK bool
	set     bool
	raw     string
}

func (v *optValue) String() string {
	if v == nil || v.ptr == nil {
		return "" // the zero value the flag package makes to tell a default from none
	}
	switch p := v.ptr.(type) {
	case *string:
		return *p
	case *int:
		return strconv.Itoa(*p)
	case *uint64:
		return strconv.FormatUint(*p, 10)
	case *float64:
		return strconv.FormatFloat(*p, 'g', -1, 64)
	case *bool:
		return strconv.FormatBool(*p)
	case *[]string:
		return strings.Join(*p, " ")
	}
	return ""
}

// Get returns the value (flag.Getter).
func (v *optValue) Get() any {
	switch p := v.ptr.(type) {
	case *string:
		return *p
	case *int:
		return *p
	case *uint64:
		return *p
	case *float64:
		return *p
	case *bool:
		return *p
	case *[]string:
		return *p
	}
	return nil
}

// IsBoolFlag lets a boolean option be given as -name alone.
func (v *optValue) IsBoolFlag() bool { return v.kind == kindBool }

func (v *optValue) Set(s string) error {
	if _, repeatable := v.ptr.(*[]string); v.set && !repeatable {
		return fmt.Errorf("given twice (first %s); give each option once", quoteIfNeeded(v.raw))
	}
	if err := v.parse(s); err != nil {
		return err
	}
	v.set, v.raw = true, s
	return nil
}

// scratch is an unset option of the same kind, to check a value without keeping it.
func (v *optValue) scratch() *optValue {
	w := &optValue{kind: v.kind, emptyOK: v.emptyOK}
	switch v.ptr.(type) {
	case *string:
		w.ptr = new(string)
	case *int:
		w.ptr = new(int)
	case *uint64:
		w.ptr = new(uint64)
	case *float64:
		w.ptr = new(float64)
	case *bool:
		w.ptr = new(bool)
	case *[]string:
		w.ptr = new([]string)
	}
	return w
}

// parse stores s, or says what is wrong with it.
func (v *optValue) parse(s string) error {
	switch p := v.ptr.(type) {
	case *string:
		if s == "" && !v.emptyOK {
			return errors.New("is empty")
		}
		*p = s
	case *int:
		n, err := parseInt(s)
		if err != nil {
			return err
		}
		*p = n
	case *uint64:
		n, err := parseUint(s)
		if err != nil {
			return err
		}
		*p = n
	case *float64:
		f, err := parseFloat(s)
		if err != nil {
			return err
		}
		*p = f
	case *bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return errors.New("is not true or false")
		}
		*p = b
	case *[]string:
		if s == "" {
			return errors.New("is empty")
		}
		*p = append(*p, s)
	}
	return nil
}

// parseInt reads a decimal integer. A number written with an exponent ("1e3") is accepted when
// it is a whole number; a fraction is an error, and so is a value beyond int64, reported as out
// of range rather than wrapped.
func parseInt(s string) (int, error) {
	t := strings.TrimSpace(s)
	n, err := strconv.ParseInt(t, 10, 64)
	if err == nil {
		return int(n), nil
	}
	outOfRange := fmt.Errorf("is out of range (integers go from %d to %d)", math.MinInt64, math.MaxInt64)
	if errors.Is(err, strconv.ErrRange) {
		return 0, outOfRange
	}
	f, ferr := strconv.ParseFloat(t, 64)
	switch {
	case errors.Is(ferr, strconv.ErrRange):
		return 0, outOfRange
	case ferr != nil, math.IsNaN(f), math.IsInf(f, 0), f != math.Trunc(f):
		return 0, errors.New("is not an integer")
	case math.Abs(f) >= 1<<63:
		return 0, outOfRange
	}
	return int(f), nil
}

// parseUint is parseInt for values that cannot be negative (a seed).
func parseUint(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "-") {
		if _, err := parseInt(t); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("is negative; want %s", kindUint.want())
	}
	u, err := strconv.ParseUint(t, 10, 64)
	if err == nil {
		return u, nil
	}
	outOfRange := fmt.Errorf("is out of range (integers >= 0 go up to %d)", uint64(math.MaxUint64))
	if errors.Is(err, strconv.ErrRange) {
		return 0, outOfRange
	}
	f, ferr := strconv.ParseFloat(t, 64)
	switch {
	case errors.Is(ferr, strconv.ErrRange):
		return 0, outOfRange
	case ferr != nil, math.IsNaN(f), math.IsInf(f, 0), f != math.Trunc(f):
		return 0, errors.New("is not an integer")
	case f >= 1<<64:
		return 0, outOfRange
	}
	return uint64(f), nil
}

// parseFloat reads a finite number: no option of gotrain means anything as NaN or infinity.
func parseFloat(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, errors.New("is out of range for a float64")
	case err != nil:
		return 0, errors.New("is not a number")
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, errors.New("is not a finite number")
	}
	return f, nil
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"'") {
		return strconv.Quote(s)
	}
	return s
}

// command is one subcommand's options and the rules for reading them: from the command line,
// then from a JSON config file for the options not given there.
type command struct {
	name  string
	intro string // the help text before the option list
	fs    *flag.FlagSet
	vals  map[string]*optValue
	// explicit records each option given on the command line or in a config file (not
	// defaults), with where it came from; the applicability rules and -resume look at it.
	explicit map[string]string
	config   *string // the -config option, when the command has one
}

// fromCommandLine is the explicit source of an option typed on the command line.
const fromCommandLine = "the command line"

func newCommand(name, intro string) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // every message is printed once, by run
	fs.Usage = func() {}
	return &command{name: name, intro: intro, fs: fs, vals: map[string]*optValue{}, explicit: map[string]string{}}
}

func (c *command) add(name, usage string, v *optValue, def string) {
	c.vals[name] = v
	c.fs.Var(v, name, usage)
	c.fs.Lookup(name).DefValue = def
}

func (c *command) str(p *string, name, def, usage string) {
	*p = def
	c.add(name, usage, &optValue{kind: kindString, ptr: p}, def)
}

// strOrEmpty is a string option whose empty value means something (a default chosen later).
func (c *command) strOrEmpty(p *string, name, def, usage string) {
	*p = def
	c.add(name, usage, &optValue{kind: kindString, ptr: p, emptyOK: true}, def)
}

func (c *command) int(p *int, name string, def int, usage string) {
	*p = def
	c.add(name, usage, &optValue{kind: kindInt, ptr: p}, strconv.Itoa(def))
}

func (c *command) uint(p *uint64, name string, def uint64, usage string) {
	*p = def
	c.add(name, usage, &optValue{kind: kindUint, ptr: p}, strconv.FormatUint(def, 10))
}

func (c *command) float(p *float64, name string, def float64, usage string) {
	*p = def
	c.add(name, usage, &optValue{kind: kindFloat, ptr: p}, strconv.FormatFloat(def, 'g', -1, 64))
}

// optFloat is a float option without a fixed default: unless given, the consumer picks one
// (an optimizer's own default, which differs per optimizer as in PyTorch).
func (c *command) optFloat(p *float64, name, usage string) {
	c.add(name, usage, &optValue{kind: kindFloat, ptr: p}, "")
}

func (c *command) bool(p *bool, name string, def bool, usage string) {
	*p = def
	c.add(name, usage, &optValue{kind: kindBool, ptr: p}, strconv.FormatBool(def))
}

// strList is a string option that may be given several times (tune's -param), each value kept.
func (c *command) strList(p *[]string, name, usage string) {
	c.add(name, usage, &optValue{kind: kindString, ptr: p}, "")
}

// given says whether an option was given on the command line or in a config file.
func (c *command) given(name string) bool { _, ok := c.explicit[name]; return ok }

// parse reads the command line, then the config file (when the command has -config).
func (c *command) parse(args []string, stderr io.Writer) error {
	err := c.fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		c.printUsage(stderr)
		return err
	}
	if err != nil {
		return usagef("%s", c.explainFlagError(err))
	}
	if c.fs.NArg() > 0 {
		return usagef("unexpected argument %q: every option is a flag (-name value), and %s takes no other arguments", c.fs.Arg(0), c.name)
	}
	c.fs.Visit(func(f *flag.Flag) { c.explicit[f.Name] = fromCommandLine })
	if c.config != nil && *c.config != "" {
		raw, err := readLimitedFile("-config", *c.config, limConfig)
		if err != nil {
			return err
		}
		entries, err := parseConfig(raw, false)
		if err != nil {
			return fmt.Errorf("-config %s: %w", *c.config, err)
		}
		if err := c.apply(entries, "-config "+*c.config, false); err != nil {
			return err
		}
	}
	return nil
}

// apply sets the options named by a config file's entries, except those already given (the
// command line overrides a config file). source says where the entries came from.
func (c *command) apply(entries []configEntry, source string, lenient bool) error {
	for _, e := range entries {
		v, ok := c.vals[e.key]
		if !ok {
			return usagef("%s: %s", source, c.unknownOption(e.key, "option"))
		}
		if e.key == "config" || e.key == "resume" {
			return usagef("%s: option %q cannot be set in a file; give it on the command line", source, e.key)
		}
		text, err := e.text(v.kind, lenient)
		if err != nil {
			return usagef("%s: option %q: %v", source, e.key, err)
		}
		if c.given(e.key) {
			// The command line overrides the file, but a bad value in the file is still an error.
			if err := v.scratch().parse(text); err != nil {
				return usagef("%s: option %q: %s %v", source, e.key, e.show(), err)
			}
			continue
		}
		if err := v.Set(text); err != nil {
			return usagef("%s: option %q: %s %v", source, e.key, e.show(), err)
		}
		c.explicit[e.key] = source
	}
	return nil
}

// explainFlagError rewords the flag package's errors about options that belong to another
// subcommand, so "flag provided but not defined: -epochs" says where -epochs is an option.
func (c *command) explainFlagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return c.unknownOption(strings.TrimPrefix(name, "-"), "flag")
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return fmt.Sprintf("-%s needs a value (-%s VALUE)", name, name)
	}
	// The flag package's "invalid value "x" for flag -lr: why" becomes "-lr x why".
	if m := invalidValue.FindStringSubmatch(msg); m != nil {
		val, uerr := strconv.Unquote(m[1])
		if uerr != nil {
			val = m[1]
		}
		return fmt.Sprintf("-%s %s %s", m[2], quoteIfNeeded(val), m[3])
	}
	return msg
}

var invalidValue = regexp.MustCompile(`^invalid (?:boolean )?value ("(?:[^"\\]|\\.)*") for (?:flag )?-([^:]+): (.*)$`)

// unknownOption says that name is not an option of this command, and of which commands it is,
// or which of this command's options it resembles. what is "flag" (the command line) or
// "option" (a config file key).
func (c *command) unknownOption(name, what string) string {
	shown := "-" + name
	if what == "option" {
		shown = strconv.Quote(name)
	}
	var in []string
	for _, other := range commandNames() {
		if other == c.name {
			continue
		}
		if oc := newCommandByName(other); oc != nil && oc.fs.Lookup(name) != nil {
			in = append(in, other)
		}
	}
	if len(in) > 0 {
		msg := fmt.Sprintf("%s is not an option of %s", shown, c.name)
		if why := notFor[c.name+" "+name]; why != "" {
			msg += " (" + why + ")"
		}
		return msg + "; it is one of " + strings.Join(in, ", ")
	}
	msg := fmt.Sprintf("unknown %s %s: %s has no such option", what, shown, c.name)
	best, bestD := "", 3
	c.fs.VisitAll(func(f *flag.Flag) {
		if d := editDistance(name, f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	})
	if best != "" {
		msg += "; did you mean -" + best + "?"
	}
	return msg
}

// editDistance is the Levenshtein distance, for suggesting a misspelt option.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// notFor says why a shared option is not one of a command's.
var notFor = map[string]string{
	"lr-find lr":                "the range test sets the rate, from -start to -end",
	"lr-find epochs":            "the range test runs -steps batches",
	"lr-find schedule":          "the range test sets the rate",
	"lr-find schedule-interval": "the range test sets the rate",
	"lr-find val-split":         "the range test does not evaluate",
	"lr-find eval-batch":        "the range test does not evaluate",
	"lr-find on-nonfinite":      "the range test stops at the first non-finite loss",
	"eval model":                "the model comes from the checkpoint",
	"eval config":               "eval takes its few options on the command line",
}

// commandNames lists the subcommands that take options, in a fixed order.
func commandNames() []string { return []string{"train", "eval", "sweep", "lr-find"} }

// newCommandByName builds a subcommand's option set (without parsing anything).
func newCommandByName(name string) *command {
	switch name {
	case "train":
		c, _, _ := newTrainCommand()
		return c
	case "sweep":
		c, _, _ := newSweepCommand()
		return c
	case "lr-find":
		c, _, _ := newLRFindCommand()
		return c
	case "eval":
		c, _ := newEvalCommand()
		return c
	}
	return nil
}

// printUsage writes the command's help: its intro, then every option with its type, its
// default and its usage, in the flag package's layout.
func (c *command) printUsage(w io.Writer) {
	fmt.Fprint(w, c.intro)
	fmt.Fprint(w, "\nFlags:\n")
	c.fs.VisitAll(func(f *flag.Flag) {
		v := c.vals[f.Name]
		line := "  -" + f.Name
		if t := v.kind.typeName(); t != "" {
			line += " " + t
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, strings.ReplaceAll(f.Usage, "\n", "\n    \t"))
		switch {
		case f.DefValue == "" || v.kind == kindBool && f.DefValue == "false" || v.kind != kindString && f.DefValue == "0":
		case v.kind == kindString:
			fmt.Fprintf(w, " (default %q)", f.DefValue)
		default:
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
	fmt.Fprint(w, limitsHelp())
}

// configEntry is one key of a config file with its JSON value.
type configEntry struct {
	key    string
	value  any // string, json.Number or bool
	offset int64
}

// show renders the entry's value as the file wrote it, for messages.
func (e configEntry) show() string {
	switch v := e.value.(type) {
	case string:
		return strconv.Quote(v)
	case json.Number:
		return v.String()
	}
	return fmt.Sprint(e.value)
}

// text converts the JSON value to the text the option parses, refusing a value of the wrong
// JSON type. lenient accepts strings for every kind (options.json of older runs wrote them).
func (e configEntry) text(k kind, lenient bool) (string, error) {
	jsonType := "a string"
	switch v := e.value.(type) {
	case string:
		if k == kindString || lenient {
			return v, nil
		}
	case json.Number:
		jsonType = "a number"
		if k == kindInt || k == kindUint || k == kindFloat {
			return v.String(), nil
		}
	case bool:
		jsonType = "a boolean"
		if k == kindBool {
			return strconv.FormatBool(v), nil
		}
	}
	return "", fmt.Errorf("%s is %s; want %s", e.show(), jsonType, k.want())
}

// utf8BOM is what some editors put before a UTF-8 file; a config may start with it.
var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// parseConfig reads a config file: one JSON object whose values are strings, numbers or
// booleans. Unlike decoding into a map it refuses a key given twice (a map keeps the last
// silently) and anything after the object, and it names the byte offset of a syntax error.
func parseConfig(raw []byte, lenient bool) ([]configEntry, error) {
	raw = bytes.TrimPrefix(raw, utf8BOM)
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errors.New("the file is empty; want a JSON object of options, as in {\"lr\": 0.01}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	syntax := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("invalid JSON at byte offset %d: %v", se.Offset, se)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return errors.New("invalid JSON: the object is not closed")
		}
		return fmt.Errorf("invalid JSON: %v", err)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, syntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("the file holds %s; want a JSON object of options, as in {\"lr\": 0.01}", describeToken(tok))
	}
	var out []configEntry
	seen := map[string]bool{}
	for dec.More() {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, syntax(err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, fmt.Errorf("option %q is given twice (the second at byte offset %d); give each option once", key, off)
		}
		seen[key] = true
		val, err := dec.Token()
		if err != nil {
			return nil, syntax(err)
		}
		switch v := val.(type) {
		case string, json.Number, bool:
			out = append(out, configEntry{key: key, value: v, offset: off})
		default:
			return nil, fmt.Errorf("option %q is %s; want a string, a number or true/false", key, describeToken(val))
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, syntax(err)
	}
	if off := dec.InputOffset(); len(bytes.TrimSpace(raw[off:])) > 0 {
		return nil, fmt.Errorf("unexpected text after the JSON object at byte offset %d", off+int64(len(raw[off:])-len(bytes.TrimLeft(raw[off:], " \t\r\n"))))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, nil
}

func describeToken(tok any) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", tok)
}
