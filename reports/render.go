package reports

import (
	"fmt"
	"io"
	"strings"
)

// The output formats of a table.
const (
	FormatMarkdown = "markdown"
	FormatCSV      = "csv"
	FormatJSON     = "json"
	FormatLaTeX    = "latex"
)

// Formats lists the output formats, as ParseFormat names them.
var Formats = []string{FormatMarkdown, FormatCSV, FormatJSON, FormatLaTeX}

// ParseFormat reads a format name: markdown (or md), csv, json, latex (or
// tex).
func ParseFormat(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "markdown", "md":
		return FormatMarkdown, nil
	case "csv":
		return FormatCSV, nil
	case "json":
		return FormatJSON, nil
	case "latex", "tex":
		return FormatLaTeX, nil
	}
	return "", fmt.Errorf("format %q: want md, csv, json or latex", s)
}

// Ext is the file extension of a format, with its dot.
func Ext(format string) string {
	switch format {
	case FormatMarkdown:
		return ".md"
	case FormatLaTeX:
		return ".tex"
	}
	return "." + format
}

// Render writes the table in format (see Formats).
func (t *Table) Render(w io.Writer, format string) error {
	switch format {
	case FormatMarkdown:
		return t.Markdown(w)
	case FormatCSV:
		return t.CSV(w)
	case FormatJSON:
		b, err := t.JSON()
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	case FormatLaTeX:
		return t.LaTeX(w)
	}
	return fmt.Errorf("reports: unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// column is one shown column: value v of column group c, measured or
// published.
type column struct {
	c, v  int
	paper bool
}

// columns lays out the shown columns: per column group, per value, the
// measured column and, where the paper has any value, the paper's beside
// it.
func (t *Table) columns() []column {
	var cols []column
	for c := range t.ColumnLabels {
		for v := range t.Spec.Values {
			cols = append(cols, column{c: c, v: v})
			if t.hasPaper(c, v) {
				cols = append(cols, column{c: c, v: v, paper: true})
			}
		}
	}
	return cols
}

// anyPaper reports whether the table shows any paper column.
func (t *Table) anyPaper() bool {
	for c := range t.ColumnLabels {
		for v := range t.Spec.Values {
			if t.hasPaper(c, v) {
				return true
			}
		}
	}
	return false
}

// groupLabel names column group c: "model=ortho, ratio=0.02"; empty
// without column dimensions.
func (t *Table) groupLabel(c int) string {
	parts := make([]string, len(t.Spec.Columns))
	for i, d := range t.Spec.Columns {
		parts[i] = d + "=" + t.ColumnLabels[c][i]
	}
	return strings.Join(parts, ", ")
}

// Header is the table's heading row: the row dimensions, then one heading
// per shown column: its group, metric and direction, and, where the
// paper's value stands beside it, whether it is Lethe's or the paper's.
func (t *Table) Header() []string {
	h := append([]string{}, t.Spec.Rows...)
	for _, col := range t.columns() {
		s := headingWithArrow(t.Spec.Values[col.v], t.competes(col.c, col.v))
		if g := t.groupLabel(col.c); g != "" {
			s = g + " · " + s
		}
		switch {
		case col.paper:
			s += " · paper"
		case t.hasPaper(col.c, col.v):
			s += " · Lethe"
		}
		h = append(h, s)
	}
	return h
}

// competes reports whether value v of column group c has any result that
// is not a reference: only then does the metric's direction apply (a
// column of models before unlearning, Table 1's, has no better or worse
// forget accuracy), and only then does its heading carry the arrow.
func (t *Table) competes(c, v int) bool {
	for r := range t.RowLabels {
		if t.Cells[r][c][v].Expected > 0 && !t.isReference(r, c) {
			return true
		}
	}
	return false
}

// shownCell is one body cell: its text and whether it is best.
type shownCell struct {
	text string
	best bool
}

func (t *Table) shown(r int, col column) shownCell {
	metric := t.Spec.Values[col.v]
	if col.paper {
		return shownCell{text: PaperText(metric, t.paperAt(r, col.c, col.v))}
	}
	cell := t.Cells[r][col.c][col.v]
	return shownCell{text: t.Text(metric, cell), best: cell.Best}
}

// Body is the table's cells as plain text (no marking of best values),
// one row per row label.
func (t *Table) Body() [][]string {
	cols := t.columns()
	body := make([][]string, len(t.RowLabels))
	for r, rl := range t.RowLabels {
		row := append([]string{}, rl...)
		for _, col := range cols {
			row = append(row, t.shown(r, col).text)
		}
		body[r] = row
	}
	return body
}

// Caption says what the cells hold.
func (t *Table) Caption() string {
	var s string
	switch {
	case t.Seeds > 1:
		s = fmt.Sprintf("Mean ± sample standard deviation over %d seeds", t.Seeds)
	default:
		s = "One seed per cell"
	}
	s += "; (n=k/m): only k of the m expected results exist; " + Missing + ": none"
	if t.anyBest() {
		s += fmt.Sprintf("; bold: the best of each comparison of %s (↓ lower is better, ↑ higher)", plural(t.Compared))
		if len(t.Spec.References) > 0 {
			s += ", references (" + t.referenceList() + ") not competing"
		}
	}
	return s + "."
}

func plural(dim string) string {
	switch {
	case strings.HasSuffix(dim, "s"):
		return dim
	case strings.HasSuffix(dim, "y"):
		return dim[:len(dim)-1] + "ies"
	}
	return dim + "s"
}

func (t *Table) anyBest() bool {
	for r := range t.Cells {
		for c := range t.Cells[r] {
			for _, cell := range t.Cells[r][c] {
				if cell.Best {
					return true
				}
			}
		}
	}
	return false
}

func (t *Table) referenceList() string {
	var parts []string
	for _, dim := range sortedKeys(t.Spec.References) {
		parts = append(parts, dim+"="+strings.Join(t.Spec.References[dim], "/"))
	}
	return strings.Join(parts, ", ")
}

// outerRepeat reports whether row r's label at level i repeats the row
// above it on every level up to i, so that a paper-style table leaves it
// blank.
func (t *Table) outerRepeat(r, i int) bool {
	if r == 0 || i >= len(t.Spec.Rows)-1 {
		return false
	}
	for j := 0; j <= i; j++ {
		if t.RowLabels[r][j] != t.RowLabels[r-1][j] {
			return false
		}
	}
	return true
}
