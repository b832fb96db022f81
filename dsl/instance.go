package dsl

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// instance builds the stage for one upstream instance and one position on
// every axis, or returns nil (with diagnostics) if a value is invalid.
func (l *loader) instance(b *block, methods []*Variant, up upstream, fanIn []*Stage,
	fixed map[string]choice, axes []*axis, idx []int, sources []paramSource) *Stage {
	raw := make(map[string]choice, len(fixed)+len(axes))
	for name, c := range fixed {
		raw[name] = c
	}
	var own []Key
	for i, ax := range axes {
		for j, name := range ax.names {
			c := ax.choices[idx[i]][j]
			raw[name] = c
			own = append(own, Key{Name: name, Value: c.val, Text: formatValue(c.val)})
		}
	}
	primary := primaryRef[b.kind]
	if up.inst != nil && up.keyed {
		own = append(own, Key{Name: primary, Value: cty.StringVal(up.from.name), Text: up.from.name})
	}
	keys := inheritKeys(up, primary, own)

	st := &Stage{Kind: b.kind, Name: b.name, Params: map[string]Param{}, DefRange: b.def.DefRange}
	specs := append([]ParamSpec{}, kindParams[b.kind]...)
	if b.kind == KindUnlearn {
		m, _ := LookupMethod(raw["method"].val.AsString())
		specs = append(specs, m.Params...)
	}
	ok := true
	for _, spec := range specs {
		c, given := raw[spec.Name]
		switch {
		case spec.Refs != nil && spec.Name == primary && spec.FanIn:
			var addrs []cty.Value
			seen := map[*Stage]bool{}
			for _, s := range fanIn {
				if !seen[s] {
					seen[s] = true
					st.Deps = append(st.Deps, Dep{Param: spec.Name, Stage: s})
				}
			}
			for _, src := range sources {
				if src.name == spec.Name {
					for _, e := range elemOrSelf(src.val) {
						if r, isRef := refOf(e); isRef {
							addrs = append(addrs, cty.StringVal(r.address()))
						}
					}
					st.Params[spec.Name] = Param{Value: cty.ListVal(addrs), Range: src.attr.Expr.Range()}
				}
			}
		case spec.Refs != nil && spec.Name == primary:
			st.Deps = append(st.Deps, Dep{Param: spec.Name, Stage: up.inst})
			st.Params[spec.Name] = Param{Value: cty.StringVal(up.inst.Address), Range: up.rng}
		case spec.Refs != nil:
			// Auxiliary references are resolved per kind in finish.
			st.Params[spec.Name] = Param{Value: cty.NullVal(cty.String), Range: b.def.DefRange, Default: true}
		case given:
			v, ve := checkValue(spec, c.val, spec.Name)
			if ve != nil {
				l.errorOnce(c.rng, ve.summary, ve.detail)
				ok = false
				continue
			}
			st.Params[spec.Name] = Param{Value: v, Range: c.rng}
		case b.kind == KindUnlearn && spec.Name == "forget":
			if up.inst.Kind != KindUnlearn {
				l.errorOnce(b.def.DefRange, "Missing required argument", fmt.Sprintf(
					"The argument %q is required, but no definition was found in %s.", spec.Name, b.address()))
				ok = false
				continue
			}
			p := up.inst.Params["forget"]
			st.Params["forget"] = Param{Value: p.Value, Range: p.Range, Default: true}
		case spec.Name == "seed" && up.inst != nil:
			// unlearn and evaluate run with their model's seed.
			p := up.inst.Params["seed"]
			st.Params["seed"] = Param{Value: p.Value, Range: p.Range, Default: true}
		default:
			v := spec.Default
			if spec.Object != nil {
				v, _ = checkValue(spec, v, spec.Name)
			}
			st.Params[spec.Name] = Param{Value: v, Range: b.def.DefRange, Default: true}
		}
	}
	if !ok {
		return nil
	}
	st.SweepKeys = keys
	st.Address = address(b.kind, b.name, keys)
	if !l.finish(b, st, up, raw) {
		return nil
	}
	return st
}

func elemOrSelf(v cty.Value) []cty.Value {
	if v.Type().IsTupleType() || v.Type().IsListType() || v.Type().IsSetType() {
		return elements(v)
	}
	return []cty.Value{v}
}

