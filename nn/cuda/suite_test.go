package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"lethe/nn"
)

// The op suite runs every nn.Backend op on a backend under test and on
// the reference (the CPU backend) with the same random inputs and compares the outputs
// within stated tolerances. It runs on the emulator here and on a real
// GPU in gpu_test.go. Every subtest logs its largest error, so one GPU run
// tells everything.

// tol accepts |got-want| <= Abs + Rel·|want|, or with Global
// |got-want| <= Abs + Rel·max|want| (for gradients of whole models, whose
// small entries carry the absolute rounding error of large sums).
type tol struct {
	Abs, Rel float64
	Global   bool
}

var (
	// Element-wise float32 ops: the same operations in the same order.
	tolExact = tol{Abs: 1e-6, Rel: 1e-6}
	// Sums of up to a few thousand products in float32 (GEMM, convolution)
	// against the reference's float64.
	tolSum = tol{Abs: 2e-5, Rel: 2e-4}
	// Batch norm, softmax, optimisers: a few float32 roundings apart.
	tolNorm = tol{Abs: 1e-5, Rel: 1e-4}
	// Convolutions and GEMMs: cuDNN's FFT and Winograd algorithms spread
	// their rounding error over all outputs, so it is measured against the
	// largest output.
	tolConv = tol{Abs: 1e-5, Rel: 2e-4, Global: true}
	// TF32 keeps 10 mantissa bits: relative error ~5e-4 per product.
	tolTF32 = tol{Abs: 1e-4, Rel: 5e-3, Global: true}
)

type suite struct {
	be   nn.Backend
	ref  nn.Backend
	rng  *rand.Rand
	conv tol // convolutions and GEMM
}

func newSuite(be nn.Backend, conv tol) *suite {
	return &suite{be: be, ref: reference(), rng: rand.New(rand.NewPCG(7, 11)), conv: conv}
}

func (s *suite) randn(n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(s.rng.NormFloat64() * scale)
	}
	return v
}

func (s *suite) uniform(n int, lo, hi float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + (hi-lo)*s.rng.Float64())
	}
	return v
}

// pair is one tensor on both backends.
type pair struct {
	got  nn.Buf
	want nn.Buf
	n    int
}

func (s *suite) pair(vals []float32) pair {
	g := s.be.Alloc(len(vals))
	s.be.Upload(g, vals)
	w := s.ref.Alloc(len(vals))
	s.ref.Upload(w, vals)
	return pair{got: g, want: w, n: len(vals)}
}

func (s *suite) zeros(n int) pair { return s.pair(make([]float32, n)) }

func (s *suite) ints(vals []int32) (nn.IntBuf, nn.IntBuf) {
	g := s.be.AllocInt(len(vals))
	s.be.UploadInt(g, vals)
	w := s.ref.AllocInt(len(vals))
	s.ref.UploadInt(w, vals)
	return g, w
}

