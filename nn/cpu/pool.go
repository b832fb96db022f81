package cpu

import (
	"math"

	"lethe/nn"
)

// Pooling works plane by plane ([H, W] of one image and channel), each
// worker owning whole planes.

func poolChecks(op string, g nn.PoolGeom, x, y []float32) {
	if len(x) != g.N*g.C*g.H*g.W {
		fail(op, "input has %d values, geometry %+v needs %d", len(x), g, g.N*g.C*g.H*g.W)
	}
	if len(y) != g.N*g.C*g.P*g.Q {
		fail(op, "output has %d values, geometry %+v needs %d", len(y), g, g.N*g.C*g.P*g.Q)
	}
}

// window returns the input rows [h0, h1) and columns [w0, w1) that output
// (p, q) covers, clipped to the input (padding excluded).
func (g *poolWin) window(p, q int) (h0, h1, w0, w1 int) {
	h0, w0 = p*g.Stride-g.Pad, q*g.Stride-g.Pad
	h1, w1 = min(h0+g.KH, g.H), min(w0+g.KW, g.W)
	return max(h0, 0), h1, max(w0, 0), w1
}

type poolWin struct{ nn.PoolGeom }

// MaxPoolForward records in argmax the flat index h·W+w (within the plane)
// of each window's maximum; ties keep the first in row-major order, and a
// NaN wins over numbers (the last NaN, as PyTorch's CPU kernel).
func (b *Backend) MaxPoolForward(g nn.PoolGeom, x, y nn.Buf, argmax nn.IntBuf) {
	X, Y, A := Floats(x), Floats(y), Ints(argmax)
	poolChecks("MaxPoolForward", g, X, Y)
	if len(A) != len(Y) {
		fail("MaxPoolForward", "argmax has %d values, output %d", len(A), len(Y))
	}
	pw := poolWin{g}
	hw, pq := g.H*g.W, g.P*g.Q
	b.pool.share(g.N*g.C, planeGrain(hw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			xs, ys, as := X[pl*hw:(pl+1)*hw], Y[pl*pq:(pl+1)*pq], A[pl*pq:(pl+1)*pq]
			if g.KH == 2 && g.KW == 2 && g.Stride == 2 && g.Pad == 0 {
				maxPool2x2(xs, g.W, g.P, g.Q, ys, as)
				continue
			}
			for p := 0; p < g.P; p++ {
				for q := 0; q < g.Q; q++ {
					h0, h1, w0, w1 := pw.window(p, q)
					// Branch-free: compare order-preserving integer keys
					// and select with masks. With an if per value every
					// unpredictable comparison cost a misprediction, and
					// the compiler does not turn it into a conditional move.
					bestK, idx := int64(-1<<32), h0*g.W+w0 // below every key
					var sum float32                        // NaN if the window holds a NaN (or ±Inf pairs)
					for h := h0; h < h1; h++ {
						base := h * g.W
						row := xs[base : base+w1]
						for w := w0; w < w1; w++ {
							v := row[w]
							k := orderKey(v)
							m := (bestK - k) >> 63 // all ones when k > bestK
							bestK ^= (bestK ^ k) & m
							idx ^= (idx ^ (base + w)) & int(m)
							sum += v
						}
					}
					if sum != sum {
						if i := lastNaN(xs, g.W, h0, h1, w0, w1); i >= 0 {
							idx = i
						}
					}
					ys[p*g.Q+q], as[p*g.Q+q] = xs[idx], int32(idx)
				}
			}
		}
	})
}

// maxPool2x2 is MaxPoolForward for one plane with 2x2 windows, stride 2
// and no padding (SmallCNN, VGG): the four values of a window are compared
// by key in row-major order with masked selects. 2.5x faster than the
// general loop, whose per-window set-up dominates such small windows.
func maxPool2x2(xs []float32, W, P, Q int, ys []float32, as []int32) {
	for p := 0; p < P; p++ {
		b0, b1 := 2*p*W, (2*p+1)*W
		r0, r1 := xs[b0:b0+2*Q], xs[b1:b1+2*Q]
		yr, ar := ys[p*Q:(p+1)*Q], as[p*Q:(p+1)*Q]
		for q := range yr {
			a, b, c, d := r0[2*q], r0[2*q+1], r1[2*q], r1[2*q+1]
			if s := a + b + c + d; s != s {
				// A NaN (or +Inf and −Inf together): the exact rule.
				best, idx := float32(math.Inf(-1)), b0+2*q
				for _, i := range [4]int{b0 + 2*q, b0 + 2*q + 1, b1 + 2*q, b1 + 2*q + 1} {
					if v := xs[i]; v > best || v != v {
						best, idx = v, i
					}
				}
				yr[q], ar[q] = best, int32(idx)
				continue
			}
			best, idx := orderKey(a), b0+2*q
			k := orderKey(b)
			m := (best - k) >> 63
			best ^= (best ^ k) & m
			idx ^= (idx ^ (b0 + 2*q + 1)) & int(m)
			k = orderKey(c)
			m = (best - k) >> 63
			best ^= (best ^ k) & m
			idx ^= (idx ^ (b1 + 2*q)) & int(m)
			k = orderKey(d)
			m = (best - k) >> 63
			idx ^= (idx ^ (b1 + 2*q + 1)) & int(m)
			yr[q], ar[q] = xs[idx], int32(idx)
		}
	}
}

