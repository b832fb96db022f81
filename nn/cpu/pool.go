package cpu

import (
	"math"

	"lethe/nn"
)

// Pooling works plane by plane ([H, W] of one image and channel), each
// worker owning whole planes.

func poolChecks(op string, g nn.PoolGeom, x, y []float32) {
	check(op, len(x) == g.N*g.C*g.H*g.W, "input has %d values, geometry %+v needs %d", len(x), g, g.N*g.C*g.H*g.W)
	check(op, len(y) == g.N*g.C*g.P*g.Q, "output has %d values, geometry %+v needs %d", len(y), g, g.N*g.C*g.P*g.Q)
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
	check("MaxPoolForward", len(A) == len(Y), "argmax has %d values, output %d", len(A), len(Y))
	pw := poolWin{g}
	hw, pq := g.H*g.W, g.P*g.Q
	b.pool.split(g.N*g.C, planeGrain(hw), func(_, lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			xs, ys, as := X[pl*hw:(pl+1)*hw], Y[pl*pq:(pl+1)*pq], A[pl*pq:(pl+1)*pq]
			for p := 0; p < g.P; p++ {
				for q := 0; q < g.Q; q++ {
					h0, h1, w0, w1 := pw.window(p, q)
					best, idx := float32(math.Inf(-1)), h0*g.W+w0
					for h := h0; h < h1; h++ {
						row := xs[h*g.W : h*g.W+w1]
						for w := w0; w < w1; w++ {
							if v := row[w]; v > best || v != v {
								best, idx = v, h*g.W+w
							}
						}
					}
					ys[p*g.Q+q], as[p*g.Q+q] = best, int32(idx)
				}
			}
		}
	})
}

// MaxPoolBackward overwrites dx: each output's gradient goes to its argmax.
func (b *Backend) MaxPoolBackward(g nn.PoolGeom, dy nn.Buf, argmax nn.IntBuf, dx nn.Buf) {
	DY, A, DX := Floats(dy), Ints(argmax), Floats(dx)
	poolChecks("MaxPoolBackward", g, DX, DY)
	check("MaxPoolBackward", len(A) == len(DY), "argmax has %d values, dy %d", len(A), len(DY))
	hw, pq := g.H*g.W, g.P*g.Q
	b.pool.split(g.N*g.C, planeGrain(hw), func(_, lo, hi int) {
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
	b.pool.split(g.N*g.C, planeGrain(hw), func(_, lo, hi int) {
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
	b.pool.split(g.N*g.C, planeGrain(hw), func(_, lo, hi int) {
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
