package dsl

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

var multiDir = filepath.Join("testdata", "multi")

func multiFiles() []string {
	return []string{
		filepath.Join(multiDir, "1_experiment.hcl"),
		filepath.Join(multiDir, "2_models.hcl"),
		filepath.Join(multiDir, "3_unlearn.hcl"),
	}
}

func stageAddresses(exp *Experiment) []string {
	var out []string
	for _, s := range exp.Stages {
		out = append(out, s.Address)
	}
	return out
}

// TestDirectoryAndFiles loads one experiment split over three files, as a
// directory and as a list of files in another order.
func TestDirectoryAndFiles(t *testing.T) {
	dir, diags := Load([]string{multiDir}, nil, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want := []string{
		"dataset.mnist",
		"train.ortho[seed=0]", "train.ortho[seed=1]",
		"unlearn.osp[ratio=0.02,seed=0]", "unlearn.osp[ratio=0.04,seed=0]",
		"unlearn.osp[ratio=0.02,seed=1]", "unlearn.osp[ratio=0.04,seed=1]",
	}
	if got := stageAddresses(dir); !reflect.DeepEqual(got, want) {
		t.Errorf("directory: %q\nwant %q", got, want)
	}
	if len(dir.Files) != 3 {
		t.Errorf("%d files loaded, want the 3 .hcl files (not vars.hcl.txt)", len(dir.Files))
	}
	files := multiFiles()
	reversed := []string{files[2], files[1], files[0]}
	list, diags := Load(reversed, nil, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got := stageAddresses(list); !reflect.DeepEqual(got, want) {
		t.Errorf("files in reverse order: %q\nwant %q", got, want)
	}
	for i := range dir.Stages {
		if string(dir.Stages[i].Canonical()) != string(list.Stages[i].Canonical()) {
			t.Errorf("%s: canonical params depend on file order", dir.Stages[i].Address)
		}
	}
}

func TestDuplicateAcrossFiles(t *testing.T) {
	exp, diags := LoadSources([]Source{
		{Name: "a.hcl", Bytes: []byte("experiment \"x\" {}\ndataset \"d\" { kind = \"mnist\" }\n")},
		{Name: "b.hcl", Bytes: []byte("\ndataset \"d\" { kind = \"mnist\" }\n")},
	}, Options{})
	if !diags.HasErrors() {
		t.Fatal("duplicate dataset across files accepted")
	}
	d := diags[0]
	if d.Subject.Filename != "b.hcl" || d.Subject.Start.Line != 2 || d.Subject.Start.Column != 9 ||
		!strings.Contains(d.Detail, "already defined at a.hcl:2,1-12") {
		t.Errorf("got %s: %s", d.Subject, d.Detail)
	}
	if len(exp.Files) != 2 {
		t.Errorf("files for printing: %d", len(exp.Files))
	}
}

func TestMissingPaths(t *testing.T) {
	empty := t.TempDir()
	for _, paths := range [][]string{nil, {filepath.Join(empty, "nope.hcl")}, {empty}} {
		exp, diags := Load(paths, nil, nil)
		if !diags.HasErrors() || exp == nil || len(exp.Stages) != 0 {
			t.Errorf("Load(%q) gave no error", paths)
		}
	}
}

// TestVarOverrides checks -var and -var-file precedence: -var over
// -var-file over the default.
func TestVarOverrides(t *testing.T) {
	varFile := filepath.Join(multiDir, "vars.hcl.txt")
	cases := []struct {
		name     string
		vars     map[string]string
		varFiles []string
		epochs   int
		seeds    []int
	}{
		{"defaults", nil, nil, 2, []int{0, 1}},
		{"-var", map[string]string{"epochs": "4", "seeds": "[7, 8, 9]"}, nil, 4, []int{7, 8, 9}},
		{"-var-file", nil, []string{varFile}, 5, []int{3}},
		{"-var beats -var-file", map[string]string{"epochs": "6"}, []string{varFile}, 6, []int{3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			exp, diags := Load([]string{multiDir}, c.vars, c.varFiles)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if !reflect.DeepEqual(exp.Seeds, c.seeds) {
				t.Errorf("seeds %v, want %v", exp.Seeds, c.seeds)
			}
			trains := exp.Block(KindTrain, "ortho")
			if len(trains) != len(c.seeds) {
				t.Fatalf("%d trainings for seeds %v", len(trains), c.seeds)
			}
			for i, s := range trains {
				if e, _ := s.Int("epochs"); e != c.epochs {
					t.Errorf("%s: epochs %d, want %d", s.Address, e, c.epochs)
				}
				if seed, _ := s.Int("seed"); seed != c.seeds[i] {
					t.Errorf("%s: seed %d", s.Address, seed)
				}
			}
		})
	}
}

func TestVarErrors(t *testing.T) {
	badFile := filepath.Join(t.TempDir(), "bad.tfvars")
	if err := os.WriteFile(badFile, []byte("epochs = 3\nepoch = 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		vars     map[string]string
		varFiles []string
		pos      string // file:line:col or "" for none
		detail   string
	}{
		{"undeclared -var", map[string]string{"epoch": "3"}, nil, "",
			`-var epoch=3: the spec declares no variable "epoch". Did you mean "epochs"?`},
		{"wrong type", map[string]string{"epochs": `"many"`}, nil, "<value for var.epochs>:1:1",
			`Variable "epochs" needs a value of type number: a number is required.`},
		{"not an expression", map[string]string{"seeds": "[1,"}, nil, "<value for var.seeds>:1:4", ""},
		{"failed validation", map[string]string{"epochs": "0"}, nil, "<value for var.epochs>:1:1",
			"Train for at least one epoch.\n\nThis was checked by the validation rule at " +
				filepath.Join(multiDir, "1_experiment.hcl") + ":15,21-36."},
		{"undeclared in -var-file", nil, []string{badFile}, badFile + ":2:1",
			`A value was given for "epoch", which the spec does not declare. Did you mean "epochs"?`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			exp, diags := Load([]string{multiDir}, c.vars, c.varFiles)
			if !diags.HasErrors() {
				t.Fatal("no error")
			}
			d := diags[0]
			pos := ""
			if d.Subject != nil {
				pos = d.Subject.Filename + ":" + strconv.Itoa(d.Subject.Start.Line) + ":" + strconv.Itoa(d.Subject.Start.Column)
			}
			if pos != c.pos {
				t.Errorf("position %q, want %q", pos, c.pos)
			}
			if c.detail != "" && d.Detail != c.detail {
				t.Errorf("detail %q\nwant   %q", d.Detail, c.detail)
			}
			var b strings.Builder
			if err := WriteDiagnostics(&b, exp.Files, diags, 0, false); err != nil {
				t.Fatal(err)
			}
		})
	}
}
