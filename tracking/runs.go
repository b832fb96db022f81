package tracking

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Status is where a run is in its life.
type Status string

// A run is QUEUED or RUNNING while its process works on it, then FINISHED,
// FAILED or KILLED. CACHED records that a stage's result was reused from the
// cache instead of being computed again.
const (
	Queued   Status = "QUEUED"
	Running  Status = "RUNNING"
	Finished Status = "FINISHED"
	Failed   Status = "FAILED"
	Killed   Status = "KILLED"
	Cached   Status = "CACHED"
)

// statuses lists every status, in life order.
var statuses = []Status{Queued, Running, Finished, Failed, Killed, Cached}

// ParseStatus reads a status name, in any case.
func ParseStatus(s string) (Status, error) {
	for _, st := range statuses {
		if strings.EqualFold(s, string(st)) {
			return st, nil
		}
	}
	names := make([]string, len(statuses))
	for i, st := range statuses {
		names[i] = string(st)
	}
	return "", fmt.Errorf("unknown run status %q (want one of %s)", s, strings.Join(names, ", "))
}

// Live reports whether a process is (or should be) still working on the run.
func (s Status) Live() bool { return s == Queued || s == Running }

// ExperimentID identifies an experiment: one `lethe run` of a spec.
type ExperimentID int64

// RunID identifies a run: one stage instance executed, or found cached, once.
type RunID int64

// ExperimentInfo describes an experiment as it begins.
type ExperimentInfo struct {
	Name       string // the spec's experiment name
	SpecPath   string // the spec file or directory, as given
	SpecDigest string // sha256 of the spec's sources, so a report can tell edits apart
}

// BeginExperiment records the start of an experiment.
func (s *Store) BeginExperiment(info ExperimentInfo) (ExperimentID, error) {
	if info.Name == "" {
		return 0, errors.New("tracking: BeginExperiment: the experiment has no name")
	}
	var id int64
	err := s.write(func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO experiments (name, spec_path, spec_digest, host, pid, lethe_version, started_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			info.Name, info.SpecPath, info.SpecDigest, s.host, s.self.pid, s.version, micros(time.Now()))
		if err != nil {
			return s.errf("begin experiment %q: %w", info.Name, err)
		}
		id, err = res.LastInsertId()
		return err
	})
	return ExperimentID(id), err
}

