// Command osp_mnist is issue 4's acceptance experiment: SmallCNN on MNIST,
// trained with and without the orthogonality term, then for every digit
// the original model, single-pass OSP at the paper's setting, the best
// single-pass setting of a small grid, and dynamic OSP followed by
// fine-tuning. It prints Acc_f and Acc_r on the test split.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"lethe/data"
	"lethe/nn"
	"lethe/nn/cpu"
	"lethe/unlearn"
)

func main() {
	epochs := flag.Int("epochs", 2, "training epochs")
	lambda := flag.Float64("lambda", 1e-3, "orthogonality weight of the orthogonal model")
	cache := flag.String("cache", filepath.Join(os.TempDir(), "lethe-osp-mnist"), "directory for trained checkpoints")
	digits := flag.String("digits", "0,1,2,3,4,5,6,7,8,9", "digits to forget, one at a time")
	ftEpochs := flag.Int("ft-epochs", 2, "fine-tuning epochs after dynamic OSP")
	grid := flag.Bool("grid", true, "search a grid for the best single-pass setting")
	flag.Parse()
	if err := run(*epochs, *lambda, *cache, *digits, *ftEpochs, *grid); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(epochs int, lambda float64, cache, digitList string, ftEpochs int, grid bool) error {
	ctx := context.Background()
	b, err := cpu.New(cpu.Options{})
	if err != nil {
		return err
	}
	ds, err := data.Open(data.Config{Kind: "mnist"})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return err
	}
	var digits []int
	for _, s := range strings.Split(digitList, ",") {
		var d int
		fmt.Sscan(s, &d)
		digits = append(digits, d)
	}
	for _, lam := range []float64{lambda, 0} {
		m, err := trained(ctx, b, ds, lam, epochs, cache)
		if err != nil {
			return err
		}
		fmt.Printf("\n## SmallCNN, λ = %g (%d epochs)\n\n", lam, epochs)
		fmt.Println("| digit | original Acc_f / Acc_r | OSP ρ=0.05 s=0.4 | best single pass (setting) | dynamic OSP (rounds) + FT | OSP time |")
		fmt.Println("|---|---|---|---|---|---|")
		for _, d := range digits {
			row, err := forgetDigit(ctx, m, ds, d, ftEpochs, grid)
			if err != nil {
				return err
			}
			fmt.Println(row)
		}
	}
	return nil
}

func trained(ctx context.Context, b nn.Backend, ds *data.Dataset, lambda float64, epochs int, cache string) (*nn.Model, error) {
	path := filepath.Join(cache, fmt.Sprintf("smallcnn-l%g-e%d.safetensors", lambda, epochs))
	if m, err := nn.LoadModel(b, path); err == nil {
		return m, nil
	}
	m, err := nn.New(b, nn.Config{Arch: "smallcnn", Classes: 10, InC: 1, InH: 28, InW: 28, Seed: 1})
	if err != nil {
		return nil, err
	}
	cfg := nn.TrainConfig{Epochs: epochs, BatchSize: 64, OrthoLambda: lambda,
		Optim:    nn.OptimConfig{Name: "sgd", LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4},
		Schedule: nn.ScheduleConfig{Name: "cosine"}}
	start := time.Now()
	stats, err := nn.Train(ctx, m, ds.Train.TrainFeed(1), cfg)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "trained λ=%g in %.0fs: %+v\n", lambda, time.Since(start).Seconds(), stats[len(stats)-1])
	return m, m.Save(path, nil)
}

func accs(ctx context.Context, m *nn.Model, ds *data.Dataset, digit int) (float64, float64, error) {
	r, err := nn.Evaluate(ctx, m, ds.Test.EvalFeed(), 500)
	if err != nil {
		return 0, 0, err
	}
	var rest []int
	for k := 0; k < 10; k++ {
		if k != digit {
			rest = append(rest, k)
		}
	}
	return r.AccuracyOn([]int{digit}), r.AccuracyOn(rest), nil
}

func osp(ctx context.Context, m *nn.Model, ds *data.Dataset, digit int, p unlearn.Params) (*unlearn.Result, error) {
	meth, err := unlearn.New("osp", p)
	if err != nil {
		return nil, err
	}
	return meth.Unlearn(ctx, &unlearn.Request{Model: m, Forget: []int{digit}, Data: ds, Seed: 1})
}

func forgetDigit(ctx context.Context, m *nn.Model, ds *data.Dataset, d, ftEpochs int, grid bool) (string, error) {
	f0, r0, err := accs(ctx, m, ds, d)
	if err != nil {
		return "", err
	}
	cell := func(p unlearn.Params) (float64, float64, *unlearn.Result, error) {
		res, err := osp(ctx, m, ds, d, p)
		if err != nil {
			return 0, 0, nil, err
		}
		defer res.Model.Release()
		f, r, err := accs(ctx, res.Model, ds, d)
		return f, r, res, err
	}
	pf, pr, pres, err := cell(unlearn.Params{"ratio": 0.05, "strength": 0.4})
	if err != nil {
		return "", err
	}
	best := "-"
	if grid {
		bestScore := math.Inf(-1)
		for _, ratio := range []float64{0.05, 0.1, 0.2, 0.3} {
			for _, s := range []float64{0.4, 0.7, 1.0} {
				for _, tap := range []string{"conv", "relu"} {
					f, r, _, err := cell(unlearn.Params{"ratio": ratio, "strength": s, "tap": tap})
					if err != nil {
						return "", err
					}
					// Trade-off: forget drop minus twice the retain drop.
					if score := (f0 - f) - 2*(r0-r); score > bestScore {
						bestScore = score
						best = fmt.Sprintf("%.1f%% / %.1f%% (ρ=%g s=%g %s)", 100*f, 100*r, ratio, s, tap)
					}
				}
			}
		}
	}
	res, err := osp(ctx, m, ds, d, unlearn.Params{"ratio": 0.05, "strength": 0.4, "rounds": 50, "target": 0.0, "finetune_epochs": ftEpochs, "finetune_patience": 0})
	if err != nil {
		return "", err
	}
	df, dr, err := accs(ctx, res.Model, ds, d)
	if err != nil {
		return "", err
	}
	rec := res.Details.(*unlearn.OSPRecord)
	res.Model.Release()
	return fmt.Sprintf("| %d | %.1f%% / %.1f%% | %.1f%% / %.1f%% | %s | %.1f%% / %.1f%% (%d) | %.1f ms |", d, 100*f0, 100*r0, 100*pf, 100*pr, best,
		100*df, 100*dr, len(rec.Rounds), pres.Seconds*1000), nil
}
