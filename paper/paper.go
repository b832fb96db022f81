package paper

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Unit is the unit a value is printed in, or one it converts to.
type Unit string

// The units. The paper prints accuracies and attack success in percent and
// times in seconds; Fraction is percent / 100, for renderers whose metrics
// are fractions.
const (
	Percent  Unit = "percent"
	Fraction Unit = "fraction"
	Seconds  Unit = "seconds"
)

// Value is one published number, exactly as printed.
type Value struct {
	Number float64 // the printed number, in Unit: 97.6 for "97.60%"
	Unit   Unit    // Percent or Seconds
	Text   string  // as printed: "97.60%", "0.1254s"
	Source string  // where it is printed: "Table 2, row Res-18 SSD, column CIFAR-10 MIA"
}

// In returns the value in unit u: percent converts to and from fraction,
// seconds only to seconds.
func (v Value) In(u Unit) (float64, error) {
	switch {
	case u == v.Unit:
		return v.Number, nil
	case v.Unit == Percent && u == Fraction:
		return v.Number / 100, nil
	}
	return 0, fmt.Errorf("%s (%s) is in %s, which does not convert to %s", v.Text, v.Source, v.Unit, u)
}

// Decimals is the number of digits printed after the decimal point.
func (v Value) Decimals() int {
	num := strings.TrimRight(v.Text, "%s")
	if i := strings.IndexByte(num, '.'); i >= 0 {
		return len(num) - i - 1
	}
	return 0
}

// Row is the set of values the paper prints for one key: one model and
// setting, with one value per metric.
type Row struct {
	Table  string
	Key    map[string]string // as written in the data: "ratio": "0.01", "forget": "1"
	Values map[string]Value  // by metric
}

//go:embed data/values.csv
var valuesCSV []byte

// dataName names the embedded file in error messages.
const dataName = "paper/data/values.csv"

var loaded = sync.OnceValues(func() ([]Row, error) {
	entries, err := parse(bytes.NewReader(valuesCSV), dataName)
	return group(entries), err
})

// Err reports whether the embedded data failed to load. The package's tests
// make sure it does not; a caller that must not show an empty paper column
// silently can check it.
func Err() error {
	_, err := loaded()
	return err
}

// Tables lists the ids of the paper's tables, in the paper's order.
func Tables() []string { return tableIDs() }

// Rows returns the rows of one table, in printed order (nil for an unknown
// table). The rows are the caller's to change.
func Rows(table string) []Row {
	rows, _ := loaded()
	var out []Row
	for _, r := range rows {
		if r.Table == table {
			out = append(out, Row{Table: r.Table, Key: maps.Clone(r.Key), Values: maps.Clone(r.Values)})
		}
	}
	return out
}

// Match returns the rows of table whose keys agree with key: every key the
// row has and the query gives must be equal (numbers by value, so "0.40"
// equals "0.4"; a one-element list "[1]" equals "1"). Keys only one side
// has are ignored.
//
// A query's "models" (the evaluated block: for a trained model its train
// block) stands for "model" when the query has no "model": a report over
// evaluations of trained models alone can only use "models" (the spec
// language has no "model" dimension there), yet names the same blocks.
func Match(table string, key map[string]string) []Row {
	if m, ok := key["models"]; ok {
		if _, has := key["model"]; !has {
			key = maps.Clone(key)
			key["model"] = m
		}
	}
	var out []Row
	for _, r := range Rows(table) {
		if r.matches(key) {
			out = append(out, r)
		}
	}
	return out
}

// Lookup returns the published value of metric in the one row of table
// that matches key (see Match). It reports false when no row or more than
// one row matches (the query left out a key in which rows differ), or when
// the row has no such metric.
func Lookup(table string, key map[string]string, metric string) (Value, bool) {
	rows := Match(table, key)
	if len(rows) != 1 {
		return Value{}, false
	}
	v, ok := rows[0].Values[metric]
	return v, ok
}

func (r Row) matches(key map[string]string) bool {
	for k, want := range key {
		have, ok := r.Key[k]
		if ok && canonical(have) != canonical(want) {
			return false
		}
	}
	return true
}

