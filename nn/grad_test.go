package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"lethe/nn"
	"lethe/nn/cpu"
)

func backend(t testing.TB) nn.Backend {
	t.Helper()
	b, err := cpu.New(cpu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randVals(r *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * scale)
	}
	return v
}

// gradCase is a tiny network whose every gradient is checked against
// central finite differences of L = Σ r ⊙ f(x).
type gradCase struct {
	name  string
	in    [4]int // N C H W
	train bool
	build nn.BuildFunc
}

func gradCases() []gradCase {
	return []gradCase{
		{"conv3x3_s1_p1_bias", [4]int{2, 3, 5, 6}, true, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
			return nn.Sequential{mb.Conv("c", 3, 4, 3, 1, 1, true)}, nil
		}},
		{"conv3x3_s2_p0", [4]int{2, 2, 7, 7}, true, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
			return nn.Sequential{mb.Conv("c", 2, 3, 3, 2, 0, false)}, nil
		}},
		{"conv1x1_s2", [4]int{2, 3, 6, 6}, true, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
			return nn.Sequential{mb.Conv("c", 3, 5, 1, 2, 0, false)}, nil
		}},
		{"conv_bn_train", [4]int{3, 2, 4, 4}, true, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
			return nn.Sequential{mb.Conv("c", 2, 3, 3, 1, 1, false), mb.BN("bn", 3)}, nil
		}},
		{"conv_bn_eval", [4]int{3, 2, 4, 4}, false, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
			return nn.Sequential{mb.Conv("c", 2, 3, 3, 1, 1, false), mb.BN("bn", 3)}, nil
		}},
		{"relu_maxpool", [4]int{2, 2, 6, 5}, true, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
			conv := mb.Conv("c", 2, 3, 3, 1, 1, true)
			return nn.Sequential{conv, mb.ReLU("r", conv), &nn.MaxPool2d{Name: "p", Kernel: 3, Stride: 2, Pad: 1}}, nil
		}},
		{"avgpool", [4]int{2, 2, 6, 6}, true, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
			return nn.Sequential{mb.Conv("c", 2, 2, 3, 1, 1, true), &nn.AvgPool2d{Name: "p", Kernel: 2, Stride: 2}}, nil
		}},
		{"globalpool_flatten_linear", [4]int{3, 2, 5, 5}, true, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
			return nn.Sequential{mb.Conv("c", 2, 4, 3, 1, 1, true), &nn.AvgPool2d{Name: "gap", Global: true}, &nn.Flatten{}, mb.Linear("fc", 4, 3)}, nil
		}},
		{"flatten_linear", [4]int{2, 2, 3, 3}, true, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
			return nn.Sequential{mb.Conv("c", 2, 2, 1, 1, 0, false), &nn.Flatten{}, mb.Linear("fc", 18, 4)}, nil
		}},
		{"basic_block_projection_train", [4]int{2, 3, 6, 6}, true, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
			stem := mb.Conv("stem", 3, 3, 3, 1, 1, false)
			return nn.Sequential{stem, mb.BasicBlock("blk", 3, 4, 2)}, nil
		}},
		{"basic_block_identity_eval", [4]int{2, 3, 5, 5}, false, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
			stem := mb.Conv("stem", 3, 3, 3, 1, 1, false)
			return nn.Sequential{stem, mb.BN("stem_bn", 3), mb.BasicBlock("blk", 3, 3, 1)}, nil
		}},
	}
}

func TestLayerGradientsFiniteDifferences(t *testing.T) {
	b := backend(t)
	for _, tc := range gradCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 7))
			cfg := nn.Config{Arch: tc.name, Classes: 1, InC: tc.in[1], InH: tc.in[2], InW: tc.in[3], Seed: 3}
			m, err := nn.NewCustom(b, cfg, tc.build)
			if err != nil {
				t.Fatal(err)
			}
			// Non-trivial batch-norm state so eval mode is not the identity.
			for _, p := range m.State {
				v := randVals(r, p.Numel(), 0.3)
				if p.Kind == nn.RunningVar {
					for i := range v {
						v[i] = 0.5 + v[i]*v[i]
					}
				}
				b.Upload(p.Value.Data, v)
			}
			x := nn.FromHost(b, randVals(r, tc.in[0]*tc.in[1]*tc.in[2]*tc.in[3], 1), tc.in[:]...)
			checkGradients(t, b, m, x, tc.train, r)
		})
	}
}

