package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
)

// ratioSweep is Table 3a's layout: OSP at ratios on two models over two
// seeds, and the models before pruning (no ratio).
func ratioSweep() []Observation {
	var obs []Observation
	for seed := range 2 {
		for _, model := range []string{"ortho", "plain"} {
			base := map[string]float64{"ortho": 0, "plain": 0.3}[model]
			obs = append(obs, Observation{Dims: map[string]string{"model": model, "method": "original", "seed": fmt.Sprint(seed)},
				Metrics: map[string]float64{"acc_forget": 0.96, "acc_retain": 0.93}})
			for _, ratio := range []string{"0.05", "0.01", "0.03"} { // out of order on purpose
				var r float64
				fmt.Sscan(ratio, &r)
				obs = append(obs, Observation{Dims: map[string]string{"model": model, "method": "osp", "ratio": ratio, "seed": fmt.Sprint(seed)},
					Metrics: map[string]float64{"acc_forget": base + 0.8 - 10*r + 0.01*float64(seed), "acc_retain": 0.93 - r}})
			}
		}
	}
	return obs
}

func sweepTable(t *testing.T) *Table {
	t.Helper()
	tab, err := Build(Spec{Name: "report.t3a", Title: "Table 3a", Rows: []string{"ratio"}, Columns: []string{"model"},
		Values: []string{"acc_forget", "acc_retain"}, Precision: 2, Paper: "table3a", References: refs}, ratioSweep())
	if err != nil {
		t.Fatal(err)
	}
	tab.PlaceBeside(PublishedFunc(func(table string, key map[string]string, metric string) (PaperValue, bool) {
		if key["model"] == "ortho" && key["ratio"] == "0.01" && metric == "acc_forget" {
			return PaperValue{Value: 0.787, Decimals: 2}, true
		}
		return PaperValue{}, false
	}))
	return tab
}

func TestSweepDimsAreTheNumericOnes(t *testing.T) {
	tab := sweepTable(t)
	if got := tab.SweepDims(); !slices.Equal(got, []string{"ratio"}) {
		t.Errorf("sweep dims %v, want [ratio]", got)
	}
	one, _ := Build(Spec{Rows: []string{"ratio", "method"}, Values: []string{"acc_forget"}},
		[]Observation{{Dims: map[string]string{"ratio": "0.02", "method": "osp"}}, {Dims: map[string]string{"method": "ssd"}}})
	if got := one.SweepDims(); len(got) != 0 {
		t.Errorf("one numeric value is no sweep: %v", got)
	}
	bad, _ := Build(Spec{Rows: []string{"forget"}, Values: []string{"acc_forget"}},
		[]Observation{{Dims: map[string]string{"forget": "[1]"}}, {Dims: map[string]string{"forget": "[2]"}}, {Dims: map[string]string{"forget": "0.5x"}}})
	if got := bad.SweepDims(); len(got) != 0 {
		t.Errorf("lists and junk are not numbers: %v", got)
	}
}

func TestSweepSeriesGathersPointsReferencesAndPaper(t *testing.T) {
	tab := sweepTable(t)
	series, err := tab.SweepSeries("ratio", "acc_forget")
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 2 || series[0].Label != "model=ortho" || series[1].Label != "model=plain" {
		t.Fatalf("series %+v", series)
	}
	o := series[0]
	xs := []float64{}
	for _, p := range o.Points {
		xs = append(xs, p.X)
	}
	if !slices.Equal(xs, []float64{0.01, 0.03, 0.05}) {
		t.Errorf("points not in increasing x: %v", xs)
	}
	// ortho at 0.03: seeds 0.5 and 0.51 -> 50.5 ± 0.707 in percent.
	if p := o.Points[1]; math.Abs(p.Y-50.5) > 1e-9 || math.Abs(p.Err-0.7071067811865476) > 1e-9 {
		t.Errorf("ortho at 0.03 = %+v", p)
	}
	if len(o.References) != 1 || math.Abs(o.References[0].Y-96) > 1e-9 || o.References[0].Label != "original" {
		t.Errorf("references %+v", o.References)
	}
	if len(o.Paper) != 1 || o.Paper[0].X != 0.01 || math.Abs(o.Paper[0].Y-78.7) > 1e-9 || len(series[1].Paper) != 0 {
		t.Errorf("paper points %+v / %+v", o.Paper, series[1].Paper)
	}
	if _, err := tab.SweepSeries("model", "acc_forget"); err == nil {
		t.Error("model labels are not numbers, yet SweepSeries drew against them")
	}
	if _, err := tab.SweepSeries("ratio", "mia"); err == nil {
		t.Error("SweepSeries drew a metric the table does not show")
	}
	if _, err := tab.SweepSeries("strength", "acc_forget"); err == nil {
		t.Error("SweepSeries drew against a dimension the table does not lay out")
	}
}

