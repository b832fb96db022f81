package metrics

import (
	"fmt"
	"math"
)

// JSDivergence is the Jensen-Shannon divergence of two distributions over
// the same classes, in nats:
//
//	JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m),  m = (p + q)/2,
//
// with 0·log(0/m) = 0, so zero probabilities are allowed (where p_k > 0,
// m_k ≥ p_k/2 > 0 and every term is finite). The result lies in [0, ln 2];
// rounding outside it is clamped.
func JSDivergence(p, q []float32) (float64, error) {
	if len(p) != len(q) {
		return 0, fmt.Errorf("JS divergence: distributions of %d and %d classes", len(p), len(q))
	}
	for k := range p {
		if !(p[k] >= 0 && p[k] <= 1) || !(q[k] >= 0 && q[k] <= 1) {
			return 0, fmt.Errorf("JS divergence: class %d has probabilities %v and %v, not both in [0, 1]", k, p[k], q[k])
		}
	}
	return js(p, q), nil
}

// js computes JSDivergence on rows already checked.
func js(p, q []float32) float64 {
	d := 0.0
	for k := range p {
		pk, qk := float64(p[k]), float64(q[k])
		m := (pk + qk) / 2
		var a, b float64
		if pk > 0 {
			a = pk * math.Log(pk/m)
		}
		if qk > 0 {
			b = qk * math.Log(qk/m)
		}
		d += a + b // one sum per class keeps JS(p, q) == JS(q, p) exactly
	}
	return min(max(d/2, 0), math.Ln2)
}

// MeanJS is the mean over samples of JSDivergence between two models'
// outputs on the same samples (same order, same labels).
func MeanJS(a, b Outputs) (float64, error) {
	if err := checkOutputs("mean JS divergence", "first model's", a); err != nil {
		return 0, err
	}
	if err := checkOutputs("mean JS divergence", "second model's", b); err != nil {
		return 0, err
	}
	if a.Classes != b.Classes || a.Len() != b.Len() {
		return 0, fmt.Errorf("mean JS divergence: outputs of %d samples x %d classes against %d x %d; both models must see the same samples",
			a.Len(), a.Classes, b.Len(), b.Classes)
	}
	sum := 0.0
	for i := range a.Len() {
		if a.Labels[i] != b.Labels[i] {
			return 0, fmt.Errorf("mean JS divergence: sample %d has label %d in one set and %d in the other; both models must see the same samples in the same order",
				i, a.Labels[i], b.Labels[i])
		}
		sum += js(a.Row(i), b.Row(i))
	}
	return sum / float64(a.Len()), nil
}

// JSToRetrain is the mean JS divergence between the unlearned and the
// retrained model's outputs on the samples of the forget classes (T_f when
// given test outputs): METHODS.md's "JS to retrain", 0 when the unlearned
// model behaves on T_f as if it had never seen D_f. Both sets must be the
// same samples in the same order; samples of other classes are skipped.
func JSToRetrain(unlearned, retrained Outputs, forget []int) (float64, error) {
	a, b, err := forgetRowsOfBoth("JS to retrain", unlearned, retrained, forget)
	if err != nil {
		return 0, err
	}
	return MeanJS(a, b)
}

// ZRF is the zero-retrain forgetting score of Chundawat et al.:
// 1 − mean JS(model, randomly initialised model) over the forget-class
// samples (T_f when given test outputs). It lies in [1 − ln 2, 1]; 1 means
// the model answers on T_f like an untrained network.
//
// The reference code (bad-teaching / SSD metrics.py) divides by the class
// count too (F.kl_div's mean reduction) and computes KL(m ‖ p) rather than
// KL(p ‖ m); as METHODS.md asks, neither is copied.
func ZRF(model, random Outputs, forget []int) (float64, error) {
	a, b, err := forgetRowsOfBoth("ZRF", model, random, forget)
	if err != nil {
		return 0, err
	}
	mean, err := MeanJS(a, b)
	if err != nil {
		return 0, err
	}
	return 1 - mean, nil
}

func forgetRowsOfBoth(metric string, a, b Outputs, forget []int) (Outputs, Outputs, error) {
	if err := a.Validate(); err != nil {
		return Outputs{}, Outputs{}, fmt.Errorf("%s: first model's outputs: %w", metric, err)
	}
	if err := b.Validate(); err != nil {
		return Outputs{}, Outputs{}, fmt.Errorf("%s: second model's outputs: %w", metric, err)
	}
	if a.Classes != b.Classes {
		return Outputs{}, Outputs{}, fmt.Errorf("%s: the models have %d and %d classes", metric, a.Classes, b.Classes)
	}
	fa, _, err := a.SplitForget(forget)
	if err != nil {
		return Outputs{}, Outputs{}, fmt.Errorf("%s: %w", metric, err)
	}
	fb, _, _ := b.SplitForget(forget)
	if fa.Len() == 0 || fb.Len() == 0 {
		return Outputs{}, Outputs{}, fmt.Errorf("%s: no samples of the forget classes %v", metric, forget)
	}
	return fa, fb, nil
}
