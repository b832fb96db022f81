package nn

import "fmt"

// TapPoint names where in a convolution unit a tap reads its output.
type TapPoint int

const (
	TapConv TapPoint = iota // the convolution's own output
	TapBN                   // after the batch norm that follows it
	TapReLU                 // after the activation that follows that
)

func (p TapPoint) String() string {
	switch p {
	case TapConv:
		return "conv"
	case TapBN:
		return "bn"
	case TapReLU:
		return "relu"
	}
	return fmt.Sprintf("TapPoint(%d)", int(p))
}

// ParseTapPoint accepts "conv", "bn" or "relu".
func ParseTapPoint(s string) (TapPoint, error) {
	switch s {
	case "conv":
		return TapConv, nil
	case "bn":
		return TapBN, nil
	case "relu":
		return TapReLU, nil
	}
	return 0, fmt.Errorf("tap point %q: want conv, bn or relu", s)
}

// TapFunc receives a unit's output during a forward pass. unit indexes
// Model.Units. y is only valid during the call (its storage is reused).
type TapFunc func(unit int, point TapPoint, y *Tensor)

// Ctx carries the settings of one forward/backward pass through a model.
type Ctx struct {
	B Backend
	// Train selects batch statistics in batch norm (and updates the running
	// ones); otherwise the running statistics are used.
	Train bool
	// Tap, when set, is called with every tapped output.
	Tap TapFunc
	// InputGrad asks Backward to return the gradient with respect to the
	// model's input (EMNI and Boundary Shrink need it); otherwise the first
	// layer skips that work.
	InputGrad bool
}

func (c *Ctx) tap(units []int, p TapPoint, y *Tensor) {
	if c.Tap == nil {
		return
	}
	for _, u := range units {
		c.Tap(u, p, y)
	}
}

// Layer is a differentiable step of a network. A layer keeps the
// activations of its last Forward; Backward differentiates that Forward,
// so each Backward must follow the Forward it belongs to. Output tensors
// live in storage the layer reuses on its next call.
type Layer interface {
	Forward(c *Ctx, x *Tensor) *Tensor
	Backward(c *Ctx, dy *Tensor) *Tensor
}

// releaser is implemented by layers that hold backend storage.
type releaser interface {
	release(b Backend)
}

// out is a layer's reusable output tensor.
type out struct {
	s     scratch
	t     Tensor
	shape [4]int
}

func (o *out) get(b Backend, shape ...int) *Tensor {
	n := copy(o.shape[:], shape)
	o.t.Shape = o.shape[:n]
	o.t.Data = o.s.get(b, Numel(shape))
	return &o.t
}

func (o *out) release(b Backend) { o.s.release(b) }

func want4D(layer string, x *Tensor, c int) {
	if len(x.Shape) != 4 || x.Shape[1] != c {
		panic(&ShapeError{Layer: layer, Got: x.Shape, Want: fmt.Sprintf("[N %d H W]", c)})
	}
}

func sameShape(layer string, a, b *Tensor) {
	if len(a.Shape) != len(b.Shape) {
		panic(&ShapeError{Layer: layer, Got: b.Shape, Want: ShapeString(a.Shape)})
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			panic(&ShapeError{Layer: layer, Got: b.Shape, Want: ShapeString(a.Shape)})
		}
	}
}

// Conv2d is a 2-D convolution with square kernel, stride and padding.
type Conv2d struct {
	Name                    string // parameter prefix, e.g. "layer1.0.conv1"
	In, Out, K, Stride, Pad int
	Weight, Bias            *Param // Bias is nil when the layer has none
	Units                   []int  // taps that read this layer's output
	skipInputGrad           bool   // first layer: dx only when Ctx.InputGrad
	x                       *Tensor
	g                       ConvGeom
	y, dx                   out
}

