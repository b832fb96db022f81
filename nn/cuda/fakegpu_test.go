package cuda

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/ebitengine/purego"

	"lethe/nn"
)

// The fake GPU: the Backend's real device code (New's flow, gpuDevice's
// pinned staging buffers and events, module loading, cuLaunchKernel with
// the packed parameters, Close) on the fake libcuda built with -DEMULATE,
// which runs the kernels on the emulator. Only NVRTC (a fake compiler
// here: the fake driver takes kernels from the emulator), cuBLAS and
// cuDNN (absent: the fallbacks are used) are not the real thing.

type fakeCompiler2 struct{}

func (fakeCompiler2) versionString() (string, error) { return "fake", nil }
func (fakeCompiler2) archs() []int                   { return nil }
func (fakeCompiler2) libPath() string                { return "fake" }
func (fakeCompiler2) compile(src, name string, t compileTarget) ([]byte, error) {
	return []byte("image for " + t.Arch), nil
}

type fakeGPU struct {
	d       *driverAPI
	counter func(which int32) int32
}

var (
	fakeGPUOnce sync.Once
	fakeGPUDrv  *fakeGPU
)

func openFakeGPU(t testing.TB) *fakeGPU {
	t.Helper()
	emu := buildEmulator(t)
	tt, ok := t.(*testing.T)
	if !ok {
		t.Skip("the fake GPU is built by tests only")
	}
	fakeGPUOnce.Do(func() {
		dir := t.TempDir()
		path := buildLib(tt, dir, "libcuda.so.1", "fakecuda.c", "-DEMULATE", "-DDEVICES=1", "-ldl")
		h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err != nil {
			t.Fatal(err)
		}
		lib := &library{name: "libcuda.so.1", path: path, handle: h}
		var setEmu func(path string) int32
		g := &fakeGPU{}
		b := newBinder(lib)
		b.fn(&setEmu, "fake_set_emulator")
		b.fn(&g.counter, "fake_counter")
		if b.err != nil {
			t.Fatal(b.err)
		}
		if setEmu(emu) != 0 {
			t.Fatal("the fake driver could not load the emulator")
		}
		if g.d, err = bindDriver(searchPath{envDirs: []string{dir}}); err != nil {
			t.Fatal(err)
		}
		fakeGPUDrv = g
	})
	if fakeGPUDrv == nil {
		t.Fatal("the fake GPU failed to build in an earlier test")
	}
	return fakeGPUDrv
}

func newFakeGPUBackend(t testing.TB, opts Options) *Backend {
	return newFakeGPUBackendWith(t, opts, noLibraries)
}

// noLibraries: neither cuBLAS nor cuDNN, so the fallbacks run.
var noLibraries = libraries{
	blas: func() (*cublasAPI, error) { return nil, &LibraryError{What: "cuBLAS", Names: cublasSpec.names} },
	dnn:  func() (*cudnnAPI, error) { return nil, &LibraryError{What: "cuDNN", Names: cudnnSpec.names} },
}

