package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"lethe/dsl"
	"lethe/stages"
	"lethe/tracking"
)

// Plan is what a run of an experiment will do: every stage, in dependency
// order, with its cache key and whether its cached result is reused or it
// runs, and why.
type Plan struct {
	Experiment *dsl.Experiment
	Steps      []*Step
}

// Step is one stage of a plan.
type Step struct {
	Stage *dsl.Stage
	Task  stages.Stage
	// Key is the cache key of the stage's complete result.
	Key string
	// Inputs are the steps of Stage.Deps, in the same order.
	Inputs []*Step
	// Params are what tracking records with the stage's runs: its
	// canonical parameters with where each was set, and the key material
	// besides them (@inputs, @numerics, @data).
	Params []tracking.Param
	// Cached is set when a valid cache entry exists and the stage is not
	// forced; Producer is the run that made it (0 if the store has no
	// record of it).
	Cached   bool
	Producer tracking.RunID
	Forced   bool
	// Reason says why the stage runs (new; parameter X changed from A to
	// B (file:line); upstream changed; forced; artifact corrupted).
	Reason string
}

// PlanOptions say what to re-run whatever the cache holds.
type PlanOptions struct {
	// Force names stages to re-run: exact addresses, block addresses
	// (train.ortho: every instance) or globs where * matches any run of
	// characters and ? one character.
	Force []string
	// ForceDownstream re-runs every stage downstream of a forced one too.
	ForceDownstream bool
}

