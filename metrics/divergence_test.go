package metrics

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// randomDistribution draws a distribution over n classes, with some exact
// zeros when sparse is set.
func randomDistribution(rng *rand.Rand, n int, sparse bool) []float32 {
	w := make([]float64, n)
	sum := 0.0
	for k := range w {
		w[k] = rng.ExpFloat64()
		if sparse && rng.IntN(3) == 0 {
			w[k] = 0
		}
		sum += w[k]
	}
	if sum == 0 {
		w[0], sum = 1, 1
	}
	p := make([]float32, n)
	for k := range p {
		p[k] = float32(w[k] / sum)
	}
	return p
}

// entropyOf is Shannon entropy in nats, for the identity check below.
func entropyOf(p []float64) float64 {
	h := 0.0
	for _, v := range p {
		if v > 0 {
			h -= v * math.Log(v)
		}
	}
	return h
}

// TestJSProperties: symmetry, the bounds [0, ln 2], zero exactly for equal
// inputs, and agreement with the independent identity
// JS(p, q) = H((p+q)/2) − (H(p) + H(q))/2.
func TestJSProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := range 2000 {
		n := 2 + rng.IntN(20)
		p := randomDistribution(rng, n, trial%2 == 0)
		q := randomDistribution(rng, n, trial%3 == 0)
		pq, err := JSDivergence(p, q)
		if err != nil {
			t.Fatal(err)
		}
		qp, _ := JSDivergence(q, p)
		if pq != qp {
			t.Fatalf("JS(p,q) = %v, JS(q,p) = %v", pq, qp)
		}
		if pq < 0 || pq > math.Ln2 {
			t.Fatalf("JS = %v outside [0, ln 2]", pq)
		}
		pp, _ := JSDivergence(p, p)
		if pp != 0 {
			t.Fatalf("JS(p,p) = %v", pp)
		}
		p64, q64, m := make([]float64, n), make([]float64, n), make([]float64, n)
		for k := range p {
			p64[k], q64[k] = float64(p[k]), float64(q[k])
			m[k] = (p64[k] + q64[k]) / 2
		}
		// float32 rows do not sum to 1 exactly, so disjoint supports can
		// exceed ln 2 by rounding; JSDivergence clamps.
		want := min(max(entropyOf(m)-(entropyOf(p64)+entropyOf(q64))/2, 0), math.Ln2)
		if math.Abs(pq-want) > 1e-12 {
			t.Fatalf("JS %v, entropy identity gives %v", pq, want)
		}
	}
}

func TestJSKnownValues(t *testing.T) {
	// Disjoint supports: the maximum, ln 2.
	got, err := JSDivergence([]float32{1, 0, 0}, []float32{0, 0.5, 0.5})
	if err != nil || math.Abs(got-math.Ln2) > 1e-15 {
		t.Errorf("disjoint supports: %v (%v), want ln 2", got, err)
	}
	// p = (1, 0), q = (½, ½): m = (¾, ¼);
	// JS = ½·ln(4/3) + ½·(½ ln(2/3) + ½ ln 2).
	want := 0.5*math.Log(4.0/3) + 0.25*math.Log(2.0/3) + 0.25*math.Log(2)
	got, _ = JSDivergence([]float32{1, 0}, []float32{0.5, 0.5})
	if math.Abs(got-want) > 1e-15 {
		t.Errorf("JS((1,0), (½,½)) = %v, want %v", got, want)
	}
	if _, err := JSDivergence([]float32{1, 0}, []float32{1, 0, 0}); err == nil {
		t.Error("different lengths: no error")
	}
	if _, err := JSDivergence([]float32{2, -1}, []float32{1, 0}); err == nil {
		t.Error("negative probability: no error")
	}
}

// TestJSToRetrainAndZRF: only the forget-class samples count; a model that
// equals the reference scores JS 0 and ZRF 1; one-hot answers against a
// disjoint reference score JS ln 2 and ZRF 1 − ln 2.
func TestJSToRetrainAndZRF(t *testing.T) {
	labels := []int32{0, 1, 0, 1}
	model := Outputs{Classes: 2, Labels: labels, Probs: []float32{1, 0, 0, 1, 1, 0, 0, 1}}
	// Same answers on class 0, the opposite on class 1.
	other := Outputs{Classes: 2, Labels: labels, Probs: []float32{1, 0, 1, 0, 1, 0, 1, 0}}

	js0, err := JSToRetrain(model, other, []int{0})
	if err != nil || js0 != 0 {
		t.Errorf("JS on class 0, where the models agree: %v (%v), want 0", js0, err)
	}
	js1, err := JSToRetrain(model, other, []int{1})
	if err != nil || math.Abs(js1-math.Ln2) > 1e-15 {
		t.Errorf("JS on class 1, where they are disjoint: %v (%v), want ln 2", js1, err)
	}
	zrf, err := ZRF(model, other, []int{1})
	if err != nil || math.Abs(zrf-(1-math.Ln2)) > 1e-15 {
		t.Errorf("ZRF on class 1: %v (%v), want 1 − ln 2 (no 1/C factor)", zrf, err)
	}
	zrf, err = ZRF(model, model, []int{1})
	if err != nil || zrf != 1 {
		t.Errorf("ZRF of a model against itself: %v (%v), want 1", zrf, err)
	}

	shuffled := Outputs{Classes: 2, Labels: []int32{1, 0}, Probs: []float32{1, 0, 0, 1}}
	if _, err := MeanJS(Outputs{Classes: 2, Labels: []int32{0, 1}, Probs: []float32{1, 0, 0, 1}}, shuffled); err == nil ||
		!strings.Contains(err.Error(), "same samples in the same order") {
		t.Errorf("samples in different orders: error %v", err)
	}
	if _, err := ZRF(model, Outputs{Classes: 3, Labels: labels, Probs: make([]float32, 12)}, []int{0}); err == nil {
		t.Error("different class counts: no error")
	}
	if _, err := JSToRetrain(model, other, []int{5}); err == nil || !strings.Contains(err.Error(), "forget class 5") {
		t.Errorf("forget class 5 of 2: error %v", err)
	}
}
