package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// Config says which network to build.
type Config struct {
	Arch    string  `json:"arch"`    // one of Archs()
	Classes int     `json:"classes"` // output logits
	InC     int     `json:"in_c"`    // input channels
	InH     int     `json:"in_h"`    // input height
	InW     int     `json:"in_w"`    // input width
	Width   float64 `json:"width"`   // channel multiplier (1 = the published widths; tests and CI use less)
	Seed    uint64  `json:"seed"`    // initialisation seed
}

// Unit is one convolution of a model with the batch norm that follows it
// (if any). OSP and TF-IDF work per unit; taps report per unit.
type Unit struct {
	Index    int
	Conv     *Conv2d
	BN       *BatchNorm2d
	Shortcut bool // a 1x1 projection on a residual shortcut
	First    bool // the network's first convolution
}

// Name is the unit's convolution name, e.g. "layer1.0.conv1".
func (u *Unit) Name() string { return u.Conv.Name }

// Model is a network with its parameters in one flat buffer (and their
// gradients in another), PyTorch state-dict names, and per-convolution
// units for the unlearning methods.
type Model struct {
	Config Config
	// Params are the trainable tensors, State the batch-norm running
	// statistics, each in PyTorch's registration order.
	Params []*Param
	State  []*Param
	Units  []*Unit

	b                    Backend
	build                BuildFunc
	net                  Sequential
	bns                  []*BatchNorm2d
	values, grads, state Buf
	input                out
	labels               intScratch
}

// BuildFunc assembles a network with a Builder.
type BuildFunc func(mb *Builder, cfg Config) (Sequential, error)

var archs = map[string]BuildFunc{
	"smallcnn": buildSmallCNN,
	"resnet18": func(mb *Builder, cfg Config) (Sequential, error) {
		return buildResNet(mb, cfg, false, []int{2, 2, 2, 2})
	},
	"resnet50": func(mb *Builder, cfg Config) (Sequential, error) {
		return buildResNet(mb, cfg, true, []int{3, 4, 6, 3})
	},
	"vgg16_bn": buildVGG16BN,
}

// Archs lists the architectures New knows.
func Archs() []string {
	names := make([]string, 0, len(archs))
	for n := range archs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New builds a model on backend b with its parameters initialised as
// torchvision does, deterministically from cfg.Seed.
func New(b Backend, cfg Config) (*Model, error) {
	build, ok := archs[cfg.Arch]
	if !ok {
		return nil, fmt.Errorf("unknown architecture %q (known: %s)", cfg.Arch, strings.Join(Archs(), ", "))
	}
	return NewCustom(b, cfg, build)
}

// NewCustom builds a network that build assembles (cfg.Arch is only a
// label then; LoadModel cannot rebuild it from a checkpoint).
func NewCustom(b Backend, cfg Config, build BuildFunc) (*Model, error) {
	if cfg.Width == 0 {
		cfg.Width = 1
	}
	switch {
	case cfg.Classes < 1:
		return nil, fmt.Errorf("%s: %d classes; need at least 1", cfg.Arch, cfg.Classes)
	case cfg.InC < 1 || cfg.InH < 1 || cfg.InW < 1:
		return nil, fmt.Errorf("%s: input shape %dx%dx%d is empty", cfg.Arch, cfg.InC, cfg.InH, cfg.InW)
	case cfg.Width < 0 || math.IsNaN(cfg.Width) || math.IsInf(cfg.Width, 0):
		return nil, fmt.Errorf("%s: width multiplier %v must be positive", cfg.Arch, cfg.Width)
	}
	mb := &Builder{width: cfg.Width}
	net, err := build(mb, cfg)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, Params: mb.ps.params, State: mb.ps.state, Units: mb.units, b: b, net: net, bns: mb.bns, build: build}
	m.allocate()
	m.initialise()
	return m, nil
}

