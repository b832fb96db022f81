package unlearn

import (
	"context"
	"strings"
	"testing"
)

// NegGrad ascends the forget loss: after it, the cross-entropy on D_f is
// higher than before (plain and plus), and the plus variant keeps the
// retained loss far lower than the forget loss.
func TestNegGradRaisesTheForgetLoss(t *testing.T) {
	f := fixture(t)
	split, _ := f.ds.Unlearning(5)
	lossF0, _ := evalLoss(t, f.model, split.Df)
	for _, p := range []Params{{"epochs": 3}, {"epochs": 1, "variant": "plus", "alpha": 0.5}} {
		res, err := mustNew(t, "neggrad", p).Unlearn(context.Background(), f.request(5))
		if err != nil {
			t.Fatal(err)
		}
		lossF, _ := evalLoss(t, res.Model, split.Df)
		lossR, _ := evalLoss(t, res.Model, split.Dr)
		res.Model.Release()
		if !(lossF > lossF0+0.5) {
			t.Errorf("%v: forget loss %.3f → %.3f; gradient ascent should raise it", p, lossF0, lossF)
		}
		if p["variant"] == "plus" && !(lossR < lossF) {
			t.Errorf("%v: retained loss %.3f not below forget loss %.3f", p, lossR, lossF)
		}
		t.Logf("%v: forget loss %.3f → %.3f, retained %.3f", p, lossF0, lossF, lossR)
	}
}

// Ascent that runs away stops with the last finite parameters and says
// so, instead of failing or returning a broken model.
func TestNegGradStopsWhenTheLossDiverges(t *testing.T) {
	f := fixture(t)
	res, err := mustNew(t, "neggrad", Params{"epochs": 50, "lr": 5}).Unlearn(context.Background(), f.request(5))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Model.Release()
	rec := res.Details.(*TrainingRecord)
	if !strings.Contains(rec.Stopped, "diverged") || len(rec.Epochs) >= 50 {
		t.Fatalf("stopped %q after %d epochs", rec.Stopped, len(rec.Epochs))
	}
	if n := f.b.CountNonFinite(res.Model.Values()); n > 0 {
		t.Errorf("the returned model holds %d non-finite parameters", n)
	}
	t.Log(rec.Stopped)
}
