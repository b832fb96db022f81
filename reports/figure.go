package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Figure is one image: a title over panels laid out in a grid, each panel
// a gonum plot, saved as PNG or SVG.
type Figure struct {
	Title string
	// Panels[row][col]; a nil panel leaves its tile empty.
	Panels [][]*plot.Plot
	// Width and Height are the whole image's size.
	Width, Height vg.Length
}

// The figure formats.
const (
	FigurePNG = "png"
	FigureSVG = "svg"
)

// FigureFormats lists the formats Figure.Encode writes.
var FigureFormats = []string{FigurePNG, FigureSVG}

const titleHeight = 22 // points, above the panels

// Encode draws the figure in format (png or svg) to w.
func (f *Figure) Encode(w io.Writer, format string) error {
	if format != FigurePNG && format != FigureSVG {
		return fmt.Errorf("reports: figure format %q: want png or svg", format)
	}
	if len(f.Panels) == 0 || len(f.Panels[0]) == 0 {
		return fmt.Errorf("reports: figure %q has no panels", f.Title)
	}
	c, err := draw.NewFormattedCanvas(f.Width, f.Height, format)
	if err != nil {
		return err
	}
	dc := draw.New(c)
	if f.Title != "" {
		sty := draw.TextStyle{Color: color.Black, Font: font.From(plot.DefaultFont, 13),
			XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
		dc.FillText(sty, vg.Point{X: dc.Min.X + (dc.Max.X-dc.Min.X)/2, Y: dc.Max.Y - 4}, f.Title)
		dc = draw.Crop(dc, 0, 0, 0, -titleHeight)
	}
	rows, cols := len(f.Panels), 0
	for _, r := range f.Panels {
		cols = max(cols, len(r))
	}
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
		copy(grid[i], f.Panels[i])
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(14), PadY: vg.Points(14),
		PadTop: vg.Points(4), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(10)}
	canvases := plot.Align(grid, tiles, dc)
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	_, err = c.WriteTo(w)
	return err
}

// Save writes the figure to path, in the format its extension names
// (.png or .svg), atomically.
func (f *Figure) Save(path string) error {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if format != FigurePNG && format != FigureSVG {
		return fmt.Errorf("reports: %s: a figure is saved as .png or .svg", path)
	}
	var buf bytes.Buffer
	if err := f.Encode(&buf, format); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return writeFileAtomic(path, buf.Bytes())
}

// Save writes the table to path in format, atomically.
func (t *Table) Save(path, format string) error {
	var buf bytes.Buffer
	if err := t.Render(&buf, format); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return writeFileAtomic(path, buf.Bytes())
}

// writeFileAtomic writes b to a temporary file beside path and renames it
// into place, so that a reader never sees half a file.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// panelSize is one panel's size in a figure.
var panelWidth, panelHeight = 4.2 * vg.Inch, 3.2 * vg.Inch

func newPanel(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Add(plotter.NewGrid())
	return p
}

// roomForLegend raises the top of p's y axis so that a legend of n
// entries in the top corner sits above the data instead of on it.
func roomForLegend(p *plot.Plot, n int) {
	span := p.Y.Max - p.Y.Min
	if n == 0 || span <= 0 || math.IsInf(span, 0) || math.IsNaN(span) {
		return
	}
	p.Y.Max += span * math.Min(0.13*float64(n), 1.5)
}

// errPoints are points with vertical error bars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// SweepPoint is one cell drawn against a sweep dimension: x, the mean in
// the shown unit and its standard deviation.
type SweepPoint struct{ X, Y, Err float64 }

// SweepSeries is one line of a sweep panel: the cells that share every
// dimension but the swept one.
type SweepSeries struct {
	Label  string
	Points []SweepPoint // in increasing x
	Paper  []SweepPoint // the published values at the same settings
	// References are the values, where the swept dimension does not apply,
	// of the cells that share the series' labels but perhaps its method:
	// the model before pruning (ratio —), the baselines. They are drawn as
	// horizontal lines.
	References []SweepReference
}

// SweepReference is a value the sweep is measured against.
type SweepReference struct {
	Label string // its method, e.g. original; else "ratio=—"
	Y     float64
}

// referenceDashes tell a series' references apart: dotted, dash-dotted,
// long-dotted.
var referenceDashes = [][]vg.Length{
	{vg.Points(1), vg.Points(3)},
	{vg.Points(6), vg.Points(2), vg.Points(1), vg.Points(2)},
	{vg.Points(1), vg.Points(6)},
	{vg.Points(8), vg.Points(4)},
}

