//go:build cgo

package cpu

/*
#include <stdint.h>

typedef void (*lethe_sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                               const float *, int, float, float *, int);

static void lethe_call_sgemm(uintptr_t fn, int order, int ta, int tb, int m, int n, int k,
                             float alpha, const void *a, int lda, const void *b, int ldb,
                             float beta, void *c, int ldc) {
	((lethe_sgemm_fn)fn)(order, ta, tb, m, n, k, alpha, (const float *)a, lda,
	                     (const float *)b, ldb, beta, (float *)c, ldc);
}
*/
import "C"

import "unsafe"

// cblasSgemmFunc calls cblas_sgemm with row-major CBLAS enum values.
type cblasSgemmFunc func(order, transA, transB, m, n, k int32, alpha float32, a unsafe.Pointer, lda int32, b unsafe.Pointer, ldb int32, beta float32, c unsafe.Pointer, ldc int32)

// bindSgemm calls the dlsym'd cblas_sgemm through a C trampoline: a cgo
// call allocates nothing, where purego's reflection-based RegisterFunc
// allocated on every call (about 900 objects per SmallCNN training step,
// which made resident memory climb between collections). Builds without
// cgo use purego (sgemm_purego.go).
func bindSgemm(fn uintptr) cblasSgemmFunc {
	return func(order, transA, transB, m, n, k int32, alpha float32, a unsafe.Pointer, lda int32, b unsafe.Pointer, ldb int32, beta float32, c unsafe.Pointer, ldc int32) {
		C.lethe_call_sgemm(C.uintptr_t(fn), C.int(order), C.int(transA), C.int(transB), C.int(m), C.int(n), C.int(k),
			C.float(alpha), a, C.int(lda), b, C.int(ldb), C.float(beta), c, C.int(ldc))
	}
}
