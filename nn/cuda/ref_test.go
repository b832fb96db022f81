package cuda

import (
	"math"

	"lethe/nn"
)

// refBackend is a deliberately naive nn.Backend on Go slices, written
// straight from the interface's comments, with float64 accumulation. The
// op tests compare the CUDA backend (emulated or real) against it. When
// the CPU backend (nn/cpu) is merged it becomes the reference instead.
type refBackend struct{}

type refBuf []float32

func (b refBuf) Len() int                { return len(b) }
func (b refBuf) Slice(off, n int) nn.Buf { return b[off : off+n : off+n] }

type refInt []int32

func (b refInt) Len() int                   { return len(b) }
func (b refInt) Slice(off, n int) nn.IntBuf { return b[off : off+n : off+n] }

func rf(b nn.Buf) []float32 {
	if b == nil {
		return nil
	}
	return b.(refBuf)
}
func ri(b nn.IntBuf) []int32 { return b.(refInt) }

var _ nn.Backend = refBackend{}

func (refBackend) Name() string                   { return "ref" }
func (refBackend) Alloc(n int) nn.Buf             { return make(refBuf, n) }
func (refBackend) AllocInt(n int) nn.IntBuf       { return make(refInt, n) }
func (refBackend) Free(nn.Buf)                    {}
func (refBackend) FreeInt(nn.IntBuf)              {}
func (refBackend) Upload(d nn.Buf, s []float32)   { copy(rf(d), s) }
func (refBackend) Download(d []float32, s nn.Buf) { copy(d, rf(s)) }
func (refBackend) UploadInt(d nn.IntBuf, s []int32) {
	copy(ri(d), s)
}
func (refBackend) DownloadInt(d []int32, s nn.IntBuf) { copy(d, ri(s)) }
func (refBackend) Copy(d, s nn.Buf)                   { copy(rf(d), rf(s)) }
func (refBackend) Fill(d nn.Buf, v float32) {
	for i := range rf(d) {
		rf(d)[i] = v
	}
}
func (refBackend) Sync() error { return nil }

func (refBackend) Gemm(tA, tB bool, m, n, k int, alpha float32, a nn.Buf, lda int, b nn.Buf, ldb int, beta float32, c nn.Buf, ldc int) {
	A, B, C := rf(a), rf(b), rf(c)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if tA {
					av = A[p*lda+i]
				} else {
					av = A[i*lda+p]
				}
				if tB {
					bv = B[j*ldb+p]
				} else {
					bv = B[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(C[i*ldc+j])
			}
			C[i*ldc+j] = float32(v)
		}
	}
}

func (refBackend) ConvForward(g nn.ConvGeom, x, w, y nn.Buf) {
	X, W, Y := rf(x), rf(w), rf(y)
	for n := 0; n < g.N; n++ {
		for k := 0; k < g.K; k++ {
			for p := 0; p < g.P; p++ {
				for q := 0; q < g.Q; q++ {
					var s float64
					for c := 0; c < g.C; c++ {
						for r := 0; r < g.R; r++ {
							for t := 0; t < g.S; t++ {
								h, ww := p*g.Stride-g.Pad+r, q*g.Stride-g.Pad+t
								if h < 0 || h >= g.H || ww < 0 || ww >= g.W {
									continue
								}
								s += float64(X[((n*g.C+c)*g.H+h)*g.W+ww]) * float64(W[((k*g.C+c)*g.R+r)*g.S+t])
							}
						}
					}
					Y[((n*g.K+k)*g.P+p)*g.Q+q] = float32(s)
				}
			}
		}
	}
}

