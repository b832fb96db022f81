package paper

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"lethe/dsl"
)

func embedded(t *testing.T) []entry {
	t.Helper()
	entries, err := parse(bytes.NewReader(valuesCSV), dataName)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestEmbeddedDataLoads(t *testing.T) {
	if err := Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"table1", "table2", "table3a", "table3b", "appendix_a"}
	if got := Tables(); !slices.Equal(got, want) {
		t.Fatalf("Tables() = %v, want %v", got, want)
	}
	for _, id := range want {
		tab, ok := Describe(id)
		if !ok || tab.ID != id || tab.Title == "" || tab.Setting == "" || len(tab.Notes) == 0 {
			t.Errorf("%s: incomplete description %+v", id, tab)
		}
		if len(Rows(id)) == 0 {
			t.Errorf("%s: no rows", id)
		}
	}
	if _, ok := Describe("table4"); ok {
		t.Error("Describe(table4) found a table the paper does not have")
	}
	if Rows("table4") != nil {
		t.Error("Rows(table4) is not empty")
	}
}

// printedLines groups a table's values by the printed line they come from
// (their source up to ", column"), in file order.
func printedLines(entries []entry, table string) (order []string, values map[string][]Value) {
	values = map[string][]Value{}
	for _, e := range entries {
		if e.table != table {
			continue
		}
		line, _, _ := strings.Cut(e.value.Source, ", column ")
		if _, seen := values[line]; !seen {
			order = append(order, line)
		}
		values[line] = append(values[line], e.value)
	}
	return order, values
}

// TestShapes checks every table against its printed shape: the number of
// printed lines and of numbers on each.
func TestShapes(t *testing.T) {
	entries := embedded(t)
	for _, id := range Tables() {
		tab, _ := Describe(id)
		order, values := printedLines(entries, id)
		if len(order) != tab.PrintedRows {
			t.Errorf("%s: %d printed lines, the paper prints %d", id, len(order), tab.PrintedRows)
		}
		for _, line := range order {
			if n := len(values[line]); n != tab.PrintedColumns {
				t.Errorf("%s: %q has %d values, the paper prints %d", id, line, n, tab.PrintedColumns)
			}
			if !strings.Contains(line, ", row ") {
				t.Errorf("%s: source %q names no row", id, line)
			}
		}
	}
}

// TestDimsAndMetrics checks that each table's description names exactly
// the keys its values differ in and the metrics they hold, that every key
// is filled the same way within a printed line, and that every value is
// in the unit its metric is printed in.
func TestDimsAndMetrics(t *testing.T) {
	entries := embedded(t)
	for _, id := range Tables() {
		tab, _ := Describe(id)
		seenValues := map[string]map[string]bool{}
		metrics := map[string]bool{}
		for _, e := range entries {
			if e.table != id {
				continue
			}
			metrics[e.metric] = true
			for k, v := range e.key {
				if seenValues[k] == nil {
					seenValues[k] = map[string]bool{}
				}
				seenValues[k][canonical(v)] = true
			}
			want := Percent
			if e.metric == "time" {
				want = Seconds
			}
			if e.value.Unit != want {
				t.Errorf("%s line %d: %s in %s, want %s", id, e.line, e.metric, e.value.Unit, want)
			}
		}
		var dims []string
		for k, vs := range seenValues {
			if len(vs) > 1 {
				dims = append(dims, k)
			}
		}
		sort.Strings(dims)
		wantDims := slices.Sorted(slices.Values(tab.Dims))
		if !slices.Equal(dims, wantDims) {
			t.Errorf("%s: values differ in %v, description says %v", id, dims, wantDims)
		}
		gotMetrics := slices.Sorted(func(yield func(string) bool) {
			for m := range metrics {
				if !yield(m) {
					return
				}
			}
		})
		if want := slices.Sorted(slices.Values(tab.Metrics)); !slices.Equal(gotMetrics, want) {
			t.Errorf("%s: metrics %v, description says %v", id, gotMetrics, want)
		}
	}
}

