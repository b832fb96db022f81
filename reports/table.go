// Package reports turns evaluation results into the paper-style tables of
// an experiment: rows and columns are dimensions of the evaluated stages
// (sweep keys such as ratio or model, parameters such as method), each
// cell holds a metric's mean ± standard deviation over the replicate seeds
// with the number of results it rests on.
//
// The package knows nothing of specs, stages or the engine: callers
// describe each evaluated model as an Observation (its labels on every
// dimension and its metrics) and get a Table, which renders itself as
// Markdown (github.com/olekukonko/tablewriter) or JSON. Other output
// formats (CSV, LaTeX) and plots build on the same Table.
package reports

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Missing is the label of a dimension an observation has no value for, and
// the text of a cell without any result.
const Missing = "—"

// Observation is one evaluated model as a table sees it.
type Observation struct {
	// Dims labels the observation on each dimension, e.g. "model": "ortho",
	// "ratio": "0.02", "seed": "1". A dimension it lacks is Missing.
	Dims map[string]string
	// Metrics holds the values computed, by metric name; a metric that was
	// not computed is absent (NaN counts as absent too).
	Metrics map[string]float64
	// Failed marks an evaluation that produced no results (it or one of its
	// inputs failed). It still counts towards the results a cell expects,
	// so the cell shows n=2/3 rather than pretending two seeds were all.
	Failed bool
}

// Spec says how to lay a table out.
type Spec struct {
	Title     string
	Rows      []string // dimensions that make the rows, outermost first
	Columns   []string // dimensions that make the column groups
	Values    []string // metrics shown in every column group
	Precision int      // decimals shown
}

// Cell is one metric of one row and column group.
type Cell struct {
	Values   []float64 `json:"values"`   // one per result, in observation order
	Expected int       `json:"expected"` // observations that fall into the cell
	Mean     float64   `json:"mean"`
	Std      float64   `json:"std"` // sample standard deviation (n−1); 0 for one value
}

// N is the number of results the cell rests on.
func (c Cell) N() int { return len(c.Values) }

// Table is a built report table.
type Table struct {
	Spec Spec
	// RowLabels and ColumnLabels hold, for each row and column group, its
	// label on each of Spec.Rows or Spec.Columns, in order of first
	// appearance among the observations.
	RowLabels, ColumnLabels [][]string
	// Cells[r][c][v] is value v of row r in column group c.
	Cells [][][]Cell
	// Seeds is the largest number of observations of any cell: the
	// replicate count of a complete table.
	Seeds int
}

// Build lays the observations out as spec says.
func Build(spec Spec, obs []Observation) (*Table, error) {
	if spec.Precision < 0 || spec.Precision > 10 {
		return nil, fmt.Errorf("reports: precision %d: want 0 to 10 decimals", spec.Precision)
	}
	if len(spec.Values) == 0 {
		return nil, fmt.Errorf("reports: a table needs at least one value (metric) to show")
	}
	for _, list := range [][]string{spec.Rows, spec.Columns, spec.Values} {
		for i, a := range list {
			if slices.Contains(list[:i], a) {
				return nil, fmt.Errorf("reports: %q is listed twice", a)
			}
		}
	}
	for _, d := range spec.Rows {
		if slices.Contains(spec.Columns, d) {
			return nil, fmt.Errorf("reports: dimension %q is both a row and a column", d)
		}
	}
	t := &Table{Spec: spec}
	rowIndex, colIndex := map[string]int{}, map[string]int{}
	type place struct{ r, c int }
	var places []place
	for _, o := range obs {
		rl, cl := labels(o, spec.Rows), labels(o, spec.Columns)
		r, ok := rowIndex[strings.Join(rl, "\x00")]
		if !ok {
			r = len(t.RowLabels)
			rowIndex[strings.Join(rl, "\x00")] = r
			t.RowLabels = append(t.RowLabels, rl)
		}
		c, ok := colIndex[strings.Join(cl, "\x00")]
		if !ok {
			c = len(t.ColumnLabels)
			colIndex[strings.Join(cl, "\x00")] = c
			t.ColumnLabels = append(t.ColumnLabels, cl)
		}
		places = append(places, place{r, c})
	}
	t.Cells = make([][][]Cell, len(t.RowLabels))
	for r := range t.Cells {
		t.Cells[r] = make([][]Cell, len(t.ColumnLabels))
		for c := range t.Cells[r] {
			t.Cells[r][c] = make([]Cell, len(spec.Values))
		}
	}
	for i, o := range obs {
		p := places[i]
		for v, name := range spec.Values {
			cell := &t.Cells[p.r][p.c][v]
			cell.Expected++
			if o.Failed {
				continue
			}
			if x, ok := o.Metrics[name]; ok && !math.IsNaN(x) {
				cell.Values = append(cell.Values, x)
			}
		}
	}
	for r := range t.Cells {
		for c := range t.Cells[r] {
			for v := range t.Cells[r][c] {
				cell := &t.Cells[r][c][v]
				cell.Mean, cell.Std = meanStd(cell.Values)
				t.Seeds = max(t.Seeds, cell.Expected)
			}
		}
	}
	return t, nil
}