func (refBackend) ConvBackwardData(g nn.ConvGeom, w, dy, dx nn.Buf) {
	W, DY, DX := rf(w), rf(dy), rf(dx)
	acc := make([]float64, len(DX))
	for n := 0; n < g.N; n++ {
		for k := 0; k < g.K; k++ {
			for p := 0; p < g.P; p++ {
				for q := 0; q < g.Q; q++ {
					d := float64(DY[((n*g.K+k)*g.P+p)*g.Q+q])
					for c := 0; c < g.C; c++ {
						for r := 0; r < g.R; r++ {
							for t := 0; t < g.S; t++ {
								h, ww := p*g.Stride-g.Pad+r, q*g.Stride-g.Pad+t
								if h < 0 || h >= g.H || ww < 0 || ww >= g.W {
									continue
								}
								acc[((n*g.C+c)*g.H+h)*g.W+ww] += d * float64(W[((k*g.C+c)*g.R+r)*g.S+t])
							}
						}
					}
				}
			}
		}
	}
	for i, v := range acc {
		DX[i] = float32(v)
	}
}

func (refBackend) ConvBackwardFilter(g nn.ConvGeom, x, dy, dw nn.Buf) {
	X, DY, DW := rf(x), rf(dy), rf(dw)
	for k := 0; k < g.K; k++ {
		for c := 0; c < g.C; c++ {
			for r := 0; r < g.R; r++ {
				for t := 0; t < g.S; t++ {
					var s float64
					for n := 0; n < g.N; n++ {
						for p := 0; p < g.P; p++ {
							for q := 0; q < g.Q; q++ {
								h, ww := p*g.Stride-g.Pad+r, q*g.Stride-g.Pad+t
								if h < 0 || h >= g.H || ww < 0 || ww >= g.W {
									continue
								}
								s += float64(X[((n*g.C+c)*g.H+h)*g.W+ww]) * float64(DY[((n*g.K+k)*g.P+p)*g.Q+q])
							}
						}
					}
					i := ((k*g.C+c)*g.R+r)*g.S + t
					DW[i] = float32(float64(DW[i]) + s)
				}
			}
		}
	}
}

func (refBackend) AddChannelBias(y, bias nn.Buf, n, c, hw int) {
	Y, B := rf(y), rf(bias)
	for i := range Y {
		Y[i] += B[(i/hw)%c]
	}
}

func (refBackend) ChannelSum(dy nn.Buf, n, c, hw int, db nn.Buf) {
	DY, DB := rf(dy), rf(db)
	for ch := 0; ch < c; ch++ {
		var s float64
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				s += float64(DY[(i*c+ch)*hw+j])
			}
		}
		DB[ch] = float32(float64(DB[ch]) + s)
	}
}

func (refBackend) ChannelMax(x nn.Buf, n, c, hw int, out nn.Buf) {
	X, O := rf(x), rf(out)
	for p := 0; p < n*c; p++ {
		m := float32(math.Inf(-1))
		for _, v := range X[p*hw : (p+1)*hw] {
			if v > m || v != v {
				m = v
			}
		}
		O[p] = m
	}
}

func (refBackend) ChannelMean(x nn.Buf, n, c, hw int, out nn.Buf) {
	X, O := rf(x), rf(out)
	for p := 0; p < n*c; p++ {
		var s float64
		for _, v := range X[p*hw : (p+1)*hw] {
			s += float64(v)
		}
		O[p] = float32(s / float64(hw))
	}
}

func refStats(X []float32, n, c, hw, ch int) (mean, varB float64) {
	m := float64(n * hw)
	for i := 0; i < n; i++ {
		for j := 0; j < hw; j++ {
			mean += float64(X[(i*c+ch)*hw+j])
		}
	}
	mean /= m
	for i := 0; i < n; i++ {
		for j := 0; j < hw; j++ {
			d := float64(X[(i*c+ch)*hw+j]) - mean
			varB += d * d
		}
	}
	return mean, varB / m
}

func (refBackend) BatchNormTrain(n, c, hw int, x, gamma, beta, y, runMean, runVar, saveMean, saveInvStd nn.Buf, momentum, eps float32) {
	X, G, B, Y, RM, RV, SM, SI := rf(x), rf(gamma), rf(beta), rf(y), rf(runMean), rf(runVar), rf(saveMean), rf(saveInvStd)
	m := float64(n * hw)
	for ch := 0; ch < c; ch++ {
		mean, v := refStats(X, n, c, hw, ch)
		inv := 1 / math.Sqrt(v+float64(eps))
		SM[ch], SI[ch] = float32(mean), float32(inv)
		RM[ch] = float32((1-float64(momentum))*float64(RM[ch]) + float64(momentum)*mean)
		RV[ch] = float32((1-float64(momentum))*float64(RV[ch]) + float64(momentum)*v*m/(m-1))
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				k := (i*c+ch)*hw + j
				Y[k] = float32((float64(X[k])-mean)*inv*float64(G[ch]) + float64(B[ch]))
			}
		}
	}
}

