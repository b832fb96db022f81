package stages

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"lethe/dsl"
	"lethe/nn"
	"lethe/unlearn"
)

func init() { Register(dsl.KindUnlearn, unlearnKind{}) }

type unlearnKind struct{}

type unlearnTask struct {
	st     *dsl.Stage
	method string
	forget []int
	seed   int
	params unlearn.Params
}

// commonUnlearnParams are the unlearn block's own parameters; the rest
// belong to the method.
var commonUnlearnParams = []string{"model", "method", "forget", "seed"}

func (unlearnKind) Prepare(st *dsl.Stage, _ *dsl.Experiment) (Stage, error) {
	p := &params{st: st}
	t := &unlearnTask{st: st, method: p.str("method"), forget: p.ints("forget"), seed: p.int("seed"), params: unlearn.Params{}}
	if p.err != nil {
		return nil, p.err
	}
	for name, prm := range st.Params {
		if !slices.Contains(commonUnlearnParams, name) {
			t.params[name] = unlearn.FromCty(prm.Value)
		}
	}
	if _, err := trainOf(st); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *unlearnTask) Material() ([]byte, error) { return canonical(t.st) }
func (t *unlearnTask) Optional(string) bool      { return false }

// UnlearnResult is an unlearn stage's record (result.json).
type UnlearnResult struct {
	Method          string         `json:"method"`
	Forget          []int          `json:"forget"`
	Params          unlearn.Params `json:"params"`
	Seconds         float64        `json:"seconds"`          // the unlearning proper, device-synchronised
	FinetuneSeconds float64        `json:"finetune_seconds"` // repair or fine-tuning after it
	Details         any            `json:"details,omitempty"`
}

// methodAvailable reports whether this build has the method; the spec
// language knows every method of METHODS.md, the engine gains them one by
// one.
func methodAvailable(name string) error {
	if slices.Contains(unlearn.Names(), name) {
		return nil
	}
	return fmt.Errorf("method %s is not available in this build (available: %s)", name, strings.Join(unlearn.Names(), ", "))
}

func (t *unlearnTask) Run(ctx context.Context, env *Env) error {
	if err := methodAvailable(t.method); err != nil {
		return err
	}
	meth, err := unlearn.New(t.method, t.params)
	if err != nil {
		return err
	}
	in, err := env.input("model")
	if err != nil {
		return err
	}
	var recipe Recipe
	if err := ReadJSON(in.Path(RecipeFile), &recipe); err != nil {
		return fmt.Errorf("the recipe of %s: %w", in.Stage.Address, err)
	}
	ds, err := openData(env.Data, t.st)
	if err != nil {
		return err
	}
	m, err := nn.LoadModel(env.Backend, in.Path(ModelFile))
	if err != nil {
		return err
	}
	defer m.Release()
	env.Logf("%s on %s, forgetting classes %v, seed %d, parameters %v", t.method, in.Stage.Address, t.forget, t.seed, t.params)
	rc := recipe.Train
	req := &unlearn.Request{Model: m, Forget: t.forget, Data: ds, Recipe: &rc, Seed: uint64(t.seed),
		Progress: func(phase string, done, total int) {
			env.progress(Progress{Phase: phase, Done: done, Total: total})
		}}
	res, err := meth.Unlearn(ctx, req)
	if err != nil {
		return fmt.Errorf("%s: %w", t.method, err)
	}
	if res.Model == nil {
		return fmt.Errorf("%s returned no model", t.method)
	}
	defer func() {
		if res.Model != m {
			res.Model.Release()
		}
	}()
	env.Logf("%s took %.4gs (fine-tuning %.4gs)", t.method, res.Seconds, res.FinetuneSeconds)
	if err := env.metric("time", 0, res.Seconds); err != nil {
		return err
	}
	if err := env.metric("time_finetune", 0, res.FinetuneSeconds); err != nil {
		return err
	}
	if err := res.Model.Save(filepath.Join(env.Dir, ModelFile), map[string]string{"lethe.address": t.st.Address}); err != nil {
		return err
	}
	if err := WriteJSON(filepath.Join(env.Dir, RecipeFile), recipe); err != nil {
		return err
	}
	return WriteJSON(filepath.Join(env.Dir, ResultFile), UnlearnResult{Method: t.method, Forget: t.forget, Params: t.params,
		Seconds: res.Seconds, FinetuneSeconds: res.FinetuneSeconds, Details: res.Details})
}
