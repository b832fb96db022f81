package cuda

import (
	"fmt"
	"sync"
	"unsafe"
)

// cuDNN enums (cudnn_graph.h / cudnn_ops.h / cudnn_cnn.h, cuDNN 9).
const (
	cudnnTensorNCHW        = 0 // cudnnTensorFormat_t
	cudnnDataFloat         = 0 // cudnnDataType_t
	cudnnCrossCorrelation  = 1 // cudnnConvolutionMode_t
	cudnnDefaultMath       = 0 // cudnnMathType_t
	cudnnTensorOpMath      = 1
	cudnnTensorOpMathAllow = 2
	cudnnFMAMath           = 3
	cudnnBatchNormSpatial  = 1 // cudnnBatchNormMode_t
	cudnnBNMinEpsilon      = 1e-5
)

// cudnnAlgoPerf mirrors cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t,
// which share one layout: algo, status (int), time (float), memory
// (size_t, 8-aligned), determinism, mathType (int), reserved[3]; 48 bytes.
type cudnnAlgoPerf struct {
	Algo        int32
	Status      int32
	Time        float32
	_           int32
	Memory      uint64
	Determinism int32
	MathType    int32
	Reserved    [3]int32
	_           int32
}

// cudnnAPI is libcudnn.so.9, bound: the legacy (descriptor) API, which
// cuDNN 9 still ships in its ops and cnn sub-libraries. Handles and
// descriptors are pointers; alpha and beta are host pointers to float.
type cudnnAPI struct {
	lib  *library
	subs []*library // sub-libraries searched when the front library lacks a symbol

	getVersion     func() uint64
	getErrorString func(status int32) *byte
	create         func(h *uintptr) int32
	destroy        func(h uintptr) int32
	setStream      func(h, stream uintptr) int32

	createTensor  func(d *uintptr) int32
	setTensor4d   func(d uintptr, format, dtype, n, c, h, w int32) int32
	destroyTensor func(d uintptr) int32
	createFilter  func(d *uintptr) int32
	setFilter4d   func(d uintptr, dtype, format, k, c, h, w int32) int32
	destroyFilter func(d uintptr) int32
	createConv    func(d *uintptr) int32
	setConv2d     func(d uintptr, padH, padW, strideH, strideW, dilH, dilW, mode, computeType int32) int32
	setConvMath   func(d uintptr, mathType int32) int32
	destroyConv   func(d uintptr) int32
	convOutputDim func(conv, xDesc, wDesc uintptr, n, c, h, w *int32) int32

	fwdMaxCount        func(h uintptr, n *int32) int32
	bwdDataMaxCount    func(h uintptr, n *int32) int32
	bwdFilterMaxCount  func(h uintptr, n *int32) int32
	findFwd            func(h, xDesc, x, wDesc, w, conv, yDesc, y uintptr, requested int32, returned *int32, perf unsafe.Pointer, ws uintptr, wsBytes uint64) int32
	findBwdData        func(h, wDesc, w, dyDesc, dy, conv, dxDesc, dx uintptr, requested int32, returned *int32, perf unsafe.Pointer, ws uintptr, wsBytes uint64) int32
	findBwdFilter      func(h, xDesc, x, dyDesc, dy, conv, dwDesc, dw uintptr, requested int32, returned *int32, perf unsafe.Pointer, ws uintptr, wsBytes uint64) int32
	fwdWorkspace       func(h, xDesc, wDesc, conv, yDesc uintptr, algo int32, bytes *uint64) int32
	bwdDataWorkspace   func(h, wDesc, dyDesc, conv, dxDesc uintptr, algo int32, bytes *uint64) int32
	bwdFilterWorkspace func(h, xDesc, dyDesc, conv, dwDesc uintptr, algo int32, bytes *uint64) int32
	convFwd            func(h uintptr, alpha *float32, xDesc, x, wDesc, w, conv uintptr, algo int32, ws uintptr, wsBytes uint64, beta *float32, yDesc, y uintptr) int32
	convBwdData        func(h uintptr, alpha *float32, wDesc, w, dyDesc, dy, conv uintptr, algo int32, ws uintptr, wsBytes uint64, beta *float32, dxDesc, dx uintptr) int32
	convBwdFilter      func(h uintptr, alpha *float32, xDesc, x, dyDesc, dy, conv uintptr, algo int32, ws uintptr, wsBytes uint64, beta *float32, dwDesc, dw uintptr) int32

	bnFwdTrain func(h uintptr, mode int32, alpha, beta *float32, xDesc, x, yDesc, y, bnDesc, scale, bias uintptr, factor float64, runMean, runVar uintptr, eps float64, saveMean, saveInvStd uintptr) int32
	bnFwdInfer func(h uintptr, mode int32, alpha, beta *float32, xDesc, x, yDesc, y, bnDesc, scale, bias, mean, variance uintptr, eps float64) int32
	bnBwd      func(h uintptr, mode int32, alphaData, betaData, alphaParam, betaParam *float32, xDesc, x, dyDesc, dy, dxDesc, dx, bnDesc, scale, dScale, dBias uintptr, eps float64, saveMean, saveInvStd uintptr) int32
	hasBN      bool
}