func (l *Conv2d) Forward(c *Ctx, x *Tensor) *Tensor {
	want4D(l.Name, x, l.In)
	g, err := NewConvGeom(x.Shape[0], l.In, x.Shape[2], x.Shape[3], l.Out, l.K, l.K, l.Stride, l.Pad)
	if err != nil {
		panic(&ShapeError{Layer: l.Name, Got: x.Shape, Want: err.Error()})
	}
	l.g, l.x = g, x
	y := l.y.get(c.B, g.N, g.K, g.P, g.Q)
	c.B.ConvForward(g, x.Data, l.Weight.Value.Data, y.Data)
	if l.Bias != nil {
		c.B.AddChannelBias(y.Data, l.Bias.Value.Data, g.N, g.K, g.P*g.Q)
	}
	c.tap(l.Units, TapConv, y)
	return y
}

func (l *Conv2d) Backward(c *Ctx, dy *Tensor) *Tensor {
	g := l.g
	c.B.ConvBackwardFilter(g, l.x.Data, dy.Data, l.Weight.Grad.Data)
	if l.Bias != nil {
		c.B.ChannelSum(dy.Data, g.N, g.K, g.P*g.Q, l.Bias.Grad.Data)
	}
	if l.skipInputGrad && !c.InputGrad {
		return nil
	}
	dx := l.dx.get(c.B, g.N, g.C, g.H, g.W)
	c.B.ConvBackwardData(g, l.Weight.Value.Data, dy.Data, dx.Data)
	return dx
}

func (l *Conv2d) release(b Backend) { l.y.release(b); l.dx.release(b) }

// BatchNorm2d normalises each channel; running statistics follow PyTorch
// (momentum 0.1, unbiased running variance, eps 1e-5).
type BatchNorm2d struct {
	Name               string
	C                  int
	Momentum, Eps      float32
	Weight, Bias       *Param
	RunMean, RunVar    *Param
	BatchesTracked     int64 // PyTorch's num_batches_tracked
	Units              []int
	x                  *Tensor
	trained            bool // whether the last Forward used batch statistics
	saveMean, saveIStd scratch
	y, dx              out
}

func (l *BatchNorm2d) Forward(c *Ctx, x *Tensor) *Tensor {
	want4D(l.Name, x, l.C)
	n, hw := x.Shape[0], x.Shape[2]*x.Shape[3]
	y := l.y.get(c.B, x.Shape...)
	l.x, l.trained = x, c.Train
	if c.Train {
		if n*hw < 2 {
			panic(&ShapeError{Layer: l.Name, Got: x.Shape, Want: "more than one value per channel in training mode"})
		}
		mean := l.saveMean.get(c.B, l.C)
		istd := l.saveIStd.get(c.B, l.C)
		c.B.BatchNormTrain(n, l.C, hw, x.Data, l.Weight.Value.Data, l.Bias.Value.Data, y.Data,
			l.RunMean.Value.Data, l.RunVar.Value.Data, mean, istd, l.Momentum, l.Eps)
		l.BatchesTracked++
	} else {
		c.B.BatchNormEval(n, l.C, hw, x.Data, l.Weight.Value.Data, l.Bias.Value.Data,
			l.RunMean.Value.Data, l.RunVar.Value.Data, y.Data, l.Eps)
	}
	c.tap(l.Units, TapBN, y)
	return y
}

func (l *BatchNorm2d) Backward(c *Ctx, dy *Tensor) *Tensor {
	x := l.x
	n, hw := x.Shape[0], x.Shape[2]*x.Shape[3]
	dx := l.dx.get(c.B, x.Shape...)
	if l.trained {
		c.B.BatchNormBackward(n, l.C, hw, x.Data, dy.Data, l.Weight.Value.Data,
			l.saveMean.buf.Slice(0, l.C), l.saveIStd.buf.Slice(0, l.C), dx.Data, l.Weight.Grad.Data, l.Bias.Grad.Data)
	} else {
		c.B.BatchNormEvalBackward(n, l.C, hw, x.Data, dy.Data, l.Weight.Value.Data,
			l.RunMean.Value.Data, l.RunVar.Value.Data, dx.Data, l.Weight.Grad.Data, l.Bias.Grad.Data, l.Eps)
	}
	return dx
}

func (l *BatchNorm2d) release(b Backend) {
	l.y.release(b)
	l.dx.release(b)
	l.saveMean.release(b)
	l.saveIStd.release(b)
}

