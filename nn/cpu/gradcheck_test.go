package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"lethe/nn"
)

// Finite-difference checks: for a loss L = Σ r⊙f(θ) with fixed random r,
// the analytic gradient from the backward op must match the central
// difference (L(θ+h) − L(θ−h)) / 2h, L summed in float64. The forward
// runs in float32, so h is large enough that rounding stays below the
// tolerance, and inputs are kept away from kinks (ReLU at 0, ties in max
// pooling) by more than h.

const fdH = 1e-2

// gradCheck compares analytic[i] with the central difference of loss over
// param[i] for a sample of indices. Tolerance: |a − n| ≤ atol + rtol·|n|.
func gradCheck(t *testing.T, name string, rng *rand.Rand, param []float32, analytic []float32, loss func() float64, h, atol, rtol float64) {
	t.Helper()
	idx := rng.Perm(len(param))
	if len(idx) > 40 {
		idx = idx[:40]
	}
	for _, i := range idx {
		old := param[i]
		param[i] = old + float32(h)
		up := loss()
		param[i] = old - float32(h)
		down := loss()
		param[i] = old
		// The step actually taken in float32 may differ from h.
		num := (up - down) / (float64(old+float32(h)) - float64(old-float32(h)))
		if a := float64(analytic[i]); !(math.Abs(a-num) <= atol+rtol*math.Abs(num)) {
			t.Errorf("%s: d/dθ[%d] analytic %.6g, finite difference %.6g", name, i, a, num)
		}
	}
}

func weighted(r, y []float32) float64 {
	var s float64
	for i := range y {
		s += float64(r[i]) * float64(y[i])
	}
	return s
}

func TestConvGradients(t *testing.T) {
	be := Default()
	rng := newRNG(61)
	for _, gv := range convGeoms {
		g := geomOf(t, gv)
		name := geomName(g)
		x, w := randBuf(rng, g.N*g.C*g.H*g.W), randBuf(rng, g.K*g.C*g.R*g.S)
		r, y := randBuf(rng, g.N*g.K*g.P*g.Q), make(Buf, g.N*g.K*g.P*g.Q)
		loss := func() float64 { be.ConvForward(g, x, w, y); return weighted(r, y) }
		dx, dw := make(Buf, len(x)), make(Buf, len(w))
		be.ConvBackwardData(g, w, r, dx)
		be.ConvBackwardFilter(g, x, r, dw)
		// Convolution is linear: the difference is exact up to rounding.
		gradCheck(t, name+"/dx", rng, x, dx, loss, fdH, 2e-3, 2e-3)
		gradCheck(t, name+"/dw", rng, w, dw, loss, fdH, 2e-3, 2e-3)
	}
}

func TestBatchNormGradients(t *testing.T) {
	be := Default()
	rng := newRNG(62)
	for _, sh := range [][3]int{{4, 3, 5}, {2, 2, 1}, {3, 1, 16}} {
		n, c, hw := sh[0], sh[1], sh[2]
		name := fmt.Sprintf("%dx%dx%d", n, c, hw)
		x, gamma, beta := randBuf(rng, n*c*hw), randBuf(rng, c), randBuf(rng, c)
		r, y := randBuf(rng, n*c*hw), make(Buf, n*c*hw)
		rm, rv, sm, si := make(Buf, c), make(Buf, c), make(Buf, c), make(Buf, c)
		train := func() float64 {
			be.BatchNormTrain(n, c, hw, x, gamma, beta, y, rm, rv, sm, si, 0.1, 1e-5)
			return weighted(r, y)
		}
		train()
		dx, dg, db := make(Buf, len(x)), make(Buf, c), make(Buf, c)
		be.BatchNormBackward(n, c, hw, x, r, gamma, sm, si, dx, dg, db)
		gradCheck(t, name+"/train/dx", rng, x, dx, train, 1e-2, 2e-3, 2e-2)
		gradCheck(t, name+"/train/dgamma", rng, gamma, dg, train, 1e-2, 2e-3, 2e-3)
		gradCheck(t, name+"/train/dbeta", rng, beta, db, train, 1e-2, 2e-3, 2e-3)

		rme, rve := randBuf(rng, c), randBuf(rng, c)
		for i := range rve {
			rve[i] = rve[i]*rve[i] + 0.3
		}
		eval := func() float64 {
			be.BatchNormEval(n, c, hw, x, gamma, beta, rme, rve, y, 1e-5)
			return weighted(r, y)
		}
		dx, dg, db = make(Buf, len(x)), make(Buf, c), make(Buf, c)
		be.BatchNormEvalBackward(n, c, hw, x, r, gamma, rme, rve, dx, dg, db, 1e-5)
		gradCheck(t, name+"/eval/dx", rng, x, dx, eval, fdH, 2e-3, 2e-3)
		gradCheck(t, name+"/eval/dgamma", rng, gamma, dg, eval, fdH, 2e-3, 2e-3)
		gradCheck(t, name+"/eval/dbeta", rng, beta, db, eval, fdH, 2e-3, 2e-3)
	}
}

