package dsl

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// block is a stage block before and after expansion.
type block struct {
	kind, name string
	def        *hcl.Block
	body       *hclsyntax.Body
	order      int
	deps       []blockEdge
	failed     bool
	instances  []*Stage
	refObj     *blockRef
}

func (b *block) ref() *blockRef {
	if b.refObj == nil {
		b.refObj = &blockRef{Kind: b.kind, Name: b.name}
	}
	return b.refObj
}

func (b *block) address() string { return b.kind + "." + b.name }

// stageRef is a reference to a block written in an expression.
type stageRef struct {
	target *blockRef
	rng    hcl.Range
}

type blockEdge struct {
	to  *block
	rng hcl.Range
}

// stageRefs lists the blocks an expression refers to, directly or through
// local values.
func (l *loader) stageRefs(expr hcl.Expression) []stageRef {
	var out []stageRef
	for _, t := range expr.Variables() {
		root := t.RootName()
		var name string
		if len(t) >= 2 {
			name = traversalName(t[1])
		}
		switch {
		case root == "local" && name != "":
			if ld, ok := l.locals[name]; ok {
				for _, r := range ld.refs {
					out = append(out, stageRef{target: r.target, rng: t.SourceRange()})
				}
			}
		case isKind(root) && name != "":
			if b, ok := l.byKind[root][name]; ok {
				out = append(out, stageRef{target: b.ref(), rng: t.SourceRange()})
			}
		case isKind(root):
			for _, n := range sortedKeys(l.byKind[root]) {
				out = append(out, stageRef{target: l.byKind[root][n].ref(), rng: t.SourceRange()})
			}
		}
	}
	return out
}

// blockAttrs lists every attribute of a block body and its nested blocks,
// in source order.
func blockAttrs(body *hclsyntax.Body) []*hclsyntax.Attribute {
	var out []*hclsyntax.Attribute
	for _, a := range body.Attributes {
		out = append(out, a)
	}
	for _, nb := range body.Blocks {
		out = append(out, blockAttrs(nb.Body)...)
	}
	sort.Slice(out, func(i, j int) bool { return rangeLess(out[i].SrcRange, out[j].SrcRange) })
	return out
}

