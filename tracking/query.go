package tracking

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Run is a recorded run.
type Run struct {
	ID             RunID
	Experiment     ExperimentID // 0 when the run belongs to none
	ExperimentName string
	Address        string
	Kind           string
	CacheKey       string
	Status         Status
	Queued         time.Time
	Started        time.Time // zero until it runs
	Ended          time.Time // zero while it runs
	Host           string
	PID            int
	Device         string
	Version        string // Lethe's
	Error          string
	SourceRun      RunID // for CACHED: the FINISHED run whose results were reused; 0 if unknown
}

// Duration is how long the run ran: until now while it runs, 0 if it never
// started.
func (r Run) Duration() time.Duration {
	switch {
	case r.Started.IsZero():
		return 0
	case r.Ended.IsZero():
		return time.Since(r.Started)
	}
	return r.Ended.Sub(r.Started)
}

// ResultsRun is the run whose metrics and artifacts are this run's results:
// the source run for a CACHED run that has one, else the run itself.
func (r Run) ResultsRun() RunID {
	if r.Status == Cached && r.SourceRun != 0 {
		return r.SourceRun
	}
	return r.ID
}

const runColumns = `r.id, r.experiment_id, COALESCE(e.name, ''), r.address, r.kind, r.cache_key, r.status,
	r.queued_at, r.started_at, r.ended_at, r.host, r.pid, r.device, r.lethe_version, r.error, r.source_run`

const runFrom = ` FROM runs r LEFT JOIN experiments e ON e.id = r.experiment_id `

func scanRun(rows interface{ Scan(...any) error }) (Run, error) {
	var (
		r                      Run
		exp, src               sql.NullInt64
		queued, started, ended sql.NullInt64
		status                 string
	)
	err := rows.Scan(&r.ID, &exp, &r.ExperimentName, &r.Address, &r.Kind, &r.CacheKey, &status,
		&queued, &started, &ended, &r.Host, &r.PID, &r.Device, &r.Version, &r.Error, &src)
	r.Experiment = ExperimentID(exp.Int64)
	r.SourceRun = RunID(src.Int64)
	r.Status = Status(status)
	r.Queued, r.Started, r.Ended = fromMicros(queued), fromMicros(started), fromMicros(ended)
	return r, err
}

// Filter selects runs. Zero fields select everything.
type Filter struct {
	Statuses   []Status
	Kind       string
	Experiment string // experiment name
	// Address is a glob over whole addresses: '*' matches any run of
	// characters, '?' one character, everything else itself (so the
	// brackets of unlearn.osp[ratio=0.02] need no escaping).
	Address string
	Limit   int // at most this many, newest first; 0 for all
}

// Runs lists the runs that f selects, newest first.
func (s *Store) Runs(f Filter) ([]Run, error) {
	if err := s.reconcile(); err != nil {
		return nil, err
	}
	q := `SELECT ` + runColumns + runFrom + `WHERE 1=1`
	var args []any
	if len(f.Statuses) > 0 {
		q += ` AND r.status IN (?` + strings.Repeat(", ?", len(f.Statuses)-1) + `)`
		for _, st := range f.Statuses {
			if _, err := ParseStatus(string(st)); err != nil {
				return nil, fmt.Errorf("tracking: %w", err)
			}
			args = append(args, string(st))
		}
	}
	if f.Kind != "" {
		q += ` AND r.kind = ?`
		args = append(args, f.Kind)
	}
	if f.Experiment != "" {
		q += ` AND e.name = ?`
		args = append(args, f.Experiment)
	}
	q += ` ORDER BY r.id DESC`
	rows, err := s.r.Query(q, args...)
	if err != nil {
		return nil, s.errf("list runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, s.errf("list runs: %w", err)
		}
		if f.Address != "" && !GlobMatch(f.Address, r.Address) {
			continue
		}
		out = append(out, r)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("list runs: %w", err)
	}
	return out, nil
}

