package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gotrain/gotrain/kernels"
	"github.com/gotrain/gotrain/models"
)

// The JSON form of Diagnostics is one object per step, the line diagnostics.jsonl holds:
//
//	{"epoch":1,"step":10,"batch":128,
//	 "params":[{"name":"w1","kind":"weight","shape":"784x64","grad_norm":0.012,"weight_norm":9.1,
//	            "update_norm":0.0095,"update_ratio":0.00104}, ...],
//	 "layers":[{"name":"h1","act":"sigmoid","shape":"64","mean":0.49,"std":0.12,
//	            "saturated":0.003,"saturated_rule":"y < 0.01 or y > 0.99"},
//	           {"name":"h2","act":"relu","shape":"64","mean":0.3,"std":0.5,
//	            "dead":0.05,"dead_rule":"y = 0 for every example of the batch"}, ...]}
//
// Every number is a measurement (shapes are strings, so a reader that charts each numeric field
// per layer, as gotrain serve does, charts only measurements); a value that does not apply or is
// not finite (the update ratio of an all-zero tensor) is left out.

type diagJSON struct {
	Epoch  int         `json:"epoch"`
	Step   int         `json:"step"`
	Batch  int         `json:"batch"`
	Params []paramJSON `json:"params"`
	Layers []layerJSON `json:"layers"`
}

type paramJSON struct {
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`
	Shape       string   `json:"shape"`
	GradNorm    *float64 `json:"grad_norm,omitempty"`
	WeightNorm  *float64 `json:"weight_norm,omitempty"`
	UpdateNorm  *float64 `json:"update_norm,omitempty"`
	UpdateRatio *float64 `json:"update_ratio,omitempty"`
}

type layerJSON struct {
	Name          string   `json:"name"`
	Act           string   `json:"act"`
	Shape         string   `json:"shape"`
	Mean          *float64 `json:"mean,omitempty"`
	Std           *float64 `json:"std,omitempty"`
	Saturated     *float64 `json:"saturated,omitempty"`
	SaturatedRule string   `json:"saturated_rule,omitempty"`
	Dead          *float64 `json:"dead,omitempty"`
	DeadRule      string   `json:"dead_rule,omitempty"`
}

var kindNames = map[models.ParamKind]string{models.Weight: "weight", models.Bias: "bias", models.Scale: "scale"}

func opt(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func val(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func shapeText(s []int) string {
	p := make([]string, len(s))
	for i, d := range s {
		p[i] = strconv.Itoa(d)
	}
	return strings.Join(p, "x")
}

func parseShape(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, "x") {
		d, err := strconv.Atoi(f)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("shape %q: want positive sizes joined by x", s)
		}
		out = append(out, d)
	}
	return out, nil
}

// MarshalJSON writes the diagnostics.jsonl form described above.
func (d Diagnostics) MarshalJSON() ([]byte, error) {
	w := diagJSON{Epoch: d.Epoch, Step: d.Step, Batch: d.Batch, Params: make([]paramJSON, len(d.Params)), Layers: make([]layerJSON, len(d.Layers))}
	for i, p := range d.Params {
		w.Params[i] = paramJSON{Name: p.Name, Kind: kindNames[p.Kind], Shape: shapeText(p.Shape), GradNorm: opt(p.GradNorm),
			WeightNorm: opt(p.WeightNorm), UpdateNorm: opt(p.UpdateNorm), UpdateRatio: opt(p.UpdateRatio)}
	}
	for i, l := range d.Layers {
		w.Layers[i] = layerJSON{Name: l.Name, Act: l.Act.String(), Shape: shapeText(l.Shape), Mean: opt(l.Mean), Std: opt(l.Std),
			Saturated: opt(l.Saturated), Dead: opt(l.Dead)}
		if w.Layers[i].Saturated != nil {
			w.Layers[i].SaturatedRule = SaturationRule(l.Act)
		}
		if w.Layers[i].Dead != nil {
			w.Layers[i].DeadRule = DeadRule(l.Act)
		}
	}
	// Unescaped, so that the rules read "y < 0.01" in the file rather than "y \u003c 0.01".
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// UnmarshalJSON reads the form MarshalJSON writes; a missing measurement becomes NaN.
func (d *Diagnostics) UnmarshalJSON(b []byte) error {
	var w diagJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.Step < 1 {
		return fmt.Errorf("train: diagnostics: step %d: want a step counted from 1: %w", w.Step, ErrInvalid)
	}
	out := Diagnostics{Epoch: w.Epoch, Step: w.Step, Batch: w.Batch, Params: make([]ParamStats, len(w.Params)), Layers: make([]LayerStats, len(w.Layers))}
	for i, p := range w.Params {
		shape, err := parseShape(p.Shape)
		if err != nil {
			return fmt.Errorf("train: diagnostics: parameter %q: %v: %w", p.Name, err, ErrInvalid)
		}
		kind := models.Weight
		for k, n := range kindNames {
			if n == p.Kind {
				kind = k
			}
		}
		out.Params[i] = ParamStats{Name: p.Name, Shape: shape, Kind: kind, GradNorm: val(p.GradNorm), WeightNorm: val(p.WeightNorm),
			UpdateNorm: val(p.UpdateNorm), UpdateRatio: val(p.UpdateRatio)}
	}
	for i, l := range w.Layers {
		shape, err := parseShape(l.Shape)
		if err != nil {
			return fmt.Errorf("train: diagnostics: layer %q: %v: %w", l.Name, err, ErrInvalid)
		}
		act, err := kernels.ParseActivation(l.Act)
		if err != nil {
			return fmt.Errorf("train: diagnostics: layer %q: %w", l.Name, err)
		}
		out.Layers[i] = LayerStats{Name: l.Name, Act: act, Shape: shape, Mean: val(l.Mean), Std: val(l.Std),
			Saturated: val(l.Saturated), Dead: val(l.Dead)}
	}
	*d = out
	return nil
}