// EndExperiment records that the experiment's process is done with it.
func (s *Store) EndExperiment(id ExperimentID) error {
	return s.write(func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE experiments SET ended_at = ? WHERE id = ?`, micros(time.Now()), int64(id))
		if err != nil {
			return s.errf("end experiment %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return s.errf("end experiment %d: %w", id, ErrNotFound)
		}
		return nil
	})
}

// RunInfo describes a run as it is recorded.
type RunInfo struct {
	Experiment ExperimentID // 0 for a run outside any experiment
	Address    string       // the stage instance, e.g. unlearn.osp[ratio=0.02,seed=1]
	Kind       string       // the stage kind: dataset, train, unlearn, evaluate, report
	CacheKey   string       // the content address of the stage's result (hex sha256)
	Device     string       // where it runs: cpu, cuda:0, ...
	Params     []Param      // recorded with the run, as SetParams would
}

// Param is one parameter of a run.
type Param struct {
	Name   string
	Value  string // JSON, canonical as the caller makes it (cty JSON); stored without insignificant whitespace
	Source string // where it was set, file:line
}

// Artifact is a file a run produced.
type Artifact struct {
	Path   string // as the runner names it, usually relative to the store
	SHA256 string // hex, lower case
	Bytes  int64
}

// QueueRun records a run that this process will start later (MarkRunning).
func (s *Store) QueueRun(info RunInfo) (RunID, error) { return s.addRun(info, Queued) }

// StartRun records a run that this process starts now.
func (s *Store) StartRun(info RunInfo) (RunID, error) { return s.addRun(info, Running) }

// RecordCached records that a stage's result was found in the cache. The run
// is CACHED at once; its SourceRun is the latest FINISHED run with the same
// cache key, if the store has one, whose metrics and artifacts are the
// results (see Run.ResultsRun).
func (s *Store) RecordCached(info RunInfo) (RunID, error) {
	if info.CacheKey == "" {
		return 0, fmt.Errorf("tracking: record cached run %s: no cache key", info.Address)
	}
	return s.addRun(info, Cached)
}

func (s *Store) addRun(info RunInfo, status Status) (RunID, error) {
	if info.Address == "" || info.Kind == "" {
		return 0, fmt.Errorf("tracking: record run: address %q and kind %q must both be set", info.Address, info.Kind)
	}
	params, err := cleanParams(info.Params)
	if err != nil {
		return 0, fmt.Errorf("tracking: record run %s: %w", info.Address, err)
	}
	var exp any
	if info.Experiment != 0 {
		exp = int64(info.Experiment)
	}
	now := micros(time.Now())
	var started, ended any
	switch status {
	case Running:
		started = now
	case Cached:
		started, ended = now, now
	}
	var id int64
	err = s.write(func(tx *sql.Tx) error {
		var source any
		if status == Cached {
			var src int64
			err := tx.QueryRow(`SELECT id FROM runs WHERE cache_key = ? AND status = 'FINISHED' ORDER BY id DESC LIMIT 1`,
				info.CacheKey).Scan(&src)
			switch {
			case err == nil:
				source = src
			case !errors.Is(err, sql.ErrNoRows):
				return s.errf("record run %s: %w", info.Address, err)
			}
		}
		res, err := tx.Exec(`INSERT INTO runs (experiment_id, address, kind, cache_key, status, queued_at, started_at, ended_at,
				host, pid, proc_start, device, lethe_version, source_run)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			exp, info.Address, info.Kind, info.CacheKey, string(status), now, started, ended,
			s.host, s.self.pid, s.self.token, info.Device, s.version, source)
		if err != nil {
			if strings.Contains(err.Error(), "FOREIGN KEY") {
				return s.errf("record run %s: no experiment %d", info.Address, info.Experiment)
			}
			return s.errf("record run %s: %w", info.Address, err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		return insertParams(tx, RunID(id), params)
	})
	if err != nil {
		return 0, err
	}
	s.markKnown(RunID(id))
	return RunID(id), nil
}

// MarkRunning moves a QUEUED run to RUNNING, now, in this process.
func (s *Store) MarkRunning(id RunID) error {
	return s.write(func(tx *sql.Tx) error {
		st, err := runStatus(tx, id)
		if err != nil {
			return s.errf("start run %d: %w", id, err)
		}
		if st != Queued {
			return s.errf("start run %d: it is %s, not QUEUED", id, st)
		}
		_, err = tx.Exec(`UPDATE runs SET status = 'RUNNING', started_at = ?, host = ?, pid = ?, proc_start = ? WHERE id = ?`,
			micros(time.Now()), s.host, s.self.pid, s.self.token, int64(id))
		if err != nil {
			return s.errf("start run %d: %w", id, err)
		}
		return nil
	})
}

// FinishRun ends a run: FINISHED (it must have been RUNNING), FAILED or
// KILLED, with errText saying why for the last two. Metric points logged
// before the call are written in the same transaction, so a FINISHED run
// never lacks points of its curves.
func (s *Store) FinishRun(id RunID, status Status, errText string) error {
	switch status {
	case Finished, Failed, Killed:
	default:
		return fmt.Errorf("tracking: finish run %d: %s is not an end status (want FINISHED, FAILED or KILLED)", id, status)
	}
	return s.metrics.flushWith(func(tx *sql.Tx) error {
		st, err := runStatus(tx, id)
		if err != nil {
			return s.errf("finish run %d: %w", id, err)
		}
		if !st.Live() {
			return s.errf("finish run %d as %s: it is already %s", id, status, st)
		}
		if status == Finished && st != Running {
			return s.errf("finish run %d: it is %s and was never started", id, st)
		}
		_, err = tx.Exec(`UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ?`,
			string(status), micros(time.Now()), errText, int64(id))
		if err != nil {
			return s.errf("finish run %d: %w", id, err)
		}
		return nil
	})
}