func (refBackend) BatchNormEval(n, c, hw int, x, gamma, beta, runMean, runVar, y nn.Buf, eps float32) {
	X, G, B, RM, RV, Y := rf(x), rf(gamma), rf(beta), rf(runMean), rf(runVar), rf(y)
	for i := range X {
		ch := (i / hw) % c
		Y[i] = float32((float64(X[i])-float64(RM[ch]))/math.Sqrt(float64(RV[ch])+float64(eps))*float64(G[ch]) + float64(B[ch]))
	}
}

func (refBackend) BatchNormBackward(n, c, hw int, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta nn.Buf) {
	X, DY, G, SM, SI, DX, DG, DB := rf(x), rf(dy), rf(gamma), rf(saveMean), rf(saveInvStd), rf(dx), rf(dgamma), rf(dbeta)
	m := float64(n * hw)
	for ch := 0; ch < c; ch++ {
		var sdy, sdyx float64
		mu, is := float64(SM[ch]), float64(SI[ch])
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				k := (i*c+ch)*hw + j
				sdy += float64(DY[k])
				sdyx += float64(DY[k]) * (float64(X[k]) - mu) * is
			}
		}
		DG[ch] = float32(float64(DG[ch]) + sdyx)
		DB[ch] = float32(float64(DB[ch]) + sdy)
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				k := (i*c+ch)*hw + j
				xh := (float64(X[k]) - mu) * is
				DX[k] = float32(float64(G[ch]) * is * (float64(DY[k]) - sdy/m - xh*sdyx/m))
			}
		}
	}
}

func (refBackend) BatchNormEvalBackward(n, c, hw int, x, dy, gamma, runMean, runVar, dx, dgamma, dbeta nn.Buf, eps float32) {
	X, DY, G, RM, RV, DX, DG, DB := rf(x), rf(dy), rf(gamma), rf(runMean), rf(runVar), rf(dx), rf(dgamma), rf(dbeta)
	for ch := 0; ch < c; ch++ {
		is := 1 / math.Sqrt(float64(RV[ch])+float64(eps))
		var sdy, sdyx float64
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				k := (i*c+ch)*hw + j
				sdy += float64(DY[k])
				sdyx += float64(DY[k]) * (float64(X[k]) - float64(RM[ch])) * is
				DX[k] = float32(float64(DY[k]) * float64(G[ch]) * is)
			}
		}
		DG[ch] = float32(float64(DG[ch]) + sdyx)
		DB[ch] = float32(float64(DB[ch]) + sdy)
	}
}

func (refBackend) MaxPoolForward(g nn.PoolGeom, x, y nn.Buf, argmax nn.IntBuf) {
	X, Y, A := rf(x), rf(y), ri(argmax)
	for pl := 0; pl < g.N*g.C; pl++ {
		for p := 0; p < g.P; p++ {
			for q := 0; q < g.Q; q++ {
				best, bi := float32(math.Inf(-1)), -1
				for i := 0; i < g.KH; i++ {
					for j := 0; j < g.KW; j++ {
						h, w := p*g.Stride-g.Pad+i, q*g.Stride-g.Pad+j
						if h < 0 || h >= g.H || w < 0 || w >= g.W {
							continue
						}
						v := X[pl*g.H*g.W+h*g.W+w]
						if bi < 0 || v > best || (v != v && best == best) {
							best, bi = v, h*g.W+w
						}
					}
				}
				o := (pl*g.P+p)*g.Q + q
				Y[o], A[o] = best, int32(bi)
			}
		}
	}
}

