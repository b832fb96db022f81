package unlearn

import (
	"context"
	"fmt"
	"time"

	"lethe/nn"
)

// Finetune is the simplest baseline (METHODS.md, More baselines): keep
// training the model on D_r alone (SGD with momentum and weight decay, a
// constant learning rate) and let it drift away from D_f.
type Finetune struct {
	Epochs    int
	Optim     nn.OptimConfig
	BatchSize int
}

func init() { register("finetune", newFinetune) }

func newFinetune(p Params) (Method, error) {
	if err := validate("finetune", p); err != nil {
		return nil, err
	}
	g := &getter{method: "finetune", p: p}
	f := &Finetune{
		Epochs:    g.int("epochs"),
		Optim:     nn.OptimConfig{Name: "sgd", LR: g.float("lr"), Momentum: g.float("momentum"), WeightDecay: g.float("weight_decay")},
		BatchSize: g.int("batch_size"),
	}
	if g.err != nil {
		return nil, g.err
	}
	return f, nil
}

func (f *Finetune) Name() string { return "finetune" }

// Unlearn fine-tunes a copy of req.Model on D_r.
func (f *Finetune) Unlearn(ctx context.Context, req *Request) (*Result, error) {
	split, err := beginSplit("finetune", req)
	if err != nil {
		return nil, err
	}
	m, err := req.Model.Clone()
	if err != nil {
		return nil, err
	}
	rec := &TrainingRecord{}
	secs, err := timed(m.Backend(), func() error {
		return trainPlain(ctx, req, m, f.Optim, split.Dr.TrainFeed(req.Seed+31), "finetune", f.Epochs, f.BatchSize, 1, rec)
	})
	if err != nil {
		m.Release()
		return nil, fmt.Errorf("finetune: %w", err)
	}
	return &Result{Model: m, Method: "finetune", Seconds: secs, Details: rec}, nil
}

// trainPlain runs epochs of cross-entropy steps (sign +1 descends, -1
// ascends) over ds with a constant learning rate, recording each epoch
// under phase.
func trainPlain(ctx context.Context, req *Request, m *nn.Model, optim nn.OptimConfig, ds nn.Dataset, phase string, epochs, batchSize int, sign float32, rec *TrainingRecord) error {
	tr, err := nn.NewTrainer(m, optim, 0, nn.OrthoExclude{})
	if err != nil {
		return err
	}
	defer tr.Release()
	for e := 0; e < epochs; e++ {
		t0 := time.Now()
		loss, err := trainEpoch(ctx, tr, ds, e, batchSize, optim.LR, sign)
		if err != nil {
			return fmt.Errorf("%s epoch %d: %w", phase, e+1, err)
		}
		rec.Epochs = append(rec.Epochs, EpochLoss{Phase: phase, Epoch: e + 1, LR: optim.LR, Loss: float64(sign) * loss, Seconds: time.Since(t0).Seconds()})
		progress(req, phase, e+1, epochs)
	}
	return nil
}
