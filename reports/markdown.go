package reports

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Markdown writes the table as GitHub Markdown: the title as a heading,
// the table (row labels left-aligned, numbers right-aligned, an outer row
// label left blank where it repeats the row above, best values in bold),
// a line saying what the cells hold and the table's notes.
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
	cols := t.columns()
	for r, rl := range t.RowLabels {
		row := make([]string, 0, len(header))
		for i, l := range rl {
			if t.outerRepeat(r, i) {
				l = ""
			}
			row = append(row, escape(l))
		}
		for _, col := range cols {
			s := t.shown(r, col)
			text := escape(s.text)
			if s.best {
				text = "**" + text + "**"
			}
			row = append(row, text)
		}
		if err := tbl.Append(row); err != nil {
			return err
		}
	}
	if err := tbl.Render(); err != nil {
		return err
	}
	fmt.Fprintf(&buf, "\n%s\n", t.Caption())
	for _, n := range t.Notes {
		fmt.Fprintf(&buf, "\n- %s", escape(n))
	}
	if len(t.Notes) > 0 {
		buf.WriteByte('\n')
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func escapeAll(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = escape(c)
	}
	return out
}

// escape keeps a cell's text from breaking the Markdown table or turning
// into emphasis. Underscores stay: GitHub never reads the intraword ones
// of acc_f or vgg16_bn as emphasis, and a terminal shows them as they are.
func escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "*", `\*`)
	return strings.ReplaceAll(s, "\n", " ")
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
