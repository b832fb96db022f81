package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"lethe/dsl"
	"lethe/runner"
	"lethe/tracking"
)

// reportSpec is a small experiment over two seeds whose report's rows and
// columns can be read off each evaluation's address: models and ratio
// (— without one) make the row, model (the models block for a trained
// model) the column.
func reportSpec(seeds, ratios string) string {
	return fmt.Sprintf(`
experiment "rep" {
  title = "Report test"
  seeds = %s
}
dataset "mnist" {
  kind            = "mnist"
  train_per_class = 20
  test_per_class  = 10
}
train "ortho" {
  dataset      = dataset.mnist
  arch         = "smallcnn"
  width        = 0.25
  epochs       = 1
  batch_size   = 32
  optimizer    = { name = "sgd", lr = 0.05 }
  ortho_lambda = 1e-3
}
train "plain" {
  dataset    = dataset.mnist
  arch       = "smallcnn"
  width      = 0.25
  epochs     = 1
  batch_size = 32
  optimizer  = { name = "sgd", lr = 0.05 }
}
unlearn "osp" {
  model    = [train.ortho, train.plain]
  method   = "osp"
  forget   = [1]
  n_forget = 16
  n_retain = 16
  sweep {
    ratio = %s
  }
}
evaluate "all" {
  models  = [train.ortho, train.plain, unlearn.osp]
  forget  = [1]
  metrics = ["acc_forget", "acc_retain", "time"]
}
report "summary" {
  from      = evaluate.all
  rows      = ["models", "ratio"]
  columns   = ["model"]
  values    = ["acc_forget", "acc_retain", "time"]
  precision = 3
}
`, seeds, ratios)
}