// inheritKeys merges the upstream instance's keys with the block's own; an
// inherited key whose name the block also uses is renamed param.name.
func inheritKeys(up upstream, primary string, own []Key) []Key {
	var keys []Key
	if up.inst != nil {
		for _, k := range up.inst.SweepKeys {
			for _, o := range own {
				if o.Name == k.Name {
					k.Name = primary + "." + k.Name
					break
				}
			}
			keys = append(keys, k)
		}
	}
	keys = append(keys, own...)
	sortKeys(keys)
	return keys
}

// finish applies the rules that tie a stage's parameters to each other and
// to its upstream stages.
func (l *loader) finish(b *block, st *Stage, up upstream, raw map[string]choice) bool {
	switch b.kind {
	case KindDataset:
		kind := st.Params["kind"].Value.AsString()
		if kind != "mnist" && st.Params["path"].Value.IsNull() {
			l.errorOnce(b.def.DefRange, "Missing required argument",
				fmt.Sprintf("A %s dataset needs a path (only mnist ships with Lethe).", kind))
			return false
		}
		if kind != "cifar100" {
			if c, given := raw["labels"]; given {
				l.errorOnce(c.rng, "Unsupported argument", "labels applies to cifar100 datasets only.")
				return false
			}
			delete(st.Params, "labels")
		}
	case KindTrain:
		if st.Params["augment"].Value.IsNull() {
			kind := up.inst.Params["kind"].Value.AsString()
			st.Params["augment"] = Param{Value: cty.BoolVal(kind != "mnist"), Range: b.def.DefRange, Default: true}
		}
	case KindUnlearn:
		return l.checkForget(st, raw["forget"])
	case KindEvaluate:
		return l.finishEvaluate(b, st, up, raw)
	case KindReport:
		return l.finishReport(b, st, raw)
	}
	return true
}

// classes returns the number of classes of the dataset under a stage (0
// when only the data can tell, as for image folders).
func classes(st *Stage) (int, *Stage) {
	for s := st; s != nil; s = s.primary() {
		if s.Kind == KindDataset {
			kind := s.Params["kind"].Value.AsString()
			if kind == "cifar100" && s.Params["labels"].Value.AsString() == "coarse" {
				return 20, s
			}
			return datasetClasses[kind], s
		}
	}
	return 0, nil
}

func trainOf(st *Stage) *Stage {
	for s := st; s != nil; s = s.primary() {
		if s.Kind == KindTrain {
			return s
		}
	}
	return nil
}

// checkForget checks the forget classes against the dataset's classes;
// written is where the forget list was written.
func (l *loader) checkForget(st *Stage, written choice) bool {
	n, ds := classes(st)
	forget := st.Params["forget"]
	if n == 0 || forget.Value.IsNull() {
		return true
	}
	for i, e := range elements(forget.Value) {
		c, _ := e.AsBigFloat().Int64()
		if c >= int64(n) {
			l.errorOnce(elemRange(written, i), "Value out of range", fmt.Sprintf(
				"forget names class %d, but %s has %d classes (0-%d).", c, ds.Address, n, n-1))
			return false
		}
	}
	if forget.Value.LengthInt() >= n {
		l.errorOnce(written.rng, "Invalid value", fmt.Sprintf(
			"forget lists all %d classes of %s; nothing would be retained.", n, ds.Address))
		return false
	}
	return true
}

