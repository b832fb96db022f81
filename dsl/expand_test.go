package dsl

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files from the current output")

// TestExpansion checks instance counts and addresses for grids, zips,
// fan-out and seeds.
func TestExpansion(t *testing.T) {
	cases := []struct {
		name  string
		src   string // appended to base
		block string // kind.name whose instances are checked
		want  []string
	}{
		{name: "grid", src: `
unlearn "osp" {
  model  = train.ortho
  method = "osp"
  forget = [0]
  sweep {
    ratio    = [0.01, 0.02, 0.05]
    strength = [0.2, 0.4]
  }
}`, block: "unlearn.osp", want: []string{
			"unlearn.osp[ratio=0.01,strength=0.2,seed=0]",
			"unlearn.osp[ratio=0.01,strength=0.4,seed=0]",
			"unlearn.osp[ratio=0.02,strength=0.2,seed=0]",
			"unlearn.osp[ratio=0.02,strength=0.4,seed=0]",
			"unlearn.osp[ratio=0.05,strength=0.2,seed=0]",
			"unlearn.osp[ratio=0.05,strength=0.4,seed=0]",
		}},
		{name: "zip", src: `
unlearn "osp" {
  model  = train.ortho
  method = "osp"
  forget = [0]
  zip {
    ratio    = [0.01, 0.02, 0.05]
    strength = [0.2, 0.4, 0.6]
  }
}`, block: "unlearn.osp", want: []string{
			"unlearn.osp[ratio=0.01,strength=0.2,seed=0]",
			"unlearn.osp[ratio=0.02,strength=0.4,seed=0]",
			"unlearn.osp[ratio=0.05,strength=0.6,seed=0]",
		}},
		{name: "zip crossed with a grid", src: `
unlearn "osp" {
  model  = train.ortho
  method = "osp"
  forget = [0]
  sweep { n_forget = [8, 64] }
  zip {
    ratio  = [0.01, 0.02]
    rounds = [1, 3]
  }
}`, block: "unlearn.osp", want: []string{
			"unlearn.osp[n_forget=8,ratio=0.01,rounds=1,seed=0]",
			"unlearn.osp[n_forget=8,ratio=0.02,rounds=3,seed=0]",
			"unlearn.osp[n_forget=64,ratio=0.01,rounds=1,seed=0]",
			"unlearn.osp[n_forget=64,ratio=0.02,rounds=3,seed=0]",
		}},
		{name: "list-valued references and methods fan out", src: `
unlearn "b" {
  model  = [train.ortho, train.plain]
  method = ["ssd", "finetune"]
  forget = [3]
}`, block: "unlearn.b", want: []string{
			"unlearn.b[method=ssd,model=ortho,seed=0]",
			"unlearn.b[method=finetune,model=ortho,seed=0]",
			"unlearn.b[method=ssd,model=plain,seed=0]",
			"unlearn.b[method=finetune,model=plain,seed=0]",
		}},
		{name: "a single reference does not add a key", src: `
unlearn "b" {
  model  = train.ortho
  method = "ssd"
  forget = [3]
}`, block: "unlearn.b", want: []string{"unlearn.b[seed=0]"}},
		{name: "every class forgotten in turn", src: `
unlearn "each" {
  model  = train.ortho
  method = "osp"
  sweep { forget = [for c in range(3) : [c]] }
}`, block: "unlearn.each", want: []string{
			"unlearn.each[forget=[0],seed=0]",
			"unlearn.each[forget=[1],seed=0]",
			"unlearn.each[forget=[2],seed=0]",
		}},
		{name: "a list of lists fans out forget sets", src: `
unlearn "pairs" {
  model  = train.ortho
  method = "ssd"
  forget = [[0, 1], [2, 3]]
}`, block: "unlearn.pairs", want: []string{
			"unlearn.pairs[forget=[0,1],seed=0]",
			"unlearn.pairs[forget=[2,3],seed=0]",
		}},
		{name: "dataset sweep keys reach the models", src: `
dataset "small" {
  kind            = "mnist"
  train_per_class = [100, 500]
}
train "s" {
  dataset = dataset.small
  arch    = "smallcnn"
  epochs  = 1
}`, block: "train.s", want: []string{
			"train.s[train_per_class=100,seed=0]",
			"train.s[train_per_class=500,seed=0]",
		}},
		{name: "an explicit train seed replaces the replicates", src: `
train "fixed" {
  dataset = dataset.mnist
  arch    = "smallcnn"
  epochs  = 1
  seed    = 7
}
unlearn "u" {
  model  = train.fixed
  method = "ssd"
  forget = [0]
}`, block: "unlearn.u", want: []string{"unlearn.u[seed=7]"}},
		{name: "an inherited key clashing with an own key is qualified", src: `
train "long" {
  dataset = dataset.mnist
  arch    = "smallcnn"
  sweep { epochs = [1, 2] }
}
unlearn "ft" {
  model  = train.long
  method = "finetune"
  forget = [0]
  sweep { epochs = [3] }
}`, block: "unlearn.ft", want: []string{
			"unlearn.ft[epochs=3,model.epochs=1,seed=0]",
			"unlearn.ft[epochs=3,model.epochs=2,seed=0]",
		}},
		{name: "locals hold sweeps and lists of references", src: `
locals {
  ratios = [for i in range(1, 4) : i / 100]
  models = [train.ortho, train.plain]
}
unlearn "osp" {
  model  = local.models
  method = "osp"
  forget = [0]
  sweep { ratio = local.ratios }
}`, block: "unlearn.osp", want: []string{
			"unlearn.osp[model=ortho,ratio=0.01,seed=0]",
			"unlearn.osp[model=ortho,ratio=0.02,seed=0]",
			"unlearn.osp[model=ortho,ratio=0.03,seed=0]",
			"unlearn.osp[model=plain,ratio=0.01,seed=0]",
			"unlearn.osp[model=plain,ratio=0.02,seed=0]",
			"unlearn.osp[model=plain,ratio=0.03,seed=0]",
		}},
		{name: "unlearning chains on an unlearned model", src: `
unlearn "osp" {
  model  = train.ortho
  method = "osp"
  forget = [0]
  sweep { ratio = [0.01, 0.02] }
}
unlearn "repair" {
  model  = unlearn.osp
  method = "finetune"
  forget = [0]
}`, block: "unlearn.repair", want: []string{
			"unlearn.repair[ratio=0.01,seed=0]",
			"unlearn.repair[ratio=0.02,seed=0]",
		}},
		{name: "evaluate fans in several blocks", src: `
unlearn "osp" {
  model  = train.ortho
  method = "osp"
  forget = [0]
  sweep { ratio = [0.01, 0.02] }
}
unlearn "base" {
  model  = train.ortho
  method = ["retrain", "ssd"]
  forget = [0]
}
evaluate "all" {
  models  = [unlearn.osp, unlearn.base, train.ortho]
  forget  = [0]
  retrain = unlearn.base
  metrics = ["acc_forget", "js_retrain"]
}`, block: "evaluate.all", want: []string{
			"evaluate.all[models=osp,ratio=0.01,seed=0]",
			"evaluate.all[models=osp,ratio=0.02,seed=0]",
			"evaluate.all[method=retrain,models=base,seed=0]",
			"evaluate.all[method=ssd,models=base,seed=0]",
			"evaluate.all[models=ortho,seed=0]",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			exp := mustLoad(t, base+c.src, Options{})
			kind, name, _ := strings.Cut(c.block, ".")
			if got := addresses(exp, kind, name); !reflect.DeepEqual(got, c.want) {
				t.Errorf("addresses\n got %q\nwant %q", got, c.want)
			}
			checkTopological(t, exp)
		})
	}
}

