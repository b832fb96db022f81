package stages

import (
	"encoding/json"
	"fmt"
	"math"

	"lethe/dsl"
	"lethe/nn"
	"lethe/unlearn"
)

// params reads a stage's parameters with their types, keeping the first
// error so that decoding reads as a list of fields.
type params struct {
	st  *dsl.Stage
	err error
}

func (p *params) keep(err error) {
	if p.err == nil && err != nil {
		p.err = err
	}
}

func (p *params) float(name string) float64 {
	v, err := p.st.Float(name)
	p.keep(err)
	return v
}

func (p *params) int(name string) int {
	v, err := p.st.Int(name)
	p.keep(err)
	return v
}

func (p *params) str(name string) string {
	v, err := p.st.String(name)
	p.keep(err)
	return v
}

func (p *params) ints(name string) []int {
	v, err := p.st.Ints(name)
	p.keep(err)
	return v
}

func (p *params) strs(name string) []string {
	v, err := p.st.Strings(name)
	p.keep(err)
	return v
}

// object returns an object parameter (optimizer, schedule, mia) as Go
// values.
func (p *params) object(name string) map[string]any {
	v := p.st.Value(name)
	m, ok := unlearn.FromCty(v).(map[string]any)
	if !ok {
		p.keep(fmt.Errorf("%s: parameter %s is not an object", p.st.Address, name))
		return map[string]any{}
	}
	return m
}

// field reads a number field of an object parameter.
func (p *params) field(obj map[string]any, param, field string, def float64) float64 {
	v, ok := obj[field]
	if !ok || v == nil {
		return def
	}
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	p.keep(fmt.Errorf("%s: %s.%s = %v is not a number", p.st.Address, param, field, v))
	return def
}

// Recipe is how a model's lineage was trained: the training recipe with the
// data settings it ran with. Train stages write it (recipe.json) and
// unlearn stages pass it on, so that any model can be retrained.
type Recipe struct {
	Train   nn.TrainConfig `json:"train"`
	Augment bool           `json:"augment"`
	Seed    int            `json:"seed"`
	// From is the address of the train stage that used it.
	From string `json:"from"`
}

// TrainRecipe decodes a train stage's recipe.
func TrainRecipe(st *dsl.Stage) (Recipe, error) {
	if st.Kind != dsl.KindTrain {
		return Recipe{}, fmt.Errorf("%s is a %s stage, not a train stage", st.Address, st.Kind)
	}
	p := &params{st: st}
	r := Recipe{From: st.Address, Seed: p.int("seed")}
	r.Train.Epochs = p.int("epochs")
	r.Train.BatchSize = p.int("batch_size")
	r.Train.OrthoLambda = p.float("ortho_lambda")
	for _, ex := range p.strs("ortho_exclude") {
		switch ex {
		case "shortcut":
			r.Train.OrthoExclude.Shortcut = true
		case "first":
			r.Train.OrthoExclude.First = true
		default:
			p.keep(fmt.Errorf("%s: ortho_exclude %q: want shortcut or first", st.Address, ex))
		}
	}
	if v := st.Value("augment"); !v.IsNull() {
		a, err := st.Bool("augment")
		p.keep(err)
		r.Augment = a
	}
	opt := p.object("optimizer")
	name, _ := opt["name"].(string)
	r.Train.Optim = nn.OptimConfig{Name: name, LR: p.field(opt, "optimizer", "lr", 0),
		WeightDecay: p.field(opt, "optimizer", "weight_decay", 0)}
	switch name {
	case "sgd":
		r.Train.Optim.Momentum = p.field(opt, "optimizer", "momentum", 0)
		r.Train.Optim.Nesterov, _ = opt["nesterov"].(bool)
	case "adam", "adamw":
		r.Train.Optim.Eps = p.field(opt, "optimizer", "eps", 1e-8)
		betas, _ := opt["betas"].([]any)
		if len(betas) != 2 {
			p.keep(fmt.Errorf("%s: optimizer.betas needs two values, got %v", st.Address, opt["betas"]))
		} else {
			b := map[string]any{"b1": betas[0], "b2": betas[1]}
			r.Train.Optim.Beta1 = p.field(b, "optimizer", "b1", 0.9)
			r.Train.Optim.Beta2 = p.field(b, "optimizer", "b2", 0.999)
		}
	default:
		p.keep(fmt.Errorf("%s: unknown optimizer %q", st.Address, name))
	}
	sch := p.object("schedule")
	sname, _ := sch["name"].(string)
	r.Train.Schedule = nn.ScheduleConfig{Name: sname,
		WarmupEpochs: int(p.field(sch, "schedule", "warmup_epochs", 0)),
		MinLR:        p.field(sch, "schedule", "min_lr", 0)}
	switch sname {
	case "multistep":
		r.Train.Schedule.Gamma = p.field(sch, "schedule", "gamma", 0.1)
		ms, _ := sch["milestones"].([]any)
		for _, m := range ms {
			f := p.field(map[string]any{"milestones": m}, "schedule", "milestones", 0)
			if f != math.Trunc(f) {
				p.keep(fmt.Errorf("%s: schedule.milestones holds %v, not a whole epoch", st.Address, f))
			}
			r.Train.Schedule.Milestones = append(r.Train.Schedule.Milestones, int(f))
		}
	case "exponential":
		r.Train.Schedule.Gamma = p.field(sch, "schedule", "gamma", 0.9)
	}
	if p.err != nil {
		return Recipe{}, p.err
	}
	if err := r.Train.Validate(); err != nil {
		return Recipe{}, fmt.Errorf("%s: %w", st.Address, err)
	}
	return r, nil
}

// canonical returns the stage's canonical parameters with some left out.
func canonical(st *dsl.Stage, drop ...string) ([]byte, error) {
	if len(drop) == 0 {
		return st.Canonical(), nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(st.Canonical(), &m); err != nil {
		return nil, fmt.Errorf("%s: canonical parameters: %w", st.Address, err)
	}
	for _, d := range drop {
		delete(m, d)
	}
	// encoding/json writes map keys sorted, and RawMessage values verbatim,
	// so this stays canonical.
	return json.Marshal(m)
}
