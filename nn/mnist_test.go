package nn_test

import (
	"context"
	"testing"

	"lethe/data"
	"lethe/nn"
)

// SmallCNN reaches > 97% on the MNIST test set after three epochs (the
// built-in dataset: nothing to download beyond the Go module). A
// few minutes on 2 cores.
func TestSmallCNNLearnsMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST for three epochs")
	}
	ds, err := data.Open(data.Config{Kind: "mnist"})
	if err != nil {
		t.Fatal(err)
	}
	b := backend(t)
	m, err := nn.New(b, nn.Config{Arch: "smallcnn", Classes: 10, InC: 1, InH: 28, InW: 28, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := nn.TrainConfig{Epochs: 3, BatchSize: 64, OrthoLambda: 1e-3,
		Optim:    nn.OptimConfig{Name: "sgd", LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4},
		Schedule: nn.ScheduleConfig{Name: "cosine"}}
	if _, err := nn.Train(context.Background(), m, ds.Train.TrainFeed(1), cfg); err != nil {
		t.Fatal(err)
	}
	r, err := nn.Evaluate(context.Background(), m, ds.Test.EvalFeed(), 500)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MNIST test accuracy %.4f", r.Accuracy())
	if r.Accuracy() <= 0.97 {
		t.Fatalf("MNIST test accuracy %.4f, want > 0.97", r.Accuracy())
	}
}