// TestKeysAreLetheNames checks that keys and metrics use the names a spec
// and its report use, so a report cell can look its paper value up.
func TestKeysAreLetheNames(t *testing.T) {
	allowed := map[string][]string{
		"dataset": {"cifar10", "cifar100", "tinyimagenet"},
		"arch":    dsl.Archs,
		"model":   {"ortho", "plain"},
		"method":  append([]string{"original"}, dsl.MethodNames()...),
	}
	numeric := regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	for _, e := range embedded(t) {
		for k, v := range e.key {
			switch k {
			case "ratio", "strength", "forget":
				if !numeric.MatchString(v) {
					t.Errorf("line %d: %s = %q is not a number", e.line, k, v)
				}
			default:
				names, ok := allowed[k]
				if !ok {
					t.Errorf("line %d: unexpected key %q", e.line, k)
				} else if !slices.Contains(names, v) {
					t.Errorf("line %d: %s = %q is not one of %v", e.line, k, v, names)
				}
			}
		}
		if !slices.Contains(dsl.Metrics, e.metric) {
			t.Errorf("line %d: metric %q is not a Lethe metric %v", e.line, e.metric, dsl.Metrics)
		}
	}
}

// TestSpotChecks looks up values read off the paper's text by hand, with
// the labels a report gives its cells.
func TestSpotChecks(t *testing.T) {
	for _, c := range []struct {
		table  string
		key    map[string]string
		metric string
		text   string
	}{
		// Table 1: "CIFAR-100 | ResNet-18 | 89.60% | 78.03% | 87.60% | 77.28%"
		{"table1", map[string]string{"dataset": "cifar100", "arch": "resnet18", "model": "plain"}, "acc_forget", "89.60%"},
		{"table1", map[string]string{"dataset": "cifar100", "arch": "resnet18", "model": "ortho"}, "acc_retain", "77.28%"},
		{"table1", map[string]string{"dataset": "cifar10", "arch": "resnet50", "model": "ortho", "forget": "[1]"}, "acc_forget", "98.60%"},
		{"table1", map[string]string{"dataset": "tinyimagenet", "arch": "vgg16_bn", "model": "plain", "method": "original"}, "acc_retain", "59.35%"},
		{"table1", map[string]string{"dataset": "tinyimagenet", "arch": "resnet50", "model": "ortho"}, "acc_forget", "78.00%"},
		{"table1", map[string]string{"dataset": "cifar100", "arch": "resnet50", "models": "plain"}, "acc_retain", "81.22%"},
		// Table 2
		{"table2", map[string]string{"dataset": "cifar10", "arch": "resnet18", "method": "retrain"}, "time", "4360.8s"},
		{"table2", map[string]string{"dataset": "cifar10", "arch": "resnet18", "method": "emni"}, "mia", "13.90%"},
		{"table2", map[string]string{"dataset": "cifar100", "arch": "resnet50", "method": "ssd"}, "mia", "8.26%"},
		{"table2", map[string]string{"dataset": "tinyimagenet", "arch": "resnet18", "method": "tfidf"}, "time", "3187s"},
		{"table2", map[string]string{"dataset": "tinyimagenet", "arch": "vgg16_bn", "method": "osp"}, "mia", "2.97%"},
		{"table2", map[string]string{"dataset": "cifar100", "arch": "vgg16_bn", "method": "osp"}, "acc_retain", "62.30%"},
		{"table2", map[string]string{"dataset": "cifar10", "arch": "resnet50", "method": "osp", "seed": "2"}, "time", "0.6138s"},
		{"table2", map[string]string{"dataset": "tinyimagenet", "arch": "resnet50", "method": "emni"}, "acc_forget", "4.2%"},
		// Table 3(a): "0.02 | 42.00% | 92.84% | 84.35% | 92.25%"
		{"table3a", map[string]string{"ratio": "0.02", "model": "ortho"}, "acc_forget", "42.00%"},
		{"table3a", map[string]string{"ratio": "0.02", "model": "plain"}, "acc_retain", "92.25%"},
		{"table3a", map[string]string{"ratio": "0.040", "model": "ortho"}, "acc_forget", "1.7%"},
		{"table3a", map[string]string{"ratio": "0.05", "model": "plain", "arch": "resnet18"}, "acc_forget", "43.30%"},
		// Table 3(b)
		{"table3b", map[string]string{"strength": "1"}, "acc_retain", "66.47%"},
		{"table3b", map[string]string{"strength": "0.3"}, "acc_forget", "1.4%"},
		{"table3b", map[string]string{"strength": "0.2", "model": "ortho"}, "acc_retain", "91.67%"},
		// Appendix A: ResNet-18 "3 | 90.50% | 94.77% | 0.9% | 90.38% | 0.0% | 95.27% | 16.48s"
		{"appendix_a", map[string]string{"arch": "resnet18", "forget": "[3]", "method": "original"}, "acc_forget", "90.50%"},
		{"appendix_a", map[string]string{"arch": "resnet18", "forget": "[3]", "method": "osp"}, "acc_forget", "0.9%"},
		{"appendix_a", map[string]string{"arch": "resnet18", "forget": "[3]", "method": "finetune"}, "acc_retain", "95.27%"},
		{"appendix_a", map[string]string{"arch": "resnet18", "forget": "3", "method": "finetune"}, "time", "16.48s"},
		{"appendix_a", map[string]string{"arch": "resnet50", "forget": "[0]", "method": "finetune"}, "time", "40.95s"},
		{"appendix_a", map[string]string{"arch": "vgg16_bn", "forget": "[3]", "method": "osp"}, "acc_forget", "4.3%"},
		{"appendix_a", map[string]string{"arch": "vgg16_bn", "forget": "[9]", "method": "osp"}, "acc_retain", "83.60%"},
	} {
		v, ok := Lookup(c.table, c.key, c.metric)
		if !ok || v.Text != c.text {
			t.Errorf("Lookup(%s, %v, %s) = %q, %v; the paper prints %s", c.table, c.key, c.metric, v.Text, ok, c.text)
		}
	}
	v, _ := Lookup("table2", map[string]string{"dataset": "cifar10", "arch": "resnet18", "method": "osp"}, "time")
	if v.Number != 0.1254 || v.Unit != Seconds || v.Decimals() != 4 {
		t.Errorf("OSP time %+v, want 0.1254 seconds printed with 4 decimals", v)
	}
	if !strings.Contains(v.Source, "Table 2") || !strings.Contains(v.Source, "Ours") {
		t.Errorf("source %q does not say where the value is printed", v.Source)
	}
}

