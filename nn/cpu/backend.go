// Package cpu is Lethe's CPU backend: it implements nn.Backend on Go slices,
// with GEMM from OpenBLAS (loaded at run time through purego, checked
// against gonum's pure-Go GEMM at start-up) or gonum as the fallback.
// Convolutions run on the backend's own direct kernels where they apply
// (AVX2/AVX-512VL through cgo, direct.go) and otherwise as im2col + GEMM;
// every op splits its work over a small pool of goroutines.
//
// It is the reference backend: its ops follow the semantics written in
// nn.Backend exactly, and the CUDA backend is tested against it.
//
// A Backend is used by one goroutine at a time: its ops parallelise
// internally and reuse per-backend scratch buffers. Several Backends may
// live in one process (one per concurrently running stage); they share the
// loaded BLAS library.
package cpu

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"

	"lethe/nn"
)

// Options configures a Backend.
type Options struct {
	// Threads is how many goroutines an op may use; 0 means GOMAXPROCS.
	Threads int
	// BLAS picks the GEMM: "auto" (or "") uses OpenBLAS when it loads and
	// passes the start-up check, else gonum with a warning on stderr;
	// "openblas" fails instead of falling back; "gonum" never loads OpenBLAS.
	BLAS string
	// Library overrides the OpenBLAS file name(s) to dlopen (tests use a
	// name that does not exist to exercise the fallback). Empty means
	// libopenblas.so.0, libopenblas.so, then Debian's openblas-pthread
	// directory.
	Library string
}

// Backend implements nn.Backend on the CPU. See the package comment for
// its concurrency rules.
type Backend struct {
	threads int
	blas    *blasLib
	pool    *workers
	// scratch holds each worker's reusable convolution buffer (im2col
	// columns, GEMM output); each grows to the largest layer's need and is
	// never shrunk, so memory stays flat across training steps.
	scratch [][]float32
	// chunkSums holds the filter-gradient sums of a backward-filter
	// pass's chunks 1.. (chunk 0 adds into dw itself), reduced into dw in
	// chunk order after the pass.
	chunkSums []float32
	// xoff and directTabs (one per worker) hold a direct convolution's
	// tap offsets and vector tables.
	xoff       []int
	directTabs [][]int
	// taps holds the current convolution's filter positions.
	taps []tap
	// nextChunk is the next chunk to claim in a dynamically scheduled
	// convolution.
	nextChunk atomic.Int64
	// flipped holds the spatially flipped, channel-transposed filters of
	// a stride-1 backward-data pass.
	flipped []float32
}

var _ nn.Backend = (*Backend)(nil)

// New makes a Backend.
func New(opts Options) (*Backend, error) {
	threads := opts.Threads
	if threads < 0 {
		return nil, fmt.Errorf("cpu backend: Threads = %d, want 0 (all) or more", threads)
	}
	if threads == 0 {
		threads = defaultThreads()
	}
	if threads > maxThreads {
		return nil, fmt.Errorf("cpu backend: Threads = %d, at most %d", threads, maxThreads)
	}
	var names []string
	if opts.Library != "" {
		names = []string{opts.Library}
	} else {
		names = defaultOpenBLASNames()
	}
	var lib *blasLib
	switch strings.ToLower(opts.BLAS) {
	case "", "auto":
		l, err := loadOpenBLAS(names)
		if err != nil {
			warnOnce(fmt.Sprintf("CPU backend uses the pure-Go gonum GEMM (slower): %v", err))
			lib = &blasLib{sgemm: gonumSgemm, info: BLASInfo{Name: "gonum", Fallback: err.Error()}}
		} else {
			lib = l
		}
	case "openblas":
		l, err := loadOpenBLAS(names)
		if err != nil {
			return nil, fmt.Errorf("cpu backend: %w: %v", errOpenBLASForced, err)
		}
		lib = l
	case "gonum":
		lib = gonumLib
	default:
		return nil, fmt.Errorf("cpu backend: BLAS %q: want \"auto\", \"openblas\" or \"gonum\"", opts.BLAS)
	}
	b := &Backend{
		threads: threads,
		blas:    lib,
		pool:    newWorkers(threads),

		scratch:    make([][]float32, threads),
		directTabs: make([][]int, threads),
	}
	runtime.AddCleanup(b, func(p *workers) { p.stop() }, b.pool)
	return b, nil
}