// compare downloads p from the backend under test and checks it against
// the reference, logging the largest error.
func (s *suite) compare(t *testing.T, what string, p pair, tl tol) {
	t.Helper()
	got := make([]float32, p.n)
	s.be.Download(got, p.got)
	if err := s.be.Sync(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	want := make([]float32, p.n)
	s.ref.Download(want, p.want)
	compareValues(t, what, got, want, tl)
}

func compareValues(t *testing.T, what string, got, want []float32, tl tol) {
	t.Helper()
	worst, wi, bad := 0.0, -1, 0
	scale := 0.0
	if tl.Global {
		for _, w := range want {
			if a := math.Abs(float64(w)); a > scale && !math.IsInf(a, 0) {
				scale = a
			}
		}
	}
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(w) || math.IsInf(w, 0) {
			if !(math.IsNaN(w) && math.IsNaN(g)) && g != w {
				bad++
				if wi < 0 {
					wi = i
				}
			}
			continue
		}
		e := math.Abs(g - w)
		ref := math.Abs(w)
		if tl.Global {
			ref = scale
		}
		if e > tl.Abs+tl.Rel*ref || math.IsNaN(g) {
			bad++
		}
		if e > worst || math.IsNaN(e) {
			worst, wi = e, i
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values out of tolerance %+v; worst at %d: got %v, want %v", what, bad, len(want), tl, wi, got[wi], want[wi])
		return
	}
	kind := ""
	if tl.Global {
		kind = fmt.Sprintf(" of max |want| %.3g", scale)
	}
	t.Logf("%s: %d values, max |err| %.3g (tolerance abs %.0e rel %.0e%s)", what, len(want), worst, tl.Abs, tl.Rel, kind)
}

// run executes f on both backends with the matching buffers.
func (s *suite) run(f func(b nn.Backend, pick func(pair) nn.Buf)) {
	f(s.be, func(p pair) nn.Buf { return p.got })
	f(s.ref, func(p pair) nn.Buf { return p.want })
}

// runOpSuite runs every op group on a fresh backend from mk, so that an
// error in one group (errors are sticky) does not hide the others.
func runOpSuite(t *testing.T, mk func(t *testing.T) nn.Backend, conv tol) {
	for _, g := range []struct {
		name string
		test func(*suite, *testing.T)
	}{
		{"AllocZeroed", (*suite).testAllocZeroed},
		{"FillCopySlice", (*suite).testFillCopySlice},
		{"Elementwise", (*suite).testElementwise},
		{"DotAndNonFinite", (*suite).testReductions},
		{"Gemm", (*suite).testGemm},
		{"Conv", (*suite).testConv},
		{"ChannelOps", (*suite).testChannelOps},
		{"BatchNorm", (*suite).testBatchNorm},
		{"MaxPool", (*suite).testMaxPool},
		{"AvgPool", (*suite).testAvgPool},
		{"Softmax", (*suite).testSoftmax},
		{"Optimisers", (*suite).testOptimisers},
		{"SelectiveDampen", (*suite).testDampen},
	} {
		t.Run(g.name, func(t *testing.T) {
			be := mk(t)
			g.test(newSuite(be, conv), t)
			if cb, ok := be.(*Backend); ok {
				for _, f := range cb.Fallbacks() {
					t.Errorf("library failure worked around: %s", f)
				}
			}
		})
	}
}

func (s *suite) testAllocZeroed(t *testing.T) {
	// Recycled blocks must come back zeroed too.
	for round := 0; round < 2; round++ {
		b := s.be.Alloc(1000)
		got := make([]float32, 1000)
		s.be.Download(got, b)
		for i, v := range got {
			if v != 0 {
				t.Fatalf("round %d: Alloc value %d = %v, want 0", round, i, v)
			}
		}
		s.be.Fill(b, 3)
		s.be.Free(b)
		ib := s.be.AllocInt(333)
		gi := make([]int32, 333)
		s.be.DownloadInt(gi, ib)
		for i, v := range gi {
			if v != 0 {
				t.Fatalf("round %d: AllocInt value %d = %v, want 0", round, i, v)
			}
		}
		s.be.FreeInt(ib)
	}
	if err := s.be.Sync(); err != nil {
		t.Fatal(err)
	}
	t.Log("fresh and recycled buffers read back as zeros")
}

func (s *suite) testFillCopySlice(t *testing.T) {
	x := s.pair(s.randn(1001, 1))
	y := s.zeros(1001)
	s.run(func(b nn.Backend, p func(pair) nn.Buf) {
		b.Copy(p(y), p(x))
		b.Fill(p(x).Slice(100, 500), -2.5)
		b.Axpy(2, p(x).Slice(0, 300), p(y).Slice(701, 300))
	})
	s.compare(t, "Fill on a view", x, tolExact)
	s.compare(t, "Copy then Axpy between views", y, tolExact)
	ints := []int32{5, -1, 7, 1 << 30}
	g, _ := s.ints(ints)
	back := make([]int32, 2)
	s.be.DownloadInt(back, g.Slice(1, 2))
	if back[0] != -1 || back[1] != 7 {
		t.Errorf("DownloadInt of a view = %v, want [-1 7]", back)
	}
}

func (s *suite) testElementwise(t *testing.T) {
	const n = 4099
	a, b := s.pair(s.randn(n, 1)), s.pair(s.randn(n, 1))
	dst := s.zeros(n)
	s.run(func(bk nn.Backend, p func(pair) nn.Buf) { bk.ReLUForward(p(a), p(dst)) })
	s.compare(t, "ReLUForward", dst, tolExact)
	dx := s.zeros(n)
	s.run(func(bk nn.Backend, p func(pair) nn.Buf) { bk.ReLUBackward(p(dst), p(b), p(dx)) })
	s.compare(t, "ReLUBackward", dx, tolExact)
	s.run(func(bk nn.Backend, p func(pair) nn.Buf) { bk.Add(p(dst), p(a), p(b)) })
	s.compare(t, "Add", dst, tolExact)
	s.run(func(bk nn.Backend, p func(pair) nn.Buf) { bk.Mul(p(dst), p(a), p(b)) })
	s.compare(t, "Mul", dst, tolExact)
	s.run(func(bk nn.Backend, p func(pair) nn.Buf) { bk.Axpy(-0.37, p(a), p(dst)) })
	s.compare(t, "Axpy", dst, tolExact)
	s.run(func(bk nn.Backend, p func(pair) nn.Buf) { bk.Scale(p(dst), 1.7) })
	s.compare(t, "Scale", dst, tolExact)
	s.run(func(bk nn.Backend, p func(pair) nn.Buf) { bk.AddSquared(p(dst), p(b), 0.5) })
	s.compare(t, "AddSquared", dst, tolExact)
	m := s.pair(s.randn(37*37, 1))
	s.run(func(bk nn.Backend, p func(pair) nn.Buf) { bk.AddDiag(p(m), 37, 0.25) })
	s.compare(t, "AddDiag", m, tolExact)
}

func (s *suite) testReductions(t *testing.T) {
	for _, n := range []int{1, 255, 70001} {
		x, y := s.pair(s.randn(n, 1)), s.pair(s.randn(n, 1))
		got, want := s.be.Dot(x.got, y.got), s.ref.Dot(x.want, y.want)
		if err := s.be.Sync(); err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-9*(1+math.Abs(want)) {
			t.Errorf("Dot n=%d = %.15g, want %.15g", n, got, want)
		} else {
			t.Logf("Dot n=%d: |err| %.3g", n, math.Abs(got-want))
		}
	}
	vals := s.randn(5003, 1)
	for _, i := range []int{0, 17, 4000, 5002} {
		vals[i] = float32(math.NaN())
	}
	vals[99] = float32(math.Inf(1))
	vals[100] = float32(math.Inf(-1))
	x := s.pair(vals)
	if got, want := s.be.CountNonFinite(x.got), s.ref.CountNonFinite(x.want); got != want || want != 6 {
		t.Errorf("CountNonFinite = %d, want %d (6)", got, want)
	} else {
		t.Logf("CountNonFinite = %d", got)
	}
}

func (s *suite) testGemm(t *testing.T) {
	for _, c := range []struct {
		ta, tb      bool
		m, n, k     int
		pad         int // extra columns in each stored row
		alpha, beta float32
	}{
		{false, false, 17, 23, 31, 0, 1, 0},
		{true, false, 64, 10, 512, 0, 1, 0},
		{false, true, 33, 65, 17, 3, 0.5, 1},
		{true, true, 5, 7, 9, 1, -1, 0.25},
		{false, false, 128, 128, 128, 0, 1, 1},
	} {
		name := fmt.Sprintf("Gemm tA=%v tB=%v %dx%dx%d pad %d beta %v", c.ta, c.tb, c.m, c.n, c.k, c.pad, c.beta)
		ra, ca := c.m, c.k
		if c.ta {
			ra, ca = c.k, c.m
		}
		rb, cb := c.k, c.n
		if c.tb {
			rb, cb = c.n, c.k
		}
		lda, ldb, ldc := ca+c.pad, cb+c.pad, c.n+c.pad
		a, b, cc := s.pair(s.randn(ra*lda, 1)), s.pair(s.randn(rb*ldb, 1)), s.pair(s.randn(c.m*ldc, 1))
		s.run(func(bk nn.Backend, p func(pair) nn.Buf) {
			bk.Gemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, p(a), lda, p(b), ldb, c.beta, p(cc), ldc)
		})
		s.compare(t, name, cc, s.conv)
	}
}

