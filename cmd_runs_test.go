package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"lethe/tracking"
)

const (
	testKey1 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	testKey2 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
)

// sampleStore records a small experiment: a finished training run with a
// curve, params, an artifact and a log; a failed unlearning run; a cached
// re-use of the training run.
func sampleStore(t *testing.T) (dir string, train, failed, cached tracking.RunID) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "store")
	s, err := tracking.Open(dir, tracking.WithVersion("v0.test"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	exp, err := s.BeginExperiment(tracking.ExperimentInfo{Name: "quickstart", SpecPath: "quickstart.hcl"})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	train, err = s.StartRun(tracking.RunInfo{Experiment: exp, Address: "train.base[seed=1]", Kind: "train", CacheKey: testKey1, Device: "cpu",
		Params: []tracking.Param{{Name: "epochs", Value: "3", Source: "quickstart.hcl:14"}, {Name: "arch", Value: `"smallcnn"`, Source: "quickstart.hcl:13"}}})
	must(err)
	for step, loss := range []float64{2.3, 0.9, 0.41} {
		must(s.LogMetric(train, "train/loss", int64(step), loss))
	}
	must(s.LogMetric(train, "test/accuracy", 0, 0.9871))
	must(s.AddArtifact(train, tracking.Artifact{Path: "cache/01/model.safetensors", SHA256: testKey2, Bytes: 421337}))
	var log strings.Builder
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&log, "epoch %d done\n", i)
	}
	must(os.WriteFile(s.LogPath(train), []byte(log.String()), 0o644))
	must(s.FinishRun(train, tracking.Finished, ""))

	failed, err = s.StartRun(tracking.RunInfo{Experiment: exp, Address: "unlearn.osp[ratio=0.02,seed=1]", Kind: "unlearn", CacheKey: testKey2})
	must(err)
	must(s.FinishRun(failed, tracking.Failed, "no filters selected"))

	cached, err = s.RecordCached(tracking.RunInfo{Experiment: exp, Address: "train.base[seed=1]", Kind: "train", CacheKey: testKey1})
	must(err)
	return dir, train, failed, cached
}

// runCLICombined runs the root command and returns its stdout and
// stderr together.
func runCLICombined(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// rowsOf returns the table rows of output (lines after the header) as fields.
func rowsOf(out string) [][]string {
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		rows = append(rows, strings.Fields(l))
	}
	return rows
}

func TestRunsCommandListsAndFilters(t *testing.T) {
	dir, train, failed, cached := sampleStore(t)
	t.Setenv(tracking.EnvStore, "")

	out, err := runCLICombined(t, "runs", "--store", dir)
	if err != nil {
		t.Fatal(err)
	}
	rows := rowsOf(out)
	if len(rows) != 3 {
		t.Fatalf("runs printed %d rows, want 3:\n%s", len(rows), out)
	}
	// Newest first: id, address, kind, status, date, time, duration, key prefix.
	wantIDs := []tracking.RunID{cached, failed, train}
	for i, r := range rows {
		if r[0] != fmt.Sprint(wantIDs[i]) {
			t.Errorf("row %d is run %s, want %d:\n%s", i, r[0], wantIDs[i], out)
		}
	}
	if r := rows[1]; r[1] != "unlearn.osp[ratio=0.02,seed=1]" || r[2] != "unlearn" || r[3] != "FAILED" || r[len(r)-1] != testKey2[:12] {
		t.Errorf("failed run's row = %q", r)
	}
	if !strings.HasPrefix(out, "ID") || !strings.Contains(strings.SplitN(out, "\n", 2)[0], "DURATION") {
		t.Errorf("no header line:\n%s", out)
	}

	for _, c := range []struct {
		args []string
		want []tracking.RunID
	}{
		{[]string{"--status", "failed"}, []tracking.RunID{failed}},
		{[]string{"--status", "failed,cached"}, []tracking.RunID{cached, failed}},
		{[]string{"--status", "FINISHED", "--status", "failed"}, []tracking.RunID{failed, train}},
		{[]string{"--kind", "train"}, []tracking.RunID{cached, train}},
		{[]string{"--address", "unlearn.osp[*]"}, []tracking.RunID{failed}},
		{[]string{"--experiment", "quickstart", "--kind", "unlearn"}, []tracking.RunID{failed}},
	} {
		// The store named by the environment variable this time.
		t.Setenv(tracking.EnvStore, dir)
		out, err := runCLICombined(t, append([]string{"runs"}, c.args...)...)
		if err != nil {
			t.Fatalf("runs %v: %v", c.args, err)
		}
		var got []string
		for _, r := range rowsOf(out) {
			got = append(got, r[0])
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("runs %v listed %v, want %v:\n%s", c.args, got, c.want, out)
		}
	}

	// --spec finds the store beside a spec, as `lethe run` places it.
	t.Setenv(tracking.EnvStore, "")
	specDir := t.TempDir()
	spec := filepath.Join(specDir, "quickstart.hcl")
	if err := os.WriteFile(spec, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir, filepath.Join(specDir, tracking.DefaultDirName)); err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(specDir, tracking.DefaultDirName)
	out, err = runCLICombined(t, "runs", "--spec", spec)
	if err != nil || len(rowsOf(out)) != 3 {
		t.Errorf("runs --spec %s: %v\n%s", spec, err, out)
	}

	out, err = runCLICombined(t, "runs", "--store", dir, "--limit", "2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "more match") || strings.Count(out, "\n") != 4 {
		t.Errorf("--limit 2 of 3 should show 2 rows and say more match:\n%s", out)
	}
	out, _ = runCLICombined(t, "runs", "--store", dir, "--kind", "report")
	if !strings.Contains(out, "no runs match") {
		t.Errorf("an empty listing says %q", out)
	}
}

