package cpu

import (
	"fmt"

	"lethe/nn"
)

// Buf is float32 storage in ordinary Go memory. The garbage collector owns
// it, so Free is a no-op and views made by Slice keep their parent alive.
type Buf []float32

// Len is the number of values.
func (b Buf) Len() int { return len(b) }

// Slice is a view of n values from off, sharing storage.
func (b Buf) Slice(off, n int) nn.Buf { return b[off : off+n : off+n] }

// IntBuf is int32 storage in ordinary Go memory.
type IntBuf []int32

// Len is the number of values.
func (b IntBuf) Len() int { return len(b) }

// Slice is a view of n values from off, sharing storage.
func (b IntBuf) Slice(off, n int) nn.IntBuf { return b[off : off+n : off+n] }

// Floats gives CPU-side code direct access to the values of a Buf that this
// backend allocated (no copy). It panics if b belongs to another backend,
// which is a programming error.
func Floats(b nn.Buf) []float32 {
	if b == nil {
		return nil
	}
	f, ok := b.(Buf)
	if !ok {
		panic(fmt.Sprintf("cpu.Floats: buffer of type %T does not belong to the CPU backend", b))
	}
	return f
}

// Ints is Floats for int32 buffers.
func Ints(b nn.IntBuf) []int32 {
	if b == nil {
		return nil
	}
	f, ok := b.(IntBuf)
	if !ok {
		panic(fmt.Sprintf("cpu.Ints: buffer of type %T does not belong to the CPU backend", b))
	}
	return f
}
