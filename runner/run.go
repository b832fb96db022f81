package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"lethe/nn"
	"lethe/nn/device"
	"lethe/stages"
	"lethe/tracking"
)

// Options configure how a plan runs. None of them changes a result, so
// none is part of a cache key.
type Options struct {
	// Jobs is the number of stages run at once on the CPU (default 1).
	// Each gets a backend with GOMAXPROCS/Jobs threads. On a GPU the
	// runner uses one worker per GPU instead.
	Jobs int
	// Device is cpu, cuda or auto (default auto).
	Device string
	// BLAS picks the CPU GEMM (see cpu.Options); empty is auto.
	BLAS string
	// KeepGoing runs every stage that does not depend on a failed one;
	// without it no stage starts after the first failure (those running
	// finish).
	KeepGoing bool
	// Out receives progress and a line per finished stage; nil discards.
	Out io.Writer
	// Live draws progress bars (for a terminal).
	Live bool
	// Spec describes the spec for the experiment record.
	Spec tracking.ExperimentInfo
}

// Outcome is how a stage ended in a run.
type Outcome int

const (
	// NotRun: the run stopped (a failure without KeepGoing, or a
	// cancellation) before the stage could start.
	NotRun Outcome = iota
	// Reused: the stage's result came from the cache.
	Reused
	// Executed: the stage ran and its result is now cached.
	Executed
	// Failed: the stage, or an input it cannot do without, failed.
	Failed
	// Killed: the run was cancelled while the stage ran.
	Killed
)

func (o Outcome) String() string {
	return [...]string{"not run", "cached", "executed", "failed", "killed"}[o]
}

// StepResult is how one stage of a plan ended.
type StepResult struct {
	Step    *Step
	Outcome Outcome
	// Key is the key of the result the stage has now: the planned key, or
	// another when optional inputs were missing or upstream results were
	// made without theirs. Dir is its cache entry (empty without result).
	Key, Dir string
	Run      tracking.RunID // its run record (0 if none was made)
	Err      error
	Note     string        // what a Reused result came from
	Log      string        // its log file
	Duration time.Duration // how long it ran
}

// OK reports whether the stage has a result.
func (r *StepResult) OK() bool { return r.Outcome == Reused || r.Outcome == Executed }

// Summary is what a run did.
type Summary struct {
	Experiment                               tracking.ExperimentID
	Results                                  []*StepResult // in plan order
	Wall                                     time.Duration
	Executed, Cached, Failed, Killed, NotRun int
}

// Result returns the result of the stage at address.
func (s *Summary) Result(address string) (*StepResult, bool) {
	for _, r := range s.Results {
		if r.Step.Stage.Address == address {
			return r, true
		}
	}
	return nil, false
}

