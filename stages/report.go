package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"lethe/dsl"
	"lethe/nn"
	"lethe/paper"
	"lethe/reports"
)

func init() { Register(dsl.KindReport, reportKind{}) }

type reportKind struct{}

type reportTask struct {
	st     *dsl.Stage
	spec   reports.Spec
	format string
	// labels holds each input's labels on the table's dimensions, its
	// context and its seed, in input order: they come from block names and
	// parameters, which the inputs' cache keys do not cover.
	labels []map[string]string
}

// ReportFile and ReportJSONFile are a report stage's artifacts; a report
// whose format is csv or latex writes report.csv or report.tex too.
const (
	ReportFile     = "report.md"
	ReportJSONFile = "report.json"
)

// ReportContext are the dimensions every observation of a report is
// labelled on besides the table's rows, columns and seed: the settings the
// paper's tables are keyed by, so that a cell finds its published value,
// and what tells a cell that mixes results of different settings.
var ReportContext = []string{"dataset", "arch", "model", "method", "forget", "ratio", "strength"}

// ReportReferences are the results a report shows but never marks best:
// the model before unlearning and the retrained gold standard.
var ReportReferences = map[string][]string{"method": {"original", "retrain"}}

// Published is where reports find the paper's numbers for their paper =
// "..." tables: package paper's embedded data. It is nil if that data
// failed to load, and a report then says that the numbers are not
// available rather than showing no paper column without a word.
func Published() reports.Published {
	if paper.Err() != nil {
		return nil
	}
	return publishedNumbers{}
}

// publishedNumbers adapts package paper to reports.Published: values
// printed in percent become fractions, as Lethe stores its accuracies.
type publishedNumbers struct{}

func (publishedNumbers) Lookup(table string, key map[string]string, metric string) (reports.PaperValue, bool) {
	v, ok := paper.Lookup(table, key, metric)
	if !ok {
		return reports.PaperValue{}, false
	}
	x := v.Number
	if v.Unit == paper.Percent {
		x = v.Number / 100
	}
	return reports.PaperValue{Value: x, Decimals: v.Decimals(), Text: v.Text, Source: v.Source}, true
}

// ReportSpec is the table a report stage declares: its title (the
// experiment's when it has none), rows, columns, values (acc_per_class
// unexpanded: see BuildReport), precision and paper table; and its format.
func ReportSpec(st *dsl.Stage, exp *dsl.Experiment) (spec reports.Spec, format string, err error) {
	p := &params{st: st}
	spec = reports.Spec{Name: st.Address, Title: p.str("title"), Rows: p.strs("rows"), Columns: p.strs("columns"),
		Values: p.strs("values"), Precision: p.int("precision"), References: ReportReferences}
	format = p.str("format")
	if prm, ok := st.Params["paper"]; ok && !prm.Value.IsNull() {
		spec.Paper = p.str("paper")
	}
	if p.err != nil {
		return reports.Spec{}, "", p.err
	}
	if spec.Title == "" && exp != nil {
		spec.Title = exp.Title
	}
	return spec, format, nil
}

// ReportLabels returns, for each of the report's from inputs in Deps
// order, the evaluation it is, and its labels on the table's dimensions,
// its context (ReportContext) and its seed.
func ReportLabels(st *dsl.Stage, spec reports.Spec) ([]*dsl.Stage, []map[string]string) {
	dims := append(append([]string{}, spec.Rows...), spec.Columns...)
	var evals []*dsl.Stage
	var out []map[string]string
	for _, d := range st.Deps {
		if d.Param != "from" {
			continue
		}
		l := map[string]string{reports.SeedDim: DimLabel(d.Stage, reports.SeedDim)}
		for _, dim := range dims {
			l[dim] = DimLabel(d.Stage, dim)
		}
		for _, dim := range ReportContext {
			if _, laid := l[dim]; !laid {
				l[dim] = contextLabel(d.Stage, dim)
			}
		}
		evals = append(evals, d.Stage)
		out = append(out, l)
	}
	return evals, out
}

// contextLabel is DimLabel, except that the model of a chain of unlearning
// stages is the trained model at its root: the paper names models by how
// they were trained, not by the unlearning blocks in between.
func contextLabel(st *dsl.Stage, dim string) string {
	if dim == "model" {
		if tr, err := trainOf(st); err == nil {
			return tr.Name
		}
	}
	return DimLabel(st, dim)
}

// BuildReport builds a report's table from its observations: acc_per_class
// among the values becomes one value per class the observations have, and
// the paper's numbers are placed beside the measured ones when the spec
// names a paper table.
func BuildReport(spec reports.Spec, obs []reports.Observation, published reports.Published) (*reports.Table, error) {
	perClass := map[string]bool{}
	for _, o := range obs {
		for k := range o.Metrics {
			if strings.HasPrefix(k, "acc_class_") {
				perClass[k] = true
			}
		}
	}
	spec.Values = expandPerClass(spec.Values, perClass)
	tab, err := reports.Build(spec, obs)
	if err != nil {
		return nil, err
	}
	tab.PlaceBeside(published)
	return tab, nil
}

func (reportKind) Prepare(st *dsl.Stage, exp *dsl.Experiment) (Stage, error) {
	spec, format, err := ReportSpec(st, exp)
	if err != nil {
		return nil, err
	}
	t := &reportTask{st: st, spec: spec, format: format}
	_, t.labels = ReportLabels(st, spec)
	return t, nil
}

