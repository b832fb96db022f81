package tracking

import (
	"fmt"
	"testing"
)

func benchStore(b *testing.B) (*Store, RunID) {
	b.Helper()
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	id, err := s.StartRun(RunInfo{Address: "train.bench", Kind: "train"})
	if err != nil {
		b.Fatal(err)
	}
	return s, id
}

// BenchmarkLogMetric is the cost of one point of a training curve, batch
// writes included.
func BenchmarkLogMetric(b *testing.B) {
	s, id := benchStore(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.LogMetric(id, "train/loss", int64(i), float64(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLogMetricOneTransactionEach is what a point would cost without
// batching, for comparison with BenchmarkLogMetric.
func BenchmarkLogMetricOneTransactionEach(b *testing.B) {
	s, id := benchStore(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.LogMetric(id, "train/loss", int64(i), float64(i)); err != nil {
			b.Fatal(err)
		}
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunLifecycle is the tracking overhead of one stage: start with
// parameters, one artifact, finish.
func BenchmarkRunLifecycle(b *testing.B) {
	s, _ := benchStore(b)
	params := []Param{{Name: "ratio", Value: "0.02"}, {Name: "strength", Value: "0.4"}, {Name: "arch", Value: `"resnet18"`}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id, err := s.StartRun(RunInfo{Address: fmt.Sprintf("unlearn.osp[i=%d]", i), Kind: "unlearn", CacheKey: keyA, Params: params})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.AddArtifact(id, Artifact{Path: "m", SHA256: keyB, Bytes: 1}); err != nil {
			b.Fatal(err)
		}
		if err := s.FinishRun(id, Finished, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunsList lists 1,000 runs, as `lethe runs --limit 0` would.
func BenchmarkRunsList(b *testing.B) {
	s, _ := benchStore(b)
	for i := 0; i < 999; i++ {
		if _, err := s.RecordCached(RunInfo{Address: fmt.Sprintf("eval.e[i=%d]", i), Kind: "evaluate", CacheKey: keyA}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rs, err := s.Runs(Filter{Address: "eval.*"})
		if err != nil || len(rs) != 999 {
			b.Fatal(len(rs), err)
		}
	}
}

// BenchmarkRecordCached is the tracking cost of one stage found in the cache,
// which bounds how fast a fully cached spec can be re-run.
func BenchmarkRecordCached(b *testing.B) {
	s, _ := benchStore(b)
	params := []Param{{Name: "ratio", Value: "0.02"}, {Name: "strength", Value: "0.4"}, {Name: "arch", Value: `"resnet18"`}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.RecordCached(RunInfo{Address: fmt.Sprintf("unlearn.osp[i=%d]", i), Kind: "unlearn", CacheKey: keyA, Params: params}); err != nil {
			b.Fatal(err)
		}
	}
}