func (s *suite) testConv(t *testing.T) {
	for _, c := range []struct{ n, ch, h, w, k, r, stride, pad int }{
		{2, 3, 9, 9, 4, 3, 1, 1},
		{3, 5, 8, 8, 6, 3, 2, 1},
		{2, 8, 8, 8, 16, 1, 2, 0},
		{1, 3, 15, 15, 4, 7, 2, 3},
		{4, 16, 6, 6, 8, 3, 1, 1},
		{2, 4, 7, 5, 3, 5, 1, 0},
	} {
		g, err := nn.NewConvGeom(c.n, c.ch, c.h, c.w, c.k, c.r, c.r, c.stride, c.pad)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%dx%d s%d p%d on %dx%dx%dx%d to %d", c.r, c.r, c.stride, c.pad, c.n, c.ch, c.h, c.w, c.k)
		x := s.pair(s.randn(g.N*g.C*g.H*g.W, 1))
		w := s.pair(s.randn(g.K*g.C*g.R*g.S, 0.3))
		y := s.pair(s.randn(g.N*g.K*g.P*g.Q, 1)) // garbage: must be overwritten
		s.run(func(b nn.Backend, p func(pair) nn.Buf) { b.ConvForward(g, p(x), p(w), p(y)) })
		s.compare(t, "ConvForward "+name, y, s.conv)
		dy := s.pair(s.randn(g.N*g.K*g.P*g.Q, 1))
		dx := s.pair(s.randn(g.N*g.C*g.H*g.W, 1)) // garbage: must be overwritten
		s.run(func(b nn.Backend, p func(pair) nn.Buf) { b.ConvBackwardData(g, p(w), p(dy), p(dx)) })
		s.compare(t, "ConvBackwardData "+name, dx, s.conv)
		dw := s.pair(s.randn(g.K*g.C*g.R*g.S, 1)) // accumulates onto this
		s.run(func(b nn.Backend, p func(pair) nn.Buf) { b.ConvBackwardFilter(g, p(x), p(dy), p(dw)) })
		s.compare(t, "ConvBackwardFilter (accumulating) "+name, dw, s.conv)
	}
}

