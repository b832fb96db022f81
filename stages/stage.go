// Package stages holds the stage kinds an experiment is made of (dataset,
// train, unlearn, evaluate, report) behind one small interface and a
// registry, in the style of database/sql's drivers.
//
// A Kind turns an expanded spec stage (*dsl.Stage) into a Stage: its
// parameters decoded and checked, the material that identifies its result
// (Material: canonical parameters, and for a dataset the digest of its
// data), and Run, which computes the stage's artifacts into a directory.
// The runner hashes the material with the inputs' keys into the cache key,
// gives Run a fresh directory, and moves it into the cache when Run
// succeeds. What each kind writes:
//
//	dataset   dataset.json                                  what was read: classes, shape, counts, statistics
//	train     model.safetensors, recipe.json, result.json    the model, its training recipe, the epoch curve
//	unlearn   model.safetensors, recipe.json, result.json    the unlearned model, its lineage's recipe, timing and method record
//	evaluate  metrics.json                                  the metrics of one model
//	report    report.md, report.json                        the table
//
// Stages read their inputs' artifacts from the inputs' cache directories
// (Env.Inputs) and datasets through a per-process DataCache, so a dataset
// is decoded once however many stages use it.
package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"lethe/dsl"
	"lethe/nn"
)

// NumericsVersion names the numerical behaviour of the engine, the data
// pipeline, the unlearning methods and the metrics as this build computes
// them. It is part of every cache key: change it whenever a change anywhere
// below the stages could change a stage's result (a different
// initialisation, a fixed bug in a kernel, a new default), so that results
// computed the old way are not reused.
const NumericsVersion = "5"

// Kind makes runnable stages of one stage kind.
type Kind interface {
	// Prepare decodes and checks st's parameters. exp is the whole
	// experiment, for stages that read its settings (a report's default
	// title). It fails only for parameters the kind cannot run with; what
	// can only fail at run time (a method this build lacks) fails in Run.
	Prepare(st *dsl.Stage, exp *dsl.Experiment) (Stage, error)
}

// Stage is one stage instance, ready to run.
type Stage interface {
	// Material is what identifies the stage's result besides its inputs'
	// cache keys and NumericsVersion: its canonical parameters and
	// whatever else its output depends on.
	Material() ([]byte, error)
	// Optional reports whether the inputs a parameter names may be
	// missing: when such an input failed, the stage runs without it (a
	// report shows the missing cells, an evaluation leaves out js_retrain)
	// instead of failing.
	Optional(param string) bool
	// Run computes the stage's artifacts into env.Dir.
	Run(ctx context.Context, env *Env) error
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Kind{}
)

// Register makes a stage kind available under name. It panics if the name
// is taken, as database/sql.Register does: two kinds of one name are a
// programming error.
func Register(name string, k Kind) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("stages: Register called twice for kind " + name)
	}
	registry[name] = k
}

// Kinds lists the registered kinds, sorted.
func Kinds() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Prepare makes the runnable stage of st with the kind registered for
// st.Kind.
func Prepare(st *dsl.Stage, exp *dsl.Experiment) (Stage, error) {
	registryMu.RLock()
	k, ok := registry[st.Kind]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%s: no stage kind %q in this build (known: %s)", st.Address, st.Kind, strings.Join(Kinds(), ", "))
	}
	s, err := k.Prepare(st, exp)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", st.Address, err)
	}
	return s, nil
}

// Input is one upstream result a stage reads.
type Input struct {
	Param string     // the parameter that referenced it (model, models, retrain, from, dataset)
	Stage *dsl.Stage // the upstream stage
	Key   string     // its cache key
	// Dir is its cache entry, holding its artifacts; empty when Missing.
	Dir string
	// Missing says why an optional input has no result ("" when it has).
	Missing string
}

// Path is the path of one of the input's artifacts.
func (in Input) Path(name string) string { return filepath.Join(in.Dir, name) }

// MetricSink records metric points of the running stage (the tracking
// store's LogMetric). Step is an epoch for curves, 0 for final values.
type MetricSink interface {
	Metric(name string, step int64, value float64) error
}

// Progress reports how far a running stage is: a training's epoch and step,
// or an unlearning method's phase.
type Progress struct {
	Phase       string // "epoch", or a method's phase name
	Done, Total int    // steps of the epoch or phase
	Epoch       int    // from 1, for training
	Epochs      int
}

// Env is what a stage runs with.
type Env struct {
	// Dir is the fresh directory the stage writes its artifacts to.
	Dir string
	// Inputs are the upstream results, in the order of the stage's Deps.
	Inputs []Input
	// Backend is the device the stage computes on.
	Backend nn.Backend
	// Data opens datasets once per process.
	Data *DataCache
	// Log receives the stage's log (a file in the store); never nil.
	Log io.Writer
	// Metrics records metric points; nil records nothing.
	Metrics MetricSink
	// Progress receives progress reports; nil ignores them.
	Progress func(Progress)
}

// Logf writes a timestamped line to the stage's log.
func (e *Env) Logf(format string, args ...any) {
	fmt.Fprintf(e.Log, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func (e *Env) metric(name string, step int64, v float64) error {
	if e.Metrics == nil {
		return nil
	}
	return e.Metrics.Metric(name, step, v)
}

func (e *Env) progress(p Progress) {
	if e.Progress != nil {
		e.Progress(p)
	}
}

// input returns the first input the parameter names.
func (e *Env) input(param string) (Input, error) {
	for _, in := range e.Inputs {
		if in.Param == param {
			return in, nil
		}
	}
	return Input{}, fmt.Errorf("no input for parameter %s", param)
}

// WriteJSON writes v as indented JSON to path atomically.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return nn.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// ReadJSON decodes the JSON file at path into v, naming the file in errors.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
