package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"lethe/tracking"
)

const (
	storeFlagHelp = "store directory (default: $" + tracking.EnvStore + " if set, else the store beside --spec, else ./" + tracking.DefaultDirName + ")"
	specFlagHelp  = "use the store that `lethe run` uses for this spec file or directory (" + tracking.DefaultDirName + " beside it)"
)

// openStoreForReading opens the store a read-only command names, without
// creating one where there is none.
func openStoreForReading(storeFlag, specFlag string) (*tracking.Store, error) {
	s, err := tracking.OpenExisting(tracking.ResolveDir(storeFlag, specFlag), tracking.WithVersion(version))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w; run `lethe run SPEC` first, or name the store with --store, --spec or $%s", err, tracking.EnvStore)
	}
	return s, err
}

func newRunsCmd() *cobra.Command {
	var (
		storeDir, spec, kind, address, experiment string
		statuses                                  []string
		limit                                     int
	)
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List recorded runs, newest first",
		Long: `List the runs recorded in a store, newest first: one row per stage execution
(or cache reuse) with its id, address, kind, status, start, duration and the
first 12 characters of its cache key. Runs left QUEUED or RUNNING by a process
that has died are shown (and recorded) as KILLED.`,
		Example: `  lethe runs --status failed,killed
  lethe runs --address 'unlearn.osp[*seed=1]' --limit 0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := tracking.Filter{Kind: kind, Address: address, Experiment: experiment}
			for _, s := range statuses {
				st, err := tracking.ParseStatus(strings.TrimSpace(s))
				if err != nil {
					return fmt.Errorf("--status: %w", err)
				}
				f.Statuses = append(f.Statuses, st)
			}
			if limit < 0 {
				return fmt.Errorf("--limit %d: want 0 (no limit) or more", limit)
			}
			if limit > 0 {
				f.Limit = limit + 1 // one more, to tell whether rows were left out
			}
			s, err := openStoreForReading(storeDir, spec)
			if err != nil {
				return err
			}
			defer s.Close()
			runs, err := s.Runs(f)
			if err != nil {
				return err
			}
			more := limit > 0 && len(runs) > limit
			if more {
				runs = runs[:limit]
			}
			return printRuns(cmd.OutOrStdout(), runs, more, limit)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&storeDir, "store", "", storeFlagHelp)
	fl.StringVar(&spec, "spec", "", specFlagHelp)
	fl.StringSliceVar(&statuses, "status", nil, "only runs with this status: queued, running, finished, failed, killed or cached (repeat or separate with commas for several)")
	fl.StringVar(&kind, "kind", "", "only runs of this stage kind (dataset, train, unlearn, evaluate, report)")
	fl.StringVar(&address, "address", "", "only runs whose address matches this glob: * matches any characters, ? one character, brackets are literal")
	fl.StringVar(&experiment, "experiment", "", "only runs of the experiment with this name")
	fl.IntVar(&limit, "limit", 50, "show at most this many runs (0 for all)")
	return cmd
}

func printRuns(w io.Writer, runs []tracking.Run, more bool, limit int) error {
	if len(runs) == 0 {
		_, err := fmt.Fprintln(w, "no runs match")
		return err
	}
	rows := make([][]string, len(runs))
	for i, r := range runs {
		key := r.CacheKey
		if len(key) > 12 {
			key = key[:12]
		}
		rows[i] = []string{strconv.FormatInt(int64(r.ID), 10), r.Address, r.Kind, string(r.Status),
			formatTime(r.Started), formatDuration(r), key}
	}
	if err := writeTable(w, []string{"ID", "ADDRESS", "KIND", "STATUS", "STARTED", "DURATION", "KEY"}, rows); err != nil {
		return err
	}
	if more {
		_, err := fmt.Fprintf(w, "(the newest %d shown; more match: raise --limit, 0 for all)\n", limit)
		return err
	}
	return nil
}

func newShowCmd() *cobra.Command {
	var (
		storeDir, spec string
		tailN          int
	)
	cmd := &cobra.Command{
		Use:   "show RUN",
		Short: "Show one run: its record, parameters, metrics, artifacts and log",
		Long: `Show one run: its record, parameters (with where each was set), metrics (the
last value and the number of steps of each), artifacts and the end of its log.
RUN is a run id, or an address or the start of one, which names that
address's latest run. For a CACHED run the metrics and artifacts are those of
the run that produced the cached result.`,
		Example: `  lethe show 12
  lethe show 'unlearn.osp[ratio=0.02'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tailN < 0 {
				return fmt.Errorf("--tail %d: want 0 (no log) or more", tailN)
			}
			s, err := openStoreForReading(storeDir, spec)
			if err != nil {
				return err
			}
			defer s.Close()
			return showRun(cmd.OutOrStdout(), s, args[0], tailN)
		},
	}
	cmd.Flags().StringVar(&storeDir, "store", "", storeFlagHelp)
	cmd.Flags().StringVar(&spec, "spec", "", specFlagHelp)
	cmd.Flags().IntVar(&tailN, "tail", 20, "show this many lines from the end of the run's log (0 for none)")
	return cmd
}

