//go:build !cgo

package cpu

import (
	"unsafe"

	"github.com/ebitengine/purego"
)

// cblasSgemmFunc calls cblas_sgemm with row-major CBLAS enum values.
type cblasSgemmFunc func(order, transA, transB, m, n, k int32, alpha float32, a unsafe.Pointer, lda int32, b unsafe.Pointer, ldb int32, beta float32, c unsafe.Pointer, ldc int32)

// bindSgemm binds cblas_sgemm through purego when cgo is off (it allocates
// per call; sgemm_cgo.go avoids that where cgo is available).
func bindSgemm(fn uintptr) cblasSgemmFunc {
	var f cblasSgemmFunc
	purego.RegisterFunc(&f, fn)
	return f
}
