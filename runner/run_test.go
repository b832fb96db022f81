package runner

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"lethe/dsl"
	"lethe/tracking"
	"lethe/unlearn"
)

func TestSecondRunExecutesNothing(t *testing.T) {
	s := newSession(t)
	exp := load(t, tinySpec("[0.05, 0.1]", ""))
	first := s.run(exp, PlanOptions{}, Options{})
	if err := first.Err(); err != nil {
		t.Fatal(err)
	}
	if first.Executed != len(exp.Stages) || first.Cached != 0 {
		t.Fatalf("first run: %d executed, %d cached of %d", first.Executed, first.Cached, len(exp.Stages))
	}
	report := readReport(t, first)
	for _, want := range []string{"| method", "| osp ", "| 0.05", "| 0.1 ", "| original", "Acc_f (%)"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}

	// Reloading the spec and running again reuses every result, whatever
	// the job count.
	second := s.run(load(t, tinySpec("[0.05, 0.1]", "")), PlanOptions{}, Options{Jobs: 2, Device: "cpu"})
	if second.Executed != 0 || second.Cached != len(exp.Stages) || second.Err() != nil {
		t.Fatalf("second run: %d executed, %d cached, err %v", second.Executed, second.Cached, second.Err())
	}
	if got := readReport(t, second); got != report {
		t.Errorf("the cached report differs:\n%s\nvs\n%s", got, report)
	}
	runs, err := s.store.Runs(tracking.Filter{Statuses: []tracking.Status{tracking.Cached}})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != len(exp.Stages) {
		t.Errorf("%d CACHED runs recorded, want %d", len(runs), len(exp.Stages))
	}
	for _, r := range runs {
		if r.SourceRun == 0 {
			t.Errorf("cached run %s has no source run", r.Address)
		}
	}
}

func TestChangingOneSweepValueRerunsOnlyAffectedStages(t *testing.T) {
	s := newSession(t)
	s.run(load(t, tinySpec("[0.05, 0.1]", "")), PlanOptions{}, Options{})

	exp := load(t, tinySpec("[0.05, 0.2]", ""))
	plan := s.plan(exp, PlanOptions{})
	reasons := map[string]string{}
	for _, st := range plan.Steps {
		if !st.Cached {
			reasons[st.Stage.Address] = st.Reason
		}
	}
	want := map[string]string{
		"unlearn.osp[ratio=0.2,seed=0]":             "new",
		"evaluate.all[models=osp,ratio=0.2,seed=0]": "new",
		"report.table": "upstream changed: evaluate.all[models=osp,ratio=0.2,seed=0]",
	}
	if len(reasons) != len(want) {
		t.Fatalf("to run: %v, want %v", reasons, want)
	}
	for a, r := range want {
		if reasons[a] != r {
			t.Errorf("%s: reason %q, want %q", a, reasons[a], r)
		}
	}
	sum := s.run(exp, PlanOptions{}, Options{})
	mustEqual(t, "executed", addresses(sum, Executed), []string{
		"unlearn.osp[ratio=0.2,seed=0]", "evaluate.all[models=osp,ratio=0.2,seed=0]", "report.table"})
	if sum.Cached != len(exp.Stages)-3 {
		t.Errorf("%d cached, want %d", sum.Cached, len(exp.Stages)-3)
	}
}

func TestPlanExplainsParameterChanges(t *testing.T) {
	s := newSession(t)
	s.run(load(t, tinySpec("[0.05]", "")), PlanOptions{}, Options{})
	src := strings.Replace(tinySpec("[0.05]", ""), "strength = 0.4", "strength = 0.5", 1)
	line := 0
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, "strength = 0.5") {
			line = i + 1
		}
	}
	plan := s.plan(load(t, src), PlanOptions{})
	why := map[string]string{}
	for _, st := range plan.Steps {
		if !st.Cached {
			why[st.Stage.Address] = st.Reason
		}
	}
	if got, want := why["unlearn.osp[ratio=0.05,seed=0]"], "parameter strength changed from 0.4 to 0.5 (spec.hcl:"+strconv.Itoa(line)+")"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
	if got := why["evaluate.all[models=osp,ratio=0.05,seed=0]"]; got != "upstream changed: unlearn.osp[ratio=0.05,seed=0]" {
		t.Errorf("evaluation's reason %q", got)
	}
	if len(why) != 3 {
		t.Errorf("to run: %v", why)
	}
}

func itoa(i int) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + string(rune('0'+i/10)) + string(rune('0'+i%10)))
}

