package main

import (
	"bytes"
	"fmt"
	"math/big"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"lethe/dsl"
	"lethe/paper"
)

// shippedSpecs lists experiments/*.hcl.
func shippedSpecs(t *testing.T) []string {
	t.Helper()
	specs, err := filepath.Glob(filepath.Join("experiments", "*.hcl"))
	if err != nil || len(specs) == 0 {
		t.Fatalf("no experiments/*.hcl: %v", err)
	}
	return specs
}

func loadSpec(t *testing.T, spec string, vars map[string]string) *dsl.Experiment {
	t.Helper()
	exp, diags := dsl.LoadWithOptions([]string{spec}, dsl.Options{Vars: vars, DataDir: defaultDataDir()})
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = dsl.WriteDiagnostics(&b, exp.Files, diags, 0, false)
		t.Fatalf("%s with %v is invalid:\n%s", spec, vars, b.String())
	}
	return exp
}

// paperSpecs are the specs that reproduce the paper's tables.
var paperSpecs = []string{"table1", "table2", "table3a", "table3b", "appendix_a", "osp_ablation"}

// TestExperimentsValidate loads every shipped spec at both scales (a spec
// without a scale variable, the quickstart, at its defaults) and checks
// that every report's paper table exists in package paper.
func TestExperimentsValidate(t *testing.T) {
	found := map[string]bool{}
	for _, spec := range shippedSpecs(t) {
		name := strings.TrimSuffix(filepath.Base(spec), ".hcl")
		found[name] = true
		def := loadSpec(t, spec, nil)
		scales := []map[string]string{nil}
		if _, ok := def.Variables["scale"]; ok {
			if v := def.Variables["scale"]; v.AsString() != "paper" {
				t.Errorf("%s: scale defaults to %q, want paper", spec, v.AsString())
			}
			scales = []map[string]string{{"scale": "paper"}, {"scale": "ci"}}
		} else if slices.Contains(paperSpecs, name) {
			t.Errorf("%s declares no scale variable", spec)
		}
		for _, vars := range scales {
			exp := loadSpec(t, spec, vars)
			named := 0
			for _, st := range exp.Stages {
				if st.Kind != dsl.KindReport {
					continue
				}
				v := st.Value("paper")
				if v.IsNull() {
					continue
				}
				named++
				if _, ok := paper.Describe(v.AsString()); !ok {
					t.Errorf("%s %v: %s names paper table %q, which package paper does not have (%v)",
						spec, vars, st.Address, v.AsString(), paper.Tables())
				}
			}
			if slices.Contains(paperSpecs, name) && named == 0 {
				t.Errorf("%s %v: no report names a paper table", spec, vars)
			}
		}
	}
	for _, name := range paperSpecs {
		if !found[name] {
			t.Errorf("experiments/%s.hcl is missing", name)
		}
	}
}

// cellLabel is an evaluation's label on a report dimension, as the report
// stage labels its cells: the sweep key as the address writes it, else the
// parameter of that name of the stage or the stages it builds on (a
// reference gives the block's name); an evaluation of a trained model has
// method "original" and model its train block.
func cellLabel(st *dsl.Stage, dim string) string {
	if k, ok := st.Key(dim); ok {
		return k.Text
	}
	if v, ok := st.Lookup(dim); ok {
		return valueText(v)
	}
	for _, d := range st.Deps {
		if d.Param == "models" && d.Stage.Kind == dsl.KindTrain {
			switch dim {
			case "method":
				return "original"
			case "model":
				return d.Stage.Name
			}
		}
	}
	return "—"
}

