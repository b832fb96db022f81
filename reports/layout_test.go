package reports

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// unlearning builds observations of a Table-2-like experiment: methods on
// two datasets over seeds, with the model before unlearning and retrain.
func unlearning() []Observation {
	var obs []Observation
	add := func(dataset, method string, seed int, accF, accR, t float64) {
		obs = append(obs, Observation{
			Dims:    map[string]string{"dataset": dataset, "method": method, "seed": fmt.Sprint(seed), "arch": "resnet18", "forget": "[1]"},
			Metrics: map[string]float64{"acc_forget": accF, "acc_retain": accR, "time": t},
		})
	}
	for seed := range 2 {
		for _, ds := range []string{"cifar10", "cifar100"} {
			d := 0.001 * float64(seed)
			add(ds, "original", seed, 0.96+d, 0.94, 0)
			add(ds, "retrain", seed, 0, 0.93, 4000)
			add(ds, "ssd", seed, 0.04+d, 0.89, 21)
			add(ds, "osp", seed, 0+d, 0.90+d, 0.12)
		}
	}
	return obs
}

func cellOf(t *testing.T, tab *Table, row, col []string, metric string) Cell {
	t.Helper()
	r := slices.IndexFunc(tab.RowLabels, func(l []string) bool { return slices.Equal(l, row) })
	c := slices.IndexFunc(tab.ColumnLabels, func(l []string) bool { return slices.Equal(l, col) })
	v := slices.Index(tab.Spec.Values, metric)
	if r < 0 || c < 0 || v < 0 {
		t.Fatalf("no cell %v %v %s in rows %v columns %v", row, col, metric, tab.RowLabels, tab.ColumnLabels)
	}
	return tab.Cells[r][c][v]
}

var refs = map[string][]string{"method": {"original", "retrain"}}

func TestBestFollowsEachMetricsDirectionAmongCompetitors(t *testing.T) {
	tab, err := Build(Spec{Rows: []string{"method"}, Columns: []string{"dataset"}, Values: []string{"acc_forget", "acc_retain", "time"},
		Precision: 2, References: refs}, unlearning())
	if err != nil {
		t.Fatal(err)
	}
	if tab.Compared != "method" {
		t.Fatalf("compared %q, want method", tab.Compared)
	}
	for _, c := range []struct {
		method, metric string
		best           bool
	}{
		{"osp", "acc_forget", true}, {"ssd", "acc_forget", false},
		{"retrain", "acc_forget", false},                           // a reference: 0 but not competing
		{"osp", "acc_retain", false}, {"ssd", "acc_retain", false}, // 90.05 vs 89.00: osp
		{"original", "acc_retain", false},
		{"osp", "time", true}, {"ssd", "time", false},
	} {
		want := c.best
		if c.method == "osp" && c.metric == "acc_retain" {
			want = true
		}
		for _, ds := range []string{"cifar10", "cifar100"} {
			if got := cellOf(t, tab, []string{c.method}, []string{ds}, c.metric).Best; got != want {
				t.Errorf("%s %s %s: best = %v, want %v", ds, c.method, c.metric, got, want)
			}
		}
	}
	if !strings.Contains(tab.Caption(), "bold: the best of each comparison of methods (↓ lower is better, ↑ higher), references (method=original/retrain) not competing") {
		t.Errorf("caption %q", tab.Caption())
	}
}

