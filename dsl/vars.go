package dsl

import (
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// varDecl is a variable block.
type varDecl struct {
	name        string
	typ         cty.Type
	def         cty.Value // cty.NilVal: no default
	defRange    hcl.Range
	declRange   hcl.Range
	validations []*validation
	// where the final value was written, for validation errors
	valueRange hcl.Range
}

type validation struct {
	condition hcl.Expression
	message   hcl.Expression
}

// localDef is one local value.
type localDef struct {
	attr  *hcl.Attribute
	value cty.Value
	state int // 0 new, 1 evaluating, 2 done
	refs  []stageRef
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "condition", Required: true}, {Name: "error_message", Required: true},
}}

// dataVar is the predeclared variable that roots dataset paths.
const dataVar = "data"

func (l *loader) declareVariable(b *hcl.Block) {
	name := b.Labels[0]
	if prev, ok := l.vars[name]; ok {
		l.errorf(b.LabelRanges[0].Ptr(), "Duplicate variable",
			"A variable named %q was already declared at %s.", name, prev.declRange)
		return
	}
	d := &varDecl{name: name, typ: cty.DynamicPseudoType, def: cty.NilVal, declRange: b.DefRange}
	content, diags := b.Body.Content(variableSchema)
	l.diags = append(l.diags, diags...)
	if a, ok := content.Attributes["type"]; ok {
		ty, diags := typeexpr.TypeConstraint(a.Expr)
		l.diags = append(l.diags, diags...)
		if !diags.HasErrors() {
			d.typ = ty
		}
	}
	if a, ok := content.Attributes["default"]; ok {
		// Defaults are literals: they cannot depend on other variables.
		v, diags := a.Expr.Value(&hcl.EvalContext{Functions: functions()})
		l.diags = append(l.diags, diags...)
		if !diags.HasErrors() {
			d.def, d.defRange = v, a.Expr.Range()
		}
	}
	if a, ok := content.Attributes["description"]; ok {
		_, diags := a.Expr.Value(nil)
		l.diags = append(l.diags, diags...)
	}
	for _, vb := range content.Blocks {
		vc, diags := vb.Body.Content(validationSchema)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		d.validations = append(d.validations, &validation{
			condition: vc.Attributes["condition"].Expr, message: vc.Attributes["error_message"].Expr})
	}
	l.vars[name] = d
	l.varOrder = append(l.varOrder, name)
}

func (l *loader) declareLocals(b *hcl.Block) {
	attrs, diags := b.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	for _, name := range sortedKeys(attrs) {
		a := attrs[name]
		if prev, ok := l.locals[name]; ok {
			l.errorf(a.NameRange.Ptr(), "Duplicate local value",
				"A local value named %q was already defined at %s.", name, prev.attr.NameRange)
			continue
		}
		l.locals[name] = &localDef{attr: a}
		l.localOrder = append(l.localOrder, name)
	}
}

// resolveVariables sets every variable from, in increasing precedence, its
// default, the -var files in order and the -var values, then converts and
// validates it.
func (l *loader) resolveVariables() {
	if _, ok := l.vars[dataVar]; !ok {
		dir := l.opts.DataDir
		if dir == "" {
			dir = "data"
		}
		l.vars[dataVar] = &varDecl{name: dataVar, typ: cty.String, def: cty.StringVal(dir)}
		l.varOrder = append(l.varOrder, dataVar)
	}
	given := map[string]cty.Value{}
	for _, path := range l.opts.VarFiles {
		l.readVarFile(path, given)
	}
	for _, name := range sortedKeys(l.opts.Vars) {
		l.parseVarFlag(name, l.opts.Vars[name], given)
	}
	values := map[string]cty.Value{}
	for _, name := range l.varOrder {
		d := l.vars[name]
		v, ok := given[name]
		if !ok {
			if d.def == cty.NilVal {
				l.errorf(d.declRange.Ptr(), "No value for required variable",
					"Variable %q has no default; set it with -var %s=... or in a -var-file.", name, name)
				continue
			}
			v, d.valueRange = d.def, d.defRange
		}
		cv, err := convert.Convert(v, d.typ)
		if err != nil {
			l.errorf(rangePtr(d.valueRange), "Invalid value for variable",
				"Variable %q needs a value of type %s: %s.", name, typeexpr.TypeString(d.typ), err)
			continue
		}
		values[name] = cv
	}
	if l.diags.HasErrors() {
		return
	}
	l.varVals = values
	l.exp.Variables = values
	ctx := &hcl.EvalContext{Functions: functions(),
		Variables: map[string]cty.Value{"var": cty.ObjectVal(values)}}
	for _, name := range l.varOrder {
		d := l.vars[name]
		for _, vr := range d.validations {
			l.validate(d, vr, ctx)
		}
	}
}

