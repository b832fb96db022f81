package dsl

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkLoadIssueExample loads and expands the issue's Table 3 spec
// (92 stages).
func BenchmarkLoadIssueExample(b *testing.B) {
	path := filepath.Join("testdata", "table3", "spec.hcl")
	for b.Loop() {
		if _, diags := Load([]string{path}, nil, nil); diags.HasErrors() {
			b.Fatal(diags.Error())
		}
	}
}

// BenchmarkLoadLargeSweep expands an Appendix-A-sized sweep: 2 models x
// 3 seeds x 10 forget classes x 20 ratios x 5 strengths = 6,000 unlearn
// stages and as many evaluations.
func BenchmarkLoadLargeSweep(b *testing.B) {
	src := fmt.Sprintf(`experiment "big" { seeds = [0, 1, 2] }
dataset "c" {
  kind = "cifar10"
  path = "x"
}
train "a" {
  dataset = dataset.c
  arch    = "resnet18"
  epochs  = 1
}
train "b" {
  dataset = dataset.c
  arch    = "resnet18"
  epochs  = 1
}
unlearn "osp" {
  model  = [train.a, train.b]
  method = "osp"
  sweep {
    forget   = [for c in range(10) : [c]]
    ratio    = [for i in range(20) : (i + 1) / 100]
    strength = [0.2, 0.4, 0.6, 0.8, 1.0]
  }
}
evaluate "e" { models = unlearn.osp }
report "r" {
  from = evaluate.e
  rows = ["ratio"]
}
`)
	for b.Loop() {
		exp, diags := LoadSources([]Source{{Name: "big.hcl", Bytes: []byte(src)}}, Options{})
		if diags.HasErrors() {
			b.Fatal(diags.Error())
		}
		if n := len(exp.Stages); n != 1+6+6000+6000+1 {
			b.Fatalf("%d stages", n)
		}
	}
}
