package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"lethe/dsl"
	"lethe/nn/device"
	"lethe/runner"
	"lethe/stages"
	"lethe/tracking"
)

// runFlags are the flags of lethe run and lethe plan.
type runFlags struct {
	specFlags
	store           string
	jobs            int
	device          string
	force           []string
	forceDownstream bool
	keepGoing       bool
}

func (f *runFlags) registerPlan(cmd *cobra.Command) {
	f.specFlags.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.store, "store", "", "store directory: cache, database and logs (default: $"+tracking.EnvStore+" if set, else "+tracking.DefaultDirName+" beside the spec)")
	fl.StringArrayVar(&f.force, "force", nil, "re-run this stage even if it is cached: an address, a block (train.ortho: all its instances) or a glob with * and ? (repeatable)")
	fl.BoolVar(&f.forceDownstream, "force-downstream", false, "also re-run every stage downstream of a --force'd one")
}

func (f *runFlags) registerRun(cmd *cobra.Command) {
	f.registerPlan(cmd)
	fl := cmd.Flags()
	fl.IntVarP(&f.jobs, "jobs", "j", 1, "stages run at once on the CPU, each with its share of the cores (on a GPU: one per GPU)")
	fl.StringVar(&f.device, "device", "auto", "where stages compute: cpu, cuda or auto (the GPU if there is one, else the CPU); not part of any cache key")
	fl.BoolVarP(&f.keepGoing, "keep-going", "k", false, "after a stage fails, keep running every stage that does not depend on it (default: start nothing new)")
}

// specInfo describes the spec for the experiment record: its paths and a
// digest of every file it was loaded from (variable files and -var values
// included), so that runs of edited specs can be told apart.
func specInfo(exp *dsl.Experiment, paths []string) tracking.ExperimentInfo {
	names := make([]string, 0, len(exp.Files))
	for n := range exp.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(exp.Files[n].Bytes))
		h.Write(exp.Files[n].Bytes)
	}
	return tracking.ExperimentInfo{Name: exp.Name, SpecPath: strings.Join(paths, " "), SpecDigest: hex.EncodeToString(h.Sum(nil))}
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run SPEC [-var name=value] [-var-file file] [--jobs N] [--device cpu|cuda|auto] [--store DIR] [--force ADDRESS] [--force-downstream] [--keep-going]",
		Short: "Run an experiment: compute what is missing, reuse what is cached, record everything",
		Long: `run loads the spec, plans every stage (cached, or to run and why; see lethe
plan), runs the stages that are not cached as soon as their inputs are done,
records every run in the store's database with its parameters, metrics,
artifacts and log, and prints the experiment's report tables at the end.

Results are cached by content: a stage's key covers its kind, its canonical
parameters, its inputs' keys, the data's digest and the engine's numerics
version, never the device or the job count. Running an unchanged spec again
executes nothing. Artifacts are checked against their recorded checksums
before reuse; a corrupted one is rebuilt.

Ctrl-C (or SIGTERM) stops cleanly: running stages are recorded KILLED and
their partial artifacts removed; a second Ctrl-C quits at once. Several
lethe run processes may share one store.

The exit status is 1 when a stage failed or the run was interrupted.`,
		Example: `  lethe run experiments/quickstart.hcl
  lethe run experiments/quickstart.hcl -var epochs=3 --jobs 2 --keep-going
  lethe run experiments/quickstart.hcl --force 'unlearn.osp[*' --force-downstream`,
	}
	f.registerRun(cmd)
	withSpecFlags(cmd, func(cmd *cobra.Command, paths []string) error {
		return runSpec(cmd, &f, paths)
	})
	return cmd
}

