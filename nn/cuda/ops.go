package cuda

import (
	"errors"
	"fmt"
	"math"

	"lethe/nn"
)

// ReLUForward: y = max(x, 0); NaN stays NaN, as in PyTorch.
func (be *Backend) ReLUForward(x, y nn.Buf) {
	X, Y := be.fbuf("ReLUForward", x), be.fbuf("ReLUForward", y)
	sameLen("ReLUForward", X, Y)
	be.run("ReLUForward", func() error {
		return be.elementwise("relu_fwd", X.n, kptr(X.ptr()), kptr(Y.ptr()), kint(X.n))
	})
}

// ReLUBackward: dx = dy where y > 0, else 0.
func (be *Backend) ReLUBackward(y, dy, dx nn.Buf) {
	Y, DY, DX := be.fbuf("ReLUBackward", y), be.fbuf("ReLUBackward", dy), be.fbuf("ReLUBackward", dx)
	sameLen("ReLUBackward", Y, DY, DX)
	be.run("ReLUBackward", func() error {
		return be.elementwise("relu_bwd", Y.n, kptr(Y.ptr()), kptr(DY.ptr()), kptr(DX.ptr()), kint(Y.n))
	})
}

// Add: dst = a + b.
func (be *Backend) Add(dst, a, b nn.Buf) {
	D, A, B := be.fbuf("Add", dst), be.fbuf("Add", a), be.fbuf("Add", b)
	sameLen("Add", D, A, B)
	be.run("Add", func() error {
		return be.elementwise("add_vec", D.n, kptr(D.ptr()), kptr(A.ptr()), kptr(B.ptr()), kint(D.n))
	})
}

// Axpy: y += alpha·x.
func (be *Backend) Axpy(alpha float32, x, y nn.Buf) {
	X, Y := be.fbuf("Axpy", x), be.fbuf("Axpy", y)
	sameLen("Axpy", X, Y)
	be.run("Axpy", func() error {
		return be.elementwise("axpy_vec", X.n, kfloat(alpha), kptr(X.ptr()), kptr(Y.ptr()), kint(X.n))
	})
}

// Scale: x *= alpha.
func (be *Backend) Scale(x nn.Buf, alpha float32) {
	X := be.fbuf("Scale", x)
	be.run("Scale", func() error {
		return be.elementwise("scale_vec", X.n, kptr(X.ptr()), kfloat(alpha), kint(X.n))
	})
}

// Mul: dst = a ⊙ b.
func (be *Backend) Mul(dst, a, b nn.Buf) {
	D, A, B := be.fbuf("Mul", dst), be.fbuf("Mul", a), be.fbuf("Mul", b)
	sameLen("Mul", D, A, B)
	be.run("Mul", func() error {
		return be.elementwise("mul_vec", D.n, kptr(D.ptr()), kptr(A.ptr()), kptr(B.ptr()), kint(D.n))
	})
}

// AddSquared: acc += alpha·x⊙x.
func (be *Backend) AddSquared(acc, x nn.Buf, alpha float32) {
	A, X := be.fbuf("AddSquared", acc), be.fbuf("AddSquared", x)
	sameLen("AddSquared", A, X)
	be.run("AddSquared", func() error {
		return be.elementwise("add_squared", X.n, kptr(A.ptr()), kptr(X.ptr()), kfloat(alpha), kint(X.n))
	})
}

// AddDiag adds v to the diagonal of the n x n matrix x.
func (be *Backend) AddDiag(x nn.Buf, n int, v float32) {
	X := be.fbuf("AddDiag", x)
	check("AddDiag", n >= 0 && X.n >= n*n, "a %dx%d matrix in %d values", n, n, X.n)
	be.run("AddDiag", func() error {
		return be.elementwise("add_diag", n, kptr(X.ptr()), kint(n), kfloat(v))
	})
}

