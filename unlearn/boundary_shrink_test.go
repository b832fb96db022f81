package unlearn

import (
	"context"
	"math"
	"testing"

	"lethe/nn"
)

// One FGSM step in pixel space: every pixel moves by ε in the direction
// of its gradient's sign (not at all where it is zero), then is clamped to
// [0, 1]; the result is normalised back with the channel's statistics.
func TestFGSMStepInPixelSpace(t *testing.T) {
	mean, std := []float64{0.5, 0.25}, []float64{0.2, 0.4}
	// Two channels of three pixels; pixel values p, normalised (p-m)/s.
	pix := []float64{0.0, 0.5, 0.97, 1.0, 0.3, 0.05}
	grad := []float32{-1, 2, 3, 1, 0, -0.5}
	want := []float64{0.0, 0.6, 1.0, 1.0, 0.3, 0.0}
	x := make([]float32, len(pix))
	for i, p := range pix {
		ch := i / 3
		x[i] = float32((p - mean[ch]) / std[ch])
	}
	dst := make([]float32, len(x))
	fgsm(dst, x, grad, 2, 3, mean, std, 0.1)
	for i := range dst {
		ch := i / 3
		got := float64(dst[i])*std[ch] + mean[ch]
		if math.Abs(got-want[i]) > 1e-6 {
			t.Errorf("pixel %d: %v with gradient %v became %v, want %v", i, pix[i], grad[i], got, want[i])
		}
	}
}

// The neighbours f0 labels are FGSM images: within ε of the originals in
// pixel space, inside [0, 1], with a higher loss under f0; the labels are
// f0's predictions on them, and many differ from the true class.
func TestBoundaryShrinkNeighbours(t *testing.T) {
	f := fixture(t)
	split, _ := f.ds.Unlearning(0)
	f0, err := f.model.Clone()
	if err != nil {
		t.Fatal(err)
	}
	const eps = 0.3
	nb := &neighbourFinder{f0: f0, eps: eps, mean: f.ds.Mean, std: f.ds.Std}
	defer nb.release()
	var bt nn.Batch
	ld := split.Df.EvalFeed().Batches(0, 20)
	if !ld.Next(&bt) {
		t.Fatal("no batch")
	}
	adv, err := nb.adversarial(&bt)
	if err != nil {
		t.Fatal(err)
	}
	m, s := f.ds.Mean[0], f.ds.Std[0]
	for i, v := range adv.X[:bt.N*784] {
		p, p0 := float64(v)*s+m, float64(bt.X[i])*s+m
		if p < -1e-6 || p > 1+1e-6 || math.Abs(p-p0) > eps+1e-5 {
			t.Fatalf("pixel %d: %v became %v (ε %v)", i, p0, p, eps)
		}
	}
	lossOf := func(b *nn.Batch) float64 {
		var ce nn.CrossEntropy
		defer ce.Release(f.b)
		x, y, err := f.model.Input(b)
		if err != nil {
			t.Fatal(err)
		}
		logits, err := f.model.Forward(&nn.Ctx{}, x)
		if err != nil {
			t.Fatal(err)
		}
		ce.Compute(f.b, logits, y, 0)
		return ce.Mean(f.b)
	}
	advCopy := &nn.Batch{N: adv.N, C: adv.C, H: adv.H, W: adv.W, X: append([]float32(nil), adv.X...), Y: append([]int32(nil), adv.Y...)}
	if clean, attacked := lossOf(&bt), lossOf(advCopy); !(attacked > clean) {
		t.Errorf("FGSM did not raise the loss: %v → %v", clean, attacked)
	}
	labels, err := nb.labels(&bt)
	if err != nil {
		t.Fatal(err)
	}
	// f0's own predictions on the adversarial images.
	x, _, _ := f.model.Input(advCopy)
	logits, err := f.model.Forward(&nn.Ctx{}, x)
	if err != nil {
		t.Fatal(err)
	}
	host := nn.ToHost(f.b, logits)
	crossed := 0
	for i, y := range labels {
		if want := int32(nn.Argmax(host[i*10 : (i+1)*10])); y != want {
			t.Fatalf("sample %d: neighbour label %d, f0 predicts %d", i, y, want)
		}
		if y != bt.Y[i] {
			crossed++
		}
	}
	t.Logf("%d of %d neighbours cross the boundary", crossed, bt.N)
	closeLoader(ld)
}

// Training on the neighbours' labels moves D_f away from its true class.
func TestBoundaryShrinkTrainsOnNeighbourLabels(t *testing.T) {
	f := fixture(t)
	split, _ := f.ds.Unlearning(0)
	before, _ := evalLoss(t, f.model, split.Df)
	res, err := mustNew(t, "boundary_shrink", Params{"epochs": 2, "epsilon": 0.3, "lr": 1e-3}).Unlearn(context.Background(), f.request(0))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Model.Release()
	if after, _ := evalLoss(t, res.Model, split.Df); !(after > before) {
		t.Errorf("forget loss %v → %v: training on neighbour labels should raise it", before, after)
	}
	rec := res.Details.(*BoundaryShrinkRecord)
	if len(rec.Epochs) != 2 || len(rec.CrossedFraction) != 2 {
		t.Fatalf("record %+v", rec)
	}
	total := 0
	for _, n := range rec.NeighbourCounts {
		total += n
	}
	if total != 100 || !(rec.CrossedFraction[0] > 0) {
		t.Errorf("neighbour labels %v over 100 forget images; crossed %v", rec.NeighbourCounts, rec.CrossedFraction)
	}
}