func runSpec(cmd *cobra.Command, f *runFlags, paths []string) error {
	start := time.Now()
	if f.jobs < 1 {
		return fmt.Errorf("--jobs %d: want 1 or more", f.jobs)
	}
	if err := device.Check(f.device); err != nil {
		return fmt.Errorf("--device: %w", err)
	}
	exp, err := f.load(cmd, paths)
	if err != nil {
		return err
	}
	storeDir := tracking.ResolveDir(f.store, paths[0])
	store, err := tracking.Open(storeDir, tracking.WithVersion(version))
	if err != nil {
		return err
	}
	defer store.Close()
	cache, err := runner.OpenCache(storeDir)
	if err != nil {
		return err
	}
	plan, err := runner.NewPlan(exp, store, cache, runner.PlanOptions{Force: f.force, ForceDownstream: f.forceDownstream})
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	cached, toRun := plan.Counts()
	resolved, _ := device.Resolve(f.device)
	fmt.Fprintf(out, "experiment %q: %d stages, %d cached, %d to run (store %s, %s, %d job%s)\n",
		exp.Name, len(plan.Steps), cached, toRun, storeDir, resolved, f.jobs, plural(f.jobs))

	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	var interrupted atomic.Bool
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		// From now on a second signal ends the process the default way.
		signal.Stop(sigs)
		interrupted.Store(true)
		fmt.Fprintln(cmd.ErrOrStderr(), "\ninterrupted: stopping the running stages (Ctrl-C again to quit at once)")
		cancel()
	}()
	sum, err := runner.Run(ctx, plan, store, cache, runner.Options{
		Jobs: f.jobs, Device: f.device, KeepGoing: f.keepGoing,
		Out: out, Live: isTerminal(out), Spec: specInfo(exp, paths)})
	if err != nil {
		return err
	}
	if err := printReports(out, sum); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%d stages in %s: %d executed, %d cached, %d failed, %d killed, %d not run (experiment #%d in %s)\n",
		len(sum.Results), time.Since(start).Round(10*time.Millisecond), sum.Executed, sum.Cached, sum.Failed, sum.Killed, sum.NotRun,
		sum.Experiment, storeDir)
	if err := sum.Err(); err != nil {
		if interrupted.Load() {
			return fmt.Errorf("interrupted: %w", err)
		}
		hint := ""
		if sum.NotRun > 0 && !f.keepGoing {
			hint = "; --keep-going runs the stages that do not depend on a failure"
		}
		return fmt.Errorf("%w; see lethe runs --status failed,killed --store %s%s", err, storeDir, hint)
	}
	return nil
}

// printReports prints the tables of the plan's report stages.
func printReports(w io.Writer, sum *runner.Summary) error {
	for _, r := range sum.Results {
		if r.Step.Stage.Kind != dsl.KindReport || !r.OK() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(r.Dir, stages.ReportFile))
		if err != nil {
			return fmt.Errorf("report %s: %w", r.Step.Stage.Address, err)
		}
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(string(b), "\n"))
	}
	return nil
}

func newPlanCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "plan SPEC [-var name=value] [-var-file file] [--store DIR] [--force ADDRESS] [--force-downstream]",
		Short: "Show what lethe run would do: each stage cached or to run, and why",
		Long: `plan loads the spec as run does and, without running anything, prints every
stage in execution order as cached (its result is in the store and its
artifacts match their checksums) or to run, with the reason:

  new                                   the store has no result for this address
  parameter X changed from A to B (f:l) the last result was made with A; B is set at file:line
  upstream changed: ADDRESS             an input's result changed
  dataset content changed               the dataset's files changed
  artifact corrupted (...): rebuilding  a cached file does not match its checksum
  forced (--force) / forced: downstream of ADDRESS
  last run failed: ERROR / last run killed: ...`,
		Example: `  lethe plan experiments/quickstart.hcl
  lethe plan experiments/quickstart.hcl -var epochs=3`,
	}
	f.registerPlan(cmd)
	withSpecFlags(cmd, func(cmd *cobra.Command, paths []string) error {
		exp, err := f.load(cmd, paths)
		if err != nil {
			return err
		}
		storeDir := tracking.ResolveDir(f.store, paths[0])
		var store *tracking.Store
		var cache *runner.Cache
		switch s, err := tracking.OpenExisting(storeDir, tracking.WithVersion(version)); {
		case errors.Is(err, fs.ErrNotExist):
			// No store yet: everything is new.
		case err != nil:
			return err
		default:
			store = s
			defer store.Close()
			if cache, err = runner.OpenCache(storeDir); err != nil {
				return err
			}
		}
		plan, err := runner.NewPlan(exp, store, cache, runner.PlanOptions{Force: f.force, ForceDownstream: f.forceDownstream})
		if err != nil {
			return err
		}
		return printPlan(cmd.OutOrStdout(), exp, plan)
	})
	return cmd
}

func printPlan(w io.Writer, exp *dsl.Experiment, plan *runner.Plan) error {
	cached, toRun := plan.Counts()
	fmt.Fprintf(w, "experiment %q: %d stages, %d cached, %d to run\n", exp.Name, len(plan.Steps), cached, toRun)
	var rows [][]string
	for _, s := range plan.Steps {
		if s.Cached {
			note := ""
			if s.Producer != 0 {
				note = fmt.Sprintf("made by run %d", s.Producer)
			}
			rows = append(rows, []string{"cached", s.Stage.Address, note})
		} else {
			rows = append(rows, []string{"run", s.Stage.Address, s.Reason})
		}
	}
	return writeTable(w, []string{"ACTION", "STAGE", "WHY"}, rows)
}