// canonical is the form in which key values are compared: numbers in
// their shortest form, one-element lists as their element, lists as their
// elements joined by commas.
func canonical(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if f, err := strconv.ParseFloat(p, 64); err == nil {
			p = strconv.FormatFloat(f, 'g', -1, 64)
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}

// The data file's columns besides the keys.
const (
	colTable   = "table"
	colMetric  = "metric"
	colUnit    = "unit"
	colPrinted = "printed"
	colSource  = "source"
)

// entry is one line of the values file.
type entry struct {
	table  string
	key    map[string]string
	rowID  string // table and canonical key
	metric string
	value  Value
	line   int
}

// parse reads the values file: a CSV header naming the columns table,
// metric, unit, printed and source, and any number of key columns (empty:
// the value has no such key); then one line per value. It checks every
// line and that every table has values.
func parse(r io.Reader, name string) ([]entry, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file, want a header line", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	col := map[string]int{}
	var keyCols []string
	for i, h := range header {
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("%s:1: column %q appears twice", name, h)
		}
		col[h] = i
		switch h {
		case colTable, colMetric, colUnit, colPrinted, colSource:
		case "":
			return nil, fmt.Errorf("%s:1: column %d has no name", name, i+1)
		default:
			keyCols = append(keyCols, h)
		}
	}
	for _, need := range []string{colTable, colMetric, colUnit, colPrinted, colSource} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s:1: no %q column (have %s)", name, need, strings.Join(header, ", "))
		}
	}

	var entries []entry
	seen := map[string]int{}   // table, key and metric -> line
	counts := map[string]int{} // values per table
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		at := fmt.Sprintf("%s:%d", name, line)
		field := func(c string) string { return strings.TrimSpace(rec[col[c]]) }
		table := field(colTable)
		if _, ok := Describe(table); !ok {
			return nil, fmt.Errorf("%s: unknown table %q (want one of %s)", at, table, strings.Join(tableIDs(), ", "))
		}
		metric := field(colMetric)
		if metric == "" {
			return nil, fmt.Errorf("%s: empty metric", at)
		}
		v, err := parseValue(field(colPrinted), Unit(field(colUnit)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		if v.Source = field(colSource); v.Source == "" {
			return nil, fmt.Errorf("%s: empty source (say where the paper prints %s)", at, v.Text)
		}
		key := map[string]string{}
		var id []string
		for _, k := range keyCols {
			if s := field(k); s != "" {
				key[k] = s
				id = append(id, k+"="+canonical(s))
			}
		}
		rowID := table + " " + strings.Join(id, " ")
		if prev, dup := seen[rowID+" "+metric]; dup {
			return nil, fmt.Errorf("%s: %s %s for %s is already given on line %d", at, table, metric, strings.Join(id, " "), prev)
		}
		seen[rowID+" "+metric] = line
		counts[table]++
		entries = append(entries, entry{table: table, key: key, rowID: rowID, metric: metric, value: v, line: line})
	}
	for _, t := range tables {
		if counts[t.ID] == 0 {
			return nil, fmt.Errorf("%s: no values for %s", name, t.ID)
		}
	}
	return entries, nil
}

// group gathers the entries of one table and key into a row, in the order
// of their first entry.
func group(entries []entry) []Row {
	var rows []Row
	index := map[string]int{}
	for _, e := range entries {
		i, ok := index[e.rowID]
		if !ok {
			i = len(rows)
			index[e.rowID] = i
			rows = append(rows, Row{Table: e.table, Key: e.key, Values: map[string]Value{}})
		}
		rows[i].Values[e.metric] = e.value
	}
	return rows
}

var plainDecimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// parseValue reads a printed number with its unit suffix ("97.60%",
// "4360.8s") and checks it against the declared unit.
func parseValue(printed string, unit Unit) (Value, error) {
	suffix := map[Unit]string{Percent: "%", Seconds: "s"}[unit]
	if suffix == "" {
		return Value{}, fmt.Errorf("unit %q: want %s or %s", unit, Percent, Seconds)
	}
	num, ok := strings.CutSuffix(printed, suffix)
	if !ok {
		return Value{}, fmt.Errorf("printed value %q does not end in %q, as unit %s needs", printed, suffix, unit)
	}
	if !plainDecimal.MatchString(num) {
		return Value{}, fmt.Errorf("printed value %q: %q is not a plain decimal number", printed, num)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return Value{}, fmt.Errorf("printed value %q: %w", printed, err)
	}
	if unit == Percent && f > 100 {
		return Value{}, fmt.Errorf("printed value %q is out of range for %s", printed, unit)
	}
	return Value{Number: f, Unit: unit, Text: printed}, nil
}