func (refBackend) MaxPoolBackward(g nn.PoolGeom, dy nn.Buf, argmax nn.IntBuf, dx nn.Buf) {
	DY, A, DX := rf(dy), ri(argmax), rf(dx)
	for i := range DX {
		DX[i] = 0
	}
	for pl := 0; pl < g.N*g.C; pl++ {
		for o := 0; o < g.P*g.Q; o++ {
			DX[pl*g.H*g.W+int(A[pl*g.P*g.Q+o])] += DY[pl*g.P*g.Q+o]
		}
	}
}

func (refBackend) AvgPoolForward(g nn.PoolGeom, x, y nn.Buf) {
	X, Y := rf(x), rf(y)
	for pl := 0; pl < g.N*g.C; pl++ {
		for p := 0; p < g.P; p++ {
			for q := 0; q < g.Q; q++ {
				var s float64
				for i := 0; i < g.KH; i++ {
					for j := 0; j < g.KW; j++ {
						h, w := p*g.Stride-g.Pad+i, q*g.Stride-g.Pad+j
						if h >= 0 && h < g.H && w >= 0 && w < g.W {
							s += float64(X[pl*g.H*g.W+h*g.W+w])
						}
					}
				}
				Y[(pl*g.P+p)*g.Q+q] = float32(s / float64(g.KH*g.KW))
			}
		}
	}
}

func (refBackend) AvgPoolBackward(g nn.PoolGeom, dy, dx nn.Buf) {
	DY, DX := rf(dy), rf(dx)
	acc := make([]float64, len(DX))
	for pl := 0; pl < g.N*g.C; pl++ {
		for p := 0; p < g.P; p++ {
			for q := 0; q < g.Q; q++ {
				d := float64(DY[(pl*g.P+p)*g.Q+q]) / float64(g.KH*g.KW)
				for i := 0; i < g.KH; i++ {
					for j := 0; j < g.KW; j++ {
						h, w := p*g.Stride-g.Pad+i, q*g.Stride-g.Pad+j
						if h >= 0 && h < g.H && w >= 0 && w < g.W {
							acc[pl*g.H*g.W+h*g.W+w] += d
						}
					}
				}
			}
		}
	}
	for i, v := range acc {
		DX[i] = float32(v)
	}
}

func (refBackend) ReLUForward(x, y nn.Buf) {
	for i, v := range rf(x) {
		if v < 0 {
			v = 0
		}
		rf(y)[i] = v
	}
}

func (refBackend) ReLUBackward(y, dy, dx nn.Buf) {
	for i, v := range rf(y) {
		if v > 0 {
			rf(dx)[i] = rf(dy)[i]
		} else {
			rf(dx)[i] = 0
		}
	}
}

func (refBackend) Add(dst, a, b nn.Buf) {
	for i := range rf(dst) {
		rf(dst)[i] = rf(a)[i] + rf(b)[i]
	}
}
func (refBackend) Axpy(alpha float32, x, y nn.Buf) {
	for i := range rf(x) {
		rf(y)[i] += alpha * rf(x)[i]
	}
}
func (refBackend) Scale(x nn.Buf, alpha float32) {
	for i := range rf(x) {
		rf(x)[i] *= alpha
	}
}
func (refBackend) Mul(dst, a, b nn.Buf) {
	for i := range rf(dst) {
		rf(dst)[i] = rf(a)[i] * rf(b)[i]
	}
}
func (refBackend) AddSquared(acc, x nn.Buf, alpha float32) {
	for i, v := range rf(x) {
		rf(acc)[i] += alpha * v * v
	}
}
func (refBackend) AddDiag(x nn.Buf, n int, v float32) {
	for i := 0; i < n; i++ {
		rf(x)[i*n+i] += v
	}
}
func (refBackend) Dot(x, y nn.Buf) float64 {
	var s float64
	for i, v := range rf(x) {
		s += float64(v) * float64(rf(y)[i])
	}
	return s
}
func (refBackend) CountNonFinite(x nn.Buf) int {
	c := 0
	for _, v := range rf(x) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			c++
		}
	}
	return c
}

func refSoftmax(z []float32, invT float32) (probs []float64, logSum, mx float64) {
	mx = math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(invT*v))
	}
	probs = make([]float64, len(z))
	var s float64
	for j, v := range z {
		probs[j] = math.Exp(float64(invT*v) - mx)
		s += probs[j]
	}
	for j := range probs {
		probs[j] /= s
	}
	return probs, math.Log(s), mx
}

