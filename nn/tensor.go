// Package nn is Lethe's deep-learning engine: float32 NCHW tensors, a small
// Backend interface that the CPU (nn/cpu) and CUDA (nn/cuda) backends
// implement, layers with explicit forward and backward passes, the models
// of the paper (SmallCNN, ResNet-18/50, VGG-16-BN) with PyTorch parameter
// names, losses (cross-entropy, the orthogonality regulariser), optimisers,
// learning-rate schedules, a training loop and safetensors checkpoints.
//
// nn knows nothing of datasets, experiments or unlearning: those packages
// sit above it and talk to it through Model, Batch and Loader.
package nn

import (
	"fmt"
	"strings"
)

// Tensor is a shaped view of backend storage. Shape is NCHW for images and
// (N, F) for features; Data holds exactly Numel(Shape) values.
type Tensor struct {
	Shape []int
	Data  Buf
}

// Numel is the number of elements of a shape.
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Numel is the number of elements of t.
func (t *Tensor) Numel() int { return Numel(t.Shape) }

// Dim returns t.Shape[i].
func (t *Tensor) Dim(i int) int { return t.Shape[i] }

// ShapeString formats a shape as [a b c].
func ShapeString(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// ShapeError reports a tensor whose shape does not fit a layer. Layers
// raise it with panic inside Forward/Backward; Model.Forward and the
// training loop recover it and return it as an ordinary error.
type ShapeError struct {
	Layer string // the layer's parameter-name prefix, e.g. "layer1.0.conv1"
	Got   []int
	Want  string // human description of what was expected
}

func (e *ShapeError) Error() string {
	return fmt.Sprintf("%s: input shape %s, expected %s", e.Layer, ShapeString(e.Got), e.Want)
}

// recoverShape turns a ShapeError panic into *err; other panics propagate.
func recoverShape(err *error) {
	if r := recover(); r != nil {
		if se, ok := r.(*ShapeError); ok {
			*err = se
			return
		}
		panic(r)
	}
}

// ToHost copies a tensor's values to a new slice (waiting for the backend).
func ToHost(b Backend, t *Tensor) []float32 {
	out := make([]float32, t.Numel())
	b.Download(out, t.Data)
	return out
}

// FromHost allocates a tensor on b holding a copy of vals.
func FromHost(b Backend, vals []float32, shape ...int) *Tensor {
	if Numel(shape) != len(vals) {
		panic(fmt.Sprintf("nn.FromHost: %d values for shape %s", len(vals), ShapeString(shape)))
	}
	t := &Tensor{Shape: append([]int(nil), shape...), Data: b.Alloc(len(vals))}
	b.Upload(t.Data, vals)
	return t
}

// scratch is a reusable buffer that grows on demand; layers keep their
// activations in scratch buffers so memory stays flat across steps.
type scratch struct {
	buf Buf
}

// get returns a view of n values, reallocating only when n grows.
func (s *scratch) get(b Backend, n int) Buf {
	if s.buf == nil || s.buf.Len() < n {
		if s.buf != nil {
			b.Free(s.buf)
		}
		s.buf = b.Alloc(n)
	}
	return s.buf.Slice(0, n)
}

func (s *scratch) release(b Backend) {
	if s.buf != nil {
		b.Free(s.buf)
		s.buf = nil
	}
}

type intScratch struct {
	buf IntBuf
}

func (s *intScratch) get(b Backend, n int) IntBuf {
	if s.buf == nil || s.buf.Len() < n {
		if s.buf != nil {
			b.FreeInt(s.buf)
		}
		s.buf = b.AllocInt(n)
	}
	return s.buf.Slice(0, n)
}

func (s *intScratch) release(b Backend) {
	if s.buf != nil {
		b.FreeInt(s.buf)
		s.buf = nil
	}
}
