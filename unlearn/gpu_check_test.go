//go:build cuda_check

// The GPU check of the baselines: every method on the CUDA backend against
// the CPU, and the MNIST table on the GPU. It needs nn/cuda (branch cuda)
// and a GPU: go test -tags cuda_check -run TestGPU -v ./unlearn
// (LETHE_MNIST pointing at the MNIST IDX files where Go has no module
// cache). Without a GPU the tests skip.

package unlearn

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"lethe/data"
	"lethe/metrics"
	"lethe/nn"
	"lethe/nn/cuda"
)

func gpuOrSkip(t *testing.T) nn.Backend {
	g, err := cuda.New(cuda.Options{TF32: cuda.TF32Off})
	if err != nil {
		t.Skip(err)
	}
	return g
}

func toBackend(t *testing.T, m *nn.Model, b nn.Backend) *nn.Model {
	p := filepath.Join(t.TempDir(), "m.safetensors")
	if err := m.Save(p, nil); err != nil {
		t.Fatal(err)
	}
	g, err := nn.LoadModel(b, p)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func accs(t *testing.T, m *nn.Model, split data.Unlearning) (float64, float64) {
	_, af := evalLoss(t, m, split.Tf)
	_, ar := evalLoss(t, m, split.Tr)
	return af, ar
}

// Every method on the GPU against the same method on the CPU.
func TestGPUBaselinesMatchCPU(t *testing.T) {
	gpu := gpuOrSkip(t)
	f := fixture(t)
	gm := toBackend(t, f.model, gpu)
	split, _ := f.ds.Unlearning(0)
	var names []string
	for n := range cheap {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		cpuRes, err := mustNew(t, name, cheap[name]).Unlearn(context.Background(), f.request(0))
		if err != nil {
			t.Fatalf("%s cpu: %v", name, err)
		}
		req := f.request(0)
		req.Model = gm
		gpuRes, err := mustNew(t, name, cheap[name]).Unlearn(context.Background(), req)
		if err != nil {
			t.Errorf("%s gpu: %v", name, err)
			continue
		}
		a, b := values(cpuRes.Model), values(gpuRes.Model)
		maxd, maxv := 0.0, 0.0
		for i := range a {
			maxd = math.Max(maxd, math.Abs(float64(a[i]-b[i])))
			maxv = math.Max(maxv, math.Abs(float64(a[i])))
		}
		cf, cr := accs(t, cpuRes.Model, split)
		gf, gr := accs(t, gpuRes.Model, split)
		t.Logf("%-16s max|Δθ| %.2e (max|θ| %.2f)  cpu Acc_f/Acc_r %.2f/%.2f  gpu %.2f/%.2f  gpu time %.1f ms (+%.1f ms)",
			name, maxd, maxv, cf, cr, gf, gr, 1000*gpuRes.Seconds, 1000*gpuRes.FinetuneSeconds)
		if !(gpuRes.Seconds > 0) || math.Abs(cf-gf) > 0.2 || math.Abs(cr-gr) > 0.2 {
			t.Errorf("%s: gpu result differs from cpu", name)
		}
		if name == "ssd" {
			cd, gd := cpuRes.Details.(*SSDRecord).Dampened, gpuRes.Details.(*SSDRecord).Dampened
			t.Logf("ssd dampened: cpu %d gpu %d", cd, gd)
		}
		cpuRes.Model.Release()
		gpuRes.Model.Release()
	}
	gm.Release()
}

// Full MNIST on the GPU: train SmallCNN (λ 1e-3, 1 epoch), then OSP and
// SSD times, then (time permitting) every method with defaults.
func TestGPUMNISTTable(t *testing.T) {
	gpu := gpuOrSkip(t)
	ctx := context.Background()
	ds, err := data.Open(data.Config{Kind: "mnist"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := nn.New(gpu, nn.Config{Arch: "smallcnn", Classes: 10, InC: 1, InH: 28, InW: 28, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	recipe := nn.TrainConfig{Epochs: 1, BatchSize: 64, OrthoLambda: 1e-3,
		Optim:    nn.OptimConfig{Name: "sgd", LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4},
		Schedule: nn.ScheduleConfig{Name: "cosine"}}
	t0 := time.Now()
	if _, err := nn.Train(ctx, m, ds.Train.TrainFeed(1), recipe); err != nil {
		t.Fatal(err)
	}
	out := os.Getenv("OUT")
	w := os.Stdout
	if out != "" {
		fh, err := os.Create(filepath.Join(out, "gpu-table.md"))
		if err == nil {
			defer fh.Close()
			w = fh
		}
	}
	fmt.Fprintf(w, "trained in %.1fs on %s\n\n| method | Acc_f | Acc_r | MIA | time | fine-tune |\n|---|---|---|---|---|---|\n", time.Since(t0).Seconds(), gpu.Name())
	eval := func(mm *nn.Model) string {
		outs := func(s data.Subset) metrics.Outputs {
			var probs []float32
			var labels []int32
			if err := nn.Predict(ctx, mm, s.EvalFeed(), 1000, func(p []float32, y []int32) error {
				probs = append(probs, p...)
				labels = append(labels, y...)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			o, err := metrics.NewOutputs(probs, labels, 10)
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		tr, te := outs(ds.Train), outs(ds.Test)
		af, ar, _ := metrics.ForgetRetainAccuracy(te, []int{0})
		mia, err := metrics.MembershipInference(metrics.AttackSVMConfidence, tr, te, []int{0}, metrics.MIAOptions{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%.2f%% | %.2f%% | %.3f", 100*af, 100*ar, mia.Value)
	}
	fmt.Fprintf(w, "| Original | %s | – | – |\n", eval(m))
	rowsToRun := []struct {
		label, name string
		p           Params
	}{
		{"OSP", "osp", nil}, {"OSP (warm)", "osp", nil}, {"SSD", "ssd", nil}, {"OSP dynamic", "osp", Params{"rounds": 50, "target": 0.0}},
		{"Retrain", "retrain", nil}, {"EMNI", "emni", nil}, {"Bad Teacher", "bad_teacher", nil}, {"NegGrad", "neggrad", nil},
		{"Boundary Shrink", "boundary_shrink", nil}, {"Random labels", "random_labels", nil}, {"SCRUB", "scrub", nil},
		{"Finetune", "finetune", nil}, {"TF-IDF", "tfidf", nil}, {"SalUn", "salun", nil},
	}
	times := map[string]float64{}
	for _, r := range rowsToRun {
		res, err := mustNew(t, r.name, r.p).Unlearn(ctx, &Request{Model: m, Forget: []int{0}, Data: ds, Recipe: &recipe, Seed: 1})
		if err != nil {
			t.Errorf("%s: %v", r.label, err)
			continue
		}
		times[r.label] = res.Seconds
		fmt.Fprintf(w, "| %s | %s | %.4f s | %.4f s |\n", r.label, eval(res.Model), res.Seconds, res.FinetuneSeconds)
		res.Model.Release()
		if r.label == "SSD" {
			fmt.Fprintf(w, "\nSSD / OSP: %.4f / %.4f = %.0fx (OSP warm: %.0fx)\n\n", times["SSD"], times["OSP"], times["SSD"]/times["OSP"], times["SSD"]/times["OSP (warm)"])
		}
	}
}
