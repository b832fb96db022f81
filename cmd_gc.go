package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"lethe/runner"
	"lethe/tracking"
)

func newGCCmd() *cobra.Command {
	var (
		f      runFlags
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "gc [SPEC...] [--dry-run] [--store DIR] [-var name=value] [-var-file file]",
		Short: "Remove cache entries that no spec uses any more",
		Long: `gc deletes the cache entries of a store that nothing refers to.

With spec files it keeps the entries those specs use now (with the -var
values given) and the latest result of each of their stages; every other
entry goes, those of other specs included. Without specs it keeps the
entries of the latest run of every spec recorded in the store. Entries of
stages running right now are always kept, and leftovers of killed runs are
removed.`,
		Example: `  lethe gc --dry-run
  lethe gc experiments/quickstart.hcl --store experiments/.lethe`,
	}
	f.specFlags.register(cmd)
	cmd.Flags().StringVar(&f.store, "store", "", "store directory (default: $"+tracking.EnvStore+" if set, else "+tracking.DefaultDirName+" beside the first spec, else ./"+tracking.DefaultDirName+")")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only list what would be removed")
	withSpecFlags(cmd, func(cmd *cobra.Command, paths []string) error {
		first := ""
		if len(paths) > 0 {
			first = paths[0]
		}
		storeDir := tracking.ResolveDir(f.store, first)
		store, err := openStoreForReading(storeDir, "")
		if err != nil {
			return err
		}
		defer store.Close()
		cache, err := runner.OpenCache(storeDir)
		if err != nil {
			return err
		}
		keep := map[string]bool{}
		if len(paths) == 0 {
			if keep, err = store.KeysInUse(); err != nil {
				return err
			}
		} else {
			live, err := store.Runs(tracking.Filter{Statuses: []tracking.Status{tracking.Queued, tracking.Running}})
			if err != nil {
				return err
			}
			for _, r := range live {
				keep[r.CacheKey] = true
			}
			for _, p := range paths {
				exp, err := f.load(cmd, []string{p})
				if err != nil {
					return err
				}
				plan, err := runner.NewPlan(exp, nil, nil, runner.PlanOptions{})
				if err != nil {
					return err
				}
				for _, s := range plan.Steps {
					keep[s.Key] = true
					r, ok, err := store.LatestRun(s.Stage.Address, tracking.Finished, tracking.Cached)
					if err != nil {
						return err
					}
					if ok {
						keep[r.CacheKey] = true
					}
				}
			}
		}
		res, err := runner.GC(cache, keep, dryRun)
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		verb := "removed"
		if dryRun {
			verb = "would remove"
		}
		for _, k := range res.Removed {
			fmt.Fprintf(out, "%s %s\n", verb, k)
		}
		fmt.Fprintf(out, "%s %d entr%s (%s), kept %d", verb, len(res.Removed), pluralY(len(res.Removed)), formatBytes(res.Bytes), res.Kept)
		if res.Temps > 0 {
			fmt.Fprintf(out, "; removed %d leftover temporary director%s", res.Temps, pluralY(res.Temps))
		}
		fmt.Fprintln(out)
		return nil
	})
	return cmd
}

func pluralY(n int) string {
	if n == 1 {
		return "y"
	}
	return "ies"
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
