package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"lethe/nn"
	"lethe/nn/cpu"
)

// reference is the backend the CUDA backend is compared with: the CPU
// backend, Lethe's reference implementation of nn.Backend.
func reference() nn.Backend {
	b, err := cpu.New(cpu.Options{})
	if err != nil {
		panic(err) // only invalid options make cpu.New fail
	}
	return b
}

// trainStepAgreement builds the same model on be and on the reference,
// runs one SGD-momentum training step (with the orthogonality loss) on
// the same batch and compares the loss, the gradients, the updated
// parameters and the batch-norm running statistics, then an eval-mode
// forward pass.
func trainStepAgreement(t *testing.T, be nn.Backend, cfg nn.Config, batch int, gradTol, paramTol tol) {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	bt := &nn.Batch{N: batch, C: cfg.InC, H: cfg.InH, W: cfg.InW}
	for i := 0; i < batch*cfg.InC*cfg.InH*cfg.InW; i++ {
		bt.X = append(bt.X, float32(r.NormFloat64()))
	}
	for i := 0; i < batch; i++ {
		bt.Y = append(bt.Y, int32(r.IntN(cfg.Classes)))
	}
	optim := nn.OptimConfig{Name: "sgd", LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4}
	type result struct {
		loss                 float64
		grads, params, state []float32
		evalLogits           []float32
	}
	step := func(b nn.Backend) result {
		m, err := nn.New(b, cfg)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := nn.NewTrainer(m, optim, 1e-3, nn.OrthoExclude{})
		if err != nil {
			t.Fatal(err)
		}
		loss, _, err := tr.Step(bt, optim.LR, 1)
		if err != nil {
			t.Fatal(err)
		}
		res := result{loss: loss}
		res.grads = make([]float32, m.Grads().Len())
		b.Download(res.grads, m.Grads())
		res.params = make([]float32, m.Values().Len())
		b.Download(res.params, m.Values())
		res.state = make([]float32, m.StateValues().Len())
		b.Download(res.state, m.StateValues())
		x, _, err := m.Input(bt)
		if err != nil {
			t.Fatal(err)
		}
		logits, err := m.Forward(&nn.Ctx{B: b}, x)
		if err != nil {
			t.Fatal(err)
		}
		res.evalLogits = nn.ToHost(b, logits)
		if err := b.Sync(); err != nil {
			t.Fatal(err)
		}
		return res
	}
	got, want := step(be), step(reference())
	name := fmt.Sprintf("%s width %g batch %d", cfg.Arch, cfg.Width, batch)
	if d := math.Abs(got.loss - want.loss); d > 1e-4*(1+math.Abs(want.loss)) {
		t.Errorf("%s: loss %.7g, want %.7g", name, got.loss, want.loss)
	} else {
		t.Logf("%s: loss %.7g vs %.7g", name, got.loss, want.loss)
	}
	compareValues(t, name+" gradients", got.grads, want.grads, gradTol)
	compareValues(t, name+" parameters after the step", got.params, want.params, paramTol)
	compareValues(t, name+" running statistics", got.state, want.state, paramTol)
	compareValues(t, name+" eval-mode logits after the step", got.evalLogits, want.evalLogits, tolEvalAfterStep)
}

// Gradients pass through many layers of float32 sums in a different
// order; their error is absolute-ish, so it is measured against the
// largest gradient. Parameters move by lr·grad and stay tight.
// Eval-mode logits after one step use running statistics of a batch of
// two, whose variances can be tiny: the logits reach thousands and amplify
// the parameters' rounding differences (ResNet-18 at 8x8: 0.11% of the
// largest logit once the CPU's batch norm used FMA).
var (
	tolModelGrad     = tol{Abs: 1e-5, Rel: 1e-3, Global: true}
	tolModelParam    = tol{Abs: 1e-5, Rel: 1e-4, Global: true}
	tolEvalAfterStep = tol{Abs: 1e-5, Rel: 3e-3, Global: true}
)

func TestTrainStepEmulated(t *testing.T) {
	be := newEmuBackend(t)
	for _, c := range []struct {
		cfg   nn.Config
		batch int
	}{
		{nn.Config{Arch: "smallcnn", Classes: 10, InC: 1, InH: 28, InW: 28, Width: 0.25, Seed: 1}, 4},
		{nn.Config{Arch: "resnet18", Classes: 10, InC: 3, InH: 12, InW: 12, Width: 0.125, Seed: 2}, 2},
	} {
		t.Run(c.cfg.Arch, func(t *testing.T) {
			trainStepAgreement(t, be, c.cfg, c.batch, tolModelGrad, tolModelParam)
		})
	}
}

// TestBenchmarkModelsMatchPyTorch: the GPU benchmarks compare Lethe's
// models with the PyTorch definitions in scripts/bench_torch_gpu.py; the
// parameter counts printed by that script's models must match.
func TestBenchmarkModelsMatchPyTorch(t *testing.T) {
	for _, c := range []struct {
		cfg  nn.Config
		want int
	}{
		{nn.Config{Arch: "smallcnn", Classes: 10, InC: 1, InH: 28, InW: 28, Width: 1}, 94186},
		{nn.Config{Arch: "resnet18", Classes: 10, InC: 3, InH: 32, InW: 32, Width: 1}, 11173962},
	} {
		m, err := nn.New(reference(), c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.NumParams(); got != c.want {
			t.Errorf("%s: %d parameters, PyTorch's definition has %d", c.cfg.Arch, got, c.want)
		}
	}
}