var (
	cudnnOnce sync.Once
	cudnnLib  *cudnnAPI
	cudnnErr  error
)

func loadCuDNN() (*cudnnAPI, error) {
	cudnnOnce.Do(func() { cudnnLib, cudnnErr = bindCuDNN(defaultSearchPath()) })
	return cudnnLib, cudnnErr
}

func bindCuDNN(sp searchPath) (*cudnnAPI, error) {
	lib, err := openLibrary(cudnnSpec, sp)
	if err != nil {
		return nil, err
	}
	c := &cudnnAPI{lib: lib}
	// libcudnn.so.9 exports the whole API and forwards to its
	// sub-libraries; should a build lack a legacy symbol in the front
	// library, look in the sub-library that defines it.
	libs := []*library{lib}
	if dir := dirOf(lib.path); dir != "" {
		for _, sub := range []string{"libcudnn_ops.so.9", "libcudnn_cnn.so.9"} {
			if h, err := openInDir(dir, sub); err == nil {
				libs = append(libs, h)
			}
		}
	}
	b := newBinder(libs...)
	b.fn(&c.getVersion, "cudnnGetVersion")
	b.fn(&c.getErrorString, "cudnnGetErrorString")
	b.fn(&c.create, "cudnnCreate")
	b.fn(&c.destroy, "cudnnDestroy")
	b.fn(&c.setStream, "cudnnSetStream")
	b.fn(&c.createTensor, "cudnnCreateTensorDescriptor")
	b.fn(&c.setTensor4d, "cudnnSetTensor4dDescriptor")
	b.fn(&c.destroyTensor, "cudnnDestroyTensorDescriptor")
	b.fn(&c.createFilter, "cudnnCreateFilterDescriptor")
	b.fn(&c.setFilter4d, "cudnnSetFilter4dDescriptor")
	b.fn(&c.destroyFilter, "cudnnDestroyFilterDescriptor")
	b.fn(&c.createConv, "cudnnCreateConvolutionDescriptor")
	b.fn(&c.setConv2d, "cudnnSetConvolution2dDescriptor")
	b.fn(&c.setConvMath, "cudnnSetConvolutionMathType")
	b.fn(&c.destroyConv, "cudnnDestroyConvolutionDescriptor")
	b.fn(&c.convOutputDim, "cudnnGetConvolution2dForwardOutputDim")
	b.fn(&c.fwdMaxCount, "cudnnGetConvolutionForwardAlgorithmMaxCount")
	b.fn(&c.bwdDataMaxCount, "cudnnGetConvolutionBackwardDataAlgorithmMaxCount")
	b.fn(&c.bwdFilterMaxCount, "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount")
	b.fn(&c.findFwd, "cudnnFindConvolutionForwardAlgorithmEx")
	b.fn(&c.findBwdData, "cudnnFindConvolutionBackwardDataAlgorithmEx")
	b.fn(&c.findBwdFilter, "cudnnFindConvolutionBackwardFilterAlgorithmEx")
	b.fn(&c.fwdWorkspace, "cudnnGetConvolutionForwardWorkspaceSize")
	b.fn(&c.bwdDataWorkspace, "cudnnGetConvolutionBackwardDataWorkspaceSize")
	b.fn(&c.bwdFilterWorkspace, "cudnnGetConvolutionBackwardFilterWorkspaceSize")
	b.fn(&c.convFwd, "cudnnConvolutionForward")
	b.fn(&c.convBwdData, "cudnnConvolutionBackwardData")
	b.fn(&c.convBwdFilter, "cudnnConvolutionBackwardFilter")
	if b.err != nil {
		return nil, b.err
	}
	c.hasBN = b.optional(&c.bnFwdTrain, "cudnnBatchNormalizationForwardTraining") &&
		b.optional(&c.bnFwdInfer, "cudnnBatchNormalizationForwardInference") &&
		b.optional(&c.bnBwd, "cudnnBatchNormalizationBackward")
	return c, nil
}

