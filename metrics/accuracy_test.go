package metrics

import (
	"math"
	"strings"
	"testing"
)

// threeClass is 6 samples of a 3-class model: predictions 0, 1, 1, 2, 0, 2
// against labels 0, 1, 2, 2, 1, 0, so class 0 is 1/2 right, class 1 1/2,
// class 2 1/2, and 3/6 overall.
func threeClass() Outputs {
	return Outputs{
		Classes: 3,
		Labels:  []int32{0, 1, 2, 2, 1, 0},
		Probs: []float32{
			0.7, 0.2, 0.1,
			0.1, 0.8, 0.1,
			0.3, 0.6, 0.1,
			0.0, 0.1, 0.9,
			0.5, 0.25, 0.25,
			0.2, 0.3, 0.5,
		},
	}
}

func TestAccuracy(t *testing.T) {
	o := threeClass()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	acc, err := Accuracy(o)
	if err != nil || acc != 0.5 {
		t.Errorf("accuracy %v (%v), want 0.5", acc, err)
	}
	per, err := PerClassAccuracy(o)
	if err != nil {
		t.Fatal(err)
	}
	want := []ClassAccuracy{{0, 1, 2}, {1, 1, 2}, {2, 1, 2}}
	for c := range want {
		if per[c] != want[c] {
			t.Errorf("class %d: %+v, want %+v", c, per[c], want[c])
		}
	}
	accF, accR, err := ForgetRetainAccuracy(o, []int{2})
	if err != nil || accF != 0.5 || accR != 0.5 {
		t.Errorf("forget {2}: Acc_f %v Acc_r %v (%v), want 0.5, 0.5", accF, accR, err)
	}
	// Forget {1, 2}: samples 1..4 (2 of 4 right) against 0 and 5 (1 of 2).
	accF, accR, err = ForgetRetainAccuracy(o, []int{1, 2})
	if err != nil || accF != 0.5 || accR != 0.5 {
		t.Errorf("forget {1,2}: Acc_f %v Acc_r %v (%v)", accF, accR, err)
	}
	// Make the retained classes perfect: Acc_r must follow.
	o.Probs[4*3+0], o.Probs[4*3+1] = 0.25, 0.5
	o.Probs[5*3+0], o.Probs[5*3+2] = 0.5, 0.2
	accF, accR, err = ForgetRetainAccuracy(o, []int{2})
	if err != nil || accF != 0.5 || accR != 1 {
		t.Errorf("after fixing classes 0 and 1: Acc_f %v Acc_r %v (%v), want 0.5, 1", accF, accR, err)
	}
}

func TestPerClassAccuracyEmptyClassIsNaN(t *testing.T) {
	per, err := PerClassPredictionAccuracy([]int32{0, 0}, []int32{0, 1}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if per[0].Accuracy() != 1 || per[1].Accuracy() != 0 || !math.IsNaN(per[2].Accuracy()) {
		t.Errorf("accuracies %v %v %v, want 1, 0, NaN", per[0].Accuracy(), per[1].Accuracy(), per[2].Accuracy())
	}
}

func TestPredictedTiesGoToTheFirstClass(t *testing.T) {
	o := Outputs{Classes: 4, Labels: []int32{3}, Probs: []float32{0.1, 0.4, 0.4, 0.1}}
	if got := o.Predicted(0); got != 1 {
		t.Errorf("tie between classes 1 and 2 predicted %d, want 1 (torch.argmax)", got)
	}
}

func TestOutputsFeatures(t *testing.T) {
	o := Outputs{Classes: 4, Labels: []int32{2, 0}, Probs: []float32{0.25, 0.25, 0.25, 0.25, 1, 0, 0, 0}}
	if got := o.Entropy(0); math.Abs(got-math.Log(4)) > 1e-12 {
		t.Errorf("entropy of the uniform distribution %v, want ln 4", got)
	}
	if got := o.Entropy(1); got != 0 {
		t.Errorf("entropy of a one-hot row %v, want 0 (0·log 0 = 0)", got)
	}
	if got := o.Confidence(0); got != 0.25 {
		t.Errorf("confidence %v, want 0.25", got)
	}
	f, r, err := threeClass().SplitForget([]int{0})
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 2 || r.Len() != 4 || f.Labels[0] != 0 || f.Row(1)[2] != 0.5 {
		t.Errorf("split: %d forget samples, %d retained; want 2 and 4 in order", f.Len(), r.Len())
	}
}

func TestOutputsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Outputs
		want string
	}{
		{"size mismatch", Outputs{Classes: 3, Labels: []int32{0, 1}, Probs: []float32{1, 0, 0}}, "3 probabilities for 2 labels"},
		{"label out of range", Outputs{Classes: 2, Labels: []int32{0, 2}, Probs: []float32{1, 0, 0, 1}}, "sample 1: label 2"},
		{"negative label", Outputs{Classes: 2, Labels: []int32{-1}, Probs: []float32{1, 0}}, "label -1"},
		{"NaN", Outputs{Classes: 2, Labels: []int32{0}, Probs: []float32{float32(math.NaN()), 1}}, "NaN"},
		{"logits", Outputs{Classes: 2, Labels: []int32{0}, Probs: []float32{-1.5, 2}}, "logits instead of softmax"},
		{"unnormalised", Outputs{Classes: 2, Labels: []int32{0, 1}, Probs: []float32{0.5, 0.5, 0.6, 0.6}}, "sample 1: probabilities sum to 1.2"},
		{"no classes", Outputs{}, "0 classes"},
	} {
		err := tc.o.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	if _, err := Accuracy(Outputs{Classes: 3}); err == nil || !strings.Contains(err.Error(), "no samples") {
		t.Errorf("accuracy of nothing: error %v", err)
	}
	if _, _, err := ForgetRetainAccuracy(threeClass(), []int{7}); err == nil || !strings.Contains(err.Error(), "forget class 7") {
		t.Errorf("forget class 7 of 3: error %v", err)
	}
	onlyRetained := Outputs{Classes: 3, Labels: []int32{0}, Probs: []float32{1, 0, 0}}
	if _, _, err := ForgetRetainAccuracy(onlyRetained, []int{2}); err == nil || !strings.Contains(err.Error(), "no samples of the forget classes") {
		t.Errorf("no forget samples: error %v", err)
	}
}
