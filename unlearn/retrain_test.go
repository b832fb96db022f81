package unlearn

import (
	"context"
	"slices"
	"strings"
	"testing"

	"lethe/data"
	"lethe/nn"
)

// watchedFeed records the split index and label of every image a loader
// of the wrapped feed hands out.
type watchedFeed struct {
	*data.Feed
	indices []int
	labels  []int32
}

func (w *watchedFeed) Batches(epoch, batchSize int) nn.Loader {
	return &watchedLoader{w: w, ld: w.Feed.Loader(epoch, batchSize)}
}

type watchedLoader struct {
	w  *watchedFeed
	ld *data.Loader
}

func (l *watchedLoader) Next(b *nn.Batch) bool {
	if !l.ld.Next(b) {
		return false
	}
	for k, pos := range l.ld.Positions() {
		l.w.indices = append(l.w.indices, l.w.Feed.Subset().Index(int(pos)))
		l.w.labels = append(l.w.labels, b.Y[k])
	}
	return true
}

func (l *watchedLoader) Err() error   { return l.ld.Err() }
func (l *watchedLoader) Close() error { return l.ld.Close() }

func TestRetrainNeverSeesForgetSamples(t *testing.T) {
	f := fixture(t)
	forget := []int{2, 7}
	split, err := f.ds.Unlearning(forget...)
	if err != nil {
		t.Fatal(err)
	}
	var watched *watchedFeed
	r := mustNew(t, "retrain", nil).(*Retrain)
	r.watch = func(ds nn.Dataset) nn.Dataset {
		watched = &watchedFeed{Feed: ds.(*data.Feed)}
		return watched
	}
	res, err := r.Unlearn(context.Background(), f.request(forget...))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Model.Release()
	if watched == nil || len(watched.indices) == 0 {
		t.Fatal("retrain loaded no data through the watched feed")
	}
	df := map[int]bool{}
	for _, i := range split.Df.Indices() {
		df[i] = true
	}
	for k, i := range watched.indices {
		if df[i] {
			t.Fatalf("retrain loaded training image %d, a sample of D_f", i)
		}
		if y := watched.labels[k]; y == 2 || y == 7 {
			t.Fatalf("retrain trained on a sample labelled %d", y)
		}
	}
	// Every epoch is one full pass over D_r.
	if got, want := len(watched.indices), f.recipe.Epochs*split.Dr.Len(); got != want {
		t.Errorf("loaded %d images, want %d epochs × |D_r| = %d", got, f.recipe.Epochs, want)
	}
	seen := slices.Clone(watched.indices[:split.Dr.Len()])
	slices.Sort(seen)
	if !slices.Equal(seen, split.Dr.Indices()) {
		t.Error("the first epoch is not a pass over exactly D_r")
	}
	rec := res.Details.(*RetrainRecord)
	if len(rec.Epochs) != f.recipe.Epochs || rec.Samples != split.Dr.Len() {
		t.Errorf("record: %d epochs, %d samples", len(rec.Epochs), rec.Samples)
	}
}

// Retrain is a fresh model trained by the recipe: deterministic for a
// seed, the same as training a freshly initialised model on D_r by hand,
// and nothing like the original.
func TestRetrainIsTheRecipeOnRetainedData(t *testing.T) {
	f := fixture(t)
	req := f.request(4)
	run := func() []float32 {
		res, err := mustNew(t, "retrain", nil).Unlearn(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Model.Release()
		return snapshot(res.Model)
	}
	a, b := run(), run()
	if !slices.Equal(a, b) {
		t.Fatal("two retrains with the same seed differ")
	}
	split, _ := f.ds.Unlearning(4)
	m, err := nn.New(f.b, f.model.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	if _, err := nn.Train(context.Background(), m, split.Dr.TrainFeed(req.Seed), f.recipe); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(snapshot(m), a) {
		t.Error("retrain differs from training a fresh model on D_r with the recipe")
	}
	if slices.Equal(a, snapshot(f.model)) {
		t.Error("retrain returned the original model")
	}
	// Without the recipe there is nothing to retrain with.
	req.Recipe = nil
	if _, err := mustNew(t, "retrain", nil).Unlearn(context.Background(), req); err == nil || !strings.Contains(err.Error(), "recipe") {
		t.Errorf("no recipe: %v", err)
	}
}