func (c *cudnnAPI) check(op, call string, r int32) error {
	if r == 0 {
		return nil
	}
	text := statusName(cudnnStatusNames, "CUDNN_STATUS", r)
	if c.getErrorString != nil {
		if p := c.getErrorString(r); p != nil {
			text = cString(p)
		}
	}
	return &LibError{Op: op, Call: call, Code: r, Text: text}
}

// versionString turns cudnnGetVersion's 90100 (cuDNN 9: major·10000 +
// minor·100 + patch) into "9.1.0".
func cudnnVersionString(v uint64) string {
	if v >= 90000 {
		return fmt.Sprintf("%d.%d.%d", v/10000, (v%10000)/100, v%100)
	}
	return fmt.Sprintf("%d.%d.%d", v/1000, (v%1000)/100, v%100)
}

// dnnHandle is a cuDNN handle on the backend's stream with its
// descriptors and chosen algorithms, cached per shape.
type dnnHandle struct {
	api     *cudnnAPI
	h       uintptr
	version string
	tf32    bool
	tensors map[[4]int]uintptr // NCHW float tensor descriptors
	convs   map[convKey]*convPlan
}

type convKey struct {
	N, C, H, W, K, R, S, Stride, Pad int
}

// convPlan holds one convolution shape's descriptors and, once found, the
// algorithm and workspace of each direction. Each direction has its own
// convolution descriptor because the chosen algorithm fixes its math type.
type convPlan struct {
	x, y, w                 uintptr // tensor, tensor, filter descriptors
	convFwd, convBD, convBF uintptr
	fwd, bwdData, bwdFilter algoChoice
}

type algoChoice struct {
	found bool
	algo  int32
	ws    int // workspace bytes
}

func newDNNHandle(api *cudnnAPI, stream uintptr, tf32 bool) (*dnnHandle, error) {
	d := &dnnHandle{api: api, tf32: tf32, tensors: map[[4]int]uintptr{}, convs: map[convKey]*convPlan{}}
	if err := api.check("create a cuDNN handle", "cudnnCreate", api.create(&d.h)); err != nil {
		return nil, err
	}
	if err := api.check("set the cuDNN stream", "cudnnSetStream", api.setStream(d.h, stream)); err != nil {
		return nil, err
	}
	d.version = cudnnVersionString(api.getVersion())
	return d, nil
}

func (d *dnnHandle) tensor(n, c, h, w int) (uintptr, error) {
	key := [4]int{n, c, h, w}
	if t, ok := d.tensors[key]; ok {
		return t, nil
	}
	op := fmt.Sprintf("describe a %dx%dx%dx%d tensor for cuDNN", n, c, h, w)
	var t uintptr
	if err := d.api.check(op, "cudnnCreateTensorDescriptor", d.api.createTensor(&t)); err != nil {
		return 0, err
	}
	if err := d.api.check(op, "cudnnSetTensor4dDescriptor", d.api.setTensor4d(t, cudnnTensorNCHW, cudnnDataFloat, int32(n), int32(c), int32(h), int32(w))); err != nil {
		d.api.destroyTensor(t)
		return 0, err
	}
	d.tensors[key] = t
	return t, nil
}

