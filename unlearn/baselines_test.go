package unlearn

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"lethe/data"
	"lethe/dsl"
	"lethe/nn"
	"lethe/nn/cpu"
)

// baselineFixture is a SmallCNN at a quarter width trained briefly on 20
// MNIST images per class: big enough for every method to have something
// to forget, small enough that each runs in well under a second.
type baselineFixture struct {
	b      nn.Backend
	ds     *data.Dataset
	model  *nn.Model
	recipe nn.TrainConfig
}

var (
	blOnce sync.Once
	blFix  *baselineFixture
	blErr  error
)

func fixture(t testing.TB) *baselineFixture {
	t.Helper()
	blOnce.Do(func() {
		f := &baselineFixture{}
		var err error
		if f.b, err = cpu.New(cpu.Options{}); err != nil {
			blErr = err
			return
		}
		if f.ds, err = data.Open(data.Config{Kind: "mnist", TrainPerClass: 100, TestPerClass: 10}); err != nil {
			blErr = err
			return
		}
		if f.model, err = nn.New(f.b, nn.Config{Arch: "smallcnn", Classes: 10, InC: 1, InH: 28, InW: 28, Width: 0.25, Seed: 7}); err != nil {
			blErr = err
			return
		}
		f.recipe = nn.TrainConfig{Epochs: 6, BatchSize: 16, OrthoLambda: 1e-3,
			Optim: nn.OptimConfig{Name: "sgd", LR: 0.2, Momentum: 0.9, WeightDecay: 5e-4}, Schedule: nn.ScheduleConfig{Name: "cosine"}}
		if _, err = nn.Train(context.Background(), f.model, f.ds.Train.TrainFeed(1), f.recipe); err != nil {
			blErr = err
			return
		}
		// Methods need a model that knows the classes it is to forget.
		r, err := nn.Evaluate(context.Background(), f.model, f.ds.Train.EvalFeed(), 100)
		if err != nil {
			blErr = err
			return
		}
		if acc := r.Accuracy(); acc < 0.9 {
			blErr = fmt.Errorf("the fixture model reaches %.2f training accuracy; the tests need more than 0.9", acc)
			return
		}
		blFix = f
	})
	if blErr != nil {
		t.Fatal(blErr)
	}
	return blFix
}

func (f *baselineFixture) request(forget ...int) *Request {
	r := f.recipe
	return &Request{Model: f.model, Forget: forget, Data: f.ds, Recipe: &r, Seed: 3}
}

// snapshot copies a model's parameters and running statistics.
func snapshot(m *nn.Model) []float32 {
	b := m.Backend()
	v := make([]float32, m.NumParams()+m.StateValues().Len())
	b.Download(v[:m.NumParams()], m.Values())
	b.Download(v[m.NumParams():], m.StateValues())
	return v
}

func values(m *nn.Model) []float32 {
	v := make([]float32, m.NumParams())
	m.Backend().Download(v, m.Values())
	return v
}

// evalLoss is the mean cross-entropy and the accuracy of m on a subset.
func evalLoss(t *testing.T, m *nn.Model, s data.Subset) (loss, acc float64) {
	t.Helper()
	r, err := nn.Evaluate(context.Background(), m, s.EvalFeed(), 64)
	if err != nil {
		t.Fatal(err)
	}
	return r.Loss, r.Accuracy()
}

