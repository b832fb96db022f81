package reports

import (
	"fmt"
)

// PaperValue is one published number.
type PaperValue struct {
	// Value is in the metric's stored unit, as Lethe's own values are: a
	// fraction for accuracies and attack success (97.60% is 0.976),
	// seconds for times.
	Value float64
	// Decimals is how many digits the paper prints after the point, in
	// the shown unit: the published column keeps the paper's precision.
	Decimals int
	Text     string // as printed, e.g. "97.60%"
	Source   string // where it is printed, e.g. "Table 2, row Res-18 SSD, column CIFAR-10 MIA"
}

// Published is where the paper's numbers come from: the value of metric
// in the published table whose row matches key (dimension -> label, as
// Table.Keys holds them; Missing is a label like any other), if there is
// exactly one.
type Published interface {
	Lookup(table string, key map[string]string, metric string) (PaperValue, bool)
}

// PublishedFunc lets a function serve as Published.
type PublishedFunc func(table string, key map[string]string, metric string) (PaperValue, bool)

// Lookup calls f.
func (f PublishedFunc) Lookup(table string, key map[string]string, metric string) (PaperValue, bool) {
	return f(table, key, metric)
}

// PlaceBeside looks up, for every cell, the paper's value in the table
// Spec.Paper names, so that the renderers show a "paper" column beside
// every measured one that has any. It returns how many values it found.
// Without Spec.Paper it does nothing; without p (a build that has no
// published numbers), or when no cell has a value, the table says so in
// its notes rather than silently showing no paper column.
func (t *Table) PlaceBeside(p Published) int {
	if t.Spec.Paper == "" {
		return 0
	}
	if p == nil {
		t.Notes = append(t.Notes, fmt.Sprintf("The paper's numbers (%s) are not available in this build.", t.Spec.Paper))
		return 0
	}
	t.Paper = make([][][]*PaperValue, len(t.RowLabels))
	found := 0
	for r := range t.RowLabels {
		t.Paper[r] = make([][]*PaperValue, len(t.ColumnLabels))
		for c := range t.ColumnLabels {
			t.Paper[r][c] = make([]*PaperValue, len(t.Spec.Values))
			for v, metric := range t.Spec.Values {
				if pv, ok := p.Lookup(t.Spec.Paper, t.Keys[r][c], metric); ok {
					t.Paper[r][c][v] = &pv
					found++
				}
			}
		}
	}
	if found == 0 {
		t.Notes = append(t.Notes, fmt.Sprintf("The paper's %s has no value for any cell of this table.", t.Spec.Paper))
	} else {
		t.Notes = append(t.Notes, fmt.Sprintf("paper: the value the paper publishes in %s for the cell's setting.", t.Spec.Paper))
	}
	return found
}

// paperAt is the published value beside cell (r, c, v), or nil.
func (t *Table) paperAt(r, c, v int) *PaperValue {
	if t.Paper == nil {
		return nil
	}
	return t.Paper[r][c][v]
}

// hasPaper reports whether column group c shows a paper column for value
// v: whether any row has a published value there.
func (t *Table) hasPaper(c, v int) bool {
	for r := range t.RowLabels {
		if t.paperAt(r, c, v) != nil {
			return true
		}
	}
	return false
}

// PaperText formats a published value in the metric's shown unit with the
// paper's own precision; Missing for nil.
func PaperText(metric string, p *PaperValue) string {
	if p == nil {
		return Missing
	}
	return fmt.Sprintf("%.*f", max(p.Decimals, 0), p.Value*Scale(metric))
}