func (s *suite) testChannelOps(t *testing.T) {
	for _, c := range []struct{ n, ch, hw int }{{3, 5, 7}, {16, 64, 64}, {128, 8, 1}, {2, 3, 300}} {
		name := fmt.Sprintf("[%d %d %d]", c.n, c.ch, c.hw)
		y := s.pair(s.randn(c.n*c.ch*c.hw, 1))
		bias := s.pair(s.randn(c.ch, 1))
		s.run(func(b nn.Backend, p func(pair) nn.Buf) { b.AddChannelBias(p(y), p(bias), c.n, c.ch, c.hw) })
		s.compare(t, "AddChannelBias "+name, y, tolExact)
		db := s.pair(s.randn(c.ch, 1))
		s.run(func(b nn.Backend, p func(pair) nn.Buf) { b.ChannelSum(p(y), c.n, c.ch, c.hw, p(db)) })
		s.compare(t, "ChannelSum (accumulating) "+name, db, tolSum)
		out := s.zeros(c.n * c.ch)
		s.run(func(b nn.Backend, p func(pair) nn.Buf) { b.ChannelMax(p(y), c.n, c.ch, c.hw, p(out)) })
		s.compare(t, "ChannelMax "+name, out, tolExact)
		s.run(func(b nn.Backend, p func(pair) nn.Buf) { b.ChannelMean(p(y), c.n, c.ch, c.hw, p(out)) })
		s.compare(t, "ChannelMean "+name, out, tolNorm)
	}
}