func (t *reportTask) Material() ([]byte, error) {
	params, err := canonical(t.st)
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		Params json.RawMessage     `json:"params"`
		Title  string              `json:"title"`
		Labels []map[string]string `json:"labels"`
		// Paper says whether this build has the published numbers, so that
		// a report rendered without them is rendered again once it has.
		Paper bool `json:"paper,omitempty"`
	}{params, t.spec.Title, t.labels, t.spec.Paper != "" && Published() != nil})
}

// Optional: a report shows what its evaluations produced, and marks the
// cells whose evaluations failed, instead of failing with them.
func (t *reportTask) Optional(string) bool { return true }

func (t *reportTask) Run(ctx context.Context, env *Env) error {
	var obs []reports.Observation
	i := 0
	for _, in := range env.Inputs {
		if in.Param != "from" {
			continue
		}
		if i >= len(t.labels) {
			return fmt.Errorf("report inputs changed since it was prepared")
		}
		o := reports.Observation{Dims: t.labels[i], Metrics: map[string]float64{}}
		i++
		if in.Missing != "" {
			o.Failed = true
			o.Name, o.Why = in.Stage.Address, "has no result: "+in.Missing
			env.Logf("%s has no result (%s): its cells count it as missing", in.Stage.Address, in.Missing)
			obs = append(obs, o)
			continue
		}
		var r EvalResult
		if err := ReadJSON(in.Path(MetricsFile), &r); err != nil {
			return fmt.Errorf("the metrics of %s: %w", in.Stage.Address, err)
		}
		for k, v := range r.Metrics {
			o.Metrics[k] = v
		}
		// A trained model has no unlearning time: every table says so by
		// its empty time cells, no note needed.
		trained := primaryDep(in.Stage) != nil && primaryDep(in.Stage).Kind == dsl.KindTrain
		var lacking []string
		for _, m := range t.spec.Values {
			if why, ok := r.Missing[m]; ok && !(trained && m == "time") {
				lacking = append(lacking, m+" ("+why+")")
			}
		}
		if len(lacking) > 0 {
			o.Name, o.Why = in.Stage.Address, "lacks "+strings.Join(lacking, ", ")
		}
		obs = append(obs, o)
	}
	tab, err := BuildReport(t.spec, obs, Published())
	if err != nil {
		return err
	}
	var md bytes.Buffer
	if err := tab.Markdown(&md); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(env.Dir, ReportFile), md.Bytes()); err != nil {
		return err
	}
	js, err := tab.JSON()
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(env.Dir, ReportJSONFile), append(js, '\n')); err != nil {
		return err
	}
	if t.format == reports.FormatCSV || t.format == reports.FormatLaTeX {
		var b bytes.Buffer
		if err := tab.Render(&b, t.format); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(env.Dir, "report"+reports.Ext(t.format)), b.Bytes()); err != nil {
			return err
		}
	}
	env.Logf("table of %d rows x %d column groups from %d evaluations", len(tab.RowLabels), len(tab.ColumnLabels), len(obs))
	return nil
}

// expandPerClass replaces acc_per_class by one value per class seen.
func expandPerClass(values []string, seen map[string]bool) []string {
	var out []string
	for _, v := range values {
		if v != "acc_per_class" {
			out = append(out, v)
			continue
		}
		classes := make([]string, 0, len(seen))
		for k := range seen {
			classes = append(classes, k)
		}
		sort.Slice(classes, func(i, j int) bool {
			a, _ := strconv.Atoi(strings.TrimPrefix(classes[i], "acc_class_"))
			b, _ := strconv.Atoi(strings.TrimPrefix(classes[j], "acc_class_"))
			return a < b
		})
		out = append(out, classes...)
	}
	return out
}

func writeFile(path string, b []byte) error {
	return nn.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// DimLabel is an evaluation's label on a report dimension: its sweep key
// as the address writes it, else the parameter of that name of the stage
// or of the stages it builds on (a reference gives the block's name). An
// evaluation of a trained model has no unlearning method: its method is
// "original" and its model is the train block's name. Otherwise the label
// is reports.Missing.
func DimLabel(st *dsl.Stage, dim string) string {
	if k, ok := st.Key(dim); ok {
		return k.Text
	}
	if v, ok := st.Lookup(dim); ok {
		return valueLabel(v)
	}
	if up := primaryDep(st); up != nil && up.Kind == dsl.KindTrain {
		switch dim {
		case "method":
			return "original"
		case "model":
			return up.Name
		}
	}
	return reports.Missing
}

func valueLabel(v cty.Value) string {
	switch {
	case v == cty.NilVal || v.IsNull() || !v.IsKnown():
		return reports.Missing
	case v.Type() == cty.String:
		return v.AsString()
	case v.Type() == cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInt() {
			if i, acc := bf.Int64(); acc == big.Exact {
				return strconv.FormatInt(i, 10)
			}
		}
		f, _ := bf.Float64()
		return strconv.FormatFloat(f, 'g', -1, 64)
	case v.Type() == cty.Bool:
		return strconv.FormatBool(v.True())
	case v.CanIterateElements() && !v.Type().IsObjectType() && !v.Type().IsMapType():
		var parts []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			parts = append(parts, valueLabel(e))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return v.GoString()
}
