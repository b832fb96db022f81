package cuda

import (
	"errors"
	"fmt"
	"unsafe"

	"lethe/nn"
)

// ---- convolution -----------------------------------------------------------

func convKeyOf(g nn.ConvGeom) convKey {
	return convKey{N: g.N, C: g.C, H: g.H, W: g.W, K: g.K, R: g.R, S: g.S, Stride: g.Stride, Pad: g.Pad}
}

func checkConv(op string, g nn.ConvGeom, x, w, y *Buffer) {
	check(op, g.N > 0 && g.C > 0 && g.K > 0 && g.P > 0 && g.Q > 0, "invalid geometry %+v", g)
	check(op, x.n == g.N*g.C*g.H*g.W, "input of %d values for [%d %d %d %d]", x.n, g.N, g.C, g.H, g.W)
	check(op, w.n == g.K*g.C*g.R*g.S, "kernel of %d values for [%d %d %d %d]", w.n, g.K, g.C, g.R, g.S)
	check(op, y.n == g.N*g.K*g.P*g.Q, "output of %d values for [%d %d %d %d]", y.n, g.N, g.K, g.P, g.Q)
}

// ConvForward: y = conv(x, w) (cross-correlation), through cuDNN or
// im2col + GEMM.
func (be *Backend) ConvForward(g nn.ConvGeom, x, w, y nn.Buf) {
	X, W, Y := be.fbuf("ConvForward", x), be.fbuf("ConvForward", w), be.fbuf("ConvForward", y)
	checkConv("ConvForward", g, X, W, Y)
	be.run("ConvForward", func() error {
		return be.convDispatch("ConvForward", g, func() error { return be.dnnConvForward(g, X.ptr(), W.ptr(), Y.ptr()) }, func() error { return be.im2colForward(g, X.ptr(), W.ptr(), Y.ptr()) })
	})
}

// ConvBackwardData: dx = conv_transpose(dy, w), overwriting dx.
func (be *Backend) ConvBackwardData(g nn.ConvGeom, w, dy, dx nn.Buf) {
	W, DY, DX := be.fbuf("ConvBackwardData", w), be.fbuf("ConvBackwardData", dy), be.fbuf("ConvBackwardData", dx)
	checkConv("ConvBackwardData", g, DX, W, DY)
	be.run("ConvBackwardData", func() error {
		return be.convDispatch("ConvBackwardData", g, func() error { return be.dnnConvBackwardData(g, W.ptr(), DY.ptr(), DX.ptr()) }, func() error { return be.im2colBackwardData(g, W.ptr(), DY.ptr(), DX.ptr()) })
	})
}

// ConvBackwardFilter: dw += correlation of x with dy.
func (be *Backend) ConvBackwardFilter(g nn.ConvGeom, x, dy, dw nn.Buf) {
	X, DY, DW := be.fbuf("ConvBackwardFilter", x), be.fbuf("ConvBackwardFilter", dy), be.fbuf("ConvBackwardFilter", dw)
	checkConv("ConvBackwardFilter", g, X, DW, DY)
	be.run("ConvBackwardFilter", func() error {
		return be.convDispatch("ConvBackwardFilter", g, func() error { return be.dnnConvBackwardFilter(g, X.ptr(), DY.ptr(), DW.ptr()) }, func() error { return be.im2colBackwardFilter(g, X.ptr(), DY.ptr(), DW.ptr()) })
	})
}

// convDispatch runs a convolution through cuDNN when it is loaded and
// has not failed on this shape and direction; a cuDNN error (a status,
// not a device fault) switches that shape and direction to im2col + GEMM
// for good, with a warning, so a cuDNN problem costs speed, not results.
func (be *Backend) convDispatch(op string, g nn.ConvGeom, viaDNN, own func() error) error {
	key := convDirKey{convKeyOf(g), op}
	if be.dnn != nil && !be.dnnConvOff[key] {
		err := viaDNN()
		var le *LibError
		if err == nil || !errors.As(err, &le) {
			return err
		}
		be.fallback(fmt.Sprintf("%v; this shape uses im2col + GEMM from now on", err))
		be.dnnConvOff[key] = true
	}
	return own()
}

type convDirKey struct {
	convKey
	op string
}

