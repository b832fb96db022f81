package nn

import (
	"fmt"
	"math"
	"sort"
)

// OptimConfig chooses and configures an optimiser (PyTorch semantics and
// defaults: SGD momentum 0, Adam betas 0.9/0.999, eps 1e-8).
type OptimConfig struct {
	Name        string  `json:"name"` // sgd | adam | adamw
	LR          float64 `json:"lr"`
	Momentum    float64 `json:"momentum,omitempty"`
	Dampening   float64 `json:"dampening,omitempty"`
	WeightDecay float64 `json:"weight_decay,omitempty"`
	Nesterov    bool    `json:"nesterov,omitempty"`
	Beta1       float64 `json:"beta1,omitempty"`
	Beta2       float64 `json:"beta2,omitempty"`
	Eps         float64 `json:"eps,omitempty"`
}

func (c *OptimConfig) validate() error {
	switch c.Name {
	case "sgd":
		if c.Nesterov && (c.Momentum <= 0 || c.Dampening != 0) {
			return fmt.Errorf("optimizer sgd: nesterov needs momentum > 0 and dampening 0")
		}
	case "adam", "adamw":
		if c.Beta1 == 0 && c.Beta2 == 0 {
			c.Beta1, c.Beta2 = 0.9, 0.999
		}
		if c.Eps == 0 {
			c.Eps = 1e-8
		}
		if c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 {
			return fmt.Errorf("optimizer %s: betas (%v, %v) must lie in [0, 1)", c.Name, c.Beta1, c.Beta2)
		}
	default:
		return fmt.Errorf("unknown optimizer %q (known: sgd, adam, adamw)", c.Name)
	}
	if c.LR < 0 || math.IsNaN(c.LR) {
		return fmt.Errorf("optimizer %s: learning rate %v must be non-negative", c.Name, c.LR)
	}
	if c.Momentum < 0 || c.WeightDecay < 0 {
		return fmt.Errorf("optimizer %s: momentum and weight decay must be non-negative", c.Name)
	}
	return nil
}

// Optimizer updates a model's flat parameter vector from its flat
// gradient vector: one backend op per step for the whole model.
type Optimizer struct {
	Config OptimConfig
	m      *Model
	buf1   Buf // SGD momentum buffer, or Adam's first moment
	buf2   Buf // Adam's second moment
	steps  int
}

// NewOptimizer prepares an optimiser for m.
func NewOptimizer(m *Model, cfg OptimConfig) (*Optimizer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	o := &Optimizer{Config: cfg, m: m}
	n := m.NumParams()
	switch cfg.Name {
	case "sgd":
		if cfg.Momentum != 0 {
			o.buf1 = m.b.Alloc(n)
		}
	default:
		o.buf1, o.buf2 = m.b.Alloc(n), m.b.Alloc(n)
	}
	return o, nil
}

// Step applies one update with learning rate lr.
func (o *Optimizer) Step(lr float64) {
	c := &o.Config
	b := o.m.b
	switch c.Name {
	case "sgd":
		buf := o.buf1
		if buf == nil {
			buf = o.m.grads // unused by the op when momentum is 0
		}
		b.SGDStep(o.m.values, o.m.grads, buf, float32(lr), float32(c.Momentum), float32(c.Dampening),
			float32(c.WeightDecay), c.Nesterov, o.steps == 0)
	default:
		b.AdamStep(o.m.values, o.m.grads, o.buf1, o.buf2, float32(lr), float32(c.Beta1), float32(c.Beta2),
			float32(c.Eps), float32(c.WeightDecay), o.steps+1, c.Name == "adamw")
	}
	o.steps++
}

// Steps is the number of updates applied so far.
func (o *Optimizer) Steps() int { return o.steps }

// Release frees the optimiser's state.
func (o *Optimizer) Release() {
	if o.buf1 != nil {
		o.m.b.Free(o.buf1)
	}
	if o.buf2 != nil {
		o.m.b.Free(o.buf2)
	}
}

// ScheduleConfig is a learning-rate schedule. Epoch-wise schedules change
// the rate at epoch boundaries, as PyTorch's schedulers stepped once per
// epoch do; warm-up ramps linearly per step over the first WarmupEpochs.
type ScheduleConfig struct {
	Name         string  `json:"name"` // constant | multistep | cosine | exponential
	Milestones   []int   `json:"milestones,omitempty"`
	Gamma        float64 `json:"gamma,omitempty"`
	WarmupEpochs int     `json:"warmup_epochs,omitempty"`
	MinLR        float64 `json:"min_lr,omitempty"` // cosine's eta_min
}

// Validate checks the schedule's parameters.
func (s ScheduleConfig) Validate() error {
	switch s.Name {
	case "", "constant", "cosine":
	case "multistep":
		if !sort.IntsAreSorted(s.Milestones) || len(s.Milestones) == 0 {
			return fmt.Errorf("schedule multistep: milestones %v must be a non-empty increasing list of epochs", s.Milestones)
		}
		if s.Gamma <= 0 {
			return fmt.Errorf("schedule multistep: gamma %v must be positive", s.Gamma)
		}
	case "exponential":
		if s.Gamma <= 0 {
			return fmt.Errorf("schedule exponential: gamma %v must be positive", s.Gamma)
		}
	default:
		return fmt.Errorf("unknown schedule %q (known: constant, multistep, cosine, exponential)", s.Name)
	}
	if s.WarmupEpochs < 0 {
		return fmt.Errorf("schedule: warmup_epochs %d is negative", s.WarmupEpochs)
	}
	return nil
}

// LR is the learning rate at step `step` (0-based within the epoch) of
// epoch `epoch` (0-based) of a run of `epochs` epochs.
func (s ScheduleConfig) LR(base float64, epoch, epochs, step, stepsPerEpoch int) float64 {
	lr := base
	switch s.Name {
	case "multistep":
		for _, m := range s.Milestones {
			if epoch >= m {
				lr *= s.Gamma
			}
		}
	case "cosine":
		if epochs > 0 {
			lr = s.MinLR + (base-s.MinLR)*(1+math.Cos(math.Pi*float64(epoch)/float64(epochs)))/2
		}
	case "exponential":
		lr = base * math.Pow(s.Gamma, float64(epoch))
	}
	if s.WarmupEpochs > 0 && epoch < s.WarmupEpochs {
		done := float64(epoch*stepsPerEpoch+step+1) / float64(s.WarmupEpochs*stepsPerEpoch)
		lr *= math.Min(done, 1)
	}
	return lr
}
