package metrics

import (
	"fmt"
	"math"
	"slices"
)

// sumTolerance is how far a row of probabilities may sum from 1. Softmax
// in float32 over a few hundred classes is off by ~1e-6; logits or
// unnormalised scores passed by mistake are off by far more.
const sumTolerance = 1e-3

// Outputs are a model's softmax outputs on a set of samples together with
// the samples' true labels: what every metric here starts from.
type Outputs struct {
	Probs   []float32 // len(Labels) rows of Classes probabilities, row-major
	Labels  []int32   // true labels, each in [0, Classes)
	Classes int
}

// NewOutputs wraps probabilities and labels after checking them (see
// Outputs.Validate).
func NewOutputs(probs []float32, labels []int32, classes int) (Outputs, error) {
	o := Outputs{Probs: probs, Labels: labels, Classes: classes}
	return o, o.Validate()
}

// Validate checks that o holds one row of Classes probabilities per label,
// each finite and in [0, 1] and summing to 1 within 1e-3, and that every
// label is a class. Errors name the first sample at fault.
func (o Outputs) Validate() error {
	if o.Classes < 1 {
		return fmt.Errorf("%d classes; need at least 1", o.Classes)
	}
	if len(o.Probs) != len(o.Labels)*o.Classes {
		return fmt.Errorf("%d probabilities for %d labels of %d classes; want %d", len(o.Probs), len(o.Labels), o.Classes, len(o.Labels)*o.Classes)
	}
	for i, y := range o.Labels {
		if y < 0 || int(y) >= o.Classes {
			return fmt.Errorf("sample %d: label %d is not a class in [0, %d)", i, y, o.Classes)
		}
		sum := 0.0
		for k, p := range o.Row(i) {
			if !(p >= 0 && p <= 1) { // also catches NaN
				return fmt.Errorf("sample %d: probability of class %d is %v, not in [0, 1] (logits instead of softmax?)", i, k, p)
			}
			sum += float64(p)
		}
		if math.Abs(sum-1) > sumTolerance {
			return fmt.Errorf("sample %d: probabilities sum to %.6g, not 1 (logits instead of softmax?)", i, sum)
		}
	}
	return nil
}

// Len is the number of samples.
func (o Outputs) Len() int { return len(o.Labels) }

// Row is sample i's probabilities (a view, not a copy).
func (o Outputs) Row(i int) []float32 { return o.Probs[i*o.Classes : (i+1)*o.Classes] }

// Predicted is sample i's predicted class: the arg-max of its row, the
// first one on ties (as torch.argmax).
func (o Outputs) Predicted(i int) int {
	row := o.Row(i)
	best := 0
	for k, p := range row {
		if p > row[best] {
			best = k
		}
	}
	return best
}

// Predictions is Predicted for every sample.
func (o Outputs) Predictions() []int32 {
	out := make([]int32, o.Len())
	for i := range out {
		out[i] = int32(o.Predicted(i))
	}
	return out
}

// Confidence is the probability sample i's row gives its true label: the
// svm-confidence MIA's feature.
func (o Outputs) Confidence(i int) float64 { return float64(o.Row(i)[o.Labels[i]]) }

// Entropy is the Shannon entropy (natural log) of sample i's row, with
// 0·log 0 = 0: the logreg-entropy MIA's feature.
func (o Outputs) Entropy(i int) float64 {
	h := 0.0
	for _, p := range o.Row(i) {
		if p > 0 {
			pf := float64(p)
			h -= pf * math.Log(pf)
		}
	}
	return h
}

// Select returns the samples whose label satisfies keep, in order (the
// probabilities are copied).
func (o Outputs) Select(keep func(label int32) bool) Outputs {
	sel := Outputs{Classes: o.Classes}
	for i, y := range o.Labels {
		if keep(y) {
			sel.Labels = append(sel.Labels, y)
			sel.Probs = append(sel.Probs, o.Row(i)...)
		}
	}
	return sel
}

// SplitForget splits o into the samples of the forget classes and the rest
// (T_f and T_r for test outputs, D_f and D_r for training outputs).
func (o Outputs) SplitForget(forget []int) (forgotten, retained Outputs, err error) {
	isForget, err := forgetSet(forget, o.Classes)
	if err != nil {
		return Outputs{}, Outputs{}, err
	}
	forgotten = o.Select(func(y int32) bool { return isForget[y] })
	retained = o.Select(func(y int32) bool { return !isForget[y] })
	return forgotten, retained, nil
}

// forgetSet checks a list of forget classes against the class count and
// returns it as a membership table.
func forgetSet(forget []int, classes int) ([]bool, error) {
	if len(forget) == 0 {
		return nil, fmt.Errorf("no forget classes given")
	}
	is := make([]bool, classes)
	for _, c := range forget {
		if c < 0 || c >= classes {
			return nil, fmt.Errorf("forget class %d is not a class of this %d-class data set", c, classes)
		}
		is[c] = true
	}
	if !slices.Contains(is, false) {
		return nil, fmt.Errorf("forget classes %v cover all %d classes; nothing is retained", forget, classes)
	}
	return is, nil
}

// checkOutputs validates o for a metric, naming the metric and the role of
// the set in errors, and refuses an empty set.
func checkOutputs(metric, role string, o Outputs) error {
	if err := o.Validate(); err != nil {
		return fmt.Errorf("%s: %s outputs: %w", metric, role, err)
	}
	if o.Len() == 0 {
		return fmt.Errorf("%s: %s outputs hold no samples", metric, role)
	}
	return nil
}
