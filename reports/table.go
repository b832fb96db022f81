// Package reports turns evaluation results into the paper-style tables and
// figures of an experiment: rows and columns are dimensions of the
// evaluated stages (sweep keys such as ratio or model, parameters such as
// method), each cell holds a metric's mean ± standard deviation over the
// replicate seeds with the number of results it rests on, the best value
// of each comparison is marked, and the paper's published numbers can sit
// beside the measured ones.
//
// The package knows nothing of specs, stages or the engine: callers
// describe each evaluated model as an Observation (its labels on every
// dimension and its metrics) and get a Table, which renders itself as
// Markdown (github.com/olekukonko/tablewriter), CSV, JSON or LaTeX, and
// draws its sweeps as figures (gonum.org/v1/plot, PNG or SVG). Training
// curves and OSP's Δ per layer are figures of their own (see figure.go).
package reports

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Missing is the label of a dimension an observation has no value for, and
// the text of a cell without any result.
const Missing = "—"

// SeedDim is the dimension that names an observation's replicate: cells
// average over it and nothing else.
const SeedDim = "seed"

// Observation is one evaluated model as a table sees it.
type Observation struct {
	// Dims labels the observation on each dimension, e.g. "model": "ortho",
	// "ratio": "0.02", "seed": "1". A dimension it lacks is Missing. Dims
	// beyond the table's rows and columns (dataset, method, ...) are kept
	// as the context of its cell: what the paper's numbers are looked up
	// by, and what tells a cell that averages over more than seeds.
	Dims map[string]string
	// Metrics holds the values computed, by metric name; a metric that was
	// not computed is absent (NaN counts as absent too).
	Metrics map[string]float64
	// Failed marks an evaluation that produced no results (it or one of its
	// inputs failed, or it has not run). It still counts towards the
	// results a cell expects, so the cell shows n=2/3 rather than
	// pretending two seeds were all.
	Failed bool
	// Name names the observation in notes (the evaluation's address).
	Name string
	// Why says why a failed observation has no results, or why one that
	// has results lacks some metrics; the table lists it among its notes,
	// observations with the same reason together.
	Why string
}

// Spec says how to lay a table out.
type Spec struct {
	Name      string // the report's address (report.summary), for JSON and file names
	Title     string
	Rows      []string // dimensions that make the rows, outermost first
	Columns   []string // dimensions that make the column groups
	Values    []string // metrics shown in every column group
	Precision int      // decimals shown
	// Paper names the published table whose numbers PlaceBeside puts
	// beside the measured ones ("table2"); empty for none.
	Paper string
	// Compare is the dimension whose labels compete for each metric's best
	// value: cells that differ only in it (and in dimensions nested inside
	// it) are compared. Empty: the first of method, model and models that
	// the table lays out with two or more labels, else the innermost row
	// dimension, else the innermost column dimension.
	Compare string
	// References lists, by dimension, the labels of reference results
	// (the model before unlearning, the retrained gold standard): their
	// cells are shown but never marked best.
	References map[string][]string
}

// Cell is one metric of one row and column group.
type Cell struct {
	Values   []float64 `json:"values"`   // one per result, in observation order
	Expected int       `json:"expected"` // results the cell should hold: its observations that measured the metric or failed
	Mean     float64   `json:"mean"`
	Std      float64   `json:"std"` // sample standard deviation (n−1); 0 for one value
	// Best marks the best shown value of its comparison (see Spec.Compare)
	// in the metric's direction; ties are all best.
	Best bool `json:"best"`
	// Mixed lists the dimensions besides the seed in which the cell's
	// observations differ: the cell averages over more than replicates,
	// which the table marks rather than hides.
	Mixed []string `json:"mixed,omitempty"`
}

// N is the number of results the cell rests on.
func (c Cell) N() int { return len(c.Values) }

// Complete reports whether every expected result is there.
func (c Cell) Complete() bool { return c.N() > 0 && c.N() == c.Expected }