func (m *Model) allocate() {
	n := 0
	for _, p := range m.Params {
		p.Offset = n
		n += p.Numel()
	}
	m.values, m.grads = m.b.Alloc(n), m.b.Alloc(n)
	for _, p := range m.Params {
		p.Value = &Tensor{Shape: p.Shape, Data: m.values.Slice(p.Offset, p.Numel())}
		p.Grad = &Tensor{Shape: p.Shape, Data: m.grads.Slice(p.Offset, p.Numel())}
	}
	n = 0
	for _, p := range m.State {
		p.Offset = n
		n += p.Numel()
	}
	m.state = m.b.Alloc(max(n, 1))
	for _, p := range m.State {
		p.Value = &Tensor{Shape: p.Shape, Data: m.state.Slice(p.Offset, p.Numel())}
	}
}

func (m *Model) initialise() {
	r := rand.New(rand.NewPCG(m.Config.Seed, 0x6c657468655f6e6e))
	host := make([]float32, m.values.Len())
	for _, p := range m.Params {
		p.init(r, host[p.Offset:p.Offset+p.Numel()])
	}
	m.b.Upload(m.values, host)
	state := make([]float32, m.state.Len())
	for _, p := range m.State {
		p.init(r, state[p.Offset:p.Offset+p.Numel()])
	}
	m.b.Upload(m.state, state)
}

// Backend is the device the model lives on.
func (m *Model) Backend() Backend { return m.b }

// Values is the flat vector of all trainable parameters (Params order).
func (m *Model) Values() Buf { return m.values }

// Grads is the flat gradient vector, aligned with Values.
func (m *Model) Grads() Buf { return m.grads }

// StateValues is the flat vector of the batch-norm running statistics.
func (m *Model) StateValues() Buf { return m.state }

// NumParams is the number of trainable values.
func (m *Model) NumParams() int { return m.values.Len() }

// ZeroGrad clears the gradient vector.
func (m *Model) ZeroGrad() { m.b.Fill(m.grads, 0) }

