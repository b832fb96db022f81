package cpu

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"lethe/nn"
)

func naiveGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want, scale []float64) {
	want = make([]float64, len(c))
	scale = make([]float64, len(c))
	for i := range c {
		want[i] = float64(c[i])
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, abs float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
				abs += math.Abs(float64(av) * float64(bv))
			}
			prev := float64(c[i*ldc+j])
			if beta == 0 {
				prev = 0
			}
			want[i*ldc+j] = float64(alpha)*s + float64(beta)*prev
			scale[i*ldc+j] = math.Abs(float64(alpha))*abs + math.Abs(float64(beta)*prev)
		}
	}
	return want, scale
}

// TestGemm checks every transpose combination, padded strides, beta 0 over
// NaN, and sizes large enough to be split over workers, on every BLAS.
func TestGemm(t *testing.T) {
	sizes := [][3]int{{1, 1, 1}, {3, 5, 7}, {17, 1, 9}, {1, 33, 4}, {65, 130, 129}, {300, 7, 600}, {6, 300, 700}, {4, 5, 0}}
	for _, blas := range []string{"openblas", "gonum"} {
		for _, threads := range []int{1, 3} {
			be, err := New(Options{BLAS: blas, Threads: threads})
			if err != nil {
				if blas == "openblas" {
					t.Logf("OpenBLAS not available, skipping it: %v", err)
					continue
				}
				t.Fatal(err)
			}
			rng := newRNG(11)
			for _, sz := range sizes {
				m, n, k := sz[0], sz[1], sz[2]
				for tr := 0; tr < 4; tr++ {
					ta, tb := tr&1 != 0, tr&2 != 0
					for _, beta := range []float32{0, 1, -0.5} {
						name := fmt.Sprintf("%s/t%d/%dx%dx%d/tA=%v/tB=%v/beta=%v", blas, threads, m, n, k, ta, tb, beta)
						ar, ac := m, k
						if ta {
							ar, ac = k, m
						}
						br, bc := k, n
						if tb {
							br, bc = n, k
						}
						lda, ldb, ldc := ac+2, bc+1, n+3
						a := randBuf(rng, max(0, (ar-1)*lda+ac))
						b := randBuf(rng, max(0, (br-1)*ldb+bc))
						var c Buf
						if beta == 0 {
							c = nanBuf((m-1)*ldc + n)
						} else {
							c = randBuf(rng, (m-1)*ldc+n)
						}
						want, scale := naiveGemm(ta, tb, m, n, k, 0.75, a, lda, b, ldb, beta, c, ldc)
						be.Gemm(ta, tb, m, n, k, 0.75, a, lda, b, ldb, beta, c, ldc)
						// Only the m x n block is defined; padding keeps its value.
						for i := 0; i < m; i++ {
							for j := n; j < ldc && i*ldc+j < len(c); j++ {
								if beta == 0 {
									want[i*ldc+j], scale[i*ldc+j] = 0, 0
									c[i*ldc+j] = 0
								}
							}
						}
						closeToScaled(t, name, c, want, scale, 1e-5)
					}
				}
			}
			be.Close()
		}
	}
}

func TestOpenBLASAgreesWithGonum(t *testing.T) {
	lib, err := loadOpenBLAS(defaultOpenBLASNames())
	if err != nil {
		t.Skipf("OpenBLAS not available: %v", err)
	}
	if err := verifySgemm(lib.sgemm); err != nil {
		t.Fatal(err)
	}
	t.Log(lib.info)
}

// TestVerifySgemmCatchesWrongGEMM makes sure the start-up check would
// reject a broken library (here: one that ignores transB).
func TestVerifySgemmCatchesWrongGEMM(t *testing.T) {
	broken := func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		if transB {
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					c[i*ldc+j] = 0
				}
			}
			return
		}
		gonumSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
	if err := verifySgemm(broken); err == nil {
		t.Fatal("verifySgemm accepted a GEMM that ignores transB")
	}
	if err := verifySgemm(gonumSgemm); err != nil {
		t.Fatalf("verifySgemm rejected gonum itself: %v", err)
	}
}

