package cuda

import "unsafe"

// The few unsafe helpers live here, so the rest of the package reads as
// ordinary Go.

func unsafeAdd(p *byte, n int) unsafe.Pointer { return unsafe.Add(unsafe.Pointer(p), n) }

func unsafeSlice(p *byte, n int) []byte { return unsafe.Slice(p, n) }

// floatsAt views n float32 values at C memory p (pinned host buffers).
func floatsAt(p unsafe.Pointer, n int) []float32 { return unsafe.Slice((*float32)(p), n) }

// int32sAt views n int32 values at C memory p.
func int32sAt(p unsafe.Pointer, n int) []int32 { return unsafe.Slice((*int32)(p), n) }

// bytesAt views n bytes at C memory p.
func bytesAt(p unsafe.Pointer, n int) []byte { return unsafe.Slice((*byte)(p), n) }
