package cpu

import (
	"math"

	"lethe/nn"
)

// Softmax and the cross-entropies work row by row with float64 sums and
// the max subtracted before exponentiating.

func lossChecks(op string, logits []float32, n, classes int, others ...[]float32) {
	if !(n >= 0 && classes > 0) {
		fail(op, "n = %d, classes = %d", n, classes)
	}
	if len(logits) != n*classes {
		fail(op, "logits have %d values, want %d·%d", len(logits), n, classes)
	}
	for _, o := range others {
		if !(o == nil || len(o) == n*classes || len(o) == n) {
			fail(op, "a buffer has %d values for %d rows of %d classes", len(o), n, classes)
		}
	}
}

// logSumExp returns log Σ exp(invT·z_j) and the max of invT·z.
func logSumExp(z []float32, invT float64) float64 {
	m := math.Inf(-1)
	for _, v := range z {
		if t := invT * float64(v); t > m || t != t {
			m = t
		}
	}
	if math.IsInf(m, 0) || m != m {
		// All -Inf, or an Inf/NaN logit: the sum below would be NaN or
		// meaningless; let it propagate as NaN/Inf like PyTorch.
		if m != m || math.IsInf(m, 1) {
			return math.NaN()
		}
		return m
	}
	var s float64
	for _, v := range z {
		s += math.Exp(invT*float64(v) - m)
	}
	return m + math.Log(s)
}

// Softmax: probs[i,:] = softmax(invT·logits[i,:]).
func (b *Backend) Softmax(logits, probs nn.Buf, n, classes int, invT float32) {
	L, P := Floats(logits), Floats(probs)
	lossChecks("Softmax", L, n, classes)
	if len(P) != len(L) {
		fail("Softmax", "probs have %d values, logits %d", len(P), len(L))
	}
	it := float64(invT)
	b.pool.split(n, planeGrain(classes), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			z, p := L[i*classes:(i+1)*classes], P[i*classes:(i+1)*classes]
			lse := logSumExp(z, it)
			for j, v := range z {
				p[j] = float32(math.Exp(it*float64(v) - lse))
			}
		}
	})
}

// SoftmaxCrossEntropy: probs = softmax(logits), losses[i] = −log
// probs[i,label_i], dlogits = (probs − onehot)·scale. A label outside
// [0, classes) makes that row's loss and dlogits NaN. probs, losses and
// dlogits may each be nil.
func (b *Backend) SoftmaxCrossEntropy(logits nn.Buf, labels nn.IntBuf, n, classes int, probs, losses, dlogits nn.Buf, scale float32) {
	L, Y, P, LS, D := Floats(logits), Ints(labels), Floats(probs), Floats(losses), Floats(dlogits)
	lossChecks("SoftmaxCrossEntropy", L, n, classes)
	if len(Y) != n {
		fail("SoftmaxCrossEntropy", "%d labels for %d rows", len(Y), n)
	}
	if !(P == nil || len(P) == len(L)) {
		fail("SoftmaxCrossEntropy", "probs have %d values, logits %d", len(P), len(L))
	}
	if !(LS == nil || len(LS) == n) {
		fail("SoftmaxCrossEntropy", "losses have %d values for %d rows", len(LS), n)
	}
	if !(D == nil || len(D) == len(L)) {
		fail("SoftmaxCrossEntropy", "dlogits have %d values, logits %d", len(D), len(L))
	}
	nan := float32(math.NaN())
	b.pool.split(n, planeGrain(classes), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			z := L[i*classes : (i+1)*classes]
			lse := logSumExp(z, 1)
			label := int(Y[i])
			ok := label >= 0 && label < classes
			if LS != nil {
				if ok {
					LS[i] = float32(lse - float64(z[label]))
				} else {
					LS[i] = nan
				}
			}
			for j, v := range z {
				p := float32(math.Exp(float64(v) - lse))
				if P != nil {
					P[i*classes+j] = p
				}
				if D != nil {
					switch {
					case !ok:
						D[i*classes+j] = nan
					case j == label:
						D[i*classes+j] = (p - 1) * scale
					default:
						D[i*classes+j] = p * scale
					}
				}
			}
		}
	})
}

// SoftTargetCrossEntropy: losses[i] = −Σ_j t[i,j]·log softmax(invT·z)[i,j],
// dlogits = (probs − t)·scale with probs the tempered softmax. probs,
// losses and dlogits may each be nil.
func (b *Backend) SoftTargetCrossEntropy(logits, targets nn.Buf, n, classes int, invT float32, probs, losses, dlogits nn.Buf, scale float32) {
	L, T, P, LS, D := Floats(logits), Floats(targets), Floats(probs), Floats(losses), Floats(dlogits)
	lossChecks("SoftTargetCrossEntropy", L, n, classes)
	if len(T) != len(L) {
		fail("SoftTargetCrossEntropy", "targets have %d values, logits %d", len(T), len(L))
	}
	if !(P == nil || len(P) == len(L)) {
		fail("SoftTargetCrossEntropy", "probs have %d values, logits %d", len(P), len(L))
	}
	if !(LS == nil || len(LS) == n) {
		fail("SoftTargetCrossEntropy", "losses have %d values for %d rows", len(LS), n)
	}
	if !(D == nil || len(D) == len(L)) {
		fail("SoftTargetCrossEntropy", "dlogits have %d values, logits %d", len(D), len(L))
	}
	it := float64(invT)
	b.pool.split(n, planeGrain(classes), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			z, t := L[i*classes:(i+1)*classes], T[i*classes:(i+1)*classes]
			lse := logSumExp(z, it)
			var loss float64
			for j, v := range z {
				logp := it*float64(v) - lse
				if t[j] != 0 {
					loss -= float64(t[j]) * logp
				}
				p := float32(math.Exp(logp))
				if P != nil {
					P[i*classes+j] = p
				}
				if D != nil {
					D[i*classes+j] = (p - t[j]) * scale
				}
			}
			if LS != nil {
				LS[i] = float32(loss)
			}
		}
	})
}
