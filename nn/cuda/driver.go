package cuda

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// Device attributes (cuda.h, CUdevice_attribute).
const (
	attrMultiprocessorCount = 16
	attrComputeCapMajor     = 75
	attrComputeCapMinor     = 76
)

const (
	streamNonBlocking  = 1 // CU_STREAM_NON_BLOCKING
	eventDisableTiming = 2 // CU_EVENT_DISABLE_TIMING
	hostAllocPortable  = 1 // CU_MEMHOSTALLOC_PORTABLE
)

// driverAPI is libcuda.so.1, bound. Signatures follow cuda.h (CUDA 12/13):
// CUdevice is int, CUcontext/CUstream/CUevent/CUmodule/CUfunction are
// pointers, CUdeviceptr is unsigned long long, size_t is 64 bits.
type driverAPI struct {
	lib *library

	cuInit                    func(flags uint32) cuResult
	cuDriverGetVersion        func(v *int32) cuResult
	cuDeviceGetCount          func(n *int32) cuResult
	cuDeviceGet               func(dev *int32, ordinal int32) cuResult
	cuDeviceGetName           func(name *byte, length int32, dev int32) cuResult
	cuDeviceTotalMem          func(bytes *uint64, dev int32) cuResult
	cuDeviceGetAttribute      func(v *int32, attr int32, dev int32) cuResult
	cuDevicePrimaryCtxRetain  func(ctx *uintptr, dev int32) cuResult
	cuDevicePrimaryCtxRelease func(dev int32) cuResult
	cuCtxSetCurrent           func(ctx uintptr) cuResult
	cuStreamCreate            func(s *uintptr, flags uint32) cuResult
	cuStreamDestroy           func(s uintptr) cuResult
	cuStreamSynchronize       func(s uintptr) cuResult
	cuMemAlloc                func(p *uintptr, bytes uint64) cuResult
	cuMemFree                 func(p uintptr) cuResult
	cuMemGetInfo              func(free, total *uint64) cuResult
	cuMemHostAlloc            func(p *unsafe.Pointer, bytes uint64, flags uint32) cuResult
	cuMemFreeHost             func(p unsafe.Pointer) cuResult
	cuMemcpyHtoDAsync         func(dst uintptr, src unsafe.Pointer, bytes uint64, s uintptr) cuResult
	cuMemcpyDtoHAsync         func(dst unsafe.Pointer, src uintptr, bytes uint64, s uintptr) cuResult
	cuMemcpyDtoDAsync         func(dst, src uintptr, bytes uint64, s uintptr) cuResult
	cuMemsetD32Async          func(dst uintptr, v uint32, n uint64, s uintptr) cuResult
	cuEventCreate             func(e *uintptr, flags uint32) cuResult
	cuEventRecord             func(e, s uintptr) cuResult
	cuEventQuery              func(e uintptr) cuResult
	cuEventSynchronize        func(e uintptr) cuResult
	cuEventDestroy            func(e uintptr) cuResult
	cuModuleLoadData          func(m *uintptr, image unsafe.Pointer) cuResult
	cuModuleGetFunction       func(f *uintptr, m uintptr, name string) cuResult
	cuGetErrorName            func(r cuResult, s **byte) cuResult
	cuGetErrorString          func(r cuResult, s **byte) cuResult

	// cuLaunchKernel is called through purego.SyscallN: it runs hundreds
	// of times a step and takes only integers and pointers.
	launchAddr uintptr
	ctxSetAddr uintptr
}

var (
	driverOnce sync.Once
	driverLib  *driverAPI
	driverErr  error
)

// loadDriver opens and binds libcuda.so.1 and calls cuInit, once per
// process.
func loadDriver() (*driverAPI, error) {
	driverOnce.Do(func() {
		driverLib, driverErr = bindDriver(defaultSearchPath())
	})
	return driverLib, driverErr
}