// NewPlan prepares every stage of exp, computes their keys and checks the
// cache. store may be nil (no history: every uncached stage is "new");
// cache may be nil (nothing is cached).
func NewPlan(exp *dsl.Experiment, store *tracking.Store, cache *Cache, opts PlanOptions) (*Plan, error) {
	if len(exp.Stages) == 0 {
		return nil, errors.New("the experiment has no stages")
	}
	forced, err := matchForce(exp, opts.Force)
	if err != nil {
		return nil, err
	}
	p := &Plan{Experiment: exp}
	byAddr := map[string]*Step{}
	var errs []error
	for _, st := range exp.Stages {
		task, err := stages.Prepare(st, exp)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s := &Step{Stage: st, Task: task}
		var inputs []inputKey
		broken := false
		for _, d := range st.Deps {
			in, ok := byAddr[d.Stage.Address]
			if !ok {
				broken = true // its own error is already reported
				break
			}
			s.Inputs = append(s.Inputs, in)
			inputs = append(inputs, inputKey{d.Param, in.Key})
		}
		if broken {
			continue
		}
		material, err := task.Material()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.Key = stageKey(st.Kind, material, inputs)
		if s.Params, err = recordParams(s, material); err != nil {
			errs = append(errs, err)
			continue
		}
		byAddr[st.Address] = s
		p.Steps = append(p.Steps, s)

		switch {
		case forced[st.Address]:
			s.Forced, s.Reason = true, "forced (--force)"
		case opts.ForceDownstream && anyForced(s.Inputs) != nil:
			s.Forced, s.Reason = true, "forced: downstream of "+anyForced(s.Inputs).Stage.Address
		}
		if s.Forced || cache == nil {
			if s.Reason == "" {
				s.Reason = "new"
			}
			continue
		}
		state, problem, producer, err := checkEntry(cache, store, s.Key)
		if err != nil {
			return nil, err
		}
		if state == entryValid {
			s.Cached, s.Producer = true, producer
			continue
		}
		if s.Reason, err = explain(store, s, state, problem); err != nil {
			return nil, err
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

func anyForced(inputs []*Step) *Step {
	for _, in := range inputs {
		if in.Forced {
			return in
		}
	}
	return nil
}

// checkEntry verifies key's entry against its manifest and the checksums
// recorded by the run that made it.
func checkEntry(cache *Cache, store *tracking.Store, key string) (entryState, string, tracking.RunID, error) {
	var recorded []tracking.Artifact
	var producer tracking.RunID
	if store != nil {
		r, ok, err := store.ProducerOf(key)
		if err != nil {
			return 0, "", 0, err
		}
		if ok {
			producer = r.ID
			if recorded, err = store.Artifacts(r.ID); err != nil {
				return 0, "", 0, err
			}
		}
	}
	state, problem := cache.check(key, recorded)
	return state, problem, producer, nil
}

// Counts tallies the plan: stages cached and to run.
func (p *Plan) Counts() (cached, run int) {
	for _, s := range p.Steps {
		if s.Cached {
			cached++
		} else {
			run++
		}
	}
	return cached, run
}

// recordParams lists what tracking records with a stage's runs.
func recordParams(s *Step, material []byte) ([]tracking.Param, error) {
	var canon map[string]json.RawMessage
	if err := json.Unmarshal(s.Stage.Canonical(), &canon); err != nil {
		return nil, fmt.Errorf("%s: canonical parameters: %w", s.Stage.Address, err)
	}
	names := make([]string, 0, len(canon))
	for n := range canon {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []tracking.Param
	for _, n := range names {
		out = append(out, tracking.Param{Name: n, Value: string(canon[n]), Source: paramSource(s.Stage, n)})
	}
	type in struct {
		Param   string `json:"param"`
		Address string `json:"address"`
		Key     string `json:"key"`
	}
	ins := []in{}
	for i, d := range s.Stage.Deps {
		ins = append(ins, in{d.Param, d.Stage.Address, s.Inputs[i].Key})
	}
	b, _ := json.Marshal(ins)
	out = append(out, tracking.Param{Name: "@inputs", Value: string(b)})
	b, _ = json.Marshal(stages.NumericsVersion)
	out = append(out, tracking.Param{Name: "@numerics", Value: string(b)})
	var withData struct {
		Data string `json:"data"`
	}
	if s.Stage.Kind == dsl.KindDataset && json.Unmarshal(material, &withData) == nil && withData.Data != "" {
		b, _ = json.Marshal(withData.Data)
		out = append(out, tracking.Param{Name: "@data", Value: string(b)})
	}
	return out, nil
}

// paramSource is where a parameter was set: file:line, or "default".
func paramSource(st *dsl.Stage, name string) string {
	p, ok := st.Params[name]
	if !ok || p.Default || p.Range.Filename == "" {
		return "default"
	}
	return fmt.Sprintf("%s:%d", p.Range.Filename, p.Range.Start.Line)
}

// explain says why a stage without a usable cache entry runs, comparing it
// with the last run of its address that produced a result.
func explain(store *tracking.Store, s *Step, state entryState, problem string) (string, error) {
	if state == entryCorrupt {
		return "artifact corrupted (" + problem + "): rebuilding", nil
	}
	if store == nil {
		return "new", nil
	}
	addr := s.Stage.Address
	prev, ok, err := store.LatestRun(addr, tracking.Finished, tracking.Cached)
	if err != nil {
		return "", err
	}
	if !ok {
		last, ok, err := store.LatestRun(addr)
		if err != nil {
			return "", err
		}
		if ok && (last.Status == tracking.Failed || last.Status == tracking.Killed) {
			return fmt.Sprintf("last run %s: %s", strings.ToLower(string(last.Status)), firstLine(last.Error)), nil
		}
		return "new", nil
	}
	if prev.CacheKey == s.Key {
		return "cache entry missing (removed by gc or by hand)", nil
	}
	old, err := store.Params(prev.ID)
	if err != nil {
		return "", err
	}
	oldBy := map[string]tracking.Param{}
	for _, p := range old {
		oldBy[p.Name] = p
	}
	var reasons []string
	for _, p := range s.Params {
		o, had := oldBy[p.Name]
		delete(oldBy, p.Name)
		switch {
		case strings.HasPrefix(p.Name, "@"):
			if had && o.Value != p.Value {
				reasons = append(reasons, materialChange(p.Name, o.Value, p.Value, s))
			}
		case !had:
			reasons = append(reasons, fmt.Sprintf("parameter %s added: %s (%s)", p.Name, p.Value, p.Source))
		case o.Value != p.Value:
			reasons = append(reasons, fmt.Sprintf("parameter %s changed from %s to %s (%s)", p.Name, o.Value, p.Value, p.Source))
		}
	}
	var gone []string
	for name := range oldBy {
		if name == "@missing" {
			reasons = append(reasons, "its last result lacked failed inputs")
		} else if !strings.HasPrefix(name, "@") {
			gone = append(gone, name)
		}
	}
	sort.Strings(gone)
	for _, name := range gone {
		reasons = append(reasons, "parameter "+name+" removed")
	}
	if len(reasons) == 0 {
		return "cache key changed", nil
	}
	return strings.Join(reasons, "; "), nil
}

// materialChange describes a change of the key material besides the
// parameters.
func materialChange(name, old, cur string, s *Step) string {
	switch name {
	case "@numerics":
		return fmt.Sprintf("engine numerics version changed from %s to %s", old, cur)
	case "@data":
		return "dataset content changed"
	case "@inputs":
		type in struct {
			Param, Address, Key string
		}
		var a, b []in
		json.Unmarshal([]byte(old), &a)
		json.Unmarshal([]byte(cur), &b)
		was := map[string]string{}
		for _, x := range a {
			was[x.Address] = x.Key
		}
		var changed []string
		for _, x := range b {
			if k, ok := was[x.Address]; !ok || k != x.Key {
				changed = append(changed, x.Address)
			}
		}
		switch {
		case len(changed) == 0:
			return "inputs changed"
		case len(changed) > 3:
			return fmt.Sprintf("upstream changed: %s and %d more", strings.Join(changed[:3], ", "), len(changed)-3)
		}
		return "upstream changed: " + strings.Join(changed, ", ")
	}
	return name + " changed"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// matchForce resolves --force patterns to addresses; a pattern that names
// no stage is an error, as a mistyped address would otherwise be ignored.
func matchForce(exp *dsl.Experiment, patterns []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, pat := range patterns {
		n := 0
		for _, st := range exp.Stages {
			if pat == st.Address || pat == st.Kind+"."+st.Name || tracking.GlobMatch(pat, st.Address) {
				out[st.Address] = true
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("--force %q names no stage of experiment %q (see lethe graph)", pat, exp.Name)
		}
	}
	return out, nil
}
