// shim.h lets a host C++ compiler build kernels.cu, so the tests can run
// Lethe's CUDA kernels on the CPU (see runtime.cpp and emulator_test.go).
// Blocks run one after another; the threads of a block are coroutines
// that switch at __syncthreads, so shared memory is a static array reused
// by each block in turn.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

struct emu_dim3 {
    unsigned x, y, z;
};
extern emu_dim3 threadIdx, blockIdx, blockDim, gridDim;

extern "C" void emu_syncthreads();

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __syncthreads() emu_syncthreads()

static inline unsigned __float_as_uint(float f) {
    unsigned u;
    std::memcpy(&u, &f, 4);
    return u;
}
static inline float __uint_as_float(unsigned u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
using std::exp;
using std::log;
using std::sqrt;
