package cuda

import (
	"math/rand/v2"
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