// SweepDims lists the row and column dimensions whose labels are all
// numbers (Missing aside) and take two or more values: the axes a table's
// results can be drawn against (a pruning ratio, a strength, λ).
func (t *Table) SweepDims() []string {
	var out []string
	check := func(dims []string, labels [][]string) {
		for i, d := range dims {
			if d == SeedDim {
				continue
			}
			seen := map[float64]bool{}
			numeric := true
			for _, l := range labels {
				if l[i] == Missing {
					continue
				}
				x, err := parseNumber(l[i])
				if err != nil {
					numeric = false
					break
				}
				seen[x] = true
			}
			if numeric && len(seen) >= 2 {
				out = append(out, d)
			}
		}
	}
	check(t.Spec.Rows, t.RowLabels)
	check(t.Spec.Columns, t.ColumnLabels)
	return out
}

func parseNumber(s string) (float64, error) {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return x, nil
}

// SweepSeries gathers the data of metric (one of Spec.Values) against the
// sweep dimension x, one series per combination of the other dimensions,
// in order of first appearance.
func (t *Table) SweepSeries(x, metric string) ([]SweepSeries, error) {
	v := -1
	for i, m := range t.Spec.Values {
		if m == metric {
			v = i
		}
	}
	if v < 0 {
		return nil, fmt.Errorf("reports: the table shows no %q", metric)
	}
	ri, ci := indexOf(t.Spec.Rows, x), indexOf(t.Spec.Columns, x)
	if ri < 0 && ci < 0 {
		return nil, fmt.Errorf("reports: %q is neither a row nor a column dimension", x)
	}
	scale := Scale(metric)
	var series []*SweepSeries
	byLabel := map[string]*SweepSeries{}
	matchOf := map[*SweepSeries]string{}
	type ref struct {
		match string
		SweepReference
	}
	var refs []ref
	for r, rl := range t.RowLabels {
		for c, cl := range t.ColumnLabels {
			var xl string
			var others, match []string
			add := func(d, l string) {
				others = append(others, d+"="+l)
				if d != "method" {
					match = append(match, d+"="+l)
				}
			}
			for i, d := range t.Spec.Rows {
				if i == ri {
					xl = rl[i]
				} else {
					add(d, rl[i])
				}
			}
			for i, d := range t.Spec.Columns {
				if i == ci {
					xl = cl[i]
				} else {
					add(d, cl[i])
				}
			}
			cell := t.Cells[r][c][v]
			paper := t.paperAt(r, c, v)
			if xl == Missing {
				// Where the swept dimension does not apply, the cell is a
				// reference for the series that share its other labels.
				if cell.N() > 0 {
					l := t.Keys[r][c]["method"]
					if l == "" {
						l = x + "=" + Missing
					}
					refs = append(refs, ref{strings.Join(match, ", "), SweepReference{Label: l, Y: cell.Mean * scale}})
				}
				continue
			}
			if cell.N() == 0 && paper == nil {
				continue
			}
			xv, err := parseNumber(xl)
			if err != nil {
				return nil, fmt.Errorf("reports: %s = %q is not a number", x, xl)
			}
			label := strings.Join(others, ", ")
			s, ok := byLabel[label]
			if !ok {
				s = &SweepSeries{Label: label}
				byLabel[label] = s
				matchOf[s] = strings.Join(match, ", ")
				series = append(series, s)
			}
			if cell.N() > 0 {
				s.Points = append(s.Points, SweepPoint{X: xv, Y: cell.Mean * scale, Err: cell.Std * scale})
			}
			if paper != nil {
				s.Paper = append(s.Paper, SweepPoint{X: xv, Y: paper.Value * scale})
			}
		}
	}
	out := make([]SweepSeries, 0, len(series))
	for _, s := range series {
		sortPoints(s.Points)
		sortPoints(s.Paper)
		for _, r := range refs {
			if r.match == matchOf[s] {
				s.References = append(s.References, r.SweepReference)
			}
		}
		out = append(out, *s)
	}
	return out, nil
}

