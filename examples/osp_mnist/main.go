// Command osp_mnist is the acceptance experiment of OSP at MNIST scale:
// SmallCNN trained with and without the orthogonality term, then for every
// digit the original model, single-pass OSP at the paper's setting
// (ρ = 0.05, s = 0.4), the best single-pass setting of a grid, and dynamic
// OSP (rounds until the forget samples reach 0%) followed by two epochs of
// fine-tuning on D_r, each followed by pruning back to 0%. It prints Markdown tables of
// Acc_f and Acc_r on the test split.
//
//	go run ./examples/osp_mnist                    # both models, every digit
//	go run ./examples/osp_mnist -digits 0,3 -grid=false
//
// Trained models are cached (-cache) so that reruns only unlearn.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"lethe/data"
	"lethe/nn"
	"lethe/nn/device"
	"lethe/unlearn"
)

type options struct {
	epochs    int
	lambda    float64
	cache     string
	digits    []int
	grid      bool
	device    string
	ftEpochs  int
	dynParams unlearn.Params
}

func main() {
	var o options
	digits := flag.String("digits", "0,1,2,3,4,5,6,7,8,9", "digits to forget, one at a time")
	flag.IntVar(&o.epochs, "epochs", 3, "training epochs")
	flag.Float64Var(&o.lambda, "lambda", 1e-3, "orthogonality weight of the orthogonal model (the plain one has 0)")
	flag.StringVar(&o.cache, "cache", filepath.Join(os.TempDir(), "lethe-osp-mnist"), "directory for trained checkpoints")
	flag.BoolVar(&o.grid, "grid", true, "search a grid for the best single-pass setting")
	flag.StringVar(&o.device, "device", "auto", "cpu, cuda or auto")
	flag.IntVar(&o.ftEpochs, "ft-epochs", 2, "fine-tuning epochs after dynamic OSP (the acceptance allows 2)")
	flag.Parse()
	for _, s := range strings.Split(*digits, ",") {
		d, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || d < 0 || d > 9 {
			fmt.Fprintf(os.Stderr, "error: -digits: %q is not a digit\n", s)
			os.Exit(2)
		}
		o.digits = append(o.digits, d)
	}
	// Dynamic OSP: the paper's ρ and s per round over z-scored Δ of the
	// whole network (scope global), attenuating batch norm too, measured at
	// the convolutions on 256 + 256 samples, rounds until those forget
	// samples are at 0%; then fine-tuning with the attenuated filters
	// frozen and batch norm's statistics fixed (in training mode batch norm
	// would renormalise the attenuated convolutions back to full strength),
	// one epoch at a time, pruning again after each until the forget
	// samples are back at 0% (the repair brings part of the forget class
	// back through the classifier).
	o.dynParams = unlearn.Params{"ratio": 0.05, "strength": 0.4, "bn": "scale", "tap": "conv", "scope": "global",
		"n_forget": 256, "n_retain": 256, "rounds": 50, "target": 0.0,
		"finetune_epochs": o.ftEpochs, "finetune_lr": 0.001, "finetune_patience": 0, "finetune_freeze": true, "finetune_bn": "frozen",
		"finetune_reprune": true, "finetune_reprune_each_epoch": true}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx := context.Background()
	b, err := device.Open(o.device)
	if err != nil {
		return err
	}
	ds, err := data.Open(data.Config{Kind: "mnist"})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.cache, 0o755); err != nil {
		return err
	}
	fmt.Printf("Device %s. Dynamic OSP: %v\n", b.Name(), o.dynParams)
	for _, lam := range []float64{o.lambda, 0} {
		m, err := trained(ctx, b, ds, lam, o.epochs, o.cache)
		if err != nil {
			return err
		}
		fmt.Printf("\n### SmallCNN, λ = %g (%d epochs; Σ||WWᵀ−I||² = %.1f)\n\n", lam, o.epochs, nn.NewOrthogonality(m, 1, nn.OrthoExclude{}).Deviation(b))
		fmt.Println("| digit | original | OSP ρ=0.05 s=0.4 | best single pass | setting | dynamic OSP + FT | rounds | OSP time | FT time |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|")
		worst := [2]float64{0, 0}
		for _, d := range o.digits {
			row, fDyn, rDrop, err := forgetDigit(ctx, m, ds, d, o)
			if err != nil {
				return err
			}
			worst[0], worst[1] = math.Max(worst[0], fDyn), math.Max(worst[1], rDrop)
			fmt.Println(row)
		}
		fmt.Printf("\nDynamic OSP + FT: worst Acc_f %.1f%%, largest Acc_r drop %.1f points (acceptance: ≤ 2%% and ≤ 2 points)\n", 100*worst[0], 100*worst[1])
		m.Release()
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
	if _, err := nn.Train(ctx, m, ds.Train.TrainFeed(1), cfg); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "trained λ=%g in %.0fs\n", lambda, time.Since(start).Seconds())
	return m, m.Save(path, nil)
}