// Table is a built report table.
type Table struct {
	Spec Spec
	// RowLabels and ColumnLabels hold, for each row and column group, its
	// label on each of Spec.Rows or Spec.Columns. Rows sharing an outer
	// label are kept together; otherwise the order is that of first
	// appearance among the observations.
	RowLabels, ColumnLabels [][]string
	// Cells[r][c][v] is value v of row r in column group c.
	Cells [][][]Cell
	// Seeds is the largest number of observations of any cell: the
	// replicate count of a complete table.
	Seeds int
	// Keys[r][c] holds the labels that every observation of row r and
	// column group c shares (the seed left out): the row and column labels
	// and the context, such as dataset and method. PlaceBeside looks the
	// published numbers up by it.
	Keys [][]map[string]string
	// Paper[r][c][v] is the published value beside Cells[r][c][v]; nil
	// where there is none or PlaceBeside was not called.
	Paper [][][]*PaperValue
	// Compared is the dimension whose labels competed for the best values
	// (empty when nothing was compared).
	Compared string
	// Notes say what the cells cannot: why results are missing, which
	// cells average over more than seeds, where the paper's numbers are.
	Notes []string
}

// maxMissingNotes bounds the notes listing missing results one by one.
const maxMissingNotes = 12

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
	if spec.Compare != "" && !slices.Contains(spec.Rows, spec.Compare) && !slices.Contains(spec.Columns, spec.Compare) {
		return nil, fmt.Errorf("reports: compare %q: it is neither a row nor a column dimension", spec.Compare)
	}
	t := &Table{Spec: spec}
	var rowOf, colOf []int
	t.RowLabels, rowOf = layout(obs, spec.Rows)
	t.ColumnLabels, colOf = layout(obs, spec.Columns)

	members := make([][][]int, len(t.RowLabels)) // observation indices per cell
	t.Cells = make([][][]Cell, len(t.RowLabels))
	for r := range t.Cells {
		members[r] = make([][]int, len(t.ColumnLabels))
		t.Cells[r] = make([][]Cell, len(t.ColumnLabels))
		for c := range t.Cells[r] {
			t.Cells[r][c] = make([]Cell, len(spec.Values))
		}
	}
	for i, o := range obs {
		r, c := rowOf[i], colOf[i]
		members[r][c] = append(members[r][c], i)
		for v, name := range spec.Values {
			cell := &t.Cells[r][c][v]
			if o.Failed {
				cell.Expected++
				continue
			}
			// An evaluation that ran but has no value for a metric did not
			// measure it (a trained model has no unlearning time; its notes
			// say why): it is not a missing result of the cell.
			if x, ok := o.Metrics[name]; ok && !math.IsNaN(x) {
				cell.Expected++
				cell.Values = append(cell.Values, x)
			}
		}
	}
	t.Keys = make([][]map[string]string, len(t.RowLabels))
	var mixedCells []string
	for r := range t.Cells {
		t.Keys[r] = make([]map[string]string, len(t.ColumnLabels))
		for c := range t.Cells[r] {
			t.Keys[r][c] = sharedDims(obs, members[r][c])
			mixed := mixedDims(obs, members[r][c])
			if mixed != nil {
				mixedCells = append(mixedCells, fmt.Sprintf("%s (%s)", t.place(r, c), strings.Join(mixed, ", ")))
			}
			for v := range t.Cells[r][c] {
				cell := &t.Cells[r][c][v]
				cell.Mean, cell.Std = meanStd(cell.Values)
				cell.Mixed = mixed
				t.Seeds = max(t.Seeds, cell.Expected)
			}
		}
	}
	t.markBest()
	t.noteMissing(obs)
	if len(mixedCells) > 0 {
		t.Notes = append(t.Notes, fmt.Sprintf("† averages over more than the seeds: its results differ in the dimensions named; "+
			"make them rows or columns to separate them: %s.", strings.Join(mixedCells, "; ")))
	}
	return t, nil
}

// layout gives each observation its label tuple on dims and orders the
// distinct tuples: grouped by their outer labels, each level in order of
// first appearance.
func layout(obs []Observation, dims []string) ([][]string, []int) {
	first := make([]map[string]int, len(dims)) // per level: label -> first appearance
	for i := range first {
		first[i] = map[string]int{}
	}
	index := map[string]int{}
	var tuples [][]string
	of := make([]int, len(obs))
	for i, o := range obs {
		l := labels(o, dims)
		for d, s := range l {
			if _, ok := first[d][s]; !ok {
				first[d][s] = len(first[d])
			}
		}
		k := strings.Join(l, "\x00")
		j, ok := index[k]
		if !ok {
			j = len(tuples)
			index[k] = j
			tuples = append(tuples, l)
		}
		of[i] = j
	}
	order := make([]int, len(tuples))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ta, tb := tuples[order[a]], tuples[order[b]]
		for d := range ta {
			if fa, fb := first[d][ta[d]], first[d][tb[d]]; fa != fb {
				return fa < fb
			}
		}
		return false
	})
	pos := make([]int, len(tuples))
	sorted := make([][]string, len(tuples))
	for p, j := range order {
		pos[j] = p
		sorted[p] = tuples[j]
	}
	for i := range of {
		of[i] = pos[of[i]]
	}
	return sorted, of
}