func bindDriver(sp searchPath) (*driverAPI, error) {
	lib, err := openLibrary(driverSpec, sp)
	if err != nil {
		return nil, err
	}
	d := &driverAPI{lib: lib}
	b := newBinder(lib)
	b.fn(&d.cuInit, "cuInit")
	b.fn(&d.cuDriverGetVersion, "cuDriverGetVersion")
	b.fn(&d.cuDeviceGetCount, "cuDeviceGetCount")
	b.fn(&d.cuDeviceGet, "cuDeviceGet")
	b.fn(&d.cuDeviceGetName, "cuDeviceGetName")
	b.fn(&d.cuDeviceTotalMem, "cuDeviceTotalMem_v2")
	b.fn(&d.cuDeviceGetAttribute, "cuDeviceGetAttribute")
	b.fn(&d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain")
	b.fn(&d.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2")
	b.fn(&d.cuCtxSetCurrent, "cuCtxSetCurrent")
	b.fn(&d.cuStreamCreate, "cuStreamCreate")
	b.fn(&d.cuStreamDestroy, "cuStreamDestroy_v2")
	b.fn(&d.cuStreamSynchronize, "cuStreamSynchronize")
	b.fn(&d.cuMemAlloc, "cuMemAlloc_v2")
	b.fn(&d.cuMemFree, "cuMemFree_v2")
	b.fn(&d.cuMemGetInfo, "cuMemGetInfo_v2")
	b.fn(&d.cuMemHostAlloc, "cuMemHostAlloc")
	b.fn(&d.cuMemFreeHost, "cuMemFreeHost")
	b.fn(&d.cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2")
	b.fn(&d.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2")
	b.fn(&d.cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2")
	b.fn(&d.cuMemsetD32Async, "cuMemsetD32Async")
	b.fn(&d.cuEventCreate, "cuEventCreate")
	b.fn(&d.cuEventRecord, "cuEventRecord")
	b.fn(&d.cuEventQuery, "cuEventQuery")
	b.fn(&d.cuEventSynchronize, "cuEventSynchronize")
	b.fn(&d.cuEventDestroy, "cuEventDestroy_v2")
	b.fn(&d.cuModuleLoadData, "cuModuleLoadData")
	b.fn(&d.cuModuleGetFunction, "cuModuleGetFunction")
	b.fn(&d.cuGetErrorName, "cuGetErrorName")
	b.fn(&d.cuGetErrorString, "cuGetErrorString")
	if b.err != nil {
		return nil, b.err
	}
	if d.launchAddr, err = b.addr("cuLaunchKernel"); err != nil {
		return nil, err
	}
	if d.ctxSetAddr, err = b.addr("cuCtxSetCurrent"); err != nil {
		return nil, err
	}
	if err := d.check("initialise the CUDA driver", "cuInit", d.cuInit(0)); err != nil {
		return nil, err
	}
	return d, nil
}

// check turns a CUresult into nil or a *DriverError.
func (d *driverAPI) check(op, call string, r cuResult) error {
	if r == cudaSuccess {
		return nil
	}
	e := &DriverError{Op: op, Call: call, Code: int32(r), Name: driverErrorName(r)}
	var p *byte
	if d.cuGetErrorName != nil && d.cuGetErrorName(r, &p) == cudaSuccess && p != nil {
		e.Name = cString(p)
	}
	p = nil
	if d.cuGetErrorString != nil && d.cuGetErrorString(r, &p) == cudaSuccess && p != nil {
		e.Text = cString(p)
	}
	return e
}

// setCurrent makes ctx current on the calling OS thread (the caller has
// locked the goroutine to it).
func (d *driverAPI) setCurrent(ctx uintptr) cuResult {
	r, _, _ := purego.SyscallN(d.ctxSetAddr, ctx)
	return cuResult(int32(r))
}

// launch calls cuLaunchKernel. params points to an array of pointers to
// the argument values, in memory that stays put during the call.
func (d *driverAPI) launch(fn uintptr, grid, block [3]uint32, shared uint32, stream uintptr, params unsafe.Pointer) cuResult {
	r, _, _ := purego.SyscallN(d.launchAddr, fn,
		uintptr(grid[0]), uintptr(grid[1]), uintptr(grid[2]),
		uintptr(block[0]), uintptr(block[1]), uintptr(block[2]),
		uintptr(shared), stream, uintptr(params), 0)
	return cuResult(int32(r))
}

// DeviceProps are the facts about a GPU that Lethe uses.
type DeviceProps struct {
	Ordinal         int
	Name            string
	TotalMemory     uint64 // bytes
	Major, Minor    int    // compute capability
	Multiprocessors int
}

func (d *driverAPI) deviceProps(ordinal int) (dev int32, p DeviceProps, err error) {
	op := fmt.Sprintf("query GPU %d", ordinal)
	if err = d.check(op, "cuDeviceGet", d.cuDeviceGet(&dev, int32(ordinal))); err != nil {
		return
	}
	name := make([]byte, 256)
	if err = d.check(op, "cuDeviceGetName", d.cuDeviceGetName(&name[0], int32(len(name)), dev)); err != nil {
		return
	}
	for i, c := range name {
		if c == 0 {
			name = name[:i]
			break
		}
	}
	var mem uint64
	if err = d.check(op, "cuDeviceTotalMem_v2", d.cuDeviceTotalMem(&mem, dev)); err != nil {
		return
	}
	var major, minor, sms int32
	if err = d.check(op, "cuDeviceGetAttribute", d.cuDeviceGetAttribute(&major, attrComputeCapMajor, dev)); err != nil {
		return
	}
	if err = d.check(op, "cuDeviceGetAttribute", d.cuDeviceGetAttribute(&minor, attrComputeCapMinor, dev)); err != nil {
		return
	}
	if err = d.check(op, "cuDeviceGetAttribute", d.cuDeviceGetAttribute(&sms, attrMultiprocessorCount, dev)); err != nil {
		return
	}
	p = DeviceProps{Ordinal: ordinal, Name: string(name), TotalMemory: mem, Major: int(major), Minor: int(minor), Multiprocessors: int(sms)}
	return
}

func (d *driverAPI) version() (int, error) {
	var v int32
	err := d.check("query the driver version", "cuDriverGetVersion", d.cuDriverGetVersion(&v))
	return int(v), err
}

func (d *driverAPI) deviceCount() (int, error) {
	var n int32
	err := d.check("count GPUs", "cuDeviceGetCount", d.cuDeviceGetCount(&n))
	return int(n), err
}

// formatCUDAVersion turns 13000 into "13.0".
func formatCUDAVersion(v int) string { return fmt.Sprintf("%d.%d", v/1000, (v%1000)/10) }
