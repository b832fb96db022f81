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

// syntheticOutputs makes n float32 softmax rows of a 10-class model whose
// true logit gets a Gamma(2, sharpness) bonus, labels cycling through
// the given classes.
func syntheticOutputs(rng *rand.Rand, n int, classes []int32, sharpness float64) Outputs {
	const c = 10
	o := Outputs{Classes: c, Labels: make([]int32, n), Probs: make([]float32, n*c)}
	for i := range n {
		y := classes[i%len(classes)]
		o.Labels[i] = y
		row := o.Probs[i*c : (i+1)*c]
		for k := range row {
			row[k] = float32(rng.NormFloat64())
		}
		row[y] += float32(sharpness * (rng.ExpFloat64() + rng.ExpFloat64()))
		mx := row[0]
		for _, z := range row {
			mx = max(mx, z)
		}
		var sum float32
		for k, z := range row {
			row[k] = float32(math.Exp(float64(z - mx)))
			sum += row[k]
		}
		for k := range row {
			row[k] /= sum
		}
	}
	return o
}

// BenchmarkMIAMNISTScale runs both attacks at MNIST's sizes with digit 0
// forgotten: D_r 54,000, D_f 6,000, T_r 9,000, test 10,000.
func BenchmarkMIAMNISTScale(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	retained := []int32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	dR := syntheticOutputs(rng, 54000, retained, 6)
	dF := syntheticOutputs(rng, 6000, []int32{0}, 6)
	tR := syntheticOutputs(rng, 9000, retained, 3)
	test := concatOutputs(tR, syntheticOutputs(rng, 1000, []int32{0}, 3))
	b.Run(AttackSVMConfidence, func(b *testing.B) {
		for b.Loop() {
			if _, err := SVMConfidenceMIA(dR, tR, dF, MIAOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(AttackLogRegEntropy, func(b *testing.B) {
		for b.Loop() {
			if _, err := LogRegEntropyMIA(dR, test, dF); err != nil {
				b.Fatal(err)
			}
		}
	})
}
