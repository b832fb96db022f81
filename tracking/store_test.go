package tracking

import (
	"database/sql"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), WithVersion("test-1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustStart(t *testing.T, s *Store, info RunInfo) RunID {
	t.Helper()
	id, err := s.StartRun(info)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustFinish(t *testing.T, s *Store, id RunID, st Status, msg string) {
	t.Helper()
	if err := s.FinishRun(id, st, msg); err != nil {
		t.Fatal(err)
	}
}

const keyA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const keyB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

func TestResolveDir(t *testing.T) {
	specDir := t.TempDir()
	spec := filepath.Join(specDir, "spec.hcl")
	if err := os.WriteFile(spec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvStore, "")
	cases := []struct {
		flag, env, spec, want string
	}{
		{"", "", spec, filepath.Join(specDir, ".lethe")},
		{"", "", specDir, filepath.Join(specDir, ".lethe")}, // a directory of specs keeps its store inside
		{"", "", "", ".lethe"},
		{"", "/env/store", spec, "/env/store"},
		{"flag/store/", "/env/store", spec, "flag/store"},
	}
	for _, c := range cases {
		t.Setenv(EnvStore, c.env)
		if got := ResolveDir(c.flag, c.spec); got != c.want {
			t.Errorf("ResolveDir(%q, %q) with %s=%q = %q, want %q", c.flag, c.spec, EnvStore, c.env, got, c.want)
		}
	}
}

func TestRunLifecycleSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, WithVersion("v9.9"))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := s.BeginExperiment(ExperimentInfo{Name: "quickstart", SpecPath: "q.hcl", SpecDigest: keyB})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	id, err := s.StartRun(RunInfo{
		Experiment: exp, Address: "train.base[seed=1]", Kind: "train", CacheKey: keyA, Device: "cpu",
		Params: []Param{{Name: "epochs", Value: " 3 ", Source: "q.hcl:12"}, {Name: "arch", Value: `"smallcnn"`, Source: "q.hcl:11"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetParams(id, []Param{{Name: "lr", Value: `{"base": 0.1, "decay": [1, 2]}`, Source: "q.hcl:13"}}); err != nil {
		t.Fatal(err)
	}
	for step := int64(0); step < 3; step++ {
		if err := s.LogMetric(id, "train/loss", step, 2.0/float64(step+1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddArtifact(id, Artifact{Path: "cache/aa/model.safetensors", SHA256: keyB, Bytes: 1234}); err != nil {
		t.Fatal(err)
	}
	mustFinish(t, s, id, Finished, "")
	if err := s.EndExperiment(exp); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = OpenExisting(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Run("train.base[seed=1]")
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if r.ID != id || r.Experiment != exp || r.ExperimentName != "quickstart" || r.Kind != "train" ||
		r.CacheKey != keyA || r.Status != Finished || r.Device != "cpu" || r.Version != "v9.9" ||
		r.Host != host || r.PID != os.Getpid() || r.Error != "" {
		t.Errorf("run read back as %+v", r)
	}
	if r.Started.Before(before.Truncate(time.Microsecond)) || r.Ended.Before(r.Started) || r.Queued.After(r.Started) {
		t.Errorf("times out of order: queued %v started %v ended %v (test began %v)", r.Queued, r.Started, r.Ended, before)
	}
	ps, err := s.Params(id)
	if err != nil {
		t.Fatal(err)
	}
	wantPs := []Param{{"arch", `"smallcnn"`, "q.hcl:11"}, {"epochs", "3", "q.hcl:12"}, {"lr", `{"base":0.1,"decay":[1,2]}`, "q.hcl:13"}}
	if len(ps) != len(wantPs) {
		t.Fatalf("params = %v, want %v", ps, wantPs)
	}
	for i := range ps {
		if ps[i] != wantPs[i] {
			t.Errorf("param %d = %+v, want %+v", i, ps[i], wantPs[i])
		}
	}
	ms, err := s.Metrics(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Name != "train/loss" || len(ms[0].Points) != 3 {
		t.Fatalf("metrics = %+v", ms)
	}
	if last, _ := ms[0].Last(); last.Step != 2 || last.Value != 2.0/3 {
		t.Errorf("last point = %+v, want step 2 value %v", last, 2.0/3)
	}
	as, err := s.Artifacts(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0] != (Artifact{"cache/aa/model.safetensors", keyB, 1234}) {
		t.Errorf("artifacts = %+v", as)
	}
}

func TestStatusTransitions(t *testing.T) {
	s := openTemp(t)
	info := RunInfo{Address: "train.a", Kind: "train"}

	q, err := s.QueueRun(info)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Run("train.a"); r.Status != Queued || !r.Started.IsZero() || r.Duration() != 0 {
		t.Errorf("queued run = %+v", r)
	}
	if err := s.FinishRun(q, Finished, ""); err == nil || !strings.Contains(err.Error(), "never started") {
		t.Errorf("finishing a queued run as FINISHED: err = %v", err)
	}
	if err := s.MarkRunning(q); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkRunning(q); err == nil || !strings.Contains(err.Error(), "RUNNING, not QUEUED") {
		t.Errorf("second MarkRunning: err = %v", err)
	}
	if err := s.FinishRun(q, Cached, ""); err == nil || !strings.Contains(err.Error(), "not an end status") {
		t.Errorf("FinishRun(CACHED): err = %v", err)
	}
	mustFinish(t, s, q, Failed, "out of memory")
	if err := s.FinishRun(q, Finished, ""); err == nil || !strings.Contains(err.Error(), "already FAILED") {
		t.Errorf("finishing twice: err = %v", err)
	}
	r, err := s.Run("train.a")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != Failed || r.Error != "out of memory" || r.Started.IsZero() || r.Ended.IsZero() {
		t.Errorf("failed run = %+v", r)
	}

	// A queued run whose upstream failed is KILLED without ever running.
	q2, _ := s.QueueRun(info)
	mustFinish(t, s, q2, Killed, "upstream train.x failed")

	if err := s.FinishRun(9999, Failed, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("finishing a missing run: err = %v, want ErrNotFound", err)
	}
	if err := s.MarkRunning(9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkRunning on a missing run: err = %v, want ErrNotFound", err)
	}
	if _, err := s.StartRun(RunInfo{Address: "x"}); err == nil {
		t.Error("a run without a kind was accepted")
	}
	if _, err := s.StartRun(RunInfo{Address: "x", Kind: "train", Experiment: 77}); err == nil || !strings.Contains(err.Error(), "no experiment 77") {
		t.Errorf("a run of a missing experiment: err = %v", err)
	}
	if _, err := s.BeginExperiment(ExperimentInfo{}); err == nil {
		t.Error("an experiment without a name was accepted")
	}
	if err := s.EndExperiment(55); !errors.Is(err, ErrNotFound) {
		t.Errorf("EndExperiment(55): err = %v, want ErrNotFound", err)
	}
}

func TestParseStatus(t *testing.T) {
	for _, st := range statuses {
		got, err := ParseStatus(strings.ToLower(string(st)))
		if err != nil || got != st {
			t.Errorf("ParseStatus(%q) = %q, %v", strings.ToLower(string(st)), got, err)
		}
	}
	if _, err := ParseStatus("DONE"); err == nil || !strings.Contains(err.Error(), "FINISHED") {
		t.Errorf("ParseStatus(DONE): err = %v, want one listing the statuses", err)
	}
}

func TestRecordCachedPointsToProducingRun(t *testing.T) {
	s := openTemp(t)
	if _, err := s.RecordCached(RunInfo{Address: "train.a", Kind: "train"}); err == nil {
		t.Error("a cached run without a cache key was accepted")
	}
	// Nothing in this store produced keyA: the source is unknown.
	orphan, err := s.RecordCached(RunInfo{Address: "train.a", Kind: "train", CacheKey: keyA})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := s.Run("1")
	if r.ID != orphan || r.Status != Cached || r.SourceRun != 0 || r.ResultsRun() != orphan {
		t.Errorf("orphan cached run = %+v", r)
	}

	prod := mustStart(t, s, RunInfo{Address: "train.a", Kind: "train", CacheKey: keyA})
	if err := s.LogMetric(prod, "acc", 0, 0.9); err != nil {
		t.Fatal(err)
	}
	mustFinish(t, s, prod, Finished, "")
	failed := mustStart(t, s, RunInfo{Address: "train.a", Kind: "train", CacheKey: keyA})
	mustFinish(t, s, failed, Failed, "boom")

	c, err := s.RecordCached(RunInfo{Address: "train.a", Kind: "train", CacheKey: keyA})
	if err != nil {
		t.Fatal(err)
	}
	r, err = s.Run("train.a")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != c || r.SourceRun != prod || r.ResultsRun() != prod || r.Duration() != 0 {
		t.Errorf("cached run = %+v, want source %d", r, prod)
	}
	if err := s.FinishRun(c, Failed, ""); err == nil {
		t.Error("a CACHED run could be finished again")
	}
}

func TestMetricsKeepStepOrderAcrossBatches(t *testing.T) {
	s := openTemp(t)
	id := mustStart(t, s, RunInfo{Address: "train.a", Kind: "train"})
	other := mustStart(t, s, RunInfo{Address: "train.b", Kind: "train"})
	// More points than one batch holds, logged out of order and interleaved
	// with another run and metric, so several batches are written.
	n := int64(3*maxPendingPoints + 17)
	for i := int64(0); i < n; i++ {
		step := (i * 7919) % n // a permutation of 0..n-1
		if err := s.LogMetric(id, "train/loss", step, float64(step)/10); err != nil {
			t.Fatal(err)
		}
		if err := s.LogMetric(other, "train/loss", i, -1); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			if err := s.LogMetric(id, "val/acc", i/100, float64(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Re-logging a step replaces it; NaN and infinities survive.
	for _, p := range []struct {
		step int64
		v    float64
	}{{5, 123}, {6, math.NaN()}, {7, math.Inf(1)}, {8, math.Inf(-1)}} {
		if err := s.LogMetric(id, "train/loss", p.step, p.v); err != nil {
			t.Fatal(err)
		}
	}
	mustFinish(t, s, id, Finished, "")

	ms, err := s.Metrics(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Name != "train/loss" || ms[1].Name != "val/acc" {
		t.Fatalf("series = %v", names(ms))
	}
	loss := ms[0].Points
	if int64(len(loss)) != n {
		t.Fatalf("train/loss has %d points, want %d", len(loss), n)
	}
	for i, p := range loss {
		if p.Step != int64(i) {
			t.Fatalf("point %d has step %d: not in step order", i, p.Step)
		}
		want := float64(i) / 10
		switch i {
		case 5:
			want = 123
		case 6:
			if !math.IsNaN(p.Value) {
				t.Errorf("step 6 = %v, want NaN", p.Value)
			}
			continue
		case 7:
			want = math.Inf(1)
		case 8:
			want = math.Inf(-1)
		}
		if p.Value != want {
			t.Errorf("step %d = %v, want %v", i, p.Value, want)
		}
	}
	if got := len(ms[1].Points); int64(got) != (n+99)/100 {
		t.Errorf("val/acc has %d points, want %d", got, (n+99)/100)
	}
	if ms2, _ := s.Metrics(other); len(ms2) != 1 || int64(len(ms2[0].Points)) != n {
		t.Errorf("the other run's metrics were disturbed: %d series", len(ms2))
	}
}

func names(ms []Series) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func TestMetricBatchIsWrittenInBackground(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	reader, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	id := mustStart(t, w, RunInfo{Address: "train.a", Kind: "train"})
	if err := w.LogMetric(id, "loss", 0, 1.5); err != nil {
		t.Fatal(err)
	}
	// No Flush: another Store must still see the point within a few flush
	// intervals, so a long epoch's curve shows up in `lethe show` meanwhile.
	deadline := time.Now().Add(10 * flushInterval)
	for {
		ms, err := reader.Metrics(id)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 1 && ms[0].Points[0].Value == 1.5 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("point not visible to another Store after %v", 10*flushInterval)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLogMetricRejectsBadInput(t *testing.T) {
	s := openTemp(t)
	id := mustStart(t, s, RunInfo{Address: "train.a", Kind: "train"})
	if err := s.LogMetric(42, "loss", 0, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("metric of a missing run: err = %v", err)
	}
	if err := s.LogMetric(id, "", 0, 1); err == nil {
		t.Error("a metric without a name was accepted")
	}
	if err := s.LogMetric(id, "loss", -1, 1); err == nil || !strings.Contains(err.Error(), "negative step") {
		t.Errorf("negative step: err = %v", err)
	}
}

func TestParamsAndArtifactsRejectBadInput(t *testing.T) {
	s := openTemp(t)
	id := mustStart(t, s, RunInfo{Address: "train.a", Kind: "train"})
	bad := [][]Param{
		{{Name: "ratio", Value: "0.02,"}},
		{{Name: "", Value: "1"}},
		{{Name: "a", Value: "1"}, {Name: "a", Value: "2"}},
	}
	for _, ps := range bad {
		if err := s.SetParams(id, ps); err == nil {
			t.Errorf("SetParams(%v) was accepted", ps)
		}
	}
	if err := s.SetParams(id, []Param{{Name: "ratio", Value: "0.02,"}}); err == nil || !strings.Contains(err.Error(), `"ratio"`) {
		t.Errorf("bad JSON: error %v does not name the parameter", err)
	}
	if _, err := s.StartRun(RunInfo{Address: "b", Kind: "k", Params: []Param{{Name: "x", Value: "nope"}}}); err == nil {
		t.Error("StartRun accepted a non-JSON parameter")
	}
	if rs, _ := s.Runs(Filter{Address: "b"}); len(rs) != 0 {
		t.Error("a run whose parameters were rejected was recorded anyway")
	}
	if err := s.SetParams(404, []Param{{Name: "x", Value: "1"}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("params of a missing run: err = %v", err)
	}
	// Setting a parameter again replaces it.
	if err := s.SetParams(id, []Param{{Name: "ratio", Value: "0.02"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetParams(id, []Param{{Name: "ratio", Value: "0.03", Source: "s.hcl:4"}}); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s.Params(id); len(ps) != 1 || ps[0].Value != "0.03" || ps[0].Source != "s.hcl:4" {
		t.Errorf("params after replacing = %+v", ps)
	}

	for _, a := range []Artifact{
		{Path: "", SHA256: keyA, Bytes: 1},
		{Path: "m", SHA256: strings.ToUpper(keyA), Bytes: 1},
		{Path: "m", SHA256: keyA[:63], Bytes: 1},
		{Path: "m", SHA256: keyA, Bytes: -1},
	} {
		if err := s.AddArtifact(id, a); err == nil {
			t.Errorf("AddArtifact(%+v) was accepted", a)
		}
	}
	if err := s.AddArtifact(404, Artifact{Path: "m", SHA256: keyA}); !errors.Is(err, ErrNotFound) {
		t.Errorf("artifact of a missing run: err = %v", err)
	}
}

func TestRunsFilter(t *testing.T) {
	s := openTemp(t)
	e1, _ := s.BeginExperiment(ExperimentInfo{Name: "paper"})
	e2, _ := s.BeginExperiment(ExperimentInfo{Name: "quick"})
	add := func(exp ExperimentID, addr, kind string, st Status) RunID {
		id := mustStart(t, s, RunInfo{Experiment: exp, Address: addr, Kind: kind})
		if st != Running {
			mustFinish(t, s, id, st, "")
		}
		return id
	}
	a := add(e1, "train.base[seed=1]", "train", Finished)
	b := add(e1, "unlearn.osp[ratio=0.02,seed=1]", "unlearn", Finished)
	c := add(e1, "unlearn.osp[ratio=0.05,seed=1]", "unlearn", Failed)
	d := add(e2, "unlearn.osp[ratio=0.02,seed=2]", "unlearn", Running)

	cases := []struct {
		name string
		f    Filter
		want []RunID
	}{
		{"all, newest first", Filter{}, []RunID{d, c, b, a}},
		{"status", Filter{Statuses: []Status{Finished}}, []RunID{b, a}},
		{"two statuses", Filter{Statuses: []Status{Failed, Running}}, []RunID{d, c}},
		{"kind", Filter{Kind: "train"}, []RunID{a}},
		{"experiment", Filter{Experiment: "quick"}, []RunID{d}},
		{"glob with brackets", Filter{Address: "unlearn.osp[ratio=0.02,*]"}, []RunID{d, b}},
		{"glob ?", Filter{Address: "unlearn.osp[ratio=0.0?,seed=1]"}, []RunID{c, b}},
		{"exact address", Filter{Address: "train.base[seed=1]"}, []RunID{a}},
		{"limit after glob", Filter{Address: "unlearn.*", Limit: 2}, []RunID{d, c}},
		{"nothing", Filter{Kind: "report"}, nil},
	}
	for _, c := range cases {
		rs, err := s.Runs(c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []RunID
		for _, r := range rs {
			got = append(got, r.ID)
		}
		if !equalIDs(got, c.want) {
			t.Errorf("%s: runs %v, want %v", c.name, got, c.want)
		}
	}
	if _, err := s.Runs(Filter{Statuses: []Status{"DONE"}}); err == nil {
		t.Error("an unknown status in a filter was accepted")
	}
}

func equalIDs(a, b []RunID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRunByReference(t *testing.T) {
	s := openTemp(t)
	first := mustStart(t, s, RunInfo{Address: "train.a", Kind: "train"})
	mustFinish(t, s, first, Finished, "")
	second := mustStart(t, s, RunInfo{Address: "train.a", Kind: "train"})
	ab := mustStart(t, s, RunInfo{Address: "train.ab", Kind: "train"})
	osp := mustStart(t, s, RunInfo{Address: "unlearn.osp[ratio=0.02]", Kind: "unlearn"})

	for ref, want := range map[string]RunID{
		"1":          first,
		"train.a":    second, // exact address wins over being a prefix of train.ab; latest run
		"train.ab":   ab,
		"unlearn":    osp,
		"unlearn.os": osp,
	} {
		r, err := s.Run(ref)
		if err != nil {
			t.Errorf("Run(%q): %v", ref, err)
		} else if r.ID != want {
			t.Errorf("Run(%q) = run %d, want %d", ref, r.ID, want)
		}
	}
	if _, err := s.Run("train."); err == nil || !strings.Contains(err.Error(), "train.a, train.ab") {
		t.Errorf("ambiguous prefix: err = %v, want one listing both addresses", err)
	}
	for _, ref := range []string{"99", "evaluate", ""} {
		if _, err := s.Run(ref); err == nil {
			t.Errorf("Run(%q) found something", ref)
		}
	}
	if _, err := s.Run("99"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Run(99): err = %v, want ErrNotFound", err)
	}
}

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything[x=1]", true},
		{"a[b]", "a[b]", true},
		{"a[b]", "ab", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*.osp[*seed=1]", "unlearn.osp[ratio=0.02,seed=1]", true},
		{"*.osp[*seed=1]", "unlearn.osp[ratio=0.02,seed=11]", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"**a", "bba", true},
		{"é?", "éü", true},
	}
	for _, c := range cases {
		if got := GlobMatch(c.p, c.s); got != c.want {
			t.Errorf("GlobMatch(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}

func TestLatestByAddress(t *testing.T) {
	s := openTemp(t)
	paper, _ := s.BeginExperiment(ExperimentInfo{Name: "paper"})
	quick, _ := s.BeginExperiment(ExperimentInfo{Name: "quick"})
	run := func(exp ExperimentID, addr, key string, st Status, acc float64) RunID {
		id := mustStart(t, s, RunInfo{Experiment: exp, Address: addr, Kind: "evaluate", CacheKey: key})
		if err := s.LogMetric(id, "acc", 0, acc); err != nil {
			t.Fatal(err)
		}
		mustFinish(t, s, id, st, "")
		return id
	}
	old := run(paper, "eval.a", keyA, Finished, 0.5)
	_ = old
	newer := run(paper, "eval.a", keyB, Finished, 0.7)
	run(paper, "eval.a", keyB, Failed, 0.1) // a later failure does not hide the result
	b := run(paper, "eval.b", keyA, Finished, 0.8)
	q := run(quick, "eval.a", keyA, Finished, 0.6)
	cached, err := s.RecordCached(RunInfo{Experiment: quick, Address: "eval.c", Kind: "evaluate", CacheKey: keyB})
	if err != nil {
		t.Fatal(err)
	}

	all, err := s.LatestByAddress("paper", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all["eval.a"].Run.ID != newer || all["eval.b"].Run.ID != b {
		t.Fatalf("paper's latest = %v", all)
	}
	if m := all["eval.a"].Metrics; len(m) != 1 || m[0].Points[0].Value != 0.7 {
		t.Errorf("eval.a's metrics = %+v, want acc 0.7", m)
	}

	some, err := s.LatestByAddress("", []string{"eval.a", "eval.c", "eval.missing"})
	if err != nil {
		t.Fatal(err)
	}
	if len(some) != 2 || some["eval.a"].Run.ID != q {
		t.Fatalf("latest of eval.a, eval.c anywhere = %v", some)
	}
	// The cached run's results are those of the run that made its cache entry.
	c := some["eval.c"]
	if c.Run.ID != cached || c.Run.SourceRun != newer || len(c.Metrics) != 1 || c.Metrics[0].Points[0].Value != 0.7 {
		t.Errorf("eval.c = %+v", c)
	}
}

func TestTailLog(t *testing.T) {
	s := openTemp(t)
	id := mustStart(t, s, RunInfo{Address: "train.a", Kind: "train"})
	if _, err := s.TailLog(id, 5); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("tail of a missing log: err = %v", err)
	}
	if filepath.Dir(s.LogPath(id)) != filepath.Join(s.Dir(), "logs") || filepath.Base(s.LogPath(id)) != "1.log" {
		t.Errorf("LogPath = %s", s.LogPath(id))
	}
	var b strings.Builder
	// Long enough to need several backward reads.
	for i := 0; i < 5000; i++ {
		b.WriteString(strings.Repeat("x", i%50))
		b.WriteString("|line ")
		b.WriteString(strconv.Itoa(i))
		b.WriteString("\n")
	}
	if err := os.WriteFile(s.LogPath(id), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	lines, err := s.TailLog(id, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || !strings.HasSuffix(lines[0], "|line 4997") || !strings.HasSuffix(lines[2], "|line 4999") {
		t.Errorf("tail = %q", lines)
	}
	if err := os.WriteFile(s.LogPath(id), []byte("one\ntwo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if lines, _ := s.TailLog(id, 10); len(lines) != 2 || lines[0] != "one" || lines[1] != "two" {
		t.Errorf("tail of a short log without a final newline = %q", lines)
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "we?ird #dir %41")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartRun(RunInfo{Address: "a", Kind: "k"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, DBName)); err != nil {
		t.Errorf("database not at the path asked for: %v", err)
	}
	s, err = OpenExisting(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rs, _ := s.Runs(Filter{}); len(rs) != 1 {
		t.Errorf("reopened store has %d runs, want 1", len(rs))
	}
}

func TestOpenExistingWithoutStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "none")
	_, err := OpenExisting(dir)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), dir) {
		t.Errorf("OpenExisting(missing): err = %v, want ErrNotExist naming %s", err, dir)
	}
	if _, statErr := os.Stat(dir); !errors.Is(statErr, fs.ErrNotExist) {
		t.Error("OpenExisting created the store directory")
	}
}

// rawDB opens a database file directly, for setting up states that the API
// cannot produce.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestForeignAndCorruptDatabases(t *testing.T) {
	dir := t.TempDir()
	db := rawDB(t, filepath.Join(dir, DBName))
	if _, err := db.Exec(`CREATE TABLE customers (id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := Open(dir)
	if err == nil || !strings.Contains(err.Error(), "not a Lethe store") || !strings.Contains(err.Error(), "customers") {
		t.Errorf("opening someone else's database: err = %v", err)
	}

	dir = t.TempDir()
	db = rawDB(t, filepath.Join(dir, DBName))
	if _, err := db.Exec(`PRAGMA application_id = 7`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "application_id") {
		t.Errorf("opening a database of another application: err = %v", err)
	}

	dir = t.TempDir()
	path := filepath.Join(dir, DBName)
	if err := os.WriteFile(path, []byte(strings.Repeat("not sqlite at all ", 400)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("opening a corrupt file: err = %v, want one naming %s", err, path)
	}
}

func TestOldSchemaIsMigrated(t *testing.T) {
	dir := t.TempDir()
	v1 := migrations[:1]
	s, err := open(dir, false, v1, []Option{WithVersion("old")})
	if err != nil {
		t.Fatal(err)
	}
	id := mustStart(t, s, RunInfo{Address: "train.a", Kind: "train", Params: []Param{{Name: "epochs", Value: "3"}}})
	mustFinish(t, s, id, Finished, "")
	s.Close()

	// A later Lethe adds a column and fills it from existing rows.
	v2 := append(v1[:1:1], migration{2, "run notes", `
		ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT '';
		UPDATE runs SET note = 'epochs=' || (SELECT value FROM params WHERE run_id = runs.id AND name = 'epochs');`})
	s, err = open(dir, false, v2, []Option{WithVersion("new")})
	if err != nil {
		t.Fatal(err)
	}
	var note string
	if err := s.r.QueryRow(`SELECT note FROM runs WHERE id = ?`, int64(id)).Scan(&note); err != nil {
		t.Fatal(err)
	}
	if note != "epochs=3" {
		t.Errorf("migrated note = %q, want epochs=3", note)
	}
	rows, err := s.r.Query(`SELECT version, lethe_version FROM schema_version ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	var hist []string
	for rows.Next() {
		var v int
		var lv string
		rows.Scan(&v, &lv)
		hist = append(hist, strconv.Itoa(v)+"@"+lv)
	}
	rows.Close()
	if strings.Join(hist, " ") != "1@old 2@new" {
		t.Errorf("schema history = %v, want [1@old 2@new]", hist)
	}
	if r, err := s.Run("train.a"); err != nil || r.Status != Finished {
		t.Errorf("run after migration = %+v, %v", r, err)
	}
	s.Close()

	// The current Lethe knows only version 1: it must refuse, not guess.
	_, err = open(dir, false, v1, []Option{WithVersion("older")})
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "schema version 2") ||
		!strings.Contains(err.Error(), "up to 1") || !strings.Contains(err.Error(), dir) {
		t.Errorf("opening a newer store: err = %v", err)
	}
}

func TestCurrentSchemaVersionIsRecorded(t *testing.T) {
	s := openTemp(t)
	var v int
	var app int64
	if err := s.r.QueryRow(`SELECT MAX(version) FROM schema_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if err := s.r.QueryRow(`PRAGMA application_id`).Scan(&app); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() || app != applicationID {
		t.Errorf("schema version %d, application_id %#x; want %d, %#x", v, app, SchemaVersion(), applicationID)
	}
	var mode string
	if err := s.r.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}