// accs returns Acc_f and Acc_r on the test split.
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

type outcome struct {
	f, r    float64
	res     *unlearn.Result
	setting string
}

func osp(ctx context.Context, m *nn.Model, ds *data.Dataset, digit int, p unlearn.Params) (outcome, error) {
	meth, err := unlearn.New("osp", p)
	if err != nil {
		return outcome{}, err
	}
	res, err := meth.Unlearn(ctx, &unlearn.Request{Model: m, Forget: []int{digit}, Data: ds, Seed: 1})
	if err != nil {
		return outcome{}, err
	}
	defer res.Model.Release()
	f, r, err := accs(ctx, res.Model, ds, digit)
	return outcome{f: f, r: r, res: res}, err
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

// forgetDigit returns the table row, the dynamic OSP's Acc_f and its
// Acc_r drop.
func forgetDigit(ctx context.Context, m *nn.Model, ds *data.Dataset, d int, o options) (string, float64, float64, error) {
	f0, r0, err := accs(ctx, m, ds, d)
	if err != nil {
		return "", 0, 0, err
	}
	paper, err := osp(ctx, m, ds, d, unlearn.Params{"ratio": 0.05, "strength": 0.4})
	if err != nil {
		return "", 0, 0, err
	}
	best := outcome{f: math.NaN(), setting: "-"}
	if o.grid {
		// Best trade-off: the lowest Acc_f among settings that keep Acc_r
		// within 2 points of the original; if none does, the largest
		// Acc_f drop minus Acc_r drop.
		bestKept, bestOther := math.Inf(1), math.Inf(-1)
		var kept, other outcome
		for _, ratio := range []float64{0.05, 0.1, 0.2} {
			for _, s := range []float64{0.4, 1.0} {
				for _, tap := range []string{"conv", "relu"} {
					for _, bn := range []string{"keep", "scale"} {
						out, err := osp(ctx, m, ds, d, unlearn.Params{"ratio": ratio, "strength": s, "tap": tap, "bn": bn})
						if err != nil {
							return "", 0, 0, err
						}
						out.setting = fmt.Sprintf("ρ=%g s=%g tap=%s bn=%s", ratio, s, tap, bn)
						if r0-out.r <= 0.02 && out.f < bestKept {
							bestKept, kept = out.f, out
						}
						if score := (f0 - out.f) - (r0 - out.r); score > bestOther {
							bestOther, other = score, out
						}
					}
				}
			}
		}
		best = other
		if !math.IsInf(bestKept, 1) {
			best = kept
		}
	}
	dyn, err := osp(ctx, m, ds, d, o.dynParams)
	if err != nil {
		return "", 0, 0, err
	}
	rec := dyn.res.Details.(*unlearn.OSPRecord)
	bestCell := "-"
	if !math.IsNaN(best.f) {
		bestCell = pct(best.f) + " / " + pct(best.r)
	}
	row := fmt.Sprintf("| %d | %s / %s | %s / %s | %s | %s | %s / %s | %d | %.0f ms | %.0f s |", d, pct(f0), pct(r0),
		pct(paper.f), pct(paper.r), bestCell, best.setting, pct(dyn.f), pct(dyn.r), len(rec.Rounds),
		dyn.res.Seconds*1000, dyn.res.FinetuneSeconds)
	return row, dyn.f, r0 - dyn.r, nil
}
