package cpu

import (
	"fmt"
	"math"
	"testing"
)

// TestOptimisersAgainstNaive runs three steps of each optimiser setting
// against float64 loops written from the PyTorch documentation.
func TestOptimisersAgainstNaive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be *Backend) {
		rng := newRNG(51)
		n := 2*elemGrain + 3
		p0 := randBuf(rng, n)
		grads := []Buf{randBuf(rng, n), randBuf(rng, n), randBuf(rng, n)}
		for _, c := range []struct {
			mom, damp, wd float32
			nesterov      bool
		}{{0, 0, 0, false}, {0.9, 0, 5e-4, false}, {0.9, 0, 5e-4, true}, {0.5, 0.3, 0.01, false}, {0, 0, 0.01, false}} {
			name := fmt.Sprintf("SGD/mom=%v/damp=%v/wd=%v/nesterov=%v", c.mom, c.damp, c.wd, c.nesterov)
			p, buf := clone(p0), make(Buf, n)
			wp, wb := f64(p0), make([]float64, n)
			const lr = 0.1
			for step := 0; step < 3; step++ {
				g := grads[step]
				var bufArg Buf
				if c.mom != 0 {
					bufArg = buf
				}
				be.SGDStep(p, g, bufArg, lr, c.mom, c.damp, c.wd, c.nesterov, step == 0)
				for i := range wp {
					d := float64(g[i]) + float64(c.wd)*wp[i]
					if c.mom != 0 {
						if step == 0 {
							wb[i] = d
						} else {
							wb[i] = float64(c.mom)*wb[i] + (1-float64(c.damp))*d
						}
						if c.nesterov {
							d += float64(c.mom) * wb[i]
						} else {
							d = wb[i]
						}
					}
					wp[i] -= lr * d
				}
			}
			closeTo(t, name, p, wp, 1e-6, 1e-5)
		}
		for _, decoupled := range []bool{false, true} {
			name := fmt.Sprintf("Adam/decoupled=%v", decoupled)
			p, m, v := clone(p0), make(Buf, n), make(Buf, n)
			wp, wm, wv := f64(p0), make([]float64, n), make([]float64, n)
			const lr, b1, b2, eps, wd = 1e-2, 0.9, 0.999, 1e-8, 0.1
			for step := 1; step <= 3; step++ {
				g := grads[step-1]
				be.AdamStep(p, g, m, v, lr, b1, b2, eps, wd, step, decoupled)
				for i := range wp {
					gr := float64(g[i])
					if decoupled {
						wp[i] *= 1 - lr*wd
					} else {
						gr += wd * wp[i]
					}
					wm[i] = b1*wm[i] + (1-b1)*gr
					wv[i] = b2*wv[i] + (1-b2)*gr*gr
					mh := wm[i] / (1 - math.Pow(b1, float64(step)))
					vh := wv[i] / (1 - math.Pow(b2, float64(step)))
					wp[i] -= lr * mh / (math.Sqrt(vh) + eps)
				}
			}
			closeTo(t, name, p, wp, 1e-6, 1e-5)
		}
	})
}
