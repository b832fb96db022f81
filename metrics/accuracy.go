package metrics

import (
	"fmt"
	"math"
)

// ClassAccuracy counts one class's correctly predicted samples.
type ClassAccuracy struct {
	Class   int `json:"class"`
	Correct int `json:"correct"`
	Total   int `json:"total"`
}

// Accuracy is Correct/Total, NaN for a class without samples (so that a
// missing class cannot pass for 0% or 100%).
func (c ClassAccuracy) Accuracy() float64 {
	if c.Total == 0 {
		return math.NaN()
	}
	return float64(c.Correct) / float64(c.Total)
}

// Accuracy is the fraction of samples whose arg-max prediction is their
// label, in [0, 1].
func Accuracy(o Outputs) (float64, error) {
	if err := checkOutputs("accuracy", "the", o); err != nil {
		return 0, err
	}
	return PredictionAccuracy(o.Predictions(), o.Labels)
}

// PredictionAccuracy is the fraction of pred equal to labels, in [0, 1].
func PredictionAccuracy(pred, labels []int32) (float64, error) {
	if len(pred) != len(labels) {
		return 0, fmt.Errorf("accuracy: %d predictions for %d labels", len(pred), len(labels))
	}
	if len(labels) == 0 {
		return 0, fmt.Errorf("accuracy: no samples")
	}
	correct := 0
	for i := range pred {
		if pred[i] == labels[i] {
			correct++
		}
	}
	return float64(correct) / float64(len(labels)), nil
}

// PerClassAccuracy counts correct predictions for each class 0..Classes-1
// (classes without samples have Total 0).
func PerClassAccuracy(o Outputs) ([]ClassAccuracy, error) {
	if err := checkOutputs("per-class accuracy", "the", o); err != nil {
		return nil, err
	}
	return PerClassPredictionAccuracy(o.Predictions(), o.Labels, o.Classes)
}

// PerClassPredictionAccuracy is PerClassAccuracy from predictions.
func PerClassPredictionAccuracy(pred, labels []int32, classes int) ([]ClassAccuracy, error) {
	if len(pred) != len(labels) {
		return nil, fmt.Errorf("per-class accuracy: %d predictions for %d labels", len(pred), len(labels))
	}
	if classes < 1 {
		return nil, fmt.Errorf("per-class accuracy: %d classes", classes)
	}
	out := make([]ClassAccuracy, classes)
	for c := range out {
		out[c].Class = c
	}
	for i, y := range labels {
		if y < 0 || int(y) >= classes {
			return nil, fmt.Errorf("per-class accuracy: sample %d: label %d is not a class in [0, %d)", i, y, classes)
		}
		out[y].Total++
		if pred[i] == y {
			out[y].Correct++
		}
	}
	return out, nil
}

// ForgetRetainAccuracy is the paper's pair: accuracy on the samples of the
// forget classes (Acc_f) and on the others (Acc_r). On test outputs these
// are Acc on T_f and T_r; on training outputs, on D_f and D_r.
func ForgetRetainAccuracy(o Outputs, forget []int) (accF, accR float64, err error) {
	if err := checkOutputs("forget/retain accuracy", "the", o); err != nil {
		return 0, 0, err
	}
	isForget, err := forgetSet(forget, o.Classes)
	if err != nil {
		return 0, 0, fmt.Errorf("forget/retain accuracy: %w", err)
	}
	var nF, okF, nR, okR int
	for i, y := range o.Labels {
		ok := o.Predicted(i) == int(y)
		if isForget[y] {
			nF++
			if ok {
				okF++
			}
		} else {
			nR++
			if ok {
				okR++
			}
		}
	}
	if nF == 0 {
		return 0, 0, fmt.Errorf("forget/retain accuracy: no samples of the forget classes %v", forget)
	}
	if nR == 0 {
		return 0, 0, fmt.Errorf("forget/retain accuracy: no samples of the retained classes")
	}
	return float64(okF) / float64(nF), float64(okR) / float64(nR), nil
}
