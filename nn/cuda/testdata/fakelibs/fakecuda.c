/* A stand-in for libcuda.so.1 with every function Lethe binds, for the
 * tests of library loading and error reporting on machines without a GPU.
 * Compiled by lib_test.go. -DDEVICES=n sets what cuDeviceGetCount reports,
 * -DINIT_RESULT=r what cuInit returns, -DOMIT_DRIVER_VERSION leaves out
 * cuDriverGetVersion (to test a missing symbol).
 *
 * With -DEMULATE it is a working driver: memory comes from the kernel
 * emulator's guarded heap (the library named by $LETHE_FAKE_EMU), copies
 * are memcpy, kernels run on the emulator, and events stay pending until
 * a synchronisation, as on a real GPU. The Backend's real device code
 * (staging buffers, events, module loading, launches) then runs on the
 * CPU. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#ifdef EMULATE
#include <dlfcn.h>
#include <stdio.h>
static void *(*emu_malloc)(size_t);
static int (*emu_free)(void *);
static void (*emu_memset32)(void *, unsigned, size_t);
static int (*emu_find)(const char *);
static int (*emu_launch)(int, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void **);
static const char *(*emu_last_error)(void);
static int load_emulator_from(const char *path) {
    if (emu_malloc) return 0;
    void *h = path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
    if (!h) return 999;
    emu_malloc = dlsym(h, "emu_malloc");
    emu_free = dlsym(h, "emu_free");
    emu_memset32 = dlsym(h, "emu_memset32");
    emu_find = dlsym(h, "emu_find");
    emu_launch = dlsym(h, "emu_launch");
    emu_last_error = dlsym(h, "emu_last_error");
    return emu_malloc && emu_free && emu_memset32 && emu_find && emu_launch && emu_last_error ? 0 : 999;
}
static int load_emulator(void) { return load_emulator_from(getenv("LETHE_FAKE_EMU")); }
/* fake_set_emulator loads the emulator before cuInit (the test's way). */
int fake_set_emulator(const char *path) { return load_emulator_from(path); }
/* Events: pending from cuEventRecord until a synchronisation. */
#define MAX_EVENTS 100000
static int pending[MAX_EVENTS];
static int nevents;
static int fake_event_queries, fake_event_syncs, fake_host_allocs;
/* fake_counter reports what the driver saw: 0 event queries, 1 event
 * synchronisations, 2 pinned host allocations. */
int fake_counter(int which) {
    return which == 0 ? fake_event_queries : which == 1 ? fake_event_syncs : fake_host_allocs;
}
#endif

#ifndef DEVICES
#define DEVICES 0
#endif
#ifndef INIT_RESULT
#define INIT_RESULT 0
#endif

int cuInit(unsigned flags) {
#ifdef EMULATE
    if (load_emulator() != 0) return 999;
#endif
    return flags == 0 ? INIT_RESULT : 1;
}
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
#ifndef EMULATE
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
#else
int cuStreamSynchronize(void *s) {
    for (int i = 0; i < nevents; i++) pending[i] = 0;
    return 0;
}
int cuMemAlloc_v2(unsigned long long *p, size_t n) {
    void *q = emu_malloc(n);
    if (!q) return 2;
    *p = (unsigned long long)q;
    return 0;
}
int cuMemFree_v2(unsigned long long p) { return emu_free((void *)p) == 0 ? 0 : 1; }
int cuMemGetInfo_v2(size_t *f, size_t *t) { *f = (size_t)1 << 30; *t = (size_t)2 << 30; return 0; }
int cuMemHostAlloc(void **p, size_t n, unsigned flags) {
    fake_host_allocs++;
    *p = malloc(n);
    return *p ? 0 : 2;
}
int cuMemFreeHost(void *p) { free(p); return 0; }
int cuMemcpyHtoDAsync_v2(unsigned long long d, const void *s, size_t n, void *st) { memcpy((void *)d, s, n); return 0; }
int cuMemcpyDtoHAsync_v2(void *d, unsigned long long s, size_t n, void *st) { memcpy(d, (void *)s, n); return 0; }
int cuMemcpyDtoDAsync_v2(unsigned long long d, unsigned long long s, size_t n, void *st) { memmove((void *)d, (void *)s, n); return 0; }
int cuMemsetD32Async(unsigned long long d, unsigned v, size_t n, void *st) { emu_memset32((void *)d, v, n); return 0; }
int cuEventCreate(void **e, unsigned flags) {
    if (nevents == MAX_EVENTS) return 2;
    *e = (void *)(long)(++nevents);
    return 0;
}
int cuEventRecord(void *e, void *s) { pending[(long)e - 1] = 1; return 0; }
int cuEventQuery(void *e) { fake_event_queries++; return pending[(long)e - 1] ? 600 : 0; }
int cuEventSynchronize(void *e) { fake_event_syncs++; pending[(long)e - 1] = 0; return 0; }
int cuEventDestroy_v2(void *e) { return 0; }
int cuModuleLoadData(void **m, const void *image) { *m = (void *)0x4d4f44; return image ? 0 : 1; }
int cuModuleGetFunction(void **f, void *m, const char *name) {
    int k = emu_find(name);
    if (k < 0) return 500;
    *f = (void *)(long)(k + 1);
    return 0;
}
int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned shared, void *stream, void **params, void **extra) {
    if (shared != 0 || extra != NULL || stream != (void *)0x5678) return 1;
    if (emu_launch((int)(long)f - 1, gx, gy, gz, bx, by, bz, params) != 0) {
        fprintf(stderr, "fake libcuda: %s\n", emu_last_error());
        return 719;
    }
    return 0;
}
#endif
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