func TestBestNeedsTwoCompleteDifferentValues(t *testing.T) {
	o := func(method, seed string, accF float64, failed bool) Observation {
		return Observation{Dims: map[string]string{"method": method, "seed": seed}, Metrics: map[string]float64{"acc_forget": accF, "acc_class_3": accF}, Failed: failed}
	}
	// ssd is lower but rests on one of two seeds: it does not compete,
	// and osp alone is no comparison.
	tab, err := Build(Spec{Rows: []string{"method"}, Values: []string{"acc_forget", "acc_class_3"}, Precision: 1},
		[]Observation{o("osp", "0", 0.5, false), o("osp", "1", 0.5, false), o("ssd", "0", 0.1, false), o("ssd", "1", 0, true)})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"osp", "ssd"} {
		if cellOf(t, tab, []string{m}, []string{}, "acc_forget").Best {
			t.Errorf("%s marked best without a complete comparison", m)
		}
	}
	// Values equal at the shown precision tie; a unanimous column has no
	// best; a neutral metric never has one.
	tab, err = Build(Spec{Rows: []string{"method"}, Values: []string{"acc_forget", "acc_class_3"}, Precision: 1},
		[]Observation{o("a", "0", 0.10001, false), o("b", "0", 0.1, false), o("c", "0", 0.3, false)})
	if err != nil {
		t.Fatal(err)
	}
	for m, want := range map[string]bool{"a": true, "b": true, "c": false} {
		if got := cellOf(t, tab, []string{m}, []string{}, "acc_forget").Best; got != want {
			t.Errorf("tie: %s best = %v, want %v", m, got, want)
		}
		if cellOf(t, tab, []string{m}, []string{}, "acc_class_3").Best {
			t.Errorf("neutral metric marked best for %s", m)
		}
	}
	tab, err = Build(Spec{Rows: []string{"method"}, Values: []string{"acc_forget"}, Precision: 1},
		[]Observation{o("a", "0", 0.1, false), o("b", "0", 0.1, false)})
	if err != nil {
		t.Fatal(err)
	}
	if tab.anyBest() || strings.Contains(tab.Caption(), "bold") {
		t.Errorf("unanimous values marked best; caption %q", tab.Caption())
	}
}

// With method nested inside arch, each arch is its own comparison; with
// the model in the columns (Table 3a), the models compete in each row.
func TestComparisonsFollowTheLayout(t *testing.T) {
	var obs []Observation
	for _, arch := range []string{"resnet18", "vgg16_bn"} {
		for i, m := range []string{"ssd", "osp"} {
			x := 0.1 * float64(i+1)
			if arch == "vgg16_bn" {
				x = 0.3 - x
			}
			obs = append(obs, Observation{Dims: map[string]string{"arch": arch, "method": m, "seed": "0"}, Metrics: map[string]float64{"acc_forget": x}})
		}
	}
	tab, err := Build(Spec{Rows: []string{"arch", "method"}, Values: []string{"acc_forget"}, Precision: 2}, obs)
	if err != nil {
		t.Fatal(err)
	}
	if !cellOf(t, tab, []string{"resnet18", "ssd"}, []string{}, "acc_forget").Best || !cellOf(t, tab, []string{"vgg16_bn", "osp"}, []string{}, "acc_forget").Best ||
		cellOf(t, tab, []string{"vgg16_bn", "ssd"}, []string{}, "acc_forget").Best {
		t.Errorf("arch blocks compared together: %+v", tab.Cells)
	}

	obs = nil
	for _, ratio := range []string{"0.01", "0.05"} {
		for _, model := range []string{"ortho", "plain"} {
			x := map[string]float64{"ortho": 0.2, "plain": 0.6}[model]
			obs = append(obs, Observation{Dims: map[string]string{"ratio": ratio, "model": model, "seed": "0"}, Metrics: map[string]float64{"acc_forget": x}})
		}
	}
	tab, err = Build(Spec{Rows: []string{"ratio"}, Columns: []string{"model"}, Values: []string{"acc_forget"}, Precision: 2}, obs)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Compared != "model" {
		t.Fatalf("compared %q", tab.Compared)
	}
	for _, ratio := range []string{"0.01", "0.05"} {
		if !cellOf(t, tab, []string{ratio}, []string{"ortho"}, "acc_forget").Best || cellOf(t, tab, []string{ratio}, []string{"plain"}, "acc_forget").Best {
			t.Errorf("ratio %s: ortho should beat plain", ratio)
		}
	}
	if _, err := Build(Spec{Rows: []string{"ratio"}, Values: []string{"acc_forget"}, Compare: "model"}, obs); err == nil {
		t.Error("Build accepted a compare dimension that is not laid out")
	}
}

