package stages

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lethe/reports"
)

const chained = `
experiment "a" { title = "Appendix" }
dataset "cifar10" { kind = "mnist" }
train "ortho" {
  dataset      = dataset.cifar10
  arch         = "resnet18"
  epochs       = 1
  ortho_lambda = 1e-3
}
unlearn "pruned" {
  model    = train.ortho
  method   = "osp"
  ratio    = 0.05
  strength = 0.4
  sweep { forget = [[1], [2]] }
}
unlearn "finetuned" {
  model  = unlearn.pruned
  method = "finetune"
}
evaluate "e" {
  models  = [unlearn.pruned, unlearn.finetuned]
  metrics = ["acc_forget", "acc_retain"]
}
report "r" {
  from      = evaluate.e
  rows      = ["forget"]
  columns   = ["method"]
  values    = ["acc_forget", "acc_retain"]
  format    = "csv"
  paper     = "appendix_a"
  precision = 1
}
`

// A report labels each evaluation with its context: the paper's keys,
// with the model of an unlearning chain named by its trained root.
func TestReportLabelsCarryTheContext(t *testing.T) {
	exp := load(t, chained)
	rep := stage(t, exp, "report.r")
	spec, format, err := ReportSpec(rep, exp)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Name != "report.r" || spec.Title != "Appendix" || spec.Paper != "appendix_a" || format != "csv" || spec.Precision != 1 ||
		len(spec.References["method"]) != 2 {
		t.Fatalf("spec %+v, format %q", spec, format)
	}
	evals, labels := ReportLabels(rep, spec)
	if len(evals) != 4 || len(labels) != 4 {
		t.Fatalf("%d evaluations, %d labels", len(evals), len(labels))
	}
	for i, l := range labels {
		want := map[string]string{"dataset": "cifar10", "arch": "resnet18", "model": "ortho", "ratio": "0.05", "strength": "0.4", "seed": "0"}
		for k, v := range want {
			if l[k] != v {
				t.Errorf("%s: %s = %q, want %q (labels %v)", evals[i].Address, k, l[k], v, l)
			}
		}
		wantMethod := "osp"
		if strings.Contains(evals[i].Address, "finetuned") {
			wantMethod = "finetune"
		}
		if l["method"] != wantMethod || (l["forget"] != "[1]" && l["forget"] != "[2]") {
			t.Errorf("%s: method %q forget %q", evals[i].Address, l["method"], l["forget"])
		}
	}
}

// The report stage writes the format it names beside report.md and
// report.json, marks a failed evaluation's cell, and places the paper's
// numbers (package paper's Appendix A) beside Lethe's, the fine-tuned
// model's found through the trained model at the root of its chain.
func TestReportStageWritesItsFormat(t *testing.T) {
	exp := load(t, chained)
	rep := stage(t, exp, "report.r")
	_, labels := ReportLabels(rep, reports.Spec{Rows: []string{"forget"}, Columns: []string{"method"}})
	var inputs []Input
	for i, d := range rep.Deps {
		in := Input{Param: "from", Stage: d.Stage}
		if i == 3 {
			in.Missing = "FAILED: out of memory"
		} else {
			in.Dir = t.TempDir()
			if err := WriteJSON(in.Path(MetricsFile), EvalResult{Model: d.Stage.Address,
				Metrics: map[string]float64{"acc_forget": 0.01 * float64(i), "acc_retain": 0.9}}); err != nil {
				t.Fatal(err)
			}
		}
		inputs = append(inputs, in)
	}
	dir := runStage(t, &Env{Log: os.Stderr}, exp, rep, inputs...)
	f, err := os.Open(filepath.Join(dir, "report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0][0] != "forget" || recs[0][1] != "method=osp · Acc_f (%) ↓ mean" || recs[0][5] != "method=osp · Acc_f (%) ↓ paper" {
		t.Fatalf("csv %q", recs)
	}
	md, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### Appendix", "FAILED: out of memory", " " + reports.Missing + " |",
		"method=osp · Acc_r (%) ↑ · Lethe", "method=osp · Acc_r (%) ↑ · paper", "method=finetune · Acc_r (%) ↑ · paper",
		" 90.34 |", " 89.79 |", " 92.47 |", "paper: the value the paper publishes in appendix_a"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	var js struct {
		Name  string `json:"name"`
		Paper string `json:"paper"`
	}
	b, err := os.ReadFile(filepath.Join(dir, ReportJSONFile))
	if err != nil || json.Unmarshal(b, &js) != nil || js.Name != "report.r" || js.Paper != "appendix_a" {
		t.Errorf("report.json: %v %+v", err, js)
	}
	if len(labels) != 4 {
		t.Errorf("labels %v", labels)
	}
}
