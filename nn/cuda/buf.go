package cuda

import (
	"fmt"

	"lethe/nn"
)

// allocation is one block from the caching allocator, shared by the
// Buffer that Alloc returned and every view sliced from it.
type allocation struct {
	ptr   uintptr
	freed bool
}

// Buffer is float32 device memory (nn.Buf). A Buffer made by Slice is a
// view: it shares its parent's storage and must not be freed.
type Buffer struct {
	be    *Backend
	alloc *allocation // nil for an empty buffer
	off   int         // in values
	n     int
	view  bool
}

// Len is the number of values.
func (b *Buffer) Len() int { return b.n }

// Slice is a view of n values from off. Out-of-range views are a
// programming error and panic, as slicing a Go slice does.
func (b *Buffer) Slice(off, n int) nn.Buf {
	if off < 0 || n < 0 || off+n > b.n {
		panic(fmt.Sprintf("cuda.Buffer.Slice(%d, %d) of a buffer of %d values", off, n, b.n))
	}
	return &Buffer{be: b.be, alloc: b.alloc, off: b.off + off, n: n, view: true}
}

// IntBuffer is int32 device memory (nn.IntBuf).
type IntBuffer struct {
	be    *Backend
	alloc *allocation
	off   int
	n     int
	view  bool
}

// Len is the number of values.
func (b *IntBuffer) Len() int { return b.n }

// Slice is a view of n values from off.
func (b *IntBuffer) Slice(off, n int) nn.IntBuf {
	if off < 0 || n < 0 || off+n > b.n {
		panic(fmt.Sprintf("cuda.IntBuffer.Slice(%d, %d) of a buffer of %d values", off, n, b.n))
	}
	return &IntBuffer{be: b.be, alloc: b.alloc, off: b.off + off, n: n, view: true}
}

// devPtr is the device address of a buffer's first value.
func devPtr(a *allocation, off int) uintptr {
	if a == nil {
		return 0
	}
	return a.ptr + uintptr(off)*4
}

// fbuf checks that x is a live float buffer of this backend and returns
// it. Anything else is a programming error in the caller and panics with
// the op's name, as the CPU backend does.
func (be *Backend) fbuf(op string, x nn.Buf) *Buffer {
	b, ok := x.(*Buffer)
	if !ok || b == nil {
		panic(fmt.Sprintf("cuda.%s: buffer of type %T does not belong to a CUDA backend", op, x))
	}
	if b.be != be {
		panic(fmt.Sprintf("cuda.%s: buffer belongs to another CUDA backend (%s)", op, b.be.name))
	}
	if b.alloc != nil && b.alloc.freed {
		panic(fmt.Sprintf("cuda.%s: buffer used after Free", op))
	}
	return b
}

func (be *Backend) ibuf(op string, x nn.IntBuf) *IntBuffer {
	b, ok := x.(*IntBuffer)
	if !ok || b == nil {
		panic(fmt.Sprintf("cuda.%s: int buffer of type %T does not belong to a CUDA backend", op, x))
	}
	if b.be != be {
		panic(fmt.Sprintf("cuda.%s: int buffer belongs to another CUDA backend (%s)", op, b.be.name))
	}
	if b.alloc != nil && b.alloc.freed {
		panic(fmt.Sprintf("cuda.%s: int buffer used after Free", op))
	}
	return b
}

func (b *Buffer) ptr() uintptr    { return devPtr(b.alloc, b.off) }
func (b *IntBuffer) ptr() uintptr { return devPtr(b.alloc, b.off) }

func check(op string, ok bool, format string, args ...any) {
	if !ok {
		panic(fmt.Sprintf("cuda.%s: %s", op, fmt.Sprintf(format, args...)))
	}
}

func sameLen(op string, bufs ...*Buffer) {
	for _, x := range bufs[1:] {
		check(op, x.n == bufs[0].n, "buffers of %d and %d values", bufs[0].n, x.n)
	}
}