func TestForceReRunsOnlyWhatItNames(t *testing.T) {
	s := newSession(t)
	exp := load(t, tinySpec("[0.05]", ""))
	s.run(exp, PlanOptions{}, Options{})
	sum := s.run(exp, PlanOptions{Force: []string{"train.net"}}, Options{})
	mustEqual(t, "executed with --force train.net", addresses(sum, Executed), []string{"train.net[seed=0]"})
	sum = s.run(exp, PlanOptions{Force: []string{"unlearn.osp[*"}, ForceDownstream: true}, Options{})
	mustEqual(t, "executed with --force-downstream", addresses(sum, Executed), []string{
		"unlearn.osp[ratio=0.05,seed=0]", "evaluate.all[models=osp,ratio=0.05,seed=0]", "report.table"})
	if _, err := NewPlan(exp, s.store, s.cache, PlanOptions{Force: []string{"train.nett"}}); err == nil ||
		!strings.Contains(err.Error(), `"train.nett" names no stage`) {
		t.Errorf("a mistyped --force gave %v", err)
	}
}

func TestCorruptedArtifactIsDetectedAndRebuilt(t *testing.T) {
	s := newSession(t)
	exp := load(t, tinySpec("[0.05]", ""))
	first := s.run(exp, PlanOptions{}, Options{})
	train, _ := first.Result("train.net[seed=0]")
	model := filepath.Join(train.Dir, "model.safetensors")
	good, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte{}, good...)
	bad[len(bad)-3] ^= 0x40 // one weight, same size
	if err := os.WriteFile(model, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	plan := s.plan(exp, PlanOptions{})
	for _, st := range plan.Steps {
		if st.Stage.Address == "train.net[seed=0]" {
			if st.Cached || !strings.Contains(st.Reason, "artifact corrupted (model.safetensors: checksum mismatch)") {
				t.Fatalf("corrupted train: cached %v, reason %q", st.Cached, st.Reason)
			}
		} else if !st.Cached {
			t.Errorf("%s runs (%s); only the corrupted stage should", st.Stage.Address, st.Reason)
		}
	}
	sum := s.run(exp, PlanOptions{}, Options{})
	mustEqual(t, "executed", addresses(sum, Executed), []string{"train.net[seed=0]"})
	again, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(good) {
		t.Error("the rebuilt model differs from the original one (training is not deterministic?)")
	}
	if state, why := s.cache.check(train.Key, nil); state != entryValid {
		t.Errorf("rebuilt entry: %s", why)
	}

	// A manifest that lost a file, or a tampered manifest, is caught too.
	os.Remove(filepath.Join(train.Dir, "recipe.json"))
	if state, why := s.cache.check(train.Key, nil); state != entryCorrupt || !strings.Contains(why, "recipe.json is missing") {
		t.Errorf("missing file: %v %q", state, why)
	}
	os.WriteFile(filepath.Join(train.Dir, ManifestFile), []byte("{"), 0o644)
	if state, why := s.cache.check(train.Key, nil); state != entryCorrupt || !strings.Contains(why, "unreadable") {
		t.Errorf("broken manifest: %v %q", state, why)
	}
}

// badTrain adds a model whose training diverges (a huge learning rate), so
// that it and what depends on it fail.
const badTrain = `
train "bad" {
  dataset    = dataset.mnist
  arch       = "smallcnn"
  width      = 0.25
  epochs     = 1
  batch_size = 32
  optimizer  = { name = "sgd", lr = 1e30 }
}

unlearn "bad" {
  model  = train.bad
  method = "osp"
  forget = [3]
}

evaluate "bad" {
  models  = unlearn.bad
  metrics = ["acc_forget", "acc_retain", "time"]
}
`

func TestFailureStopsItsDependantsNotIndependentBranches(t *testing.T) {
	src := tinySpec("[0.05]", badTrain)
	src = strings.Replace(src, "from    = evaluate.all", "from    = [evaluate.all, evaluate.bad]", 1)
	exp := load(t, src)

	s := newSession(t)
	sum := s.run(exp, PlanOptions{}, Options{KeepGoing: true})
	mustEqual(t, "failed", addresses(sum, Failed), []string{"train.bad[seed=0]", "unlearn.bad[seed=0]", "evaluate.bad[seed=0]"})
	if sum.Executed != len(exp.Stages)-3 || sum.NotRun != 0 {
		t.Fatalf("keep-going: %d executed, %d not run", sum.Executed, sum.NotRun)
	}
	r, _ := sum.Result("train.bad[seed=0]")
	if r.Err == nil || !strings.Contains(r.Err.Error(), "diverged") {
		t.Errorf("train.bad failed with %v", r.Err)
	}
	runs, _ := s.store.Runs(tracking.Filter{Address: "unlearn.bad*"})
	if len(runs) != 1 || runs[0].Status != tracking.Failed || !strings.Contains(runs[0].Error, "input train.bad[seed=0] failed") {
		t.Errorf("the dependant's record: %+v", runs)
	}
	// The report shows what exists and marks the cells the failed
	// evaluation belongs to (osp at its default ratio 0.05, as the good one).
	report := readReport(t, sum)
	if !strings.Contains(report, "(n=1/2)") {
		t.Errorf("report does not mark the missing result:\n%s", report)
	}
	if sum.Err() == nil {
		t.Error("a run with failures reports no error")
	}

	// Without --keep-going nothing new starts after the failure.
	s2 := newSession(t)
	sum = s2.run(exp, PlanOptions{}, Options{})
	if sum.Failed == 0 || sum.NotRun == 0 {
		t.Fatalf("without keep-going: %d failed, %d not run", sum.Failed, sum.NotRun)
	}
	if r, _ := sum.Result("report.table"); r.Outcome != NotRun {
		t.Errorf("report ran after a failure without keep-going: %v", r.Outcome)
	}
}

