package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// testConfigs are the backends every op test runs on: one thread (no
// splitting), and three threads so that uneven splits are exercised.
var testConfigs = []Options{{Threads: 1}, {Threads: 3}}

func forEachBackend(t *testing.T, fn func(t *testing.T, be *Backend)) {
	t.Helper()
	for _, o := range testConfigs {
		be, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("threads=%d", o.Threads), func(t *testing.T) { fn(t, be) })
		be.Close()
	}
}

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

func randBuf(rng *rand.Rand, n int) Buf { return Buf(randSlice(rng, n)) }

func nanBuf(n int) Buf {
	b := make(Buf, n)
	for i := range b {
		b[i] = float32(math.NaN())
	}
	return b
}

func clone(b []float32) Buf { return append(Buf(nil), b...) }

// closeTo checks |got−want| ≤ atol + rtol·|want| element-wise and reports
// the first few failures.
func closeTo(t *testing.T, what string, got []float32, want []float64, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		g, w := float64(got[i]), want[i]
		if !(math.Abs(g-w) <= atol+rtol*math.Abs(w)) {
			if bad < 5 {
				t.Errorf("%s[%d] = %.7g, want %.7g (diff %.3g)", what, i, g, w, g-w)
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(got))
	}
}

// closeToScaled checks |got−want| ≤ tol·scale[i] + 1e-6, where scale[i] is
// Σ|terms| of the sum that produced want[i]: the bound on float32 rounding
// of a sum does not depend on how much the terms cancel.
func closeToScaled(t *testing.T, what string, got []float32, want, scale []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		g, w := float64(got[i]), want[i]
		if !(math.Abs(g-w) <= tol*scale[i]+1e-6) {
			if bad < 5 {
				t.Errorf("%s[%d] = %.7g, want %.7g (diff %.3g, scale %.3g)", what, i, g, w, g-w, scale[i])
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(got))
	}
}

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// withConvTuning runs fn with the chunking knobs set, restoring them after.
func withConvTuning(targetCols, min1x1 int, fn func()) {
	oldT, oldM := convTargetCols, direct1x1MinPQ
	convTargetCols, direct1x1MinPQ = targetCols, min1x1
	defer func() { convTargetCols, direct1x1MinPQ = oldT, oldM }()
	fn()
}
