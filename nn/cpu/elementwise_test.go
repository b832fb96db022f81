package cpu

import (
	"math"
	"testing"
)

// Sizes straddle elemGrain so that both the inline and the split paths run.
var elemSizes = []int{0, 1, 7, elemGrain - 1, 3*elemGrain + 5}

func TestElementwiseAgainstNaive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be *Backend) {
		rng := newRNG(31)
		for _, n := range elemSizes {
			a, b := randBuf(rng, n), randBuf(rng, n)
			want := make([]float64, n)

			be.ReLUForward(a, b)
			for i, v := range a {
				want[i] = math.Max(float64(v), 0)
			}
			closeTo(t, "ReLUForward", b, want, 0, 0)

			y, dy, dx := randBuf(rng, n), randBuf(rng, n), nanBuf(n)
			be.ReLUBackward(y, dy, dx)
			for i := range want {
				want[i] = 0
				if y[i] > 0 {
					want[i] = float64(dy[i])
				}
			}
			closeTo(t, "ReLUBackward", dx, want, 0, 0)

			d := nanBuf(n)
			be.Add(d, a, b)
			for i := range want {
				want[i] = float64(a[i] + b[i])
			}
			closeTo(t, "Add", d, want, 0, 0)

			be.Mul(d, a, b)
			for i := range want {
				want[i] = float64(a[i] * b[i])
			}
			closeTo(t, "Mul", d, want, 0, 0)

			c := clone(b)
			be.Axpy(-0.5, a, c)
			for i := range want {
				want[i] = float64(b[i]) - 0.5*float64(a[i])
			}
			closeTo(t, "Axpy", c, want, 1e-6, 1e-6)

			c = clone(a)
			be.Scale(c, 3)
			for i := range want {
				want[i] = 3 * float64(a[i])
			}
			closeTo(t, "Scale", c, want, 1e-6, 1e-6)

			c = clone(b)
			be.AddSquared(c, a, 0.25)
			for i := range want {
				want[i] = float64(b[i]) + 0.25*float64(a[i])*float64(a[i])
			}
			closeTo(t, "AddSquared", c, want, 1e-6, 1e-6)

			be.Fill(c, 2.5)
			for i := range want {
				want[i] = 2.5
			}
			closeTo(t, "Fill", c, want, 0, 0)
			be.Fill(c, 0)
			clear(want)
			closeTo(t, "Fill0", c, want, 0, 0)

			var dot, abs float64
			for i := range a {
				dot += float64(a[i]) * float64(b[i])
				abs += math.Abs(float64(a[i]) * float64(b[i]))
			}
			if got := be.Dot(a, b); math.Abs(got-dot) > 1e-12*abs+1e-12 {
				t.Errorf("Dot n=%d = %v, want %v", n, got, dot)
			}

			c = clone(a)
			bad := 0
			for i := 0; i < n; i += 97 {
				c[i] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[bad%3]
				bad++
			}
			if got := be.CountNonFinite(c); got != bad {
				t.Errorf("CountNonFinite n=%d = %d, want %d", n, got, bad)
			}

			// SelectiveDampen with importances drawn so that all three
			// cases (untouched, dampened, clipped at 1) occur.
			w, impF, impD := randBuf(rng, n), randBuf(rng, n), randBuf(rng, n)
			for i := range impF {
				impF[i] = float32(math.Abs(float64(impF[i])) * 20)
				impD[i] = float32(math.Abs(float64(impD[i])))
			}
			for i := range want {
				want[i] = float64(w[i])
				if float64(impF[i]) > 10*float64(impD[i]) {
					beta := 2 * float64(impD[i]) / float64(impF[i])
					want[i] *= math.Min(beta, 1)
				}
			}
			be.SelectiveDampen(w, impF, impD, 10, 2)
			closeTo(t, "SelectiveDampen", w, want, 1e-7, 1e-6)
		}
		x := randBuf(rng, 25)
		want := f64(x)
		for i := 0; i < 5; i++ {
			want[i*5+i] += 0.5
		}
		be.AddDiag(x, 5, 0.5)
		closeTo(t, "AddDiag", x, want, 0, 0)
	})
}

// TestReLUEdgeValues: NaN passes through the forward pass (as in
// PyTorch), and the backward pass lets the gradient through exactly where
// y > 0, including +Inf and the smallest subnormal, but not at −0 or NaN.
func TestReLUEdgeValues(t *testing.T) {
	be := Default()
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	sub := math.Float32frombits(1)
	x := Buf{nan, -inf, inf, float32(math.Copysign(0, -1)), 0, sub, -sub, -2, 3}
	y := make(Buf, len(x))
	be.ReLUForward(x, y)
	if !math.IsNaN(float64(y[0])) || y[1] != 0 || y[2] != inf || y[5] != sub || y[6] != 0 || y[7] != 0 || y[8] != 3 {
		t.Fatalf("ReLUForward(%v) = %v", x, y)
	}
	dy := Buf{1, 2, 3, 4, 5, 6, 7, 8, 9}
	dx := nanBuf(len(x))
	be.ReLUBackward(x, dy, dx)
	want := []float32{0, 0, 3, 0, 0, 6, 0, 0, 9}
	for i := range want {
		if dx[i] != want[i] {
			t.Fatalf("ReLUBackward at y=%v: dx = %v, want %v (all: %v)", x[i], dx[i], want[i], dx)
		}
	}
}

func TestMemoryOps(t *testing.T) {
	be := Default()
	b := be.Alloc(5)
	for i := 0; i < 5; i++ {
		if Floats(b)[i] != 0 {
			t.Fatal("Alloc not zeroed")
		}
	}
	be.Upload(b, []float32{1, 2, 3, 4, 5})
	v := b.Slice(1, 3)
	be.Fill(v, 9)
	got := make([]float32, 5)
	be.Download(got, b)
	if got[0] != 1 || got[1] != 9 || got[3] != 9 || got[4] != 5 {
		t.Fatalf("Slice does not share storage: %v", got)
	}
	c := be.Alloc(5)
	be.Copy(c, b)
	if Floats(c)[2] != 9 {
		t.Fatal("Copy")
	}
	ib := be.AllocInt(4)
	be.UploadInt(ib.Slice(2, 2), []int32{7, 8})
	gi := make([]int32, 4)
	be.DownloadInt(gi, ib)
	if gi[2] != 7 || gi[3] != 8 || gi[0] != 0 {
		t.Fatalf("int slice: %v", gi)
	}
	// A length mismatch is a programming error and must not truncate
	// silently.
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("Upload of 3 values into 5 did not panic")
		}
	}()
	be.Upload(b, []float32{1, 2, 3})
}

func TestSyncAndName(t *testing.T) {
	be := Default()
	if be.Sync() != nil || be.Name() != "cpu" {
		t.Fatal("Sync or Name")
	}
}
