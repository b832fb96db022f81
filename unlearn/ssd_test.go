package unlearn

import (
	"context"
	"math"
	"testing"

	"lethe/data"
	"lethe/nn"
)

// hostImportance recomputes SSD's importance on the host, in float64:
// the mean over batches (in the feed's order) of the squared gradient of
// each batch's mean cross-entropy, the model in evaluation mode.
func hostImportance(t *testing.T, m *nn.Model, s data.Subset, batchSize int) []float64 {
	t.Helper()
	b := m.Backend()
	imp := make([]float64, m.NumParams())
	g := make([]float32, m.NumParams())
	var ce nn.CrossEntropy
	ld := s.EvalFeed().Batches(0, batchSize)
	var bt nn.Batch
	batches := 0
	for ld.Next(&bt) {
		x, y, err := m.Input(&bt)
		if err != nil {
			t.Fatal(err)
		}
		m.ZeroGrad()
		c := &nn.Ctx{}
		logits, err := m.Forward(c, x)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Backward(c, ce.Compute(b, logits, y, 1/float32(bt.N))); err != nil {
			t.Fatal(err)
		}
		b.Download(g, m.Grads())
		for i, v := range g {
			imp[i] += float64(v) * float64(v)
		}
		batches++
	}
	for i := range imp {
		imp[i] /= float64(batches)
	}
	return imp
}

// SSD must dampen exactly the elements with I_f > α·I_D, each by
// β = min(λ·I_D/I_f, 1), and leave every other element as it was.
func TestSSDDampensExactlyTheSelectedElements(t *testing.T) {
	f := fixture(t)
	const alpha, lambda = 10.0, 0.5 // λ < 1 makes β differ from I_D/I_f
	res, err := mustNew(t, "ssd", Params{"alpha": alpha, "lambda": lambda}).Unlearn(context.Background(), f.request(0))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Model.Release()
	split, _ := f.ds.Unlearning(0)
	full, _ := split.Dr.Union(split.Df)
	probe, err := f.model.Clone()
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Release()
	impF := hostImportance(t, probe, split.Df, 64)
	impD := hostImportance(t, probe, full, 64)
	w0, w1 := values(f.model), values(res.Model)
	dampened, kept, borderline := 0, 0, 0
	for i := range w0 {
		ratio := impF[i] / (alpha * impD[i])
		switch {
		case impF[i] > 0 && math.Abs(ratio-1) < 1e-3: // float32 and float64 may disagree here
			borderline++
		case ratio > 1:
			beta := math.Min(lambda*impD[i]/impF[i], 1)
			want := float64(w0[i]) * beta
			if math.Abs(float64(w1[i])-want) > 1e-3*math.Abs(want)+1e-12 {
				t.Fatalf("element %d (I_f %.3g, I_D %.3g): %v became %v, want %v·%.4g = %v", i, impF[i], impD[i], w0[i], w1[i], w0[i], beta, want)
			}
			if beta < 1 {
				dampened++
			}
		default:
			if w1[i] != w0[i] {
				t.Fatalf("element %d (I_f %.3g ≤ α·I_D %.3g) changed from %v to %v", i, impF[i], alpha*impD[i], w0[i], w1[i])
			}
			kept++
		}
	}
	if dampened == 0 || kept == 0 {
		t.Fatalf("the test selects nothing to check: %d dampened, %d kept", dampened, kept)
	}
	rec := res.Details.(*SSDRecord)
	if d := rec.Dampened - dampened; d < 0 || d > borderline {
		t.Errorf("record says %d dampened, the host count is %d (+%d borderline)", rec.Dampened, dampened, borderline)
	}
	if rec.ForgetBatches != 2 || rec.FullBatches != 16 { // 100 and 1,000 images in batches of 64
		t.Errorf("batches %d / %d, want 2 / 16", rec.ForgetBatches, rec.FullBatches)
	}
	t.Logf("%d dampened, %d kept, %d at the threshold, of %d", dampened, kept, borderline, len(w0))
}
