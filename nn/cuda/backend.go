package cuda

import (
	"errors"
	"fmt"
	"math"
	"os"
	"syscall"
	"unsafe"

	"lethe/nn"
)

// TF32Mode says where TensorFloat-32 tensor-core math is allowed.
type TF32Mode int

const (
	// TF32Conv (the default) allows TF32 in convolutions and keeps GEMMs
	// in full float32, as PyTorch's defaults (cudnn.allow_tf32 = True,
	// cuda.matmul.allow_tf32 = False).
	TF32Conv TF32Mode = iota
	// TF32Off forbids TF32 everywhere: results match the CPU closely.
	TF32Off
	// TF32All allows TF32 in convolutions and GEMMs.
	TF32All
)

func (m TF32Mode) String() string {
	switch m {
	case TF32Conv:
		return "convolutions"
	case TF32Off:
		return "off"
	case TF32All:
		return "convolutions and GEMM"
	}
	return fmt.Sprintf("TF32Mode(%d)", int(m))
}

// Options configures a Backend. The zero value is the usual choice: GPU 0,
// cuDNN and cuBLAS when present, TF32 in convolutions only.
type Options struct {
	Device int      // GPU ordinal
	TF32   TF32Mode // where TF32 is allowed
	// NoCuDNN makes convolutions im2col + GEMM and batch norm Lethe's own
	// kernels even when cuDNN loads; NoCuBLAS makes GEMM Lethe's tiled
	// kernel. Both exist for tests and for working around a broken
	// library; without the library the fallback is taken anyway, with a
	// warning.
	NoCuDNN  bool
	NoCuBLAS bool
	// OwnBatchNorm uses Lethe's batch-norm kernels even with cuDNN.
	OwnBatchNorm bool
	// KernelCache is the directory for compiled kernels; "" means
	// $LETHE_NVRTC_CACHE or the user cache directory, "off" disables it.
	KernelCache string
	// Warn receives non-fatal problems (a library missing, the kernel
	// cache not writable); nil prints them to stderr.
	Warn func(string)
}

// Info describes a Backend's device and libraries.
type Info struct {
	Device        DeviceProps
	Driver        string // CUDA version the driver supports, e.g. "13.0"
	DriverPath    string
	NVRTC         string
	NVRTCPath     string
	CuBLAS        string // version, or why the tiled GEMM kernel is used
	CuBLASPath    string
	CuDNN         string // version, or why im2col is used
	CuDNNPath     string
	KernelTarget  string // sm_90, or compute_XX when NVRTC is older than the GPU
	KernelsCached bool   // the compiled kernels came from the disk cache
	TF32          TF32Mode
	BatchNorm     string // "cuDNN" or "Lethe kernels"
}

// Backend implements nn.Backend on one GPU. Like the CPU backend it is
// used by one goroutine at a time; ops queue work on the backend's stream
// and return.
type Backend struct {
	name    string
	dev     device
	gpu     *gpuDevice // nil under the test emulator
	alloc   *allocator
	kernels map[string]*kernel
	blas    *blasHandle // nil: sgemm_tiled
	dnn     *dnnHandle  // nil: im2col + GEMM, Lethe's batch norm
	dnnBN   bool        // batch norm through cuDNN
	opts    Options
	info    Info
	err     error // the first error; later ops are skipped

	params   *paramBlock
	paramMem []byte // the mapping that holds params

	dnnConvOff map[convDirKey]bool // shapes and directions where cuDNN failed
	fallbacks  []string            // library failures worked around

	partial   *Buffer // per-block partial sums (float64) for reductions
	result    *Buffer // the final float64 of a reduction
	workspace *Buffer // cuDNN workspace, grown on demand
	closed    bool
}

type kernel struct {
	sig *kernelSig
	fn  uintptr
}

// paramBlock holds one launch's argument values and the array of
// pointers to them that cuLaunchKernel reads. It lives in an anonymous
// memory mapping, outside the Go heap, so C may hold pointers into it
// without pinning; it is reused: launches are serialised and the driver
// copies the values at launch.
type paramBlock struct {
	vals [32]uint64
	ptrs [32]unsafe.Pointer
}

const (
	maxPartials   = 1024 // blocks in the first pass of a one-value reduction
	maxLaunchSize = math.MaxInt32 - 1<<26
)

var _ nn.Backend = (*Backend)(nil)

