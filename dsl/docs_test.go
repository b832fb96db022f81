package dsl

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const (
	docsPath    = "../docs/spec-language.md"
	beginMarker = "<!-- BEGIN GENERATED REFERENCE -->\n"
	endMarker   = "<!-- END GENERATED REFERENCE -->"
)

// TestDocsReference checks that the parameter tables in the language docs
// match the loader's tables (go test -run TestDocs -update rewrites them).
func TestDocsReference(t *testing.T) {
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	begin := strings.Index(text, beginMarker)
	end := strings.Index(text, endMarker)
	if begin < 0 || end < begin {
		t.Fatalf("%s lacks the generated-reference markers", docsPath)
	}
	var ref strings.Builder
	if err := WriteReference(&ref); err != nil {
		t.Fatal(err)
	}
	current := text[begin+len(beginMarker) : end]
	if *update {
		text = text[:begin+len(beginMarker)] + ref.String() + text[end:]
		tmp := docsPath + ".tmp"
		if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, docsPath); err != nil {
			t.Fatal(err)
		}
		return
	}
	if current != ref.String() {
		t.Errorf("%s: the parameter reference is stale; run go test ./dsl -run TestDocs -update", docsPath)
	}
	for _, m := range Methods {
		for _, p := range m.Params {
			if !strings.Contains(current, "| `"+p.Name+"` | "+docDefault(p)+" |") {
				t.Errorf("docs lack %s.%s with its default", m.Name, p.Name)
			}
		}
	}
}

var hclBlock = regexp.MustCompile("(?s)```hcl\n(.*?)```")

// TestDocsExamples loads every complete example of the docs (those with an
// experiment block); each must be valid.
func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range hclBlock.FindAllStringSubmatch(string(doc), -1) {
		if !strings.Contains(m[1], "experiment \"") {
			continue
		}
		n++
		exp := mustLoad(t, m[1], Options{DataDir: "/data"})
		if len(exp.Stages) == 0 {
			t.Errorf("example %d has no stages", n)
		}
	}
	if n < 2 {
		t.Errorf("found %d complete examples, want at least 2", n)
	}
}

// TestQuickstart checks that the shipped quickstart validates and holds
// what the README promises: MNIST, SmallCNN, orthogonal and plain
// training, an OSP sweep, the paper's baselines, an evaluation, a report.
func TestQuickstart(t *testing.T) {
	exp, diags := Load([]string{filepath.Join("..", "experiments", "quickstart.hcl")}, nil, nil)
	if diags.HasErrors() {
		var b strings.Builder
		WriteDiagnostics(&b, exp.Files, diags, 0, false)
		t.Fatal(b.String())
	}
	methods := map[string]bool{}
	var orthogonal, plain, osp, report bool
	for _, s := range exp.Stages {
		switch s.Kind {
		case KindDataset:
			if k, _ := s.String("kind"); k != "mnist" {
				t.Errorf("%s is %s, not mnist", s.Address, k)
			}
		case KindTrain:
			if a, _ := s.String("arch"); a != "smallcnn" {
				t.Errorf("%s trains %s", s.Address, a)
			}
			l, _ := s.Float("ortho_lambda")
			orthogonal = orthogonal || l > 0
			plain = plain || l == 0
		case KindUnlearn:
			m, _ := s.String("method")
			methods[m] = true
			_, swept := s.Key("ratio")
			osp = osp || (m == "osp" && swept)
		case KindReport:
			report = true
		}
	}
	for _, m := range []string{"retrain", "ssd", "emni", "tfidf"} {
		if !methods[m] {
			t.Errorf("quickstart lacks the %s baseline", m)
		}
	}
	if !orthogonal || !plain || !osp || !report || len(exp.Block(KindEvaluate, "all")) == 0 {
		t.Errorf("quickstart lacks a part: orthogonal %v plain %v osp sweep %v report %v", orthogonal, plain, osp, report)
	}
}