// svgTexts returns the text of every <text> element, failing on XML that
// does not parse.
func svgTexts(t *testing.T, b []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var texts []string
	in := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("svg does not parse: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			in = e.Name.Local == "text"
		case xml.EndElement:
			in = false
		case xml.CharData:
			if in {
				texts = append(texts, string(e))
			}
		}
	}
	return texts
}

func checkFigure(t *testing.T, f *Figure, name string, wantTexts ...string) {
	t.Helper()
	dir := t.TempDir()
	png0 := filepath.Join(dir, name+".png")
	if err := f.Save(png0); err != nil {
		t.Fatal(err)
	}
	r, err := os.Open(png0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	img, err := png.Decode(r)
	if err != nil {
		t.Fatalf("%s: %v", png0, err)
	}
	if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 200 {
		t.Errorf("%s is %v", png0, b)
	}
	// Not a blank canvas: several distinct colours.
	colours := map[[4]uint32]bool{}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 3 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 3 {
			r, g, b, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, b, a}] = true
		}
	}
	if len(colours) < 4 {
		t.Errorf("%s has %d colours: nothing drawn", png0, len(colours))
	}
	svg := filepath.Join(dir, name+".svg")
	if err := f.Save(svg); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(svgTexts(t, b), "\n")
	for _, w := range wantTexts {
		if !strings.Contains(all, w) {
			t.Errorf("%s lacks the text %q; it has:\n%s", svg, w, all)
		}
	}
}

func TestSweepFigureDrawsEveryMetric(t *testing.T) {
	tab := sweepTable(t)
	f, err := tab.SweepFigure("ratio")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Panels) != 1 || len(f.Panels[0]) != 2 {
		t.Fatalf("panels %v, want one per metric", f.Panels)
	}
	checkFigure(t, f, "sweep", "Table 3a — against ratio", "Acc_f (%) (lower is better)", "Acc_r (%) (higher is better)",
		"model=ortho", "model=plain", "model=ortho (paper)", "model=ortho (original)", "ratio")
	empty, _ := Build(Spec{Rows: []string{"ratio"}, Values: []string{"acc_forget"}},
		[]Observation{{Dims: map[string]string{"ratio": "0.1"}, Failed: true}, {Dims: map[string]string{"ratio": "0.2"}, Failed: true}})
	if _, err := empty.SweepFigure("ratio"); err == nil || !strings.Contains(err.Error(), "no results to draw") {
		t.Errorf("a table without results drew a figure: %v", err)
	}
}

func TestTrainingFigure(t *testing.T) {
	curve := func(label string, slope float64, eval string) Curve {
		c := Curve{Label: label, Series: map[string][]plotter.XY{}}
		for e := 1; e <= 4; e++ {
			x := float64(e)
			c.Series["loss"] = append(c.Series["loss"], plotter.XY{X: x, Y: 2 / (slope * x)})
			c.Series["train_acc"] = append(c.Series["train_acc"], plotter.XY{X: x, Y: 1 - 0.5/(slope*x)})
			c.Series[eval] = append(c.Series[eval], plotter.XY{X: x, Y: 1 - 0.6/(slope*x)})
		}
		return c
	}
	f, err := TrainingFigure("Training", []Curve{curve("train.ortho[seed=0]", 1, "test_acc"), curve("train.plain[seed=0]", 2, "val_acc")})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Panels[0]) != 2 {
		t.Errorf("%d panels, want loss and accuracy (no orthogonality data)", len(f.Panels[0]))
	}
	checkFigure(t, f, "training", "Training loss", "train.ortho[seed=0]", "train.plain[seed=0]", "epoch")
	if _, err := TrainingFigure("none", []Curve{{Label: "x", Series: map[string][]plotter.XY{"lr": {{X: 1, Y: 0.1}}}}}); err == nil {
		t.Error("a figure without any known curve was drawn")
	}
}

