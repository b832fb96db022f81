package cpu

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// sgemmFunc is a row-major single-precision GEMM on Go slices:
// C = alpha·op(A)·op(B) + beta·C, op(A) m x k, op(B) k x n. beta == 0
// overwrites C without reading it (BLAS semantics). The backend calls it
// from several goroutines at once, each on its own block of C.
type sgemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// blasLib is a loaded GEMM provider, shared by every Backend in the
// process that asked for the same library.
type blasLib struct {
	sgemm sgemmFunc
	info  BLASInfo
}

// BLASInfo says which GEMM a backend uses, and why.
type BLASInfo struct {
	// Name is "openblas" or "gonum".
	Name string
	// Library is the file OpenBLAS was loaded from.
	Library string
	// Config is openblas_get_config(): version and build options.
	Config string
	// CoreName is the kernel family OpenBLAS picked (openblas_get_corename).
	CoreName string
	// CoreType is the OPENBLAS_CORETYPE in force when the library was
	// loaded, and who set it ("user" or "lethe"); empty when unset.
	CoreType, CoreTypeBy string
	// Fallback says why gonum is used instead of OpenBLAS (empty when
	// OpenBLAS is in use or gonum was asked for).
	Fallback string
}

func (i BLASInfo) String() string {
	if i.Name == "gonum" {
		s := "gonum (pure Go)"
		if i.Fallback != "" {
			s += ": " + i.Fallback
		}
		return s
	}
	cfg := strings.TrimSpace(i.Config)
	if !strings.HasPrefix(cfg, "OpenBLAS") {
		cfg = "OpenBLAS " + cfg
	}
	s := fmt.Sprintf("%s, core %s", cfg, i.CoreName)
	if i.CoreType != "" {
		s += fmt.Sprintf(" (OPENBLAS_CORETYPE=%s set by %s)", i.CoreType, i.CoreTypeBy)
	}
	return s + ", " + i.Library
}

// gonumSgemm is the pure-Go fallback and the reference OpenBLAS is checked
// against at load time.
func gonumSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	gonum.Implementation{}.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

var gonumLib = &blasLib{sgemm: gonumSgemm, info: BLASInfo{Name: "gonum"}}

// defaultOpenBLASNames are tried in order when Options.Library is empty.
// Debian installs the pthread build under openblas-pthread and points
// libopenblas.so.0 at it through alternatives; the explicit directory covers
// machines where the alternative is missing.
func defaultOpenBLASNames() []string {
	names := []string{"libopenblas.so.0", "libopenblas.so"}
	if triplet, ok := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[runtime.GOARCH]; ok {
		names = append(names, "/usr/lib/"+triplet+"/openblas-pthread/libopenblas.so.0")
	}
	return names
}

var (
	openblasMu    sync.Mutex
	openblasCache = map[string]openblasResult{}
)

type openblasResult struct {
	lib *blasLib
	err error
}

// loadOpenBLAS loads, configures and verifies OpenBLAS once per list of
// candidate names; later calls share the result.
func loadOpenBLAS(names []string) (*blasLib, error) {
	key := strings.Join(names, "\x00")
	openblasMu.Lock()
	defer openblasMu.Unlock()
	if r, ok := openblasCache[key]; ok {
		return r.lib, r.err
	}
	lib, err := openOpenBLAS(names)
	openblasCache[key] = openblasResult{lib, err}
	return lib, err
}

// openblasLoaded is set once a library has been dlopened: OPENBLAS_CORETYPE
// is read only by the first load in a process, so later loads must not
// pretend that what they set took effect.
var openblasLoaded bool