// New opens GPU opts.Device. Without a usable GPU it fails with an error
// that begins "no CUDA device:" and says which libraries were tried and
// why they failed.
func New(opts Options) (*Backend, error) {
	d, err := loadDriver()
	if err != nil {
		return nil, fmt.Errorf("no CUDA device: %w", err)
	}
	var nv kernelCompiler
	if n, err := loadNVRTC(); err != nil {
		nv = missingCompiler{err}
	} else {
		nv = n
	}
	return newOnDriver(d, nv, defaultLibraries, opts)
}

// libraries loads cuBLAS and cuDNN; the tests substitute fakes.
type libraries struct {
	blas func() (*cublasAPI, error)
	dnn  func() (*cudnnAPI, error)
}

var defaultLibraries = libraries{blas: loadCuBLAS, dnn: loadCuDNN}

// kernelCompiler is NVRTC as New uses it; the tests substitute a fake.
type kernelCompiler interface {
	versionString() (string, error)
	archs() []int
	compile(src, name string, t compileTarget) ([]byte, error)
	libPath() string
}

// missingCompiler stands for an NVRTC that could not be loaded, so that
// New reports it only once a GPU was found.
type missingCompiler struct{ err error }

func (m missingCompiler) versionString() (string, error) { return "", m.err }
func (m missingCompiler) archs() []int                   { return nil }
func (m missingCompiler) libPath() string                { return "" }
func (m missingCompiler) compile(string, string, compileTarget) ([]byte, error) {
	return nil, m.err
}

// newOnDriver is New on a bound driver with a given kernel compiler and
// libraries.
func newOnDriver(d *driverAPI, nv kernelCompiler, libs libraries, opts Options) (*Backend, error) {
	g, err := openGPU(d, opts.Device)
	if err != nil {
		return nil, fmt.Errorf("no CUDA device: %w", err)
	}
	warn := opts.Warn
	if warn == nil {
		warn = func(s string) { fmt.Fprintln(os.Stderr, "lethe: cuda:", s) }
	}
	info := Info{Device: g.props, DriverPath: d.lib.path, TF32: opts.TF32}
	if v, err := d.version(); err == nil {
		info.Driver = formatCUDAVersion(v)
	}
	if info.NVRTC, err = nv.versionString(); err != nil {
		return nil, fmt.Errorf("cuda: NVRTC compiles Lethe's kernels and could not be used: %w", err)
	}
	info.NVRTCPath = nv.libPath()
	target, err := chooseTarget(g.props.Major, g.props.Minor, nv.archs())
	if err != nil {
		return nil, fmt.Errorf("cuda: %s: %w", g.props.Name, err)
	}
	info.KernelTarget = target.Arch
	cache := defaultKernelCache()
	switch opts.KernelCache {
	case "":
	case "off":
		cache = kernelCache{}
	default:
		cache = kernelCache{dir: opts.KernelCache}
	}
	image, cached, err := cache.load(kernelSource, target, info.NVRTC, func(src string, t compileTarget) ([]byte, error) {
		return nv.compile(src, "lethe_kernels.cu", t)
	}, warn)
	if err != nil {
		return nil, fmt.Errorf("cuda: %w", err)
	}
	info.KernelsCached = cached
	if err := g.enter(); err != nil {
		return nil, fmt.Errorf("cuda: %w", err)
	}
	err = g.loadModule(image)
	g.leave()
	if err != nil {
		return nil, fmt.Errorf("cuda: %w", err)
	}
	be, err := newBackend(g, fmt.Sprintf("cuda:%d", opts.Device), opts)
	if err != nil {
		return nil, err
	}
	be.gpu = g
	// cuBLAS and cuDNN bind their handles to the context current on the
	// thread (through the CUDA runtime), so create them inside it.
	if err := g.enter(); err != nil {
		return nil, fmt.Errorf("cuda: %w", err)
	}
	defer g.leave()
	info.CuBLAS, info.CuDNN, info.BatchNorm = "not used (Options.NoCuBLAS)", "not used (Options.NoCuDNN)", "Lethe kernels"
	if !opts.NoCuBLAS {
		if api, err := libs.blas(); err != nil {
			info.CuBLAS = "absent, GEMM uses Lethe's tiled kernel: " + err.Error()
			warn(info.CuBLAS)
		} else if h, err := newBlasHandle(api, g.stream, opts.TF32 == TF32All); err != nil {
			info.CuBLAS = "failed, GEMM uses Lethe's tiled kernel: " + err.Error()
			warn(info.CuBLAS)
		} else {
			be.blas, info.CuBLAS, info.CuBLASPath = h, h.version, api.lib.path
		}
	}
	if !opts.NoCuDNN {
		if api, err := libs.dnn(); err != nil {
			info.CuDNN = "absent, convolutions use im2col + GEMM: " + err.Error()
			warn(info.CuDNN)
		} else if h, err := newDNNHandle(api, g.stream, opts.TF32 != TF32Off); err != nil {
			info.CuDNN = "failed, convolutions use im2col + GEMM: " + err.Error()
			warn(info.CuDNN)
		} else {
			be.dnn, info.CuDNN, info.CuDNNPath = h, h.version, api.lib.path
			if api.hasBN && !opts.OwnBatchNorm {
				be.dnnBN, info.BatchNorm = true, "cuDNN"
			}
		}
	}
	be.info = info
	return be, nil
}

