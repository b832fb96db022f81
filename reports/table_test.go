package reports

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func obs(method, ratio, model, seed string, m map[string]float64) Observation {
	d := map[string]string{"method": method, "model": model, "seed": seed}
	if ratio != "" {
		d["ratio"] = ratio
	}
	return Observation{Dims: d, Metrics: m}
}

func TestBuildGroupsSeedsIntoMeanAndStd(t *testing.T) {
	spec := Spec{Title: "T", Rows: []string{"method", "ratio"}, Columns: []string{"model"}, Values: []string{"acc_forget", "time"}, Precision: 2}
	o := []Observation{
		obs("osp", "0.02", "ortho", "0", map[string]float64{"acc_forget": 0.10, "time": 0.002}),
		obs("osp", "0.02", "ortho", "1", map[string]float64{"acc_forget": 0.20, "time": 0.004}),
		obs("osp", "0.02", "ortho", "2", map[string]float64{"acc_forget": 0.30, "time": 0.003}),
		obs("original", "", "ortho", "0", map[string]float64{"acc_forget": 0.99}),
		obs("osp", "0.02", "plain", "0", map[string]float64{"acc_forget": 0.5, "time": 0.001}),
		{Dims: map[string]string{"method": "osp", "ratio": "0.02", "model": "plain", "seed": "1"}, Failed: true},
		obs("osp", "0.02", "plain", "2", map[string]float64{"acc_forget": 0.7, "time": 0.001}),
	}
	tab, err := Build(spec, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.RowLabels) != 2 || strings.Join(tab.RowLabels[0], ",") != "osp,0.02" || strings.Join(tab.RowLabels[1], ",") != "original,"+Missing {
		t.Fatalf("rows = %v", tab.RowLabels)
	}
	if len(tab.ColumnLabels) != 2 || tab.ColumnLabels[0][0] != "ortho" || tab.ColumnLabels[1][0] != "plain" {
		t.Fatalf("columns = %v", tab.ColumnLabels)
	}
	c := tab.Cells[0][0][0]
	if c.N() != 3 || c.Expected != 3 || math.Abs(c.Mean-0.2) > 1e-12 || math.Abs(c.Std-0.1) > 1e-12 {
		t.Fatalf("osp/ortho acc_forget = %+v, want mean 0.2, sample std 0.1 over 3", c)
	}
	if got := tab.Text("acc_forget", c); got != "20.00 ± 10.00" {
		t.Errorf("text = %q, want percent with 2 decimals", got)
	}
	partial := tab.Cells[0][1][0]
	if got := tab.Text("acc_forget", partial); got != "60.00 ± 14.14 (n=2/3)" {
		t.Errorf("partial cell = %q", got)
	}
	if got := tab.Text("time", tab.Cells[1][0][1]); got != Missing {
		t.Errorf("original has no time: %q, want %q", got, Missing)
	}
	if got := tab.Text("acc_forget", tab.Cells[1][1][0]); got != Missing {
		t.Errorf("original/plain has no observation: %q", got)
	}
	if got := tab.Text("acc_forget", tab.Cells[1][0][0]); got != "99.00" {
		t.Errorf("single value = %q, want no ± part", got)
	}
	if tab.Seeds != 3 {
		t.Errorf("seeds = %d", tab.Seeds)
	}

	var md bytes.Buffer
	if err := tab.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, want := range []string{"### T", "| method ", "model=ortho · Acc_f (%)", "model=plain · time (s)",
		"20.00 ± 10.00", "(n=2/3)", "over 3 seeds"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var tableLines int
	for _, l := range lines {
		if strings.HasPrefix(l, "|") {
			tableLines++
			if strings.Count(l, "|") != 2+2*2+1 {
				t.Errorf("line %q has the wrong number of cells", l)
			}
		}
	}
	if tableLines != 4 {
		t.Errorf("%d table lines, want header, rule and 2 rows:\n%s", tableLines, out)
	}
}

func TestMarkdownEscapesPipes(t *testing.T) {
	tab, err := Build(Spec{Rows: []string{"name"}, Values: []string{"zrf"}, Precision: 3},
		[]Observation{{Dims: map[string]string{"name": "a|b"}, Metrics: map[string]float64{"zrf": 0.5}}})
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	if err := tab.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), `a\|b`) || !strings.Contains(md.String(), "0.500") {
		t.Errorf("markdown = %s", md.String())
	}
}

func TestJSONHasNoNaN(t *testing.T) {
	tab, err := Build(Spec{Columns: []string{"model"}, Values: []string{"acc_retain", "mia"}, Precision: 1},
		[]Observation{{Dims: map[string]string{"model": "m"}, Metrics: map[string]float64{"acc_retain": 0.9, "mia": math.NaN()}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := tab.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Cells []struct {
			Metric string   `json:"metric"`
			Mean   *float64 `json:"mean"`
			N      int      `json:"n"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if len(back.Cells) != 2 || back.Cells[0].Mean == nil || *back.Cells[0].Mean != 0.9 || back.Cells[1].Mean != nil || back.Cells[1].N != 0 {
		t.Fatalf("cells = %+v", back.Cells)
	}
}

func TestBuildRejectsBadSpecs(t *testing.T) {
	for name, spec := range map[string]Spec{
		"no values":         {Rows: []string{"a"}},
		"row and column":    {Rows: []string{"a"}, Columns: []string{"a"}, Values: []string{"x"}},
		"repeated value":    {Values: []string{"x", "x"}},
		"precision too big": {Values: []string{"x"}, Precision: 11},
	} {
		if _, err := Build(spec, nil); err == nil {
			t.Errorf("%s: Build accepted %+v", name, spec)
		}
	}
}
