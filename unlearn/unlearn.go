// Package unlearn holds Orthogonal Soft Pruning (OSP, the paper's method)
// and the baselines, one file per method, behind one small interface:
// given a trained model, the classes to forget, the data splits and a
// device, a Method returns an unlearned copy of the model and a record of
// what it did and how long it took. METHODS.md (beside DESIGN.md) is the
// specification of every method; parameter names and defaults come from
// the experiment language's table (dsl.Methods), so a spec, the CLI and Go
// callers share them.
package unlearn

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"lethe/data"
	"lethe/nn"
)

// Request is what a method works from.
type Request struct {
	// Model is the trained model. Methods never modify it: they work on a
	// copy and return it.
	Model *nn.Model
	// Forget are the classes to forget.
	Forget []int
	// Data holds the train and test splits of the model's dataset.
	Data *data.Dataset
	// Recipe is the recipe Model was trained with (Retrain reuses it).
	Recipe *nn.TrainConfig
	// Seed fixes every random choice of the method.
	Seed uint64
	// Progress, when set, receives coarse progress (phase, done, total).
	Progress func(phase string, done, total int)
}

// Result is an unlearned model and the record of how it was made.
type Result struct {
	Model  *nn.Model
	Method string
	// Seconds is the unlearning time proper (device-synchronised wall
	// clock, excluding model loading and evaluation); FinetuneSeconds is
	// any repair or fine-tuning phase the method runs after it.
	Seconds         float64
	FinetuneSeconds float64
	// Details is a method-specific record (e.g. *OSPRecord), JSON-encodable.
	Details any
}

// Method is one unlearning algorithm with its parameters bound.
type Method interface {
	Name() string
	Unlearn(ctx context.Context, req *Request) (*Result, error)
}

// Params are a method's parameters by name: float64, int, string, bool,
// nil (a null) or []any, as decoded from a spec.
type Params map[string]any

// factory builds a method from complete parameters.
type factory func(p Params) (Method, error)

var registry = map[string]factory{}

// register adds a method kind; called from init in each method's file.
func register(name string, f factory) { registry[name] = f }

// Names lists the registered methods.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New builds method `name` from params, filling absent parameters with
// their defaults. Unknown parameters and values out of range are errors.
func New(name string, params Params) (Method, error) {
	f, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown unlearning method %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	full, err := withDefaults(name, params)
	if err != nil {
		return nil, err
	}
	return f(full)
}

// getter reads typed parameters and remembers the first error.
type getter struct {
	method string
	p      Params
	err    error
}

func (g *getter) fail(name, format string, args ...any) {
	if g.err == nil {
		g.err = fmt.Errorf("%s: parameter %s: %s", g.method, name, fmt.Sprintf(format, args...))
	}
}

func (g *getter) value(name string) (any, bool) {
	v, ok := g.p[name]
	if !ok {
		g.fail(name, "missing")
	}
	return v, ok
}

func (g *getter) float(name string) float64 {
	v, ok := g.value(name)
	if !ok {
		return 0
	}
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	g.fail(name, "want a number, got %v", v)
	return 0
}

// optFloat reads a nullable number; NaN stands for null.
func (g *getter) optFloat(name string) float64 {
	v, ok := g.value(name)
	if !ok || v == nil {
		return math.NaN()
	}
	return g.float(name)
}

func (g *getter) int(name string) int {
	f := g.float(name)
	if f != math.Trunc(f) {
		g.fail(name, "want a whole number, got %v", f)
	}
	return int(f)
}

// bool reads a true/false parameter.
func (g *getter) bool(name string) bool {
	v, ok := g.value(name)
	if !ok {
		return false
	}
	b, isBool := v.(bool)
	if !isBool {
		g.fail(name, "want true or false, got %v", v)
	}
	return b
}

func (g *getter) str(name string, allowed ...string) string {
	v, ok := g.value(name)
	if !ok {
		return ""
	}
	s, isStr := v.(string)
	if !isStr {
		g.fail(name, "want a string, got %v", v)
		return ""
	}
	if len(allowed) > 0 {
		for _, a := range allowed {
			if s == a {
				return s
			}
		}
		g.fail(name, "%q is not one of %s", s, strings.Join(allowed, ", "))
	}
	return s
}

func (g *getter) in(name string, v, lo, hi float64) {
	if math.IsNaN(v) || v < lo || v > hi {
		g.fail(name, "%v is outside [%v, %v]", v, lo, hi)
	}
}

// timed runs fn between two device synchronisations and returns its wall
// clock in seconds.
func timed(b nn.Backend, fn func() error) (float64, error) {
	if err := b.Sync(); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := fn(); err != nil {
		return 0, err
	}
	if err := b.Sync(); err != nil {
		return 0, err
	}
	return time.Since(start).Seconds(), nil
}

// checkForget validates forget classes against the model and dataset.
func checkForget(req *Request) error {
	if req.Model == nil {
		return fmt.Errorf("no model to unlearn from")
	}
	if len(req.Forget) == 0 {
		return fmt.Errorf("no classes to forget")
	}
	if req.Data == nil {
		return fmt.Errorf("the request has no dataset")
	}
	k := req.Model.Config.Classes
	if req.Data.NumClasses() != k {
		return fmt.Errorf("the model has %d classes but dataset %s has %d", k, req.Data.Kind, req.Data.NumClasses())
	}
	seen := map[int]bool{}
	for _, c := range req.Forget {
		if c < 0 || c >= k {
			return fmt.Errorf("forget class %d is not in the dataset (classes 0..%d)", c, k-1)
		}
		if seen[c] {
			return fmt.Errorf("forget class %d is listed twice", c)
		}
		seen[c] = true
	}
	if len(seen) == k {
		return fmt.Errorf("cannot forget every class")
	}
	return nil
}
