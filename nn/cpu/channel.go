package cpu

import (
	"math"

	"lethe/nn"
)

// planeGrain is how many [hw] planes a worker should get at least so that
// each handles about elemGrain values.
func planeGrain(hw int) int { return max(1, elemGrain/max(hw, 1)) }

func checkNCHW(op string, x []float32, n, c, hw int, what string) {
	if len(x) != n*c*hw {
		fail(op, "%s has %d values, want n·c·hw = %d·%d·%d = %d", what, len(x), n, c, hw, n*c*hw)
	}
}

// AddChannelBias: y[n,c,i] += bias[c].
func (b *Backend) AddChannelBias(y, bias nn.Buf, n, c, hw int) {
	Y, B := Floats(y), Floats(bias)
	checkNCHW("AddChannelBias", Y, n, c, hw, "y")
	if len(B) != c {
		fail("AddChannelBias", "bias has %d values for %d channels", len(B), c)
	}
	b.pool.share(n*c, planeGrain(hw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			v := B[pl%c]
			row := Y[pl*hw : (pl+1)*hw]
			for i := range row {
				row[i] += v
			}
		}
	})
}

// ChannelSum: db[c] += Σ_{n,i} dy[n,c,i], summed in float64.
func (b *Backend) ChannelSum(dy nn.Buf, n, c, hw int, db nn.Buf) {
	DY, DB := Floats(dy), Floats(db)
	checkNCHW("ChannelSum", DY, n, c, hw, "dy")
	if len(DB) != c {
		fail("ChannelSum", "db has %d values for %d channels", len(DB), c)
	}
	b.pool.share(c, planeGrain(n*hw), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var s float64
			for i := 0; i < n; i++ {
				for _, v := range DY[(i*c+ch)*hw : (i*c+ch+1)*hw] {
					s += float64(v)
				}
			}
			DB[ch] += float32(s)
		}
	})
}

// ChannelMax: out[n,c] = max_i x[n,c,i]; a NaN anywhere in the plane gives
// NaN, as torch.amax.
func (b *Backend) ChannelMax(x nn.Buf, n, c, hw int, out nn.Buf) {
	X, O := Floats(x), Floats(out)
	checkNCHW("ChannelMax", X, n, c, hw, "x")
	if len(O) != n*c {
		fail("ChannelMax", "out has %d values, want %d", len(O), n*c)
	}
	if hw <= 0 {
		fail("ChannelMax", "empty planes")
	}
	b.pool.share(n*c, planeGrain(hw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			O[pl] = planeMax(X[pl*hw : (pl+1)*hw])
		}
	})
}

// ChannelMean: out[n,c] = mean_i x[n,c,i], summed in float64.
func (b *Backend) ChannelMean(x nn.Buf, n, c, hw int, out nn.Buf) {
	X, O := Floats(x), Floats(out)
	checkNCHW("ChannelMean", X, n, c, hw, "x")
	if len(O) != n*c {
		fail("ChannelMean", "out has %d values, want %d", len(O), n*c)
	}
	if hw <= 0 {
		fail("ChannelMean", "empty planes")
	}
	b.pool.share(n*c, planeGrain(hw), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			var s float64
			for _, v := range X[pl*hw : (pl+1)*hw] {
				s += float64(v)
			}
			O[pl] = float32(s / float64(hw))
		}
	})
}

// planeMax is the maximum of v (NaN if v holds one: the builtin max
// propagates NaN), over four independent accumulators so the loop is not
// one long dependency chain of compares.
func planeMax(v []float32) float32 {
	inf := float32(math.Inf(-1))
	m0, m1, m2, m3 := inf, inf, inf, inf
	i := 0
	for ; i+4 <= len(v); i += 4 {
		m0 = max(m0, v[i])
		m1 = max(m1, v[i+1])
		m2 = max(m2, v[i+2])
		m3 = max(m3, v[i+3])
	}
	for ; i < len(v); i++ {
		m0 = max(m0, v[i])
	}
	return max(max(m0, m1), max(m2, m3))
}