// blockGraph links blocks by the references in their expressions, reports
// cycles, and returns the blocks in dependency order (ties in source
// order).
func (l *loader) blockGraph() []*block {
	for _, b := range l.blocks {
		seen := map[*block]bool{}
		for _, a := range blockAttrs(b.body) {
			for _, r := range l.stageRefs(a.Expr) {
				to := l.byKind[r.target.Kind][r.target.Name]
				if !seen[to] {
					seen[to] = true
					b.deps = append(b.deps, blockEdge{to: to, rng: r.rng})
				}
			}
		}
	}
	// Depth-first search for cycles; the edge that closes one is reported.
	state := map[*block]int{}
	var stack []*block
	var visit func(b *block)
	visit = func(b *block) {
		state[b] = 1
		stack = append(stack, b)
		for _, e := range b.deps {
			switch state[e.to] {
			case 0:
				visit(e.to)
			case 1:
				start := 0
				for i, s := range stack {
					if s == e.to {
						start = i
					}
				}
				var names []string
				for _, s := range stack[start:] {
					names = append(names, s.address())
					s.failed = true
				}
				names = append(names, e.to.address())
				l.errorf(e.rng.Ptr(), "Cycle between blocks",
					"Blocks refer to each other in a cycle: %s. A stage cannot depend on its own output.",
					strings.Join(names, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		state[b] = 2
	}
	for _, b := range l.blocks {
		if state[b] == 0 {
			visit(b)
		}
	}
	// Kahn's algorithm, taking the earliest ready block in source order.
	placed := map[*block]bool{}
	var order []*block
	for len(order) < len(l.blocks) {
		progress := false
		for _, b := range l.blocks {
			if placed[b] {
				continue
			}
			ready := true
			for _, e := range b.deps {
				if !placed[e.to] && e.to != b {
					ready = false
					break
				}
			}
			if ready {
				placed[b] = true
				order = append(order, b)
				progress = true
				break
			}
		}
		if !progress {
			// The rest sit on cycles (already reported) or depend on them.
			for _, b := range l.blocks {
				if !placed[b] {
					b.failed = true
					placed[b] = true
					order = append(order, b)
				}
			}
		}
	}
	return order
}

// paramSource is one parameter as written in a block, a sweep or a zip.
type paramSource struct {
	name  string
	attr  *hclsyntax.Attribute
	where string // "", "sweep" or "zip"
	group int    // which zip block
	val   cty.Value
}

// choice is one value a parameter takes in some instance.
type choice struct {
	val  cty.Value
	rng  hcl.Range
	expr hcl.Expression
}

// axis is a dimension of a block's expansion: one parameter (grid, fan-out)
// or several that move together (zip).
type axis struct {
	names   []string
	choices [][]choice // choices[i][j]: i-th position, j-th name
}

// upstream is one instance a block's primary reference yields.
type upstream struct {
	inst  *Stage
	from  *block
	rng   hcl.Range
	keyed bool // written as a list: the referenced block's name is a key
}

func elemChoices(src *paramSource) []choice {
	elems := elements(src.val)
	out := make([]choice, len(elems))
	tuple, _ := src.attr.Expr.(*hclsyntax.TupleConsExpr)
	for i, e := range elems {
		out[i] = choice{val: e, rng: src.attr.Expr.Range(), expr: src.attr.Expr}
		if tuple != nil && len(tuple.Exprs) == len(elems) {
			out[i].rng, out[i].expr = tuple.Exprs[i].Range(), tuple.Exprs[i]
		}
	}
	return out
}

// elemRange is the source range of element i of a list value.
func elemRange(c choice, i int) hcl.Range {
	if t, ok := c.expr.(*hclsyntax.TupleConsExpr); ok && i < len(t.Exprs) {
		return t.Exprs[i].Range()
	}
	return c.rng
}

func (l *loader) errorOnce(subject hcl.Range, summary, detail string) {
	for _, d := range l.diags {
		if d.Subject != nil && *d.Subject == subject && d.Detail == detail {
			return
		}
	}
	l.errorf(subject.Ptr(), summary, "%s", detail)
}

// expand turns a block into its instances.
func (l *loader) expand(b *block) {
	for _, e := range b.deps {
		if e.to.failed {
			b.failed = true // its own errors are already reported
			return
		}
	}
	errsBefore := len(l.diags.Errs())
	defer func() {
		if len(l.diags.Errs()) > errsBefore {
			b.failed = true
		}
	}()

	sources := l.gatherSources(b)
	if len(l.diags.Errs()) > errsBefore {
		return
	}
	methods := l.blockMethods(b, sources)
	if len(l.diags.Errs()) > errsBefore {
		return
	}
	specFor := func(name string) (ParamSpec, bool) {
		if p, ok := kindParam(b.kind, name); ok {
			return p, true
		}
		for _, m := range methods {
			if p, ok := m.Param(name); ok {
				return p, true
			}
		}
		return ParamSpec{}, false
	}
	l.checkNames(b, sources, methods, specFor)
	if len(l.diags.Errs()) > errsBefore {
		return
	}

	primary := primaryRef[b.kind]
	var ups []upstream
	var fanIn []*Stage
	fixed := map[string]choice{}
	var axes []*axis
	zips := map[int]*axis{}
	for i := range sources {
		src := &sources[i]
		spec, _ := specFor(src.name)
		switch {
		case spec.Refs != nil:
			refs := l.refChoices(b, src, spec)
			if refs == nil {
				return
			}
			if src.name != primary {
				fixed[src.name] = choice{val: refVal(refs[0].ref), rng: refs[0].rng, expr: src.attr.Expr}
				continue
			}
			for _, r := range refs {
				to := l.byKind[r.ref.Kind][r.ref.Name]
				if spec.FanIn {
					fanIn = append(fanIn, to.instances...)
					continue
				}
				for _, inst := range to.instances {
					ups = append(ups, upstream{inst: inst, from: to, rng: r.rng, keyed: r.listed})
				}
			}
		case src.where == "" && !fansOut(spec, src.val):
			fixed[src.name] = choice{val: src.val, rng: src.attr.Expr.Range(), expr: src.attr.Expr}
		case src.where == "zip":
			ax := zips[src.group]
			cs := l.listChoices(src)
			if cs == nil {
				return
			}
			if ax == nil {
				ax = &axis{choices: make([][]choice, len(cs))}
				zips[src.group] = ax
				axes = append(axes, ax)
			} else if len(ax.choices) != len(cs) {
				l.errorf(src.attr.Expr.Range().Ptr(), "Zip lists differ in length",
					"%s has %d values but %s has %d; the lists of a zip block move together, so they need the same length.",
					src.name, len(cs), ax.names[0], len(ax.choices))
				return
			}
			ax.names = append(ax.names, src.name)
			for i := range cs {
				ax.choices[i] = append(ax.choices[i], cs[i])
			}
		default: // a sweep, or a list given where one value is expected
			cs := l.listChoices(src)
			if cs == nil {
				return
			}
			ax := &axis{names: []string{src.name}}
			for _, c := range cs {
				ax.choices = append(ax.choices, []choice{c})
			}
			axes = append(axes, ax)
		}
	}
	if b.kind == KindTrain {
		if _, set := fixed["seed"]; set {
			// An explicit seed replaces the replicate axis but stays a key,
			// so that downstream stages pair with it as with any seed.
			ax := &axis{names: []string{"seed"}, choices: [][]choice{{fixed["seed"]}}}
			delete(fixed, "seed")
			axes = append(axes, ax)
		} else if !hasAxis(axes, "seed") {
			ax := &axis{names: []string{"seed"}}
			for i, s := range l.exp.Seeds {
				ax.choices = append(ax.choices, []choice{{val: cty.NumberIntVal(int64(s)), rng: elemRange(l.seedsAt, i)}})
			}
			axes = append(axes, ax)
		}
	}
	sort.SliceStable(axes, func(i, j int) bool {
		return keyLess(axes[i].names[0], axes[j].names[0])
	})

	if primary == "" || primaryIsFanIn(b.kind) {
		ups = []upstream{{}}
	}
	count := len(ups)
	for _, ax := range axes {
		count *= len(ax.choices)
		if count > maxInstancesPerBlock {
			break
		}
	}
	if count > maxInstancesPerBlock || l.stageCount+count > maxStages {
		l.errorf(b.def.DefRange.Ptr(), "Too many instances",
			"%s expands to more than %d instances (%d stages at most per experiment); reduce its sweeps.",
			b.address(), maxInstancesPerBlock, maxStages)
		return
	}

	seen := map[string]bool{}
	idx := make([]int, len(axes))
	for _, up := range ups {
		for {
			st := l.instance(b, methods, up, fanIn, fixed, axes, idx, sources)
			if st != nil {
				if seen[st.Address] {
					l.errorOnce(b.def.DefRange, "Duplicate instance",
						fmt.Sprintf("Two instances of %s have the address %s; give each list value once.", b.address(), st.Address))
				} else {
					seen[st.Address] = true
					b.instances = append(b.instances, st)
				}
			}
			if !next(idx, axes) {
				break
			}
		}
	}
	if len(l.diags.Errs()) > errsBefore {
		b.instances = nil
		return
	}
	l.stageCount += len(b.instances)
	l.exp.Stages = append(l.exp.Stages, b.instances...)
}

func primaryIsFanIn(kind string) bool {
	p, ok := kindParam(kind, primaryRef[kind])
	return ok && p.FanIn
}

func hasAxis(axes []*axis, name string) bool {
	for _, a := range axes {
		for _, n := range a.names {
			if n == name {
				return true
			}
		}
	}
	return false
}

func keyLess(a, b string) bool {
	if (a == "seed") != (b == "seed") {
		return b == "seed"
	}
	return a < b
}

// next advances the odometer over the axes, the last one fastest.
func next(idx []int, axes []*axis) bool {
	for i := len(idx) - 1; i >= 0; i-- {
		idx[i]++
		if idx[i] < len(axes[i].choices) {
			return true
		}
		idx[i] = 0
	}
	return false
}

// gatherSources collects a block's parameters from its body and its sweep
// and zip blocks, and evaluates them.
func (l *loader) gatherSources(b *block) []paramSource {
	var out []paramSource
	where := map[string]hcl.Range{}
	add := func(a *hclsyntax.Attribute, kind string, group int) {
		if prev, ok := where[a.Name]; ok {
			l.errorf(a.NameRange.Ptr(), "Parameter set twice",
				"%s is already set at %s; a parameter is either fixed, swept or zipped, once.", a.Name, prev)
			return
		}
		where[a.Name] = a.NameRange
		v, ok := l.eval(a.Expr)
		if !ok {
			return
		}
		out = append(out, paramSource{name: a.Name, attr: a, where: kind, group: group, val: v})
	}
	for _, a := range sortedAttrs(b.body.Attributes) {
		add(a, "", 0)
	}
	for i, nb := range b.body.Blocks {
		if nb.Type != "sweep" && nb.Type != "zip" {
			detail := fmt.Sprintf("Blocks of type %q are not expected here.", nb.Type)
			if s := suggest(nb.Type, []string{"sweep", "zip"}); s != "" {
				detail += fmt.Sprintf(" Did you mean %q?", s)
			} else if _, ok := kindParam(b.kind, nb.Type); ok {
				detail += fmt.Sprintf(" Did you mean to define argument %q? If so, use the equals sign to assign it a value.", nb.Type)
			}
			l.errorf(nb.TypeRange.Ptr(), "Unsupported block type", "%s", detail)
			continue
		}
		if b.kind == KindReport {
			l.errorf(nb.TypeRange.Ptr(), "Unsupported block type",
				"A report gathers all instances of its evaluate blocks; it cannot be swept.")
			continue
		}
		if len(nb.Labels) > 0 {
			l.errorf(nb.LabelRanges[0].Ptr(), "Extraneous label", "A %s block takes no label.", nb.Type)
			continue
		}
		for _, inner := range nb.Body.Blocks {
			l.errorf(inner.TypeRange.Ptr(), "Unsupported block type",
				"A %s block holds only parameter = [values] lines.", nb.Type)
		}
		if len(nb.Body.Attributes) == 0 {
			l.errorf(nb.TypeRange.Ptr(), "Empty "+nb.Type+" block", "A %s block needs at least one parameter.", nb.Type)
		}
		for _, a := range sortedAttrs(nb.Body.Attributes) {
			add(a, nb.Type, i)
		}
	}
	return out
}

func sortedAttrs(attrs hclsyntax.Attributes) []*hclsyntax.Attribute {
	out := make([]*hclsyntax.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return rangeLess(out[i].SrcRange, out[j].SrcRange) })
	return out
}

// blockMethods returns the methods an unlearn block names, checked.
func (l *loader) blockMethods(b *block, sources []paramSource) []*Variant {
	if b.kind != KindUnlearn {
		return nil
	}
	for i := range sources {
		src := &sources[i]
		if src.name != "method" {
			continue
		}
		cs := []choice{{val: src.val, rng: src.attr.Expr.Range(), expr: src.attr.Expr}}
		if src.val.Type().IsTupleType() || src.val.Type().IsListType() || src.val.Type().IsSetType() {
			cs = elemChoices(src)
		}
		var out []*Variant
		for _, c := range cs {
			if c.val.IsNull() || c.val.Type() != cty.String {
				l.errorf(c.rng.Ptr(), "Incorrect value type",
					"method needs a method name (a string) or a list of them; methods: %s.", quoteList(MethodNames()))
				continue
			}
			m, ok := LookupMethod(c.val.AsString())
			if !ok {
				l.errorf(c.rng.Ptr(), "Unknown method", "There is no unlearning method %q.%s Methods: %s.",
					c.val.AsString(), didYouMean(c.val.AsString(), MethodNames()), quoteList(MethodNames()))
				continue
			}
			out = append(out, m)
		}
		return out
	}
	return nil
}

// checkNames reports parameters that the block's kind (and methods) do not
// have, with a suggestion, and required ones that are missing.
func (l *loader) checkNames(b *block, sources []paramSource, methods []*Variant, specFor func(string) (ParamSpec, bool)) {
	given := map[string]bool{}
	for _, src := range sources {
		given[src.name] = true
		spec, ok := specFor(src.name)
		if !ok {
			var names []string
			for _, p := range kindParams[b.kind] {
				names = append(names, p.Name)
			}
			for _, m := range methods {
				for _, p := range m.Params {
					names = append(names, p.Name)
				}
			}
			if b.kind == KindUnlearn && len(methods) > 0 {
				var mnames, owners []string
				for _, m := range methods {
					mnames = append(mnames, m.Name)
				}
				for _, m := range Methods {
					if _, ok := m.Param(src.name); ok {
						owners = append(owners, m.Name)
					}
				}
				detail := fmt.Sprintf("Method %s has no parameter %q.", strings.Join(mnames, ", "), src.name)
				if len(mnames) > 1 {
					detail = fmt.Sprintf("None of the methods %s has a parameter %q.", strings.Join(mnames, ", "), src.name)
				}
				if len(owners) > 0 {
					detail += fmt.Sprintf(" It belongs to %s.", strings.Join(owners, ", "))
				} else {
					detail += didYouMean(src.name, names)
				}
				l.errorf(src.attr.NameRange.Ptr(), "Unsupported method parameter", "%s", detail)
				continue
			}
			l.errorf(src.attr.NameRange.Ptr(), "Unsupported argument", "An argument named %q is not expected in a %s block.%s",
				src.name, b.kind, didYouMean(src.name, names))
			continue
		}
		if src.where != "" && spec.NoSweep {
			l.errorf(src.attr.NameRange.Ptr(), "Cannot sweep parameter",
				"%s cannot be swept in a %s block; a list of references fans out by itself: %s = [a, b].", src.name, src.where, src.name)
		}
	}
	for _, p := range kindParams[b.kind] {
		// A chained unlearn block inherits its model's forget set.
		chained := b.kind == KindUnlearn && p.Name == "forget"
		if p.Default == cty.NilVal && !given[p.Name] && !chained {
			l.errorf(b.def.DefRange.Ptr(), "Missing required argument",
				"The argument %q is required, but no definition was found in %s.", p.Name, b.address())
		}
	}
}

type refChoice struct {
	ref    *blockRef
	rng    hcl.Range
	listed bool
}

// refChoices checks a reference parameter's value: blocks of the accepted
// kinds, each once.
func (l *loader) refChoices(b *block, src *paramSource, spec ParamSpec) []refChoice {
	var cs []choice
	listed := fansOut(spec, src.val)
	if listed {
		cs = elemChoices(src)
	} else {
		cs = []choice{{val: src.val, rng: src.attr.Expr.Range(), expr: src.attr.Expr}}
	}
	kinds := strings.Join(spec.Refs, " or ")
	if listed && spec.Single {
		l.errorf(src.attr.Expr.Range().Ptr(), "Incorrect value type", "%s takes one %s block, not a list.", src.name, kinds)
		return nil
	}
	if len(cs) == 0 {
		l.errorf(src.attr.Expr.Range().Ptr(), "Empty list", "%s needs at least one %s block.", src.name, kinds)
		return nil
	}
	var out []refChoice
	seen := map[*blockRef]bool{}
	ok := true
	for _, c := range cs {
		r, isRef := refOf(c.val)
		if !isRef {
			l.errorf(c.rng.Ptr(), "Incorrect value type",
				"%s needs a reference to a %s block, like %s.name.", src.name, kinds, spec.Refs[0])
			ok = false
			continue
		}
		accepted := false
		for _, k := range spec.Refs {
			accepted = accepted || k == r.Kind
		}
		if !accepted {
			l.errorf(c.rng.Ptr(), "Wrong kind of block",
				"%s must refer to a %s block; %s is a %s block.", src.name, kinds, r.address(), r.Kind)
			ok = false
			continue
		}
		if seen[r] {
			l.errorf(c.rng.Ptr(), "Duplicate reference", "%s lists %s twice.", src.name, r.address())
			ok = false
			continue
		}
		seen[r] = true
		out = append(out, refChoice{ref: r, rng: c.rng, listed: listed})
	}
	if !ok {
		return nil
	}
	return out
}

// listChoices returns the values of a swept, zipped or fanned-out
// parameter, checking that they form a non-empty list without repeats.
func (l *loader) listChoices(src *paramSource) []choice {
	ty := src.val.Type()
	if src.val.IsNull() || !(ty.IsTupleType() || ty.IsListType() || ty.IsSetType()) {
		l.errorf(src.attr.Expr.Range().Ptr(), "Sweep values must be a list",
			"In a %s block every parameter takes a list of values: write %s = [%s] to use one value.",
			src.where, src.name, formatValue(src.val))
		return nil
	}
	cs := elemChoices(src)
	if len(cs) == 0 {
		l.errorf(src.attr.Expr.Range().Ptr(), "Empty list",
			"%s = [] gives no values, so the block would have no instances.", src.name)
		return nil
	}
	seen := map[string]bool{}
	for _, c := range cs {
		t := formatValue(c.val)
		if seen[t] {
			l.errorf(c.rng.Ptr(), "Duplicate value", "%s lists %s twice.", src.name, t)
			return nil
		}
		seen[t] = true
	}
	return cs
}