// checkTopological asserts that every dependency precedes its stage and
// that addresses are unique.
func checkTopological(t *testing.T, exp *Experiment) {
	t.Helper()
	pos := map[*Stage]int{}
	seen := map[string]bool{}
	for i, s := range exp.Stages {
		pos[s] = i
		if seen[s.Address] {
			t.Errorf("address %s appears twice", s.Address)
		}
		seen[s.Address] = true
		for _, d := range s.Deps {
			if p, ok := pos[d.Stage]; !ok || p >= i {
				t.Errorf("%s comes before its dependency %s", s.Address, d.Stage.Address)
			}
		}
	}
}

// TestSeedsReplicate checks that seeds replicate every seeded stage and
// that each replicate reads the upstream stage of the same seed.
func TestSeedsReplicate(t *testing.T) {
	src := strings.Replace(base, "seeds = [0]", "seeds = [0, 1, 2]", 1) + `
unlearn "u" {
  model  = train.ortho
  method = ["ssd", "osp"]
  forget = [0]
}
evaluate "e" { models = unlearn.u }
report "r" { from = evaluate.e }`
	exp := mustLoad(t, src, Options{})
	counts := map[string]int{}
	for _, s := range exp.Stages {
		counts[s.Kind+"."+s.Name]++
	}
	want := map[string]int{"dataset.mnist": 1, "train.ortho": 3, "train.plain": 3,
		"unlearn.u": 6, "evaluate.e": 6, "report.r": 1}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("instance counts %v, want %v", counts, want)
	}
	for _, s := range exp.Stages {
		if s.Kind != KindUnlearn && s.Kind != KindEvaluate {
			continue
		}
		seed, _ := s.Int("seed")
		up := s.Deps[0].Stage
		upSeed, _ := up.Int("seed")
		if seed != upSeed || !strings.HasSuffix(s.Address, "seed="+strconv.Itoa(seed)+"]") {
			t.Errorf("%s (seed %d) reads %s (seed %d)", s.Address, seed, up.Address, upSeed)
		}
	}
	r, _ := exp.Stage("report.r")
	if len(r.Deps) != 6 {
		t.Errorf("report.r gathers %d evaluations, want 6", len(r.Deps))
	}
}

