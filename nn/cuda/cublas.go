package cuda

import (
	"fmt"
	"sync"
)

// cuBLAS math modes (cublas_api.h, cublasMath_t).
const (
	cublasDefaultMath  = 0
	cublasPedanticMath = 2
	cublasTF32TensorOp = 3
	cublasOpN          = 0
	cublasOpT          = 1
)

// cublasAPI is libcublas, bound (cublas_api.h, the _v2 API).
// cublasHandle_t and cudaStream_t are pointers.
type cublasAPI struct {
	lib *library

	create      func(h *uintptr) int32
	destroy     func(h uintptr) int32
	setStream   func(h, stream uintptr) int32
	setMathMode func(h uintptr, mode int32) int32
	getVersion  func(h uintptr, v *int32) int32
	getProperty func(prop int32, v *int32) int32 // optional: cublasGetProperty
	sgemm       func(h uintptr, transA, transB int32, m, n, k int32, alpha *float32, a uintptr, lda int32, b uintptr, ldb int32, beta *float32, c uintptr, ldc int32) int32
}

var (
	cublasOnce sync.Once
	cublasLib  *cublasAPI
	cublasErr  error
)

func loadCuBLAS() (*cublasAPI, error) {
	cublasOnce.Do(func() { cublasLib, cublasErr = bindCuBLAS(defaultSearchPath()) })
	return cublasLib, cublasErr
}

func bindCuBLAS(sp searchPath) (*cublasAPI, error) {
	lib, err := openLibrary(cublasSpec, sp)
	if err != nil {
		return nil, err
	}
	c := &cublasAPI{lib: lib}
	b := newBinder(lib)
	b.fn(&c.create, "cublasCreate_v2")
	b.fn(&c.destroy, "cublasDestroy_v2")
	b.fn(&c.setStream, "cublasSetStream_v2")
	b.fn(&c.setMathMode, "cublasSetMathMode")
	b.fn(&c.getVersion, "cublasGetVersion_v2")
	b.fn(&c.sgemm, "cublasSgemm_v2")
	if b.err == nil && !b.optional(&c.getProperty, "cublasGetProperty") {
		c.getProperty = nil
	}
	return c, b.err
}

func (c *cublasAPI) check(op, call string, r int32) error {
	if r == 0 {
		return nil
	}
	return &LibError{Op: op, Call: call, Code: r, Text: statusName(cublasStatusNames, "CUBLAS_STATUS", r)}
}

// blasHandle is a cuBLAS handle bound to the backend's stream.
type blasHandle struct {
	api     *cublasAPI
	h       uintptr
	version string
}

func newBlasHandle(api *cublasAPI, stream uintptr, tf32 bool) (*blasHandle, error) {
	h := &blasHandle{api: api}
	if err := api.check("create a cuBLAS handle", "cublasCreate_v2", api.create(&h.h)); err != nil {
		return nil, err
	}
	if err := api.check("set the cuBLAS stream", "cublasSetStream_v2", api.setStream(h.h, stream)); err != nil {
		return nil, err
	}
	// PyTorch's default for float32 matmul is full precision; TF32 only
	// when asked for.
	mode := int32(cublasDefaultMath)
	if tf32 {
		mode = cublasTF32TensorOp
	}
	if err := api.check("set the cuBLAS math mode", "cublasSetMathMode", api.setMathMode(h.h, mode)); err != nil {
		return nil, err
	}
	var v int32
	if api.getVersion(h.h, &v) == 0 {
		h.version = fmt.Sprintf("%d.%d.%d", v/10000, (v%10000)/100, v%100)
	}
	return h, nil
}

// gemmArgs maps the row-major C = alpha·op(A)·op(B) + beta·C onto
// column-major cuBLAS: a row-major matrix is its transpose in column-major
// order, so Cᵀ = op(B)ᵀ·op(A)ᵀ is computed, with A and B (and their
// transpose flags, and m and n) swapped.
type gemmArgs struct {
	opFirst, opSecond int32 // cublasOperation for the first and second operand
	m, n, k           int32
	first, second     uintptr
	ldFirst, ldSecond int32
}

func rowMajorGemm(transA, transB bool, m, n, k int, a uintptr, lda int, b uintptr, ldb int) gemmArgs {
	op := func(t bool) int32 {
		if t {
			return cublasOpT
		}
		return cublasOpN
	}
	return gemmArgs{
		opFirst: op(transB), opSecond: op(transA),
		m: int32(n), n: int32(m), k: int32(k),
		first: b, second: a, ldFirst: int32(ldb), ldSecond: int32(lda),
	}
}

func (h *blasHandle) sgemm(transA, transB bool, m, n, k int, alpha float32, a uintptr, lda int, b uintptr, ldb int, beta float32, c uintptr, ldc int) error {
	g := rowMajorGemm(transA, transB, m, n, k, a, lda, b, ldb)
	return h.api.check("GEMM", "cublasSgemm_v2", h.api.sgemm(h.h, g.opFirst, g.opSecond, g.m, g.n, g.k, &alpha, g.first, g.ldFirst, g.second, g.ldSecond, &beta, c, int32(ldc)))
}

// versionString reads cuBLAS's version without a handle (libraryPropertyType:
// MAJOR_VERSION 0, MINOR_VERSION 1, PATCH_LEVEL 2).
func (c *cublasAPI) versionString() string {
	if c.getProperty == nil {
		return "unknown version"
	}
	var v [3]int32
	for i := range v {
		if c.getProperty(int32(i), &v[i]) != 0 {
			return "unknown version"
		}
	}
	return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2])
}