func newFakeGPUBackendWith(t testing.TB, opts Options, libs libraries) *Backend {
	t.Helper()
	g := openFakeGPU(t)
	var warnings []string
	opts.Warn = func(s string) { warnings = append(warnings, s) }
	opts.KernelCache = "off"
	be, err := newOnDriver(g.d, fakeCompiler2{}, libs, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := be.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return be
}

func TestFakeGPUOps(t *testing.T) {
	runOpSuite(t, func(t *testing.T) nn.Backend { return newFakeGPUBackend(t, Options{}) }, tolConv)
}

func TestFakeGPUInfo(t *testing.T) {
	be := newFakeGPUBackend(t, Options{})
	i := be.Info()
	if i.Device.Name != "Fake GPU" || i.KernelTarget != "sm_90" || i.Driver != "13.0" || i.NVRTC != "fake" || be.Name() != "cuda:0" {
		t.Errorf("info %+v", i)
	}
	if be.blas != nil || be.dnn != nil {
		t.Error("the fake GPU without libraries uses cuBLAS or cuDNN")
	}
	t.Logf("cuBLAS: %s", i.CuBLAS)
	t.Logf("cuDNN: %s", i.CuDNN)
}

// TestFakeGPUStaging: host copies go through pinned staging buffers whose
// events stay pending until a synchronisation. Copies larger than a
// staging chunk, and more queued uploads than there are buffers, must
// arrive intact, with the pool bounded.
func TestFakeGPUStaging(t *testing.T) {
	g := openFakeGPU(t)
	be := newFakeGPUBackend(t, Options{})
	syncsBefore := g.counter(1)
	r := rand.New(rand.NewPCG(1, 2))
	big := make([]float32, (2*stagingChunk)/4+12345) // three chunks
	for i := range big {
		big[i] = r.Float32()
	}
	b := be.Alloc(len(big))
	be.Upload(b, big)
	back := make([]float32, len(big))
	be.Download(back, b)
	if !bytes.Equal(floatBytes(back), floatBytes(big)) {
		t.Fatal("a copy over three staging chunks came back different")
	}
	const n = 3 * stagingMax
	bufs := make([]nn.Buf, n)
	src := make([]float32, 70000)
	for k := range bufs {
		for i := range src {
			src[i] = float32(k*100000 + i)
		}
		bufs[k] = be.Alloc(len(src))
		be.Upload(bufs[k], src) // src is reused at once
	}
	for k := range bufs {
		be.Download(back[:len(src)], bufs[k])
		for _, i := range []int{0, 4321, len(src) - 1} {
			if want := float32(k*100000 + i); back[i] != want {
				t.Fatalf("upload %d: value %d = %v, want %v", k, i, back[i], want)
			}
		}
	}
	if err := be.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := len(be.gpu.staging); got > stagingMax {
		t.Errorf("%d staging buffers, at most %d allowed", got, stagingMax)
	}
	if g.counter(1) == syncsBefore {
		t.Errorf("%d uploads queued back to back never waited for a busy staging buffer", n)
	}
	t.Logf("%d staging buffers; %d event queries, %d event waits, %d pinned allocations so far", len(be.gpu.staging), g.counter(0), g.counter(1), g.counter(2))
}

func TestFakeGPUTrainStep(t *testing.T) {
	be := newFakeGPUBackend(t, Options{})
	trainStepAgreement(t, be, nn.Config{Arch: "smallcnn", Classes: 10, InC: 1, InH: 12, InW: 12, Width: 0.25, Seed: 1}, 4, tolModelGrad, tolModelParam)
}

func TestFakeGPULaunchFailureIsReported(t *testing.T) {
	be := newFakeGPUBackend(t, Options{})
	// An argument list that does not match the kernel never reaches the
	// driver.
	be.run("test", func() error {
		return be.launch("relu_fwd", [3]uint32{1, 1, 1}, block256, kptr(0), kint(1))
	})
	if err := be.Sync(); err == nil || !strings.Contains(err.Error(), "relu_fwd takes 3 arguments, launched with 2") {
		t.Errorf("Sync = %v", err)
	}
	// A launch the driver rejects (1025 threads) is reported with the
	// driver's error.
	be2 := newFakeGPUBackend(t, Options{})
	x := be2.Alloc(10)
	be2.run("test", func() error {
		return be2.launch("relu_fwd", [3]uint32{1, 1, 1}, [3]uint32{1025, 1, 1}, kptr(x.(*Buffer).ptr()), kptr(x.(*Buffer).ptr()), kint(10))
	})
	if err := be2.Sync(); err == nil || !strings.Contains(err.Error(), "cuLaunchKernel failed: CUDA_ERROR_LAUNCH_FAILED") {
		t.Errorf("Sync = %v", err)
	}
}

// mkdirTemp makes a directory that outlives the test that made it (the
// libraries loaded from it stay loaded for the whole process).
func mkdirTemp(prefix string) (string, error) { return os.MkdirTemp("", prefix) }
