package cpu

import "lethe/nn"

// gemmMinFlopsPerWorker is the work below which splitting a GEMM over
// goroutines costs more than it saves (a hand-off is a few microseconds,
// sgemm runs at tens of GFLOP/s).
const gemmMinFlopsPerWorker = 1 << 20

// Gemm computes C = alpha·op(A)·op(B) + beta·C (row-major). beta == 0
// overwrites C without reading it. Large products are split over the
// workers by rows of C (or by columns when C is short and wide), each
// worker calling a single-threaded sgemm.
func (b *Backend) Gemm(transA, transB bool, m, n, k int, alpha float32, a nn.Buf, lda int, bb nn.Buf, ldb int, beta float32, c nn.Buf, ldc int) {
	A, B, C := Floats(a), Floats(bb), Floats(c)
	checkGemm(transA, transB, m, n, k, len(A), lda, len(B), ldb, len(C), ldc)
	b.gemm(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, b.threads)
}

func checkGemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	if !(m >= 0 && n >= 0 && k >= 0) {
		fail("Gemm", "negative size m=%d n=%d k=%d", m, n, k)
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	need := func(rows, cols, ld, have int, name string) {
		if rows == 0 || cols == 0 {
			return
		}
		if !(ld >= cols) {
			fail("Gemm", "ld%s = %d < %d columns", name, ld, cols)
		}
		if !(have >= (rows-1)*ld+cols) {
			fail("Gemm", "%s has %d values, a %dx%d matrix with stride %d needs %d", name, have, rows, cols, ld, (rows-1)*ld+cols)
		}
	}
	need(ar, ac, lda, la, "a")
	need(br, bc, ldb, lb, "b")
	need(m, n, ldc, lc, "c")
}

// gemm is Gemm on slices using up to `workers` goroutines.
func (b *Backend) gemm(transA, transB bool, m, n, k int, alpha float32, A []float32, lda int, B []float32, ldb int, beta float32, C []float32, ldc int, workers int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleMatrix(C, m, n, ldc, beta)
		return
	}
	flops := 2 * m * n * k
	nw := min(workers, flops/gemmMinFlopsPerWorker)
	if nw <= 1 {
		b.blas.sgemm(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
		return
	}
	if m >= n {
		// Split rows of C: rows [i0, i1) need rows i0.. of op(A).
		nw = min(nw, m)
		b.pool.run(nw, func(w int) {
			i0, i1 := w*m/nw, (w+1)*m/nw
			if i0 == i1 {
				return
			}
			aOff := i0 * lda
			if transA {
				aOff = i0
			}
			b.blas.sgemm(transA, transB, i1-i0, n, k, alpha, A[aOff:], lda, B, ldb, beta, C[i0*ldc:], ldc)
		})
		return
	}
	nw = min(nw, n)
	b.pool.run(nw, func(w int) {
		j0, j1 := w*n/nw, (w+1)*n/nw
		if j0 == j1 {
			return
		}
		bOff := j0
		if transB {
			bOff = j0 * ldb
		}
		b.blas.sgemm(transA, transB, m, j1-j0, k, alpha, A, lda, B[bOff:], ldb, beta, C[j0:], ldc)
	})
}

// scaleMatrix sets C = beta·C (beta == 0 overwrites, as BLAS does).
func scaleMatrix(C []float32, m, n, ldc int, beta float32) {
	for i := 0; i < m; i++ {
		row := C[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
	}
}