// orderKey maps a float32 to an integer with the same order (−0 and +0
// equal, NaN above +Inf; NaNs are handled separately).
func orderKey(v float32) int64 {
	k := int32(math.Float32bits(v))
	k ^= (k >> 31) & 0x7fffffff            // negative floats: reverse their order
	return int64(k) + int64(uint32(k)>>31) // −0 (now −1) meets +0
}

// lastNaN is the index of the last NaN of a window in row-major order:
// PyTorch's CPU kernel takes every NaN it meets as the new maximum.
func lastNaN(xs []float32, W, h0, h1, w0, w1 int) int {
	idx := -1
	for h := h0; h < h1; h++ {
		for w := w0; w < w1; w++ {
			if v := xs[h*W+w]; v != v {
				idx = h*W + w
			}
		}
	}
	return idx
}

// MaxPoolBackward overwrites dx: each output's gradient goes to its argmax.
func (b *Backend) MaxPoolBackward(g nn.PoolGeom, dy nn.Buf, argmax nn.IntBuf, dx nn.Buf) {
	DY, A, DX := Floats(dy), Ints(argmax), Floats(dx)
	poolChecks("MaxPoolBackward", g, DX, DY)
	if len(A) != len(DY) {
		fail("MaxPoolBackward", "argmax has %d values, dy %d", len(A), len(DY))
	}
	hw, pq := g.H*g.W, g.P*g.Q
	b.pool.share(g.N*g.C, planeGrain(hw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			d := DX[pl*hw : (pl+1)*hw]
			clear(d)
			for i, a := range A[pl*pq : (pl+1)*pq] {
				d[a] += DY[pl*pq+i]
			}
		}
	})
}

// AvgPoolForward averages each window, counting padded positions
// (count_include_pad=True), so the divisor is always KH·KW.
func (b *Backend) AvgPoolForward(g nn.PoolGeom, x, y nn.Buf) {
	X, Y := Floats(x), Floats(y)
	poolChecks("AvgPoolForward", g, X, Y)
	pw := poolWin{g}
	hw, pq := g.H*g.W, g.P*g.Q
	inv := 1 / float32(g.KH*g.KW)
	b.pool.share(g.N*g.C, planeGrain(hw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			xs, ys := X[pl*hw:(pl+1)*hw], Y[pl*pq:(pl+1)*pq]
			for p := 0; p < g.P; p++ {
				for q := 0; q < g.Q; q++ {
					h0, h1, w0, w1 := pw.window(p, q)
					var s float32
					for h := h0; h < h1; h++ {
						for _, v := range xs[h*g.W+w0 : h*g.W+w1] {
							s += v
						}
					}
					ys[p*g.Q+q] = s * inv
				}
			}
		}
	})
}

// AvgPoolBackward overwrites dx with the adjoint of AvgPoolForward.
func (b *Backend) AvgPoolBackward(g nn.PoolGeom, dy, dx nn.Buf) {
	DY, DX := Floats(dy), Floats(dx)
	poolChecks("AvgPoolBackward", g, DX, DY)
	pw := poolWin{g}
	hw, pq := g.H*g.W, g.P*g.Q
	inv := 1 / float32(g.KH*g.KW)
	b.pool.share(g.N*g.C, planeGrain(hw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			d, ds := DX[pl*hw:(pl+1)*hw], DY[pl*pq:(pl+1)*pq]
			clear(d)
			for p := 0; p < g.P; p++ {
				for q := 0; q < g.Q; q++ {
					h0, h1, w0, w1 := pw.window(p, q)
					v := ds[p*g.Q+q] * inv
					for h := h0; h < h1; h++ {
						row := d[h*g.W+w0 : h*g.W+w1]
						for i := range row {
							row[i] += v
						}
					}
				}
			}
		}
	})
}