// SetParams records parameters of a run, replacing any of the same name.
func (s *Store) SetParams(id RunID, params []Param) error {
	ps, err := cleanParams(params)
	if err != nil {
		return fmt.Errorf("tracking: set params of run %d: %w", id, err)
	}
	return s.write(func(tx *sql.Tx) error {
		if _, err := runStatus(tx, id); err != nil {
			return s.errf("set params of run %d: %w", id, err)
		}
		return insertParams(tx, id, ps)
	})
}

// cleanParams checks that every value is JSON and compacts it, so equal
// values are stored as equal text.
func cleanParams(params []Param) ([]Param, error) {
	out := make([]Param, len(params))
	seen := map[string]bool{}
	for i, p := range params {
		if p.Name == "" {
			return nil, fmt.Errorf("parameter %d has no name", i)
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("parameter %q is given twice", p.Name)
		}
		seen[p.Name] = true
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(p.Value)); err != nil {
			return nil, fmt.Errorf("parameter %q: value %q is not JSON: %v", p.Name, p.Value, err)
		}
		out[i] = Param{Name: p.Name, Value: b.String(), Source: p.Source}
	}
	return out, nil
}

func insertParams(tx *sql.Tx, id RunID, params []Param) error {
	if len(params) == 0 {
		return nil
	}
	stmt, err := tx.Prepare(`INSERT INTO params (run_id, name, value, source) VALUES (?, ?, ?, ?)
		ON CONFLICT (run_id, name) DO UPDATE SET value = excluded.value, source = excluded.source`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, p := range params {
		if _, err := stmt.Exec(int64(id), p.Name, p.Value, p.Source); err != nil {
			return fmt.Errorf("tracking: parameter %q of run %d: %w", p.Name, id, err)
		}
	}
	return nil
}

// AddArtifact records a file a run produced, replacing an earlier record of
// the same path.
func (s *Store) AddArtifact(id RunID, a Artifact) error {
	if a.Path == "" {
		return fmt.Errorf("tracking: artifact of run %d has no path", id)
	}
	if !IsSHA256Hex(a.SHA256) {
		return fmt.Errorf("tracking: artifact %s of run %d: sha256 %q is not 64 lower-case hex digits", a.Path, id, a.SHA256)
	}
	if a.Bytes < 0 {
		return fmt.Errorf("tracking: artifact %s of run %d: negative size %d", a.Path, id, a.Bytes)
	}
	return s.write(func(tx *sql.Tx) error {
		if _, err := runStatus(tx, id); err != nil {
			return s.errf("add artifact %s: run %d: %w", a.Path, id, err)
		}
		_, err := tx.Exec(`INSERT INTO artifacts (run_id, path, sha256, bytes) VALUES (?, ?, ?, ?)
			ON CONFLICT (run_id, path) DO UPDATE SET sha256 = excluded.sha256, bytes = excluded.bytes`,
			int64(id), a.Path, a.SHA256, a.Bytes)
		if err != nil {
			return s.errf("add artifact %s of run %d: %w", a.Path, id, err)
		}
		return nil
	})
}

// IsSHA256Hex reports whether s is a sha256 in lower-case hex, as artifact
// checksums and cache keys are.
func IsSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ErrNotFound is wrapped by errors about runs or experiments that do not exist.
var ErrNotFound = errors.New("not found")

func runStatus(tx *sql.Tx, id RunID) (Status, error) {
	var st string
	err := tx.QueryRow(`SELECT status FROM runs WHERE id = ?`, int64(id)).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("run %w", ErrNotFound)
	}
	return Status(st), err
}

func (s *Store) markKnown(id RunID) {
	s.knownMu.Lock()
	s.known[id] = true
	s.knownMu.Unlock()
}

// runExists answers from memory for runs this Store has seen, so logging a
// metric point costs no query.
func (s *Store) runExists(id RunID) (bool, error) {
	s.knownMu.Lock()
	ok := s.known[id]
	s.knownMu.Unlock()
	if ok {
		return true, nil
	}
	var one int
	err := s.r.QueryRow(`SELECT 1 FROM runs WHERE id = ?`, int64(id)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, s.errf("look up run %d: %w", id, err)
	}
	s.markKnown(id)
	return true, nil
}

// errf formats an error naming the database file.
func (s *Store) errf(format string, args ...any) error {
	return fmt.Errorf("tracking: %s: "+format, append([]any{s.dbPath}, args...)...)
}
