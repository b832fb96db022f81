package dsl

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzLoad feeds arbitrary bytes to the loader, which must answer with
// diagnostics, never a panic, and never stages alongside errors.
// Run: go test -run '^$' -fuzz FuzzLoad ./dsl
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*", "*.hcl"))
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add(base)
	f.Add(canonA)
	f.Add(canonB)
	f.Add(base + `unlearn "u" {
  model  = [train.ortho, train.plain]
  method = ["osp", "ssd"]
  forget = [[0], [1]]
  zip {
    ratio    = [0.1, 0.2]
    strength = [0.3, 0.4]
  }
}
evaluate "e" {
  models  = unlearn.u
  retrain = unlearn.u
  metrics = ["js_retrain"]
}
report "r" {
  from = [evaluate.e]
  rows = ["ratio"]
}`)
	f.Fuzz(func(t *testing.T, src string) {
		start := time.Now()
		defer func() {
			// A spec small enough to fuzz must load quickly; a slow one is
			// a bug worth keeping as a regression input.
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("loading took %v", d)
			}
		}()
		exp, diags := LoadSources([]Source{{Name: "fuzz.hcl", Bytes: []byte(src)}},
			Options{Vars: map[string]string{}})
		if exp == nil {
			t.Fatal("nil experiment")
		}
		if diags.HasErrors() && len(exp.Stages) > 0 {
			t.Fatal("stages returned alongside errors")
		}
		_ = WriteDiagnostics(discard{}, exp.Files, diags, 80, false)
		for _, s := range exp.Stages {
			_ = s.Canonical()
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