// im2colForward: per image, col = im2col(x_i) [CRS, PQ]; y_i = w·col.
func (be *Backend) im2colForward(g nn.ConvGeom, x, w, y uintptr) error {
	crs, pq := g.C*g.R*g.S, g.P*g.Q
	col, err := be.tempFloats(crs * pq)
	if err != nil {
		return err
	}
	defer be.releaseTemp(col)
	for i := 0; i < g.N; i++ {
		xi := x + uintptr(i*g.C*g.H*g.W*4)
		yi := y + uintptr(i*g.K*pq*4)
		if err := be.im2col(g, xi, col.ptr()); err != nil {
			return err
		}
		if err := be.gemm(false, false, g.K, pq, crs, 1, w, crs, col.ptr(), pq, 0, yi, pq); err != nil {
			return err
		}
	}
	return nil
}

// im2colBackwardData: per image, col = wᵀ·dy_i; dx_i = col2im(col).
func (be *Backend) im2colBackwardData(g nn.ConvGeom, w, dy, dx uintptr) error {
	crs, pq := g.C*g.R*g.S, g.P*g.Q
	col, err := be.tempFloats(crs * pq)
	if err != nil {
		return err
	}
	defer be.releaseTemp(col)
	for i := 0; i < g.N; i++ {
		dyi := dy + uintptr(i*g.K*pq*4)
		dxi := dx + uintptr(i*g.C*g.H*g.W*4)
		if err := be.gemm(true, false, crs, pq, g.K, 1, w, crs, dyi, pq, 0, col.ptr(), pq); err != nil {
			return err
		}
		if err := be.elementwise("col2im", g.C*g.H*g.W, kptr(col.ptr()), kptr(dxi), kint(g.C), kint(g.H), kint(g.W),
			kint(g.R), kint(g.S), kint(g.Stride), kint(g.Pad), kint(g.P), kint(g.Q)); err != nil {
			return err
		}
	}
	return nil
}

// im2colBackwardFilter: per image, dw += dy_i·im2col(x_i)ᵀ.
func (be *Backend) im2colBackwardFilter(g nn.ConvGeom, x, dy, dw uintptr) error {
	crs, pq := g.C*g.R*g.S, g.P*g.Q
	col, err := be.tempFloats(crs * pq)
	if err != nil {
		return err
	}
	defer be.releaseTemp(col)
	for i := 0; i < g.N; i++ {
		xi := x + uintptr(i*g.C*g.H*g.W*4)
		dyi := dy + uintptr(i*g.K*pq*4)
		if err := be.im2col(g, xi, col.ptr()); err != nil {
			return err
		}
		if err := be.gemm(false, true, g.K, crs, pq, 1, dyi, pq, col.ptr(), pq, 1, dw, crs); err != nil {
			return err
		}
	}
	return nil
}

func (be *Backend) im2col(g nn.ConvGeom, x, col uintptr) error {
	return be.elementwise("im2col", g.C*g.R*g.S*g.P*g.Q, kptr(x), kptr(col), kint(g.C), kint(g.H), kint(g.W),
		kint(g.R), kint(g.S), kint(g.Stride), kint(g.Pad), kint(g.P), kint(g.Q))
}

// workspaceFor returns cuDNN workspace of at least bytes (0 for none),
// growing the backend's one workspace buffer when needed.
func (be *Backend) workspaceFor(bytes int) (uintptr, error) {
	if bytes <= 0 {
		return 0, nil
	}
	if be.workspace != nil && 4*be.workspace.n >= bytes {
		return be.workspace.ptr(), nil
	}
	if be.workspace != nil {
		be.releaseTemp(be.workspace)
		be.workspace = nil
	}
	ws, err := be.tempFloats((bytes + 3) / 4)
	if err != nil {
		return 0, err
	}
	be.workspace = ws
	return ws.ptr(), nil
}

// findWorkspaceCap bounds the workspace offered to cuDNN's algorithm
// search; algorithms that want more are not considered.
const findWorkspaceCap = 1 << 30

// findWorkspace is the largest workspace any algorithm of a direction
// asks for, within findWorkspaceCap and half the free device memory.
func (be *Backend) findWorkspace(count int32, size func(algo int32) (uint64, bool)) int {
	limit := uint64(findWorkspaceCap)
	if be.gpu != nil {
		if free, _, err := be.gpu.memInfo(); err == nil && free/2 < limit {
			limit = free / 2
		}
	}
	var most uint64
	for a := int32(0); a < count; a++ {
		if s, ok := size(a); ok && s > most && s <= limit {
			most = s
		}
	}
	return int(most)
}

