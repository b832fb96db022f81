package nn

import (
	"math"
	"math/rand/v2"
)

// ParamKind says what a named tensor of a model is.
type ParamKind int

const (
	ConvWeight ParamKind = iota
	ConvBias
	BNWeight
	BNBias
	LinearWeight
	LinearBias
	RunningMean // batch-norm running statistics: state, not trained
	RunningVar
)

// Trainable reports whether the optimiser updates this kind.
func (k ParamKind) Trainable() bool { return k != RunningMean && k != RunningVar }

// Param is a named tensor of a model, with PyTorch's state-dict name.
// Value (and Grad, for trainable ones) are views into the model's flat
// buffers, so an optimiser or an unlearning method can treat all
// parameters as one vector.
type Param struct {
	Name   string
	Kind   ParamKind
	Shape  []int
	Value  *Tensor
	Grad   *Tensor // nil for running statistics
	Offset int     // position in the flat parameter (or state) vector
	init   func(r *rand.Rand, v []float32)
}

// Numel is the number of values of the parameter.
func (p *Param) Numel() int { return Numel(p.Shape) }

// paramSet collects a model's tensors while its layers are built.
type paramSet struct {
	params, state []*Param
}

func (s *paramSet) add(name string, kind ParamKind, shape []int, init func(*rand.Rand, []float32)) *Param {
	p := &Param{Name: name, Kind: kind, Shape: shape, init: init}
	if kind.Trainable() {
		s.params = append(s.params, p)
	} else {
		s.state = append(s.state, p)
	}
	return p
}

// kaimingNormalFanOut is torchvision's convolution initialisation:
// kaiming_normal_(mode="fan_out", nonlinearity="relu").
func kaimingNormalFanOut(fanOut int) func(*rand.Rand, []float32) {
	std := math.Sqrt(2 / float64(fanOut))
	return func(r *rand.Rand, v []float32) {
		for i := range v {
			v[i] = float32(r.NormFloat64() * std)
		}
	}
}

// uniformFanIn is PyTorch's default Linear/Conv initialisation
// (kaiming_uniform_ with a = sqrt(5), which is U(-1/sqrt(fan_in), +) for
// weights, and the same bound for biases).
func uniformFanIn(fanIn int) func(*rand.Rand, []float32) {
	bound := 1 / math.Sqrt(float64(fanIn))
	return func(r *rand.Rand, v []float32) {
		for i := range v {
			v[i] = float32((2*r.Float64() - 1) * bound)
		}
	}
}

func normalInit(std float64) func(*rand.Rand, []float32) {
	return func(r *rand.Rand, v []float32) {
		for i := range v {
			v[i] = float32(r.NormFloat64() * std)
		}
	}
}

func constInit(c float32) func(*rand.Rand, []float32) {
	return func(_ *rand.Rand, v []float32) {
		for i := range v {
			v[i] = c
		}
	}
}
