package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"gonum.org/v1/plot/plotter"

	"lethe/dsl"
	"lethe/reports"
	"lethe/runner"
	"lethe/stages"
	"lethe/tracking"
	"lethe/unlearn"
)

type reportFlags struct {
	specFlags
	store   string
	format  string
	out     string
	reports []string
	plots   []string
}

func newReportCmd() *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "report SPEC [-var name=value] [-var-file file] [--format md|csv|json|latex] [--out DIR] [--report NAME] [--plots png,svg|none] [--store DIR]",
		Short: "Render an experiment's report tables and figures from the results in the store",
		Long: `report loads the spec as run does, finds the result of every stage its
report blocks gather in the store's database (by the cache key the spec
gives the stage now, so a table never shows results of an older version of
the spec), and renders each report block's table: rows and columns by the
dimensions the block names, each cell the mean ± sample standard deviation
of a metric over the replicate seeds, the best value of each comparison in
bold (Acc_f ↓, Acc_r ↑, MIA ↓, time ↓, ...), and the paper's published
numbers beside Lethe's where the block names a paper table.

Nothing is averaged silently: a cell missing some of its results shows
(n=k/m), one without any shows —, and a note under the table says why
(failed, not run yet, out of date, or waiting for an input that is); a
cell whose results differ in more than
the seed is marked †.

Without --out the tables go to standard output (for json: one document,
{"experiment": ..., "reports": [...]}, with every cell's values in the
stored units, fractions and seconds). With --out DIR each table is written
to DIR/NAME.md|csv|json|tex, and so are the figures: each table's metrics
against every numeric dimension it lays out (pruning ratio, strength, λ),
the training curves of every train stage, and OSP's Δ per layer with the
selected filters marked (DIR/delta/ADDRESS), as PNG and SVG.

Run lethe run SPEC first: report computes nothing.`,
		Example: `  lethe report experiments/quickstart.hcl
  lethe report experiments/table3a.hcl -var scale=ci --format latex
  lethe report experiments/quickstart.hcl --out results/quickstart --plots png
  lethe report experiments/quickstart.hcl --format json | jq '.reports[0].cells[0]'`,
	}
	f.specFlags.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.store, "store", "", "store directory to read (default: $"+tracking.EnvStore+" if set, else "+tracking.DefaultDirName+" beside the spec)")
	fl.StringVar(&f.format, "format", "md", "table format: md (GitHub Markdown), csv, json or latex (booktabs)")
	fl.StringVar(&f.out, "out", "", "write each table to DIR/NAME.EXT and draw the figures there (default: tables to standard output, no figures)")
	fl.StringArrayVar(&f.reports, "report", nil, "render only this report block, by name (repeatable; default: all)")
	fl.StringSliceVar(&f.plots, "plots", []string{"png", "svg"}, "figure formats written with --out: png, svg, both (png,svg) or none")
	withSpecFlags(cmd, func(cmd *cobra.Command, paths []string) error {
		return runReport(cmd, &f, paths)
	})
	return cmd
}

// reportOut is one rendered report block.
type reportOut struct {
	stage *dsl.Stage
	table *reports.Table
}

func runReport(cmd *cobra.Command, f *reportFlags, paths []string) error {
	format, err := reports.ParseFormat(f.format)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	plots, err := figureFormats(f.plots)
	if err != nil {
		return err
	}
	if f.out == "" && cmd.Flags().Changed("plots") {
		return errors.New("--plots: figures are written to files: name the folder with --out")
	}
	exp, err := f.load(cmd, paths)
	if err != nil {
		return err
	}
	storeDir := tracking.ResolveDir(f.store, paths[0])
	store, err := tracking.OpenExisting(storeDir, tracking.WithVersion(version))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w; run `lethe run %s` first, or name the store with --store or $%s", err, paths[0], tracking.EnvStore)
	}
	if err != nil {
		return err
	}
	defer store.Close()
	src, err := newResultSource(exp, store)
	if err != nil {
		return err
	}
	outs, err := gatherReports(exp, src, f.reports)
	if err != nil {
		return err
	}
	if f.out == "" {
		if len(outs) == 0 {
			return fmt.Errorf("experiment %q has no report blocks to render", exp.Name)
		}
		return printTables(cmd.OutOrStdout(), exp, outs, format)
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	var written []string
	for _, o := range outs {
		path := filepath.Join(f.out, o.stage.Name+reports.Ext(format))
		if err := o.table.Save(path, format); err != nil {
			return err
		}
		written = append(written, path)
	}
	if len(plots) > 0 {
		paths, err := drawFigures(cmd.ErrOrStderr(), exp, src, outs, f.out, plots)
		written = append(written, paths...)
		if err != nil {
			return err
		}
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "experiment %q: %d table%s, %d file%s in %s\n", exp.Name, len(outs), plural(len(outs)), len(written), plural(len(written)), f.out)
	for _, p := range written {
		fmt.Fprintf(w, "  %s\n", p)
	}
	return nil
}

