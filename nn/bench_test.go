package nn_test

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"lethe/nn"
)

// Training-step benchmarks: the same steps as scripts/bench_torch_cpu.py
// (SGD with momentum and weight decay, cross-entropy, random data).
// `make bench` runs both and prints the Lethe/PyTorch ratios.

func benchTrainStep(b *testing.B, cfg nn.Config, batch int) {
	be := backend(b)
	m, err := nn.New(be, cfg)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := nn.NewTrainer(m, nn.OptimConfig{Name: "sgd", LR: 0.01, Momentum: 0.9, WeightDecay: 5e-4}, 0, nn.OrthoExclude{})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	bt := &nn.Batch{N: batch, C: cfg.InC, H: cfg.InH, W: cfg.InW, X: randVals(r, batch*cfg.InC*cfg.InH*cfg.InW, 1), Y: make([]int32, batch)}
	for i := range bt.Y {
		bt.Y[i] = int32(r.IntN(cfg.Classes))
	}
	for i := 0; i < 2; i++ { // warm-up: buffers allocated, BLAS paged in
		if _, _, err := tr.Step(bt, 0.01, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := tr.Step(bt, 0.01, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
}

func BenchmarkTrainStepSmallCNN(b *testing.B) {
	benchTrainStep(b, nn.Config{Arch: "smallcnn", Classes: 10, InC: 1, InH: 28, InW: 28}, 64)
}

func BenchmarkTrainStepResNet18(b *testing.B) {
	benchTrainStep(b, nn.Config{Arch: "resnet18", Classes: 10, InC: 3, InH: 32, InW: 32}, 32)
}

// BenchmarkMemoryFlat trains SmallCNN (with the orthogonality term) for
// 200 steps and reports resident memory at step 200 over step 20: buffers
// are reused, so the ratio stays near 1 (target ≤ 1.10).
func BenchmarkMemoryFlat(b *testing.B) {
	for i := 0; i < b.N; i++ {
		be := backend(b)
		cfg := nn.Config{Arch: "smallcnn", Classes: 10, InC: 1, InH: 28, InW: 28}
		m, err := nn.New(be, cfg)
		if err != nil {
			b.Fatal(err)
		}
		tr, err := nn.NewTrainer(m, nn.OptimConfig{Name: "sgd", LR: 0.01, Momentum: 0.9}, 1e-4, nn.OrthoExclude{})
		if err != nil {
			b.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 1))
		bt := &nn.Batch{N: 64, C: 1, H: 28, W: 28, X: randVals(r, 64*784, 1), Y: make([]int32, 64)}
		var rss20, rss200 float64
		for step := 1; step <= 200; step++ {
			if _, _, err := tr.Step(bt, 0.01, 1); err != nil {
				b.Fatal(err)
			}
			switch step {
			case 20:
				rss20 = residentBytes(b)
			case 200:
				rss200 = residentBytes(b)
			}
		}
		b.ReportMetric(rss200/rss20, "rss200/rss20")
		b.ReportMetric(rss200/(1<<20), "MiB@200")
		m.Release()
	}
}

// residentBytes reads the process's resident set size (Linux).
func residentBytes(b testing.TB) float64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Skip("no /proc/self/statm: resident memory is not measurable here")
	}
	f := strings.Fields(string(raw))
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize())
}