// ReLU is max(x, 0).
type ReLU struct {
	Name  string
	Units []int
	y, dx out
	yt    *Tensor
}

func (l *ReLU) Forward(c *Ctx, x *Tensor) *Tensor {
	y := l.y.get(c.B, x.Shape...)
	c.B.ReLUForward(x.Data, y.Data)
	l.yt = y
	c.tap(l.Units, TapReLU, y)
	return y
}

func (l *ReLU) Backward(c *Ctx, dy *Tensor) *Tensor {
	sameShape(l.Name, l.yt, dy)
	dx := l.dx.get(c.B, dy.Shape...)
	c.B.ReLUBackward(l.yt.Data, dy.Data, dx.Data)
	return dx
}

func (l *ReLU) release(b Backend) { l.y.release(b); l.dx.release(b) }

// MaxPool2d takes the maximum over each window (padding never wins).
type MaxPool2d struct {
	Name                string
	Kernel, Stride, Pad int
	g                   PoolGeom
	argmax              intScratch
	y, dx               out
}

func (l *MaxPool2d) Forward(c *Ctx, x *Tensor) *Tensor {
	if len(x.Shape) != 4 {
		panic(&ShapeError{Layer: l.Name, Got: x.Shape, Want: "[N C H W]"})
	}
	g, err := NewPoolGeom(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], l.Kernel, l.Kernel, l.Stride, l.Pad)
	if err != nil {
		panic(&ShapeError{Layer: l.Name, Got: x.Shape, Want: err.Error()})
	}
	l.g = g
	y := l.y.get(c.B, g.N, g.C, g.P, g.Q)
	c.B.MaxPoolForward(g, x.Data, y.Data, l.argmax.get(c.B, y.Numel()))
	return y
}

func (l *MaxPool2d) Backward(c *Ctx, dy *Tensor) *Tensor {
	g := l.g
	dx := l.dx.get(c.B, g.N, g.C, g.H, g.W)
	c.B.MaxPoolBackward(g, dy.Data, l.argmax.buf.Slice(0, dy.Numel()), dx.Data)
	return dx
}

func (l *MaxPool2d) release(b Backend) { l.y.release(b); l.dx.release(b); l.argmax.release(b) }

// AvgPool2d averages each window. Global makes the window the whole input
// (global average pooling), whatever its size.
type AvgPool2d struct {
	Name                string
	Kernel, Stride, Pad int
	Global              bool
	g                   PoolGeom
	y, dx               out
}

func (l *AvgPool2d) Forward(c *Ctx, x *Tensor) *Tensor {
	if len(x.Shape) != 4 {
		panic(&ShapeError{Layer: l.Name, Got: x.Shape, Want: "[N C H W]"})
	}
	kh, kw, stride, pad := l.Kernel, l.Kernel, l.Stride, l.Pad
	if l.Global {
		kh, kw, stride, pad = x.Shape[2], x.Shape[3], 1, 0
	}
	g, err := NewPoolGeom(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], kh, kw, stride, pad)
	if err != nil {
		panic(&ShapeError{Layer: l.Name, Got: x.Shape, Want: err.Error()})
	}
	l.g = g
	y := l.y.get(c.B, g.N, g.C, g.P, g.Q)
	if l.Global {
		c.B.ChannelMean(x.Data, g.N, g.C, g.H*g.W, y.Data)
	} else {
		c.B.AvgPoolForward(g, x.Data, y.Data)
	}
	return y
}

func (l *AvgPool2d) Backward(c *Ctx, dy *Tensor) *Tensor {
	g := l.g
	dx := l.dx.get(c.B, g.N, g.C, g.H, g.W)
	c.B.AvgPoolBackward(g, dy.Data, dx.Data)
	return dx
}

func (l *AvgPool2d) release(b Backend) { l.y.release(b); l.dx.release(b) }

// Flatten reshapes [N C H W] to [N C*H*W] without copying.
type Flatten struct {
	in    []int
	y, dx Tensor
}