func (be *Backend) dnnConvForward(g nn.ConvGeom, x, w, y uintptr) error {
	d := be.dnn
	p, err := d.plan(convKeyOf(g))
	if err != nil {
		return err
	}
	op := fmt.Sprintf("cuDNN convolution forward %dx%d stride %d on %dx%dx%dx%d", g.R, g.S, g.Stride, g.N, g.C, g.H, g.W)
	if !p.fwd.found {
		var count int32
		if err := d.api.check(op, "cudnnGetConvolutionForwardAlgorithmMaxCount", d.api.fwdMaxCount(d.h, &count)); err != nil {
			return err
		}
		wsBytes := be.findWorkspace(count, func(a int32) (uint64, bool) {
			var s uint64
			ok := d.api.fwdWorkspace(d.h, p.x, p.w, p.convFwd, p.y, a, &s) == 0
			return s, ok
		})
		ws, err := be.workspaceFor(wsBytes)
		if err != nil {
			return err
		}
		perfs := make([]cudnnAlgoPerf, count)
		var got int32
		if err := d.api.check(op, "cudnnFindConvolutionForwardAlgorithmEx", d.api.findFwd(d.h, p.x, x, p.w, w, p.convFwd, p.y, y, count, &got, unsafe.Pointer(&perfs[0]), ws, uint64(wsBytes))); err != nil {
			return err
		}
		if p.fwd, err = be.choose(op, p.convFwd, perfs[:got]); err != nil {
			return err
		}
	}
	ws, err := be.workspaceFor(p.fwd.ws)
	if err != nil {
		return err
	}
	alpha, beta := float32(1), float32(0)
	return d.api.check(op, "cudnnConvolutionForward", d.api.convFwd(d.h, &alpha, p.x, x, p.w, w, p.convFwd, p.fwd.algo, ws, uint64(p.fwd.ws), &beta, p.y, y))
}

func (be *Backend) dnnConvBackwardData(g nn.ConvGeom, w, dy, dx uintptr) error {
	d := be.dnn
	p, err := d.plan(convKeyOf(g))
	if err != nil {
		return err
	}
	op := fmt.Sprintf("cuDNN convolution backward data %dx%d stride %d on %dx%dx%dx%d", g.R, g.S, g.Stride, g.N, g.C, g.H, g.W)
	if !p.bwdData.found {
		var count int32
		if err := d.api.check(op, "cudnnGetConvolutionBackwardDataAlgorithmMaxCount", d.api.bwdDataMaxCount(d.h, &count)); err != nil {
			return err
		}
		wsBytes := be.findWorkspace(count, func(a int32) (uint64, bool) {
			var s uint64
			ok := d.api.bwdDataWorkspace(d.h, p.w, p.y, p.convBD, p.x, a, &s) == 0
			return s, ok
		})
		ws, err := be.workspaceFor(wsBytes)
		if err != nil {
			return err
		}
		perfs := make([]cudnnAlgoPerf, count)
		var got int32
		if err := d.api.check(op, "cudnnFindConvolutionBackwardDataAlgorithmEx", d.api.findBwdData(d.h, p.w, w, p.y, dy, p.convBD, p.x, dx, count, &got, unsafe.Pointer(&perfs[0]), ws, uint64(wsBytes))); err != nil {
			return err
		}
		if p.bwdData, err = be.choose(op, p.convBD, perfs[:got]); err != nil {
			return err
		}
	}
	ws, err := be.workspaceFor(p.bwdData.ws)
	if err != nil {
		return err
	}
	alpha, beta := float32(1), float32(0)
	return d.api.check(op, "cudnnConvolutionBackwardData", d.api.convBwdData(d.h, &alpha, p.w, w, p.y, dy, p.convBD, p.bwdData.algo, ws, uint64(p.bwdData.ws), &beta, p.x, dx))
}

