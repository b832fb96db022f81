package nn

import "fmt"

// Buf is float32 storage owned by a Backend: a Go slice on the CPU, device
// memory on a GPU. Layers never touch the values directly; they pass Bufs to
// Backend ops, so one model definition runs on every backend.
type Buf interface {
	// Len is the number of float32 values.
	Len() int
	// Slice is a view of n values starting at off, sharing storage.
	Slice(off, n int) Buf
}

// IntBuf is int32 storage owned by a Backend (labels, max-pool indices).
type IntBuf interface {
	Len() int
	Slice(off, n int) IntBuf
}

// ConvGeom describes a 2-D convolution over an NCHW input with a KCRS
// kernel (K output channels, C input channels, R x S window), square stride
// and symmetric zero padding. P x Q is the output size.
type ConvGeom struct {
	N, C, H, W  int
	K, R, S     int
	Stride, Pad int
	P, Q        int
}

// NewConvGeom fills in the output size and checks that it is positive.
func NewConvGeom(n, c, h, w, k, r, s, stride, pad int) (ConvGeom, error) {
	g := ConvGeom{N: n, C: c, H: h, W: w, K: k, R: r, S: s, Stride: stride, Pad: pad}
	if stride < 1 || pad < 0 || r < 1 || s < 1 {
		return g, fmt.Errorf("convolution %dx%d stride %d pad %d: invalid geometry", r, s, stride, pad)
	}
	g.P = (h+2*pad-r)/stride + 1
	g.Q = (w+2*pad-s)/stride + 1
	if g.P < 1 || g.Q < 1 {
		return g, fmt.Errorf("convolution %dx%d stride %d pad %d on a %dx%d input: output would be empty", r, s, stride, pad, h, w)
	}
	return g, nil
}

// PoolGeom describes max or average pooling over an NCHW input with a
// KH x KW window. Average pooling counts padded positions (PyTorch's
// count_include_pad=True); max pooling ignores them.
type PoolGeom struct {
	N, C, H, W  int
	KH, KW      int
	Stride, Pad int
	P, Q        int
}

// NewPoolGeom fills in the output size (floor mode, as PyTorch's default).
func NewPoolGeom(n, c, h, w, kh, kw, stride, pad int) (PoolGeom, error) {
	g := PoolGeom{N: n, C: c, H: h, W: w, KH: kh, KW: kw, Stride: stride, Pad: pad}
	if stride < 1 || pad < 0 || kh < 1 || kw < 1 || 2*pad > kh || 2*pad > kw {
		return g, fmt.Errorf("pool %dx%d stride %d pad %d: invalid geometry", kh, kw, stride, pad)
	}
	g.P = (h+2*pad-kh)/stride + 1
	g.Q = (w+2*pad-kw)/stride + 1
	if g.P < 1 || g.Q < 1 {
		return g, fmt.Errorf("pool %dx%d stride %d on a %dx%d input: output would be empty", kh, kw, stride, h, w)
	}
	return g, nil
}