func (l *loader) validate(d *varDecl, vr *validation, ctx *hcl.EvalContext) {
	for _, t := range vr.condition.Variables() {
		if t.RootName() != "var" {
			l.errorf(t.SourceRange().Ptr(), "Invalid validation condition",
				"A validation condition can only refer to variables, not to %s.", t.RootName())
			return
		}
	}
	ok, diags := vr.condition.Value(ctx)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return
	}
	ok, err := convert.Convert(ok, cty.Bool)
	if err != nil || ok.IsNull() || !ok.IsKnown() {
		l.errorf(vr.condition.Range().Ptr(), "Invalid validation condition",
			"The condition must give true or false.")
		return
	}
	if ok.True() {
		return
	}
	msg, diags := vr.message.Value(ctx)
	text := "The value failed its validation rule."
	if !diags.HasErrors() && msg.IsKnown() && !msg.IsNull() {
		if s, err := convert.Convert(msg, cty.String); err == nil {
			text = s.AsString()
		}
	}
	l.errorf(rangePtr(d.valueRange), "Invalid value for variable",
		"%s\n\nThis was checked by the validation rule at %s.", text, vr.condition.Range())
}

func rangePtr(r hcl.Range) *hcl.Range {
	if r.Filename == "" {
		return nil
	}
	return &r
}

// readVarFile reads name = value lines; values are literals.
func (l *loader) readVarFile(path string, given map[string]cty.Value) {
	src, err := os.ReadFile(path)
	if err != nil {
		l.errorf(nil, "Cannot read variables file", "Reading -var-file %s: %s.", path, err)
		return
	}
	f, diags := l.parser.ParseHCL(src, path)
	l.diags = append(l.diags, diags...)
	if f == nil || diags.HasErrors() {
		return
	}
	l.exp.Files[path] = f
	attrs, diags := f.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	for _, name := range sortedKeys(attrs) {
		a := attrs[name]
		d, ok := l.vars[name]
		if !ok {
			l.errorf(a.NameRange.Ptr(), "Undeclared variable",
				"A value was given for %q, which the spec does not declare.%s", name, didYouMean(name, l.varOrder))
			continue
		}
		v, diags := a.Expr.Value(&hcl.EvalContext{Functions: functions()})
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		given[name] = v
		d.valueRange = a.Expr.Range()
	}
}

// parseVarFlag turns one -var name=value into a value: strings verbatim,
// anything else parsed as an HCL expression.
func (l *loader) parseVarFlag(name, raw string, given map[string]cty.Value) {
	d, ok := l.vars[name]
	if !ok {
		l.errorf(nil, "Undeclared variable",
			"-var %s=%s: the spec declares no variable %q.%s", name, raw, name, didYouMean(name, l.varOrder))
		return
	}
	filename := fmt.Sprintf("<value for var.%s>", name)
	l.exp.Files[filename] = &hcl.File{Bytes: []byte(raw)}
	r := hcl.Range{Filename: filename, Start: hcl.InitialPos,
		End: hcl.Pos{Line: 1, Column: len(raw) + 1, Byte: len(raw)}}
	if d.typ == cty.String {
		given[name], d.valueRange = cty.StringVal(raw), r
		return
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), filename, hcl.InitialPos)
	if !diags.HasErrors() {
		var v cty.Value
		v, diags = expr.Value(&hcl.EvalContext{Functions: functions()})
		if !diags.HasErrors() {
			given[name], d.valueRange = v, expr.Range()
			return
		}
	}
	if d.typ == cty.DynamicPseudoType {
		// An untyped variable takes text that is not an expression as a string.
		given[name], d.valueRange = cty.StringVal(raw), r
		return
	}
	l.diags = append(l.diags, diags...)
}

// buildContext makes the evaluation context of locals and blocks: var,
// local (filled as locals are evaluated), one object per stage kind whose
// attributes are block references, and the functions.
func (l *loader) buildContext() {
	vars := map[string]cty.Value{"var": cty.ObjectVal(l.varVals), "local": cty.EmptyObjectVal}
	for _, kind := range Kinds {
		refs := map[string]cty.Value{}
		for name, b := range l.byKind[kind] {
			refs[name] = refVal(b.ref())
		}
		vars[kind] = cty.ObjectVal(refs)
	}
	l.ctx = &hcl.EvalContext{Variables: vars, Functions: functions()}
}

func (l *loader) setLocal(name string, v cty.Value) {
	m := l.ctx.Variables["local"].AsValueMap()
	if m == nil {
		m = map[string]cty.Value{}
	}
	m[name] = v
	l.ctx.Variables["local"] = cty.ObjectVal(m)
}

// evalLocals evaluates every local value after the ones it refers to.
func (l *loader) evalLocals() {
	for _, name := range l.localOrder {
		l.evalLocal(name, nil)
	}
}