func (be *Backend) dnnConvBackwardFilter(g nn.ConvGeom, x, dy, dw uintptr) error {
	d := be.dnn
	p, err := d.plan(convKeyOf(g))
	if err != nil {
		return err
	}
	op := fmt.Sprintf("cuDNN convolution backward filter %dx%d stride %d on %dx%dx%dx%d", g.R, g.S, g.Stride, g.N, g.C, g.H, g.W)
	if !p.bwdFilter.found {
		var count int32
		if err := d.api.check(op, "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount", d.api.bwdFilterMaxCount(d.h, &count)); err != nil {
			return err
		}
		wsBytes := be.findWorkspace(count, func(a int32) (uint64, bool) {
			var s uint64
			ok := d.api.bwdFilterWorkspace(d.h, p.x, p.y, p.convBF, p.w, a, &s) == 0
			return s, ok
		})
		ws, err := be.workspaceFor(wsBytes)
		if err != nil {
			return err
		}
		// The search writes its output: give it scratch, not dw, which
		// accumulates.
		scratch, err := be.tempFloats(g.K * g.C * g.R * g.S)
		if err != nil {
			return err
		}
		perfs := make([]cudnnAlgoPerf, count)
		var got int32
		err = d.api.check(op, "cudnnFindConvolutionBackwardFilterAlgorithmEx", d.api.findBwdFilter(d.h, p.x, x, p.y, dy, p.convBF, p.w, scratch.ptr(), count, &got, unsafe.Pointer(&perfs[0]), ws, uint64(wsBytes)))
		be.releaseTemp(scratch)
		if err != nil {
			return err
		}
		if p.bwdFilter, err = be.choose(op, p.convBF, perfs[:got]); err != nil {
			return err
		}
	}
	ws, err := be.workspaceFor(p.bwdFilter.ws)
	if err != nil {
		return err
	}
	alpha, beta := float32(1), float32(1) // dw accumulates
	return d.api.check(op, "cudnnConvolutionBackwardFilter", d.api.convBwdFilter(d.h, &alpha, p.x, x, p.y, dy, p.convBF, p.bwdFilter.algo, ws, uint64(p.bwdFilter.ws), &beta, p.w, dw))
}

// choose records the search's pick and sets its math type on the
// direction's descriptor (TF32 allowed), as PyTorch does.
func (be *Backend) choose(op string, conv uintptr, perfs []cudnnAlgoPerf) (algoChoice, error) {
	best, ok := pickAlgo(perfs, be.dnn.tf32)
	if !ok {
		return algoChoice{}, fmt.Errorf("%s: cuDNN found no working algorithm (%d tried)", op, len(perfs))
	}
	if be.dnn.tf32 {
		if err := be.dnn.api.check(op, "cudnnSetConvolutionMathType", be.dnn.api.setConvMath(conv, best.MathType)); err != nil {
			return algoChoice{}, err
		}
	}
	return algoChoice{found: true, algo: best.Algo, ws: int(best.Memory)}, nil
}

// ---- batch norm ------------------------------------------------------------

func checkBN(op string, n, c, hw int, x *Buffer, perChannel ...*Buffer) {
	check(op, n > 0 && c > 0 && hw > 0 && x.n == n*c*hw, "x of %d values for [%d %d %d]", x.n, n, c, hw)
	for _, b := range perChannel {
		check(op, b.n == c, "a per-channel buffer of %d values for %d channels", b.n, c)
	}
}

// useDNNBN says whether cuDNN handles a batch norm: it must be loaded and
// wanted, eps at least CUDNN_BN_MIN_EPSILON, and more than one value per
// channel.
func (be *Backend) useDNNBN(n, hw int, eps float32) bool {
	return be.dnnBN && float64(eps) >= cudnnBNMinEpsilon && n*hw > 1
}