func (l *loader) finishEvaluate(b *block, st *Stage, up upstream, raw map[string]choice) bool {
	model := up.inst
	fc, forgetGiven := raw["forget"]
	if model.Kind == KindUnlearn {
		mf := model.Params["forget"]
		if forgetGiven && !fc.val.IsNull() && formatValue(st.Params["forget"].Value) != formatValue(mf.Value) {
			l.errorOnce(fc.rng, "Conflicting forget set", fmt.Sprintf(
				"forget = %s conflicts with %s's forget = %s; unlearned models bring their own forget set.",
				formatValue(st.Params["forget"].Value), model.Address, formatValue(mf.Value)))
			return false
		}
		st.Params["forget"] = Param{Value: mf.Value, Range: mf.Range, Default: true}
	} else if st.Params["forget"].Value.IsNull() {
		l.errorOnce(up.rng, "Missing forget set", fmt.Sprintf(
			"%s is a trained model with no forget set; set forget = [...] in %s to say which classes its accuracies split off.",
			model.Address, b.address()))
		return false
	} else if !l.checkForget(st, fc) {
		return false
	}
	jsAt := -1
	for i, m := range elements(st.Params["metrics"].Value) {
		if m.AsString() == "js_retrain" {
			jsAt = i
		}
	}
	rc, hasRetrain := raw["retrain"]
	if jsAt >= 0 && !hasRetrain {
		at := choice{rng: st.Params["metrics"].Range}
		if c, ok := raw["metrics"]; ok {
			at = c
		}
		l.errorOnce(elemRange(at, jsAt), "Missing retrain reference",
			`Metric js_retrain compares against a retrained model: set retrain = unlearn.<name>, an unlearn block with method "retrain".`)
		return false
	}
	if !hasRetrain {
		return true
	}
	r, _ := refOf(rc.val)
	rb := l.byKind[r.Kind][r.Name]
	var anyRetrain bool
	for _, cand := range rb.instances {
		if cand.Params["method"].Value.AsString() != "retrain" {
			continue
		}
		anyRetrain = true
		if trainOf(cand) == trainOf(model) &&
			formatValue(cand.Params["forget"].Value) == formatValue(st.Params["forget"].Value) {
			st.Params["retrain"] = Param{Value: cty.StringVal(cand.Address), Range: rc.rng}
			st.Deps = append(st.Deps, Dep{Param: "retrain", Stage: cand})
			return true
		}
	}
	if !anyRetrain {
		l.errorOnce(rc.rng, "No retrain instance", fmt.Sprintf(`%s has no instance with method = "retrain".`, rb.address()))
	} else {
		l.errorOnce(rc.rng, "No matching retrain instance", fmt.Sprintf(
			"%s has no retrain instance of %s with forget = %s, which js_retrain needs for the models derived from it.",
			rb.address(), trainOf(model).Address, formatValue(st.Params["forget"].Value)))
	}
	return false
}

// finishReport checks that the report's dimensions and values exist in the
// evaluations it gathers, and fills values with their metrics by default.
func (l *loader) finishReport(b *block, st *Stage, raw map[string]choice) bool {
	have := map[string]bool{}
	dims := map[string]bool{}
	for _, d := range st.Deps {
		for _, m := range elements(d.Stage.Params["metrics"].Value) {
			have[m.AsString()] = true
		}
		for _, k := range d.Stage.SweepKeys {
			dims[k.Name] = true
		}
		for s := d.Stage; s != nil; s = s.primary() {
			for name := range s.Params {
				dims[name] = true
			}
		}
	}
	var metrics []string
	for _, m := range Metrics {
		if have[m] {
			metrics = append(metrics, m)
		}
	}
	ok := true
	if c, given := raw["values"]; given {
		for i, v := range elements(st.Params["values"].Value) {
			if !have[v.AsString()] {
				l.errorOnce(elemRange(c, i), "Unknown report value", fmt.Sprintf(
					"No evaluate block of this report computes %q.%s Computed: %s.",
					v.AsString(), didYouMean(v.AsString(), metrics), quoteList(metrics)))
				ok = false
			}
		}
	} else {
		vals := make([]cty.Value, len(metrics))
		for i, m := range metrics {
			vals[i] = cty.StringVal(m)
		}
		st.Params["values"] = Param{Value: listOrEmpty(cty.String, vals), Range: b.def.DefRange, Default: true}
	}
	used := map[string]hcl.Range{}
	for _, name := range []string{"rows", "columns"} {
		c, given := raw[name]
		if !given {
			continue
		}
		for i, v := range elements(st.Params[name].Value) {
			dim := v.AsString()
			r := elemRange(c, i)
			if !dims[dim] {
				l.errorOnce(r, "Unknown report dimension", fmt.Sprintf(
					"%s names %q, which is neither a sweep key nor a parameter of the evaluated stages.%s",
					name, dim, didYouMean(dim, sortedKeys(dims))))
				ok = false
			}
			if prev, dup := used[dim]; dup {
				l.errorOnce(r, "Duplicate report dimension", fmt.Sprintf("%q is already used at %s.", dim, prev))
				ok = false
			}
			used[dim] = r
		}
	}
	return ok
}