// Err is nil when every stage has a result.
func (s *Summary) Err() error {
	if s.Failed+s.Killed+s.NotRun == 0 {
		return nil
	}
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{{s.Failed, "failed"}, {s.Killed, "killed"}, {s.NotRun, "not run"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	return fmt.Errorf("%d of %d stages have no result (%s)", s.Failed+s.Killed+s.NotRun, len(s.Results), strings.Join(parts, ", "))
}

// Run executes a plan: cached stages are recorded as such, the others run
// as soon as their inputs are done, on Jobs workers. A failure stops the
// stages that depend on it (all others too, unless KeepGoing); cancelling
// ctx stops the run, marks the running stages KILLED and removes their
// partial artifacts.
func Run(ctx context.Context, plan *Plan, store *tracking.Store, cache *Cache, opts Options) (*Summary, error) {
	start := time.Now()
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Device == "" {
		opts.Device = "auto"
	}
	if err := device.Check(opts.Device); err != nil {
		return nil, err
	}
	if opts.Jobs < 1 {
		opts.Jobs = 1
	}
	workers, threads := opts.Jobs, device.CPUThreads(opts.Jobs)
	if gpus, err := device.GPUs(opts.Device); err != nil {
		return nil, err
	} else if gpus > 0 {
		workers, threads = gpus, 0
	}
	cache.CleanTemps()
	info := opts.Spec
	if info.Name == "" {
		info.Name = plan.Experiment.Name
	}
	exp, err := store.BeginExperiment(info)
	if err != nil {
		return nil, err
	}
	r := &run{plan: plan, store: store, cache: cache, opts: opts, exp: exp, data: stages.NewDataCache(),
		results: map[*Step]*StepResult{}}
	_, toRun := plan.Counts()
	r.display = newDisplay(opts.Out, opts.Live, toRun)
	for _, s := range plan.Steps {
		if !s.Cached {
			continue
		}
		res := &StepResult{Step: s, Outcome: Reused, Key: s.Key, Dir: cache.Entry(s.Key)}
		if res.Run, err = store.RecordCached(r.runInfo(s, s.Key, s.Params)); err != nil {
			return nil, err
		}
		r.results[s] = res
	}
	r.schedule(ctx, workers, threads)
	r.display.close()

	sum := &Summary{Experiment: exp, Wall: time.Since(start)}
	for _, s := range plan.Steps {
		res, ok := r.results[s]
		if !ok {
			res = &StepResult{Step: s, Outcome: NotRun}
		}
		sum.Results = append(sum.Results, res)
		switch res.Outcome {
		case Reused:
			sum.Cached++
		case Executed:
			sum.Executed++
		case Failed:
			sum.Failed++
		case Killed:
			sum.Killed++
		default:
			sum.NotRun++
		}
	}
	if err := store.EndExperiment(exp); err != nil {
		return sum, err
	}
	return sum, nil
}

type run struct {
	plan    *Plan
	store   *tracking.Store
	cache   *Cache
	opts    Options
	exp     tracking.ExperimentID
	data    *stages.DataCache
	display *display

	mu      sync.Mutex // guards results
	results map[*Step]*StepResult
}

func (r *run) result(s *Step) (*StepResult, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res, ok := r.results[s]
	return res, ok
}

func (r *run) settle(res *StepResult) {
	r.mu.Lock()
	r.results[res.Step] = res
	r.mu.Unlock()
}

// job is a stage handed to a worker with its inputs' results.
type job struct {
	step   *Step
	inputs []*StepResult
}

// schedule runs the uncached steps on workers, each as soon as all its
// inputs have settled.
func (r *run) schedule(ctx context.Context, workers, threads int) {
	work := make(chan job)
	done := make(chan *StepResult)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{r: r, id: i, threads: threads}
			defer w.close()
			for j := range work {
				done <- w.exec(ctx, j)
			}
		}()
	}
	var pending []*Step
	for _, s := range r.plan.Steps {
		if _, ok := r.result(s); !ok {
			pending = append(pending, s)
		}
	}
	running, stopping := 0, false
	ctxDone := ctx.Done()
	for {
		// Start what can start, in plan order; settle at once the stages
		// an input failure leaves without a way to run.
		for i := 0; i < len(pending); {
			s := pending[i]
			inputs, ready, blocker := r.inputsOf(s)
			switch {
			case !ready:
				i++
				continue
			case blocker != nil:
				res := r.dependantFailed(s, blocker)
				r.settle(res)
				r.display.finished(res)
			case stopping || running == workers:
				i++
				continue
			default:
				running++
				r.display.started(s)
				work <- job{s, inputs}
			}
			pending = append(pending[:i], pending[i+1:]...)
		}
		if running == 0 {
			break
		}
		select {
		case res := <-done:
			running--
			r.settle(res)
			r.display.finished(res)
			if (res.Outcome == Failed && !r.opts.KeepGoing) || res.Outcome == Killed {
				stopping = true
			}
		case <-ctxDone:
			stopping, ctxDone = true, nil
		}
	}
	close(work)
	wg.Wait()
}

// inputsOf reports whether all of s's inputs have settled and, if one
// that s cannot do without has no result, which.
func (r *run) inputsOf(s *Step) (inputs []*StepResult, ready bool, blocker *StepResult) {
	for i, in := range s.Inputs {
		res, ok := r.result(in)
		if !ok {
			return nil, false, nil
		}
		inputs = append(inputs, res)
		// An optional input may have failed, but one that a cancelled or
		// stopped run never finished would make a result that only looks
		// partial.
		unfinished := res.Outcome == NotRun || res.Outcome == Killed
		if !res.OK() && (unfinished || !s.Task.Optional(s.Stage.Deps[i].Param)) && blocker == nil {
			blocker = res
		}
	}
	return inputs, true, blocker
}