func TestForcedGonum(t *testing.T) {
	be, err := New(Options{BLAS: "gonum", Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if info := be.BLAS(); info.Name != "gonum" || info.Fallback != "" {
		t.Fatalf("BLAS = %+v, want gonum without fallback", info)
	}
	if !strings.Contains(be.Describe(), "gonum") {
		t.Fatalf("Describe does not name gonum:\n%s", be.Describe())
	}
}

func TestMissingLibraryFallsBack(t *testing.T) {
	be, err := New(Options{Library: "liblethe-no-such-blas.so.9"})
	if err != nil {
		t.Fatalf("auto with a missing library should fall back, got %v", err)
	}
	info := be.BLAS()
	if info.Name != "gonum" || !strings.Contains(info.Fallback, "liblethe-no-such-blas.so.9") {
		t.Fatalf("BLAS = %+v, want gonum with a reason naming the library", info)
	}
	// The fallback computes correct products.
	a, b, c := Buf{1, 2, 3, 4}, Buf{5, 6, 7, 8}, make(Buf, 4)
	be.Gemm(false, false, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2)
	for i, w := range []float32{19, 22, 43, 50} {
		if c[i] != w {
			t.Fatalf("fallback GEMM: c = %v", c)
		}
	}
	_, err = New(Options{BLAS: "openblas", Library: "liblethe-no-such-blas.so.9"})
	if !errors.Is(err, errOpenBLASForced) || !strings.Contains(err.Error(), "liblethe-no-such-blas.so.9") {
		t.Fatalf("forced OpenBLAS with a missing library: err = %v", err)
	}
}

func TestBadOptions(t *testing.T) {
	if _, err := New(Options{BLAS: "mkl"}); err == nil || !strings.Contains(err.Error(), "mkl") {
		t.Fatalf("BLAS mkl: err = %v", err)
	}
	if _, err := New(Options{Threads: -1}); err == nil || !strings.Contains(err.Error(), "-1") {
		t.Fatalf("Threads -1: err = %v", err)
	}
}

// TestCoreTypeReachesOpenBLAS checks that the OPENBLAS_CORETYPE chosen (or
// set by the user) before dlopen is the kernel OpenBLAS reports using: the
// proof that os.Setenv reaches the C environment OpenBLAS reads.
func TestCoreTypeReachesOpenBLAS(t *testing.T) {
	be, err := New(Options{BLAS: "openblas"})
	if err != nil {
		t.Skipf("OpenBLAS not available: %v", err)
	}
	info := be.BLAS()
	t.Log(info)
	if info.CoreType == "" {
		t.Skip("no core type chosen for this CPU; OpenBLAS detected its own")
	}
	if !strings.EqualFold(info.CoreName, info.CoreType) {
		t.Fatalf("OPENBLAS_CORETYPE=%s (set by %s) but OpenBLAS reports core %q", info.CoreType, info.CoreTypeBy, info.CoreName)
	}
}

func TestCoreTypeFor(t *testing.T) {
	cases := []struct {
		f    cpuFeatures
		want string
	}{
		{cpuFeatures{}, ""},
		{cpuFeatures{avx2: true}, "Haswell"},
		{cpuFeatures{avx2: true, avx512: true, avx512bf16: true, amd: true}, "Haswell"},
		{cpuFeatures{avx2: true, avx512: true}, "SkylakeX"},
		{cpuFeatures{avx2: true, avx512: true, avx512bf16: true}, "Cooperlake"},
		{cpuFeatures{amd: true}, ""},
	}
	for _, c := range cases {
		if got := coreTypeFor(c.f); got != c.want {
			t.Errorf("coreTypeFor(%+v) = %q, want %q", c.f, got, c.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	be := Default()
	d := be.Describe()
	for _, want := range []string{"cpu:", "threads", "BLAS:", "ISA:", "kernels:"} {
		if !strings.Contains(d, want) {
			t.Errorf("Describe lacks %q:\n%s", want, d)
		}
	}
	t.Log(d)
}

// TestConcurrentBackends runs GEMMs and convolutions from several Backends
// at once (as the runner's parallel stages do) and checks every result:
// the shared OpenBLAS must be safe to call from many threads, and the
// backends must share no scratch.
func TestConcurrentBackends(t *testing.T) {
	const workers, rounds = 4, 10
	g, _ := nn.NewConvGeom(3, 8, 12, 10, 6, 3, 3, 1, 1)
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func(seed uint64) {
			be, err := New(Options{Threads: 2})
			if err != nil {
				errs <- err
				return
			}
			defer be.Close()
			rng := newRNG(seed)
			m, n, k := 70, 90, 110
			a, b := randBuf(rng, m*k), randBuf(rng, k*n)
			want := make([]float32, m*n)
			gonumSgemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
			x, f := randBuf(rng, g.N*g.C*g.H*g.W), randBuf(rng, g.K*g.C*g.R*g.S)
			wantY, scale := naiveConvForward(g, x, f)
			c, y := make(Buf, m*n), make(Buf, len(wantY))
			for r := 0; r < rounds; r++ {
				be.Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
				for i := range c {
					if math.Abs(float64(c[i]-want[i])) > 1e-3 {
						errs <- fmt.Errorf("backend %d round %d: C[%d] = %v, want %v", seed, r, i, c[i], want[i])
						return
					}
				}
				be.ConvForward(g, x, f, y)
				for i := range y {
					if math.Abs(float64(y[i])-wantY[i]) > 1e-5*scale[i]+1e-6 {
						errs <- fmt.Errorf("backend %d round %d: y[%d] = %v, want %v", seed, r, i, y[i], wantY[i])
						return
					}
				}
			}
			errs <- nil
		}(uint64(w))
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
