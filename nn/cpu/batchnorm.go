package cpu

import (
	"math"

	"lethe/nn"
)

// Batch norm works channel by channel, each worker owning whole channels,
// with float64 sums. gamma and beta may be nil (no affine transform: γ = 1,
// β = 0), and so may dgamma and dbeta (not accumulated).

func bnChecks(op string, n, c, hw int, x []float32, per ...[]float32) {
	checkNCHW(op, x, n, c, hw, "x")
	for _, p := range per {
		if !(p == nil || len(p) == c) {
			fail(op, "a per-channel buffer has %d values for %d channels", len(p), c)
		}
	}
}

// required panics with a clear message when a buffer the op cannot do
// without is missing.
func required(op, name string, b []float32) {
	if b == nil {
		fail(op, "%s is nil", name)
	}
}

func gammaAt(g []float32, c int) float32 {
	if g == nil {
		return 1
	}
	return g[c]
}

// BatchNormTrain normalises with the batch statistics (biased variance),
// saves the mean and 1/sqrt(var+eps), and updates the running statistics
// with the unbiased variance, as PyTorch does. With a single value per
// channel (n·hw = 1) the unbiased variance is 0/0 and the running variance
// becomes NaN, which the caller's NaN check reports (PyTorch refuses such
// a batch outright).
func (b *Backend) BatchNormTrain(n, c, hw int, x, gamma, beta, y, runMean, runVar, saveMean, saveInvStd nn.Buf, momentum, eps float32) {
	X, G, Bt, Y := Floats(x), Floats(gamma), Floats(beta), Floats(y)
	RM, RV, SM, SI := Floats(runMean), Floats(runVar), Floats(saveMean), Floats(saveInvStd)
	bnChecks("BatchNormTrain", n, c, hw, X, G, Bt, RM, RV, SM, SI)
	checkNCHW("BatchNormTrain", Y, n, c, hw, "y")
	count := n * hw
	b.pool.share(c, planeGrain(count), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			xc := X[ch*hw:]
			mean := chanSum(xc, n, hw, c*hw) / float64(count)
			ss := chanSumSqDev(xc, n, hw, c*hw, mean)
			variance := ss / float64(count)
			invStd := 1 / math.Sqrt(variance+float64(eps))
			scale := float32(invStd) * gammaAt(G, ch)
			shift := -float32(mean) * scale
			if Bt != nil {
				shift += Bt[ch]
			}
			chanAffine(Y[ch*hw:], xc, n, hw, c*hw, scale, shift)
			if SM != nil {
				SM[ch] = float32(mean)
			}
			if SI != nil {
				SI[ch] = float32(invStd)
			}
			m := float64(momentum)
			if RM != nil {
				RM[ch] = float32((1-m)*float64(RM[ch]) + m*mean)
			}
			if RV != nil {
				unbiased := ss / float64(count-1)
				RV[ch] = float32((1-m)*float64(RV[ch]) + m*unbiased)
			}
		}
	})
}

// BatchNormEval normalises with the running statistics.
func (b *Backend) BatchNormEval(n, c, hw int, x, gamma, beta, runMean, runVar, y nn.Buf, eps float32) {
	X, G, Bt, RM, RV, Y := Floats(x), Floats(gamma), Floats(beta), Floats(runMean), Floats(runVar), Floats(y)
	bnChecks("BatchNormEval", n, c, hw, X, G, Bt, RM, RV)
	required("BatchNormEval", "runMean", RM)
	required("BatchNormEval", "runVar", RV)
	checkNCHW("BatchNormEval", Y, n, c, hw, "y")
	b.pool.share(n*c, planeGrain(hw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			ch := pl % c
			invStd := 1 / math.Sqrt(float64(RV[ch])+float64(eps))
			scale := float32(invStd) * gammaAt(G, ch)
			shift := -RM[ch] * scale
			if Bt != nil {
				shift += Bt[ch]
			}
			dst := Y[pl*hw : (pl+1)*hw]
			for j, v := range X[pl*hw : (pl+1)*hw] {
				dst[j] = v*scale + shift
			}
		}
	})
}

