package cpu

import (
	"math"
	"testing"
)

func naiveLogSoftmax(z []float32, invT float64) []float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, invT*float64(v))
	}
	var s float64
	for _, v := range z {
		s += math.Exp(invT*float64(v) - m)
	}
	out := make([]float64, len(z))
	for i, v := range z {
		out[i] = invT*float64(v) - m - math.Log(s)
	}
	return out
}

func TestLossesAgainstNaive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be *Backend) {
		rng := newRNG(41)
		for _, sh := range [][2]int{{1, 1}, {3, 10}, {5, 7}, {200, 100}} {
			n, k := sh[0], sh[1]
			z := randBuf(rng, n*k)
			for i := range z {
				z[i] *= 5 // logits with some spread, some large
			}
			labels := make(IntBuf, n)
			for i := range labels {
				labels[i] = int32(rng.IntN(k))
			}
			targets := randBuf(rng, n*k)
			for i := 0; i < n; i++ {
				var s float32
				for j := 0; j < k; j++ {
					targets[i*k+j] = float32(math.Abs(float64(targets[i*k+j])))
					s += targets[i*k+j]
				}
				for j := 0; j < k; j++ {
					targets[i*k+j] /= s
				}
			}
			const invT, scale = 0.25, 0.125
			wantP, wantT := make([]float64, n*k), make([]float64, n*k)
			wantL, wantD := make([]float64, n), make([]float64, n*k)
			wantLT, wantDT := make([]float64, n), make([]float64, n*k)
			for i := 0; i < n; i++ {
				ls := naiveLogSoftmax(z[i*k:(i+1)*k], 1)
				lt := naiveLogSoftmax(z[i*k:(i+1)*k], invT)
				wantL[i] = -ls[labels[i]]
				for j := 0; j < k; j++ {
					wantP[i*k+j] = math.Exp(ls[j])
					wantT[i*k+j] = math.Exp(lt[j])
					oh := 0.0
					if j == int(labels[i]) {
						oh = 1
					}
					wantD[i*k+j] = (math.Exp(ls[j]) - oh) * scale
					wantLT[i] -= float64(targets[i*k+j]) * lt[j]
					wantDT[i*k+j] = (math.Exp(lt[j]) - float64(targets[i*k+j])) * scale
				}
			}
			p := nanBuf(n * k)
			be.Softmax(z, p, n, k, invT)
			closeTo(t, "Softmax", p, wantT, 1e-7, 1e-5)
			p, l, d := nanBuf(n*k), nanBuf(n), nanBuf(n*k)
			be.SoftmaxCrossEntropy(z, labels, n, k, p, l, d, scale)
			closeTo(t, "SoftmaxCrossEntropy/probs", p, wantP, 1e-7, 1e-5)
			closeTo(t, "SoftmaxCrossEntropy/losses", l, wantL, 1e-6, 1e-5)
			closeTo(t, "SoftmaxCrossEntropy/dlogits", d, wantD, 1e-7, 1e-5)
			l2 := nanBuf(n)
			be.SoftmaxCrossEntropy(z, labels, n, k, nil, l2, nil, scale)
			closeTo(t, "SoftmaxCrossEntropy/eval", l2, wantL, 1e-6, 1e-5)
			p, l, d = nanBuf(n*k), nanBuf(n), nanBuf(n*k)
			be.SoftTargetCrossEntropy(z, targets, n, k, invT, p, l, d, scale)
			closeTo(t, "SoftTargetCrossEntropy/probs", p, wantT, 1e-7, 1e-5)
			closeTo(t, "SoftTargetCrossEntropy/losses", l, wantLT, 1e-6, 1e-5)
			closeTo(t, "SoftTargetCrossEntropy/dlogits", d, wantDT, 1e-7, 1e-5)
		}
	})
}

// TestCrossEntropyBadLabel: a label outside [0, classes) gives a NaN loss
// (and NaN gradients) for its row only.
func TestCrossEntropyBadLabel(t *testing.T) {
	be := Default()
	z := Buf{1, 2, 3, 1, 2, 3, 1, 2, 3}
	for _, bad := range []int32{-1, 3} {
		labels := IntBuf{0, bad, 2}
		l, d := make(Buf, 3), make(Buf, 9)
		be.SoftmaxCrossEntropy(z, labels, 3, 3, nil, l, d, 1)
		if math.IsNaN(float64(l[0])) || !math.IsNaN(float64(l[1])) || math.IsNaN(float64(l[2])) {
			t.Fatalf("label %d: losses %v, want NaN only in row 1", bad, l)
		}
		if !math.IsNaN(float64(d[3])) || math.IsNaN(float64(d[0])) {
			t.Fatalf("label %d: dlogits %v", bad, d)
		}
	}
}

// TestSoftmaxExtremeLogits: huge logits must not overflow to NaN.
func TestSoftmaxExtremeLogits(t *testing.T) {
	be := Default()
	z := Buf{1000, -1000, 0, 88, 89, 90}
	p, l := make(Buf, 6), make(Buf, 2)
	be.SoftmaxCrossEntropy(z, IntBuf{1, 2}, 2, 3, p, l, nil, 1)
	if p[0] != 1 || p[1] != 0 || l[0] != 2000 {
		t.Fatalf("probs %v losses %v", p, l)
	}
	if be.CountNonFinite(p)+be.CountNonFinite(l) != 0 {
		t.Fatalf("non-finite values: probs %v losses %v", p, l)
	}
}
