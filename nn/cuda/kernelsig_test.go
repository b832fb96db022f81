package cuda

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestKernelSourceParses(t *testing.T) {
	sigs, err := parseKernels(kernelSource)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*kernelSig{}
	for i := range sigs {
		byName[sigs[i].Name] = &sigs[i]
	}
	// Every kernel the Go code names exists in kernels.cu, and every
	// kernel in kernels.cu is used.
	used := map[string]bool{}
	re := regexp.MustCompile(`(?:launch|elementwise|reduceToHost)\((?:"[^"]*", )?"(\w+)"|planeReduce\("\w+", "(\w+)"`)
	files, _ := os.ReadDir(".")
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
			continue
		}
		src, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			name := m[1] + m[2]
			used[name] = true
			if byName[name] == nil {
				t.Errorf("%s launches kernel %s, which kernels.cu does not define", f.Name(), name)
			}
		}
	}
	// ChannelMax/ChannelMean name their kernels through planeReduce's
	// callers.
	used["channel_max"], used["channel_mean"] = true, true
	for name := range byName {
		if !used[name] {
			t.Errorf("kernel %s is defined but never launched", name)
		}
	}
	s := byName["axpy_vec"]
	if s == nil || len(s.Params) != 4 || s.Params[0] != argFloat || s.Params[1] != argPtr || s.Params[3] != argInt {
		t.Errorf("axpy_vec parsed as %+v", s)
	}
	t.Logf("%d kernels", len(sigs))
}

func TestParseKernelsRejects(t *testing.T) {
	for src, want := range map[string]string{
		`extern "C" __global__ void k(size_t n) {}`:                                                `type "size_t"`,
		`extern "C" __global__ void k(int n) {}` + "\n" + `extern "C" __global__ void k(int n) {}`: "defined twice",
		`__global__ void k(int n) {}`:                                                              "no kernel",
		`extern "C" __global__ void k(float* ) {}`:                                                 "cannot read parameter",
	} {
		_, err := parseKernels(src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one containing %q", src, err, want)
		}
	}
}

func TestLaunchArgumentsChecked(t *testing.T) {
	s := kernelSig{Name: "k", Params: []argKind{argPtr, argInt, argFloat}, Names: []string{"x", "n", "a"}}
	if err := s.checkArgs([]karg{kptr(1), kint(2), kfloat(3)}); err != nil {
		t.Error(err)
	}
	if err := s.checkArgs([]karg{kptr(1), kint(2)}); err == nil || !strings.Contains(err.Error(), "takes 3 arguments, launched with 2") {
		t.Errorf("count: %v", err)
	}
	if err := s.checkArgs([]karg{kptr(1), kfloat(2), kfloat(3)}); err == nil || !strings.Contains(err.Error(), "argument 1 (n) is int, launched with float") {
		t.Errorf("kind: %v", err)
	}
	if kint(-1).bits != 0xffffffff || kfloat(1).bits != 0x3f800000 {
		t.Error("argument packing")
	}
}

// TestGemmOperandSwap checks the row-major to column-major mapping for
// cuBLAS with a column-major GEMM written out in Go.
func TestGemmOperandSwap(t *testing.T) {
	colMajor := func(opA, opB int32, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
		for j := 0; j < n; j++ {
			for i := 0; i < m; i++ {
				var s float32
				for p := 0; p < k; p++ {
					var av, bv float32
					if opA == cublasOpT {
						av = a[p+i*lda]
					} else {
						av = a[i+p*lda]
					}
					if opB == cublasOpT {
						bv = b[j+p*ldb]
					} else {
						bv = b[p+j*ldb]
					}
					s += av * bv
				}
				c[i+j*ldc] = s
			}
		}
	}
	s := newSuite(reference(), tolExact)
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			m, n, k := 3, 4, 5
			lda, ldb, ldc := k, n, n
			if ta {
				lda = m
			}
			if tb {
				ldb = k
			}
			a, b := s.randn(m*k, 1), s.randn(k*n, 1)
			pa, pb, pc := s.pair(a), s.pair(b), s.zeros(m*n)
			s.ref.Gemm(ta, tb, m, n, k, 1, pa.want, lda, pb.want, ldb, 0, pc.want, ldc)
			want := make([]float32, m*n)
			s.ref.Download(want, pc.want)
			g := rowMajorGemm(ta, tb, m, n, k, 1, lda, 2, ldb)
			// first/second are the addresses 2 (b) and 1 (a).
			ops := map[uintptr][]float32{1: a, 2: b}
			got := make([]float32, m*n)
			colMajor(g.opFirst, g.opSecond, int(g.m), int(g.n), int(g.k), ops[g.first], int(g.ldFirst), ops[g.second], int(g.ldSecond), got, ldc)
			compareValues(t, "column-major GEMM with swapped operands", got, want, tolSum)
		}
	}
}
