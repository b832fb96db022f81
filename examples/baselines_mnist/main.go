// Command baselines_mnist is issue 7's acceptance experiment: SmallCNN
// trained on MNIST with the orthogonality term, then every unlearning
// method (OSP and all the baselines, each with its default parameters)
// forgets one digit. For each it prints Acc_f and Acc_r on the test
// split, the svm-confidence membership-inference score on D_f, and the
// unlearning (and fine-tuning) time, then OSP's speed-up over SSD.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"lethe/data"
	"lethe/metrics"
	"lethe/nn"
	"lethe/nn/cpu"
	"lethe/stages"
	"lethe/unlearn"
)

// row is one line of the table: a method name, its parameters (nil: the
// defaults) and a label.
type row struct {
	label, method string
	params        unlearn.Params
}

var rows = []row{
	{"OSP (ρ=0.05, s=0.4, one pass)", "osp", nil},
	{"OSP dynamic (≤50 rounds to Acc_f 0 on the probe)", "osp", unlearn.Params{"rounds": 50, "target": 0.0}},
	{"Retrain", "retrain", nil},
	{"SSD", "ssd", nil},
	{"EMNI (UNSIR)", "emni", nil},
	{"TF-IDF (top scores)", "tfidf", nil},
	{"Finetune", "finetune", nil},
	{"NegGrad", "neggrad", nil},
	{"Random labels", "random_labels", nil},
	{"Bad Teacher", "bad_teacher", nil},
	{"SCRUB", "scrub", nil},
	{"SalUn", "salun", nil},
	{"Boundary Shrink", "boundary_shrink", nil},
}