func (s *suite) testBatchNorm(t *testing.T) {
	for _, c := range []struct {
		n, ch, hw int
		eps       float32
	}{{4, 3, 25, 1e-5}, {32, 16, 64, 1e-5}, {8, 10, 1, 1e-3}, {2, 4, 9, 1e-6}} {
		name := fmt.Sprintf("[%d %d %d] eps %g", c.n, c.ch, c.hw, c.eps)
		x := s.pair(s.randn(c.n*c.ch*c.hw, 2))
		// Shift the channels so means are far from 0.
		shifted := make([]float32, x.n)
		s.be.Download(shifted, x.got)
		for i := range shifted {
			shifted[i] += float32((i / c.hw) % c.ch)
		}
		x = s.pair(shifted)
		gamma, beta := s.pair(s.uniform(c.ch, 0.5, 1.5)), s.pair(s.randn(c.ch, 0.5))
		rm, rv := s.pair(s.randn(c.ch, 0.1)), s.pair(s.uniform(c.ch, 0.5, 2))
		sm, si := s.zeros(c.ch), s.zeros(c.ch)
		y := s.zeros(x.n)
		s.run(func(b nn.Backend, p func(pair) nn.Buf) {
			b.BatchNormTrain(c.n, c.ch, c.hw, p(x), p(gamma), p(beta), p(y), p(rm), p(rv), p(sm), p(si), 0.1, c.eps)
		})
		s.compare(t, "BatchNormTrain y "+name, y, tolNorm)
		s.compare(t, "BatchNormTrain running mean "+name, rm, tolNorm)
		s.compare(t, "BatchNormTrain running var "+name, rv, tolNorm)
		s.compare(t, "BatchNormTrain saved mean "+name, sm, tolNorm)
		s.compare(t, "BatchNormTrain saved 1/std "+name, si, tolNorm)
		dy := s.pair(s.randn(x.n, 1))
		dx := s.pair(s.randn(x.n, 1))
		dg, db := s.pair(s.randn(c.ch, 1)), s.pair(s.randn(c.ch, 1))
		s.run(func(b nn.Backend, p func(pair) nn.Buf) {
			b.BatchNormBackward(c.n, c.ch, c.hw, p(x), p(dy), p(gamma), p(sm), p(si), p(dx), p(dg), p(db))
		})
		s.compare(t, "BatchNormBackward dx "+name, dx, tol{Abs: 1e-5, Rel: 1e-4, Global: true})
		s.compare(t, "BatchNormBackward dgamma (accumulating) "+name, dg, tolSum)
		s.compare(t, "BatchNormBackward dbeta (accumulating) "+name, db, tolSum)
		s.run(func(b nn.Backend, p func(pair) nn.Buf) {
			b.BatchNormEval(c.n, c.ch, c.hw, p(x), p(gamma), p(beta), p(rm), p(rv), p(y), c.eps)
		})
		s.compare(t, "BatchNormEval "+name, y, tolNorm)
		s.run(func(b nn.Backend, p func(pair) nn.Buf) {
			b.BatchNormEvalBackward(c.n, c.ch, c.hw, p(x), p(dy), p(gamma), p(rm), p(rv), p(dx), p(dg), p(db), c.eps)
		})
		s.compare(t, "BatchNormEvalBackward dx "+name, dx, tolNorm)
		s.compare(t, "BatchNormEvalBackward dgamma "+name, dg, tolSum)
		s.compare(t, "BatchNormEvalBackward dbeta "+name, db, tolSum)
	}
}

