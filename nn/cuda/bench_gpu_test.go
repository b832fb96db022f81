package cuda

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"lethe/nn"
)

// GPU benchmarks, run by scripts/gpu-check.sh beside the same models in
// PyTorch (scripts/bench_torch_gpu.py). Without a GPU they skip. Each
// reports ms/step; warm-up steps (cuDNN's algorithm search, the first
// allocations) are excluded.

func benchBatch(n, c, h, w, classes int) *nn.Batch {
	r := rand.New(rand.NewPCG(5, 6))
	bt := &nn.Batch{N: n, C: c, H: h, W: w, X: make([]float32, n*c*h*w), Y: make([]int32, n)}
	for i := range bt.X {
		bt.X[i] = float32(r.NormFloat64())
	}
	for i := range bt.Y {
		bt.Y[i] = int32(r.IntN(classes))
	}
	return bt
}

func benchTrainStep(b *testing.B, cfg nn.Config, batch int) {
	be := gpuBackend(b, Options{})
	m, err := nn.New(be, cfg)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := nn.NewTrainer(m, nn.OptimConfig{Name: "sgd", LR: 0.1, Momentum: 0.9, WeightDecay: 5e-4}, 0, nn.OrthoExclude{})
	if err != nil {
		b.Fatal(err)
	}
	bt := benchBatch(batch, cfg.InC, cfg.InH, cfg.InW, cfg.Classes)
	for i := 0; i < 5; i++ {
		if _, _, err := tr.Step(bt, 0.1, 1); err != nil {
			b.Fatal(err)
		}
	}
	if err := be.Sync(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		// Step reads the loss, so every step has finished when it returns.
		if _, _, err := tr.Step(bt, 0.1, 1); err != nil {
			b.Fatal(err)
		}
	}
	if err := be.Sync(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/step")
	b.ReportMetric(float64(be.MemStats().PeakBytes)/(1<<20), "peakMiB")
	for _, f := range be.Fallbacks() {
		b.Logf("library failure worked around (the timing measures the fallback): %s", f)
	}
}

// BenchmarkGPUResNet18Step: ResNet-18 (CIFAR stem), batch 256 of 3x32x32,
// SGD momentum, fp32 with TF32 convolutions (PyTorch's defaults).
func BenchmarkGPUResNet18Step(b *testing.B) {
	benchTrainStep(b, nn.Config{Arch: "resnet18", Classes: 10, InC: 3, InH: 32, InW: 32, Width: 1, Seed: 1}, 256)
}

// BenchmarkGPUSmallCNNStep: SmallCNN, batch 64 of 1x28x28.
func BenchmarkGPUSmallCNNStep(b *testing.B) {
	benchTrainStep(b, nn.Config{Arch: "smallcnn", Classes: 10, InC: 1, InH: 28, InW: 28, Width: 1, Seed: 1}, 64)
}

// BenchmarkGPUOSP times one OSP pass as METHODS.md defines it, on
// ResNet-18 for CIFAR-10: an eval-mode forward pass of 64 forget and 64
// retained samples with the per-filter spatial maxima tapped at every
// convolution, A_k and Δ_k per filter, ranking, and rank-adaptive
// attenuation of the top ρ = 5% filters (s = 0.4, linear schedule), device
// synchronised. (The unlearn package will own OSP; this measures the same
// GPU work.)
func BenchmarkGPUOSP(b *testing.B) {
	be := gpuBackend(b, Options{})
	cfg := nn.Config{Arch: "resnet18", Classes: 10, InC: 3, InH: 32, InW: 32, Width: 1, Seed: 1}
	m, err := nn.New(be, cfg)
	if err != nil {
		b.Fatal(err)
	}
	const nf, nr = 64, 64
	bt := benchBatch(nf+nr, 3, 32, 32, 10)
	maxima := make([]nn.Buf, len(m.Units))
	host := make([][]float32, len(m.Units))
	tap := func(unit int, point nn.TapPoint, y *nn.Tensor) {
		if point != nn.TapConv {
			return
		}
		n, k, hw := y.Shape[0], y.Shape[1], y.Shape[2]*y.Shape[3]
		if maxima[unit] == nil {
			maxima[unit] = be.Alloc(n * k)
			host[unit] = make([]float32, n*k)
		}
		be.ChannelMax(y.Data, n, k, hw, maxima[unit])
	}
	pass := func() {
		x, _, err := m.Input(bt)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Forward(&nn.Ctx{B: be, Tap: tap}, x); err != nil {
			b.Fatal(err)
		}
		for u, unit := range m.Units {
			be.Download(host[u], maxima[u])
			k := unit.Conv.Out
			delta := make([]float64, k)
			for f := 0; f < k; f++ {
				var af, ar float64
				for i := 0; i < nf; i++ {
					af += float64(host[u][i*k+f])
				}
				for i := nf; i < nf+nr; i++ {
					ar += float64(host[u][i*k+f])
				}
				delta[f] = af/nf - ar/nr
			}
			order := make([]int, k)
			for i := range order {
				order[i] = i
			}
			sort.SliceStable(order, func(i, j int) bool { return delta[order[i]] > delta[order[j]] })
			sel := int(math.Ceil(0.05 * float64(k)))
			per := unit.Conv.Weight.Numel() / k
			for r := 0; r < sel; r++ {
				s := 0.4 * (1 - float64(r)/float64(sel))
				be.Scale(unit.Conv.Weight.Value.Data.Slice(order[r]*per, per), float32(max(1-s, 0.01)))
			}
		}
		if err := be.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		pass()
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		pass()
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/pass")
}
