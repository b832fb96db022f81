package unlearn

import (
	"context"
	"fmt"

	"lethe/data"
	"lethe/nn"
)

// RandomLabels is the amnesiac baseline (METHODS.md, More baselines): every
// image of D_f gets a label drawn uniformly among the other classes,
// once, and the model trains on those images mixed with D_r (Adam).
type RandomLabels struct {
	Epochs    int
	LR        float64
	BatchSize int
}

func init() { register("random_labels", newRandomLabels) }

func newRandomLabels(p Params) (Method, error) {
	if err := validate("random_labels", p); err != nil {
		return nil, err
	}
	g := &getter{method: "random_labels", p: p}
	r := &RandomLabels{Epochs: g.int("epochs"), LR: g.float("lr"), BatchSize: g.int("batch_size")}
	if g.err != nil {
		return nil, g.err
	}
	return r, nil
}

func (r *RandomLabels) Name() string { return "random_labels" }

// Unlearn trains a copy of req.Model on the relabelled mixture.
func (r *RandomLabels) Unlearn(ctx context.Context, req *Request) (*Result, error) {
	split, err := beginSplit("random_labels", req)
	if err != nil {
		return nil, err
	}
	feed, err := relabelledMixture(split, req, req.Seed+51)
	if err != nil {
		return nil, fmt.Errorf("random_labels: %w", err)
	}
	m, err := req.Model.Clone()
	if err != nil {
		return nil, err
	}
	rec := &TrainingRecord{}
	secs, err := timed(m.Backend(), func() error {
		return trainPlain(ctx, req, m, nn.OptimConfig{Name: "adam", LR: r.LR}, feed, "random labels", r.Epochs, r.BatchSize, 1, rec)
	})
	if err != nil {
		m.Release()
		return nil, fmt.Errorf("random_labels: %w", err)
	}
	return &Result{Model: m, Method: "random_labels", Seconds: secs, Details: rec}, nil
}

// relabelledMixture is the training feed of D_f ∪ D_r in which every D_f
// image carries a random label other than its own (drawn once, with
// seed), shuffled and augmented.
func relabelledMixture(split data.Unlearning, req *Request, seed uint64) (*data.Feed, error) {
	mix, err := split.Dr.Union(split.Df)
	if err != nil {
		return nil, err
	}
	labels := randomOtherLabels(mix, split.Forget, req.Data.NumClasses(), seed)
	return mix.Feed(data.FeedOptions{Shuffle: true, Augment: true, Seed: seed + 1, Labels: labels})
}