func (s *suite) testMaxPool(t *testing.T) {
	for _, c := range []struct{ n, ch, h, w, k, stride, pad int }{
		{2, 3, 8, 8, 2, 2, 0},
		{2, 4, 9, 9, 3, 2, 1},
		{1, 2, 7, 6, 3, 1, 1},
		{3, 2, 5, 5, 5, 1, 0},
	} {
		g, err := nn.NewPoolGeom(c.n, c.ch, c.h, c.w, c.k, c.k, c.stride, c.pad)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%dx%d s%d p%d on %dx%d", c.k, c.k, c.stride, c.pad, c.h, c.w)
		// Few distinct values: many ties, which must go to the first
		// position in row-major order.
		vals := s.randn(g.N*g.C*g.H*g.W, 1)
		for i := range vals {
			vals[i] = float32(math.Round(float64(vals[i])))
		}
		vals[3] = float32(math.NaN())
		x := s.pair(vals)
		y := s.zeros(g.N * g.C * g.P * g.Q)
		ag, aw := s.ints(make([]int32, y.n))
		s.be.MaxPoolForward(g, x.got, y.got, ag)
		s.ref.MaxPoolForward(g, x.want, y.want, aw)
		s.compare(t, "MaxPoolForward "+name, y, tolExact)
		gotIdx, wantIdx := make([]int32, y.n), make([]int32, y.n)
		s.be.DownloadInt(gotIdx, ag)
		s.ref.DownloadInt(wantIdx, aw)
		for i, v := range wantIdx {
			if gotIdx[i] != v {
				t.Errorf("MaxPoolForward %s: argmax[%d] = %d, want %d", name, i, gotIdx[i], v)
				break
			}
		}
		dy := s.pair(s.randn(y.n, 1))
		dx := s.pair(s.randn(x.n, 1))
		s.be.MaxPoolBackward(g, dy.got, ag, dx.got)
		s.ref.MaxPoolBackward(g, dy.want, aw, dx.want)
		s.compare(t, "MaxPoolBackward "+name, dx, tolExact)
	}
}

func (s *suite) testAvgPool(t *testing.T) {
	for _, c := range []struct{ n, ch, h, w, k, stride, pad int }{
		{2, 3, 8, 8, 2, 2, 0},
		{2, 3, 4, 4, 4, 1, 0},
		{1, 2, 7, 7, 3, 1, 1},
		{2, 2, 9, 9, 3, 2, 1},
	} {
		g, err := nn.NewPoolGeom(c.n, c.ch, c.h, c.w, c.k, c.k, c.stride, c.pad)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%dx%d s%d p%d on %dx%d", c.k, c.k, c.stride, c.pad, c.h, c.w)
		x := s.pair(s.randn(g.N*g.C*g.H*g.W, 1))
		y := s.zeros(g.N * g.C * g.P * g.Q)
		s.run(func(b nn.Backend, p func(pair) nn.Buf) { b.AvgPoolForward(g, p(x), p(y)) })
		s.compare(t, "AvgPoolForward "+name, y, tolNorm)
		dy := s.pair(s.randn(y.n, 1))
		dx := s.pair(s.randn(x.n, 1))
		s.run(func(b nn.Backend, p func(pair) nn.Buf) { b.AvgPoolBackward(g, p(dy), p(dx)) })
		s.compare(t, "AvgPoolBackward "+name, dx, tolNorm)
	}
}

