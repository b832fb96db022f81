package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// syntheticConfidences imitates the MIA's feature: the float32 softmax
// probability of the true label among `classes` logits, where the true
// logit gets a Gamma(2, sharpness) bonus. A sharper model (members) gives
// more values near or exactly at 1.
func syntheticConfidences(rng *rand.Rand, n, classes int, sharpness float64) []float64 {
	out := make([]float64, n)
	logits := make([]float32, classes)
	for i := range out {
		for k := range logits {
			logits[k] = float32(rng.NormFloat64())
		}
		logits[0] += float32(sharpness * (rng.ExpFloat64() + rng.ExpFloat64()))
		mx := logits[0]
		for _, z := range logits {
			mx = max(mx, z)
		}
		var sum float32
		for k, z := range logits {
			logits[k] = float32(math.Exp(float64(z - mx)))
			sum += logits[k]
		}
		out[i] = float64(logits[0] / sum)
	}
	return out
}

// miaProblem is the largest problem the MIA gives the SVM: 5,000 members
// and 5,000 non-members with one feature.
func miaProblem(perSide int) ([][]float64, []int) {
	rng := rand.New(rand.NewPCG(1, 2))
	in := syntheticConfidences(rng, perSide, 10, 6)
	out := syntheticConfidences(rng, perSide, 10, 3)
	x := make([][]float64, 0, 2*perSide)
	y := make([]int, 0, 2*perSide)
	for _, v := range in {
		x = append(x, []float64{v})
		y = append(y, 1)
	}
	for _, v := range out {
		x = append(x, []float64{v})
		y = append(y, 0)
	}
	return x, y
}

func benchmarkFitSVC(b *testing.B, shrinking bool) {
	x, y := miaProblem(5000)
	p := DefaultSVCParams()
	p.C = 3
	p.Shrinking = shrinking
	b.ResetTimer()
	for b.Loop() {
		m, err := FitSVC(x, y, p)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(m.Iterations), "iters")
		b.ReportMetric(float64(len(m.Support)), "SVs")
	}
}

// BenchmarkFitSVC10k: the MIA's worst case, 10,000 one-feature points.
func BenchmarkFitSVC10k(b *testing.B)            { benchmarkFitSVC(b, true) }
func BenchmarkFitSVC10kNoShrinking(b *testing.B) { benchmarkFitSVC(b, false) }

// BenchmarkPredictSVC10k predicts 6,000 forget samples (an MNIST class)
// with the model fitted on 10,000 points.
func BenchmarkPredictSVC10k(b *testing.B) {
	x, y := miaProblem(5000)
	p := DefaultSVCParams()
	p.C = 3
	m, err := FitSVC(x, y, p)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	q := make([][]float64, 6000)
	for i, v := range syntheticConfidences(rng, len(q), 10, 5) {
		q[i] = []float64{v}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Predict(q); err != nil {
			b.Fatal(err)
		}
	}
}
