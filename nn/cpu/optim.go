package cpu

import (
	"math"

	"lethe/nn"
)

// SGDStep is torch.optim.SGD (1.13, single-tensor path) for one tensor:
// g' = g + wd·p; buf = g' on the first step, else momentum·buf +
// (1−dampening)·g'; direction = g' + momentum·buf (Nesterov), buf, or g'
// when momentum is 0 (buf is then unused and may be nil); p −= lr·direction.
func (b *Backend) SGDStep(p, g, buf nn.Buf, lr, momentum, dampening, weightDecay float32, nesterov, first bool) {
	P, G, M := Floats(p), Floats(g), Floats(buf)
	sameLen("SGDStep", P, G)
	if momentum != 0 {
		sameLen("SGDStep", P, M)
	}
	if momentum != 0 && !first && !nesterov {
		b.pool.share(len(P), elemGrain, func(lo, hi int) {
			sgdMomentum(P[lo:hi], G[lo:hi], M[lo:hi], lr, momentum, dampening, weightDecay)
		})
		return
	}
	b.pool.share(len(P), elemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d := G[i]
			if weightDecay != 0 {
				d += weightDecay * P[i]
			}
			if momentum != 0 {
				if first {
					M[i] = d
				} else {
					M[i] = momentum*M[i] + (1-dampening)*d
				}
				if nesterov {
					d += momentum * M[i]
				} else {
					d = M[i]
				}
			}
			P[i] -= lr * d
		}
	})
}

// AdamStep is torch.optim.Adam (decoupled = false: wd·p added to the
// gradient) or AdamW (decoupled = true: p *= 1 − lr·wd first), 1.13's
// single-tensor path; step counts from 1. The bias corrections are computed
// in float64 as PyTorch does in Python, the element-wise update in float32.
func (b *Backend) AdamStep(p, g, m, v nn.Buf, lr, beta1, beta2, eps, weightDecay float32, step int, decoupled bool) {
	P, G, M, V := Floats(p), Floats(g), Floats(m), Floats(v)
	sameLen("AdamStep", P, G, M, V)
	if !(step >= 1) {
		fail("AdamStep", "step = %d, counts from 1", step)
	}
	bc1 := 1 - math.Pow(float64(beta1), float64(step))
	bc2 := 1 - math.Pow(float64(beta2), float64(step))
	stepSize := float32(float64(lr) / bc1)
	bc2Sqrt := float32(math.Sqrt(bc2))
	decay := float32(1 - float64(lr)*float64(weightDecay))
	b.pool.share(len(P), elemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			gr := G[i]
			if weightDecay != 0 {
				if decoupled {
					P[i] *= decay
				} else {
					gr += weightDecay * P[i]
				}
			}
			M[i] = M[i]*beta1 + (1-beta1)*gr
			V[i] = V[i]*beta2 + (1-beta2)*gr*gr
			denom := float32(math.Sqrt(float64(V[i])))/bc2Sqrt + eps
			P[i] -= stepSize * (M[i] / denom)
		}
	})
}