func (s *suite) testSoftmax(t *testing.T) {
	for _, c := range []struct{ n, classes int }{{7, 10}, {64, 100}, {3, 1000}, {5, 1}} {
		name := fmt.Sprintf("%d x %d", c.n, c.classes)
		z := s.pair(s.randn(c.n*c.classes, 4))
		probs, losses, dl := s.zeros(z.n), s.zeros(c.n), s.zeros(z.n)
		s.run(func(b nn.Backend, p func(pair) nn.Buf) { b.Softmax(p(z), p(probs), c.n, c.classes, 0.5) })
		s.compare(t, "Softmax invT=0.5 "+name, probs, tolNorm)
		labels := make([]int32, c.n)
		for i := range labels {
			labels[i] = int32(s.rng.IntN(c.classes))
		}
		if c.n > 2 {
			labels[1] = int32(c.classes) // out of range: NaN loss
		}
		lg, lw := s.ints(labels)
		s.be.SoftmaxCrossEntropy(z.got, lg, c.n, c.classes, probs.got, losses.got, dl.got, 1/float32(c.n))
		s.ref.SoftmaxCrossEntropy(z.want, lw, c.n, c.classes, probs.want, losses.want, dl.want, 1/float32(c.n))
		s.compare(t, "SoftmaxCrossEntropy probs "+name, probs, tolNorm)
		s.compare(t, "SoftmaxCrossEntropy losses "+name, losses, tolNorm)
		s.compare(t, "SoftmaxCrossEntropy dlogits "+name, dl, tolNorm)
		s.be.SoftmaxCrossEntropy(z.got, lg, c.n, c.classes, probs.got, losses.got, nil, 1)
		s.compare(t, "SoftmaxCrossEntropy without dlogits "+name, losses, tolNorm)
		s.be.SoftmaxCrossEntropy(z.got, lg, c.n, c.classes, nil, nil, dl.got, 1/float32(c.n))
		s.compare(t, "SoftmaxCrossEntropy with only dlogits "+name, dl, tolNorm)
		tv := s.uniform(z.n, 0, 1)
		for i := 0; i < c.n; i++ {
			var sum float32
			for j := 0; j < c.classes; j++ {
				sum += tv[i*c.classes+j]
			}
			for j := 0; j < c.classes; j++ {
				tv[i*c.classes+j] /= sum
			}
		}
		tg := s.pair(tv)
		s.run(func(b nn.Backend, p func(pair) nn.Buf) {
			b.SoftTargetCrossEntropy(p(z), p(tg), c.n, c.classes, 0.25, p(probs), p(losses), p(dl), 0.5)
		})
		s.compare(t, "SoftTargetCrossEntropy probs "+name, probs, tolNorm)
		s.compare(t, "SoftTargetCrossEntropy losses "+name, losses, tol{Abs: 1e-4, Rel: 1e-4})
		s.compare(t, "SoftTargetCrossEntropy dlogits "+name, dl, tolNorm)
	}
}

func (s *suite) testOptimisers(t *testing.T) {
	const n = 3001
	for _, c := range []struct {
		name              string
		lr, mom, damp, wd float32
		nesterov          bool
	}{
		{"plain", 0.1, 0, 0, 0, false},
		{"momentum", 0.05, 0.9, 0, 5e-4, false},
		{"nesterov", 0.05, 0.9, 0, 5e-4, true},
		{"dampening", 0.05, 0.9, 0.3, 0, false},
	} {
		p, buf := s.pair(s.randn(n, 1)), s.zeros(n)
		for step := 0; step < 3; step++ {
			g := s.pair(s.randn(n, 1))
			s.run(func(b nn.Backend, pk func(pair) nn.Buf) {
				b.SGDStep(pk(p), pk(g), pk(buf), c.lr, c.mom, c.damp, c.wd, c.nesterov, step == 0)
			})
		}
		s.compare(t, "SGDStep "+c.name+" params after 3 steps", p, tolNorm)
		if c.mom != 0 {
			s.compare(t, "SGDStep "+c.name+" momentum buffer", buf, tolNorm)
		}
	}
	for _, decoupled := range []bool{false, true} {
		p, m, v := s.pair(s.randn(n, 1)), s.zeros(n), s.zeros(n)
		for step := 1; step <= 4; step++ {
			g := s.pair(s.randn(n, 1))
			s.run(func(b nn.Backend, pk func(pair) nn.Buf) {
				b.AdamStep(pk(p), pk(g), pk(m), pk(v), 1e-2, 0.9, 0.999, 1e-8, 0.01, step, decoupled)
			})
		}
		name := fmt.Sprintf("AdamStep decoupled=%v", decoupled)
		s.compare(t, name+" params after 4 steps", p, tolNorm)
		s.compare(t, name+" first moment", m, tolNorm)
		s.compare(t, name+" second moment", v, tolNorm)
	}
}

func (s *suite) testDampen(t *testing.T) {
	const n = 2000
	w := s.pair(s.randn(n, 1))
	f, d := s.pair(s.uniform(n, 0, 10)), s.pair(s.uniform(n, 0, 1))
	s.run(func(b nn.Backend, p func(pair) nn.Buf) { b.SelectiveDampen(p(w), p(f), p(d), 5, 1) })
	s.compare(t, "SelectiveDampen", w, tolExact)
}
