package cpu

import (
	"fmt"
	"math"
	"testing"

	"lethe/nn"
)

// poolGeoms: windows that tile exactly and ones that leave a ragged edge
// (7x9 under 3x3 stride 2, 5x5 under 2x2 stride 2), padding, a global
// window, a non-square window, batch 1 and more.
var poolGeoms = [][8]int{
	// n, c, h, w, kh, kw, stride, pad
	{2, 3, 7, 9, 3, 3, 2, 1},
	{1, 1, 5, 5, 2, 2, 2, 0},
	{3, 5, 8, 8, 3, 3, 1, 0},
	{2, 2, 6, 7, 2, 2, 2, 1},
	{2, 4, 4, 4, 4, 4, 4, 0},
	{1, 3, 9, 6, 3, 2, 1, 1},
	{4, 1, 28, 28, 2, 2, 2, 0},
}

func poolName(g nn.PoolGeom) string {
	return fmt.Sprintf("n%d_c%d_%dx%d_%dx%d_s%d_p%d", g.N, g.C, g.H, g.W, g.KH, g.KW, g.Stride, g.Pad)
}

// naiveMaxPool scans each window in row-major order keeping the first
// maximum.
func naiveMaxPool(g nn.PoolGeom, x []float32) ([]float64, []int32) {
	y := make([]float64, g.N*g.C*g.P*g.Q)
	am := make([]int32, len(y))
	for pl := 0; pl < g.N*g.C; pl++ {
		for p := 0; p < g.P; p++ {
			for q := 0; q < g.Q; q++ {
				best, idx := math.Inf(-1), -1
				for i := 0; i < g.KH; i++ {
					for j := 0; j < g.KW; j++ {
						h, w := p*g.Stride-g.Pad+i, q*g.Stride-g.Pad+j
						if h < 0 || h >= g.H || w < 0 || w >= g.W {
							continue
						}
						if v := float64(x[pl*g.H*g.W+h*g.W+w]); idx < 0 || v > best {
							best, idx = v, h*g.W+w
						}
					}
				}
				y[pl*g.P*g.Q+p*g.Q+q], am[pl*g.P*g.Q+p*g.Q+q] = best, int32(idx)
			}
		}
	}
	return y, am
}

func naiveAvgPool(g nn.PoolGeom, x []float32) []float64 {
	y := make([]float64, g.N*g.C*g.P*g.Q)
	for pl := 0; pl < g.N*g.C; pl++ {
		for p := 0; p < g.P; p++ {
			for q := 0; q < g.Q; q++ {
				var s float64
				for i := 0; i < g.KH; i++ {
					for j := 0; j < g.KW; j++ {
						h, w := p*g.Stride-g.Pad+i, q*g.Stride-g.Pad+j
						if h >= 0 && h < g.H && w >= 0 && w < g.W {
							s += float64(x[pl*g.H*g.W+h*g.W+w])
						}
					}
				}
				y[pl*g.P*g.Q+p*g.Q+q] = s / float64(g.KH*g.KW)
			}
		}
	}
	return y
}

func naiveAvgPoolBackward(g nn.PoolGeom, dy []float32) []float64 {
	dx := make([]float64, g.N*g.C*g.H*g.W)
	for pl := 0; pl < g.N*g.C; pl++ {
		for p := 0; p < g.P; p++ {
			for q := 0; q < g.Q; q++ {
				v := float64(dy[pl*g.P*g.Q+p*g.Q+q]) / float64(g.KH*g.KW)
				for i := 0; i < g.KH; i++ {
					for j := 0; j < g.KW; j++ {
						h, w := p*g.Stride-g.Pad+i, q*g.Stride-g.Pad+j
						if h >= 0 && h < g.H && w >= 0 && w < g.W {
							dx[pl*g.H*g.W+h*g.W+w] += v
						}
					}
				}
			}
		}
	}
	return dx
}

func TestPoolAgainstNaive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be *Backend) {
		rng := newRNG(9)
		for _, gv := range poolGeoms {
			g, err := nn.NewPoolGeom(gv[0], gv[1], gv[2], gv[3], gv[4], gv[5], gv[6], gv[7])
			if err != nil {
				t.Fatal(err)
			}
			name := poolName(g)
			for _, ties := range []bool{false, true} {
				x := randBuf(rng, g.N*g.C*g.H*g.W)
				if ties {
					// Small integers: most windows hold several maxima,
					// and negative ones check that padding is not a 0.
					for i := range x {
						x[i] = float32(rng.IntN(3) - 2)
					}
				}
				wantY, wantA := naiveMaxPool(g, x)
				y, am := nanBuf(len(wantY)), make(IntBuf, len(wantY))
				be.MaxPoolForward(g, x, y, am)
				closeTo(t, name+"/max/y", y, wantY, 0, 0)
				for i := range am {
					if am[i] != wantA[i] {
						t.Fatalf("%s ties=%v: argmax[%d] = %d, want %d", name, ties, i, am[i], wantA[i])
					}
				}
				dy := randBuf(rng, len(y))
				wantDX := make([]float64, len(x))
				for i, a := range wantA {
					wantDX[(i/(g.P*g.Q))*g.H*g.W+int(a)] += float64(dy[i])
				}
				dx := nanBuf(len(x))
				be.MaxPoolBackward(g, dy, am, dx)
				closeTo(t, name+"/max/dx", dx, wantDX, 1e-6, 1e-6)

				ya := nanBuf(len(y))
				be.AvgPoolForward(g, x, ya)
				closeTo(t, name+"/avg/y", ya, naiveAvgPool(g, x), 1e-6, 1e-5)
				dxa := nanBuf(len(x))
				be.AvgPoolBackward(g, dy, dxa)
				closeTo(t, name+"/avg/dx", dxa, naiveAvgPoolBackward(g, dy), 1e-6, 1e-5)
			}
		}
	})
}

// TestMaxPoolNaNAndZeros: a NaN in a window wins (the last one, as in
// PyTorch's CPU kernel), so divergence is not hidden by pooling; −0 and +0
// tie, so the first is kept; a window of −Inf points at its first value.
func TestMaxPoolNaNAndZeros(t *testing.T) {
	be := Default()
	g, _ := nn.NewPoolGeom(1, 1, 2, 2, 2, 2, 2, 0)
	nan, negZero, inf := float32(math.NaN()), float32(math.Copysign(0, -1)), float32(math.Inf(1))
	for _, c := range []struct {
		x    Buf
		want int32
	}{
		{Buf{1, nan, 3, 2}, 1},
		{Buf{nan, 5, nan, 2}, 2},
		{Buf{-1, negZero, 0, -2}, 1},
		{Buf{-inf, -inf, -inf, -inf}, 0},
		{Buf{2, inf, 7, inf}, 1},
	} {
		y, am := make(Buf, 1), make(IntBuf, 1)
		be.MaxPoolForward(g, c.x, y, am)
		if am[0] != c.want || math.Float32bits(y[0]) != math.Float32bits(c.x[c.want]) {
			t.Errorf("max pool of %v = %v at %d, want %v at %d", c.x, y[0], am[0], c.x[c.want], c.want)
		}
	}
}