func figureFormats(list []string) ([]string, error) {
	var out []string
	for _, p := range list {
		p = strings.ToLower(strings.TrimSpace(p))
		switch {
		case p == "none":
			if len(list) > 1 {
				return nil, errors.New("--plots: none goes alone")
			}
			return nil, nil
		case slices.Contains(reports.FigureFormats, p):
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		default:
			return nil, fmt.Errorf("--plots %q: want png, svg or none", p)
		}
	}
	return out, nil
}

// printTables writes the tables to w: JSON as one document, the other
// formats one after the other.
func printTables(w io.Writer, exp *dsl.Experiment, outs []reportOut, format string) error {
	if format == reports.FormatJSON {
		doc := struct {
			Experiment string            `json:"experiment"`
			Reports    []json.RawMessage `json:"reports"`
		}{Experiment: exp.Name}
		for _, o := range outs {
			b, err := o.table.JSON()
			if err != nil {
				return err
			}
			doc.Reports = append(doc.Reports, b)
		}
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	if format == reports.FormatCSV && len(outs) > 1 {
		return fmt.Errorf("%d report blocks make %d CSV tables: write them to files with --out DIR, or pick one with --report NAME", len(outs), len(outs))
	}
	for i, o := range outs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := o.table.Render(w, format); err != nil {
			return err
		}
	}
	return nil
}

// gatherReports builds the table of each report block (those named in
// only, or all) from the results in the store.
func gatherReports(exp *dsl.Experiment, src *resultSource, only []string) ([]reportOut, error) {
	var outs []reportOut
	found := map[string]bool{}
	for _, st := range exp.Stages {
		if st.Kind != dsl.KindReport {
			continue
		}
		found[st.Name] = true
		if len(only) > 0 && !slices.Contains(only, st.Name) {
			continue
		}
		spec, _, err := stages.ReportSpec(st, exp)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", st.Address, err)
		}
		obs, err := src.observations(st, spec)
		if err != nil {
			return nil, err
		}
		tab, err := stages.BuildReport(spec, obs, stages.Published())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", st.Address, err)
		}
		outs = append(outs, reportOut{stage: st, table: tab})
	}
	for _, name := range only {
		if !found[name] {
			return nil, fmt.Errorf("--report %s: the spec has no report block %q (it has: %s)", name, name, strings.Join(sortedNames(found), ", "))
		}
	}
	return outs, nil
}

func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	if len(out) == 0 {
		out = []string{"none"}
	}
	return out
}

// resultSource holds what the store has for every stage of the spec as it
// is now (runner.Plan.Recorded).
type resultSource struct {
	store *tracking.Store
	plan  *runner.Plan
	recs  map[string]*runner.Recorded // by address
}

func newResultSource(exp *dsl.Experiment, store *tracking.Store) (*resultSource, error) {
	// Without a cache the plan checks no artifacts: the keys are all a
	// report needs, and results whose artifacts were collected still have
	// their metrics in the database.
	plan, err := runner.NewPlan(exp, store, nil, runner.PlanOptions{})
	if err != nil {
		return nil, err
	}
	recs, err := plan.Recorded(store)
	if err != nil {
		return nil, err
	}
	return &resultSource{store: store, plan: plan, recs: recs}, nil
}

// observations labels each evaluation the report gathers and reads its
// metrics from the database.
func (s *resultSource) observations(st *dsl.Stage, spec reports.Spec) ([]reports.Observation, error) {
	evals, labels := stages.ReportLabels(st, spec)
	obs := make([]reports.Observation, len(evals))
	for i, ev := range evals {
		o := reports.Observation{Dims: labels[i], Metrics: map[string]float64{}}
		r, ok := s.recs[ev.Address]
		if !ok {
			return nil, fmt.Errorf("%s: the plan has no stage %s", st.Address, ev.Address)
		}
		if !r.OK {
			o.Failed, o.Name, o.Why = true, ev.Address, r.Why
			obs[i] = o
			continue
		}
		if len(r.Without) > 0 {
			o.Name, o.Why = ev.Address, "made without "+s.describeMissing(r.Without)
		}
		series, err := s.store.Metrics(r.Run.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range series {
			if p, ok := m.Last(); ok && !math.IsNaN(p.Value) {
				o.Metrics[m.Name] = p.Value
			}
		}
		obs[i] = o
	}
	return obs, nil
}

// describeMissing names inputs without results and why.
func (s *resultSource) describeMissing(addrs []string) string {
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		parts[i] = a
		if r, ok := s.recs[a]; ok && r.Why != "" {
			parts[i] += ", which " + r.Why
		}
	}
	return strings.Join(parts, " and ")
}