// checkGradients compares analytic gradients of L = Σ r⊙f(x) (input and
// every parameter) with central differences, in float64 on the host.
func checkGradients(t *testing.T, b nn.Backend, m *nn.Model, x *nn.Tensor, train bool, r *rand.Rand) {
	t.Helper()
	forward := func() []float32 {
		y, err := m.Forward(&nn.Ctx{Train: train}, x)
		if err != nil {
			t.Fatal(err)
		}
		return nn.ToHost(b, y)
	}
	y0 := forward()
	weights := randVals(r, len(y0), 1)
	loss := func() float64 {
		var s float64
		for i, v := range forward() {
			s += float64(v) * float64(weights[i])
		}
		return s
	}
	// Analytic pass.
	m.ZeroGrad()
	ctx := &nn.Ctx{Train: train, InputGrad: true}
	y, err := m.Forward(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	dy := nn.FromHost(b, weights, y.Shape...)
	dx, err := m.Backward(ctx, dy)
	if err != nil {
		t.Fatal(err)
	}
	if dx == nil {
		t.Fatal("Backward returned no input gradient although Ctx.InputGrad is set")
	}
	gotDX := nn.ToHost(b, dx)
	gotGrads := make([]float32, m.NumParams())
	b.Download(gotGrads, m.Grads())

	// Central differences at two step sizes: ReLU and max-pool kinks can
	// spoil one (a unit near zero crosses it), float32 rounding spoils
	// very small steps, so a gradient passes when either agrees. A wrong
	// gradient fails both.
	steps := []float32{1e-3, 3e-4, 1e-4}
	agrees := func(analytic float32, fd float64) bool {
		return math.Abs(float64(analytic)-fd) <= 3e-3+3e-2*math.Abs(fd)
	}
	check := func(what string, analytic float32, set func(float32), orig float32) {
		t.Helper()
		var fds []float64
		for _, eps := range steps {
			set(orig + eps)
			lp := loss()
			set(orig - eps)
			lm := loss()
			set(orig)
			fd := (lp - lm) / float64(2*eps)
			if agrees(analytic, fd) {
				return
			}
			fds = append(fds, fd)
		}
		t.Errorf("%s: analytic %.6g, finite differences %.6g", what, analytic, fds)
	}
	xs := nn.ToHost(b, x)
	for _, i := range sample(r, len(xs), 24) {
		check(fmt.Sprintf("d/dx[%d]", i), gotDX[i], func(v float32) { xs[i] = v; b.Upload(x.Data, xs) }, xs[i])
	}
	vals := make([]float32, m.NumParams())
	b.Download(vals, m.Values())
	for _, p := range m.Params {
		for _, j := range sample(r, p.Numel(), 12) {
			i := p.Offset + j
			check(fmt.Sprintf("%s[%d]", p.Name, j), gotGrads[i], func(v float32) { vals[i] = v; b.Upload(m.Values(), vals) }, vals[i])
		}
	}
}

func sample(r *rand.Rand, n, k int) []int {
	if n <= k {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	return r.Perm(n)[:k]
}

// The orthogonality term's gradient 4λ(WWᵀ−I)W against finite differences
// of its value.
func TestOrthogonalityGradient(t *testing.T) {
	b := backend(t)
	r := rand.New(rand.NewPCG(1, 2))
	m, err := nn.New(b, nn.Config{Arch: "smallcnn", Classes: 3, InC: 1, InH: 8, InW: 8, Width: 0.125, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	const lambda = 0.37
	o := nn.NewOrthogonality(m, lambda, nn.OrthoExclude{})
	if len(o.Units) != 3 {
		t.Fatalf("orthogonality covers %d units, want all three convolutions", len(o.Units))
	}
	m.ZeroGrad()
	v0 := o.Apply(b, true)
	if v0 <= 0 {
		t.Fatalf("regulariser value %v of random kernels should be positive", v0)
	}
	if dev := o.Deviation(b); math.Abs(lambda*dev-v0) > 1e-6*v0 {
		t.Fatalf("Deviation·λ = %v, Apply = %v", lambda*dev, v0)
	}
	grads := make([]float32, m.NumParams())
	b.Download(grads, m.Grads())
	vals := make([]float32, m.NumParams())
	b.Download(vals, m.Values())
	const eps = 1e-3
	for _, u := range o.Units {
		w := u.Conv.Weight
		for _, j := range sample(r, w.Numel(), 20) {
			i := w.Offset + j
			orig := vals[i]
			vals[i] = orig + eps
			b.Upload(m.Values(), vals)
			lp := o.Deviation(b) * lambda
			vals[i] = orig - eps
			b.Upload(m.Values(), vals)
			lm := o.Deviation(b) * lambda
			vals[i] = orig
			b.Upload(m.Values(), vals)
			fd := (lp - lm) / (2 * eps)
			if math.Abs(float64(grads[i])-fd) > 1e-3+1e-2*math.Abs(fd) {
				t.Errorf("%s[%d]: analytic %.6g, finite difference %.6g", w.Name, j, grads[i], fd)
			}
		}
	}
	// Non-convolution parameters are untouched.
	for _, p := range m.Params {
		if p.Kind == nn.ConvWeight {
			continue
		}
		for j := 0; j < p.Numel(); j++ {
			if grads[p.Offset+j] != 0 {
				t.Fatalf("orthogonality wrote a gradient into %s", p.Name)
			}
		}
	}
	// Exclusion: the first convolution drops out.
	if o2 := nn.NewOrthogonality(m, lambda, nn.OrthoExclude{First: true}); len(o2.Units) != 2 || o2.Units[0].First {
		t.Fatalf("excluding the first layer left %d units", len(o2.Units))
	}
}

// Orthogonal kernels give zero deviation; the regulariser then adds nothing.
func TestOrthogonalityZeroOnOrthogonalKernels(t *testing.T) {
	b := backend(t)
	m, err := nn.NewCustom(b, nn.Config{Arch: "one-conv", Classes: 1, InC: 4, InH: 3, InW: 3}, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
		return nn.Sequential{mb.Conv("c", 4, 2, 1, 1, 0, false)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Rows (1,0,0,0) and (0,0.6,0.8,0) are orthonormal.
	b.Upload(m.Units[0].Conv.Weight.Value.Data, []float32{1, 0, 0, 0, 0, 0.6, 0.8, 0})
	o := nn.NewOrthogonality(m, 1, nn.OrthoExclude{})
	if d := o.Deviation(b); d > 1e-12 {
		t.Fatalf("deviation of orthonormal rows = %g, want 0", d)
	}
	// Scaling a row by 2 makes WWᵀ−I = diag(3, 0): deviation 9.
	b.Upload(m.Units[0].Conv.Weight.Value.Data, []float32{2, 0, 0, 0, 0, 0.6, 0.8, 0})
	if d := o.Deviation(b); math.Abs(d-9) > 1e-5 {
		t.Fatalf("deviation = %g, want 9", d)
	}
}