// newBackend sets up what every device needs: the kernels of kernels.cu,
// the allocator, the launch parameters and the reduction scratch.
func newBackend(dev device, name string, opts Options) (*Backend, error) {
	sigs, err := parseKernels(kernelSource)
	if err != nil {
		return nil, err
	}
	mem, err := syscall.Mmap(-1, 0, int(unsafe.Sizeof(paramBlock{})), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("cuda: mapping memory for kernel parameters: %w", err)
	}
	be := &Backend{name: name, dev: dev, alloc: newAllocator(dev), kernels: map[string]*kernel{}, opts: opts, dnnConvOff: map[convDirKey]bool{},
		params: (*paramBlock)(unsafe.Pointer(&mem[0])), paramMem: mem}
	for i := range be.params.ptrs {
		be.params.ptrs[i] = unsafe.Pointer(&be.params.vals[i])
	}
	if err := dev.enter(); err != nil {
		return nil, fmt.Errorf("cuda: %w", err)
	}
	defer dev.leave()
	for i := range sigs {
		fn, err := dev.function(sigs[i].Name)
		if err != nil {
			return nil, fmt.Errorf("cuda: %w", err)
		}
		be.kernels[sigs[i].Name] = &kernel{sig: &sigs[i], fn: fn}
	}
	// Float64 scratch, allocated as pairs of float32 values.
	be.partial = be.allocLocked(2*maxPartials, "reduction scratch")
	be.result = be.allocLocked(2, "reduction result")
	if be.err != nil {
		return nil, be.err
	}
	return be, nil
}

// Name is "cuda:<ordinal>".
func (be *Backend) Name() string { return be.name }

// Info describes the device and the libraries in use.
func (be *Backend) Info() Info { return be.info }

// MemStats reports the caching allocator's bookkeeping.
func (be *Backend) MemStats() MemStats { return be.alloc.stats() }

// Err is the first error met so far (nil if none), without waiting.
func (be *Backend) Err() error { return be.err }

// Fallbacks lists the library failures the backend worked around by
// switching to its own kernels (empty when cuBLAS and cuDNN did all that
// was asked of them).
func (be *Backend) Fallbacks() []string { return be.fallbacks }

func (be *Backend) fallback(msg string) {
	be.fallbacks = append(be.fallbacks, msg)
	if be.opts.Warn != nil {
		be.opts.Warn(msg)
	} else {
		fmt.Fprintln(os.Stderr, "lethe: cuda:", msg)
	}
}

func (be *Backend) fail(op string, err error) {
	if be.err == nil && err != nil {
		be.err = fmt.Errorf("cuda %s: %w", op, err)
	}
}

// run executes f with the device entered, unless an earlier error made
// the backend unusable; f's error becomes the backend's error.
func (be *Backend) run(op string, f func() error) {
	if be.err != nil {
		return
	}
	if be.closed {
		be.fail(op, errors.New("backend is closed"))
		return
	}
	if err := be.dev.enter(); err != nil {
		be.fail(op, err)
		return
	}
	defer be.dev.leave()
	be.fail(op, f())
}

// launch queues kernel name after checking the arguments against its
// parsed signature.
func (be *Backend) launch(name string, grid, block [3]uint32, args ...karg) error {
	k := be.kernels[name]
	if k == nil {
		return fmt.Errorf("no kernel %q in kernels.cu", name)
	}
	if err := k.sig.checkArgs(args); err != nil {
		return err
	}
	for i, a := range args {
		be.params.vals[i] = a.bits
	}
	if err := be.dev.launch(k.fn, grid, block, unsafe.Pointer(&be.params.ptrs[0])); err != nil {
		return fmt.Errorf("kernel %s: %w", name, err)
	}
	return nil
}