// ranReport runs the report spec once and returns its path and store.
func ranReport(t *testing.T) (spec, store string) {
	t.Helper()
	dir := t.TempDir()
	spec = filepath.Join(dir, "rep.hcl")
	if err := os.WriteFile(spec, []byte(reportSpec("[0, 1]", "[0.05, 0.1]")), 0o644); err != nil {
		t.Fatal(err)
	}
	store = filepath.Join(dir, "store")
	if out, err := runCLICombined(t, "run", spec, "--store", store, "-j", "2"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return spec, store
}

type jsonReport struct {
	Experiment string `json:"experiment"`
	Reports    []struct {
		Name  string `json:"name"`
		Seeds int    `json:"seeds"`
		Cells []struct {
			Row      map[string]string `json:"row"`
			Column   map[string]string `json:"column"`
			Metric   string            `json:"metric"`
			Values   []float64         `json:"values"`
			Expected int               `json:"expected"`
			N        int               `json:"n"`
			Mean     *float64          `json:"mean"`
			Std      *float64          `json:"std"`
			Text     string            `json:"text"`
		} `json:"cells"`
		Notes []string `json:"notes"`
	} `json:"reports"`
}

func reportJSON(t *testing.T, args ...string) jsonReport {
	t.Helper()
	out, errOut, err := runCLI(t, append([]string{"report"}, args...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var r jsonReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(r.Reports) != 1 {
		t.Fatalf("%d reports, want 1", len(r.Reports))
	}
	return r
}

// addressKeys reads the sweep keys of an address: kind.name[k=v,...].
func addressKeys(addr string) map[string]string {
	keys := map[string]string{}
	_, inner, ok := strings.Cut(addr, "[")
	if !ok {
		return keys
	}
	for _, kv := range strings.Split(strings.TrimSuffix(inner, "]"), ",") {
		k, v, _ := strings.Cut(kv, "=")
		keys[k] = v
	}
	return keys
}

// The acceptance test of issue 8: every cell of lethe report --format json
// holds exactly the metrics the database has for the evaluations that make
// the cell, and its mean and standard deviation are theirs.
func TestReportJSONAgreesWithTheDatabase(t *testing.T) {
	spec, storeDir := ranReport(t)
	rep := reportJSON(t, spec, "--store", storeDir, "--format", "json")
	if rep.Experiment != "rep" || rep.Reports[0].Name != "report.summary" || rep.Reports[0].Seeds != 2 {
		t.Fatalf("report %+v", rep)
	}

	store, err := tracking.OpenExisting(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	results, err := store.LatestByAddress("rep", nil)
	if err != nil {
		t.Fatal(err)
	}
	type cellKey struct{ models, ratio, model, metric string }
	want := map[cellKey][]float64{}
	expected := map[cellKey]int{}
	evaluations := 0
	for addr, res := range results {
		if res.Run.Kind != "evaluate" {
			continue
		}
		evaluations++
		k := addressKeys(addr)
		ratio, model := k["ratio"], k["model"]
		if ratio == "" {
			ratio = "—"
		}
		if model == "" {
			model = k["models"] // a trained model is its own model
		}
		for _, metric := range []string{"acc_forget", "acc_retain", "time"} {
			ck := cellKey{k["models"], ratio, model, metric}
			// A metric the evaluation did not measure (a trained model's
			// unlearning time) is no result the cell expects.
			for _, s := range res.Metrics {
				if p, ok := s.Last(); ok && s.Name == metric {
					want[ck] = append(want[ck], p.Value)
					expected[ck]++
				}
			}
		}
	}
	if evaluations != 12 {
		t.Fatalf("%d evaluations in the database, want 12", evaluations)
	}
	// The table is a grid: a trained model's row has a cell in the other
	// model's column too, which no evaluation falls into.
	cells, inGrid := rep.Reports[0].Cells, 0
	for _, c := range cells {
		if c.Expected > 0 {
			inGrid++
		}
	}
	if len(cells) != 24 || inGrid != len(expected) {
		t.Errorf("%d cells in the report, %d with results expected; the database fills %d", len(cells), inGrid, len(expected))
	}
	for _, c := range cells {
		ck := cellKey{c.Row["models"], c.Row["ratio"], c.Column["model"], c.Metric}
		got, w := slices.Clone(c.Values), slices.Clone(want[ck])
		sort.Float64s(got)
		sort.Float64s(w)
		if !slices.Equal(got, w) || c.N != len(w) || c.Expected != expected[ck] {
			t.Errorf("cell %v: values %v (n=%d/%d), database %v (of %d)", ck, c.Values, c.N, c.Expected, w, expected[ck])
			continue
		}
		if len(w) == 0 {
			if c.Mean != nil || c.Text != "—" {
				t.Errorf("cell %v without results: mean %v, text %q", ck, c.Mean, c.Text)
			}
			continue
		}
		mean := (w[0] + w[1]) / 2
		std := math.Abs(w[0]-w[1]) / math.Sqrt2
		if c.Mean == nil || math.Abs(*c.Mean-mean) > 1e-12 || math.Abs(*c.Std-std) > 1e-12 {
			t.Errorf("cell %v: mean %v ± %v, want %v ± %v", ck, c.Mean, c.Std, mean, std)
		}
	}
	// A trained model has no unlearning time: its cells are empty, and
	// said to be.
	if w := want[cellKey{"ortho", "—", "ortho", "time"}]; len(w) != 0 {
		t.Errorf("a trained model has a time in the database: %v", w)
	}
}

// A spec whose evaluations lack results marks each cell: n=k/m where some
// seeds are missing, — where all are, and a note says why.
func TestReportMarksMissingCells(t *testing.T) {
	spec, storeDir := ranReport(t)

	// A third seed that has not run: every cell rests on 2 of 3 results.
	if err := os.WriteFile(spec, []byte(reportSpec("[0, 1, 2]", "[0.05, 0.1]")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runCLI(t, "report", spec, "--store", storeDir)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	for _, want := range []string{"(n=2/3)", "over 3 seeds", "No results from 6 of 18 evaluations",
		"evaluate.all[models=ortho,seed=2], evaluate.all[model=ortho,models=osp,ratio=0.05,seed=2], evaluate.all[model=ortho,models=osp,ratio=0.1,seed=2]: waits for train.ortho[seed=2], which has not run yet"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "**") {
		t.Errorf("incomplete cells were marked best:\n%s", out)
	}

	// A new ratio whose unlearning failed: its cells have no results.
	if err := os.WriteFile(spec, []byte(reportSpec("[0, 1]", "[0.05, 0.1, 0.2]")), 0o644); err != nil {
		t.Fatal(err)
	}
	exp, diags := dsl.Load([]string{spec}, nil, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	store, err := tracking.Open(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := runner.NewPlan(exp, store, nil, runner.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const failing = "unlearn.osp[model=ortho,ratio=0.2,seed=0]"
	for _, s := range plan.Steps {
		if s.Stage.Address == failing {
			id, err := store.StartRun(tracking.RunInfo{Address: failing, Kind: "unlearn", CacheKey: s.Key})
			if err != nil {
				t.Fatal(err)
			}
			if err := store.FinishRun(id, tracking.Failed, "osp: out of memory\nstack..."); err != nil {
				t.Fatal(err)
			}
		}
	}
	store.Close()
	rep := reportJSON(t, spec, "--store", storeDir, "--format", "json")
	seen := 0
	for _, c := range rep.Reports[0].Cells {
		if c.Row["ratio"] != "0.2" {
			continue
		}
		seen++
		if c.N != 0 || c.Expected != 2 || c.Mean != nil || c.Text != "—" || len(c.Values) != 0 {
			t.Errorf("ratio 0.2 cell %+v: want no results of 2", c)
		}
	}
	if seen != 6 {
		t.Errorf("%d cells of ratio 0.2, want 2 models x 3 metrics", seen)
	}
	notes := strings.Join(rep.Reports[0].Notes, "\n")
	for _, want := range []string{
		"evaluate.all[model=ortho,models=osp,ratio=0.2,seed=0]: waits for " + failing + ", which failed: osp: out of memory;",
		"evaluate.all[model=plain,models=osp,ratio=0.2,seed=1]: waits for unlearn.osp[model=plain,ratio=0.2,seed=1], which has not run yet."} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if strings.Contains(notes, "stack...") {
		t.Errorf("notes carry more than the error's first line:\n%s", notes)
	}
}

func TestReportWritesTablesAndFigures(t *testing.T) {
	spec, storeDir := ranReport(t)
	dir := filepath.Join(t.TempDir(), "out")
	out, errOut, err := runCLI(t, "report", spec, "--store", storeDir, "--out", dir, "--format", "latex")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	want := []string{"summary.tex", "summary_ratio.png", "summary_ratio.svg", "training.png", "training.svg",
		"delta/unlearn.osp_model=ortho_ratio=0.05_seed=0.png", "delta/unlearn.osp_model=plain_ratio=0.1_seed=1.svg"}
	for _, w := range want {
		st, err := os.Stat(filepath.Join(dir, w))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", w, err)
		}
		if !strings.Contains(out, filepath.Join(dir, w)) {
			t.Errorf("output does not list %s:\n%s", w, out)
		}
	}
	tex, _ := os.ReadFile(filepath.Join(dir, "summary.tex"))
	if !strings.Contains(string(tex), `\begin{tabular}`) || !strings.Contains(string(tex), `$\pm$`) {
		t.Errorf("summary.tex:\n%s", tex)
	}
	deltas, _ := filepath.Glob(filepath.Join(dir, "delta", "*.png"))
	if len(deltas) != 8 {
		t.Errorf("%d Δ figures, want one per OSP stage (8)", len(deltas))
	}

	// --plots none writes the table alone; CSV to standard output works
	// for one report.
	dir2 := filepath.Join(t.TempDir(), "out")
	if _, errOut, err := runCLI(t, "report", spec, "--store", storeDir, "--out", dir2, "--plots", "none"); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	files, _ := os.ReadDir(dir2)
	if len(files) != 1 || files[0].Name() != "summary.md" {
		t.Errorf("--plots none wrote %v", files)
	}
	out, _, err = runCLI(t, "report", spec, "--store", storeDir, "--format", "csv", "--report", "summary")
	if err != nil || !strings.HasPrefix(out, "models,ratio,model=ortho · Acc_f (%) ↓ mean,") {
		t.Errorf("csv (%v):\n%s", err, out)
	}
}

func TestReportRejectsBadInput(t *testing.T) {
	spec, storeDir := ranReport(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "html"}, `--format: format "html": want md, csv, json or latex`},
		{[]string{"--plots", "gif", "--out", t.TempDir()}, `--plots "gif": want png, svg or none`},
		{[]string{"--plots", "png"}, "--plots: figures are written to files: name the folder with --out"},
		{[]string{"--report", "nosuch"}, `the spec has no report block "nosuch" (it has: summary)`},
		{[]string{"--store", filepath.Join(t.TempDir(), "none")}, "run `lethe run " + spec + "` first"},
	} {
		args := append([]string{"report", spec}, c.args...)
		if !slices.Contains(c.args, "--store") {
			args = append(args, "--store", storeDir)
		}
		_, _, err := runCLI(t, args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}

func TestReportHelpExplainsEveryFlag(t *testing.T) {
	out, _, err := runCLI(t, "report", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"--format", "--out", "--report", "--plots", "--store", "--var", "--var-file"} {
		i := strings.Index(out, "      "+flag+" ")
		if i < 0 {
			t.Errorf("help does not list %s:\n%s", flag, out)
			continue
		}
		line, _, _ := strings.Cut(out[i:], "\n")
		if len(strings.Fields(line)) < 5 {
			t.Errorf("%s is not explained: %q", flag, line)
		}
	}
}