// Backend is the op set every device implements. The set is small on
// purpose (tinygrad-style): layers, losses, optimisers and the unlearning
// methods are composed from it.
//
// Conventions, which every implementation must follow exactly:
//   - Matrices are row-major. Tensors are NCHW, contiguous.
//   - Ops that produce a parameter gradient (dw, db, dgamma, dbeta) ADD into
//     it, so a model zeroes its gradient buffer once per step. Every other
//     output is overwritten.
//   - Ops may run asynchronously. Ops that return a host value (Dot,
//     CountNonFinite, Download*) wait for the work queued before them. Errors
//     of asynchronous work are reported by the next Sync.
//   - Shapes are the caller's responsibility: layers check them and name
//     the layer at fault before calling an op.
type Backend interface {
	// Name identifies the device, e.g. "cpu" or "cuda:0".
	Name() string

	// Alloc returns n zeroed float32 values; AllocInt n zeroed int32 values.
	Alloc(n int) Buf
	AllocInt(n int) IntBuf
	// Free returns storage to the backend's allocator. Views must not be
	// freed; a freed Buf must not be used again.
	Free(b Buf)
	FreeInt(b IntBuf)
	Upload(dst Buf, src []float32)
	Download(dst []float32, src Buf)
	UploadInt(dst IntBuf, src []int32)
	DownloadInt(dst []int32, src IntBuf)
	Copy(dst, src Buf)
	Fill(dst Buf, v float32)
	// Sync waits for all queued work and returns the first error it met.
	Sync() error

	// Gemm computes C = alpha·op(A)·op(B) + beta·C with op(A) m x k and
	// op(B) k x n; lda, ldb, ldc are row strides of the stored matrices.
	Gemm(transA, transB bool, m, n, k int, alpha float32, a Buf, lda int, b Buf, ldb int, beta float32, c Buf, ldc int)

	// ConvForward: y[N,K,P,Q] = conv(x[N,C,H,W], w[K,C,R,S]) (cross-correlation,
	// as PyTorch). No bias: see AddChannelBias.
	ConvForward(g ConvGeom, x, w, y Buf)
	// ConvBackwardData: dx = conv_transpose(dy, w); overwrites dx.
	ConvBackwardData(g ConvGeom, w, dy, dx Buf)
	// ConvBackwardFilter: dw += correlation of x with dy.
	ConvBackwardFilter(g ConvGeom, x, dy, dw Buf)
	// AddChannelBias: y[n,c,i] += bias[c] for y of shape [n, c, hw].
	AddChannelBias(y, bias Buf, n, c, hw int)
	// ChannelSum: db[c] += Σ_{n,i} dy[n,c,i].
	ChannelSum(dy Buf, n, c, hw int, db Buf)
	// ChannelMax: out[n,c] = max_i x[n,c,i]; ChannelMean: the mean instead.
	ChannelMax(x Buf, n, c, hw int, out Buf)
	ChannelMean(x Buf, n, c, hw int, out Buf)

	// BatchNormTrain normalises with the batch statistics (biased variance),
	// writes y, saves the batch mean and 1/sqrt(var+eps) for the backward
	// pass and updates the running statistics as PyTorch does:
	// run = (1-momentum)·run + momentum·stat, with the unbiased variance.
	BatchNormTrain(n, c, hw int, x, gamma, beta, y, runMean, runVar, saveMean, saveInvStd Buf, momentum, eps float32)
	// BatchNormEval normalises with the running statistics.
	BatchNormEval(n, c, hw int, x, gamma, beta, runMean, runVar, y Buf, eps float32)
	// BatchNormBackward (training-mode statistics): dx overwritten,
	// dgamma and dbeta accumulated.
	BatchNormBackward(n, c, hw int, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta Buf)
	// BatchNormEvalBackward differentiates BatchNormEval (running statistics
	// are constants): dx = dy·gamma/sqrt(runVar+eps) overwritten; dgamma +=
	// Σ dy·x̂, dbeta += Σ dy. SSD, EMNI and Boundary Shrink need it.
	BatchNormEvalBackward(n, c, hw int, x, dy, gamma, runMean, runVar, dx, dgamma, dbeta Buf, eps float32)

	// MaxPoolForward records the flat input index (within the n,c plane) of
	// each maximum in argmax; ties take the first position in row-major order.
	MaxPoolForward(g PoolGeom, x, y Buf, argmax IntBuf)
	MaxPoolBackward(g PoolGeom, dy Buf, argmax IntBuf, dx Buf)
	AvgPoolForward(g PoolGeom, x, y Buf)
	AvgPoolBackward(g PoolGeom, dy, dx Buf)

	// ReLUForward: y = max(x, 0). ReLUBackward: dx = dy where y > 0, else 0.
	ReLUForward(x, y Buf)
	ReLUBackward(y, dy, dx Buf)
	// Add: dst = a + b. Axpy: y += alpha·x. Scale: x *= alpha.
	// Mul: dst = a ⊙ b. AddSquared: acc += alpha·x⊙x.
	Add(dst, a, b Buf)
	Axpy(alpha float32, x, y Buf)
	Scale(x Buf, alpha float32)
	Mul(dst, a, b Buf)
	AddSquared(acc, x Buf, alpha float32)
	// AddDiag adds v to the diagonal of the n x n matrix x.
	AddDiag(x Buf, n int, v float32)
	// Dot returns Σ x⊙y accumulated in float64.
	Dot(x, y Buf) float64
	// CountNonFinite returns how many values of x are NaN or ±Inf.
	CountNonFinite(x Buf) int

	// Softmax: probs[i,:] = softmax(invT · logits[i,:]).
	Softmax(logits, probs Buf, n, classes int, invT float32)
	// SoftmaxCrossEntropy with integer labels: probs = softmax(logits),
	// losses[i] = -log probs[i,label_i], dlogits = (probs - onehot)·scale.
	// dlogits may be nil (evaluation). A label outside [0, classes) gives
	// a NaN loss, so the caller's NaN check catches it.
	SoftmaxCrossEntropy(logits Buf, labels IntBuf, n, classes int, probs, losses, dlogits Buf, scale float32)
	// SoftTargetCrossEntropy with target distributions t: losses[i] =
	// -Σ_j t[i,j]·log softmax(invT·logits)[i,j], dlogits = (probs - t)·scale,
	// where probs is the tempered softmax (the caller folds 1/T into scale).
	SoftTargetCrossEntropy(logits, targets Buf, n, classes int, invT float32, probs, losses, dlogits Buf, scale float32)

	// SGDStep is torch.optim.SGD for one tensor: g' = g + wd·p; on the first
	// step buf = g', afterwards buf = momentum·buf + (1-dampening)·g';
	// the step direction is g' + momentum·buf with Nesterov, else buf
	// (g' when momentum is 0); p -= lr·direction.
	SGDStep(p, g, buf Buf, lr, momentum, dampening, weightDecay float32, nesterov, first bool)
	// AdamStep is torch.optim.Adam (decoupled=false, L2 added to the
	// gradient) or AdamW (decoupled=true, p *= 1-lr·wd). step counts from 1.
	AdamStep(p, g, m, v Buf, lr, beta1, beta2, eps, weightDecay float32, step int, decoupled bool)
	// SelectiveDampen is SSD's update: where impF > alpha·impD,
	// w *= min(lambda·impD/impF, 1).
	SelectiveDampen(w, impF, impD Buf, alpha, lambda float32)
}