const blockSize = 256

// gridFor sizes a grid-stride launch over n items: enough blocks to fill
// the device a few times over, no more.
func (be *Backend) gridFor(n int) [3]uint32 {
	blocks := (n + blockSize - 1) / blockSize
	if lim := be.dev.multiprocessors() * 16; blocks > lim {
		blocks = lim
	}
	if blocks < 1 {
		blocks = 1
	}
	return [3]uint32{uint32(blocks), 1, 1}
}

var block256 = [3]uint32{blockSize, 1, 1}

// elementwise launches a grid-stride kernel over n items.
func (be *Backend) elementwise(name string, n int, args ...karg) error {
	if n == 0 {
		return nil
	}
	if n > maxLaunchSize {
		return fmt.Errorf("%d values: more than one launch handles (%d)", n, maxLaunchSize)
	}
	return be.launch(name, be.gridFor(n), block256, args...)
}

// pow2Block is the smallest power of two ≥ n, between 32 and 256: the
// block size of a shared-memory reduction over n values.
func pow2Block(n int) uint32 {
	b := 32
	for b < n && b < blockSize {
		b *= 2
	}
	return uint32(b)
}

// allocLocked allocates n zeroed floats; the device is entered.
func (be *Backend) allocLocked(n int, what string) *Buffer {
	b := &Buffer{be: be, n: n}
	if n == 0 || be.err != nil {
		return b
	}
	p, err := be.alloc.alloc(4 * n)
	if err != nil {
		be.fail("Alloc "+what, err)
		return b
	}
	b.alloc = &allocation{ptr: p}
	be.fail("Alloc "+what, be.dev.memset32(p, 0, n))
	return b
}

// Alloc returns n zeroed values.
func (be *Backend) Alloc(n int) nn.Buf {
	check("Alloc", n >= 0, "negative size %d", n)
	var b *Buffer
	if be.err != nil || n == 0 {
		return &Buffer{be: be, n: n}
	}
	be.run("Alloc", func() error {
		b = be.allocLocked(n, fmt.Sprintf("%d floats", n))
		return nil
	})
	if b == nil {
		b = &Buffer{be: be, n: n}
	}
	return b
}

// AllocInt returns n zeroed int32 values.
func (be *Backend) AllocInt(n int) nn.IntBuf {
	f := be.Alloc(n).(*Buffer)
	return &IntBuffer{be: be, alloc: f.alloc, n: n}
}

func (be *Backend) freeAlloc(op string, a *allocation, view bool) {
	if view {
		be.fail(op, errors.New("a view made by Slice cannot be freed; free the buffer it was sliced from"))
		return
	}
	if a == nil {
		return
	}
	if a.freed {
		be.fail(op, errors.New("buffer freed twice"))
		return
	}
	a.freed = true
	be.fail(op, be.alloc.release(a.ptr))
}

// Free returns b's storage to the caching allocator. Freeing a view is
// an error (reported by Sync), as is freeing twice.
func (be *Backend) Free(x nn.Buf) {
	b, ok := x.(*Buffer)
	check("Free", ok && b != nil && b.be == be, "buffer of type %T does not belong to this backend", x)
	be.freeAlloc("Free", b.alloc, b.view)
}

// FreeInt is Free for int buffers.
func (be *Backend) FreeInt(x nn.IntBuf) {
	b, ok := x.(*IntBuffer)
	check("FreeInt", ok && b != nil && b.be == be, "int buffer of type %T does not belong to this backend", x)
	be.freeAlloc("FreeInt", b.alloc, b.view)
}

// Trim waits for the device and returns every cached block to the driver.
func (be *Backend) Trim() error {
	be.run("Trim", func() error {
		if err := be.dev.sync(); err != nil {
			return err
		}
		return be.alloc.trim()
	})
	return be.err
}

func floatBytes(s []float32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 4*len(s))
}

func int32Bytes(s []int32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 4*len(s))
}

