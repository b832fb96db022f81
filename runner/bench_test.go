package runner

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"lethe/tracking"
)

// BenchmarkFullyCachedRun is the second `lethe run` of an unchanged spec
// without the CLI: plan (keys, manifest and checksum checks of every entry)
// and record every stage as cached. The quickstart's target is under 2 s
// for the whole command.
func BenchmarkFullyCachedRun(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "store")
	store, err := tracking.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	cache, err := OpenCache(dir)
	if err != nil {
		b.Fatal(err)
	}
	exp := load(b, tinySpec("[0.02, 0.05, 0.1]", ""))
	plan, err := NewPlan(exp, store, cache, PlanOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if sum, err := Run(context.Background(), plan, store, cache, Options{Out: io.Discard}); err != nil || sum.Err() != nil {
		b.Fatal(err, sum.Err())
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		plan, err := NewPlan(exp, store, cache, PlanOptions{})
		if err != nil {
			b.Fatal(err)
		}
		sum, err := Run(context.Background(), plan, store, cache, Options{Out: io.Discard})
		if err != nil || sum.Executed != 0 {
			b.Fatalf("%v, %d executed", err, sum.Executed)
		}
	}
	b.ReportMetric(float64(len(exp.Stages)), "stages")
}