func showRun(w io.Writer, s *tracking.Store, ref string, tailN int) error {
	r, err := s.Run(ref)
	if err != nil {
		return err
	}
	params, err := s.Params(r.ID)
	if err != nil {
		return err
	}
	results := r.ResultsRun()
	metrics, err := s.Metrics(results)
	if err != nil {
		return err
	}
	artifacts, err := s.Artifacts(results)
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "run %d  %s\n\n", r.ID, r.Address)
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(w, "  %-11s %s\n", name, value)
		}
	}
	field("kind", r.Kind)
	field("status", string(r.Status))
	if r.Experiment != 0 {
		field("experiment", fmt.Sprintf("%s (#%d)", r.ExperimentName, r.Experiment))
	}
	field("cache key", r.CacheKey)
	field("queued", formatTime(r.Queued))
	if !r.Started.IsZero() {
		field("started", formatTime(r.Started))
	}
	if !r.Ended.IsZero() {
		field("ended", formatTime(r.Ended))
	}
	if !r.Started.IsZero() {
		field("duration", formatDuration(r))
	}
	field("host", fmt.Sprintf("%s (pid %d)", r.Host, r.PID))
	field("device", r.Device)
	field("lethe", r.Version)
	field("error", r.Error)
	if r.Status == tracking.Cached {
		if r.SourceRun != 0 {
			field("cached", fmt.Sprintf("reused the result of run %d; its metrics and artifacts are shown", r.SourceRun))
		} else {
			field("cached", "reused a result this store has no record of producing")
		}
	}

	section := func(title string) { fmt.Fprintf(w, "\n%s\n", title) }
	section(fmt.Sprintf("Parameters (%d)", len(params)))
	if len(params) > 0 {
		var rows [][]string
		for _, p := range params {
			rows = append(rows, []string{p.Name, p.Value, p.Source})
		}
		if err := writeTable(w, []string{"NAME", "VALUE", "SOURCE"}, rows); err != nil {
			return err
		}
	}

	section(fmt.Sprintf("Metrics (%d)", len(metrics)))
	if len(metrics) > 0 {
		var rows [][]string
		for _, m := range metrics {
			last, _ := m.Last()
			rows = append(rows, []string{m.Name, strconv.Itoa(len(m.Points)), strconv.FormatInt(last.Step, 10),
				strconv.FormatFloat(last.Value, 'g', -1, 64)})
		}
		if err := writeTable(w, []string{"NAME", "STEPS", "LAST STEP", "LAST VALUE"}, rows); err != nil {
			return err
		}
	}

	section(fmt.Sprintf("Artifacts (%d)", len(artifacts)))
	if len(artifacts) > 0 {
		var rows [][]string
		for _, a := range artifacts {
			rows = append(rows, []string{a.Path, strconv.FormatInt(a.Bytes, 10), a.SHA256})
		}
		if err := writeTable(w, []string{"PATH", "BYTES", "SHA256"}, rows); err != nil {
			return err
		}
	}

	if tailN == 0 {
		return nil
	}
	lines, err := s.TailLog(r.ID, tailN)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		section("Log: none written (" + s.LogPath(r.ID) + ")")
		return nil
	case err != nil:
		return err
	}
	section(fmt.Sprintf("Log (last %d lines of %s)", len(lines), s.LogPath(r.ID)))
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
	return nil
}

// writeTable prints a borderless table, easy to read and to grep, that never
// wraps or trims cell text.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	var buf bytes.Buffer
	t := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off},
			},
		})),
		tablewriter.WithPadding(tw.Padding{Left: "", Right: "  ", Overwrite: true}),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithTrimSpace(tw.Off),
	)
	t.Header(header)
	if err := t.Bulk(rows); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	// The last column's padding would leave trailing blanks on every line.
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func formatDuration(r tracking.Run) string {
	if r.Started.IsZero() {
		return "-"
	}
	d := r.Duration()
	switch {
	case d < time.Second:
		d = d.Round(time.Microsecond)
	case d < time.Minute:
		d = d.Round(time.Millisecond)
	default:
		d = d.Round(time.Second)
	}
	s := d.String()
	if r.Status.Live() {
		s += " so far"
	}
	return s
}