// dependantFailed records a stage that cannot run because an input has no
// result.
func (r *run) dependantFailed(s *Step, blocker *StepResult) *StepResult {
	res := &StepResult{Step: s, Outcome: Failed, Key: s.Key}
	if blocker.Outcome == NotRun || blocker.Outcome == Killed {
		res.Outcome = NotRun
		return res
	}
	res.Err = fmt.Errorf("not run: input %s %s", blocker.Step.Stage.Address, blocker.Outcome)
	id, err := r.store.QueueRun(r.runInfo(s, s.Key, s.Params))
	if err == nil {
		res.Run = id
		err = r.store.FinishRun(id, tracking.Failed, res.Err.Error())
	}
	if err != nil {
		res.Err = errors.Join(res.Err, err)
	}
	return res
}

func (r *run) runInfo(s *Step, key string, params []tracking.Param) tracking.RunInfo {
	return tracking.RunInfo{Experiment: r.exp, Address: s.Stage.Address, Kind: s.Stage.Kind, CacheKey: key, Params: params}
}

// worker runs stages on its own backend, opened at its first stage.
type worker struct {
	r       *run
	id      int // spreads GPU workers over the GPUs
	threads int
	backend nn.Backend
}

func (w *worker) close() {
	if w.backend != nil {
		device.Close(w.backend)
	}
}

// exec runs one stage: it works out the key of the result it will make,
// reuses that result if it exists by now (another process may have made
// it), and otherwise computes it under the key's lock.
func (w *worker) exec(ctx context.Context, j job) (res *StepResult) {
	s, r := j.step, w.r
	start := time.Now()
	res = &StepResult{Step: s}
	defer func() { res.Duration = time.Since(start) }()

	// The inputs' actual results decide the key: an input made without
	// its own optional inputs has another key than planned, and a missing
	// optional input is named as missing.
	key := s.Key
	var missing []string
	var keys []inputKey
	var inputs []stages.Input
	for i, in := range j.inputs {
		d := s.Stage.Deps[i]
		si := stages.Input{Param: d.Param, Stage: d.Stage}
		if in.OK() {
			si.Key, si.Dir = in.Key, in.Dir
		} else {
			si.Key = "missing:" + in.Step.Key
			si.Missing = fmt.Sprintf("it %s", in.Outcome)
			if in.Err != nil {
				si.Missing += ": " + firstLine(in.Err.Error())
			}
			missing = append(missing, d.Stage.Address)
		}
		keys = append(keys, inputKey{d.Param, si.Key})
		inputs = append(inputs, si)
	}
	params := s.Params
	if changed(keys, s.Inputs) {
		material, err := s.Task.Material()
		if err != nil {
			res.Outcome, res.Err = Failed, err
			return res
		}
		key = stageKey(s.Stage.Kind, material, keys)
	}
	if len(missing) > 0 {
		b, _ := json.Marshal(missing)
		params = append(append([]tracking.Param{}, params...), tracking.Param{Name: "@missing", Value: string(b)})
	}
	res.Key = key
	reuse := func(note string) (*StepResult, bool) {
		if s.Forced {
			return nil, false
		}
		state, _, _, err := checkEntry(r.cache, r.store, key)
		if err != nil || state != entryValid {
			return nil, false
		}
		res.Outcome, res.Dir, res.Note = Reused, r.cache.Entry(key), note
		if res.Run, err = r.store.RecordCached(r.runInfo(s, key, params)); err != nil {
			res.Outcome, res.Err = Failed, err
		}
		return res, true
	}
	if key != s.Key {
		if out, ok := reuse("a result made from the same incomplete inputs"); ok {
			return out
		}
	}
	unlock, err := r.cache.Lock(ctx, key)
	if err != nil {
		res.Outcome, res.Err = NotRun, err
		return res
	}
	defer unlock()
	if out, ok := reuse("made meanwhile by another process"); ok {
		return out
	}
	return w.compute(ctx, s, key, params, inputs, res, start)
}

// changed reports whether the inputs' keys differ from those planned.
func changed(keys []inputKey, planned []*Step) bool {
	for i, k := range keys {
		if k.Key != planned[i].Key {
			return true
		}
	}
	return false
}

