/* A stand-in for libcuda.so.1 with every function Lethe binds, for the
 * tests of library loading and error reporting on machines without a GPU.
 * Compiled by lib_test.go. -DDEVICES=n sets what cuDeviceGetCount reports,
 * -DINIT_RESULT=r what cuInit returns, -DOMIT_DRIVER_VERSION leaves out
 * cuDriverGetVersion (to test a missing symbol). */
#include <stddef.h>
#include <string.h>

#ifndef DEVICES
#define DEVICES 0
#endif
#ifndef INIT_RESULT
#define INIT_RESULT 0
#endif

int cuInit(unsigned flags) { return flags == 0 ? INIT_RESULT : 1; }
#ifndef OMIT_DRIVER_VERSION
int cuDriverGetVersion(int *v) { *v = 13000; return 0; }
#endif
int cuDeviceGetCount(int *n) { *n = DEVICES; return 0; }
int cuDeviceGet(int *d, int ordinal) { *d = ordinal; return ordinal < DEVICES ? 0 : 101; }
int cuDeviceGetName(char *name, int len, int dev) { strncpy(name, "Fake GPU", len); return 0; }
int cuDeviceTotalMem_v2(size_t *bytes, int dev) { *bytes = (size_t)80 << 30; return 0; }
int cuDeviceGetAttribute(int *v, int attr, int dev) {
    switch (attr) {
    case 16: *v = 132; return 0;
    case 75: *v = 9; return 0;
    case 76: *v = 0; return 0;
    }
    return 1;
}
int cuDevicePrimaryCtxRetain(void **ctx, int dev) { *ctx = (void *)0x1234; return 0; }
int cuDevicePrimaryCtxRelease_v2(int dev) { return 0; }
int cuCtxSetCurrent(void *ctx) { return ctx == (void *)0x1234 ? 0 : 201; }
int cuStreamCreate(void **s, unsigned flags) { *s = (void *)0x5678; return 0; }
int cuStreamDestroy_v2(void *s) { return 0; }
int cuStreamSynchronize(void *s) { return 0; }
int cuMemAlloc_v2(unsigned long long *p, size_t n) { return 2; }
int cuMemFree_v2(unsigned long long p) { return 0; }
int cuMemGetInfo_v2(size_t *f, size_t *t) { *f = 1; *t = 2; return 0; }
int cuMemHostAlloc(void **p, size_t n, unsigned flags) { return 2; }
int cuMemFreeHost(void *p) { return 0; }
int cuMemcpyHtoDAsync_v2(unsigned long long d, const void *s, size_t n, void *st) { return 0; }
int cuMemcpyDtoHAsync_v2(void *d, unsigned long long s, size_t n, void *st) { return 0; }
int cuMemcpyDtoDAsync_v2(unsigned long long d, unsigned long long s, size_t n, void *st) { return 0; }
int cuMemsetD32Async(unsigned long long d, unsigned v, size_t n, void *st) { return 0; }
int cuEventCreate(void **e, unsigned flags) { return 0; }
int cuEventRecord(void *e, void *s) { return 0; }
int cuEventQuery(void *e) { return 0; }
int cuEventSynchronize(void *e) { return 0; }
int cuEventDestroy_v2(void *e) { return 0; }
int cuModuleLoadData(void **m, const void *image) { return 200; }
int cuModuleGetFunction(void **f, void *m, const char *name) { return 500; }
int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned shared, void *stream, void **params, void **extra) { return 0; }
int cuGetErrorName(int r, const char **s) {
    switch (r) {
    case 100: *s = "CUDA_ERROR_NO_DEVICE"; return 0;
    case 2: *s = "CUDA_ERROR_OUT_OF_MEMORY"; return 0;
    }
    return 1;
}
int cuGetErrorString(int r, const char **s) {
    switch (r) {
    case 100: *s = "no CUDA-capable device is detected"; return 0;
    case 2: *s = "out of memory"; return 0;
    }
    return 1;
}
