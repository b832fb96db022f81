package tracking

import "testing"

func TestLatestRunMatchesTheExactAddress(t *testing.T) {
	s := openTemp(t)
	a1 := mustStart(t, s, RunInfo{Address: "unlearn.osp[ratio=0.1]", Kind: "unlearn", CacheKey: keyA})
	mustFinish(t, s, a1, Finished, "")
	a2 := mustStart(t, s, RunInfo{Address: "unlearn.osp[ratio=0.1]", Kind: "unlearn", CacheKey: keyB})
	mustFinish(t, s, a2, Failed, "boom")
	// A longer address that a prefix or glob match would confuse with it.
	other := mustStart(t, s, RunInfo{Address: "unlearn.osp[ratio=0.15]", Kind: "unlearn", CacheKey: keyB})
	mustFinish(t, s, other, Finished, "")

	r, ok, err := s.LatestRun("unlearn.osp[ratio=0.1]")
	if err != nil || !ok || r.ID != a2 || r.Status != Failed {
		t.Fatalf("latest of any status = %+v, %v, %v; want run %d FAILED", r, ok, err, a2)
	}
	r, ok, err = s.LatestRun("unlearn.osp[ratio=0.1]", Finished, Cached)
	if err != nil || !ok || r.ID != a1 {
		t.Fatalf("latest finished = %+v, %v, %v; want run %d", r, ok, err, a1)
	}
	if _, ok, err := s.LatestRun("unlearn.osp[ratio=0.*"); err != nil || ok {
		t.Fatalf("a glob found a run (%v, %v); LatestRun must match exactly", ok, err)
	}
}

func TestProducerOfIsTheNewestFinishedRunOfTheKey(t *testing.T) {
	s := openTemp(t)
	if _, ok, err := s.ProducerOf(keyA); err != nil || ok {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	first := mustStart(t, s, RunInfo{Address: "train.a", Kind: "train", CacheKey: keyA})
	mustFinish(t, s, first, Finished, "")
	second := mustStart(t, s, RunInfo{Address: "train.b", Kind: "train", CacheKey: keyA})
	mustFinish(t, s, second, Finished, "")
	failed := mustStart(t, s, RunInfo{Address: "train.a", Kind: "train", CacheKey: keyA})
	mustFinish(t, s, failed, Failed, "x")
	if _, err := s.RecordCached(RunInfo{Address: "train.c", Kind: "train", CacheKey: keyA}); err != nil {
		t.Fatal(err)
	}
	r, ok, err := s.ProducerOf(keyA)
	if err != nil || !ok || r.ID != second {
		t.Fatalf("producer = %+v, %v, %v; want run %d", r, ok, err, second)
	}
}

func TestKeysInUseAreThoseOfEachSpecsNewestExperiment(t *testing.T) {
	s := openTemp(t)
	key := func(c byte) string {
		b := make([]byte, 64)
		for i := range b {
			b[i] = c
		}
		return string(b)
	}
	old, _ := s.BeginExperiment(ExperimentInfo{Name: "q", SpecPath: "q.hcl"})
	r := mustStart(t, s, RunInfo{Experiment: old, Address: "train.a", Kind: "train", CacheKey: key('1')})
	mustFinish(t, s, r, Finished, "")
	newer, _ := s.BeginExperiment(ExperimentInfo{Name: "q", SpecPath: "q.hcl"})
	if _, err := s.RecordCached(RunInfo{Experiment: newer, Address: "train.a", Kind: "train", CacheKey: key('2')}); err != nil {
		t.Fatal(err)
	}
	other, _ := s.BeginExperiment(ExperimentInfo{Name: "paper", SpecPath: "paper.hcl"})
	r = mustStart(t, s, RunInfo{Experiment: other, Address: "train.b", Kind: "train", CacheKey: key('3')})
	mustFinish(t, s, r, Failed, "x")
	live := mustStart(t, s, RunInfo{Experiment: old, Address: "train.c", Kind: "train", CacheKey: key('4')})
	_ = live

	keys, err := s.KeysInUse()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{key('2'): true, key('3'): true, key('4'): true}
	if len(keys) != len(want) {
		t.Fatalf("keys in use = %v, want %v", keys, want)
	}
	for k := range want {
		if !keys[k] {
			t.Errorf("key %s... missing from %v", k[:4], keys)
		}
	}
}
