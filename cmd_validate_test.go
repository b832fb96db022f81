package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"lethe/stages"
)

// runCLI runs the root command with args and returns stdout, stderr and
// the error main would turn into exit status 1.
func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func TestValidateQuickstart(t *testing.T) {
	out, errOut, err := runCLI(t, "validate", filepath.Join("experiments", "quickstart.hcl"))
	if err != nil {
		t.Fatalf("quickstart invalid: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, `experiment "quickstart" is valid: 32 stages`) {
		t.Errorf("output %q", out)
	}
}

func TestValidateReportsErrors(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "bad.hcl")
	src := "experiment \"x\" {}\ndataset \"m\" { kind = \"mnst\" }\n"
	if err := os.WriteFile(spec, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runCLI(t, "validate", spec)
	if err == nil || !strings.Contains(err.Error(), "1 error") {
		t.Fatalf("error %v, want a failure (exit status 1)", err)
	}
	want := spec + ":2:22: Error: Invalid value"
	if !strings.Contains(errOut, want) || !strings.Contains(errOut, `Did you mean "mnist"?`) ||
		!strings.Contains(errOut, `dataset "m" { kind = "mnst" }`) {
		t.Errorf("stderr lacks %q, the suggestion or the source line:\n%s", want, errOut)
	}
	if out != "" {
		t.Errorf("stdout %q on failure", out)
	}
}

// TestSpecFlags checks -var and -var-file in both the single- and the
// double-dash form.
func TestSpecFlags(t *testing.T) {
	quick := filepath.Join("experiments", "quickstart.hcl")
	vars := filepath.Join(t.TempDir(), "v.hcl")
	if err := os.WriteFile(vars, []byte("epochs = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"graph", quick, "-var", "epochs=7", "-var-file", vars, "--params"},
		{"graph", "--var=epochs=7", "--var-file=" + vars, quick, "--params"},
		{"graph", "-var=epochs=7", quick, "--params"},
	} {
		out, errOut, err := runCLI(t, args...)
		if err != nil {
			t.Fatalf("%q: %v\n%s", args, err, errOut)
		}
		if !strings.Contains(out, "epochs = 7  (experiments/quickstart.hcl:52)") {
			t.Errorf("%q: -var not applied:\n%s", args, out)
		}
	}
	_, _, err := runCLI(t, "validate", quick, "-var", "epochs")
	if err == nil || !strings.Contains(err.Error(), "name=value") {
		t.Errorf("malformed -var accepted: %v", err)
	}
	_, errOut, err := runCLI(t, "validate", quick, "-var", "epochs=0")
	if err == nil || !strings.Contains(errOut, "Train for at least one epoch.") {
		t.Errorf("failed validation not reported: %v\n%s", err, errOut)
	}
}

func TestGraphFormats(t *testing.T) {
	quick := filepath.Join("experiments", "quickstart.hcl")
	text, _, err := runCLI(t, "graph", quick)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(text, "\n")
	if !strings.HasPrefix(lines[0], `experiment "quickstart": 32 stages`) ||
		!strings.Contains(text, "unlearn.osp[model=plain,ratio=0.05,seed=0]\n    <- model: train.plain[seed=0]\n") {
		t.Errorf("text graph:\n%s", text)
	}
	dot, _, err := runCLI(t, "graph", "--format", "dot", quick)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`digraph "quickstart" {`,
		`"train.ortho[seed=0]" -> "unlearn.osp[model=ortho,ratio=0.02,seed=0]" [label="model"];`,
		`label="unlearn.baselines";`,
	} {
		if !strings.Contains(dot, want) {
			t.Errorf("dot output lacks %s", want)
		}
	}
	if strings.Count(dot, "{") != strings.Count(dot, "}") {
		t.Error("unbalanced braces in dot output")
	}
	if _, _, err := runCLI(t, "graph", "--format", "svg", quick); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestSpecCommandsHelp(t *testing.T) {
	for _, cmd := range []string{"validate", "graph"} {
		out, _, err := runCLI(t, cmd, "--help")
		if err != nil {
			t.Fatal(err)
		}
		for _, flag := range []string{"--var ", "--var-file "} {
			if !strings.Contains(out, flag) {
				t.Errorf("%s --help lacks %s:\n%s", cmd, flag, out)
			}
		}
		if cmd == "graph" && (!strings.Contains(out, "--format") || !strings.Contains(out, "--params")) {
			t.Errorf("graph --help lacks its flags:\n%s", out)
		}
	}
}

func TestDoubleDash(t *testing.T) {
	got := doubleDash([]string{"-var", "a=1", "-var-file=f", "--format", "dot", "-h", "x.hcl", "--", "-var"})
	want := []string{"--var", "a=1", "--var-file=f", "--format", "dot", "-h", "x.hcl", "--", "-var"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestVersionNamesTheNumerics(t *testing.T) {
	out, _, err := runCLI(t, "version")
	if err != nil || !strings.Contains(out, "numerics "+stages.NumericsVersion) || !strings.HasPrefix(out, "lethe ") {
		t.Fatalf("lethe version: %q, %v", out, err)
	}
}
