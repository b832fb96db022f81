package cuda

import (
	"fmt"
	"runtime"
	"unsafe"
)

// device is what the Backend needs from a GPU: memory, copies, kernel
// launches on one stream. gpuDevice implements it with the driver API; the
// tests implement it with an emulator that runs kernels.cu on the CPU, so
// the whole Backend above this interface is tested without a GPU.
type device interface {
	memory
	// enter makes the device usable from the calling goroutine (locks it
	// to its OS thread and makes the CUDA context current); leave undoes
	// it. Every other method is called between the two.
	enter() error
	leave()
	// upload queues a copy of src to dst; src may be reused on return.
	upload(dst uintptr, src []byte) error
	// download copies src to dst, waiting for all queued work.
	download(dst []byte, src uintptr) error
	copyAsync(dst, src uintptr, bytes int) error
	memset32(dst uintptr, v uint32, n int) error
	// function looks up a kernel of the loaded module.
	function(name string) (uintptr, error)
	launch(fn uintptr, grid, block [3]uint32, params unsafe.Pointer) error
	sync() error
	// multiprocessors sizes grids.
	multiprocessors() int
}

// gpuDevice is a CUDA device driven through libcuda: a primary context,
// one non-blocking stream, pinned staging buffers for host copies.
type gpuDevice struct {
	d       *driverAPI
	props   DeviceProps
	dev     int32
	ctx     uintptr
	stream  uintptr
	module  uintptr
	staging []*stagingBuf
}

// stagingBuf is pinned host memory that a queued copy may still read or
// write until its event has completed.
type stagingBuf struct {
	p      unsafe.Pointer
	size   int
	event  uintptr
	queued bool
}

const (
	stagingChunk = 16 << 20 // host copies go through pinned buffers of at most this size
	stagingMax   = 8        // pinned buffers kept at most
)

func openGPU(d *driverAPI, ordinal int) (*gpuDevice, error) {
	n, err := d.deviceCount()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("the CUDA driver (%s) found no GPU", d.lib.path)
	}
	if ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("GPU %d requested, but the driver found %d (numbered 0 to %d)", ordinal, n, n-1)
	}
	dev, props, err := d.deviceProps(ordinal)
	if err != nil {
		return nil, err
	}
	g := &gpuDevice{d: d, props: props, dev: dev}
	op := fmt.Sprintf("open GPU %d (%s)", ordinal, props.Name)
	if err := d.check(op, "cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain(&g.ctx, dev)); err != nil {
		return nil, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := d.check(op, "cuCtxSetCurrent", d.setCurrent(g.ctx)); err != nil {
		return nil, err
	}
	if err := d.check(op, "cuStreamCreate", d.cuStreamCreate(&g.stream, streamNonBlocking)); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *gpuDevice) enter() error {
	runtime.LockOSThread()
	if err := g.d.check("make the CUDA context current", "cuCtxSetCurrent", g.d.setCurrent(g.ctx)); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	return nil
}

func (g *gpuDevice) leave() { runtime.UnlockOSThread() }

func (g *gpuDevice) multiprocessors() int { return g.props.Multiprocessors }

func (g *gpuDevice) malloc(bytes int) (uintptr, error) {
	var p uintptr
	err := g.d.check(fmt.Sprintf("allocate %d bytes on the GPU", bytes), "cuMemAlloc_v2", g.d.cuMemAlloc(&p, uint64(bytes)))
	return p, err
}

// free waits for the stream first: the block may still be in use by
// queued work (the caching allocator frees only when trimming).
func (g *gpuDevice) free(p uintptr) error {
	if err := g.sync(); err != nil {
		return err
	}
	return g.d.check("free GPU memory", "cuMemFree_v2", g.d.cuMemFree(p))
}

