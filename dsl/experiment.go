package dsl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Experiment is a loaded spec: every stage instance, expanded, in an order
// where each stage comes after its dependencies.
type Experiment struct {
	Name        string
	Title       string
	Description string
	Seeds       []int
	// Stages is topologically ordered: every Dep of a stage precedes it.
	Stages []*Stage
	// Variables holds the final value of every variable.
	Variables map[string]cty.Value
	// Files holds every parsed file (specs, -var files, -var values) by
	// name, for printing diagnostics with their source.
	Files map[string]*hcl.File

	byAddress map[string]*Stage
}

// Stage returns the stage with the given address.
func (e *Experiment) Stage(address string) (*Stage, bool) {
	if len(e.byAddress) != len(e.Stages) {
		e.byAddress = make(map[string]*Stage, len(e.Stages))
		for _, s := range e.Stages {
			e.byAddress[s.Address] = s
		}
	}
	s, ok := e.byAddress[address]
	return s, ok
}

// Block returns the instances of one block, in expansion order.
func (e *Experiment) Block(kind, name string) []*Stage {
	var out []*Stage
	for _, s := range e.Stages {
		if s.Kind == kind && s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// Stage is one instance of a stage block with concrete parameters.
type Stage struct {
	Kind    string // dataset, train, unlearn, evaluate or report
	Name    string // the block's label
	Address string // kind.name[key=value,...,seed=N], unique in the experiment
	// Params holds every parameter of the stage, defaults filled in. A
	// reference parameter holds the upstream address (or, for report's
	// from, a list of block addresses).
	Params map[string]Param
	// Deps are the stages this one reads, with the parameter that named
	// each; they all precede this stage in Experiment.Stages.
	Deps []Dep
	// SweepKeys are the axis values that make this instance distinct,
	// inherited ones first, in address order (seed last).
	SweepKeys []Key
	// DefRange is the block header's position.
	DefRange hcl.Range
}

// Param is a parameter's concrete value and where it was written. Default
// parameters carry the block header's range.
type Param struct {
	Value   cty.Value
	Range   hcl.Range
	Default bool
}

// Dep is an upstream stage and the parameter that referenced it.
type Dep struct {
	Param string
	Stage *Stage
}

// Key is one axis value of an instance.
type Key struct {
	Name  string
	Value cty.Value
	Text  string // as written in the address
}

// Key returns the value of the sweep key called name.
func (s *Stage) Key(name string) (Key, bool) {
	for _, k := range s.SweepKeys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// ParamNames lists the stage's parameter names, sorted.
func (s *Stage) ParamNames() []string { return sortedKeys(s.Params) }

// Value returns the parameter's value, or cty.NilVal if the stage has none.
func (s *Stage) Value(name string) cty.Value {
	p, ok := s.Params[name]
	if !ok {
		return cty.NilVal
	}
	return p.Value
}

// Float returns a number parameter.
func (s *Stage) Float(name string) (float64, error) {
	v, err := s.known(name, cty.Number)
	if err != nil {
		return 0, err
	}
	f, _ := v.AsBigFloat().Float64()
	return f, nil
}

// Int returns a whole-number parameter.
func (s *Stage) Int(name string) (int, error) {
	v, err := s.known(name, cty.Number)
	if err != nil {
		return 0, err
	}
	i, acc := v.AsBigFloat().Int64()
	if acc != big.Exact || i > math.MaxInt32 || i < math.MinInt32 {
		return 0, fmt.Errorf("%s: parameter %s = %s is not a whole number", s.Address, name, formatValue(v))
	}
	return int(i), nil
}

// String returns a string parameter.
func (s *Stage) String(name string) (string, error) {
	v, err := s.known(name, cty.String)
	if err != nil {
		return "", err
	}
	return v.AsString(), nil
}

// Bool returns a bool parameter.
func (s *Stage) Bool(name string) (bool, error) {
	v, err := s.known(name, cty.Bool)
	if err != nil {
		return false, err
	}
	return v.True(), nil
}

// Ints returns a list-of-numbers parameter as ints (e.g. forget).
func (s *Stage) Ints(name string) ([]int, error) {
	v, err := s.known(name, cty.List(cty.Number))
	if err != nil {
		return nil, err
	}
	var out []int
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		i, acc := e.AsBigFloat().Int64()
		if acc != big.Exact {
			return nil, fmt.Errorf("%s: parameter %s holds %s, not a whole number", s.Address, name, formatValue(e))
		}
		out = append(out, int(i))
	}
	return out, nil
}

// Strings returns a list-of-strings parameter.
func (s *Stage) Strings(name string) ([]string, error) {
	v, err := s.known(name, cty.List(cty.String))
	if err != nil {
		return nil, err
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	return out, nil
}

func (s *Stage) known(name string, ty cty.Type) (cty.Value, error) {
	p, ok := s.Params[name]
	if !ok {
		return cty.NilVal, fmt.Errorf("%s has no parameter %s", s.Address, name)
	}
	if p.Value.IsNull() {
		return cty.NilVal, fmt.Errorf("%s: parameter %s is null", s.Address, name)
	}
	if !p.Value.Type().Equals(ty) {
		return cty.NilVal, fmt.Errorf("%s: parameter %s is a %s, not a %s", s.Address, name,
			p.Value.Type().FriendlyName(), ty.FriendlyName())
	}
	return p.Value, nil
}

// Lookup finds a dimension for reports: a sweep key of this stage, else one
// of its parameters, else one of its upstream stages' (nearest first).
// Reference parameters give the referenced block's name, as keys do.
func (s *Stage) Lookup(name string) (cty.Value, bool) {
	if k, ok := s.Key(name); ok {
		return k.Value, true
	}
	for st := s; st != nil; st = st.primary() {
		if p, ok := st.Params[name]; ok {
			for _, d := range st.Deps {
				if d.Param == name {
					return cty.StringVal(d.Stage.Name), true
				}
			}
			return p.Value, true
		}
	}
	return cty.NilVal, false
}

// primary returns the upstream stage this one inherits its keys from.
func (s *Stage) primary() *Stage {
	ref := primaryRef[s.Kind]
	for _, d := range s.Deps {
		if d.Param == ref {
			return d.Stage
		}
	}
	return nil
}

// Canonical returns the deterministic encoding of the stage's parameters
// that the runner hashes into cache keys: JSON, object keys sorted, numbers
// in their shortest exact form. Reference parameters are left out: the
// upstream stages enter a cache key through their own keys, so renaming a
// block does not invalidate its cache.
func (s *Stage) Canonical() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for _, name := range s.ParamNames() {
		if spec, ok := kindParam(s.Kind, name); ok && spec.Refs != nil {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeJSONString(&b, name)
		b.WriteByte(':')
		writeCanonical(&b, s.Params[name].Value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func writeCanonical(b *bytes.Buffer, v cty.Value) {
	switch {
	case v == cty.NilVal || v.IsNull() || !v.IsKnown():
		b.WriteString("null")
	case v.Type() == cty.String:
		writeJSONString(b, v.AsString())
	case v.Type() == cty.Number:
		b.WriteString(formatNumber(v))
	case v.Type() == cty.Bool:
		b.WriteString(strconv.FormatBool(v.True()))
	case v.Type().IsObjectType() || v.Type().IsMapType():
		m := v.AsValueMap()
		b.WriteByte('{')
		for i, k := range sortedKeys(m) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			writeCanonical(b, m[k])
		}
		b.WriteByte('}')
	case v.CanIterateElements():
		b.WriteByte('[')
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			_, e := it.Element()
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	default:
		if r, ok := refOf(v); ok {
			writeJSONString(b, r.address())
			return
		}
		writeJSONString(b, v.GoString())
	}
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}

// formatNumber writes a number in its shortest form: whole numbers without
// a fraction, others as the shortest decimal that round-trips as float64
// (an engine works in float32/float64, so finer digits cannot matter).
func formatNumber(v cty.Value) string {
	bf := v.AsBigFloat()
	if bf.IsInt() {
		if i, acc := bf.Int64(); acc == big.Exact {
			return strconv.FormatInt(i, 10)
		}
		return bf.Text('f', 0)
	}
	f, _ := bf.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

var plainText = regexp.MustCompile(`^[A-Za-z0-9_.+\-]+$`)

// formatValue writes a value as it appears in an address.
func formatValue(v cty.Value) string {
	switch {
	case v == cty.NilVal || v.IsNull():
		return "null"
	case !v.IsKnown():
		return "?"
	case v.Type() == cty.String:
		if plainText.MatchString(v.AsString()) {
			return v.AsString()
		}
		return strconv.Quote(v.AsString())
	case v.Type() == cty.Number:
		return formatNumber(v)
	case v.Type() == cty.Bool:
		return strconv.FormatBool(v.True())
	case v.Type().IsObjectType() || v.Type().IsMapType():
		m := v.AsValueMap()
		parts := make([]string, 0, len(m))
		for _, k := range sortedKeys(m) {
			parts = append(parts, k+"="+formatValue(m[k]))
		}
		return "{" + strings.Join(parts, ",") + "}"
	case v.CanIterateElements():
		var parts []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			parts = append(parts, formatValue(e))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	if r, ok := refOf(v); ok {
		return r.Name
	}
	return v.GoString()
}

// address builds kind.name[k=v,...] with the keys in address order.
func address(kind, name string, keys []Key) string {
	if len(keys) == 0 {
		return kind + "." + name
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.Name + "=" + k.Text
	}
	return kind + "." + name + "[" + strings.Join(parts, ",") + "]"
}

// sortKeys puts keys in address order: by name, seed last.
func sortKeys(keys []Key) {
	sort.SliceStable(keys, func(i, j int) bool {
		si, sj := keys[i].Name == "seed", keys[j].Name == "seed"
		if si != sj {
			return sj
		}
		return keys[i].Name < keys[j].Name
	})
}
