package runner

import (
	"strings"

	"lethe/tracking"
)

// Recorded is what the store holds for one stage of a plan: the result
// that a run of the spec as it is now would reuse, or why there is none.
type Recorded struct {
	Step *Step
	// OK is set when the store has the result; Run is the FINISHED run
	// that made it (its metrics are the result's) and Key its cache key:
	// the planned key, or, when optional inputs had failed, the key of
	// the result made without them, as a run computes it.
	OK  bool
	Run tracking.Run
	Key string
	// Without lists the optional inputs the result was made without (their
	// own Recorded says why).
	Without []string
	// Why says, when !OK, why there is no result: the stage's own state
	// ("failed: ...", "has not run yet") or the input it waits for.
	Why string
	// Root is the stage whose own state is the cause: the stage itself or
	// the first input upstream without a result.
	Root string
}

// Recorded looks every step of the plan up in the store, inputs first, and
// keys each step as a run would: by its inputs' actual results, a failed
// optional input counting as missing (see Stage.Optional). It reads the
// database only (the metrics of a result outlive its cache entry), so
// results whose artifacts `lethe gc` removed still count.
func (p *Plan) Recorded(store *tracking.Store) (map[string]*Recorded, error) {
	out := make(map[string]*Recorded, len(p.Steps))
	for _, s := range p.Steps {
		rec := &Recorded{Step: s, Key: s.Key}
		out[s.Stage.Address] = rec
		var keys []inputKey
		var blocker *Recorded
		for i, in := range s.Inputs {
			param := s.Stage.Deps[i].Param
			r := out[in.Stage.Address]
			switch {
			case r.OK:
				keys = append(keys, inputKey{param, r.Key})
			case s.Task.Optional(param):
				keys = append(keys, inputKey{param, "missing:" + in.Key})
				rec.Without = append(rec.Without, in.Stage.Address)
			default:
				keys = append(keys, inputKey{param, in.Key})
				if blocker == nil {
					blocker = r
				}
			}
		}
		if blocker != nil {
			rec.Why, rec.Root = "waits for "+blocker.Root, blocker.Root
			if blocker.Root == blocker.Step.Stage.Address {
				rec.Why += ", which " + blocker.Why
			} else {
				rec.Why = blocker.Why
			}
			continue
		}
		if changed(keys, s.Inputs) {
			material, err := s.Task.Material()
			if err != nil {
				return nil, err
			}
			rec.Key = stageKey(s.Stage.Kind, material, keys)
		}
		run, ok, err := store.ProducerOf(rec.Key)
		if err != nil {
			return nil, err
		}
		if ok {
			rec.OK, rec.Run = true, run
			continue
		}
		rec.Root = s.Stage.Address
		if rec.Why, err = whyNoResult(store, s.Stage.Address, rec.Key); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// whyNoResult explains a stage without a result from its history.
func whyNoResult(store *tracking.Store, address, key string) (string, error) {
	last, ok, err := store.LatestRun(address)
	switch {
	case err != nil:
		return "", err
	case !ok:
		return "has not run yet", nil
	case last.CacheKey != key:
		return "is out of date: its last run was of an earlier version of the spec", nil
	}
	switch last.Status {
	case tracking.Failed:
		msg := firstLine(strings.TrimSpace(last.Error))
		if msg == "" {
			msg = "no error recorded"
		}
		return "failed: " + msg, nil
	case tracking.Killed:
		return "was killed", nil
	case tracking.Running, tracking.Queued:
		return "is still " + strings.ToLower(string(last.Status)), nil
	}
	// A CACHED run of a result whose producer is gone from the database.
	return "has no recorded result", nil
}