func sortPoints(p []SweepPoint) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j].X < p[j-1].X; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// SweepFigure draws every metric of the table against the sweep dimension
// x (see SweepDims), one panel per metric: a line per series with ± std
// error bars, the paper's values as dashed lines of the same colour, and
// each series' references (the model before pruning, the baselines) as
// dotted horizontal lines.
func (t *Table) SweepFigure(x string) (*Figure, error) {
	var panels []*plot.Plot
	for _, metric := range t.Spec.Values {
		series, err := t.SweepSeries(x, metric)
		if err != nil {
			return nil, err
		}
		if len(series) == 0 {
			continue
		}
		title := Heading(metric)
		if a := MetricDirection(metric).Arrow(); a != "" {
			title += " (" + MetricDirection(metric).String() + " is better)"
		}
		p := newPanel(title, x, Heading(metric))
		xmin, xmax := math.Inf(1), math.Inf(-1)
		for _, s := range series {
			for _, pt := range append(append([]SweepPoint{}, s.Points...), s.Paper...) {
				xmin, xmax = math.Min(xmin, pt.X), math.Max(xmax, pt.X)
			}
		}
		entries := 0
		for i, s := range series {
			name := s.Label
			if name == "" {
				name = "Lethe"
			}
			if len(s.Points) > 0 {
				pts := errPoints{XYs: make(plotter.XYs, len(s.Points)), YErrors: make(plotter.YErrors, len(s.Points))}
				for k, pt := range s.Points {
					pts.XYs[k] = plotter.XY{X: pt.X, Y: pt.Y}
					pts.YErrors[k] = struct{ Low, High float64 }{pt.Err, pt.Err}
				}
				line, glyphs, err := plotter.NewLinePoints(pts)
				if err != nil {
					return nil, err
				}
				line.Color, glyphs.Color, glyphs.Shape = plotutil.Color(i), plotutil.Color(i), plotutil.Shape(i)
				line.Width = vg.Points(1.5)
				bars, err := plotter.NewYErrorBars(pts)
				if err != nil {
					return nil, err
				}
				bars.Color = plotutil.Color(i)
				p.Add(line, glyphs, bars)
				p.Legend.Add(name, line, glyphs)
				entries++
			}
			if len(s.Paper) > 0 {
				xys := make(plotter.XYs, len(s.Paper))
				for k, pt := range s.Paper {
					xys[k] = plotter.XY{X: pt.X, Y: pt.Y}
				}
				line, glyphs, err := plotter.NewLinePoints(xys)
				if err != nil {
					return nil, err
				}
				line.Color, glyphs.Color, glyphs.Shape = plotutil.Color(i), plotutil.Color(i), draw.CrossGlyph{}
				line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
				p.Add(line, glyphs)
				p.Legend.Add(name+" (paper)", line, glyphs)
				entries++
			}
			for k, ref := range s.References {
				if xmin > xmax {
					break
				}
				line, err := plotter.NewLine(plotter.XYs{{X: xmin, Y: ref.Y}, {X: xmax, Y: ref.Y}})
				if err != nil {
					return nil, err
				}
				line.Color = plotutil.Color(i)
				line.Dashes = referenceDashes[k%len(referenceDashes)]
				p.Add(line)
				p.Legend.Add(strings.TrimPrefix(name+" ("+ref.Label+")", "Lethe "), line)
				entries++
			}
		}
		roomForLegend(p, entries)
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return nil, fmt.Errorf("reports: %s has no results to draw against %s", t.describe(), x)
	}
	title := t.Spec.Title
	if title == "" {
		title = t.Spec.Name
	}
	return &Figure{Title: title + " — against " + x, Panels: [][]*plot.Plot{panels},
		Width: panelWidth * vg.Length(len(panels)), Height: panelHeight + titleHeight}, nil
}

func (t *Table) describe() string {
	if t.Spec.Name != "" {
		return t.Spec.Name
	}
	if t.Spec.Title != "" {
		return fmt.Sprintf("table %q", t.Spec.Title)
	}
	return "the table"
}

// Curve is one training run's metrics, each a series of (epoch, value).
type Curve struct {
	Label  string
	Series map[string][]plotter.XY // by metric: loss, train_acc, test_acc or val_acc, ortho_deviation
}

// trainingPanels are the panels of TrainingFigure: a title, the unit's
// scale, and the metrics each draws (the first solid, the others dashed).
var trainingPanels = []struct {
	title, y string
	scale    float64
	metrics  []string
}{
	{"Training loss", "loss", 1, []string{"loss"}},
	{"Accuracy: train (solid), held out (dashed)", "accuracy (%)", 100, []string{"train_acc", "test_acc", "val_acc"}},
	{"Orthogonality deviation", "Σ‖WWᵀ − I‖²", 1, []string{"ortho_deviation"}},
}