// SelectiveDampen is SSD's update: where impF > alpha·impD,
// w *= min(lambda·impD/impF, 1).
func (be *Backend) SelectiveDampen(w, impF, impD nn.Buf, alpha, lambda float32) {
	W, F, D := be.fbuf("SelectiveDampen", w), be.fbuf("SelectiveDampen", impF), be.fbuf("SelectiveDampen", impD)
	sameLen("SelectiveDampen", W, F, D)
	be.run("SelectiveDampen", func() error {
		return be.elementwise("selective_dampen", W.n, kptr(W.ptr()), kptr(F.ptr()), kptr(D.ptr()), kfloat(alpha), kfloat(lambda), kint(W.n))
	})
}

// reduceToHost runs a partial kernel (one float64 per block) followed by
// sum_partials and downloads the float64 result, waiting for the device.
// The partial kernel's arguments come first, then its partial pointer.
func (be *Backend) reduceToHost(op, kernel string, n int, args ...karg) float64 {
	var out float64 = math.NaN()
	be.run(op, func() error {
		grid := be.gridFor(n)
		if grid[0] > maxPartials {
			grid[0] = maxPartials
		}
		args = append(args, kptr(be.partial.ptr()))
		if err := be.launch(kernel, grid, block256, args...); err != nil {
			return err
		}
		if err := be.launch("sum_partials", [3]uint32{1, 1, 1}, block256, kptr(be.partial.ptr()), kint(int(grid[0])), kptr(be.result.ptr())); err != nil {
			return err
		}
		var raw [8]byte
		if err := be.dev.download(raw[:], be.result.ptr()); err != nil {
			return err
		}
		out = math.Float64frombits(uint64(raw[0]) | uint64(raw[1])<<8 | uint64(raw[2])<<16 | uint64(raw[3])<<24 |
			uint64(raw[4])<<32 | uint64(raw[5])<<40 | uint64(raw[6])<<48 | uint64(raw[7])<<56)
		return nil
	})
	return out
}

// Dot returns Σ x⊙y accumulated in float64, waiting for the device.
// After a device error it returns NaN.
func (be *Backend) Dot(x, y nn.Buf) float64 {
	X, Y := be.fbuf("Dot", x), be.fbuf("Dot", y)
	sameLen("Dot", X, Y)
	if X.n == 0 {
		return 0
	}
	return be.reduceToHost("Dot", "dot_partial", X.n, kptr(X.ptr()), kptr(Y.ptr()), kint(X.n))
}

