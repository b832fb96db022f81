package dsl

import (
	"fmt"
	"math/big"
	"reflect"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// blockRef is what an expression like train.ortho evaluates to: a capsule
// that only reference parameters accept, so that using a block where a
// number or string is expected is a type error.
type blockRef struct {
	Kind, Name string
}

func (r *blockRef) address() string { return r.Kind + "." + r.Name }

var refType = cty.CapsuleWithOps("block reference", reflect.TypeOf(blockRef{}), &cty.CapsuleOps{
	GoString:     func(v interface{}) string { return v.(*blockRef).address() },
	TypeGoString: func(reflect.Type) string { return "block reference" },
})

func refVal(r *blockRef) cty.Value { return cty.CapsuleVal(refType, r) }

func refOf(v cty.Value) (*blockRef, bool) {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() || !v.Type().Equals(refType) {
		return nil, false
	}
	return v.EncapsulatedValue().(*blockRef), true
}

// suggest returns the option closest to given, or "" if none is close
// (the same threshold as hcl's own suggestions).
func suggest(given string, options []string) string {
	best, bestDist := "", 3
	for _, o := range options {
		if d := levenshtein.Distance(given, o, nil); d < bestDist {
			best, bestDist = o, d
		}
	}
	return best
}

func didYouMean(given string, options []string) string {
	if s := suggest(given, options); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// valueError is a parameter value that a spec must not have.
type valueError struct{ summary, detail string }

// checkValue converts v to the parameter's type, checks it against the
// spec and fills object defaults. what names the parameter in messages.
func checkValue(spec ParamSpec, v cty.Value, what string) (cty.Value, *valueError) {
	if !v.IsKnown() {
		return cty.NilVal, &valueError{"Unknown value", fmt.Sprintf("The value of %s is not known when the spec is loaded.", what)}
	}
	if v.IsNull() {
		if spec.Nullable {
			if spec.Type == cty.DynamicPseudoType {
				return cty.NullVal(cty.DynamicPseudoType), nil
			}
			return cty.NullVal(spec.Type), nil
		}
		return cty.NilVal, &valueError{"Null value", fmt.Sprintf("%s must not be null.", what)}
	}
	if spec.Object != nil {
		return checkObject(spec.Object, v, what)
	}
	if _, ok := refOf(v); ok {
		return cty.NilVal, &valueError{"Incorrect value type",
			fmt.Sprintf("%s needs a %s, not a reference to a block.", what, spec.Type.FriendlyName())}
	}
	cv, err := convert.Convert(v, spec.Type)
	if err != nil {
		if v.Type().IsPrimitiveType() || !spec.Type.IsListType() {
			return cty.NilVal, &valueError{"Incorrect value type",
				fmt.Sprintf("%s needs a %s, not a %s.", what, friendly(spec.Type), friendly(v.Type()))}
		}
		return cty.NilVal, &valueError{"Incorrect value type",
			fmt.Sprintf("%s needs a %s: %s.", what, friendly(spec.Type), err)}
	}
	v = cv
	switch {
	case spec.Type == cty.Number:
		if e := checkNumber(spec, v, what); e != nil {
			return cty.NilVal, e
		}
	case spec.Type == cty.String:
		if e := checkString(spec, v, what); e != nil {
			return cty.NilVal, e
		}
	case spec.Type.IsListType():
		if spec.NonEmpty && v.LengthInt() == 0 {
			return cty.NilVal, &valueError{"Empty list", fmt.Sprintf("%s needs at least one element.", what)}
		}
		seen := map[string]bool{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if e.IsNull() {
				return cty.NilVal, &valueError{"Null value", fmt.Sprintf("%s must not contain null.", what)}
			}
			idx, _ := k.AsBigFloat().Int64()
			ewhat := fmt.Sprintf("%s[%d]", what, idx)
			var ve *valueError
			if spec.Type.ElementType() == cty.Number {
				ve = checkNumber(spec, e, ewhat)
			} else {
				ve = checkString(spec, e, ewhat)
			}
			if ve != nil {
				return cty.NilVal, ve
			}
			if spec.Unique {
				t := formatValue(e)
				if seen[t] {
					return cty.NilVal, &valueError{"Duplicate list element", fmt.Sprintf("%s lists %s twice.", what, t)}
				}
				seen[t] = true
			}
		}
	}
	return v, nil
}

func friendly(ty cty.Type) string {
	switch {
	case ty == cty.Number:
		return "number"
	case ty == cty.String:
		return "string"
	case ty == cty.Bool:
		return "bool"
	case ty.IsListType():
		return "list of " + friendly(ty.ElementType()) + "s"
	case ty.IsTupleType() || ty.IsSetType():
		return "list"
	case ty.IsObjectType() || ty.IsMapType():
		return "object"
	}
	return ty.FriendlyName()
}

func checkNumber(spec ParamSpec, v cty.Value, what string) *valueError {
	bf := v.AsBigFloat()
	if bf.IsInf() {
		return &valueError{"Invalid value", fmt.Sprintf("%s must be finite.", what)}
	}
	text := formatNumber(v)
	if spec.Integer && !bf.IsInt() {
		return &valueError{"Invalid value", fmt.Sprintf("%s must be a whole number, not %s.", what, text)}
	}
	if spec.Min != nil {
		c := bf.Cmp(big.NewFloat(*spec.Min))
		if c < 0 || (c == 0 && spec.MinExcl) {
			return &valueError{"Value out of range", fmt.Sprintf("%s must be %s, not %s.", what, bounds(spec), text)}
		}
	}
	if spec.Max != nil {
		c := bf.Cmp(big.NewFloat(*spec.Max))
		if c > 0 || (c == 0 && spec.MaxExcl) {
			return &valueError{"Value out of range", fmt.Sprintf("%s must be %s, not %s.", what, bounds(spec), text)}
		}
	}
	return nil
}

// bounds describes a number range in words, e.g. "in [0, 1]" or "> 0".
func bounds(spec ParamSpec) string {
	f := func(x float64) string { return formatNumber(cty.NumberFloatVal(x)) }
	switch {
	case spec.Min != nil && spec.Max != nil:
		lo, hi := "[", "]"
		if spec.MinExcl {
			lo = "("
		}
		if spec.MaxExcl {
			hi = ")"
		}
		return fmt.Sprintf("in %s%s, %s%s", lo, f(*spec.Min), f(*spec.Max), hi)
	case spec.Min != nil && spec.MinExcl:
		return "> " + f(*spec.Min)
	case spec.Min != nil:
		return ">= " + f(*spec.Min)
	case spec.Max != nil && spec.MaxExcl:
		return "< " + f(*spec.Max)
	case spec.Max != nil:
		return "<= " + f(*spec.Max)
	}
	return "a number"
}

func checkString(spec ParamSpec, v cty.Value, what string) *valueError {
	if len(spec.OneOf) == 0 {
		return nil
	}
	s := v.AsString()
	for _, o := range spec.OneOf {
		if o == s {
			return nil
		}
	}
	return &valueError{"Invalid value", fmt.Sprintf("%s cannot be %q; it takes one of %s.%s",
		what, s, quoteList(spec.OneOf), didYouMean(s, spec.OneOf))}
}

// checkObject checks an object parameter against its variants and returns
// it with every field of the chosen variant filled in.
func checkObject(o *ObjectSpec, v cty.Value, what string) (cty.Value, *valueError) {
	ty := v.Type()
	if !ty.IsObjectType() && !ty.IsMapType() {
		return cty.NilVal, &valueError{"Incorrect value type",
			fmt.Sprintf("%s needs an object like { %s = %q, ... }, not a %s.", what, o.Key, o.Variants[0].Name, ty.FriendlyName())}
	}
	fields := v.AsValueMap()
	keyVal, ok := fields[o.Key]
	if !ok {
		return cty.NilVal, &valueError{"Missing field", fmt.Sprintf("%s needs a %s field, one of %s.",
			what, o.Key, quoteList(o.variantNames()))}
	}
	keySpec := ParamSpec{Name: o.Key, Type: cty.String, OneOf: o.variantNames()}
	kv, ve := checkValue(keySpec, keyVal, what+"."+o.Key)
	if ve != nil {
		return cty.NilVal, ve
	}
	variant := o.variant(kv.AsString())
	allowed := append(append([]ParamSpec{}, o.Common...), variant.Params...)
	out := map[string]cty.Value{o.Key: kv}
	for _, name := range sortedKeys(fields) {
		if name == o.Key {
			continue
		}
		spec, ok := findSpec(allowed, name)
		if !ok {
			var names []string
			for _, p := range allowed {
				names = append(names, p.Name)
			}
			detail := fmt.Sprintf("%s %q has no field %q.", what, variant.Name, name)
			if other := variantsWith(o, name); len(other) > 0 {
				detail += fmt.Sprintf(" It belongs to %s.", quoteList(other))
			} else {
				detail += didYouMean(name, names)
			}
			return cty.NilVal, &valueError{"Unsupported field", detail}
		}
		fv, ve := checkValue(spec, fields[name], what+"."+name)
		if ve != nil {
			return cty.NilVal, ve
		}
		out[name] = fv
	}
	for _, p := range allowed {
		if _, ok := out[p.Name]; !ok {
			if p.Default == cty.NilVal {
				return cty.NilVal, &valueError{"Missing field", fmt.Sprintf("%s %q needs a %s field.", what, variant.Name, p.Name)}
			}
			out[p.Name] = p.Default
		}
	}
	return cty.ObjectVal(out), nil
}

func findSpec(specs []ParamSpec, name string) (ParamSpec, bool) {
	for _, p := range specs {
		if p.Name == name {
			return p, true
		}
	}
	return ParamSpec{}, false
}

func variantsWith(o *ObjectSpec, field string) []string {
	var out []string
	for i := range o.Variants {
		if _, ok := o.Variants[i].Param(field); ok {
			out = append(out, o.Variants[i].Name)
		}
	}
	return out
}

// fansOut says whether v, given for a parameter of this spec, is a list of
// alternatives (one instance each) rather than one value.
func fansOut(spec ParamSpec, v cty.Value) bool {
	if !v.IsKnown() || v.IsNull() {
		return false
	}
	ty := v.Type()
	if !ty.IsTupleType() && !ty.IsListType() && !ty.IsSetType() {
		return false
	}
	if spec.Refs != nil {
		return true
	}
	if spec.Object != nil {
		return true
	}
	if spec.Type.IsListType() {
		// [0, 1] is one forget set; [[0], [1]] is two.
		if _, err := convert.Convert(v, spec.Type); err == nil {
			return false
		}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsKnown() && !e.IsNull() && !(e.Type().IsTupleType() || e.Type().IsListType() || e.Type().IsSetType()) {
				return false
			}
		}
		return true
	}
	return true
}

// elements returns a list's elements.
func elements(v cty.Value) []cty.Value {
	var out []cty.Value
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e)
	}
	return out
}

func rangeLess(a, b hcl.Range) bool {
	if a.Filename != b.Filename {
		return a.Filename < b.Filename
	}
	return a.Start.Byte < b.Start.Byte
}