func labels(o Observation, dims []string) []string {
	out := make([]string, len(dims))
	for i, d := range dims {
		out[i] = Missing
		if v, ok := o.Dims[d]; ok && v != "" {
			out[i] = v
		}
	}
	return out
}

func meanStd(v []float64) (mean, std float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) == 1 {
		return mean, 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)-1))
}

// metricInfo is how a metric is shown: a short heading and the factor that
// turns its stored value (a fraction, seconds, nats) into the shown one.
type metricInfo struct {
	heading string
	scale   float64
}

var knownMetrics = map[string]metricInfo{
	"acc_forget":       {"Acc_f (%)", 100},
	"acc_retain":       {"Acc_r (%)", 100},
	"acc_forget_train": {"Acc_f train (%)", 100},
	"acc_retain_train": {"Acc_r train (%)", 100},
	"mia":              {"MIA (%)", 100},
	"mia_logreg":       {"MIA logreg (%)", 100},
	"js_retrain":       {"JS to retrain", 1},
	"zrf":              {"ZRF", 1},
	"time":             {"time (s)", 1},
	"time_finetune":    {"fine-tune time (s)", 1},
}

// Heading is how a metric is titled in a table, with its unit.
func Heading(metric string) string {
	if m, ok := knownMetrics[metric]; ok {
		return m.heading
	}
	if c, ok := strings.CutPrefix(metric, "acc_class_"); ok {
		return "Acc class " + c + " (%)"
	}
	return metric
}

// Scale is the factor between a metric's stored and shown values (100 for
// fractions shown in percent).
func Scale(metric string) float64 {
	if m, ok := knownMetrics[metric]; ok {
		return m.scale
	}
	if strings.HasPrefix(metric, "acc_class_") {
		return 100
	}
	return 1
}

// Text formats a cell of metric as the Markdown table shows it:
// "mean ± std" in the metric's unit with the table's precision, "(n=2/3)"
// appended when some expected results are missing, and Missing when there
// are none.
func (t *Table) Text(metric string, c Cell) string {
	if c.N() == 0 {
		return Missing
	}
	s := Scale(metric)
	p := t.Spec.Precision
	text := fmt.Sprintf("%.*f", p, c.Mean*s)
	if c.N() > 1 {
		text += fmt.Sprintf(" ± %.*f", p, c.Std*s)
	}
	if c.N() < c.Expected {
		text += fmt.Sprintf(" (n=%d/%d)", c.N(), c.Expected)
	}
	return text
}

// jsonTable is the JSON form of a Table: one entry per non-empty cell.
type jsonTable struct {
	Title     string     `json:"title"`
	Rows      []string   `json:"rows"`
	Columns   []string   `json:"columns"`
	Values    []string   `json:"values"`
	Precision int        `json:"precision"`
	Seeds     int        `json:"seeds"`
	Cells     []jsonCell `json:"cells"`
}

type jsonCell struct {
	Row    map[string]string `json:"row"`
	Column map[string]string `json:"column"`
	Metric string            `json:"metric"`
	Cell
	N    int      `json:"n"`
	Mean *float64 `json:"mean"` // null without results (JSON has no NaN)
}

// JSON encodes the table: its layout and every cell with its values.
func (t *Table) JSON() ([]byte, error) {
	out := jsonTable{Title: t.Spec.Title, Rows: nonNil(t.Spec.Rows), Columns: nonNil(t.Spec.Columns),
		Values: nonNil(t.Spec.Values), Precision: t.Spec.Precision, Seeds: t.Seeds, Cells: []jsonCell{}}
	for r, rl := range t.RowLabels {
		for c, cl := range t.ColumnLabels {
			for v, metric := range t.Spec.Values {
				cell := t.Cells[r][c][v]
				jc := jsonCell{Row: zip(t.Spec.Rows, rl), Column: zip(t.Spec.Columns, cl), Metric: metric, Cell: cell, N: cell.N()}
				if cell.N() > 0 {
					m := cell.Mean
					jc.Mean = &m
				} else {
					jc.Cell.Std = 0
				}
				if jc.Cell.Values == nil {
					jc.Cell.Values = []float64{}
				}
				out.Cells = append(out.Cells, jc)
			}
		}
	}
	return json.MarshalIndent(out, "", "  ")
}

func zip(names, values []string) map[string]string {
	m := make(map[string]string, len(names))
	for i, n := range names {
		m[n] = values[i]
	}
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
