package unlearn

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"lethe/dsl"
)

// withDefaults completes params with the defaults of the experiment
// language's method table (dsl.Methods, the single source of truth) and
// rejects names the table does not know.
func withDefaults(method string, params Params) (Params, error) {
	v, ok := dsl.LookupMethod(method)
	if !ok {
		return nil, fmt.Errorf("method %q has no parameter table in dsl.Methods", method)
	}
	out := Params{}
	for name, d := range v.Defaults() {
		out[name] = FromCty(d)
	}
	var unknown []string
	for name, val := range params {
		if _, ok := v.Param(name); !ok {
			unknown = append(unknown, name)
			continue
		}
		out[name] = val
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		var known []string
		for _, p := range v.Params {
			known = append(known, p.Name)
		}
		return nil, fmt.Errorf("%s: unknown parameter(s) %s (known: %s)", method, strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return out, nil
}

// Defaults returns a method's parameters with their default values.
func Defaults(method string) (Params, error) { return withDefaults(method, nil) }

// FromCty converts a spec value to the Go values Params hold: numbers
// become int when whole and float64 otherwise, lists and tuples []any,
// objects and maps map[string]any, null nil.
func FromCty(v cty.Value) any {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInt() {
			if i, acc := bf.Int64(); acc == big.Exact {
				return int(i)
			}
		}
		f, _ := bf.Float64()
		return f
	case t == cty.String:
		return v.AsString()
	case t == cty.Bool:
		return v.True()
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		var out []any
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, FromCty(e))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = FromCty(e)
		}
		return out
	}
	return nil
}