// Upload queues a copy of src into dst through pinned staging memory;
// src may be reused as soon as Upload returns.
func (be *Backend) Upload(dst nn.Buf, src []float32) {
	d := be.fbuf("Upload", dst)
	check("Upload", d.n == len(src), "%d values into a buffer of %d", len(src), d.n)
	if d.n == 0 {
		return
	}
	be.run("Upload", func() error { return be.dev.upload(d.ptr(), floatBytes(src)) })
}

// Download waits for the queued work and copies src into dst. After a
// device error dst is filled with NaN, so a caller that checks values
// notices even before calling Sync.
func (be *Backend) Download(dst []float32, src nn.Buf) {
	s := be.fbuf("Download", src)
	check("Download", s.n == len(dst), "a buffer of %d values into %d", s.n, len(dst))
	if s.n == 0 {
		return
	}
	be.run("Download", func() error { return be.dev.download(floatBytes(dst), s.ptr()) })
	if be.err != nil {
		nan := float32(math.NaN())
		for i := range dst {
			dst[i] = nan
		}
	}
}

// UploadInt is Upload for int32 values.
func (be *Backend) UploadInt(dst nn.IntBuf, src []int32) {
	d := be.ibuf("UploadInt", dst)
	check("UploadInt", d.n == len(src), "%d values into a buffer of %d", len(src), d.n)
	if d.n == 0 {
		return
	}
	be.run("UploadInt", func() error { return be.dev.upload(d.ptr(), int32Bytes(src)) })
}

// DownloadInt is Download for int32 values; after a device error dst is
// filled with -1.
func (be *Backend) DownloadInt(dst []int32, src nn.IntBuf) {
	s := be.ibuf("DownloadInt", src)
	check("DownloadInt", s.n == len(dst), "a buffer of %d values into %d", s.n, len(dst))
	if s.n == 0 {
		return
	}
	be.run("DownloadInt", func() error { return be.dev.download(int32Bytes(dst), s.ptr()) })
	if be.err != nil {
		for i := range dst {
			dst[i] = -1
		}
	}
}

// Copy queues dst = src on the device.
func (be *Backend) Copy(dst, src nn.Buf) {
	d, s := be.fbuf("Copy", dst), be.fbuf("Copy", src)
	check("Copy", d.n == s.n, "%d values into a buffer of %d", s.n, d.n)
	if d.n == 0 {
		return
	}
	be.run("Copy", func() error { return be.dev.copyAsync(d.ptr(), s.ptr(), 4*d.n) })
}

// Fill sets every value of dst to v.
func (be *Backend) Fill(dst nn.Buf, v float32) {
	d := be.fbuf("Fill", dst)
	if d.n == 0 {
		return
	}
	be.run("Fill", func() error { return be.dev.memset32(d.ptr(), math.Float32bits(v), d.n) })
}

// Sync waits for all queued work and returns the first error met since
// the backend was made. Errors are sticky: a backend that failed stays
// failed (after a device fault the context is unusable anyway).
func (be *Backend) Sync() error {
	be.run("Sync", be.dev.sync)
	return be.err
}

// Close waits for the device, returns all cached memory, destroys the
// library handles and the stream and releases the GPU's context. Buffers
// still allocated are freed with the context; none may be used again.
func (be *Backend) Close() error {
	if be.closed {
		return nil
	}
	var errs []error
	if err := be.dev.enter(); err != nil {
		return err
	}
	defer be.dev.leave()
	errs = append(errs, be.dev.sync())
	for _, b := range []*Buffer{be.workspace, be.partial, be.result} {
		if b != nil && b.alloc != nil && !b.alloc.freed {
			b.alloc.freed = true
			errs = append(errs, be.alloc.release(b.alloc.ptr))
		}
	}
	errs = append(errs, be.alloc.trim())
	if be.blas != nil {
		be.blas.api.destroy(be.blas.h)
	}
	if be.dnn != nil {
		be.dnn.close()
	}
	if g := be.gpu; g != nil {
		for _, s := range g.staging {
			g.d.cuEventDestroy(s.event)
			g.d.cuMemFreeHost(s.p)
		}
		g.staging = nil
		g.d.cuStreamDestroy(g.stream)
		errs = append(errs, g.d.check("release the GPU context", "cuDevicePrimaryCtxRelease_v2", g.d.cuDevicePrimaryCtxRelease(g.dev)))
	}
	errs = append(errs, syscall.Munmap(be.paramMem))
	be.params, be.paramMem = nil, nil
	be.closed = true
	return errors.Join(errs...)
}