func labels(o Observation, dims []string) []string {
	out := make([]string, len(dims))
	for i, d := range dims {
		out[i] = label(o, d)
	}
	return out
}

func label(o Observation, dim string) string {
	if v, ok := o.Dims[dim]; ok && v != "" {
		return v
	}
	return Missing
}

// sharedDims are the labels all the observations agree on, seed left out.
func sharedDims(obs []Observation, idx []int) map[string]string {
	out := map[string]string{}
	if len(idx) == 0 {
		return out
	}
	for d := range obs[idx[0]].Dims {
		if d == SeedDim {
			continue
		}
		l := label(obs[idx[0]], d)
		same := true
		for _, i := range idx[1:] {
			if label(obs[i], d) != l {
				same = false
				break
			}
		}
		if same {
			out[d] = l
		}
	}
	return out
}

// mixedDims returns nil when the observations are distinct replicates
// (no two share a seed), else the dimensions in which they differ (an
// empty, non-nil list when they differ in none: duplicates).
func mixedDims(obs []Observation, idx []int) []string {
	seeds := map[string]bool{}
	dup := false
	for _, i := range idx {
		s := label(obs[i], SeedDim)
		if seeds[s] {
			dup = true
		}
		seeds[s] = true
	}
	if !dup {
		return nil
	}
	dims := map[string]bool{}
	for _, i := range idx {
		for d := range obs[i].Dims {
			dims[d] = true
		}
	}
	out := []string{}
	for d := range dims {
		if d == SeedDim {
			continue
		}
		for _, i := range idx[1:] {
			if label(obs[i], d) != label(obs[idx[0]], d) {
				out = append(out, d)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// place names a cell's row and column group for notes.
func (t *Table) place(r, c int) string {
	var parts []string
	for i, d := range t.Spec.Rows {
		parts = append(parts, d+"="+t.RowLabels[r][i])
	}
	for i, d := range t.Spec.Columns {
		parts = append(parts, d+"="+t.ColumnLabels[c][i])
	}
	if len(parts) == 0 {
		return "the only cell"
	}
	return strings.Join(parts, " ")
}

func (t *Table) noteMissing(obs []Observation) {
	var failedWhys, partialWhys []string
	names := map[string][]string{}
	failed := 0
	for _, o := range obs {
		if o.Failed {
			failed++
		}
		if o.Why == "" {
			continue
		}
		k := fmt.Sprint(o.Failed, "\x00", o.Why)
		if _, seen := names[k]; !seen {
			if o.Failed {
				failedWhys = append(failedWhys, o.Why)
			} else {
				partialWhys = append(partialWhys, o.Why)
			}
		}
		if o.Name != "" {
			names[k] = append(names[k], o.Name)
		} else if names[k] == nil {
			names[k] = []string{}
		}
	}
	group := func(failed bool, whys []string) string {
		parts := make([]string, 0, len(whys))
		for _, w := range whys {
			ns := names[fmt.Sprint(failed, "\x00", w)]
			switch {
			case len(ns) == 0:
				parts = append(parts, w)
			case len(ns) > 3:
				parts = append(parts, fmt.Sprintf("%s and %d more: %s", strings.Join(ns[:3], ", "), len(ns)-3, w))
			default:
				parts = append(parts, strings.Join(ns, ", ")+": "+w)
			}
		}
		return capped(parts)
	}
	if failed > 0 {
		note := fmt.Sprintf("No results from %d of %d evaluations", failed, len(obs))
		if len(failedWhys) > 0 {
			note += ". " + group(true, failedWhys)
		}
		t.Notes = append(t.Notes, note+".")
	}
	if len(partialWhys) > 0 {
		t.Notes = append(t.Notes, "Some metrics are missing. "+group(false, partialWhys)+".")
	}
}

// capped joins reasons, listing at most maxMissingNotes of them.
func capped(whys []string) string {
	if len(whys) > maxMissingNotes {
		whys = append(whys[:maxMissingNotes:maxMissingNotes], fmt.Sprintf("and %d more", len(whys)-maxMissingNotes))
	}
	return strings.Join(whys, "; ")
}

// compareDim picks the dimension whose labels compete (see Spec.Compare).
func (t *Table) compareDim() string {
	if t.Spec.Compare != "" {
		return t.Spec.Compare
	}
	distinct := func(d string) int {
		seen := map[string]bool{}
		if i := slices.Index(t.Spec.Rows, d); i >= 0 {
			for _, l := range t.RowLabels {
				seen[l[i]] = true
			}
		}
		if i := slices.Index(t.Spec.Columns, d); i >= 0 {
			for _, l := range t.ColumnLabels {
				seen[l[i]] = true
			}
		}
		return len(seen)
	}
	for _, d := range []string{"method", "model", "models"} {
		if distinct(d) >= 2 {
			return d
		}
	}
	if n := len(t.Spec.Rows); n > 0 && distinct(t.Spec.Rows[n-1]) >= 2 {
		return t.Spec.Rows[n-1]
	}
	if n := len(t.Spec.Columns); n > 0 && distinct(t.Spec.Columns[n-1]) >= 2 {
		return t.Spec.Columns[n-1]
	}
	return ""
}

// markBest marks, in every comparison, the cells whose shown value is best
// in the metric's direction. Only complete cells of non-reference results
// that average over seeds alone compete; a comparison needs two of them
// and a difference, so that a lone or unanimous value is not called best.
func (t *Table) markBest() {
	d := t.compareDim()
	if d == "" {
		return
	}
	t.Compared = d
	type member struct{ r, c int }
	groups := map[string][]member{}
	var order []string
	ri, ci := slices.Index(t.Spec.Rows, d), slices.Index(t.Spec.Columns, d)
	for r := range t.RowLabels {
		for c := range t.ColumnLabels {
			var k string
			if ri >= 0 {
				k = fmt.Sprintf("c%d|%s", c, strings.Join(t.RowLabels[r][:ri], "\x00"))
			} else {
				k = fmt.Sprintf("r%d|%s", r, strings.Join(t.ColumnLabels[c][:ci], "\x00"))
			}
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], member{r, c})
		}
	}
	for v, metric := range t.Spec.Values {
		dir := MetricDirection(metric)
		if dir == Neutral {
			continue
		}
		for _, k := range order {
			var cands []member
			var shown []float64
			for _, m := range groups[k] {
				cell := t.Cells[m.r][m.c][v]
				if !cell.Complete() || cell.Mixed != nil || t.isReference(m.r, m.c) {
					continue
				}
				cands = append(cands, m)
				shown = append(shown, t.rounded(metric, cell.Mean))
			}
			if len(cands) < 2 {
				continue
			}
			best := shown[0]
			for _, x := range shown[1:] {
				if (dir == LowerIsBetter && x < best) || (dir == HigherIsBetter && x > best) {
					best = x
				}
			}
			n := 0
			for _, x := range shown {
				if x == best {
					n++
				}
			}
			if n == len(shown) {
				continue
			}
			for i, m := range cands {
				if shown[i] == best {
					t.Cells[m.r][m.c][v].Best = true
				}
			}
		}
	}
}

func (t *Table) isReference(r, c int) bool {
	for dim, refs := range t.Spec.References {
		if l, ok := t.Keys[r][c][dim]; ok && slices.Contains(refs, l) {
			return true
		}
	}
	return false
}

// rounded is x as shown: in the metric's unit at the table's precision.
func (t *Table) rounded(metric string, x float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(x*Scale(metric), 'f', t.Spec.Precision, 64), 64)
	return f
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

// Text formats a cell of metric as the tables show it: "mean ± std" in
// the metric's unit with the table's precision, "(n=2/3)" appended when
// some expected results are missing, "†" when the cell averages over
// more than seeds, and Missing when there are no results.
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
	if c.Mixed != nil {
		text += " †"
	}
	return text
}