// Param finds a trainable tensor or running statistic by its PyTorch name.
func (m *Model) Param(name string) *Param {
	for _, p := range m.Params {
		if p.Name == name {
			return p
		}
	}
	for _, p := range m.State {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Input uploads a host batch into the model's input buffer.
func (m *Model) Input(bt *Batch) (*Tensor, IntBuf, error) {
	if bt.C != m.Config.InC || bt.H != m.Config.InH || bt.W != m.Config.InW {
		return nil, nil, fmt.Errorf("%s expects %dx%dx%d images, batch has %dx%dx%d",
			m.Config.Arch, m.Config.InC, m.Config.InH, m.Config.InW, bt.C, bt.H, bt.W)
	}
	if len(bt.X) < bt.N*bt.C*bt.H*bt.W || len(bt.Y) < bt.N {
		return nil, nil, fmt.Errorf("batch of %d holds %d values and %d labels", bt.N, len(bt.X), len(bt.Y))
	}
	x := m.input.get(m.b, bt.N, bt.C, bt.H, bt.W)
	m.b.Upload(x.Data, bt.X[:x.Numel()])
	y := m.labels.get(m.b, bt.N)
	m.b.UploadInt(y, bt.Y[:bt.N])
	return x, y, nil
}

// Forward computes the logits [N Classes] of x. The model's backend is
// used whatever c.B says.
func (m *Model) Forward(c *Ctx, x *Tensor) (logits *Tensor, err error) {
	defer recoverShape(&err)
	c.B = m.b
	if len(x.Shape) != 4 || x.Shape[1] != m.Config.InC || x.Shape[2] != m.Config.InH || x.Shape[3] != m.Config.InW {
		return nil, &ShapeError{Layer: m.Config.Arch + " input", Got: x.Shape,
			Want: fmt.Sprintf("[N %d %d %d]", m.Config.InC, m.Config.InH, m.Config.InW)}
	}
	return m.net.Forward(c, x), nil
}

// Backward propagates dlogits through the last Forward, accumulating
// parameter gradients. It returns the input gradient when c.InputGrad.
func (m *Model) Backward(c *Ctx, dlogits *Tensor) (dx *Tensor, err error) {
	defer recoverShape(&err)
	c.B = m.b
	return m.net.Backward(c, dlogits), nil
}

// Release frees the model's device storage. The model must not be used
// afterwards.
func (m *Model) Release() {
	m.net.release(m.b)
	m.input.release(m.b)
	m.labels.release(m.b)
	m.b.Free(m.values)
	m.b.Free(m.grads)
	m.b.Free(m.state)
}

// Clone builds a second model of the same configuration on the same
// backend holding a copy of m's parameters and running statistics.
func (m *Model) Clone() (*Model, error) {
	c, err := NewCustom(m.b, m.Config, m.build)
	if err != nil {
		return nil, err
	}
	c.CopyFrom(m)
	return c, nil
}

// CopyFrom overwrites m's parameters and running statistics with src's.
// Both must have the same configuration (apart from the seed).
func (m *Model) CopyFrom(src *Model) {
	m.b.Copy(m.values, src.values)
	m.b.Copy(m.state, src.state)
	for i, bn := range m.bns {
		bn.BatchesTracked = src.bns[i].BatchesTracked
	}
}

// Builder assembles layers, registering their parameters (with PyTorch
// names and torchvision initialisation) and their units. Custom networks
// use it through NewCustom.
type Builder struct {
	width float64
	ps    paramSet
	units []*Unit
	bns   []*BatchNorm2d
}

// Ch scales a published channel count by the width multiplier.
func (mb *Builder) Ch(c int) int {
	return max(1, int(math.Round(float64(c)*mb.width)))
}

// Conv adds a convolution unit with torchvision's initialisation.
func (mb *Builder) Conv(name string, in, outC, k, stride, pad int, bias bool) *Conv2d {
	l := &Conv2d{Name: name, In: in, Out: outC, K: k, Stride: stride, Pad: pad}
	l.Weight = mb.ps.add(name+".weight", ConvWeight, []int{outC, in, k, k}, kaimingNormalFanOut(outC*k*k))
	if bias {
		l.Bias = mb.ps.add(name+".bias", ConvBias, []int{outC}, constInit(0))
	}
	u := &Unit{Index: len(mb.units), Conv: l, First: len(mb.units) == 0}
	l.Units = []int{u.Index}
	l.skipInputGrad = u.First
	mb.units = append(mb.units, u)
	return l
}

// BN adds a batch norm after the most recent convolution.
func (mb *Builder) BN(name string, c int) *BatchNorm2d {
	l := &BatchNorm2d{Name: name, C: c, Momentum: 0.1, Eps: 1e-5}
	l.Weight = mb.ps.add(name+".weight", BNWeight, []int{c}, constInit(1))
	l.Bias = mb.ps.add(name+".bias", BNBias, []int{c}, constInit(0))
	l.RunMean = mb.ps.add(name+".running_mean", RunningMean, []int{c}, constInit(0))
	l.RunVar = mb.ps.add(name+".running_var", RunningVar, []int{c}, constInit(1))
	u := mb.units[len(mb.units)-1]
	u.BN = l
	l.Units = []int{u.Index}
	mb.bns = append(mb.bns, l)
	return l
}

// ReLU adds an activation that taps the given units (the convolutions
// whose output it activates).
func (mb *Builder) ReLU(name string, units ...*Conv2d) *ReLU {
	l := &ReLU{Name: name}
	for _, c := range units {
		l.Units = append(l.Units, c.Units...)
	}
	return l
}

// Linear adds a fully connected layer with PyTorch's default initialisation.
func (mb *Builder) Linear(name string, in, outF int) *Linear {
	return mb.linear(name, in, outF, uniformFanIn(in), uniformFanIn(in))
}

func (mb *Builder) linear(name string, in, outF int, init func(*rand.Rand, []float32), biasInit func(*rand.Rand, []float32)) *Linear {
	l := &Linear{Name: name, In: in, Out: outF}
	l.Weight = mb.ps.add(name+".weight", LinearWeight, []int{outF, in}, init)
	l.Bias = mb.ps.add(name+".bias", LinearBias, []int{outF}, biasInit)
	return l
}

// buildSmallCNN: three conv-BN-ReLU stages (the first two max-pooled) and
// a global-average-pooled linear head, for 28x28 digits (any input of at
// least 4x4 works).
//
//	conv1 3x3 (C->32) bn1 relu maxpool2 | conv2 3x3 (32->64) bn2 relu maxpool2 |
//	conv3 3x3 (64->128) bn3 relu | global avgpool | fc (128 -> classes)
//
// The head is linear on pooled filter responses, as in ResNet and VGG, so
// class evidence must pass through the convolution filters: an MLP head
// would let the classifier carry it past them, which makes filter-level
// unlearning meaningless (measured: OSP on an MLP-head SmallCNN left the
// forget digit at 94% after fine-tuning).
func buildSmallCNN(mb *Builder, cfg Config) (Sequential, error) {
	if cfg.InH < 4 || cfg.InW < 4 {
		return nil, fmt.Errorf("smallcnn needs inputs of at least 4x4, got %dx%d", cfg.InH, cfg.InW)
	}
	c1, c2, c3 := mb.Ch(32), mb.Ch(64), mb.Ch(128)
	conv1 := mb.Conv("conv1", cfg.InC, c1, 3, 1, 1, false)
	bn1 := mb.BN("bn1", c1)
	conv2 := mb.Conv("conv2", c1, c2, 3, 1, 1, false)
	bn2 := mb.BN("bn2", c2)
	conv3 := mb.Conv("conv3", c2, c3, 3, 1, 1, false)
	bn3 := mb.BN("bn3", c3)
	fc := mb.Linear("fc", c3, cfg.Classes)
	return Sequential{
		conv1, bn1, mb.ReLU("relu1", conv1), &MaxPool2d{Name: "pool1", Kernel: 2, Stride: 2},
		conv2, bn2, mb.ReLU("relu2", conv2), &MaxPool2d{Name: "pool2", Kernel: 2, Stride: 2},
		conv3, bn3, mb.ReLU("relu3", conv3), &AvgPool2d{Name: "avgpool", Global: true}, &Flatten{}, fc,
	}, nil
}

// buildResNet: torchvision's ResNet with the CIFAR stem (3x3 stride-1 conv,
// no max-pool); bottleneck blocks put the stride on the 3x3 conv (v1.5).
func buildResNet(mb *Builder, cfg Config, bottleneck bool, blocks []int) (Sequential, error) {
	if cfg.InH < 8 || cfg.InW < 8 {
		return nil, fmt.Errorf("%s needs inputs of at least 8x8, got %dx%d", cfg.Arch, cfg.InH, cfg.InW)
	}
	expansion := 1
	if bottleneck {
		expansion = 4
	}
	inC := mb.Ch(64)
	conv1 := mb.Conv("conv1", cfg.InC, inC, 3, 1, 1, false)
	net := Sequential{conv1, mb.BN("bn1", inC), mb.ReLU("relu", conv1)}
	for stage, n := range blocks {
		planes := mb.Ch(64 << stage)
		for i := 0; i < n; i++ {
			stride := 1
			if i == 0 && stage > 0 {
				stride = 2
			}
			prefix := fmt.Sprintf("layer%d.%d", stage+1, i)
			var blk *Residual
			if bottleneck {
				blk = mb.bottleneck(prefix, inC, planes, stride, expansion)
			} else {
				blk = mb.basic(prefix, inC, planes, stride)
			}
			net = append(net, blk)
			inC = planes * expansion
		}
	}
	fc := mb.Linear("fc", inC, cfg.Classes)
	return append(net, &AvgPool2d{Name: "avgpool", Global: true}, &Flatten{}, fc), nil
}

func (mb *Builder) shortcut(prefix string, in, outC, stride int) (Sequential, *Conv2d) {
	if stride == 1 && in == outC {
		return nil, nil
	}
	d := mb.Conv(prefix+".downsample.0", in, outC, 1, stride, 0, false)
	mb.units[len(mb.units)-1].Shortcut = true
	return Sequential{d, mb.BN(prefix+".downsample.1", outC)}, d
}

// BasicBlock adds torchvision's ResNet basic block (two 3x3 convolutions,
// a 1x1 projection shortcut when the shape changes).
func (mb *Builder) BasicBlock(prefix string, in, planes, stride int) *Residual {
	return mb.basic(prefix, in, planes, stride)
}

func (mb *Builder) basic(prefix string, in, planes, stride int) *Residual {
	c1 := mb.Conv(prefix+".conv1", in, planes, 3, stride, 1, false)
	b1 := mb.BN(prefix+".bn1", planes)
	r1 := mb.ReLU(prefix+".relu1", c1)
	c2 := mb.Conv(prefix+".conv2", planes, planes, 3, 1, 1, false)
	b2 := mb.BN(prefix+".bn2", planes)
	sc, d := mb.shortcut(prefix, in, planes, stride)
	tapped := []*Conv2d{c2}
	if d != nil {
		tapped = append(tapped, d)
	}
	return &Residual{Name: prefix, Main: Sequential{c1, b1, r1, c2, b2}, Shortcut: sc, Act: mb.ReLU(prefix+".relu", tapped...)}
}

func (mb *Builder) bottleneck(prefix string, in, planes, stride, expansion int) *Residual {
	c1 := mb.Conv(prefix+".conv1", in, planes, 1, 1, 0, false)
	b1 := mb.BN(prefix+".bn1", planes)
	r1 := mb.ReLU(prefix+".relu1", c1)
	c2 := mb.Conv(prefix+".conv2", planes, planes, 3, stride, 1, false)
	b2 := mb.BN(prefix+".bn2", planes)
	r2 := mb.ReLU(prefix+".relu2", c2)
	c3 := mb.Conv(prefix+".conv3", planes, planes*expansion, 1, 1, 0, false)
	b3 := mb.BN(prefix+".bn3", planes*expansion)
	sc, d := mb.shortcut(prefix, in, planes*expansion, stride)
	tapped := []*Conv2d{c3}
	if d != nil {
		tapped = append(tapped, d)
	}
	return &Residual{Name: prefix, Main: Sequential{c1, b1, r1, c2, b2, r2, c3, b3}, Shortcut: sc, Act: mb.ReLU(prefix+".relu", tapped...)}
}

// buildVGG16BN: torchvision's VGG-16 with batch norm ("features.N" names),
// CIFAR variant: global average pooling and one linear classifier, so
// 32x32 and 64x64 inputs both work.
func buildVGG16BN(mb *Builder, cfg Config) (Sequential, error) {
	if cfg.InH < 32 || cfg.InW < 32 {
		return nil, fmt.Errorf("vgg16_bn has five 2x2 max-pools and needs inputs of at least 32x32, got %dx%d", cfg.InH, cfg.InW)
	}
	plan := []int{64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0}
	var net Sequential
	in, idx := cfg.InC, 0
	for _, v := range plan {
		if v == 0 {
			net = append(net, &MaxPool2d{Name: fmt.Sprintf("features.%d", idx), Kernel: 2, Stride: 2})
			idx++
			continue
		}
		c := mb.Ch(v)
		conv := mb.Conv(fmt.Sprintf("features.%d", idx), in, c, 3, 1, 1, true)
		net = append(net, conv, mb.BN(fmt.Sprintf("features.%d", idx+1), c), mb.ReLU(fmt.Sprintf("features.%d", idx+2), conv))
		idx += 3
		in = c
	}
	// torchvision's VGG initialisation: conv biases 0, linear N(0, 0.01).
	for _, u := range mb.units {
		u.Conv.Bias.init = constInit(0)
	}
	fc := mb.linear("classifier", in, cfg.Classes, normalInit(0.01), constInit(0))
	return append(net, &AvgPool2d{Name: "avgpool", Global: true}, &Flatten{}, fc), nil
}