func (l *loader) evalLocal(name string, path []string) bool {
	ld := l.locals[name]
	switch ld.state {
	case 2:
		return ld.value != cty.NilVal
	case 1:
		cycle := append(append([]string{}, path...), name)
		for i := range cycle {
			cycle[i] = "local." + cycle[i]
		}
		l.errorf(ld.attr.NameRange.Ptr(), "Cycle between local values",
			"Local values refer to each other in a cycle: %s.", strings.Join(cycle, " -> "))
		return false
	}
	ld.state = 1
	ok := true
	for _, t := range ld.attr.Expr.Variables() {
		if t.RootName() != "local" || len(t) < 2 {
			continue
		}
		dep := traversalName(t[1])
		if _, known := l.locals[dep]; known {
			if !l.evalLocal(dep, append(path, name)) {
				ok = false
			}
			ld.refs = append(ld.refs, l.locals[dep].refs...)
		}
	}
	ld.state = 2
	if !ok {
		return false
	}
	ld.refs = append(ld.refs, l.stageRefs(ld.attr.Expr)...)
	v, good := l.eval(ld.attr.Expr)
	if !good {
		return false
	}
	ld.value = v
	l.setLocal(name, v)
	return true
}

func traversalName(step hcl.Traverser) string {
	switch s := step.(type) {
	case hcl.TraverseAttr:
		return s.Name
	case hcl.TraverseIndex:
		if s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull() {
			return s.Key.AsString()
		}
	}
	return ""
}

// checkTraversals reports references to undeclared variables, locals and
// blocks, with a suggestion, before evaluation would report them less
// helpfully.
func (l *loader) checkTraversals(expr hcl.Expression) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, t := range expr.Variables() {
		root := t.RootName()
		if len(t) < 2 {
			continue
		}
		name := traversalName(t[1])
		if name == "" {
			continue
		}
		var known []string
		var what string
		switch root {
		case "var":
			if _, ok := l.vars[name]; ok {
				continue
			}
			known, what = l.varOrder, "There is no variable named %q."
		case "local":
			if _, ok := l.locals[name]; ok {
				continue
			}
			known, what = l.localOrder, "There is no local value named %q."
		default:
			if !isKind(root) {
				continue
			}
			if _, ok := l.byKind[root][name]; ok {
				continue
			}
			known = sortedKeys(l.byKind[root])
			what = "There is no " + root + " block named %q."
			for _, k := range Kinds {
				if _, ok := l.byKind[k][name]; ok && k != root {
					what += fmt.Sprintf(" (There is a %s block of that name: %s.%s.)", k, k, name)
				}
			}
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to undeclared name",
			Detail: fmt.Sprintf(what, name) + didYouMean(name, known), Subject: t.SourceRange().Ptr()})
	}
	return diags
}

func isKind(s string) bool {
	for _, k := range Kinds {
		if k == s {
			return true
		}
	}
	return false
}

// functions are go-cty's standard functions under their Terraform names.
func functions() map[string]function.Function {
	return map[string]function.Function{
		"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "floor": stdlib.FloorFunc,
		"log": stdlib.LogFunc, "max": stdlib.MaxFunc, "min": stdlib.MinFunc, "pow": stdlib.PowFunc,
		"signum": stdlib.SignumFunc, "parseint": stdlib.ParseIntFunc,
		"chomp": stdlib.ChompFunc, "format": stdlib.FormatFunc, "formatlist": stdlib.FormatListFunc,
		"indent": stdlib.IndentFunc, "join": stdlib.JoinFunc, "lower": stdlib.LowerFunc,
		"upper": stdlib.UpperFunc, "replace": stdlib.ReplaceFunc, "regex": stdlib.RegexFunc,
		"regexall": stdlib.RegexAllFunc, "split": stdlib.SplitFunc, "strrev": stdlib.ReverseFunc,
		"substr": stdlib.SubstrFunc, "title": stdlib.TitleFunc, "trim": stdlib.TrimFunc,
		"trimprefix": stdlib.TrimPrefixFunc, "trimsuffix": stdlib.TrimSuffixFunc,
		"trimspace": stdlib.TrimSpaceFunc, "strlen": stdlib.StrlenFunc,
		"chunklist": stdlib.ChunklistFunc, "coalesce": stdlib.CoalesceFunc,
		"coalescelist": stdlib.CoalesceListFunc, "compact": stdlib.CompactFunc,
		"concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc, "distinct": stdlib.DistinctFunc,
		"element": stdlib.ElementFunc, "flatten": stdlib.FlattenFunc, "keys": stdlib.KeysFunc,
		"length": stdlib.LengthFunc, "lookup": stdlib.LookupFunc, "merge": stdlib.MergeFunc,
		"range": stdlib.RangeFunc, "reverse": stdlib.ReverseListFunc, "slice": stdlib.SliceFunc,
		"sort": stdlib.SortFunc, "values": stdlib.ValuesFunc, "zipmap": stdlib.ZipmapFunc,
		"jsonencode": stdlib.JSONEncodeFunc, "jsondecode": stdlib.JSONDecodeFunc,
		"tostring": stdlib.MakeToFunc(cty.String), "tonumber": stdlib.MakeToFunc(cty.Number),
		"tobool": stdlib.MakeToFunc(cty.Bool), "tolist": stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
	}
}