func TestCellsThatAverageOverMoreThanSeedsAreMarked(t *testing.T) {
	obs := []Observation{
		{Dims: map[string]string{"method": "osp", "ratio": "0.02", "seed": "0"}, Metrics: map[string]float64{"acc_forget": 0.2}},
		{Dims: map[string]string{"method": "osp", "ratio": "0.05", "seed": "0"}, Metrics: map[string]float64{"acc_forget": 0.0}},
		{Dims: map[string]string{"method": "ssd", "seed": "0"}, Metrics: map[string]float64{"acc_forget": 0.1}},
		{Dims: map[string]string{"method": "ssd", "seed": "1"}, Metrics: map[string]float64{"acc_forget": 0.3}},
	}
	tab, err := Build(Spec{Rows: []string{"method"}, Values: []string{"acc_forget"}, Precision: 1}, obs)
	if err != nil {
		t.Fatal(err)
	}
	osp := cellOf(t, tab, []string{"osp"}, []string{}, "acc_forget")
	if !slices.Equal(osp.Mixed, []string{"ratio"}) || !strings.HasSuffix(tab.Text("acc_forget", osp), " †") {
		t.Errorf("osp cell mixes two ratios: mixed %v, text %q", osp.Mixed, tab.Text("acc_forget", osp))
	}
	ssd := cellOf(t, tab, []string{"ssd"}, []string{}, "acc_forget")
	if ssd.Mixed != nil || tab.Text("acc_forget", ssd) != "20.0 ± 14.1" {
		t.Errorf("ssd is two seeds: %+v %q", ssd, tab.Text("acc_forget", ssd))
	}
	if osp.Best || ssd.Best {
		t.Error("a mixed cell took part in a comparison")
	}
	if len(tab.Notes) != 1 || !strings.Contains(tab.Notes[0], "method=osp (ratio)") {
		t.Errorf("notes %q", tab.Notes)
	}
}

func TestRowsKeepOuterLabelsTogether(t *testing.T) {
	var obs []Observation
	for _, m := range []string{"ssd", "osp"} {
		for _, arch := range []string{"resnet18", "vgg16_bn"} {
			obs = append(obs, Observation{Dims: map[string]string{"arch": arch, "method": m}, Metrics: map[string]float64{"time": 1}})
		}
	}
	tab, err := Build(Spec{Rows: []string{"arch", "method"}, Values: []string{"time"}}, obs)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"resnet18", "ssd"}, {"resnet18", "osp"}, {"vgg16_bn", "ssd"}, {"vgg16_bn", "osp"}}
	if !reflect.DeepEqual(tab.RowLabels, want) {
		t.Fatalf("rows %v, want %v", tab.RowLabels, want)
	}
	var md bytes.Buffer
	if err := tab.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(md.String(), "\n") {
		if strings.HasPrefix(l, "|") {
			rows = append(rows, strings.Join(strings.Fields(l), " "))
		}
	}
	if len(rows) != 6 || !strings.HasPrefix(rows[2], "| resnet18 | ssd |") || !strings.HasPrefix(rows[3], "| | osp |") ||
		!strings.HasPrefix(rows[4], "| vgg16_bn | ssd |") {
		t.Errorf("repeated outer labels are not blank:\n%s", md.String())
	}
}

// fakePaper records the keys it is asked for and answers from a map of
// "table|method|dataset|metric".
type fakePaper struct {
	values map[string]PaperValue
	asked  []map[string]string
}

func (f *fakePaper) Lookup(table string, key map[string]string, metric string) (PaperValue, bool) {
	f.asked = append(f.asked, maps.Clone(key))
	v, ok := f.values[table+"|"+key["method"]+"|"+key["dataset"]+"|"+metric]
	return v, ok
}

func paperTable(t *testing.T, p Published) *Table {
	t.Helper()
	tab, err := Build(Spec{Name: "report.t2", Title: "T2", Rows: []string{"method"}, Columns: []string{"dataset"},
		Values: []string{"acc_forget", "time"}, Precision: 2, Paper: "table2", References: refs}, unlearning())
	if err != nil {
		t.Fatal(err)
	}
	tab.PlaceBeside(p)
	return tab
}

