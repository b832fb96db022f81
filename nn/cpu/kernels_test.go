package cpu

import (
	"math"
	"testing"
)

// TestKernelsMatchGo holds the dispatched kernels (AVX2 where the build and
// CPU have it) to the Go ones: channels of n planes with a stride, plane
// sizes around the vector widths (tails of every length), sums to float64
// rounding, element-wise results exactly (the affine and backward formulas
// to a fused multiply-add's rounding).
func TestKernelsMatchGo(t *testing.T) {
	if !haveAVX2 {
		t.Log("no AVX2 kernels in this build or on this CPU: the dispatchers are the Go kernels")
	}
	rng := newRNG(21)
	for _, sh := range [][3]int{{1, 1, 1}, {2, 7, 3}, {3, 8, 2}, {2, 15, 4}, {4, 16, 3}, {3, 17, 2}, {5, 33, 1}, {2, 1024, 3}} {
		n, hw, c := sh[0], sh[1], sh[2]
		stride := c * hw
		x, dy := randSlice(rng, n*stride), randSlice(rng, n*stride)
		for i := range x {
			x[i] = 3*x[i] + 1 // a mean away from 0
		}
		for ch := 0; ch < c; ch++ {
			xc, dc := x[ch*hw:], dy[ch*hw:]
			near := func(what string, got, want, scale float64) {
				t.Helper()
				if math.Abs(got-want) > 1e-12*scale {
					t.Errorf("n=%d hw=%d ch=%d %s: %v, want %v", n, hw, ch, what, got, want)
				}
			}
			var absSum float64
			for i := 0; i < n; i++ {
				for _, v := range xc[i*stride : i*stride+hw] {
					absSum += math.Abs(float64(v))
				}
			}
			s := chanSum(xc, n, hw, stride)
			near("sum", s, chanSumGo(xc, n, hw, stride), absSum)
			mean := s / float64(n*hw)
			near("sum of squared deviations", chanSumSqDev(xc, n, hw, stride, mean), chanSumSqDevGo(xc, n, hw, stride, mean), absSum*absSum)
			a, b := chanSumsDyDev(dc, xc, n, hw, stride, mean)
			wa, wb := chanSumsDyDevGo(dc, xc, n, hw, stride, mean)
			near("sum of dy", a, wa, float64(n*hw))
			near("sum of dy·(x−mean)", b, wb, absSum*float64(n*hw))

			got, want := make([]float32, n*stride), make([]float32, n*stride)
			chanAffine(got[ch*hw:], xc, n, hw, stride, 0.7, -0.3)
			chanAffineGo(want[ch*hw:], xc, n, hw, stride, 0.7, -0.3)
			closeTo(t, "affine", got, f64(want), 1e-6, 1e-6)
			chanBNBackward(got[ch*hw:], dc, xc, n, hw, stride, 1.3, 0.01, 0.2, float32(mean))
			chanBNBackwardGo(want[ch*hw:], dc, xc, n, hw, stride, 1.3, 0.01, 0.2, float32(mean))
			closeTo(t, "batch-norm backward", got, f64(want), 1e-6, 1e-6)
		}
	}
	// Element-wise: exact, NaN kept by ReLU, +0 for −0, the gradient
	// passed only where y > 0.
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, n := range []int{1, 7, 8, 9, 31, 1000} {
		x := randSlice(rng, n)
		x[0] = nan
		if n > 3 {
			x[1], x[2], x[3] = float32(math.Copysign(0, -1)), inf, -inf
		}
		y, yg := make([]float32, n), make([]float32, n)
		relu(x, y)
		reluGo(x, yg)
		dy := randSlice(rng, n)
		dx, dxg := make([]float32, n), make([]float32, n)
		reluBackward(x, dy, dx)
		reluBackwardGo(x, dy, dxg)
		sum, sumg := make([]float32, n), make([]float32, n)
		add(sum, x, dy)
		addGo(sumg, x, dy)
		for i := range x {
			if math.Float32bits(y[i]) != math.Float32bits(yg[i]) {
				t.Errorf("relu(%v) = %v, want %v", x[i], y[i], yg[i])
			}
			if math.Float32bits(dx[i]) != math.Float32bits(dxg[i]) {
				t.Errorf("relu backward at y = %v: %v, want %v", x[i], dx[i], dxg[i])
			}
			if math.Float32bits(sum[i]) != math.Float32bits(sumg[i]) && !(sum[i] != sum[i] && sumg[i] != sumg[i]) {
				t.Errorf("add %v + %v = %v, want %v", x[i], dy[i], sum[i], sumg[i])
			}
		}
	}
	// SGD with momentum: exact, so no fused multiply-add in either (a
	// large weight decay makes a fused one show in the vector part and the
	// tail).
	for n := 1; n <= 40; n++ {
		p, g, m := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
		pg, mg := append([]float32(nil), p...), append([]float32(nil), m...)
		sgdMomentum(p, g, m, 0.37, 0.9, 0.1, 0.3)
		sgdMomentumGo(pg, g, mg, 0.37, 0.9, 0.1, 0.3)
		for i := range p {
			if math.Float32bits(p[i]) != math.Float32bits(pg[i]) || math.Float32bits(m[i]) != math.Float32bits(mg[i]) {
				t.Errorf("sgd momentum n=%d at %d: p %v m %v, want p %v m %v", n, i, p[i], m[i], pg[i], mg[i])
			}
		}
	}
}