// CountNonFinite returns how many values of x are NaN or ±Inf, waiting
// for the device. After a device error it returns x.Len(): every value
// is suspect.
func (be *Backend) CountNonFinite(x nn.Buf) int {
	X := be.fbuf("CountNonFinite", x)
	if X.n == 0 {
		return 0
	}
	v := be.reduceToHost("CountNonFinite", "nonfinite_partial", X.n, kptr(X.ptr()), kint(X.n))
	if math.IsNaN(v) {
		return X.n
	}
	return int(v)
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C, row-major, through cuBLAS
// (or the tiled kernel without it).
func (be *Backend) Gemm(transA, transB bool, m, n, k int, alpha float32, a nn.Buf, lda int, b nn.Buf, ldb int, beta float32, c nn.Buf, ldc int) {
	A, B, C := be.fbuf("Gemm", a), be.fbuf("Gemm", b), be.fbuf("Gemm", c)
	checkGemm(transA, transB, m, n, k, A.n, lda, B.n, ldb, C.n, ldc)
	if m == 0 || n == 0 {
		return
	}
	be.run("Gemm", func() error {
		return be.gemm(transA, transB, m, n, k, alpha, A.ptr(), lda, B.ptr(), ldb, beta, C.ptr(), ldc)
	})
}

// checkGemm verifies that the strides fit the shapes and the buffers hold
// the matrices.
func checkGemm(transA, transB bool, m, n, k, lenA, lda, lenB, ldb, lenC, ldc int) {
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	check("Gemm", m >= 0 && n >= 0 && k >= 0, "negative size m=%d n=%d k=%d", m, n, k)
	check("Gemm", lda >= max(colsA, 1) && ldb >= max(colsB, 1) && ldc >= max(n, 1), "strides lda=%d ldb=%d ldc=%d for m=%d n=%d k=%d", lda, ldb, ldc, m, n, k)
	need := func(rows, cols, ld int) int {
		if rows == 0 || cols == 0 {
			return 0
		}
		return (rows-1)*ld + cols
	}
	check("Gemm", lenA >= need(rowsA, colsA, lda), "A holds %d values, needs %d", lenA, need(rowsA, colsA, lda))
	check("Gemm", lenB >= need(rowsB, colsB, ldb), "B holds %d values, needs %d", lenB, need(rowsB, colsB, ldb))
	check("Gemm", lenC >= need(m, n, ldc), "C holds %d values, needs %d", lenC, need(m, n, ldc))
}

// gemm on device pointers; the device is entered.
func (be *Backend) gemm(transA, transB bool, m, n, k int, alpha float32, a uintptr, lda int, b uintptr, ldb int, beta float32, c uintptr, ldc int) error {
	if be.blas != nil {
		err := be.blas.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		var le *LibError
		if err == nil || !errors.As(err, &le) {
			return err
		}
		be.fallback(fmt.Sprintf("%v; GEMM uses Lethe's tiled kernel from now on", err))
		be.blas = nil
	}
	const tile = 16
	grid := [3]uint32{uint32((n + tile - 1) / tile), uint32((m + tile - 1) / tile), 1}
	return be.launch("sgemm_tiled", grid, block256, kint(b2i(transA)), kint(b2i(transB)), kint(m), kint(n), kint(k),
		kfloat(alpha), kptr(a), kint(lda), kptr(b), kint(ldb), kfloat(beta), kptr(c), kint(ldc))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// AddChannelBias: y[n,c,i] += bias[c].
func (be *Backend) AddChannelBias(y, bias nn.Buf, n, c, hw int) {
	Y, B := be.fbuf("AddChannelBias", y), be.fbuf("AddChannelBias", bias)
	check("AddChannelBias", Y.n == n*c*hw && B.n == c, "y of %d values, bias of %d for [%d %d %d]", Y.n, B.n, n, c, hw)
	be.run("AddChannelBias", func() error {
		return be.elementwise("channel_bias", Y.n, kptr(Y.ptr()), kptr(B.ptr()), kint(c), kint(hw), kint(Y.n))
	})
}

// splitsFor chooses how many blocks share one channel of an [n, c, hw]
// reduction: enough blocks in all to fill the device, at most one per
// image.
func (be *Backend) splitsFor(n, c, hw int) int {
	want := be.dev.multiprocessors() * 4
	s := (want + c - 1) / c
	// A block should still have a few thousand values to add.
	if lim := (n*hw + 2047) / 2048; s > lim {
		s = lim
	}
	return max(1, min(s, n))
}

// tempDoubles allocates scratch for n float64 values (freed by the
// caller right after queuing its use: the stream orders the reuse).
func (be *Backend) tempDoubles(n int) (*Buffer, error) {
	p, err := be.alloc.alloc(8 * n)
	if err != nil {
		return nil, err
	}
	return &Buffer{be: be, alloc: &allocation{ptr: p}, n: 2 * n}, nil
}

func (be *Backend) tempFloats(n int) (*Buffer, error) {
	p, err := be.alloc.alloc(4 * n)
	if err != nil {
		return nil, err
	}
	return &Buffer{be: be, alloc: &allocation{ptr: p}, n: n}, nil
}

func (be *Backend) releaseTemp(b *Buffer) {
	if b != nil && b.alloc != nil {
		b.alloc.freed = true
		be.fail("scratch", be.alloc.release(b.alloc.ptr))
	}
}

// ChannelSum: db[c] += Σ_{n,i} dy[n,c,i].
func (be *Backend) ChannelSum(dy nn.Buf, n, c, hw int, db nn.Buf) {
	DY, DB := be.fbuf("ChannelSum", dy), be.fbuf("ChannelSum", db)
	check("ChannelSum", DY.n == n*c*hw && DB.n == c, "dy of %d values, db of %d for [%d %d %d]", DY.n, DB.n, n, c, hw)
	if DY.n == 0 {
		return
	}
	be.run("ChannelSum", func() error {
		splits := be.splitsFor(n, c, hw)
		part, err := be.tempDoubles(c * splits)
		if err != nil {
			return err
		}
		defer be.releaseTemp(part)
		if err := be.launch("channel_sum_partial", [3]uint32{uint32(c), uint32(splits), 1}, [3]uint32{pow2Block((n + splits - 1) / splits * hw), 1, 1},
			kptr(DY.ptr()), kint(n), kint(c), kint(hw), kint(splits), kptr(part.ptr())); err != nil {
			return err
		}
		return be.elementwise("channel_sum_finish", c, kptr(part.ptr()), kint(c), kint(splits), kptr(DB.ptr()))
	})
}

// ChannelMax: out[n,c] = max_i x[n,c,i].
func (be *Backend) ChannelMax(x nn.Buf, n, c, hw int, out nn.Buf) {
	be.planeReduce("ChannelMax", "channel_max", x, n, c, hw, out)
}

// ChannelMean: out[n,c] = mean_i x[n,c,i].
func (be *Backend) ChannelMean(x nn.Buf, n, c, hw int, out nn.Buf) {
	be.planeReduce("ChannelMean", "channel_mean", x, n, c, hw, out)
}

func (be *Backend) planeReduce(op, kernel string, x nn.Buf, n, c, hw int, out nn.Buf) {
	X, O := be.fbuf(op, x), be.fbuf(op, out)
	check(op, X.n == n*c*hw && O.n == n*c && hw > 0, "x of %d values, out of %d for [%d %d %d]", X.n, O.n, n, c, hw)
	if O.n == 0 {
		return
	}
	be.run(op, func() error {
		return be.launch(kernel, [3]uint32{uint32(n * c), 1, 1}, [3]uint32{pow2Block(hw), 1, 1}, kptr(X.ptr()), kint(hw), kptr(O.ptr()))
	})
}

// Softmax: probs[i,:] = softmax(invT · logits[i,:]).
func (be *Backend) Softmax(logits, probs nn.Buf, n, classes int, invT float32) {
	L, P := be.fbuf("Softmax", logits), be.fbuf("Softmax", probs)
	check("Softmax", L.n == n*classes && P.n == n*classes && classes > 0, "logits of %d values, probs of %d for %d x %d", L.n, P.n, n, classes)
	if n == 0 {
		return
	}
	be.run("Softmax", func() error {
		return be.launch("softmax_rows", [3]uint32{uint32(n), 1, 1}, [3]uint32{pow2Block(classes), 1, 1}, kptr(L.ptr()), kptr(P.ptr()), kint(classes), kfloat(invT))
	})
}

// optional returns the device pointer of an optional buffer (0 for nil)
// and whether it was given.
func (be *Backend) optional(op string, x nn.Buf, want int) (uintptr, bool) {
	if x == nil {
		return 0, false
	}
	if b, ok := x.(*Buffer); ok && b == nil {
		return 0, false
	}
	X := be.fbuf(op, x)
	check(op, X.n == want, "buffer of %d values, want %d", X.n, want)
	return X.ptr(), true
}

// lossOutputs returns device pointers for the optional outputs of the
// loss ops: probs (n·classes) and losses (n) may be nil, as the CPU
// backend allows, in which case scratch stands in for them; release
// frees that scratch.
func (be *Backend) lossOutputs(op string, probs, losses nn.Buf, n, classes int) (p, l uintptr, release func(), err error) {
	var temps []*Buffer
	release = func() {
		for _, t := range temps {
			be.releaseTemp(t)
		}
	}
	get := func(x nn.Buf, want int) (uintptr, error) {
		if ptr, ok := be.optional(op, x, want); ok {
			return ptr, nil
		}
		t, err := be.tempFloats(want)
		if err != nil {
			return 0, err
		}
		temps = append(temps, t)
		return t.ptr(), nil
	}
	if p, err = get(probs, n*classes); err == nil {
		l, err = get(losses, n)
	}
	return p, l, release, err
}

// SoftmaxCrossEntropy: see nn.Backend. probs, losses and dlogits may be
// nil. A label outside [0, classes) gives a NaN loss and NaN gradients.
func (be *Backend) SoftmaxCrossEntropy(logits nn.Buf, labels nn.IntBuf, n, classes int, probs, losses, dlogits nn.Buf, scale float32) {
	const op = "SoftmaxCrossEntropy"
	L, Y := be.fbuf(op, logits), be.ibuf(op, labels)
	check(op, L.n == n*classes && Y.n == n && classes > 0, "logits %d and labels %d values for %d x %d", L.n, Y.n, n, classes)
	dl, hasGrad := be.optional(op, dlogits, n*classes)
	be.optional(op, probs, n*classes)
	be.optional(op, losses, n)
	if n == 0 {
		return
	}
	be.run(op, func() error {
		p, l, release, err := be.lossOutputs(op, probs, losses, n, classes)
		defer release()
		if err != nil {
			return err
		}
		return be.launch("softmax_xent", [3]uint32{uint32(n), 1, 1}, [3]uint32{pow2Block(classes), 1, 1},
			kptr(L.ptr()), kptr(Y.ptr()), kint(classes), kptr(p), kptr(l), kptr(dl), kint(b2i(hasGrad)), kfloat(scale))
	})
}

// SoftTargetCrossEntropy: see nn.Backend. probs, losses and dlogits may
// be nil.
func (be *Backend) SoftTargetCrossEntropy(logits, targets nn.Buf, n, classes int, invT float32, probs, losses, dlogits nn.Buf, scale float32) {
	const op = "SoftTargetCrossEntropy"
	L, T := be.fbuf(op, logits), be.fbuf(op, targets)
	check(op, L.n == n*classes && T.n == n*classes && classes > 0, "logits %d and targets %d values for %d x %d", L.n, T.n, n, classes)
	dl, hasGrad := be.optional(op, dlogits, n*classes)
	be.optional(op, probs, n*classes)
	be.optional(op, losses, n)
	if n == 0 {
		return
	}
	be.run(op, func() error {
		p, l, release, err := be.lossOutputs(op, probs, losses, n, classes)
		defer release()
		if err != nil {
			return err
		}
		return be.launch("soft_xent", [3]uint32{uint32(n), 1, 1}, [3]uint32{pow2Block(classes), 1, 1},
			kptr(L.ptr()), kptr(T.ptr()), kint(classes), kfloat(invT), kptr(p), kptr(l), kptr(dl), kint(b2i(hasGrad)), kfloat(scale))
	})
}

// SGDStep is torch.optim.SGD for one tensor.
func (be *Backend) SGDStep(p, g, buf nn.Buf, lr, momentum, dampening, weightDecay float32, nesterov, first bool) {
	P, G := be.fbuf("SGDStep", p), be.fbuf("SGDStep", g)
	sameLen("SGDStep", P, G)
	var bp uintptr
	if momentum != 0 {
		B := be.fbuf("SGDStep", buf)
		sameLen("SGDStep", P, B)
		bp = B.ptr()
	}
	be.run("SGDStep", func() error {
		return be.elementwise("sgd_step", P.n, kptr(P.ptr()), kptr(G.ptr()), kptr(bp), kfloat(lr), kfloat(momentum), kfloat(dampening),
			kfloat(weightDecay), kint(b2i(nesterov)), kint(b2i(first)), kint(P.n))
	})
}

// AdamStep is torch.optim.Adam (or AdamW with decoupled) for one tensor.
func (be *Backend) AdamStep(p, g, m, v nn.Buf, lr, beta1, beta2, eps, weightDecay float32, step int, decoupled bool) {
	P, G, M, V := be.fbuf("AdamStep", p), be.fbuf("AdamStep", g), be.fbuf("AdamStep", m), be.fbuf("AdamStep", v)
	sameLen("AdamStep", P, G, M, V)
	check("AdamStep", step >= 1, "step %d, counted from 1", step)
	bc1 := 1 - math.Pow(float64(beta1), float64(step))
	bc2 := 1 - math.Pow(float64(beta2), float64(step))
	stepSize := float32(float64(lr) / bc1)
	be.run("AdamStep", func() error {
		return be.elementwise("adam_step", P.n, kptr(P.ptr()), kptr(G.ptr()), kptr(M.ptr()), kptr(V.ptr()), kfloat(lr), kfloat(beta1), kfloat(beta2),
			kfloat(eps), kfloat(weightDecay), kfloat(stepSize), kfloat(float32(math.Sqrt(bc2))), kint(b2i(decoupled)), kint(P.n))
	})
}