func TestPaperValuesStandBesideLethes(t *testing.T) {
	fp := &fakePaper{values: map[string]PaperValue{
		"table2|osp|cifar10|acc_forget": {Value: 0, Decimals: 1, Text: "0.0%", Source: "Table 2, Ours, CIFAR-10"},
		"table2|ssd|cifar10|acc_forget": {Value: 0.0437, Decimals: 2, Text: "4.37%", Source: "Table 2, SSD, CIFAR-10"},
		"table2|osp|cifar10|time":       {Value: 0.1254, Decimals: 4, Text: "0.1254s", Source: "Table 2, Ours, CIFAR-10, time"},
	}}
	tab := paperTable(t, fp)
	// Every lookup carries the cell's context, not only its row and column.
	for _, k := range fp.asked {
		if k["arch"] != "resnet18" || k["forget"] != "[1]" || k["method"] == "" || k["dataset"] == "" || k["seed"] != "" {
			t.Fatalf("lookup key %v lacks the cell's context (or has its seed)", k)
		}
	}
	h := tab.Header()
	want := []string{"method", "dataset=cifar10 · Acc_f (%) ↓ · Lethe", "dataset=cifar10 · Acc_f (%) ↓ · paper",
		"dataset=cifar10 · time (s) ↓ · Lethe", "dataset=cifar10 · time (s) ↓ · paper",
		"dataset=cifar100 · Acc_f (%) ↓", "dataset=cifar100 · time (s) ↓"}
	if !slices.Equal(h, want) {
		t.Fatalf("header\n%q\nwant\n%q", h, want)
	}
	body := tab.Body()
	row := func(m string) []string {
		for _, r := range body {
			if r[0] == m {
				return r
			}
		}
		t.Fatalf("no row %s in %v", m, body)
		return nil
	}
	if r := row("ssd"); r[2] != "4.37" || r[4] != Missing {
		t.Errorf("ssd row %q: want the paper's 4.37 beside Acc_f and no time", r)
	}
	if r := row("osp"); r[1] != "0.05 ± 0.07" || r[2] != "0.0" || r[4] != "0.1254" {
		t.Errorf("osp row %q", r)
	}
	var md bytes.Buffer
	if err := tab.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "paper: the value the paper publishes in table2") {
		t.Errorf("markdown does not say where the paper column comes from:\n%s", md.String())
	}
	js, err := tab.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Paper string `json:"paper"`
		Cells []struct {
			Row    map[string]string `json:"row"`
			Column map[string]string `json:"column"`
			Metric string            `json:"metric"`
			Paper  *struct {
				Value  float64 `json:"value"`
				Source string  `json:"source"`
			} `json:"paper"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, c := range back.Cells {
		if c.Paper != nil {
			found++
			if c.Row["method"] == "ssd" && (c.Paper.Value != 0.0437 || c.Paper.Source != "Table 2, SSD, CIFAR-10") {
				t.Errorf("ssd paper cell %+v", c.Paper)
			}
		}
	}
	if back.Paper != "table2" || found != 3 {
		t.Errorf("json paper %q with %d paper cells, want table2 and 3", back.Paper, found)
	}
}

func TestMissingPaperNumbersAreSaid(t *testing.T) {
	tab := paperTable(t, nil)
	if tab.anyPaper() || len(tab.Notes) != 1 || !strings.Contains(tab.Notes[0], "not available in this build") {
		t.Errorf("nil Published: notes %q", tab.Notes)
	}
	tab = paperTable(t, &fakePaper{})
	if tab.anyPaper() || len(tab.Notes) != 1 || !strings.Contains(tab.Notes[0], "has no value for any cell") {
		t.Errorf("no values: notes %q", tab.Notes)
	}
	tab, _ = Build(Spec{Values: []string{"time"}}, unlearning()[:1])
	if n := tab.PlaceBeside(&fakePaper{}); n != 0 || len(tab.Notes) != 0 {
		t.Errorf("a table without Paper looked numbers up (%d) or noted %q", n, tab.Notes)
	}
}

func TestMissingResultsAreNamed(t *testing.T) {
	obs := unlearning()
	obs[2].Failed, obs[2].Name, obs[2].Why = true, "evaluate.all[method=ssd,seed=0]", "failed: out of memory"
	obs[3].Failed = true
	obs[4].Name, obs[4].Why = "evaluate.all[method=original,seed=1]", "lacks mia (no attack)"
	tab, err := Build(Spec{Rows: []string{"method"}, Columns: []string{"dataset"}, Values: []string{"acc_forget"}, Precision: 2}, obs)
	if err != nil {
		t.Fatal(err)
	}
	if got := tab.Text("acc_forget", cellOf(t, tab, []string{"ssd"}, []string{"cifar10"}, "acc_forget")); got != "4.10 (n=1/2)" {
		t.Errorf("partial cell %q", got)
	}
	want := []string{"No results from 2 of 16 evaluations. evaluate.all[method=ssd,seed=0]: failed: out of memory.",
		"Some metrics are missing. evaluate.all[method=original,seed=1]: lacks mia (no attack)."}
	if !slices.Equal(tab.Notes, want) {
		t.Errorf("notes\n%q\nwant\n%q", tab.Notes, want)
	}

	// Observations with one reason are named together, three at most;
	// at most maxMissingNotes reasons are listed.
	var many []Observation
	for i := range 20 {
		many = append(many, Observation{Dims: map[string]string{"seed": fmt.Sprint(i)}, Failed: true,
			Name: fmt.Sprintf("e%d", i), Why: fmt.Sprintf("waits for t%d", i/5)})
	}
	for i := range 20 {
		many = append(many, Observation{Dims: map[string]string{"seed": fmt.Sprint(100 + i)}, Failed: true,
			Name: fmt.Sprintf("f%d", i), Why: fmt.Sprintf("run %d failed", i)})
	}
	tab, _ = Build(Spec{Values: []string{"time"}}, many)
	if len(tab.Notes) != 1 || !strings.HasPrefix(tab.Notes[0], "No results from 40 of 40 evaluations. e0, e1, e2 and 2 more: waits for t0; e5, e6, e7 and 2 more: waits for t1;") ||
		!strings.HasSuffix(tab.Notes[0], "f7: run 7 failed; and 12 more.") || strings.Contains(tab.Notes[0], "f8") {
		t.Errorf("notes are not grouped and capped: %q", tab.Notes)
	}
}

func TestMarkdownMarksBestInBold(t *testing.T) {
	tab := paperTable(t, &fakePaper{})
	var md bytes.Buffer
	if err := tab.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, want := range []string{"**0.05 ± 0.07**", "**0.12 ± 0.00**", " 4.05 ± 0.07 |", "### T2", "not competing"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestCSVHoldsNumbersPerColumn(t *testing.T) {
	fp := &fakePaper{values: map[string]PaperValue{"table2|ssd|cifar10|acc_forget": {Value: 0.0437, Decimals: 2}}}
	tab := paperTable(t, fp)
	tab.Cells[0][0][0] = Cell{Expected: 2} // the original model's cifar10 Acc_f: no results
	var b bytes.Buffer
	if err := tab.CSV(&b); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := recs[0]
	if head[0] != "method" || head[1] != "dataset=cifar10 · Acc_f (%) ↓ mean" || head[4] != "dataset=cifar10 · Acc_f (%) ↓ expected" ||
		head[5] != "dataset=cifar10 · Acc_f (%) ↓ paper" || len(head) != 1+4+1+4+4+4 {
		t.Fatalf("header %q", head)
	}
	byMethod := map[string][]string{}
	for _, r := range recs[1:] {
		if len(r) != len(head) {
			t.Fatalf("record %q has %d fields, header %d", r, len(r), len(head))
		}
		byMethod[r[0]] = r
	}
	if r := byMethod["ssd"]; r[1] != "4.05" || r[2] != "0.07" || r[3] != "2" || r[4] != "2" || r[5] != "4.37" {
		t.Errorf("ssd %q", r)
	}
	if r := byMethod["original"]; r[1] != "" || r[2] != "" || r[3] != "0" || r[4] != "2" || r[5] != "" {
		t.Errorf("a cell without results must be empty with n=0: %q", r)
	}
}

func TestLaTeXIsBalancedAndEscaped(t *testing.T) {
	fp := &fakePaper{values: map[string]PaperValue{"table2|ssd|cifar10|acc_forget": {Value: 0.0437, Decimals: 2}}}
	tab := paperTable(t, fp)
	tab.RowLabels[0][0] = "a_b & 50%"
	var b bytes.Buffer
	if err := tab.LaTeX(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`\begin{tabular}{lrrrrr}`, `\multicolumn{3}{c}{dataset=cifar10}`, `\multicolumn{2}{c}{dataset=cifar100}`,
		`\multicolumn{2}{c}{Acc\_f (\%) $\downarrow$}`, `a\_b \& 50\%`, `\textbf{0.05 $\pm$ 0.07}`, ` & Lethe & paper & `, `\cmidrule(lr){2-4}`,
		`\bottomrule`} {
		if !strings.Contains(out, want) {
			t.Errorf("latex lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "{") != strings.Count(out, "}")+strings.Count(out, `\{`)-strings.Count(out, `\}`) {
		t.Errorf("unbalanced braces:\n%s", out)
	}
	// Every line of the tabular has the same number of cells.
	in := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, `\midrule`):
			in = true
		case strings.HasPrefix(l, `\bottomrule`):
			in = false
		case in && strings.Count(strings.ReplaceAll(l, `\&`, ""), "&") != 5:
			t.Errorf("row %q does not have 6 cells", l)
		}
	}
}

func TestJSONCarriesDirectionsBestAndKeys(t *testing.T) {
	tab := paperTable(t, &fakePaper{})
	b, err := tab.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Name     string `json:"name"`
		Compared string `json:"compared"`
		Metrics  []struct {
			Name      string  `json:"name"`
			Direction string  `json:"direction"`
			Scale     float64 `json:"scale"`
		} `json:"metrics"`
		Cells []struct {
			Row    map[string]string `json:"row"`
			Metric string            `json:"metric"`
			Best   bool              `json:"best"`
			Key    map[string]string `json:"key"`
			Text   string            `json:"text"`
			Values []float64         `json:"values"`
		} `json:"cells"`
		Notes []string `json:"notes"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Name != "report.t2" || back.Compared != "method" || len(back.Metrics) != 2 || back.Metrics[0].Direction != "lower" || back.Metrics[0].Scale != 100 {
		t.Fatalf("json head %+v", back)
	}
	for _, c := range back.Cells {
		if c.Key["method"] != c.Row["method"] || c.Key["arch"] != "resnet18" {
			t.Errorf("cell key %v", c.Key)
		}
		if c.Best != (c.Row["method"] == "osp") {
			t.Errorf("%s %s best = %v", c.Row["method"], c.Metric, c.Best)
		}
		if len(c.Values) != 2 {
			t.Errorf("cell %v has %d values", c.Row, len(c.Values))
		}
	}
}

