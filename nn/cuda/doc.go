// Package cuda is Lethe's CUDA backend: it implements nn.Backend on an
// NVIDIA GPU. Nothing of CUDA is needed to build it: the driver API
// (libcuda.so.1), NVRTC, cuBLAS and cuDNN are loaded at run time with
// github.com/ebitengine/purego, so the lethe binary builds and runs on
// machines without a GPU, where New fails with an error that says which
// libraries were looked for, where, and why each attempt failed.
//
// The pieces, bottom up:
//   - lib.go finds and opens the shared libraries (LETHE_CUDA_LIBS, the
//     dynamic loader's default path, then the usual CUDA and pip
//     locations) and binds symbols, naming the symbol and library when one
//     is missing;
//   - driver.go, nvrtc.go, cublas.go and cudnn.go bind the C APIs;
//   - kernels.cu holds the CUDA C kernels, compiled once per process by
//     NVRTC for the device's compute capability and cached on disk by
//     source hash (kcache.go); kernelsig.go checks every launch against the
//     kernel's parsed signature;
//   - alloc.go is the caching allocator (size classes, free lists);
//   - backend.go implements the nn.Backend ops on one CUDA stream:
//     convolutions through cuDNN (or im2col + GEMM without it), GEMM
//     through cuBLAS (or a tiled kernel without it), everything else in
//     kernels.cu.
//
// All work is queued on one stream and runs asynchronously; ops that
// return host values synchronise. A device error is sticky: later ops are
// skipped and Sync reports the first error.
package cuda
