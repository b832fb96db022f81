package reports

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// LaTeX writes the table as a booktabs table environment (it needs
// \usepackage{booktabs}): a header row per column dimension group, one
// for the metrics and, when the paper's values are beside Lethe's, one
// naming them; outer row labels blank where they repeat; best values in
// bold; the caption and notes in the table's caption.
func (t *Table) LaTeX(w io.Writer) error {
	var b bytes.Buffer
	cols := t.columns()
	nRows := len(t.Spec.Rows)
	b.WriteString("% Made by lethe report; needs \\usepackage{booktabs}.\n")
	b.WriteString("\\begin{table}[t]\n\\centering\n")
	caption := t.Caption()
	if t.Spec.Title != "" {
		caption = t.Spec.Title + ". " + caption
	}
	if len(t.Notes) > 0 {
		caption += " " + strings.Join(t.Notes, " ")
	}
	fmt.Fprintf(&b, "\\caption{%s}\n", latexText(caption))
	fmt.Fprintf(&b, "\\begin{tabular}{%s%s}\n\\toprule\n", strings.Repeat("l", nRows), strings.Repeat("r", len(cols)))

	// spans groups consecutive columns sharing key into multicolumns.
	spans := func(key func(column) string, text func(column) string) (line string, rules string) {
		cells := make([]string, nRows)
		var rs []string
		at := nRows + 1
		for i := 0; i < len(cols); {
			j := i + 1
			for j < len(cols) && key(cols[j]) == key(cols[i]) {
				j++
			}
			s := text(cols[i])
			if j-i > 1 {
				s = fmt.Sprintf("\\multicolumn{%d}{c}{%s}", j-i, s)
			}
			cells = append(cells, s)
			if s != "" {
				rs = append(rs, fmt.Sprintf("\\cmidrule(lr){%d-%d}", at+i, at+j-1))
			}
			i = j
		}
		return strings.Join(cells, " & ") + " \\\\\n", strings.Join(rs, " ") + "\n"
	}
	if len(t.Spec.Columns) > 0 {
		line, rules := spans(func(c column) string { return fmt.Sprint(c.c) },
			func(c column) string { return latexText(t.groupLabel(c.c)) })
		b.WriteString(line + rules)
	}
	paper := t.anyPaper()
	metricLine, metricRules := spans(func(c column) string { return fmt.Sprint(c.c, ".", c.v) },
		func(c column) string { return latexHeading(t.Spec.Values[c.v], t.competes(c.c, c.v)) })
	if !paper {
		// The metric row is the last heading row: it names the row dimensions too.
		head := make([]string, 0, nRows+len(cols))
		for _, d := range t.Spec.Rows {
			head = append(head, latexText(d))
		}
		for _, c := range cols {
			head = append(head, latexHeading(t.Spec.Values[c.v], t.competes(c.c, c.v)))
		}
		b.WriteString(strings.Join(head, " & ") + " \\\\\n")
	} else {
		b.WriteString(metricLine + metricRules)
		head := make([]string, 0, nRows+len(cols))
		for _, d := range t.Spec.Rows {
			head = append(head, latexText(d))
		}
		for _, c := range cols {
			switch {
			case c.paper:
				head = append(head, "paper")
			case t.hasPaper(c.c, c.v):
				head = append(head, "Lethe")
			default:
				head = append(head, "")
			}
		}
		b.WriteString(strings.Join(head, " & ") + " \\\\\n")
	}
	b.WriteString("\\midrule\n")
	for r, rl := range t.RowLabels {
		row := make([]string, 0, nRows+len(cols))
		for i, l := range rl {
			if t.outerRepeat(r, i) {
				l = ""
			}
			row = append(row, latexText(l))
		}
		for _, c := range cols {
			s := t.shown(r, c)
			text := latexText(s.text)
			if s.best {
				text = "\\textbf{" + text + "}"
			}
			row = append(row, text)
		}
		b.WriteString(strings.Join(row, " & ") + " \\\\\n")
	}
	b.WriteString("\\bottomrule\n\\end{tabular}\n\\end{table}\n")
	_, err := w.Write(b.Bytes())
	return err
}

// latexHeading is a metric's heading with, when arrow is set, its
// direction's arrow in math mode.
func latexHeading(metric string, arrow bool) string {
	h := latexText(Heading(metric))
	if !arrow {
		return h
	}
	switch MetricDirection(metric) {
	case LowerIsBetter:
		h += " $\\downarrow$"
	case HigherIsBetter:
		h += " $\\uparrow$"
	}
	return h
}

var latexReplacer = strings.NewReplacer(
	`\`, `\textbackslash{}`, `{`, `\{`, `}`, `\}`, `$`, `\$`, `&`, `\&`, `#`, `\#`,
	`^`, `\^{}`, `_`, `\_`, `~`, `\~{}`, `%`, `\%`,
	"±", `$\pm$`, "—", "---", "†", `$^\dagger$`, "·", `$\cdot$`, "Δ", `$\Delta$`, "λ", `$\lambda$`,
	"↓", `$\downarrow$`, "↑", `$\uparrow$`, "×", `$\times$`, "−", "--",
)

// latexText escapes text for LaTeX: its special characters, and the few
// symbols Lethe's tables use, in math mode.
func latexText(s string) string { return latexReplacer.Replace(s) }