func (l *Flatten) Forward(c *Ctx, x *Tensor) *Tensor {
	l.in = append(l.in[:0], x.Shape...)
	l.y = Tensor{Shape: []int{x.Shape[0], Numel(x.Shape[1:])}, Data: x.Data}
	return &l.y
}

func (l *Flatten) Backward(c *Ctx, dy *Tensor) *Tensor {
	l.dx = Tensor{Shape: l.in, Data: dy.Data}
	return &l.dx
}

// Linear is y = x·Wᵀ + b with W of shape [Out In] (PyTorch's layout).
type Linear struct {
	Name         string
	In, Out      int
	Weight, Bias *Param
	x            *Tensor
	y, dx        out
}

func (l *Linear) Forward(c *Ctx, x *Tensor) *Tensor {
	if len(x.Shape) != 2 || x.Shape[1] != l.In {
		panic(&ShapeError{Layer: l.Name, Got: x.Shape, Want: fmt.Sprintf("[N %d]", l.In)})
	}
	n := x.Shape[0]
	l.x = x
	y := l.y.get(c.B, n, l.Out)
	c.B.Gemm(false, true, n, l.Out, l.In, 1, x.Data, l.In, l.Weight.Value.Data, l.In, 0, y.Data, l.Out)
	if l.Bias != nil {
		c.B.AddChannelBias(y.Data, l.Bias.Value.Data, n, l.Out, 1)
	}
	return y
}

func (l *Linear) Backward(c *Ctx, dy *Tensor) *Tensor {
	n := l.x.Shape[0]
	c.B.Gemm(true, false, l.Out, l.In, n, 1, dy.Data, l.Out, l.x.Data, l.In, 1, l.Weight.Grad.Data, l.In)
	if l.Bias != nil {
		c.B.ChannelSum(dy.Data, n, l.Out, 1, l.Bias.Grad.Data)
	}
	dx := l.dx.get(c.B, n, l.In)
	c.B.Gemm(false, false, n, l.In, l.Out, 1, dy.Data, l.Out, l.Weight.Value.Data, l.In, 0, dx.Data, l.In)
	return dx
}

func (l *Linear) release(b Backend) { l.y.release(b); l.dx.release(b) }

// Sequential runs layers in order.
type Sequential []Layer

func (s Sequential) Forward(c *Ctx, x *Tensor) *Tensor {
	for _, l := range s {
		x = l.Forward(c, x)
	}
	return x
}

func (s Sequential) Backward(c *Ctx, dy *Tensor) *Tensor {
	for i := len(s) - 1; i >= 0 && dy != nil; i-- {
		dy = s[i].Backward(c, dy)
	}
	return dy
}

func (s Sequential) release(b Backend) {
	for _, l := range s {
		if r, ok := l.(releaser); ok {
			r.release(b)
		}
	}
}

// Residual is out = ReLU(Main(x) + Shortcut(x)), the ResNet block pattern;
// an empty Shortcut is the identity.
type Residual struct {
	Name     string
	Main     Sequential
	Shortcut Sequential
	Act      *ReLU
	sum, dx  out
}

func (r *Residual) Forward(c *Ctx, x *Tensor) *Tensor {
	m := r.Main.Forward(c, x)
	s := x
	if len(r.Shortcut) > 0 {
		s = r.Shortcut.Forward(c, x)
	}
	sameShape(r.Name, m, s)
	sum := r.sum.get(c.B, m.Shape...)
	c.B.Add(sum.Data, m.Data, s.Data)
	return r.Act.Forward(c, sum)
}

func (r *Residual) Backward(c *Ctx, dy *Tensor) *Tensor {
	d := r.Act.Backward(c, dy)
	dm := r.Main.Backward(c, d)
	ds := d
	if len(r.Shortcut) > 0 {
		ds = r.Shortcut.Backward(c, d)
	}
	dx := r.dx.get(c.B, dm.Shape...)
	c.B.Add(dx.Data, dm.Data, ds.Data)
	return dx
}

func (r *Residual) release(b Backend) {
	r.Main.release(b)
	r.Shortcut.release(b)
	r.Act.release(b)
	r.sum.release(b)
	r.dx.release(b)
}
