package cpu

import (
	"fmt"
	"math"
	"testing"
)

// bnShapes: one value per channel per image (hw = 1, as after a linear
// layer), odd channel counts, large planes.
var bnShapes = [][3]int{{4, 3, 1}, {2, 5, 7}, {1, 3, 50}, {3, 1, 9}, {8, 17, 33}}

type bnRef struct {
	y, dx, dgamma, dbeta, runMean, runVar []float64
	mean, invStd                          []float64
}

// naiveBN is batch norm written out from its definition.
func naiveBN(n, c, hw int, x, gamma, beta, dy, dg0, db0, rm0, rv0 []float32, momentum, eps float64) bnRef {
	r := bnRef{y: make([]float64, len(x)), dx: make([]float64, len(x)), dgamma: f64(dg0), dbeta: f64(db0),
		runMean: f64(rm0), runVar: f64(rv0), mean: make([]float64, c), invStd: make([]float64, c)}
	m := float64(n * hw)
	at := func(i, ch, j int) int { return (i*c+ch)*hw + j }
	for ch := 0; ch < c; ch++ {
		var mean, v float64
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				mean += float64(x[at(i, ch, j)])
			}
		}
		mean /= m
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				d := float64(x[at(i, ch, j)]) - mean
				v += d * d
			}
		}
		inv := 1 / math.Sqrt(v/m+eps)
		r.mean[ch], r.invStd[ch] = mean, inv
		r.runMean[ch] = (1-momentum)*r.runMean[ch] + momentum*mean
		r.runVar[ch] = (1-momentum)*r.runVar[ch] + momentum*v/(m-1)
		var sdy, sdyx float64
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				xh := (float64(x[at(i, ch, j)]) - mean) * inv
				r.y[at(i, ch, j)] = xh*float64(gamma[ch]) + float64(beta[ch])
				sdy += float64(dy[at(i, ch, j)])
				sdyx += float64(dy[at(i, ch, j)]) * xh
			}
		}
		r.dgamma[ch] += sdyx
		r.dbeta[ch] += sdy
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				xh := (float64(x[at(i, ch, j)]) - mean) * inv
				r.dx[at(i, ch, j)] = float64(gamma[ch]) * inv * (float64(dy[at(i, ch, j)]) - sdy/m - xh*sdyx/m)
			}
		}
	}
	return r
}

