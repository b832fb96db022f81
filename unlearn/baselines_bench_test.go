package unlearn

import (
	"context"
	"sort"
	"testing"
)

// BenchmarkBaselines times every method (cheap settings) on the test
// fixture: a quarter-width SmallCNN and 100 MNIST images per class. The
// unlearning time proper is reported as unlearn-ms (Result.Seconds), the
// whole call as ns/op. For the acceptance-scale comparison of OSP and SSD
// see examples/baselines_mnist.
func BenchmarkBaselines(b *testing.B) {
	f := fixture(b)
	var names []string
	for name := range cheap {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			m, err := New(name, cheap[name])
			if err != nil {
				b.Fatal(err)
			}
			var secs float64
			for i := 0; i < b.N; i++ {
				res, err := m.Unlearn(context.Background(), f.request(0))
				if err != nil {
					b.Fatal(err)
				}
				secs += res.Seconds
				res.Model.Release()
			}
			b.ReportMetric(1000*secs/float64(b.N), "unlearn-ms")
		})
	}
}