// Default is New with all cores and the best BLAS available.
func Default() *Backend {
	b, err := New(Options{})
	if err != nil {
		// Only invalid options make New fail, and the defaults are valid.
		panic(err)
	}
	return b
}

// Close stops the backend's worker goroutines. It is optional: an
// unreachable Backend stops them itself.
func (b *Backend) Close() { b.pool.stop() }

// Threads is the number of goroutines an op uses.
func (b *Backend) Threads() int { return b.threads }

// BLAS says which GEMM is in use.
func (b *Backend) BLAS() BLASInfo { return b.blas.info }

// Name is "cpu".
func (b *Backend) Name() string { return "cpu" }

// Info describes the CPU backend for `lethe devices` and run records.
type Info struct {
	Model    string // CPU model name, from /proc/cpuinfo
	Cores    int    // logical CPUs the Go runtime sees
	Threads  int    // goroutines an op uses
	Features string // ISA extensions that matter for speed
	Kernels  string // which of the backend's own kernels run
	BLAS     BLASInfo
}

// Info reports the CPU, the threads in use and the GEMM.
func (b *Backend) Info() Info {
	model := readHostCPU().model
	if model == "" {
		model = runtime.GOARCH + " CPU"
	}
	return Info{Model: model, Cores: runtime.NumCPU(), Threads: b.threads, Features: isaFeatures(), Kernels: kernelsInfo(), BLAS: b.blas.info}
}

// kernelsInfo names the kernels this build and CPU run: batch norm, ReLU,
// Add and SGD in AVX2 or Go, and convolutions direct or through im2col.
func kernelsInfo() string {
	if !haveAVX2 {
		return "Go element-wise kernels; convolutions by im2col and GEMM"
	}
	filter := "backward filter by im2col and GEMM"
	if convDirectFilterKernel != nil {
		filter = "direct backward filter"
	}
	return fmt.Sprintf("AVX2 element-wise kernels; direct convolutions (%d-channel tiles, %s) where they apply, else im2col and GEMM", directMR, filter)
}

// Describe is Info as a few lines of text.
func (b *Backend) Describe() string {
	i := b.Info()
	return fmt.Sprintf("cpu: %s, %d logical CPUs, %d threads per op\n  ISA: %s\n  kernels: %s\n  BLAS: %s", i.Model, i.Cores, i.Threads, i.Features, i.Kernels, i.BLAS)
}

// buf returns worker w's scratch buffer with n values (contents
// undefined).
func (b *Backend) buf(w, n int) []float32 {
	return growBuf(b.scratch, w, n)
}

// sums returns the chunk-sum buffer with n values (contents undefined).
func (b *Backend) sums(n int) []float32 {
	if cap(b.chunkSums) < n {
		b.chunkSums = make([]float32, n)
	}
	return b.chunkSums[:n]
}

// growBuf returns bufs[w][:n], growing slot w as needed. The slots are
// made in New, so workers touch only their own.
func growBuf(bufs [][]float32, w, n int) []float32 {
	if cap(bufs[w]) < n {
		bufs[w] = make([]float32, n)
	}
	return bufs[w][:n]
}

// fail panics with a message naming the op. Callers test their condition
// first (if !cond { fail(...) }) so that the arguments are only boxed on
// failure: a variadic check(cond, ...) allocated on every call of every op.
func fail(op string, format string, args ...any) {
	panic(fmt.Sprintf("cpu.%s: %s", op, fmt.Sprintf(format, args...)))
}
