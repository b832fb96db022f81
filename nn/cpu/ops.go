package cpu

import (
	"math"

	"lethe/nn"
)

// elemGrain is the number of values below which an element-wise op runs on
// the calling goroutine: handing work to another core costs about as much
// as touching this many floats.
const elemGrain = 1 << 15

// Alloc returns n zeroed values.
func (b *Backend) Alloc(n int) nn.Buf { return make(Buf, n) }

// AllocInt returns n zeroed int32 values.
func (b *Backend) AllocInt(n int) nn.IntBuf { return make(IntBuf, n) }

// Free does nothing: the Go garbage collector owns CPU buffers.
func (b *Backend) Free(nn.Buf) {}

// FreeInt does nothing, as Free.
func (b *Backend) FreeInt(nn.IntBuf) {}

// Upload copies src into dst; the lengths must match.
func (b *Backend) Upload(dst nn.Buf, src []float32) {
	d := Floats(dst)
	if len(d) != len(src) {
		fail("Upload", "%d values into a buffer of %d", len(src), len(d))
	}
	copy(d, src)
}

// Download copies src into dst; the lengths must match.
func (b *Backend) Download(dst []float32, src nn.Buf) {
	s := Floats(src)
	if len(s) != len(dst) {
		fail("Download", "a buffer of %d values into %d", len(s), len(dst))
	}
	copy(dst, s)
}

// UploadInt copies src into dst; the lengths must match.
func (b *Backend) UploadInt(dst nn.IntBuf, src []int32) {
	d := Ints(dst)
	if len(d) != len(src) {
		fail("UploadInt", "%d values into a buffer of %d", len(src), len(d))
	}
	copy(d, src)
}

// DownloadInt copies src into dst; the lengths must match.
func (b *Backend) DownloadInt(dst []int32, src nn.IntBuf) {
	s := Ints(src)
	if len(s) != len(dst) {
		fail("DownloadInt", "a buffer of %d values into %d", len(s), len(dst))
	}
	copy(dst, s)
}

// Copy copies src into dst; the lengths must match.
func (b *Backend) Copy(dst, src nn.Buf) {
	d, s := Floats(dst), Floats(src)
	if len(d) != len(s) {
		fail("Copy", "%d values into a buffer of %d", len(s), len(d))
	}
	copy(d, s)
}

// Fill sets every value of dst to v.
func (b *Backend) Fill(dst nn.Buf, v float32) {
	d := Floats(dst)
	b.pool.share(len(d), elemGrain, func(lo, hi int) {
		s := d[lo:hi]
		if v == 0 {
			clear(s)
			return
		}
		for i := range s {
			s[i] = v
		}
	})
}

// Sync returns nil: every CPU op has finished when it returns.
func (b *Backend) Sync() error { return nil }

func sameLen(op string, bufs ...[]float32) {
	for _, x := range bufs[1:] {
		if len(x) != len(bufs[0]) {
			fail(op, "buffers of %d and %d values", len(bufs[0]), len(x))
		}
	}
}

// ReLUForward: y = max(x, 0). NaN stays NaN, as in PyTorch.
func (b *Backend) ReLUForward(x, y nn.Buf) {
	X, Y := Floats(x), Floats(y)
	sameLen("ReLUForward", X, Y)
	b.pool.share(len(X), elemGrain, func(lo, hi int) { relu(X[lo:hi], Y[lo:hi]) })
}

// ReLUBackward: dx = dy where y > 0, else 0.
func (b *Backend) ReLUBackward(y, dy, dx nn.Buf) {
	Y, DY, DX := Floats(y), Floats(dy), Floats(dx)
	sameLen("ReLUBackward", Y, DY, DX)
	b.pool.share(len(Y), elemGrain, func(lo, hi int) { reluBackward(Y[lo:hi], DY[lo:hi], DX[lo:hi]) })
}

// Add: dst = a + b.
func (b *Backend) Add(dst, x, y nn.Buf) {
	D, A, B := Floats(dst), Floats(x), Floats(y)
	sameLen("Add", D, A, B)
	b.pool.share(len(D), elemGrain, func(lo, hi int) { add(D[lo:hi], A[lo:hi], B[lo:hi]) })
}

// Axpy: y += alpha·x.
func (b *Backend) Axpy(alpha float32, x, y nn.Buf) {
	X, Y := Floats(x), Floats(y)
	sameLen("Axpy", X, Y)
	b.pool.share(len(X), elemGrain, func(lo, hi int) {
		axpy(alpha, X[lo:hi], Y[lo:hi])
	})
}

func axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// Scale: x *= alpha.
func (b *Backend) Scale(x nn.Buf, alpha float32) {
	X := Floats(x)
	b.pool.share(len(X), elemGrain, func(lo, hi int) {
		s := X[lo:hi]
		for i := range s {
			s[i] *= alpha
		}
	})
}

// Mul: dst = a ⊙ b.
func (b *Backend) Mul(dst, x, y nn.Buf) {
	D, A, B := Floats(dst), Floats(x), Floats(y)
	sameLen("Mul", D, A, B)
	b.pool.share(len(D), elemGrain, func(lo, hi int) {
		a, bb := A[lo:hi], B[lo:hi]
		for i := range a {
			D[lo+i] = a[i] * bb[i]
		}
	})
}

// AddSquared: acc += alpha·x⊙x.
func (b *Backend) AddSquared(acc, x nn.Buf, alpha float32) {
	A, X := Floats(acc), Floats(x)
	sameLen("AddSquared", A, X)
	b.pool.share(len(X), elemGrain, func(lo, hi int) {
		a := A[lo:hi]
		for i, v := range X[lo:hi] {
			a[i] += alpha * v * v
		}
	})
}

// AddDiag adds v to the diagonal of the n x n matrix x.
func (b *Backend) AddDiag(x nn.Buf, n int, v float32) {
	X := Floats(x)
	if !(len(X) >= n*n) {
		fail("AddDiag", "a %dx%d matrix in %d values", n, n, len(X))
	}
	for i := 0; i < n; i++ {
		X[i*n+i] += v
	}
}

// Dot returns Σ x⊙y accumulated in float64.
func (b *Backend) Dot(x, y nn.Buf) float64 {
	X, Y := Floats(x), Floats(y)
	sameLen("Dot", X, Y)
	parts := make([]float64, b.threads)
	b.pool.split(len(X), elemGrain, func(w, lo, hi int) {
		var s float64
		for i, v := range X[lo:hi] {
			s += float64(v) * float64(Y[lo+i])
		}
		parts[w] = s
	})
	var s float64
	for _, p := range parts {
		s += p
	}
	return s
}

// CountNonFinite returns how many values of x are NaN or ±Inf.
func (b *Backend) CountNonFinite(x nn.Buf) int {
	X := Floats(x)
	parts := make([]int, b.threads)
	b.pool.split(len(X), elemGrain, func(w, lo, hi int) {
		c := 0
		for _, v := range X[lo:hi] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				c++
			}
		}
		parts[w] = c
	})
	n := 0
	for _, c := range parts {
		n += c
	}
	return n
}

// SelectiveDampen is SSD's update: where impF > alpha·impD,
// w *= min(lambda·impD/impF, 1).
func (b *Backend) SelectiveDampen(w, impF, impD nn.Buf, alpha, lambda float32) {
	W, F, D := Floats(w), Floats(impF), Floats(impD)
	sameLen("SelectiveDampen", W, F, D)
	b.pool.share(len(W), elemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if F[i] > alpha*D[i] {
				beta := lambda * D[i] / F[i]
				if beta < 1 {
					W[i] *= beta
				}
			}
		}
	})
}