func TestBatchNormAgainstNaive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be *Backend) {
		rng := newRNG(21)
		for _, sh := range bnShapes {
			n, c, hw := sh[0], sh[1], sh[2]
			name := fmt.Sprintf("%dx%dx%d", n, c, hw)
			x := randBuf(rng, n*c*hw)
			for i := range x {
				x[i] = x[i]*3 + 1.5 // a mean and a scale away from 0 and 1
			}
			gamma, beta := randBuf(rng, c), randBuf(rng, c)
			dy, dg0, db0 := randBuf(rng, len(x)), randBuf(rng, c), randBuf(rng, c)
			rm0, rv0 := randBuf(rng, c), randBuf(rng, c)
			for i := range rv0 {
				rv0[i] = rv0[i]*rv0[i] + 0.5
			}
			want := naiveBN(n, c, hw, x, gamma, beta, dy, dg0, db0, rm0, rv0, 0.1, 1e-5)

			y, rm, rv, sm, si := nanBuf(len(x)), clone(rm0), clone(rv0), nanBuf(c), nanBuf(c)
			be.BatchNormTrain(n, c, hw, x, gamma, beta, y, rm, rv, sm, si, 0.1, 1e-5)
			closeTo(t, name+"/train/y", y, want.y, 1e-5, 1e-5)
			closeTo(t, name+"/train/saveMean", sm, want.mean, 1e-6, 1e-6)
			closeTo(t, name+"/train/saveInvStd", si, want.invStd, 1e-6, 1e-6)
			closeTo(t, name+"/train/runMean", rm, want.runMean, 1e-6, 1e-6)
			if n*hw > 1 {
				closeTo(t, name+"/train/runVar", rv, want.runVar, 1e-6, 1e-6)
			}
			dx, dg, db := nanBuf(len(x)), clone(dg0), clone(db0)
			be.BatchNormBackward(n, c, hw, x, dy, gamma, sm, si, dx, dg, db)
			if n*hw > 1 {
				closeTo(t, name+"/train/dx", dx, want.dx, 1e-5, 1e-4)
			}
			closeTo(t, name+"/train/dgamma", dg, want.dgamma, 1e-5, 1e-5)
			closeTo(t, name+"/train/dbeta", db, want.dbeta, 1e-5, 1e-5)

			// Eval: normalise with the running statistics rm0, rv0.
			wantY, wantDX := make([]float64, len(x)), make([]float64, len(x))
			wantDG, wantDB := f64(dg0), f64(db0)
			for i := range x {
				ch := (i / hw) % c
				inv := 1 / math.Sqrt(float64(rv0[ch])+1e-5)
				xh := (float64(x[i]) - float64(rm0[ch])) * inv
				wantY[i] = xh*float64(gamma[ch]) + float64(beta[ch])
				wantDX[i] = float64(dy[i]) * float64(gamma[ch]) * inv
				wantDG[ch] += float64(dy[i]) * xh
				wantDB[ch] += float64(dy[i])
			}
			ye := nanBuf(len(x))
			be.BatchNormEval(n, c, hw, x, gamma, beta, rm0, rv0, ye, 1e-5)
			closeTo(t, name+"/eval/y", ye, wantY, 1e-5, 1e-5)
			dx, dg, db = nanBuf(len(x)), clone(dg0), clone(db0)
			be.BatchNormEvalBackward(n, c, hw, x, dy, gamma, rm0, rv0, dx, dg, db, 1e-5)
			closeTo(t, name+"/eval/dx", dx, wantDX, 1e-6, 1e-5)
			closeTo(t, name+"/eval/dgamma", dg, wantDG, 1e-5, 1e-5)
			closeTo(t, name+"/eval/dbeta", db, wantDB, 1e-5, 1e-5)
		}
	})
}

func TestChannelOpsAgainstNaive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be *Backend) {
		rng := newRNG(23)
		for _, sh := range [][3]int{{1, 1, 1}, {4, 3, 1}, {2, 5, 7}, {3, 7, 4096}} {
			n, c, hw := sh[0], sh[1], sh[2]
			name := fmt.Sprintf("%dx%dx%d", n, c, hw)
			x, bias, db0 := randBuf(rng, n*c*hw), randBuf(rng, c), randBuf(rng, c)
			wantB, wantSum := make([]float64, len(x)), f64(db0)
			wantMax, wantMean := make([]float64, n*c), make([]float64, n*c)
			for i := range wantMax {
				wantMax[i] = math.Inf(-1)
			}
			for i, v := range x {
				pl, ch := i/hw, (i/hw)%c
				wantB[i] = float64(v) + float64(bias[ch])
				wantSum[ch] += float64(v)
				wantMax[pl] = math.Max(wantMax[pl], float64(v))
				wantMean[pl] += float64(v) / float64(hw)
			}
			y := clone(x)
			be.AddChannelBias(y, bias, n, c, hw)
			closeTo(t, name+"/AddChannelBias", y, wantB, 1e-6, 1e-6)
			db := clone(db0)
			be.ChannelSum(x, n, c, hw, db)
			closeTo(t, name+"/ChannelSum", db, wantSum, 1e-4, 1e-5)
			out := nanBuf(n * c)
			be.ChannelMax(x, n, c, hw, out)
			closeTo(t, name+"/ChannelMax", out, wantMax, 0, 0)
			be.ChannelMean(x, n, c, hw, out)
			closeTo(t, name+"/ChannelMean", out, wantMean, 1e-6, 1e-5)
		}
	})
}