func mustNew(t *testing.T, name string, p Params) Method {
	t.Helper()
	m, err := New(name, p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEveryTableMethodIsRegistered(t *testing.T) {
	for _, name := range dsl.MethodNames() {
		m, err := New(name, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if m.Name() != name {
			t.Errorf("New(%q).Name() = %q", name, m.Name())
		}
	}
	if got, want := len(Names()), len(dsl.MethodNames()); got != want {
		t.Errorf("%d registered methods, the table has %d: %v vs %v", got, want, Names(), dsl.MethodNames())
	}
}

func TestBaselineParameterErrors(t *testing.T) {
	cases := []struct {
		method string
		p      Params
		want   string // in the error
	}{
		{"ssd", Params{"alpha": 0}, "alpha"},
		{"ssd", Params{"batch_size": 1.5}, "batch_size"},
		{"ssd", Params{"lambda": "one"}, "lambda"},
		{"salun", Params{"fraction": 1.5}, "fraction"},
		{"tfidf", Params{"prune": "middle"}, "prune"},
		{"tfidf", Params{"batches": 0}, "batches"},
		{"tfidf", Params{"ratio": -0.1}, "ratio"},
		{"tfidf", Params{"finetune_nesterov": "yes"}, "finetune_nesterov"},
		{"tfidf", Params{"finetune_momentum": 0}, "finetune_nesterov"},
		{"neggrad", Params{"variant": "minus"}, "variant"},
		{"emni", Params{"noise_steps": 0}, "noise_steps"},
		{"bad_teacher", Params{"temperature": 0}, "temperature"},
		{"scrub", Params{"lr": math.NaN()}, "lr"},
		{"retrain", Params{"epochs": 3}, "epochs"},
		{"boundary_shrink", Params{"epsilon": -1}, "epsilon"},
	}
	for _, c := range cases {
		_, err := New(c.method, c.p)
		if err == nil {
			t.Errorf("%s %v: no error", c.method, c.p)
			continue
		}
		if !strings.Contains(err.Error(), c.method) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: error %q does not name the method and %s", c.method, c.p, err, c.want)
		}
	}
}

// cheap are parameters that keep every method (OSP included, to check it
// against the same contract) to a fraction of a second on the fixture.
var cheap = map[string]Params{
	"osp":             {"n_forget": 16},
	"retrain":         {},
	"ssd":             {},
	"emni":            {"noise_steps": 5, "noise_copies": 2, "retain_per_class": 5},
	"tfidf":           {"finetune_epochs": 1, "batch_size": 64},
	"finetune":        {"epochs": 1},
	"neggrad":         {"epochs": 1},
	"random_labels":   {"epochs": 1},
	"bad_teacher":     {},
	"scrub":           {"epochs": 2, "max_epochs": 1},
	"salun":           {"epochs": 1},
	"boundary_shrink": {"epochs": 1},
}

func TestBaselinesRunEndToEnd(t *testing.T) {
	f := fixture(t)
	split, err := f.ds.Unlearning(0)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(f.model)
	for name, p := range cheap {
		t.Run(name, func(t *testing.T) {
			req := f.request(0)
			calls := 0
			req.Progress = func(string, int, int) { calls++ }
			res, err := mustNew(t, name, p).Unlearn(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Model.Release()
			if res.Method != name || res.Model == f.model {
				t.Fatalf("result method %q, model is the input: %v", res.Method, res.Model == f.model)
			}
			if !slices.Equal(snapshot(f.model), before) {
				t.Fatal("the input model was modified")
			}
			if !(res.Seconds > 0) || res.FinetuneSeconds < 0 {
				t.Errorf("seconds %v, fine-tuning seconds %v", res.Seconds, res.FinetuneSeconds)
			}
			if calls == 0 {
				t.Error("no progress reported")
			}
			if slices.Equal(values(res.Model), values(f.model)) {
				t.Error("the unlearned model equals the original")
			}
			for _, s := range []data.Subset{split.Tf, split.Tr} {
				if loss, _ := evalLoss(t, res.Model, s); !finite(loss) {
					t.Errorf("test loss %v", loss)
				}
			}
			if _, err := json.Marshal(res.Details); err != nil || res.Details == nil {
				t.Errorf("details %v: %v", res.Details, err)
			}
		})
	}
}

func TestBaselinesRejectBadRequests(t *testing.T) {
	f := fixture(t)
	ctx := context.Background()
	for name, p := range cheap {
		m := mustNew(t, name, p)
		if _, err := m.Unlearn(ctx, &Request{Model: f.model, Forget: []int{10}, Data: f.ds, Recipe: &f.recipe}); err == nil || !strings.Contains(err.Error(), "10") {
			t.Errorf("%s: forget class 10: %v", name, err)
		}
		if _, err := m.Unlearn(ctx, &Request{Model: f.model, Forget: []int{1}, Recipe: &f.recipe}); err == nil || !strings.Contains(err.Error(), "dataset") {
			t.Errorf("%s: no dataset: %v", name, err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := m.Unlearn(cancelled, f.request(1)); err == nil {
			t.Errorf("%s: a cancelled context gave no error", name)
		}
	}
}