func TestRunsCommandRejectsBadInput(t *testing.T) {
	dir, _, _, _ := sampleStore(t)
	missing := filepath.Join(t.TempDir(), "nowhere")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"runs", "--store", dir, "--status", "done"}, `--status: unknown run status "done"`},
		{[]string{"runs", "--store", dir, "--limit", "-1"}, "--limit -1"},
		{[]string{"runs", "--store", missing}, "no Lethe store at " + missing},
		{[]string{"runs", "--store", missing}, "--store, --spec or $LETHE_STORE"},
		{[]string{"show", "--store", missing, "1"}, "no Lethe store at " + missing},
		{[]string{"show", "--store", dir, "999"}, "no run 999"},
		{[]string{"show", "--store", dir, "train.x"}, `no run with id or address "train.x"`},
		{[]string{"show", "--store", dir}, "accepts 1 arg"},
	} {
		_, err := runCLICombined(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("lethe %v: err = %v, want one containing %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Error("a read-only command created a store")
	}
}

func TestShowCommand(t *testing.T) {
	dir, train, failed, cached := sampleStore(t)
	out, err := runCLICombined(t, "show", "--store", dir, "--tail", "3", fmt.Sprint(train))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("run %d  train.base[seed=1]", train),
		"status      FINISHED",
		"experiment  quickstart (#1)",
		"cache key   " + testKey1,
		"device      cpu",
		"lethe       v0.test",
		"Parameters (2)",
		"Metrics (2)",
		"Artifacts (1)",
		"cache/01/model.safetensors  421337  " + testKey2,
		"Log (last 3 lines of " + filepath.Join(dir, "logs", fmt.Sprintf("%d.log", train)) + ")",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
	fieldsOf := func(prefix string) []string {
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 0 && f[0] == prefix {
				return f
			}
		}
		return nil
	}
	// Metrics: the last value and how many steps each has.
	if f := fieldsOf("train/loss"); fmt.Sprint(f) != "[train/loss 3 2 0.41]" {
		t.Errorf("train/loss row = %v", f)
	}
	if f := fieldsOf("test/accuracy"); fmt.Sprint(f) != "[test/accuracy 1 0 0.9871]" {
		t.Errorf("test/accuracy row = %v", f)
	}
	if f := fieldsOf("arch"); fmt.Sprint(f) != `[arch "smallcnn" quickstart.hcl:13]` {
		t.Errorf("arch row = %v", f)
	}
	// The log's tail, in order, and nothing before it.
	if !strings.Contains(out, "  epoch 28 done\n  epoch 29 done\n  epoch 30 done\n") || strings.Contains(out, "epoch 27") {
		t.Errorf("log tail wrong:\n%s", out)
	}

	out, err = runCLICombined(t, "show", "--store", dir, fmt.Sprint(failed))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FAILED", "error       no filters selected", "Parameters (0)", "Log: none written"} {
		if !strings.Contains(out, want) {
			t.Errorf("failed run's show lacks %q:\n%s", want, out)
		}
	}

	// By address: the latest run of train.base[seed=1] is the cached one,
	// which shows the producing run's results.
	out, err = runCLICombined(t, "show", "--store", dir, "--tail", "0", "train.base")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("run %d  train.base[seed=1]", cached),
		"status      CACHED",
		fmt.Sprintf("reused the result of run %d", train),
		"Metrics (2)",
		"Artifacts (1)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("cached run's show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Log") {
		t.Errorf("--tail 0 still printed the log:\n%s", out)
	}
}

func TestRunsAndShowHelpExplainEveryFlag(t *testing.T) {
	for _, name := range []string{"runs", "show"} {
		out, err := runCLICombined(t, name, "--help")
		if err != nil {
			t.Fatal(err)
		}
		cmd, _, _ := newRootCmd().Find([]string{name})
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Usage == "" || !strings.Contains(out, "--"+f.Name) {
				t.Errorf("%s --help does not explain --%s:\n%s", name, f.Name, out)
			}
		})
	}
}