func openOpenBLAS(names []string) (*blasLib, error) {
	coreType, coreBy := chooseCoreType()
	// The backend never hands OpenBLAS more than one thread (see below),
	// so keep OpenBLAS from starting its thread pool at load: an idle pool
	// thread still wakes up and took about 1% of the CPU time in the conv
	// benchmarks. A value the user set is left alone.
	if _, ok := os.LookupEnv("OPENBLAS_NUM_THREADS"); !ok {
		_ = os.Setenv("OPENBLAS_NUM_THREADS", "1")
	}
	var handle uintptr
	var path string
	var errs []string
	// dlopen and dlerror must run on the same OS thread (dlerror's state
	// is per thread); purego makes them two calls, between which the Go
	// scheduler may move the goroutine, leaving an empty message.
	runtime.LockOSThread()
	for _, name := range names {
		h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err == nil && h != 0 {
			handle, path = h, name
			break
		}
		msg := "cannot load"
		if err != nil && err.Error() != "" {
			msg = err.Error()
		}
		if !strings.Contains(msg, name) {
			msg = name + ": " + msg
		}
		errs = append(errs, msg)
	}
	runtime.UnlockOSThread()
	if handle == 0 {
		return nil, fmt.Errorf("OpenBLAS not found (%s)", strings.Join(errs, "; "))
	}
	openblasLoaded = true
	sym := func(name string) (uintptr, error) {
		p, err := purego.Dlsym(handle, name)
		if err != nil {
			return 0, fmt.Errorf("%s: no symbol %s", path, name)
		}
		return p, nil
	}
	p, err := sym("cblas_sgemm")
	if err != nil {
		return nil, err
	}
	cblasSgemm := bindSgemm(p)
	info := BLASInfo{Name: "openblas", Library: path, CoreType: coreType, CoreTypeBy: coreBy}
	var getString func() string
	if p, err := sym("openblas_get_config"); err == nil {
		purego.RegisterFunc(&getString, p)
		info.Config = getString()
	}
	if p, err := sym("openblas_get_corename"); err == nil {
		purego.RegisterFunc(&getString, p)
		info.CoreName = getString()
	}
	// Threads: OpenBLAS runs single-threaded and the backend splits each
	// GEMM over its goroutines (each calling sgemm on its own block of C).
	// Measured on the 2-core Zen 4 with the ResNet-18/SmallCNN convolution
	// benchmarks (Threads = 2, best of three): 1168 ms wall and 602 ms CPU
	// with the goroutine split, against 1481 ms wall and 697 ms CPU with one
	// GEMM on two OpenBLAS threads. OpenBLAS's own pool spins after each
	// call and competes with the goroutines doing im2col, batch norm and
	// pooling between GEMMs; one thread per call is also the setting that
	// stays correct and fast when several Backends run GEMMs at once (the
	// runner runs stages in parallel).
	if p, err := sym("openblas_set_num_threads"); err == nil {
		var setThreads func(int32)
		purego.RegisterFunc(&setThreads, p)
		setThreads(1)
	}
	const rowMajor, noTrans, trans = 101, 111, 112
	sgemm := func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		if m == 0 || n == 0 {
			return
		}
		ta, tb := int32(noTrans), int32(noTrans)
		if transA {
			ta = trans
		}
		if transB {
			tb = trans
		}
		// k == 0 leaves A and B empty; BLAS does not read them then.
		var pa, pb unsafe.Pointer
		if len(a) > 0 {
			pa = unsafe.Pointer(&a[0])
		}
		if len(b) > 0 {
			pb = unsafe.Pointer(&b[0])
		}
		cblasSgemm(rowMajor, ta, tb, int32(m), int32(n), int32(k), alpha, pa, int32(lda), pb, int32(ldb), beta, unsafe.Pointer(&c[0]), int32(ldc))
		runtime.KeepAlive(a)
		runtime.KeepAlive(b)
		runtime.KeepAlive(c)
	}
	if err := verifySgemm(sgemm); err != nil {
		return nil, fmt.Errorf("%s (core %s) disagrees with the pure-Go GEMM: %v", path, info.CoreName, err)
	}
	return &blasLib{sgemm: sgemm, info: info}, nil
}

// verifySgemm checks a GEMM against gonum on random matrices: all four
// transpose combinations, odd sizes, padded leading dimensions, alpha and
// beta other than 1 and 0, and beta == 0 over a C full of NaN (which must
// be overwritten, not propagated).
func verifySgemm(sgemm sgemmFunc) error {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := [][3]int{{37, 29, 53}, {1, 67, 5}, {130, 3, 257}, {64, 64, 64}}
	for _, sz := range sizes {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			ta, tb := tr[0], tr[1]
			ar, ac := m, k
			if ta {
				ar, ac = k, m
			}
			br, bc := k, n
			if tb {
				br, bc = n, k
			}
			lda, ldb, ldc := ac+3, bc+1, n+2
			a := randSlice(rng, (ar-1)*lda+ac)
			b := randSlice(rng, (br-1)*ldb+bc)
			for _, beta := range []float32{0, 0.5} {
				c0 := randSlice(rng, (m-1)*ldc+n)
				if beta == 0 {
					for i := range c0 {
						c0[i] = float32(math.NaN())
					}
				}
				want := append([]float32(nil), c0...)
				got := append([]float32(nil), c0...)
				gonumSgemm(ta, tb, m, n, k, 1.5, a, lda, b, ldb, beta, want, ldc)
				sgemm(ta, tb, m, n, k, 1.5, a, lda, b, ldb, beta, got, ldc)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						w, g := want[i*ldc+j], got[i*ldc+j]
						if !(math.Abs(float64(w-g)) <= 1e-4*(1+math.Abs(float64(w)))) {
							return fmt.Errorf("m=%d n=%d k=%d transA=%v transB=%v beta=%v: C[%d,%d] = %v, want %v", m, n, k, ta, tb, beta, i, j, g, w)
						}
					}
					// Padding between rows must be left alone.
					if i < m-1 {
						for j := n; j < ldc; j++ {
							if want[i*ldc+j] != got[i*ldc+j] && !(beta == 0 && got[i*ldc+j] != got[i*ldc+j]) {
								return fmt.Errorf("m=%d n=%d k=%d: wrote into padding of C row %d", m, n, k, i)
							}
						}
					}
				}
			}
		}
	}
	return nil
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// errOpenBLASForced wraps load failures when the user insisted on OpenBLAS.
var errOpenBLASForced = errors.New("BLAS \"openblas\" requested")

// warnOnce prints each distinct fallback warning once per process.
var (
	warnMu   sync.Mutex
	warnSeen = map[string]bool{}
)

func warnOnce(msg string) {
	warnMu.Lock()
	defer warnMu.Unlock()
	if !warnSeen[msg] {
		warnSeen[msg] = true
		fmt.Fprintln(os.Stderr, "warning:", msg)
	}
}