// BatchNormTrain: see nn.Backend.
func (be *Backend) BatchNormTrain(n, c, hw int, x, gamma, beta, y, runMean, runVar, saveMean, saveInvStd nn.Buf, momentum, eps float32) {
	const op = "BatchNormTrain"
	X, G, B, Y := be.fbuf(op, x), be.fbuf(op, gamma), be.fbuf(op, beta), be.fbuf(op, y)
	RM, RV, SM, SI := be.fbuf(op, runMean), be.fbuf(op, runVar), be.fbuf(op, saveMean), be.fbuf(op, saveInvStd)
	checkBN(op, n, c, hw, X, G, B, RM, RV, SM, SI)
	check(op, Y.n == X.n, "y of %d values, x of %d", Y.n, X.n)
	be.run(op, func() error {
		if be.useDNNBN(n, hw, eps) {
			done, err := be.dnnBNCall(func() error {
				xd, bd, err := be.bnDescs(n, c, hw)
				if err != nil {
					return err
				}
				one, zero := float32(1), float32(0)
				return be.dnn.api.check(op, "cudnnBatchNormalizationForwardTraining", be.dnn.api.bnFwdTrain(be.dnn.h, cudnnBatchNormSpatial, &one, &zero,
					xd, X.ptr(), xd, Y.ptr(), bd, G.ptr(), B.ptr(), float64(momentum), RM.ptr(), RV.ptr(), float64(eps), SM.ptr(), SI.ptr()))
			})
			if done {
				return err
			}
		}
		splits := be.splitsFor(n, c, hw)
		part, err := be.tempDoubles(2 * c * splits)
		if err != nil {
			return err
		}
		defer be.releaseTemp(part)
		if err := be.launch("bn_stats_partial", [3]uint32{uint32(c), uint32(splits), 1}, [3]uint32{pow2Block((n + splits - 1) / splits * hw), 1, 1},
			kptr(X.ptr()), kint(n), kint(c), kint(hw), kint(splits), kptr(part.ptr())); err != nil {
			return err
		}
		if err := be.elementwise("bn_stats_finish", c, kptr(part.ptr()), kint(c), kint(splits), kint(n*hw), kfloat(momentum), kfloat(eps),
			kptr(RM.ptr()), kptr(RV.ptr()), kptr(SM.ptr()), kptr(SI.ptr())); err != nil {
			return err
		}
		return be.elementwise("bn_apply", X.n, kptr(X.ptr()), kptr(SM.ptr()), kptr(SI.ptr()), kptr(G.ptr()), kptr(B.ptr()), kptr(Y.ptr()), kint(c), kint(hw), kint(X.n))
	})
}

// dnnBNCall runs a cuDNN batch-norm call. A cuDNN error turns cuDNN
// batch norm off for the backend, with a warning, and reports done=false
// so the caller runs Lethe's kernels instead.
func (be *Backend) dnnBNCall(f func() error) (done bool, err error) {
	err = f()
	var le *LibError
	if err == nil || !errors.As(err, &le) {
		return true, err
	}
	be.fallback(fmt.Sprintf("%v; batch norm uses Lethe's kernels from now on", err))
	be.dnnBN = false
	be.info.BatchNorm = "Lethe kernels (cuDNN failed)"
	return false, nil
}

func (be *Backend) bnDescs(n, c, hw int) (x, bn uintptr, err error) {
	if x, err = be.dnn.tensor(n, c, hw, 1); err != nil {
		return
	}
	bn, err = be.dnn.tensor(1, c, 1, 1)
	return
}

// BatchNormEval: y = (x - runMean)/sqrt(runVar + eps)·gamma + beta.
func (be *Backend) BatchNormEval(n, c, hw int, x, gamma, beta, runMean, runVar, y nn.Buf, eps float32) {
	const op = "BatchNormEval"
	X, G, B, RM, RV, Y := be.fbuf(op, x), be.fbuf(op, gamma), be.fbuf(op, beta), be.fbuf(op, runMean), be.fbuf(op, runVar), be.fbuf(op, y)
	checkBN(op, n, c, hw, X, G, B, RM, RV)
	check(op, Y.n == X.n, "y of %d values, x of %d", Y.n, X.n)
	be.run(op, func() error {
		if be.useDNNBN(n, hw, eps) {
			done, err := be.dnnBNCall(func() error {
				xd, bd, err := be.bnDescs(n, c, hw)
				if err != nil {
					return err
				}
				one, zero := float32(1), float32(0)
				return be.dnn.api.check(op, "cudnnBatchNormalizationForwardInference", be.dnn.api.bnFwdInfer(be.dnn.h, cudnnBatchNormSpatial, &one, &zero,
					xd, X.ptr(), xd, Y.ptr(), bd, G.ptr(), B.ptr(), RM.ptr(), RV.ptr(), float64(eps)))
			})
			if done {
				return err
			}
		}
		inv, err := be.tempFloats(c)
		if err != nil {
			return err
		}
		defer be.releaseTemp(inv)
		if err := be.elementwise("inv_std", c, kptr(RV.ptr()), kfloat(eps), kptr(inv.ptr()), kint(c)); err != nil {
			return err
		}
		return be.elementwise("bn_apply", X.n, kptr(X.ptr()), kptr(RM.ptr()), kptr(inv.ptr()), kptr(G.ptr()), kptr(B.ptr()), kptr(Y.ptr()), kint(c), kint(hw), kint(X.n))
	})
}