func TestDeltaFigureMarksSelectedFilters(t *testing.T) {
	layers := []LayerDelta{
		{Unit: "conv1", Delta: []float64{0.1, -0.2, 0.9, 0.05}, Selected: []int{2}},
		{Unit: "layer1.0.conv1", Delta: []float64{0.3, 0.8, 0.7, 0.0, 0.1, 0.2}, Selected: []int{1, 2}},
	}
	f, err := DeltaFigure("OSP Δ per layer: unlearn.osp", [][]LayerDelta{layers, layers})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Panels) != 2 {
		t.Errorf("%d panels, want one per round", len(f.Panels))
	}
	checkFigure(t, f, "delta", "Round 1: 3 of 10 filters selected", "Round 2", "selected", "filter", "conv1", "layer1.0.conv1")
	bad := []LayerDelta{{Unit: "conv1", Delta: []float64{1, 2}, Selected: []int{2}}}
	if _, err := DeltaFigure("bad", [][]LayerDelta{bad}); err == nil || !strings.Contains(err.Error(), "conv1: selected filter 2 of 2") {
		t.Errorf("out-of-range selection: %v", err)
	}
	if _, err := DeltaFigure("none", nil); err == nil {
		t.Error("a figure without rounds was drawn")
	}
}

func TestFigureSaveNeedsAKnownExtension(t *testing.T) {
	f, err := sweepTable(t).SweepFigure("ratio")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Save(filepath.Join(t.TempDir(), "x.pdf")); err == nil || !strings.Contains(err.Error(), ".png or .svg") {
		t.Errorf("Save(x.pdf) = %v", err)
	}
	if err := f.Encode(io.Discard, "gif"); err == nil {
		t.Error("Encode accepted gif")
	}
}

// With the method among the rows (the quickstart's layout), the rows
// without a ratio — the model before pruning, the baselines — are
// references of the OSP series of their model.
func TestSweepReferencesAcrossMethods(t *testing.T) {
	var obs []Observation
	add := func(model, method, ratio string, accF float64) {
		d := map[string]string{"model": model, "method": method, "seed": "0"}
		if ratio != "" {
			d["ratio"] = ratio
		}
		obs = append(obs, Observation{Dims: d, Metrics: map[string]float64{"acc_forget": accF}})
	}
	for _, m := range []string{"ortho", "plain"} {
		add(m, "original", "", 0.99)
		add(m, "osp", "0.02", 0.5)
		add(m, "osp", "0.1", 0.1)
	}
	add("ortho", "ssd", "", 0.05)
	tab, err := Build(Spec{Rows: []string{"method", "ratio"}, Columns: []string{"model"}, Values: []string{"acc_forget"}, Precision: 2}, obs)
	if err != nil {
		t.Fatal(err)
	}
	series, err := tab.SweepSeries("ratio", "acc_forget")
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 2 || series[0].Label != "method=osp, model=ortho" || len(series[0].Points) != 2 {
		t.Fatalf("series %+v", series)
	}
	var got []string
	for _, r := range series[0].References {
		got = append(got, fmt.Sprintf("%s=%g", r.Label, r.Y))
	}
	if !slices.Equal(got, []string{"original=99", "ssd=5"}) {
		t.Errorf("ortho references %v", got)
	}
	if len(series[1].References) != 1 || series[1].References[0].Label != "original" {
		t.Errorf("plain references %+v", series[1].References)
	}
}