// TestIssueExample expands the spec of the issue and compares every
// address with testdata/table3/addresses.golden (go test -update rewrites
// it).
func TestIssueExample(t *testing.T) {
	exp, diags := Load([]string{filepath.Join("testdata", "table3", "spec.hcl")}, nil, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	var b strings.Builder
	for _, s := range exp.Stages {
		b.WriteString(s.Address + "\n")
	}
	golden := filepath.Join("testdata", "table3", "addresses.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("addresses differ from %s (run go test -update to accept):\n%s", golden, b.String())
	}
	// 1 dataset, 2 trainings x 3 seeds, OSP: 2 models x 5 ratios x 3 seeds,
	// baselines: 4 methods x 3 seeds, one evaluation each, one report.
	if n := len(exp.Stages); n != 1+6+30+12+42+1 {
		t.Errorf("%d stages, want 92", n)
	}
	s, ok := exp.Stage("unlearn.osp[model=ortho,ratio=0.02,strength=0.4,seed=1]")
	if !ok {
		t.Fatal("the issue's example address is missing")
	}
	if len(s.Deps) != 1 || s.Deps[0].Param != "model" || s.Deps[0].Stage.Address != "train.ortho[seed=1]" {
		t.Errorf("deps %+v", s.Deps)
	}
	if r, _ := s.Float("ratio"); r != 0.02 {
		t.Errorf("ratio %v", r)
	}
	if n, _ := s.Int("n_forget"); n != 64 || !s.Params["n_forget"].Default {
		t.Errorf("n_forget default not filled: %v", s.Params["n_forget"])
	}
	// The swept value's own position: "0.02" inside the list.
	if p := s.Params["ratio"]; p.Range.Start.Line != 39 || p.Range.Start.Column != 23 || p.Default {
		t.Errorf("ratio written at %s, want line 39 column 23", p.Range)
	}
	checkTopological(t, exp)
}
