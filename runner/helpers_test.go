package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"lethe/dsl"
	"lethe/tracking"
)

// The tests run tiny experiments on the built-in MNIST: a few images per
// class, a quarter-width SmallCNN, one epoch. Each takes a second or two.

// tinySpec is a complete experiment: one dataset, a trained model, OSP at
// the given ratios (a sweep), an evaluation of every model and a report.
// extra is appended (more blocks).
func tinySpec(ratios, extra string) string {
	return fmt.Sprintf(`
experiment "tiny" {
  title = "tiny"
  seeds = [0]
}

dataset "mnist" {
  kind            = "mnist"
  train_per_class = 12
  test_per_class  = 6
}

train "net" {
  dataset    = dataset.mnist
  arch       = "smallcnn"
  width      = 0.25
  epochs     = 1
  batch_size = 32
  optimizer  = { name = "sgd", lr = 0.05 }
}

unlearn "osp" {
  model    = train.net
  method   = "osp"
  forget   = [3]
  strength = 0.4
  n_forget = 8
  n_retain = 8
  sweep {
    ratio = %s
  }
}

evaluate "all" {
  models  = [train.net, unlearn.osp]
  forget  = [3]
  metrics = ["acc_forget", "acc_retain", "time"]
}

report "table" {
  from    = evaluate.all
  rows    = ["method", "ratio"]
  values  = ["acc_forget", "acc_retain", "time"]
}
%s`, ratios, extra)
}

func load(t testing.TB, src string) *dsl.Experiment {
	t.Helper()
	exp, diags := dsl.LoadSources([]dsl.Source{{Name: "spec.hcl", Bytes: []byte(src)}}, dsl.Options{})
	if diags.HasErrors() {
		t.Fatalf("spec: %v", diags)
	}
	return exp
}

// session is one store used by several runs of a test.
type session struct {
	t     *testing.T
	dir   string
	store *tracking.Store
	cache *Cache
}

func newSession(t *testing.T) *session {
	t.Helper()
	return openSession(t, filepath.Join(t.TempDir(), "store"))
}

func openSession(t *testing.T, dir string) *session {
	t.Helper()
	store, err := tracking.Open(dir, tracking.WithVersion("test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cache, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &session{t: t, dir: dir, store: store, cache: cache}
}

func (s *session) plan(exp *dsl.Experiment, opts PlanOptions) *Plan {
	s.t.Helper()
	p, err := NewPlan(exp, s.store, s.cache, opts)
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

func (s *session) run(exp *dsl.Experiment, popts PlanOptions, opts Options) *Summary {
	s.t.Helper()
	return s.runCtx(context.Background(), exp, popts, opts)
}

func (s *session) runCtx(ctx context.Context, exp *dsl.Experiment, popts PlanOptions, opts Options) *Summary {
	s.t.Helper()
	if opts.Out == nil {
		opts.Out = testWriter{s.t}
	}
	sum, err := Run(ctx, s.plan(exp, popts), s.store, s.cache, opts)
	if err != nil {
		s.t.Fatal(err)
	}
	return sum
}

// testWriter sends a run's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// addresses lists the stages that ended with outcome o, sorted.
func addresses(sum *Summary, o Outcome) []string {
	var out []string
	for _, r := range sum.Results {
		if r.Outcome == o {
			out = append(out, r.Step.Stage.Address)
		}
	}
	sort.Strings(out)
	return out
}

func mustEqual(t *testing.T, what string, got, want []string) {
	t.Helper()
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}

func readReport(t *testing.T, sum *Summary) string {
	t.Helper()
	r, ok := sum.Result("report.table")
	if !ok || !r.OK() {
		t.Fatalf("report.table has no result: %+v", r)
	}
	b, err := os.ReadFile(filepath.Join(r.Dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
