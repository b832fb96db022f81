package runner

import (
	"context"
	"errors"
	"testing"

	"lethe/stages"
)

// failing is a stage that fails whatever it is given, with the material of
// the stage it stands in for (so that its key is the planned one).
type failing struct{ stages.Stage }

func (failing) Run(context.Context, *stages.Env) error { return errors.New("boom\nsecond line") }

// Recorded finds what a run of the spec reuses: complete results by their
// planned keys, a result made without a failed optional input by the key
// the run gave it, and for a stage without a result, why.
func TestRecordedFindsCompleteAndPartialResults(t *testing.T) {
	exp := load(t, tinySpec("[0.05]", `
unlearn "retrain" {
  model  = train.net
  method = "retrain"
  forget = [3]
}

evaluate "withref" {
  models  = unlearn.osp
  retrain = unlearn.retrain
  metrics = ["acc_forget", "js_retrain"]
}
`))
	s := newSession(t)
	plan := s.plan(exp, PlanOptions{})
	const retrain = "unlearn.retrain[seed=0]"
	for _, st := range plan.Steps {
		if st.Stage.Address == retrain {
			st.Task = failing{st.Task}
		}
	}
	if _, err := Run(context.Background(), plan, s.store, s.cache, Options{KeepGoing: true, Out: testWriter{t}}); err != nil {
		t.Fatal(err)
	}

	fresh := s.plan(exp, PlanOptions{})
	recs, err := fresh.Recorded(s.store)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(fresh.Steps) {
		t.Fatalf("%d records for %d steps", len(recs), len(fresh.Steps))
	}
	r := recs[retrain]
	if r.OK || r.Why != "failed: boom" || r.Root != retrain {
		t.Errorf("retrain: %+v", r)
	}
	const withref = "evaluate.withref[ratio=0.05,seed=0]"
	w, ok := recs[withref]
	if !ok {
		var all []string
		for a := range recs {
			all = append(all, a)
		}
		t.Fatalf("no record of %s in %v", withref, all)
	}
	if !w.OK || len(w.Without) != 1 || w.Without[0] != retrain || w.Key == w.Step.Key {
		t.Errorf("an evaluation made without its failed retrain: %+v", w)
	}
	if got, ok, _ := s.store.ProducerOf(w.Key); !ok || got.ID != w.Run.ID {
		t.Errorf("the partial result's run: %+v, want %+v", got, w.Run)
	}
	for addr, r := range recs {
		if addr == retrain || addr == withref {
			continue
		}
		if !r.OK || r.Key != r.Step.Key || len(r.Without) != 0 {
			t.Errorf("%s: %+v, want its complete result", addr, r)
		}
		if r.OK && r.Run.Status != "FINISHED" {
			t.Errorf("%s: result of a %s run", addr, r.Run.Status)
		}
	}

	// A new sweep value has not run; what depends on it waits for it.
	recs, err = s.plan(load(t, tinySpec("[0.05, 0.2]", "")), PlanOptions{}).Recorded(s.store)
	if err != nil {
		t.Fatal(err)
	}
	if r := recs["unlearn.osp[ratio=0.2,seed=0]"]; r.OK || r.Why != "has not run yet" {
		t.Errorf("new ratio: %+v", r)
	}
	if r := recs["evaluate.all[models=osp,ratio=0.2,seed=0]"]; r.OK || r.Root != "unlearn.osp[ratio=0.2,seed=0]" ||
		r.Why != "waits for unlearn.osp[ratio=0.2,seed=0], which has not run yet" {
		t.Errorf("its evaluation: %+v", r)
	}
	if r := recs["report.table"]; r.OK || r.Why != "is out of date: its last run was of an earlier version of the spec" {
		t.Errorf("the report, whose inputs changed: %+v", r)
	}
}
