package cuda

import (
	"strings"
	"sync"
	"testing"

	"lethe/nn"
)

// The fake cuBLAS and cuDNN (testdata/fakelibs) implement the documented
// semantics of the functions Lethe binds and check their arguments as the
// real libraries do. On the fake GPU they exercise the library code paths
// (bindings, the row-major GEMM mapping, descriptors, the algorithm search
// and its perf records, workspaces, batch norm with double arguments)
// without a GPU.

var (
	fakeLibsOnce sync.Once
	fakeLibsDir  string
)

func fakeLibraries(t *testing.T) libraries {
	t.Helper()
	cc(t)
	fakeLibsOnce.Do(func() {
		dir, err := osMkdirTemp()
		if err != nil {
			t.Fatal(err)
		}
		buildLib(t, dir, "libcublas.so.13", "fakecublas.c")
		buildLib(t, dir, "libcudnn.so.9", "fakecudnn.c", "-lm")
		fakeLibsDir = dir
	})
	if fakeLibsDir == "" {
		t.Fatal("the fake libraries failed to build in an earlier test")
	}
	sp := searchPath{envDirs: []string{fakeLibsDir}}
	return libraries{
		blas: func() (*cublasAPI, error) { return bindCuBLAS(sp) },
		dnn:  func() (*cudnnAPI, error) { return bindCuDNN(sp) },
	}
}

func newFakeLibsBackend(t *testing.T, opts Options) *Backend {
	be := newFakeGPUBackendWith(t, opts, fakeLibraries(t))
	if be.blas == nil || be.dnn == nil || (!be.dnnBN && !opts.OwnBatchNorm) {
		t.Fatalf("the fake libraries are not in use: %+v", be.Info())
	}
	return be
}

func TestFakeLibsInfo(t *testing.T) {
	be := newFakeLibsBackend(t, Options{})
	i := be.Info()
	if i.CuBLAS != "13.1.0" || i.CuDNN != "9.24.0" || i.BatchNorm != "cuDNN" || !strings.HasSuffix(i.CuDNNPath, "libcudnn.so.9") {
		t.Errorf("info %+v", i)
	}
}

func TestFakeLibsOps(t *testing.T) {
	runOpSuite(t, func(t *testing.T) nn.Backend { return newFakeLibsBackend(t, Options{TF32: TF32Off}) }, tolConv)
}

// TestFakeLibsAlgorithmChoice: the search's fastest successful algorithm
// (2, which needs a workspace) is chosen once per shape and direction,
// with its workspace.
func TestFakeLibsAlgorithmChoice(t *testing.T) {
	be := newFakeLibsBackend(t, Options{})
	g, _ := nn.NewConvGeom(2, 3, 8, 8, 4, 3, 3, 1, 1)
	x, w, y := be.Alloc(2*3*8*8), be.Alloc(4*3*3*3), be.Alloc(2*4*8*8)
	for i := 0; i < 2; i++ {
		be.ConvForward(g, x, w, y)
		be.ConvBackwardData(g, w, y, x)
		be.ConvBackwardFilter(g, x, y, w)
	}
	if err := be.Sync(); err != nil {
		t.Fatal(err)
	}
	p := be.dnn.convs[convKeyOf(g)]
	for name, c := range map[string]algoChoice{"forward": p.fwd, "backward data": p.bwdData, "backward filter": p.bwdFilter} {
		if !c.found || c.algo != 2 || c.ws != 256 {
			t.Errorf("%s: %+v, want algorithm 2 with 256 bytes of workspace", name, c)
		}
	}
	if len(be.dnn.convs) != 1 || be.workspace == nil || 4*be.workspace.n < 256 {
		t.Errorf("%d plans, workspace %v", len(be.dnn.convs), be.workspace)
	}
}

func TestFakeLibsTrainStep(t *testing.T) {
	be := newFakeLibsBackend(t, Options{TF32: TF32Off})
	trainStepAgreement(t, be, nn.Config{Arch: "resnet18", Classes: 10, InC: 3, InH: 8, InW: 8, Width: 0.125, Seed: 3}, 2, tolModelGrad, tolModelParam)
	if f := be.Fallbacks(); len(f) > 0 {
		t.Errorf("fallbacks: %q", f)
	}
}

// TestFakeLibsFallBackOnLibraryErrors: a library that fails a call is
// replaced by Lethe's own kernels for good, with the reason recorded, and
// results stay right.
func TestFakeLibsFallBackOnLibraryErrors(t *testing.T) {
	be := newFakeLibsBackend(t, Options{})
	// The fake cuDNN rejects convolution mode 0; break the descriptor.
	g, _ := nn.NewConvGeom(1, 2, 5, 5, 3, 3, 3, 1, 0)
	s := newSuite(be, tolConv)
	x, w, y := s.pair(s.randn(50, 1)), s.pair(s.randn(54, 1)), s.zeros(27)
	p, err := be.dnn.plan(convKeyOf(g))
	if err != nil {
		t.Fatal(err)
	}
	be.dnn.api.setConv2d(p.convFwd, 0, 0, 1, 1, 1, 1, 0, cudnnDataFloat)
	s.run(func(b nn.Backend, pk func(pair) nn.Buf) { b.ConvForward(g, pk(x), pk(w), pk(y)) })
	s.compare(t, "ConvForward after cuDNN failed", y, tolConv)
	if f := be.Fallbacks(); len(f) != 1 || !strings.Contains(f[0], "CUDNN_STATUS_BAD_PARAM") || !strings.Contains(f[0], "im2col") {
		t.Errorf("fallbacks %q", f)
	}
	// A GEMM cuBLAS rejects (the fake checks lda) cannot happen through
	// Gemm's own checks, so call the handle directly.
	if err := be.blas.sgemm(false, false, 2, 2, 2, 1, 0, 1, 0, 2, 0, 0, 2); err == nil || !strings.Contains(err.Error(), "CUBLAS_STATUS_INVALID_VALUE") {
		t.Errorf("sgemm with lda 1 for 2 columns: %v", err)
	}
}

func osMkdirTemp() (string, error) { return mkdirTemp("lethe-fakelibs-") }