func main() {
	epochs := flag.Int("epochs", 1, "training epochs of the original model (Retrain uses the same recipe)")
	lambda := flag.Float64("lambda", 1e-3, "orthogonality weight λ of the original model's training")
	cache := flag.String("cache", filepath.Join(os.TempDir(), "lethe-baselines-mnist"), "directory for the trained checkpoint")
	forget := flag.Int("forget", 0, "the digit to forget")
	only := flag.String("methods", "", "comma-separated method names to run (empty: all)")
	seed := flag.Uint64("seed", 1, "seed of the training data order and of every method")
	perClass := flag.Int("per-class", 0, "keep only this many training and test images per class (0: all; a quick smoke run)")
	repeat := flag.Int("repeat", 1, "run each method this many times and report the median time (the machine is shared: timings are noisy)")
	flag.Parse()
	if *repeat < 1 {
		fmt.Fprintln(os.Stderr, "error: -repeat must be at least 1")
		os.Exit(2)
	}
	if err := run(*epochs, *lambda, *cache, *forget, *only, *seed, *perClass, *repeat); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(epochs int, lambda float64, cache string, forget int, only string, seed uint64, perClass, repeat int) error {
	ctx := context.Background()
	b, err := cpu.New(cpu.Options{})
	if err != nil {
		return err
	}
	ds, err := data.Open(data.Config{Kind: "mnist", TrainPerClass: perClass, TestPerClass: perClass})
	if err != nil {
		return err
	}
	recipe := nn.TrainConfig{Epochs: epochs, BatchSize: 64, OrthoLambda: lambda,
		Optim:    nn.OptimConfig{Name: "sgd", LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4},
		Schedule: nn.ScheduleConfig{Name: "cosine"}}
	m, err := trained(ctx, b, ds, recipe, cache, seed, perClass)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	info := b.Info()
	fmt.Printf("## MNIST, SmallCNN (λ = %g, %d epoch(s)), forget digit %d\n\nCPU: %s, %d threads per op, BLAS: %s\n\n",
		lambda, epochs, forget, info.Model, info.Threads, info.BLAS)
	fmt.Println("| method | Acc_f | Acc_r | MIA | unlearning time | fine-tune / repair time |")
	fmt.Println("|---|---|---|---|---|---|")
	line, err := evaluate(ctx, m, ds, forget)
	if err != nil {
		return err
	}
	fmt.Printf("| Original | %s | – | – |\n", line)
	times := map[string]float64{}
	for _, r := range rows {
		if len(want) > 0 && !want[r.method] {
			continue
		}
		meth, err := unlearn.New(r.method, r.params)
		if err != nil {
			return err
		}
		start := time.Now()
		var res *unlearn.Result
		var secs, ftSecs []float64
		for i := 0; i < repeat; i++ {
			if res != nil {
				res.Model.Release()
			}
			res, err = meth.Unlearn(ctx, &unlearn.Request{Model: m, Forget: []int{forget}, Data: ds, Recipe: &recipe, Seed: seed})
			if err != nil {
				return fmt.Errorf("%s: %w", r.label, err)
			}
			secs = append(secs, res.Seconds)
			ftSecs = append(ftSecs, res.FinetuneSeconds)
		}
		res.Seconds, res.FinetuneSeconds = median(secs), median(ftSecs)
		line, err := evaluate(ctx, res.Model, ds, forget)
		res.Model.Release()
		if err != nil {
			return err
		}
		ft := "–"
		if res.FinetuneSeconds > 0 {
			ft = seconds(res.FinetuneSeconds)
		}
		fmt.Printf("| %s | %s | %s | %s |\n", r.label, line, seconds(res.Seconds), ft)
		fmt.Fprintf(os.Stderr, "%s done in %.0fs wall; unlearning times %v\n", r.label, time.Since(start).Seconds(), secs)
		if _, seen := times[r.method]; !seen {
			times[r.method] = res.Seconds
		}
	}
	if osp, ssd := times["osp"], times["ssd"]; osp > 0 && ssd > 0 {
		fmt.Printf("\nSSD / OSP unlearning time: %s / %s = %.0fx (the paper: 172x)\n", seconds(ssd), seconds(osp), ssd/osp)
	}
	return nil
}

// trained loads the checkpoint for the recipe or trains and saves it.
func trained(ctx context.Context, b nn.Backend, ds *data.Dataset, recipe nn.TrainConfig, cache string, seed uint64, perClass int) (*nn.Model, error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(cache, fmt.Sprintf("smallcnn-l%g-e%d-s%d-n%d.safetensors", recipe.OrthoLambda, recipe.Epochs, seed, perClass))
	if m, err := nn.LoadModel(b, path); err == nil {
		fmt.Fprintf(os.Stderr, "loaded %s\n", path)
		return m, nil
	}
	m, err := nn.New(b, nn.Config{Arch: "smallcnn", Classes: 10, InC: 1, InH: 28, InW: 28, Seed: seed})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	stats, err := nn.Train(ctx, m, ds.Train.TrainFeed(seed), recipe)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "trained in %.0fs: %+v\n", time.Since(start).Seconds(), stats[len(stats)-1])
	return m, m.Save(path, nil)
}

// evaluate formats Acc_f, Acc_r (test split) and the svm-confidence MIA
// on D_f.
func evaluate(ctx context.Context, m *nn.Model, ds *data.Dataset, forget int) (string, error) {
	outputs := func(s data.Subset) (metrics.Outputs, error) {
		return stages.Predict(ctx, m, s.EvalFeed(), 500)
	}
	train, err := outputs(ds.Train)
	if err != nil {
		return "", err
	}
	test, err := outputs(ds.Test)
	if err != nil {
		return "", err
	}
	accF, accR, err := metrics.ForgetRetainAccuracy(test, []int{forget})
	if err != nil {
		return "", err
	}
	mia, err := metrics.MembershipInference(metrics.AttackSVMConfidence, train, test, []int{forget}, metrics.MIAOptions{Seed: 1})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%.2f%% | %.2f%% | %.3f", 100*accF, 100*accR, mia.Value), nil
}

// median of the repeated timings (the upper one of an even count).
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func seconds(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.1f ms", 1000*s)
	}
	return fmt.Sprintf("%.1f s", s)
}