// TrainingFigure draws training curves by epoch: the loss, the training
// and held-out accuracy, and the kernels' deviation from orthogonality,
// one line (colour) per curve. Panels no curve has data for are left out.
func TrainingFigure(title string, curves []Curve) (*Figure, error) {
	var panels []*plot.Plot
	for _, tp := range trainingPanels {
		p := newPanel(tp.title, "epoch", tp.y)
		any, entries := false, 0
		for i, c := range curves {
			for k, m := range tp.metrics {
				pts := c.Series[m]
				if len(pts) == 0 {
					continue
				}
				xys := make(plotter.XYs, 0, len(pts))
				for _, pt := range pts {
					if !math.IsNaN(pt.Y) && !math.IsInf(pt.Y, 0) {
						xys = append(xys, plotter.XY{X: pt.X, Y: pt.Y * tp.scale})
					}
				}
				if len(xys) == 0 {
					continue
				}
				line, glyphs, err := plotter.NewLinePoints(xys)
				if err != nil {
					return nil, fmt.Errorf("reports: curve %s, %s: %w", c.Label, m, err)
				}
				line.Color, glyphs.Color, glyphs.Shape = plotutil.Color(i), plotutil.Color(i), plotutil.Shape(i)
				if k > 0 {
					line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
				}
				p.Add(line, glyphs)
				if k == 0 || c.Series[tp.metrics[0]] == nil {
					p.Legend.Add(c.Label, line, glyphs)
					entries++
				}
				any = true
			}
		}
		if any {
			roomForLegend(p, entries)
			panels = append(panels, p)
		}
	}
	if len(panels) == 0 {
		return nil, fmt.Errorf("reports: no training curves to draw for %q", title)
	}
	return &Figure{Title: title, Panels: [][]*plot.Plot{panels},
		Width: panelWidth * vg.Length(len(panels)), Height: panelHeight + titleHeight}, nil
}

// LayerDelta is one convolution's Δ per filter in an OSP round, and the
// filters OSP selected there.
type LayerDelta struct {
	Unit     string
	Delta    []float64
	Selected []int
}

// DeltaFigure draws OSP's Δ per layer, one panel per round: every filter
// of every convolution as a grey dot at its Δ, spread across its layer's
// slot, and the selected filters marked in red.
func DeltaFigure(title string, rounds [][]LayerDelta) (*Figure, error) {
	if len(rounds) == 0 {
		return nil, fmt.Errorf("reports: %s: no OSP rounds to draw", title)
	}
	maxLayers := 0
	var panels [][]*plot.Plot
	for ri, layers := range rounds {
		if len(layers) == 0 {
			return nil, fmt.Errorf("reports: %s: round %d has no layers", title, ri+1)
		}
		maxLayers = max(maxLayers, len(layers))
		var rest, sel plotter.XYs
		names := make([]string, len(layers))
		nSel, nAll := 0, 0
		for li, l := range layers {
			names[li] = l.Unit
			picked := map[int]bool{}
			for _, k := range l.Selected {
				if k < 0 || k >= len(l.Delta) {
					return nil, fmt.Errorf("reports: %s: round %d, %s: selected filter %d of %d", title, ri+1, l.Unit, k, len(l.Delta))
				}
				picked[k] = true
			}
			for k, d := range l.Delta {
				if math.IsNaN(d) || math.IsInf(d, 0) {
					continue
				}
				// Spread the filters over ±0.35 of the layer's slot, in
				// filter order, so that they do not hide each other.
				x := float64(li)
				if n := len(l.Delta); n > 1 {
					x += 0.7*float64(k)/float64(n-1) - 0.35
				}
				if picked[k] {
					sel = append(sel, plotter.XY{X: x, Y: d})
				} else {
					rest = append(rest, plotter.XY{X: x, Y: d})
				}
			}
			nSel += len(picked)
			nAll += len(l.Delta)
		}
		p := newPanel(fmt.Sprintf("Round %d: %d of %d filters selected", ri+1, nSel, nAll), "", "Δ (forget − retain activation)")
		p.NominalX(names...)
		p.X.Tick.Label.Rotation = math.Pi / 2
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
		p.X.Tick.Label.Font.Size = vg.Points(7)
		if len(rest) > 0 {
			s, err := plotter.NewScatter(rest)
			if err != nil {
				return nil, err
			}
			s.Color, s.Radius, s.Shape = color.Gray{Y: 150}, vg.Points(1.2), draw.CircleGlyph{}
			p.Add(s)
			p.Legend.Add("filter", s)
		}
		if len(sel) > 0 {
			s, err := plotter.NewScatter(sel)
			if err != nil {
				return nil, err
			}
			s.Color, s.Radius, s.Shape = color.RGBA{R: 214, G: 39, B: 40, A: 255}, vg.Points(3), draw.TriangleGlyph{}
			p.Add(s)
			p.Legend.Add("selected", s)
		}
		roomForLegend(p, 2)
		panels = append(panels, []*plot.Plot{p})
	}
	w := max(6*vg.Inch, vg.Length(maxLayers)*0.32*vg.Inch)
	return &Figure{Title: title, Panels: panels, Width: w, Height: vg.Length(len(rounds))*3.6*vg.Inch + titleHeight}, nil
}