func (refBackend) Softmax(logits, probs nn.Buf, n, classes int, invT float32) {
	for i := 0; i < n; i++ {
		p, _, _ := refSoftmax(rf(logits)[i*classes:(i+1)*classes], invT)
		for j, v := range p {
			rf(probs)[i*classes+j] = float32(v)
		}
	}
}

func (refBackend) SoftmaxCrossEntropy(logits nn.Buf, labels nn.IntBuf, n, classes int, probs, losses, dlogits nn.Buf, scale float32) {
	for i := 0; i < n; i++ {
		z := rf(logits)[i*classes : (i+1)*classes]
		p, ls, mx := refSoftmax(z, 1)
		lab := int(ri(labels)[i])
		if lab >= 0 && lab < classes {
			rf(losses)[i] = float32(ls - (float64(z[lab]) - mx))
		} else {
			rf(losses)[i] = float32(math.NaN())
		}
		for j, v := range p {
			rf(probs)[i*classes+j] = float32(v)
			if dlogits != nil {
				g := float32(v)
				if j == lab {
					g -= 1
				}
				rf(dlogits)[i*classes+j] = g * scale
			}
		}
	}
}

func (refBackend) SoftTargetCrossEntropy(logits, targets nn.Buf, n, classes int, invT float32, probs, losses, dlogits nn.Buf, scale float32) {
	for i := 0; i < n; i++ {
		z := rf(logits)[i*classes : (i+1)*classes]
		t := rf(targets)[i*classes : (i+1)*classes]
		p, ls, mx := refSoftmax(z, invT)
		var l float64
		for j := range z {
			l -= float64(t[j]) * (float64(invT*z[j]) - mx - ls)
			rf(probs)[i*classes+j] = float32(p[j])
			if dlogits != nil {
				rf(dlogits)[i*classes+j] = (float32(p[j]) - t[j]) * scale
			}
		}
		rf(losses)[i] = float32(l)
	}
}

func (refBackend) SGDStep(p, g, buf nn.Buf, lr, momentum, dampening, wd float32, nesterov, first bool) {
	P, G := rf(p), rf(g)
	for i := range P {
		gi := G[i]
		if wd != 0 {
			gi += wd * P[i]
		}
		dir := gi
		if momentum != 0 {
			B := rf(buf)
			if first {
				B[i] = gi
			} else {
				B[i] = momentum*B[i] + (1-dampening)*gi
			}
			if nesterov {
				dir = gi + momentum*B[i]
			} else {
				dir = B[i]
			}
		}
		P[i] -= lr * dir
	}
}

func (refBackend) AdamStep(p, g, m, v nn.Buf, lr, beta1, beta2, eps, wd float32, step int, decoupled bool) {
	P, G, M, V := rf(p), rf(g), rf(m), rf(v)
	bc1 := 1 - math.Pow(float64(beta1), float64(step))
	bc2 := 1 - math.Pow(float64(beta2), float64(step))
	for i := range P {
		pi, gi := float64(P[i]), float64(G[i])
		if wd != 0 {
			if decoupled {
				pi *= 1 - float64(lr)*float64(wd)
			} else {
				gi += float64(wd) * pi
			}
		}
		mi := float64(beta1)*float64(M[i]) + (1-float64(beta1))*gi
		vi := float64(beta2)*float64(V[i]) + (1-float64(beta2))*gi*gi
		M[i], V[i] = float32(mi), float32(vi)
		P[i] = float32(pi - float64(lr)/bc1*mi/(math.Sqrt(vi)/math.Sqrt(bc2)+float64(eps)))
	}
}

func (refBackend) SelectiveDampen(w, impF, impD nn.Buf, alpha, lambda float32) {
	W, F, D := rf(w), rf(impF), rf(impD)
	for i := range W {
		if F[i] > alpha*D[i] {
			if b := lambda * D[i] / F[i]; b < 1 {
				W[i] *= b
			}
		}
	}
}
