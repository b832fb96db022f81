package unlearn

import (
	"context"
	"fmt"

	"lethe/nn"
)

// Retrain is the gold standard (METHODS.md, Baselines): a model of the
// same configuration, initialised from the same seed, trained from
// scratch with the original recipe on D_r only. It is deterministic for
// a (model configuration, recipe, dataset, forget set, Request.Seed), so
// the runner can cache it once and share it between comparisons.
type Retrain struct {
	// watch, when set, wraps the training data; tests use it to see every
	// batch the method loads.
	watch func(nn.Dataset) nn.Dataset
}

func init() { register("retrain", newRetrain) }

func newRetrain(p Params) (Method, error) {
	if err := validate("retrain", p); err != nil {
		return nil, err
	}
	return &Retrain{}, nil
}

func (r *Retrain) Name() string { return "retrain" }

// RetrainRecord is what Retrain did.
type RetrainRecord struct {
	Samples int             `json:"samples"` // |D_r|
	Epochs  []nn.EpochStats `json:"epochs"`
}

// Unlearn trains the fresh model. The data order and augmentation draws
// come from req.Seed (the feed's seed), the initialisation from the
// original model's configuration seed.
func (r *Retrain) Unlearn(ctx context.Context, req *Request) (*Result, error) {
	split, err := beginSplit("retrain", req)
	if err != nil {
		return nil, err
	}
	if req.Recipe == nil {
		return nil, fmt.Errorf("retrain: the request carries no training recipe (Request.Recipe): retrain reuses the recipe the model was trained with")
	}
	recipe := *req.Recipe
	recipe.Eval = nil // evaluation is the caller's business, outside the clock
	recipe.Progress = nil
	if req.Progress != nil {
		recipe.Progress = func(p nn.TrainProgress) {
			req.Progress("retrain", (p.Epoch-1)*p.StepsPerEpoch+p.Step, p.Epochs*p.StepsPerEpoch)
		}
	}
	if err := recipe.Validate(); err != nil {
		return nil, fmt.Errorf("retrain: recipe: %w", err)
	}
	m, err := freshModel(req.Model, req.Model.Config.Seed)
	if err != nil {
		return nil, fmt.Errorf("retrain: %w", err)
	}
	var train nn.Dataset = split.Dr.TrainFeed(req.Seed)
	if r.watch != nil {
		train = r.watch(train)
	}
	rec := &RetrainRecord{Samples: split.Dr.Len()}
	secs, err := timed(m.Backend(), func() error {
		stats, err := nn.Train(ctx, m, train, recipe)
		rec.Epochs = stats
		return err
	})
	if err != nil {
		m.Release()
		return nil, fmt.Errorf("retrain: %w", err)
	}
	return &Result{Model: m, Method: "retrain", Seconds: secs, Details: rec}, nil
}
