package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// CSV writes the table for spreadsheets and data frames: one line per
// row, the row labels first, then for every measured column its mean,
// standard deviation, number of results and number expected (numbers in
// the shown unit at the table's precision; empty where there are no
// results) and, where the paper has values, the published one.
func (t *Table) CSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := append([]string{}, t.Spec.Rows...)
	cols := t.columns()
	for _, col := range cols {
		h := headingWithArrow(t.Spec.Values[col.v], t.competes(col.c, col.v))
		if g := t.groupLabel(col.c); g != "" {
			h = g + " · " + h
		}
		if col.paper {
			header = append(header, h+" paper")
			continue
		}
		header = append(header, h+" mean", h+" std", h+" n", h+" expected")
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	p := t.Spec.Precision
	for r, rl := range t.RowLabels {
		rec := append([]string{}, rl...)
		for _, col := range cols {
			metric := t.Spec.Values[col.v]
			if col.paper {
				s := ""
				if pv := t.paperAt(r, col.c, col.v); pv != nil {
					s = PaperText(metric, pv)
				}
				rec = append(rec, s)
				continue
			}
			cell := t.Cells[r][col.c][col.v]
			mean, std := "", ""
			if cell.N() > 0 {
				mean = fmt.Sprintf("%.*f", p, cell.Mean*Scale(metric))
				std = fmt.Sprintf("%.*f", p, cell.Std*Scale(metric))
			}
			rec = append(rec, mean, std, strconv.Itoa(cell.N()), strconv.Itoa(cell.Expected))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