func (w *worker) compute(ctx context.Context, s *Step, key string, params []tracking.Param, inputs []stages.Input,
	res *StepResult, start time.Time) *StepResult {
	r := w.r
	if w.backend == nil {
		b, err := device.OpenWorker(r.opts.Device, w.id, device.Threads(w.threads), device.BLAS(r.opts.BLAS))
		if err != nil {
			res.Outcome, res.Err = Failed, err
			return res
		}
		w.backend = b
	}
	info := r.runInfo(s, key, params)
	info.Device = w.backend.Name()
	id, err := r.store.StartRun(info)
	if err != nil {
		res.Outcome, res.Err = Failed, err
		return res
	}
	res.Run = id
	res.Log = r.store.LogPath(id)
	logf, err := os.OpenFile(res.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return w.fail(ctx, res, err)
	}
	defer logf.Close()
	env := &stages.Env{Inputs: inputs, Backend: w.backend, Data: r.data, Log: logf,
		Metrics: metricSink{r.store, id}, Progress: func(p stages.Progress) { r.display.progress(s, p) }}
	env.Logf("run %d: %s (%s), key %s, on %s", id, s.Stage.Address, s.Reason, key, w.backend.Name())
	for _, in := range inputs {
		if in.Missing != "" {
			env.Logf("input %s: %s has no result (%s)", in.Param, in.Stage.Address, in.Missing)
		} else {
			env.Logf("input %s: %s (%s)", in.Param, in.Stage.Address, in.Dir)
		}
	}
	tmp, err := r.cache.NewTemp(key)
	if err != nil {
		return w.fail(ctx, res, err)
	}
	env.Dir = tmp
	err = safeRun(ctx, s.Task, env)
	if err == nil {
		err = w.commit(s, key, tmp, id)
	}
	if err != nil {
		os.RemoveAll(tmp)
		env.Logf("%v", err)
		return w.fail(ctx, res, err)
	}
	if err := r.store.FinishRun(id, tracking.Finished, ""); err != nil {
		res.Outcome, res.Err = Failed, err
		return res
	}
	env.Logf("finished in %s", round(time.Since(start)))
	res.Outcome, res.Dir = Executed, r.cache.Entry(key)
	return res
}

// commit seals the stage's artifacts, records them and moves them into
// the cache.
func (w *worker) commit(s *Step, key, tmp string, id tracking.RunID) error {
	r := w.r
	m, err := r.cache.Seal(tmp, key, s.Stage.Address, s.Stage.Kind)
	if err != nil {
		return err
	}
	for _, f := range m.Files {
		a := tracking.Artifact{Path: filepath.ToSlash(filepath.Join("cache", key, f.Path)), SHA256: f.SHA256, Bytes: f.Bytes}
		if err := r.store.AddArtifact(id, a); err != nil {
			return err
		}
	}
	return r.cache.Commit(tmp, key)
}

// fail ends a run that did not finish: KILLED when the run was cancelled,
// else FAILED.
func (w *worker) fail(ctx context.Context, res *StepResult, err error) *StepResult {
	res.Outcome, res.Err = Failed, err
	status := tracking.Failed
	if ctx.Err() != nil {
		res.Outcome, status = Killed, tracking.Killed
		res.Err = fmt.Errorf("interrupted: %w", err)
	}
	if res.Run != 0 {
		if ferr := w.r.store.FinishRun(res.Run, status, res.Err.Error()); ferr != nil {
			res.Err = errors.Join(res.Err, ferr)
		}
	}
	return res
}

// safeRun runs a stage, turning a panic into an error that names the
// stage, so that one broken stage cannot take the whole run down.
func safeRun(ctx context.Context, t stages.Stage, env *stages.Env) (err error) {
	defer func() {
		if p := recover(); p != nil {
			env.Logf("panic: %v\n%s", p, debug.Stack())
			err = fmt.Errorf("internal error (a bug in Lethe; the stack is in the log): %v", p)
		}
	}()
	return t.Run(ctx, env)
}

type metricSink struct {
	store *tracking.Store
	run   tracking.RunID
}

func (m metricSink) Metric(name string, step int64, v float64) error {
	return m.store.LogMetric(m.run, name, step, v)
}
