package unlearn

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"lethe/data"
	"lethe/nn"
)

// The mask keeps floor(fraction·n) elements, all at least as salient as
// any element it drops, also when values tie at the threshold.
func TestSalUnMaskCoversTheFraction(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	v := make([]float32, 1001)
	for i := range v {
		v[i] = float32(r.IntN(40)) // many ties
	}
	for _, frac := range []float64{0, 0.1, 0.5, 0.73, 1} {
		mask, kept := topFractionMask(v, frac)
		want := int(frac * float64(len(v)))
		n, minKept, maxDropped := 0, float32(1e9), float32(-1)
		for i, m := range mask {
			switch m {
			case 1:
				n++
				minKept = min(minKept, v[i])
			case 0:
				maxDropped = max(maxDropped, v[i])
			default:
				t.Fatalf("mask value %v", m)
			}
		}
		if n != want || kept != want {
			t.Errorf("fraction %v: mask keeps %d (reported %d), want %d", frac, n, kept, want)
		}
		if n > 0 && n < len(v) && minKept < maxDropped {
			t.Errorf("fraction %v: kept %v below dropped %v", frac, minKept, maxDropped)
		}
	}
}

// hostSaliency is |Σ over batches of grad(−CE)| on the host, the model
// in evaluation mode.
func hostSaliency(t *testing.T, m *nn.Model, s data.Subset, batchSize int) []float64 {
	t.Helper()
	b := m.Backend()
	sal := make([]float64, m.NumParams())
	g := make([]float32, m.NumParams())
	var ce nn.CrossEntropy
	ld := s.EvalFeed().Batches(0, batchSize)
	var bt nn.Batch
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
		if _, err := m.Backward(c, ce.Compute(b, logits, y, -1/float32(bt.N))); err != nil {
			t.Fatal(err)
		}
		b.Download(g, m.Grads())
		for i, v := range g {
			sal[i] += float64(v)
		}
	}
	for i := range sal {
		sal[i] = math.Abs(sal[i])
	}
	return sal
}

// The method's mask keeps the stated fraction of all parameter elements,
// the most salient ones; training moves no element outside it (without
// weight decay, which acts on every element as in the reference).
func TestSalUnTrainsOnlyTheMostSalientFraction(t *testing.T) {
	f := fixture(t)
	split, _ := f.ds.Unlearning(9)
	probe, err := f.model.Clone()
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Release()
	sal := hostSaliency(t, probe, split.Df, 64)
	for _, frac := range []float64{0.5, 0.1} {
		method := mustNew(t, "salun", Params{"fraction": frac, "epochs": 2, "weight_decay": 0}).(*SalUn)
		maskBuf := f.b.Alloc(probe.NumParams())
		defer f.b.Free(maskBuf)
		kept, err := method.saliencyMask(context.Background(), probe, split.Df.EvalFeed(), maskBuf)
		if err != nil {
			t.Fatal(err)
		}
		mask := make([]float32, probe.NumParams())
		f.b.Download(mask, maskBuf)
		want := int(frac * float64(len(mask)))
		minKept, maxDropped := math.Inf(1), math.Inf(-1)
		n := 0
		for i, m := range mask {
			if m == 1 {
				n++
				minKept = math.Min(minKept, sal[i])
			} else {
				maxDropped = math.Max(maxDropped, sal[i])
			}
		}
		if n != want || kept != want {
			t.Fatalf("fraction %v: mask keeps %d (reported %d) of %d, want %d", frac, n, kept, len(mask), want)
		}
		if minKept < maxDropped*(1-1e-4)-1e-9 {
			t.Errorf("fraction %v: the mask keeps saliency %v and drops %v", frac, minKept, maxDropped)
		}
		res, err := method.Unlearn(context.Background(), f.request(9))
		if err != nil {
			t.Fatal(err)
		}
		if rec := res.Details.(*SalUnRecord); rec.Masked != want {
			t.Errorf("record: mask keeps %d, want %d", rec.Masked, want)
		}
		w0, w1 := values(f.model), values(res.Model)
		res.Model.Release()
		changed := 0
		for i := range w0 {
			if w0[i] != w1[i] {
				changed++
				if mask[i] == 0 {
					t.Fatalf("fraction %v: element %d outside the mask changed", frac, i)
				}
			}
		}
		if changed == 0 {
			t.Errorf("fraction %v: nothing changed", frac)
		}
	}
}