// mathType is what a convolution descriptor starts with: TF32 allowed
// (CUDNN_DEFAULT_MATH lets cuDNN use TF32 tensor cores for float on
// Ampere and later, as PyTorch's allow_tf32) or forbidden (FMA only).
func (d *dnnHandle) mathType() int32 {
	if d.tf32 {
		return cudnnDefaultMath
	}
	return cudnnFMAMath
}

func (d *dnnHandle) plan(k convKey) (*convPlan, error) {
	if p, ok := d.convs[k]; ok {
		return p, nil
	}
	op := fmt.Sprintf("set up a cuDNN convolution %dx%d stride %d pad %d on %dx%dx%dx%d", k.R, k.S, k.Stride, k.Pad, k.N, k.C, k.H, k.W)
	p := &convPlan{}
	var err error
	if p.x, err = d.tensor(k.N, k.C, k.H, k.W); err != nil {
		return nil, err
	}
	if err = d.api.check(op, "cudnnCreateFilterDescriptor", d.api.createFilter(&p.w)); err != nil {
		return nil, err
	}
	if err = d.api.check(op, "cudnnSetFilter4dDescriptor", d.api.setFilter4d(p.w, cudnnDataFloat, cudnnTensorNCHW, int32(k.K), int32(k.C), int32(k.R), int32(k.S))); err != nil {
		return nil, err
	}
	for _, cd := range []*uintptr{&p.convFwd, &p.convBD, &p.convBF} {
		if err = d.api.check(op, "cudnnCreateConvolutionDescriptor", d.api.createConv(cd)); err != nil {
			return nil, err
		}
		if err = d.api.check(op, "cudnnSetConvolution2dDescriptor", d.api.setConv2d(*cd, int32(k.Pad), int32(k.Pad), int32(k.Stride), int32(k.Stride), 1, 1, cudnnCrossCorrelation, cudnnDataFloat)); err != nil {
			return nil, err
		}
		if err = d.api.check(op, "cudnnSetConvolutionMathType", d.api.setConvMath(*cd, d.mathType())); err != nil {
			return nil, err
		}
	}
	var n, c, h, w int32
	if err = d.api.check(op, "cudnnGetConvolution2dForwardOutputDim", d.api.convOutputDim(p.convFwd, p.x, p.w, &n, &c, &h, &w)); err != nil {
		return nil, err
	}
	P := (k.H+2*k.Pad-k.R)/k.Stride + 1
	Q := (k.W+2*k.Pad-k.S)/k.Stride + 1
	if int(n) != k.N || int(c) != k.K || int(h) != P || int(w) != Q {
		return nil, fmt.Errorf("%s: cuDNN computes an output of %dx%dx%dx%d, Lethe %dx%dx%dx%d", op, n, c, h, w, k.N, k.K, P, Q)
	}
	if p.y, err = d.tensor(k.N, k.K, P, Q); err != nil {
		return nil, err
	}
	d.convs[k] = p
	return p, nil
}

// pickAlgo returns the fastest successful result (cuDNN sorts them by
// time). With TF32 forbidden it takes only FMA-math results when there
// are any.
func pickAlgo(perfs []cudnnAlgoPerf, tf32 bool) (cudnnAlgoPerf, bool) {
	var first *cudnnAlgoPerf
	for i := range perfs {
		p := &perfs[i]
		if p.Status != 0 {
			continue
		}
		if tf32 || p.MathType == cudnnFMAMath {
			return *p, true
		}
		if first == nil {
			first = p
		}
	}
	if first != nil {
		return *first, true
	}
	return cudnnAlgoPerf{}, false
}

func (d *dnnHandle) close() {
	// A plan's x and y descriptors belong to the tensor cache, destroyed
	// below; only its filter and convolution descriptors are its own.
	for _, p := range d.convs {
		d.api.destroyFilter(p.w)
		for _, c := range []uintptr{p.convFwd, p.convBD, p.convBF} {
			d.api.destroyConv(c)
		}
	}
	for _, t := range d.tensors {
		d.api.destroyTensor(t)
	}
	d.api.destroy(d.h)
}