// bnBackwardSums queues the per-channel Σdy and Σdy·x̂ (x̂ from mean and
// invStd), adds them to dbeta and dgamma, and leaves their means in coef.
func (be *Backend) bnBackwardSums(n, c, hw int, x, dy, mean, invStd, dgamma, dbeta, coef uintptr) error {
	splits := be.splitsFor(n, c, hw)
	part, err := be.tempDoubles(2 * c * splits)
	if err != nil {
		return err
	}
	defer be.releaseTemp(part)
	if err := be.launch("bn_bwd_partial", [3]uint32{uint32(c), uint32(splits), 1}, [3]uint32{pow2Block((n + splits - 1) / splits * hw), 1, 1},
		kptr(x), kptr(dy), kptr(mean), kptr(invStd), kint(n), kint(c), kint(hw), kint(splits), kptr(part.ptr())); err != nil {
		return err
	}
	return be.elementwise("bn_bwd_finish", c, kptr(part.ptr()), kint(c), kint(splits), kint(n*hw), kptr(dgamma), kptr(dbeta), kptr(coef))
}

// BatchNormBackward (training statistics): dx overwritten, dgamma and
// dbeta accumulated.
func (be *Backend) BatchNormBackward(n, c, hw int, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta nn.Buf) {
	const op = "BatchNormBackward"
	X, DY, G, SM, SI := be.fbuf(op, x), be.fbuf(op, dy), be.fbuf(op, gamma), be.fbuf(op, saveMean), be.fbuf(op, saveInvStd)
	DX, DG, DB := be.fbuf(op, dx), be.fbuf(op, dgamma), be.fbuf(op, dbeta)
	checkBN(op, n, c, hw, X, G, SM, SI, DG, DB)
	check(op, DY.n == X.n && DX.n == X.n, "dy of %d and dx of %d values, x of %d", DY.n, DX.n, X.n)
	be.run(op, func() error {
		if be.useDNNBN(n, hw, cudnnBNMinEpsilon) {
			done, err := be.dnnBNCall(func() error {
				xd, bd, err := be.bnDescs(n, c, hw)
				if err != nil {
					return err
				}
				one, zero := float32(1), float32(0)
				// eps is not used when the saved statistics are given, but
				// must still be valid.
				return be.dnn.api.check(op, "cudnnBatchNormalizationBackward", be.dnn.api.bnBwd(be.dnn.h, cudnnBatchNormSpatial, &one, &zero, &one, &one,
					xd, X.ptr(), xd, DY.ptr(), xd, DX.ptr(), bd, G.ptr(), DG.ptr(), DB.ptr(), cudnnBNMinEpsilon, SM.ptr(), SI.ptr()))
			})
			if done {
				return err
			}
		}
		coef, err := be.tempFloats(2 * c)
		if err != nil {
			return err
		}
		defer be.releaseTemp(coef)
		if err := be.bnBackwardSums(n, c, hw, X.ptr(), DY.ptr(), SM.ptr(), SI.ptr(), DG.ptr(), DB.ptr(), coef.ptr()); err != nil {
			return err
		}
		return be.elementwise("bn_bwd_dx", X.n, kptr(X.ptr()), kptr(DY.ptr()), kptr(SM.ptr()), kptr(SI.ptr()), kptr(G.ptr()), kptr(coef.ptr()), kptr(DX.ptr()), kint(c), kint(hw), kint(X.n))
	})
}

// BatchNormEvalBackward differentiates BatchNormEval (no cuDNN
// equivalent: Lethe's kernels always).
func (be *Backend) BatchNormEvalBackward(n, c, hw int, x, dy, gamma, runMean, runVar, dx, dgamma, dbeta nn.Buf, eps float32) {
	const op = "BatchNormEvalBackward"
	X, DY, G, RM, RV := be.fbuf(op, x), be.fbuf(op, dy), be.fbuf(op, gamma), be.fbuf(op, runMean), be.fbuf(op, runVar)
	DX, DG, DB := be.fbuf(op, dx), be.fbuf(op, dgamma), be.fbuf(op, dbeta)
	checkBN(op, n, c, hw, X, G, RM, RV, DG, DB)
	check(op, DY.n == X.n && DX.n == X.n, "dy of %d and dx of %d values, x of %d", DY.n, DX.n, X.n)
	be.run(op, func() error {
		tmp, err := be.tempFloats(3 * c) // invStd, then coef (unused here)
		if err != nil {
			return err
		}
		defer be.releaseTemp(tmp)
		inv, coef := tmp.ptr(), tmp.ptr()+uintptr(4*c)
		if err := be.elementwise("inv_std", c, kptr(RV.ptr()), kfloat(eps), kptr(inv), kint(c)); err != nil {
			return err
		}
		if err := be.bnBackwardSums(n, c, hw, X.ptr(), DY.ptr(), RM.ptr(), inv, DG.ptr(), DB.ptr(), coef); err != nil {
			return err
		}
		return be.elementwise("bn_scale_dx", X.n, kptr(DY.ptr()), kptr(G.ptr()), kptr(inv), kptr(DX.ptr()), kint(c), kint(hw), kint(X.n))
	})
}