// Run finds one run by ref, as a person names it: a run id (digits), or an
// address or a prefix of one, which names the latest run of that address. A
// prefix shared by several addresses is an error that lists them. Programs
// that hold an exact address use LatestByAddress or Runs instead, so that a
// new address is never taken for a prefix of an old one.
func (s *Store) Run(ref string) (Run, error) {
	if err := s.reconcile(); err != nil {
		return Run{}, err
	}
	if ref == "" {
		return Run{}, errors.New("tracking: empty run reference")
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		r, err := scanRun(s.r.QueryRow(`SELECT `+runColumns+runFrom+`WHERE r.id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return Run{}, s.errf("no run %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return Run{}, s.errf("run %d: %w", id, err)
		}
		return r, nil
	}
	rows, err := s.r.Query(`SELECT DISTINCT address FROM runs WHERE substr(address, 1, ?) = ? ORDER BY address`, len(ref), ref)
	if err != nil {
		return Run{}, s.errf("find run %q: %w", ref, err)
	}
	var addrs []string
	exact := false
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			rows.Close()
			return Run{}, s.errf("find run %q: %w", ref, err)
		}
		addrs = append(addrs, a)
		exact = exact || a == ref
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Run{}, s.errf("find run %q: %w", ref, err)
	}
	switch {
	case exact:
		addrs = []string{ref}
	case len(addrs) == 0:
		return Run{}, s.errf("no run with id or address %q: %w", ref, ErrNotFound)
	case len(addrs) > 1:
		shown := addrs
		if len(shown) > 8 {
			shown = append(shown[:8:8], fmt.Sprintf("... (%d more)", len(addrs)-8))
		}
		return Run{}, s.errf("%q matches %d addresses; say which: %s", ref, len(addrs), strings.Join(shown, ", "))
	}
	r, err := scanRun(s.r.QueryRow(`SELECT `+runColumns+runFrom+`WHERE r.address = ? ORDER BY r.id DESC LIMIT 1`, addrs[0]))
	if err != nil {
		return Run{}, s.errf("run %s: %w", addrs[0], err)
	}
	return r, nil
}

// Params lists a run's parameters by name.
func (s *Store) Params(id RunID) ([]Param, error) {
	rows, err := s.r.Query(`SELECT name, value, source FROM params WHERE run_id = ? ORDER BY name`, int64(id))
	if err != nil {
		return nil, s.errf("params of run %d: %w", id, err)
	}
	defer rows.Close()
	var out []Param
	for rows.Next() {
		var p Param
		if err := rows.Scan(&p.Name, &p.Value, &p.Source); err != nil {
			return nil, s.errf("params of run %d: %w", id, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Artifacts lists a run's artifacts by path.
func (s *Store) Artifacts(id RunID) ([]Artifact, error) {
	rows, err := s.r.Query(`SELECT path, sha256, bytes FROM artifacts WHERE run_id = ? ORDER BY path`, int64(id))
	if err != nil {
		return nil, s.errf("artifacts of run %d: %w", id, err)
	}
	defer rows.Close()
	var out []Artifact
	for rows.Next() {
		var a Artifact
		if err := rows.Scan(&a.Path, &a.SHA256, &a.Bytes); err != nil {
			return nil, s.errf("artifacts of run %d: %w", id, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Metrics returns a run's metrics by name, each in step order. Points still
// buffered in this Store are written first, so a caller sees what it logged.
func (s *Store) Metrics(id RunID) ([]Series, error) {
	if err := s.Flush(); err != nil {
		return nil, err
	}
	rows, err := s.r.Query(`SELECT name, step, value, logged_at FROM metrics WHERE run_id = ? ORDER BY name, step`, int64(id))
	if err != nil {
		return nil, s.errf("metrics of run %d: %w", id, err)
	}
	defer rows.Close()
	var out []Series
	for rows.Next() {
		var (
			name string
			p    Point
			v    sql.NullFloat64
			at   int64
		)
		if err := rows.Scan(&name, &p.Step, &v, &at); err != nil {
			return nil, s.errf("metrics of run %d: %w", id, err)
		}
		p.Value = math.NaN()
		if v.Valid {
			p.Value = v.Float64
		}
		p.Time = time.UnixMicro(at)
		if len(out) == 0 || out[len(out)-1].Name != name {
			out = append(out, Series{Name: name})
		}
		last := &out[len(out)-1]
		last.Points = append(last.Points, p)
	}
	return out, rows.Err()
}

// Result is an address's latest result: the run, and the metrics of its
// ResultsRun.
type Result struct {
	Run     Run
	Metrics []Series
}

// LatestByAddress returns, for each address, its latest FINISHED or CACHED
// run and that run's results. Only runs of the named experiment count unless
// experiment is empty; nil addresses means every address there is. Addresses
// with no such run are absent from the map.
func (s *Store) LatestByAddress(experiment string, addresses []string) (map[string]Result, error) {
	if err := s.Flush(); err != nil {
		return nil, err
	}
	q := `SELECT ` + runColumns + runFrom + `WHERE r.status IN ('FINISHED', 'CACHED')`
	var args []any
	if experiment != "" {
		q += ` AND e.name = ?`
		args = append(args, experiment)
	}
	q += ` ORDER BY r.id DESC`
	var want map[string]bool
	if addresses != nil {
		want = make(map[string]bool, len(addresses))
		for _, a := range addresses {
			want[a] = true
		}
	}
	rows, err := s.r.Query(q, args...)
	if err != nil {
		return nil, s.errf("latest results: %w", err)
	}
	out := map[string]Result{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			rows.Close()
			return nil, s.errf("latest results: %w", err)
		}
		if _, seen := out[r.Address]; seen || (want != nil && !want[r.Address]) {
			continue
		}
		out[r.Address] = Result{Run: r}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.errf("latest results: %w", err)
	}
	for a, res := range out {
		if res.Metrics, err = s.Metrics(res.Run.ResultsRun()); err != nil {
			return nil, err
		}
		out[a] = res
	}
	return out, nil
}

// TailLog returns the last n lines of a run's log (fewer if it is shorter).
// A run that wrote no log gives an error wrapping fs.ErrNotExist.
func (s *Store) TailLog(id RunID, n int) ([]string, error) {
	f, err := os.Open(s.LogPath(id))
	if err != nil {
		return nil, fmt.Errorf("tracking: log of run %d: %w", id, err)
	}
	defer f.Close()
	lines, err := tail(f, n)
	if err != nil {
		return nil, fmt.Errorf("tracking: log of run %d: %w", id, err)
	}
	return lines, nil
}

// tail reads backwards from the end in chunks until it has n full lines, so a
// long training log costs only its last few kilobytes.
func tail(f *os.File, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	const chunk = 16 << 10
	end := fi.Size()
	var buf []byte
	for off := end; off > 0; {
		step := int64(chunk)
		if off < step {
			step = off
		}
		off -= step
		b := make([]byte, step)
		if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
			return nil, err
		}
		buf = append(b, buf...)
		// n lines need n newlines before them, plus the final one.
		if strings.Count(string(buf), "\n") > n {
			break
		}
	}
	text := strings.TrimSuffix(string(buf), "\n")
	if text == "" {
		return nil, nil
	}
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}

// GlobMatch matches name against pattern, where '*' is any run of
// characters and '?' any one character; everything else, brackets
// included, matches itself (stage addresses contain brackets, so
// path.Match does not fit).
func GlobMatch(pattern, name string) bool {
	p, s := []rune(pattern), []rune(name)
	// Iterative matching with backtracking to the last '*': linear in
	// practice, never exponential.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