// takeStaging returns a pinned buffer of at least n bytes that no queued
// copy uses any more, waiting for one if all are busy.
func (g *gpuDevice) takeStaging(n int) (*stagingBuf, error) {
	var busy *stagingBuf
	for _, s := range g.staging {
		if s.size < n {
			continue
		}
		if !s.queued {
			return s, nil
		}
		switch r := g.d.cuEventQuery(s.event); r {
		case cudaSuccess:
			s.queued = false
			return s, nil
		case cudaNotReady:
			if busy == nil {
				busy = s
			}
		default:
			return nil, g.d.check("wait for a host copy", "cuEventQuery", r)
		}
	}
	if len(g.staging) < stagingMax || busy == nil {
		size := 1 << 20
		for size < n {
			size *= 2
		}
		s := &stagingBuf{size: size}
		if err := g.d.check(fmt.Sprintf("allocate %d bytes of pinned host memory", size), "cuMemHostAlloc", g.d.cuMemHostAlloc(&s.p, uint64(size), hostAllocPortable)); err != nil {
			return nil, err
		}
		if err := g.d.check("create an event", "cuEventCreate", g.d.cuEventCreate(&s.event, eventDisableTiming)); err != nil {
			g.d.cuMemFreeHost(s.p)
			return nil, err
		}
		if len(g.staging) >= stagingMax {
			// Replace a smaller idle buffer so the pool stays bounded.
			for i, o := range g.staging {
				if !o.queued || g.d.cuEventQuery(o.event) == cudaSuccess {
					g.d.cuMemFreeHost(o.p)
					g.d.cuEventDestroy(o.event)
					g.staging[i] = s
					return s, nil
				}
			}
		}
		g.staging = append(g.staging, s)
		return s, nil
	}
	if err := g.d.check("wait for a host copy", "cuEventSynchronize", g.d.cuEventSynchronize(busy.event)); err != nil {
		return nil, err
	}
	busy.queued = false
	return busy, nil
}

func (g *gpuDevice) upload(dst uintptr, src []byte) error {
	for off := 0; off < len(src); off += stagingChunk {
		n := min(stagingChunk, len(src)-off)
		s, err := g.takeStaging(n)
		if err != nil {
			return err
		}
		copy(bytesAt(s.p, n), src[off:off+n])
		if err := g.d.check("copy to the GPU", "cuMemcpyHtoDAsync_v2", g.d.cuMemcpyHtoDAsync(dst+uintptr(off), s.p, uint64(n), g.stream)); err != nil {
			return err
		}
		if err := g.d.check("copy to the GPU", "cuEventRecord", g.d.cuEventRecord(s.event, g.stream)); err != nil {
			return err
		}
		s.queued = true
	}
	return nil
}

func (g *gpuDevice) download(dst []byte, src uintptr) error {
	for off := 0; off < len(dst); off += stagingChunk {
		n := min(stagingChunk, len(dst)-off)
		s, err := g.takeStaging(n)
		if err != nil {
			return err
		}
		if err := g.d.check("copy from the GPU", "cuMemcpyDtoHAsync_v2", g.d.cuMemcpyDtoHAsync(s.p, src+uintptr(off), uint64(n), g.stream)); err != nil {
			return err
		}
		if err := g.sync(); err != nil {
			return err
		}
		copy(dst[off:off+n], bytesAt(s.p, n))
	}
	return nil
}

func (g *gpuDevice) copyAsync(dst, src uintptr, bytes int) error {
	return g.d.check("copy on the GPU", "cuMemcpyDtoDAsync_v2", g.d.cuMemcpyDtoDAsync(dst, src, uint64(bytes), g.stream))
}

func (g *gpuDevice) memset32(dst uintptr, v uint32, n int) error {
	return g.d.check("fill GPU memory", "cuMemsetD32Async", g.d.cuMemsetD32Async(dst, v, uint64(n), g.stream))
}

func (g *gpuDevice) loadModule(image []byte) error {
	return g.d.check("load the compiled kernels", "cuModuleLoadData", g.d.cuModuleLoadData(&g.module, unsafe.Pointer(&image[0])))
}

func (g *gpuDevice) function(name string) (uintptr, error) {
	var f uintptr
	err := g.d.check("find kernel "+name, "cuModuleGetFunction", g.d.cuModuleGetFunction(&f, g.module, name))
	return f, err
}

func (g *gpuDevice) launch(fn uintptr, grid, block [3]uint32, params unsafe.Pointer) error {
	return g.d.check("launch a kernel", "cuLaunchKernel", g.d.launch(fn, grid, block, 0, g.stream, params))
}

func (g *gpuDevice) sync() error {
	return g.d.check("wait for the GPU", "cuStreamSynchronize", g.d.cuStreamSynchronize(g.stream))
}

func (g *gpuDevice) memInfo() (free, total uint64, err error) {
	err = g.d.check("query GPU memory", "cuMemGetInfo_v2", g.d.cuMemGetInfo(&free, &total))
	return
}