// ---- pooling ---------------------------------------------------------------

func poolArgs(g nn.PoolGeom) []karg {
	return []karg{kint(g.N * g.C), kint(g.H), kint(g.W), kint(g.P), kint(g.Q), kint(g.KH), kint(g.KW), kint(g.Stride), kint(g.Pad)}
}

func checkPool(op string, g nn.PoolGeom, in, out int) {
	check(op, g.N > 0 && g.C > 0 && g.P > 0 && g.Q > 0, "invalid geometry %+v", g)
	check(op, in == g.N*g.C*g.H*g.W, "input of %d values for [%d %d %d %d]", in, g.N, g.C, g.H, g.W)
	check(op, out == g.N*g.C*g.P*g.Q, "output of %d values for [%d %d %d %d]", out, g.N, g.C, g.P, g.Q)
}

// MaxPoolForward records each maximum's flat index within its plane;
// ties take the first in row-major order, and NaN wins (PyTorch).
func (be *Backend) MaxPoolForward(g nn.PoolGeom, x, y nn.Buf, argmax nn.IntBuf) {
	X, Y, A := be.fbuf("MaxPoolForward", x), be.fbuf("MaxPoolForward", y), be.ibuf("MaxPoolForward", argmax)
	checkPool("MaxPoolForward", g, X.n, Y.n)
	check("MaxPoolForward", A.n == Y.n, "argmax of %d values for %d outputs", A.n, Y.n)
	be.run("MaxPoolForward", func() error {
		return be.elementwise("maxpool_fwd", Y.n, append([]karg{kptr(X.ptr()), kptr(Y.ptr()), kptr(A.ptr())}, poolArgs(g)...)...)
	})
}

// MaxPoolBackward: dx (overwritten) receives each output's gradient at
// its argmax.
func (be *Backend) MaxPoolBackward(g nn.PoolGeom, dy nn.Buf, argmax nn.IntBuf, dx nn.Buf) {
	DY, A, DX := be.fbuf("MaxPoolBackward", dy), be.ibuf("MaxPoolBackward", argmax), be.fbuf("MaxPoolBackward", dx)
	checkPool("MaxPoolBackward", g, DX.n, DY.n)
	check("MaxPoolBackward", A.n == DY.n, "argmax of %d values for %d outputs", A.n, DY.n)
	be.run("MaxPoolBackward", func() error {
		return be.elementwise("maxpool_bwd", DX.n, append([]karg{kptr(DY.ptr()), kptr(A.ptr()), kptr(DX.ptr())}, poolArgs(g)...)...)
	})
}

// AvgPoolForward averages each window, padding counted (count_include_pad).
func (be *Backend) AvgPoolForward(g nn.PoolGeom, x, y nn.Buf) {
	X, Y := be.fbuf("AvgPoolForward", x), be.fbuf("AvgPoolForward", y)
	checkPool("AvgPoolForward", g, X.n, Y.n)
	be.run("AvgPoolForward", func() error {
		return be.elementwise("avgpool_fwd", Y.n, append([]karg{kptr(X.ptr()), kptr(Y.ptr())}, poolArgs(g)...)...)
	})
}

// AvgPoolBackward: dx (overwritten) = Σ over covering windows of dy/(kh·kw).
func (be *Backend) AvgPoolBackward(g nn.PoolGeom, dy, dx nn.Buf) {
	DY, DX := be.fbuf("AvgPoolBackward", dy), be.fbuf("AvgPoolBackward", dx)
	checkPool("AvgPoolBackward", g, DX.n, DY.n)
	be.run("AvgPoolBackward", func() error {
		return be.elementwise("avgpool_bwd", DX.n, append([]karg{kptr(DY.ptr()), kptr(DX.ptr())}, poolArgs(g)...)...)
	})
}