func TestLookupMisses(t *testing.T) {
	for _, c := range []struct {
		why    string
		table  string
		key    map[string]string
		metric string
	}{
		{"no method: 5 rows match", "table2", map[string]string{"dataset": "cifar10", "arch": "resnet18"}, "time"},
		{"another forget class", "table2", map[string]string{"dataset": "cifar10", "arch": "resnet18", "method": "osp", "forget": "[0]"}, "time"},
		{"a ratio the paper has not", "table3a", map[string]string{"ratio": "0.06", "model": "ortho"}, "acc_forget"},
		{"a label for a missing dimension", "table3a", map[string]string{"ratio": "—", "model": "ortho"}, "acc_forget"},
		{"a metric the table has not", "table3a", map[string]string{"ratio": "0.01", "model": "ortho"}, "mia"},
		{"an architecture the paper has not", "table2", map[string]string{"dataset": "cifar10", "arch": "smallcnn", "method": "osp"}, "acc_forget"},
		{"an unknown table", "table4", map[string]string{}, "acc_forget"},
		{"time only for the fine-tuned model", "appendix_a", map[string]string{"arch": "resnet18", "forget": "1", "method": "osp"}, "time"},
		{"models standing for a model the paper has not", "table3a", map[string]string{"ratio": "0.01", "models": "lambda"}, "acc_forget"},
		{"no method: the time of the one row that has it is not enough", "appendix_a", map[string]string{"arch": "resnet18", "forget": "1"}, "time"},
		{"two forget classes", "appendix_a", map[string]string{"arch": "resnet18", "forget": "[1,2]", "method": "osp"}, "acc_forget"},
	} {
		if v, ok := Lookup(c.table, c.key, c.metric); ok {
			t.Errorf("%s: Lookup(%s, %v, %s) found %q", c.why, c.table, c.key, c.metric, v.Text)
		}
	}
	if n := len(Match("table2", map[string]string{"dataset": "cifar10", "arch": "resnet18"})); n != 5 {
		t.Errorf("Match(table2, cifar10 resnet18) = %d rows, want the 5 methods", n)
	}
	q := map[string]string{"ratio": "0.01", "model": "plain", "models": "osp"}
	if v, ok := Lookup("table3a", q, "acc_forget"); !ok || v.Text != "92.40%" {
		t.Errorf("Lookup(table3a, %v) = %q, %v; want the plain model's 92.40%%", q, v.Text, ok)
	}
	rows := Rows("table3b")
	rows[0].Key["strength"], rows[0].Values["acc_forget"] = "9", Value{}
	if v, ok := Lookup("table3b", map[string]string{"strength": "1.0"}, "acc_forget"); !ok || v.Text != "0.0%" {
		t.Errorf("changing a row from Rows changed the data: %q, %v", v.Text, ok)
	}
	if n := len(Match("table3a", nil)); n != 10 {
		t.Errorf("Match(table3a, nil) = %d rows, want 10", n)
	}
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"0.40": "0.4", "1.0": "1", " 0.05 ": "0.05", "[1]": "1", "[0, 1]": "0,1", "1e-4": "0.0001",
		"ortho": "ortho", "—": "—", "": "",
	} {
		if got := canonical(in); got != want {
			t.Errorf("canonical(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValueIn(t *testing.T) {
	acc := Value{Number: 97.6, Unit: Percent, Text: "97.60%", Source: "x"}
	if f, err := acc.In(Fraction); err != nil || f != 0.976 {
		t.Errorf("97.60%% as a fraction = %v, %v", f, err)
	}
	if f, err := acc.In(Percent); err != nil || f != 97.6 {
		t.Errorf("97.60%% in percent = %v, %v", f, err)
	}
	if acc.Decimals() != 2 {
		t.Errorf("decimals of 97.60%% = %d", acc.Decimals())
	}
	secs := Value{Number: 3187, Unit: Seconds, Text: "3187s", Source: "Table 2"}
	if _, err := secs.In(Fraction); err == nil || !strings.Contains(err.Error(), "3187s") {
		t.Errorf("seconds as a fraction: error %v", err)
	}
	if secs.Decimals() != 0 {
		t.Errorf("decimals of 3187s = %d", secs.Decimals())
	}
}

func TestParseErrors(t *testing.T) {
	const header = "table,dataset,ratio,metric,unit,printed,source\n"
	valid := "table1,cifar10,,acc_forget,percent,97.60%,T1\n" +
		"table2,cifar10,,acc_forget,percent,0.00%,T2\n" +
		"table3a,cifar10,0.01,acc_forget,percent,78.70%,T3a\n" +
		"table3b,cifar10,,acc_forget,percent,0.0%,T3b\n" +
		"appendix_a,cifar10,,time,seconds,16.40s,A\n"
	if _, err := parse(strings.NewReader(header+valid), "v.csv"); err != nil {
		t.Fatalf("valid data: %v", err)
	}
	for _, c := range []struct{ data, want string }{
		{"", "v.csv: empty file"},
		{"table,metric,unit,printed\n" + valid, `v.csv:1: no "source" column`},
		{"table,metric,metric,unit,printed,source\n", `v.csv:1: column "metric" appears twice`},
		{header + valid + "table9,cifar10,,acc_forget,percent,1%,X\n", `v.csv:7: unknown table "table9"`},
		{header + valid + "table1,cifar100,,acc_forget,percnt,1%,X\n", `v.csv:7: unit "percnt"`},
		{header + valid + "table1,cifar100,,acc_forget,percent,1s,X\n", `v.csv:7: printed value "1s" does not end in "%"`},
		{header + valid + "table2,cifar10,,time,seconds,1e3s,X\n", `v.csv:7: printed value "1e3s": "1e3" is not a plain decimal number`},
		{header + valid + "table1,cifar100,,acc_forget,percent,NaN%,X\n", "not a plain decimal number"},
		{header + valid + "table1,cifar100,,acc_forget,percent,101%,X\n", `"101%" is out of range`},
		{header + valid + "table1,cifar100,,acc_forget,percent,1%,\n", "v.csv:7: empty source"},
		{header + valid + "table1,cifar100,,,percent,1%,X\n", "v.csv:7: empty metric"},
		{header + valid + "table3a,cifar10,0.010,acc_forget,percent,1%,X\n", "v.csv:7: table3a acc_forget for dataset=cifar10 ratio=0.01 is already given on line 4"},
		{header + valid + "table1,cifar10,\"x,acc_forget\n", "v.csv:"},
		{header + strings.Replace(valid, "appendix_a", "table1", 1), "v.csv: no values for appendix_a"},
	} {
		_, err := parse(strings.NewReader(c.data), "v.csv")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parse(%q):\n error %v\n want %q", c.data, err, c.want)
		}
	}
}

// paperText finds the paper's text: $LETHE_PAPER, else
// ../shared/paper/orthogonal-soft-pruning.txt beside the repository root.
func paperText(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("LETHE_PAPER"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "paper", "orthogonal-soft-pruning.txt")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// TestAgainstPaperText compares every value with the paper's text: the
// printed lines of its tables, in order, hold exactly the values of the
// data file's printed lines, and each line's labels appear in the sources.
func TestAgainstPaperText(t *testing.T) {
	path := paperText(t)
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		t.Skipf("the paper's text is not at %s (set LETHE_PAPER): skipping the comparison", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	value := regexp.MustCompile(`^[0-9]+(\.[0-9]+)?[%s]$`)
	type printed struct {
		n      int
		labels []string
		values []string
	}
	var lines []printed
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		if !strings.Contains(sc.Text(), " | ") {
			continue
		}
		var p printed
		p.n = n
		for _, c := range strings.Split(sc.Text(), "|") {
			switch c = strings.TrimSpace(c); {
			case value.MatchString(c):
				p.values = append(p.values, c)
			case c != "":
				p.labels = append(p.labels, c)
			}
		}
		if len(p.values) > 0 {
			lines = append(lines, p)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	entries := embedded(t)
	var data []printed
	var sources []string
	for _, id := range Tables() {
		order, values := printedLines(entries, id)
		for _, line := range order {
			var p printed
			for _, v := range values[line] {
				p.values = append(p.values, v.Text)
			}
			data = append(data, p)
			sources = append(sources, line)
		}
	}
	if len(lines) != len(data) {
		t.Fatalf("the text has %d table lines with values, the data %d", len(lines), len(data))
	}
	for i, p := range lines {
		if !slices.Equal(p.values, data[i].values) {
			t.Errorf("%s:%d: text %v\n  data (%s) %v", path, p.n, p.values, sources[i], data[i].values)
		}
		for _, l := range p.labels {
			if !strings.Contains(sources[i], l) {
				t.Errorf("%s:%d: label %q is not in the source %q", path, p.n, l, sources[i])
			}
		}
	}
}
