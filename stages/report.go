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
	"lethe/reports"
)

func init() { Register(dsl.KindReport, reportKind{}) }

type reportKind struct{}

type reportTask struct {
	st     *dsl.Stage
	spec   reports.Spec
	format string
	// labels holds each input's labels on the table's dimensions (and its
	// seed), in input order: they come from block names and parameters,
	// which the inputs' cache keys do not cover.
	labels []map[string]string
}

// ReportFile and ReportJSONFile are a report stage's artifacts.
const (
	ReportFile     = "report.md"
	ReportJSONFile = "report.json"
)

func (reportKind) Prepare(st *dsl.Stage, exp *dsl.Experiment) (Stage, error) {
	p := &params{st: st}
	t := &reportTask{st: st, format: p.str("format")}
	t.spec = reports.Spec{Title: p.str("title"), Rows: p.strs("rows"), Columns: p.strs("columns"),
		Values: p.strs("values"), Precision: p.int("precision")}
	if p.err != nil {
		return nil, p.err
	}
	if t.spec.Title == "" && exp != nil {
		t.spec.Title = exp.Title
	}
	dims := append(append([]string{}, t.spec.Rows...), t.spec.Columns...)
	dims = append(dims, "seed")
	for _, d := range st.Deps {
		l := map[string]string{}
		for _, dim := range dims {
			l[dim] = DimLabel(d.Stage, dim)
		}
		t.labels = append(t.labels, l)
	}
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
	}{params, t.spec.Title, t.labels})
}

// Optional: a report shows what its evaluations produced, and marks the
// cells whose evaluations failed, instead of failing with them.
func (t *reportTask) Optional(string) bool { return true }

func (t *reportTask) Run(ctx context.Context, env *Env) error {
	var obs []reports.Observation
	perClass := map[string]bool{}
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
			if strings.HasPrefix(k, "acc_class_") {
				perClass[k] = true
			}
		}
		obs = append(obs, o)
	}
	spec := t.spec
	spec.Values = expandPerClass(spec.Values, perClass)
	tab, err := reports.Build(spec, obs)
	if err != nil {
		return err
	}
	var md bytes.Buffer
	if err := tab.Markdown(&md); err != nil {
		return err
	}
	if t.format != "markdown" && t.format != "json" {
		env.Logf("format %q is not rendered by this build; report.md and report.json are", t.format)
	}
	if err := writeFile(filepath.Join(env.Dir, ReportFile), md.Bytes()); err != nil {
		return err
	}
	js, err := tab.JSON()
	if err != nil {
		return err
	}
	env.Logf("table of %d rows x %d column groups from %d evaluations", len(tab.RowLabels), len(tab.ColumnLabels), len(obs))
	return writeFile(filepath.Join(env.Dir, ReportJSONFile), append(js, '\n'))
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
