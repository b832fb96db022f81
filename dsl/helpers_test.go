package dsl

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// base is a small valid spec that test cases extend; it is 14 lines long,
// so a case's own lines start at line 15.
const base = `experiment "x" { seeds = [0] }
dataset "mnist" { kind = "mnist" }
train "ortho" {
  dataset      = dataset.mnist
  arch         = "smallcnn"
  epochs       = 1
  ortho_lambda = 0.001
}
train "plain" {
  dataset = dataset.mnist
  arch    = "smallcnn"
  epochs  = 1
}
# cases start on the next line
`

// loadString loads one in-memory file called spec.hcl.
func loadString(t *testing.T, src string, opts Options) (*Experiment, hcl.Diagnostics) {
	t.Helper()
	return LoadSources([]Source{{Name: "spec.hcl", Bytes: []byte(src)}}, opts)
}

// mustLoad loads a spec that must be valid.
func mustLoad(t *testing.T, src string, opts Options) *Experiment {
	t.Helper()
	exp, diags := loadString(t, src, opts)
	if diags.HasErrors() {
		var b strings.Builder
		WriteDiagnostics(&b, exp.Files, diags, 0, false)
		t.Fatalf("spec did not load:\n%s", b.String())
	}
	return exp
}

func addresses(exp *Experiment, kind, name string) []string {
	var out []string
	for _, s := range exp.Block(kind, name) {
		out = append(out, s.Address)
	}
	return out
}
