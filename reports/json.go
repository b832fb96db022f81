package reports

import (
	"encoding/json"
)

// jsonTable is the JSON form of a Table: its layout, how each metric is
// shown, and every cell.
type jsonTable struct {
	Name      string       `json:"name,omitempty"`
	Title     string       `json:"title"`
	Rows      []string     `json:"rows"`
	Columns   []string     `json:"columns"`
	Values    []string     `json:"values"`
	Metrics   []jsonMetric `json:"metrics"`
	Precision int          `json:"precision"`
	Seeds     int          `json:"seeds"`
	Compared  string       `json:"compared,omitempty"`
	Paper     string       `json:"paper,omitempty"`
	Cells     []jsonCell   `json:"cells"`
	Notes     []string     `json:"notes"`
}

type jsonMetric struct {
	Name      string    `json:"name"`
	Heading   string    `json:"heading"`
	Scale     float64   `json:"scale"` // shown = stored × scale
	Direction Direction `json:"direction"`
}

type jsonCell struct {
	Row    map[string]string `json:"row"`
	Column map[string]string `json:"column"`
	Metric string            `json:"metric"`
	Cell
	N    int      `json:"n"`
	Mean *float64 `json:"mean"` // null without results (JSON has no NaN)
	Std  *float64 `json:"std"`
	Text string   `json:"text"` // as the Markdown table shows it
	// Key is what the cell's results share: its labels and context.
	Key   map[string]string `json:"key"`
	Paper *jsonPaper        `json:"paper,omitempty"`
}

type jsonPaper struct {
	Value  float64 `json:"value"` // in the stored unit, as values and mean
	Text   string  `json:"text"`
	Source string  `json:"source"`
}

// JSON encodes the table: its layout and every cell with the values it
// rests on, in the metrics' stored units (fractions, seconds), so that a
// program can check them against the tracking store.
func (t *Table) JSON() ([]byte, error) {
	out := jsonTable{Name: t.Spec.Name, Title: t.Spec.Title, Rows: nonNil(t.Spec.Rows), Columns: nonNil(t.Spec.Columns),
		Values: nonNil(t.Spec.Values), Precision: t.Spec.Precision, Seeds: t.Seeds, Compared: t.Compared,
		Paper: t.Spec.Paper, Cells: []jsonCell{}, Notes: nonNil(t.Notes)}
	for _, m := range t.Spec.Values {
		out.Metrics = append(out.Metrics, jsonMetric{Name: m, Heading: Heading(m), Scale: Scale(m), Direction: MetricDirection(m)})
	}
	for r, rl := range t.RowLabels {
		for c, cl := range t.ColumnLabels {
			for v, metric := range t.Spec.Values {
				cell := t.Cells[r][c][v]
				jc := jsonCell{Row: zip(t.Spec.Rows, rl), Column: zip(t.Spec.Columns, cl), Metric: metric, Cell: cell,
					N: cell.N(), Text: t.Text(metric, cell), Key: t.Keys[r][c]}
				if cell.N() > 0 {
					m, s := cell.Mean, cell.Std
					jc.Mean, jc.Std = &m, &s
				}
				if jc.Cell.Values == nil {
					jc.Cell.Values = []float64{}
				}
				if p := t.paperAt(r, c, v); p != nil {
					jc.Paper = &jsonPaper{Value: p.Value, Text: p.Text, Source: p.Source}
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