func TestFormatsAndSave(t *testing.T) {
	for in, want := range map[string]string{"md": "markdown", "Markdown": "markdown", "csv": "csv", "json": "json", "tex": "latex", "latex": "latex"} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("html"); err == nil || !strings.Contains(err.Error(), `"html"`) {
		t.Errorf("ParseFormat(html) = %v", err)
	}
	tab := paperTable(t, nil)
	dir := t.TempDir()
	for _, f := range Formats {
		path := filepath.Join(dir, "t"+Ext(f))
		if err := tab.Save(path, f); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v, %d bytes", path, err, len(b))
		}
	}
	if err := tab.Save(filepath.Join(dir, "x"), "html"); err == nil {
		t.Error("Save accepted an unknown format")
	}
	if err := tab.Save(filepath.Join(dir, "no", "such", "dir.md"), FormatMarkdown); err == nil {
		t.Error("Save into a missing directory succeeded")
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// Before unlearning (Table 1) nothing competes: a column of reference
// results has no direction, so its heading has no arrow and no cell is
// bold; a column with competitors keeps its arrow.
func TestReferenceColumnsHaveNoDirection(t *testing.T) {
	var obs []Observation
	for _, model := range []string{"ortho", "plain"} {
		for _, arch := range []string{"resnet18", "vgg16_bn"} {
			obs = append(obs, Observation{Dims: map[string]string{"models": model, "arch": arch, "method": "original", "seed": "0"},
				Metrics: map[string]float64{"acc_forget": map[string]float64{"ortho": 0.96, "plain": 0.97}[model]}})
		}
	}
	obs = append(obs, Observation{Dims: map[string]string{"models": "osp", "arch": "resnet18", "method": "osp", "seed": "0"},
		Metrics: map[string]float64{"acc_forget": 0}})
	tab, err := Build(Spec{Rows: []string{"arch"}, Columns: []string{"models"}, Values: []string{"acc_forget"}, Precision: 2, References: refs}, obs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"arch", "models=ortho · Acc_f (%)", "models=plain · Acc_f (%)", "models=osp · Acc_f (%) ↓"}
	if h := tab.Header(); !slices.Equal(h, want) {
		t.Errorf("header %q, want %q", h, want)
	}
	var b bytes.Buffer
	if err := tab.LaTeX(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Count(b.String(), `$\downarrow$`) != 1 {
		t.Errorf("latex arrows:\n%s", b.String())
	}
	if tab.anyBest() {
		t.Error("a reference was marked best")
	}
}