// drawFigures draws, into dir, each table's sweeps, the training curves
// and OSP's Δ per layer, in every format; it returns the files written
// and tells warn about figures it cannot draw.
func drawFigures(warn io.Writer, exp *dsl.Experiment, src *resultSource, outs []reportOut, dir string, formats []string) ([]string, error) {
	var written []string
	save := func(f *reports.Figure, name string) error {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			return err
		}
		for _, ext := range formats {
			p := filepath.Join(dir, name+"."+ext)
			if err := f.Save(p); err != nil {
				return err
			}
			written = append(written, p)
		}
		return nil
	}
	for _, o := range outs {
		for _, dim := range o.table.SweepDims() {
			f, err := o.table.SweepFigure(dim)
			if err != nil {
				fmt.Fprintf(warn, "no figure of %s against %s: %v\n", o.stage.Address, dim, err)
				continue
			}
			if err := save(f, o.stage.Name+"_"+fileSafe(dim)); err != nil {
				return written, err
			}
		}
	}
	var curves []reports.Curve
	var cache *runner.Cache
	for _, step := range src.plan.Steps {
		switch step.Stage.Kind {
		case dsl.KindTrain:
			c, ok, err := src.trainingCurve(step)
			if err != nil {
				return written, err
			}
			if ok {
				curves = append(curves, c)
			}
		case dsl.KindUnlearn:
			if stages.DimLabel(step.Stage, "method") != "osp" {
				continue
			}
			if cache == nil {
				var err error
				if cache, err = runner.OpenCache(src.store.Dir()); err != nil {
					return written, err
				}
			}
			rounds, why, err := src.ospDeltas(step, cache)
			if err != nil {
				return written, err
			}
			if why != "" {
				fmt.Fprintf(warn, "no Δ figure for %s: %s\n", step.Stage.Address, why)
				continue
			}
			f, err := reports.DeltaFigure("OSP Δ per layer: "+step.Stage.Address, rounds)
			if err != nil {
				fmt.Fprintf(warn, "no Δ figure for %s: %v\n", step.Stage.Address, err)
				continue
			}
			if err := save(f, filepath.Join("delta", fileSafe(step.Stage.Address))); err != nil {
				return written, err
			}
		}
	}
	if len(curves) > 0 {
		title := exp.Title
		if title == "" {
			title = exp.Name
		}
		f, err := reports.TrainingFigure(title+": training curves", curves)
		if err != nil {
			fmt.Fprintf(warn, "no training figure: %v\n", err)
		} else if err := save(f, "training"); err != nil {
			return written, err
		}
	}
	return written, nil
}

// trainingCurve reads a train stage's per-epoch metrics.
func (s *resultSource) trainingCurve(step *runner.Step) (reports.Curve, bool, error) {
	r := s.recs[step.Stage.Address]
	if r == nil || !r.OK {
		return reports.Curve{}, false, nil
	}
	series, err := s.store.Metrics(r.Run.ID)
	if err != nil {
		return reports.Curve{}, false, err
	}
	c := reports.Curve{Label: step.Stage.Address, Series: map[string][]plotter.XY{}}
	for _, m := range series {
		for _, p := range m.Points {
			c.Series[m.Name] = append(c.Series[m.Name], plotter.XY{X: float64(p.Step), Y: p.Value})
		}
	}
	return c, len(c.Series) > 0, nil
}

// ospDeltas reads an OSP stage's record from its cache entry; why says
// why it cannot when it cannot.
func (s *resultSource) ospDeltas(step *runner.Step, cache *runner.Cache) (rounds [][]reports.LayerDelta, why string, err error) {
	r := s.recs[step.Stage.Address]
	if r == nil || !r.OK {
		return nil, "it has no result", nil
	}
	path := filepath.Join(cache.Entry(r.Key), stages.ResultFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "its " + stages.ResultFile + " is no longer in the cache (lethe gc?); lethe run rebuilds it", nil
	}
	if err != nil {
		return nil, "", err
	}
	var res struct {
		Details *unlearn.OSPRecord `json:"details"`
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&res); err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if res.Details == nil || len(res.Details.Rounds) == 0 {
		return nil, path + " records no OSP rounds", nil
	}
	for _, round := range res.Details.Rounds {
		var layers []reports.LayerDelta
		for _, l := range round.Layers {
			layers = append(layers, reports.LayerDelta{Unit: l.Unit, Delta: l.Delta, Selected: l.Filters})
		}
		rounds = append(rounds, layers)
	}
	return rounds, "", nil
}

// fileSafe turns an address into a file name: brackets, commas and other
// characters shells or file systems mind become underscores.
func fileSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '=':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return strings.Trim(b.String(), "_")
}