func TestUnavailableMethodFailsClearly(t *testing.T) {
	var missing string
	for _, m := range dsl.MethodNames() {
		if !slices.Contains(unlearn.Names(), m) {
			missing = m
			break
		}
	}
	if missing == "" {
		t.Skip("this build has every method of the spec language")
	}
	src := tinySpec("[0.05]", `
unlearn "other" {
  model  = train.net
  method = "`+missing+`"
  forget = [3]
}
`)
	s := newSession(t)
	sum := s.run(load(t, src), PlanOptions{}, Options{KeepGoing: true})
	r, _ := sum.Result("unlearn.other[seed=0]")
	if r.Outcome != Failed || !strings.Contains(r.Err.Error(), "method "+missing+" is not available in this build") {
		t.Fatalf("unavailable method: %v %v", r.Outcome, r.Err)
	}
	if sum.Executed != len(sum.Results)-1 {
		t.Errorf("%d executed of %d", sum.Executed, len(sum.Results))
	}
}

func TestCancelMarksRunningStagesKilled(t *testing.T) {
	s := newSession(t)
	src := strings.Replace(tinySpec("[0.05]", ""), "epochs     = 1", "epochs     = 400", 1)
	exp := load(t, src)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			runs, _ := s.store.Runs(tracking.Filter{Statuses: []tracking.Status{tracking.Running}, Kind: "train"})
			if len(runs) > 0 {
				time.Sleep(100 * time.Millisecond) // let it write some of its artifacts' state
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	sum := s.runCtx(ctx, exp, PlanOptions{}, Options{})
	r, _ := sum.Result("train.net[seed=0]")
	if r.Outcome != Killed {
		t.Fatalf("train: %v (%v)", r.Outcome, r.Err)
	}
	if sum.Executed != 1 || sum.NotRun != len(exp.Stages)-2 {
		t.Errorf("%d executed (the dataset), %d not run", sum.Executed, sum.NotRun)
	}
	runs, _ := s.store.Runs(tracking.Filter{Kind: "train"})
	if len(runs) != 1 || runs[0].Status != tracking.Killed {
		t.Fatalf("train's record: %+v", runs)
	}
	tmps, _ := os.ReadDir(filepath.Join(s.cache.Dir(), ".tmp"))
	if len(tmps) != 0 {
		t.Errorf("partial artifacts left behind: %v", tmps)
	}
	if _, err := os.Stat(s.cache.Entry(r.Key)); !os.IsNotExist(err) {
		t.Errorf("a killed stage has a cache entry (%v)", err)
	}
}

func TestJobsRunIndependentStagesAtOnce(t *testing.T) {
	src := tinySpec("[0.05]", `
train "other" {
  dataset    = dataset.mnist
  arch       = "smallcnn"
  width      = 0.25
  epochs     = 3
  batch_size = 16
  seed       = 7
}
`)
	src = strings.Replace(src, "epochs     = 1", "epochs     = 3", 1)
	s := newSession(t)
	sum := s.run(load(t, src), PlanOptions{}, Options{Jobs: 2, Device: "cpu"})
	if err := sum.Err(); err != nil {
		t.Fatal(err)
	}
	runs, err := s.store.Runs(tracking.Filter{Kind: "train"})
	if err != nil || len(runs) != 2 {
		t.Fatalf("train runs: %v %v", runs, err)
	}
	a, b := runs[0], runs[1]
	if !(a.Started.Before(b.Ended) && b.Started.Before(a.Ended)) {
		t.Errorf("with 2 jobs the two trainings did not overlap: %v-%v and %v-%v", a.Started, a.Ended, b.Started, b.Ended)
	}
}
