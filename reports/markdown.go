package reports

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Header is the table's heading row: the row dimensions, then one column
// per column group and value.
func (t *Table) Header() []string {
	h := append([]string{}, t.Spec.Rows...)
	for _, cl := range t.ColumnLabels {
		for _, v := range t.Spec.Values {
			h = append(h, groupHeading(t.Spec.Columns, cl, v))
		}
	}
	return h
}

func groupHeading(dims, labels []string, metric string) string {
	if len(dims) == 0 {
		return Heading(metric)
	}
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = d + "=" + labels[i]
	}
	return strings.Join(parts, ", ") + " · " + Heading(metric)
}

// Body is the table's cells as text, one row per row label.
func (t *Table) Body() [][]string {
	body := make([][]string, len(t.RowLabels))
	for r, rl := range t.RowLabels {
		row := append([]string{}, rl...)
		for c := range t.ColumnLabels {
			for v, metric := range t.Spec.Values {
				row = append(row, t.Text(metric, t.Cells[r][c][v]))
			}
		}
		body[r] = row
	}
	return body
}

// Markdown writes the table as GitHub Markdown: the title as a heading, the
// table (row labels left-aligned, numbers right-aligned) and a line saying
// what the cells hold.
func (t *Table) Markdown(w io.Writer) error {
	var buf bytes.Buffer
	if t.Spec.Title != "" {
		fmt.Fprintf(&buf, "### %s\n\n", escape(t.Spec.Title))
	}
	header := t.Header()
	align := make(tw.Alignment, len(header))
	for i := range align {
		align[i] = tw.AlignRight
		if i < len(t.Spec.Rows) {
			align[i] = tw.AlignLeft
		}
	}
	tbl := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewMarkdown()),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithAlignment(align),
	)
	tbl.Header(escapeAll(header))
	for _, row := range t.Body() {
		if err := tbl.Append(escapeAll(row)); err != nil {
			return err
		}
	}
	if err := tbl.Render(); err != nil {
		return err
	}
	fmt.Fprintf(&buf, "\n%s\n", t.Caption())
	_, err := w.Write(buf.Bytes())
	return err
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
	s += "; (n=k/m): only k of the m expected results exist; " + Missing + ": none."
	return s
}

func escapeAll(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = escape(c)
	}
	return out
}

// escape keeps a cell's text from breaking the Markdown table.
func escape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