func TestPoolGradients(t *testing.T) {
	be := Default()
	rng := newRNG(63)
	for _, gv := range poolGeoms {
		g, _ := nn.NewPoolGeom(gv[0], gv[1], gv[2], gv[3], gv[4], gv[5], gv[6], gv[7])
		name := poolName(g)
		// Distinct values at least 0.05 apart: no tie moves under ±h.
		x := make(Buf, g.N*g.C*g.H*g.W)
		for i, p := range rng.Perm(len(x)) {
			x[i] = float32(p)*0.05 - float32(len(x))*0.025
		}
		r, y := randBuf(rng, g.N*g.C*g.P*g.Q), make(Buf, g.N*g.C*g.P*g.Q)
		am := make(IntBuf, len(y))
		maxLoss := func() float64 { be.MaxPoolForward(g, x, y, am); return weighted(r, y) }
		maxLoss()
		dx := make(Buf, len(x))
		be.MaxPoolBackward(g, r, am, dx)
		gradCheck(t, name+"/max", rng, x, dx, maxLoss, 1e-2, 1e-3, 1e-3)
		avgLoss := func() float64 { be.AvgPoolForward(g, x, y); return weighted(r, y) }
		be.AvgPoolBackward(g, r, dx)
		gradCheck(t, name+"/avg", rng, x, dx, avgLoss, 1e-2, 1e-3, 1e-3)
	}
}

func TestReLUGradient(t *testing.T) {
	be := Default()
	rng := newRNG(64)
	x := randBuf(rng, 500)
	for i := range x {
		if math.Abs(float64(x[i])) < 0.05 {
			x[i] += 0.1 // away from the kink
		}
	}
	r, y := randBuf(rng, len(x)), make(Buf, len(x))
	loss := func() float64 { be.ReLUForward(x, y); return weighted(r, y) }
	loss()
	dx := make(Buf, len(x))
	be.ReLUBackward(y, r, dx)
	gradCheck(t, "relu", rng, x, dx, loss, fdH, 1e-4, 1e-3)
}

func TestCrossEntropyGradients(t *testing.T) {
	be := Default()
	rng := newRNG(65)
	n, k := 6, 5
	z := randBuf(rng, n*k)
	labels := IntBuf{0, 4, 2, 2, 1, 3}
	l := make(Buf, n)
	// Mean reduction: scale = 1/n.
	meanLoss := func(ls Buf) float64 {
		var s float64
		for _, v := range ls {
			s += float64(v)
		}
		return s / float64(n)
	}
	hard := func() float64 { be.SoftmaxCrossEntropy(z, labels, n, k, nil, l, nil, 0); return meanLoss(l) }
	d := make(Buf, n*k)
	be.SoftmaxCrossEntropy(z, labels, n, k, nil, l, d, 1/float32(n))
	gradCheck(t, "softmax-ce", rng, z, d, hard, 1e-2, 1e-4, 2e-3)

	targets := randBuf(rng, n*k)
	for i := 0; i < n; i++ {
		var s float32
		for j := range k {
			targets[i*k+j] = float32(math.Exp(float64(targets[i*k+j])))
			s += targets[i*k+j]
		}
		for j := range k {
			targets[i*k+j] /= s
		}
	}
	const invT = 0.25
	soft := func() float64 {
		be.SoftTargetCrossEntropy(z, targets, n, k, invT, nil, l, nil, 0)
		return meanLoss(l)
	}
	// The caller folds 1/T into scale: d(mean loss)/dz = invT·(p − t)/n.
	be.SoftTargetCrossEntropy(z, targets, n, k, invT, nil, l, d, invT/float32(n))
	gradCheck(t, "soft-target-ce", rng, z, d, soft, 1e-2, 1e-4, 2e-3)
}
