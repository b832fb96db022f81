/* A stand-in for libcublas with the functions Lethe binds, following
 * cublas_api.h: column-major SGEMM with cuBLAS's argument checks. Device
 * pointers are host pointers (the fake libcuda's memory), so the tests can
 * check the row-major to column-major mapping and the argument order of
 * the real call. */
#include <stddef.h>

#define FAKE_STREAM ((void *)0x5678)
enum { OK = 0, NOT_INITIALIZED = 1, INVALID_VALUE = 7 };

int cublasCreate_v2(void **h) { *h = (void *)0xb1a5; return OK; }
int cublasDestroy_v2(void *h) { return h == (void *)0xb1a5 ? OK : NOT_INITIALIZED; }
int cublasSetStream_v2(void *h, void *s) { return s == FAKE_STREAM ? OK : INVALID_VALUE; }
int cublasSetMathMode(void *h, int mode) { return mode == 0 || mode == 2 || mode == 3 ? OK : INVALID_VALUE; }
int cublasGetVersion_v2(void *h, int *v) { *v = 130100; return OK; }
int cublasGetProperty(int type, int *v) {
    static const int version[3] = {13, 1, 0};
    if (type < 0 || type > 2) return INVALID_VALUE;
    *v = version[type];
    return OK;
}

/* C = alpha·op(A)·op(B) + beta·C, column-major; op 0 = N, 1 = T. */
int cublasSgemm_v2(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *A, int lda,
                   const float *B, int ldb, const float *beta, float *C, int ldc) {
    if (h != (void *)0xb1a5) return NOT_INITIALIZED;
    if (ta < 0 || ta > 1 || tb < 0 || tb > 1 || m < 0 || n < 0 || k < 0) return INVALID_VALUE;
    int rowsA = ta ? k : m, rowsB = tb ? n : k;
    if (lda < (rowsA > 1 ? rowsA : 1) || ldb < (rowsB > 1 ? rowsB : 1) || ldc < (m > 1 ? m : 1)) return INVALID_VALUE;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int p = 0; p < k; p++) {
                float a = ta ? A[p + (size_t)i * lda] : A[i + (size_t)p * lda];
                float b = tb ? B[j + (size_t)p * ldb] : B[p + (size_t)j * ldb];
                s += (double)a * b;
            }
            float *c = &C[i + (size_t)j * ldc];
            *c = *beta == 0 ? (float)(*alpha * s) : (float)(*alpha * s + *beta * *c);
        }
    return OK;
}