func valueText(v cty.Value) string {
	switch {
	case v.IsNull():
		return "—"
	case v.Type() == cty.String:
		return v.AsString()
	case v.Type() == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		if bf := v.AsBigFloat(); bf.IsInt() {
			if i, acc := bf.Int64(); acc == big.Exact {
				return strconv.FormatInt(i, 10)
			}
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	case v.CanIterateElements():
		var parts []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			parts = append(parts, valueText(e))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return v.GoString()
}

// TestExperimentsMeetThePaper checks that the reports' cells find the
// paper's values: at paper scale every value of the named table has a
// cell to stand beside (except where the spec measures only part of it),
// and at CI scale the CI cells (CIFAR-10, ResNet-18) still find theirs.
func TestExperimentsMeetThePaper(t *testing.T) {
	// The paper rows a report covers, by spec and report, at paper scale;
	// every other report must cover all rows of its table.
	partial := map[string]int{
		"osp_ablation/choices": 2, // ratio 0.05, both models
	}
	for _, spec := range shippedSpecs(t) {
		name := strings.TrimSuffix(filepath.Base(spec), ".hcl")
		if !slices.Contains(paperSpecs, name) {
			continue
		}
		for _, scale := range []string{"paper", "ci"} {
			exp := loadSpec(t, spec, map[string]string{"scale": scale})
			for _, rep := range exp.Stages {
				if rep.Kind != dsl.KindReport || rep.Value("paper").IsNull() {
					continue
				}
				table := rep.Value("paper").AsString()
				var dims []string
				for _, p := range []string{"rows", "columns"} {
					for it := rep.Value(p).ElementIterator(); it.Next(); {
						_, v := it.Element()
						dims = append(dims, v.AsString())
					}
				}
				var values []string
				for it := rep.Value("values").ElementIterator(); it.Next(); {
					_, v := it.Element()
					values = append(values, v.AsString())
				}
				covered := map[string]bool{}
				cells := 0
				for _, d := range rep.Deps {
					key := map[string]string{}
					for _, dim := range dims {
						key[dim] = cellLabel(d.Stage, dim)
					}
					rows := paper.Match(table, key)
					found := false
					for _, metric := range values {
						if _, ok := paper.Lookup(table, key, metric); ok {
							found = true
						}
					}
					if found {
						cells++
						covered[fmt.Sprint(rows[0].Key)] = true
					}
				}
				id := name + "/" + rep.Name
				want := len(paper.Rows(table))
				if n, ok := partial[id]; ok {
					want = n
				}
				switch {
				case scale == "paper" && len(covered) != want:
					t.Errorf("%s at paper scale: cells meet %d of %s's rows, want %d", id, len(covered), table, want)
				case cells == 0:
					t.Errorf("%s at %s scale: no cell finds a value of %s", id, scale, table)
				}
			}
		}
	}
}

// TestExperimentsShareModels checks that every spec trains its orthogonal
// and plain ResNet-18 on CIFAR-10 with the same data and recipe, at either
// scale: the runner then trains them once for all the specs.
func TestExperimentsShareModels(t *testing.T) {
	for _, scale := range []string{"paper", "ci"} {
		canon := map[string]string{} // block -> canonical params of it and its dataset
		where := map[string]string{}
		for _, spec := range shippedSpecs(t) {
			name := strings.TrimSuffix(filepath.Base(spec), ".hcl")
			if !slices.Contains(paperSpecs, name) {
				continue
			}
			exp := loadSpec(t, spec, map[string]string{"scale": scale})
			for _, st := range exp.Stages {
				if st.Kind != dsl.KindTrain || (st.Name != "ortho" && st.Name != "plain") ||
					st.Value("arch").AsString() != "resnet18" || cellLabel(st, "dataset") != "cifar10" {
					continue
				}
				var ds []byte
				for _, d := range st.Deps {
					if d.Param == "dataset" {
						ds = d.Stage.Canonical()
					}
				}
				c := string(st.Canonical()) + " " + string(ds)
				if prev, ok := canon[st.Name]; ok && prev != c {
					t.Errorf("scale %s: train.%s of %s differs from %s's:\n %s\n %s", scale, st.Name, name, where[st.Name], c, prev)
				}
				canon[st.Name], where[st.Name] = c, name
			}
		}
		if len(canon) != 2 {
			t.Errorf("scale %s: found the models %v, want ortho and plain", scale, canon)
		}
	}
}