// BatchNormBackward differentiates BatchNormTrain: dx is overwritten,
// dgamma and dbeta accumulate.
func (b *Backend) BatchNormBackward(n, c, hw int, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta nn.Buf) {
	X, DY, G, SM, SI := Floats(x), Floats(dy), Floats(gamma), Floats(saveMean), Floats(saveInvStd)
	DX, DG, DB := Floats(dx), Floats(dgamma), Floats(dbeta)
	bnChecks("BatchNormBackward", n, c, hw, X, G, SM, SI, DG, DB)
	required("BatchNormBackward", "saveMean", SM)
	required("BatchNormBackward", "saveInvStd", SI)
	checkNCHW("BatchNormBackward", DY, n, c, hw, "dy")
	checkNCHW("BatchNormBackward", DX, n, c, hw, "dx")
	count := n * hw
	b.pool.share(c, planeGrain(count), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			mean, invStd := float64(SM[ch]), float64(SI[ch])
			sdy, sdyx := chanSumsDyDev(DY[ch*hw:], X[ch*hw:], n, hw, c*hw, mean)
			// Σ dy·x̂ = invStd · Σ dy·(x − mean).
			sdyxhat := sdyx * invStd
			if DG != nil {
				DG[ch] += float32(sdyxhat)
			}
			if DB != nil {
				DB[ch] += float32(sdy)
			}
			// dx = γ·invStd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M)
			k := float64(gammaAt(G, ch)) * invStd
			meanDy := sdy / float64(count)
			// x̂·Σ(dy·x̂)/M = (x − mean)·invStd²·Σ(dy·(x−mean))/M
			coef := invStd * invStd * sdyx / float64(count)
			chanBNBackward(DX[ch*hw:], DY[ch*hw:], X[ch*hw:], n, hw, c*hw, float32(k), float32(meanDy), float32(coef), float32(mean))
		}
	})
}

// BatchNormEvalBackward differentiates BatchNormEval (the running
// statistics are constants): dx = dy·γ/sqrt(runVar+eps) is overwritten,
// dgamma += Σ dy·x̂ and dbeta += Σ dy.
func (b *Backend) BatchNormEvalBackward(n, c, hw int, x, dy, gamma, runMean, runVar, dx, dgamma, dbeta nn.Buf, eps float32) {
	X, DY, G, RM, RV := Floats(x), Floats(dy), Floats(gamma), Floats(runMean), Floats(runVar)
	DX, DG, DB := Floats(dx), Floats(dgamma), Floats(dbeta)
	bnChecks("BatchNormEvalBackward", n, c, hw, X, G, RM, RV, DG, DB)
	required("BatchNormEvalBackward", "runMean", RM)
	required("BatchNormEvalBackward", "runVar", RV)
	checkNCHW("BatchNormEvalBackward", DY, n, c, hw, "dy")
	checkNCHW("BatchNormEvalBackward", DX, n, c, hw, "dx")
	b.pool.share(c, planeGrain(n*hw), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			invStd := 1 / math.Sqrt(float64(RV[ch])+float64(eps))
			k := float32(invStd) * gammaAt(G, ch)
			mean := float64(RM[ch])
			var sdy, sdyx float64
			for i := 0; i < n; i++ {
				xs := X[(i*c+ch)*hw : (i*c+ch+1)*hw]
				ds := DY[(i*c+ch)*hw : (i*c+ch+1)*hw]
				dst := DX[(i*c+ch)*hw : (i*c+ch+1)*hw]
				for j, d := range ds {
					sdy += float64(d)
					sdyx += float64(d) * (float64(xs[j]) - mean)
					dst[j] = d * k
				}
			}
			if DG != nil {
				DG[ch] += float32(sdyx * invStd)
			}
			if DB != nil {
				DB[ch] += float32(sdy)
			}
		}
	})
}

// The reductions below keep four float64 accumulators: one accumulator is
// a chain of dependent additions, bound by the adder's latency, while four
// independent chains let the CPU overlap them (batch norm's statistics were
// a tenth of a SmallCNN training step with one).

// sum64 is Σ xs in float64.
func sum64(xs []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		v := xs[i : i+4 : i+4]
		s0 += float64(v[0])
		s1 += float64(v[1])
		s2 += float64(v[2])
		s3 += float64(v[3])
	}
	for ; i < len(xs); i++ {
		s0 += float64(xs[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// sumSquaredDev64 is Σ (x − mean)² in float64.
func sumSquaredDev64(xs []float32, mean float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		v := xs[i : i+4 : i+4]
		d0, d1, d2, d3 := float64(v[0])-mean, float64(v[1])-mean, float64(v[2])-mean, float64(v[3])-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(xs); i++ {
		d := float64(xs[i]) - mean
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// sumsDyDev64 is Σ dy and Σ dy·(x − mean) in float64; len(xs) = len(dy).
func sumsDyDev64(dy, xs []float32, mean float64) (float64, float64) {
	xs = xs[:len(dy)]
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	i := 0
	for ; i+4 <= len(dy); i += 4 {
		d, v := dy[i:i+4:i+4], xs[i:i+4:i+4]
		a0 += float64(d[0])
		a1 += float64(d[1])
		a2 += float64(d[2])
		a3 += float64(d[3])
		b0 += float64(d[0]) * (float64(v[0]) - mean)
		b1 += float64(d[1]) * (float64(v[1]) - mean)
		b2 += float64(d[2]) * (float64(v[2]) - mean)
		b3 += float64(d[3]) * (float64(v[3]) - mean)
	}
	for ; i < len(dy); i++ {
		a0 += float64(dy[i])
		b0 += float64(dy[i]) * (float64(xs[i]) - mean)
	}
	return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3)
}
