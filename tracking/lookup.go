package tracking

import (
	"database/sql"
	"errors"
	"strings"
)

// The runner's questions about earlier runs: what did this address do last
// time (to explain why a stage runs again), which run produced a cache entry
// (to verify its artifacts), and which cache entries are still in use (to
// collect the others).

// LatestRun returns the newest run of exactly this address whose status is
// one of statuses (any status when none are given); ok is false when there
// is none. Unlike Run, the address is never taken as a prefix or a glob.
func (s *Store) LatestRun(address string, statuses ...Status) (r Run, ok bool, err error) {
	q := `SELECT ` + runColumns + runFrom + `WHERE r.address = ?`
	args := []any{address}
	if len(statuses) > 0 {
		q += ` AND r.status IN (?` + strings.Repeat(", ?", len(statuses)-1) + `)`
		for _, st := range statuses {
			args = append(args, string(st))
		}
	}
	r, err = scanRun(s.r.QueryRow(q+` ORDER BY r.id DESC LIMIT 1`, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, false, nil
	}
	if err != nil {
		return Run{}, false, s.errf("latest run of %s: %w", address, err)
	}
	return r, true, nil
}

// ProducerOf returns the newest FINISHED run with this cache key: the run
// that made the cache entry, whose artifacts record the entry's checksums.
func (s *Store) ProducerOf(key string) (r Run, ok bool, err error) {
	r, err = scanRun(s.r.QueryRow(`SELECT `+runColumns+runFrom+
		`WHERE r.cache_key = ? AND r.status = 'FINISHED' ORDER BY r.id DESC LIMIT 1`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, false, nil
	}
	if err != nil {
		return Run{}, false, s.errf("producer of %s: %w", key, err)
	}
	return r, true, nil
}

// KeysInUse lists the cache keys that recorded experiments still rely on:
// those of every run of the newest experiment of each spec (by experiment
// name and spec path), and those of runs that are still QUEUED or RUNNING in
// a live process. `lethe gc` without specs keeps exactly these.
func (s *Store) KeysInUse() (map[string]bool, error) {
	if err := s.reconcile(); err != nil {
		return nil, err
	}
	rows, err := s.r.Query(`SELECT DISTINCT r.cache_key FROM runs r
		WHERE r.cache_key != '' AND (r.status IN ('QUEUED', 'RUNNING')
			OR r.experiment_id IN (SELECT MAX(id) FROM experiments GROUP BY name, spec_path))`)
	if err != nil {
		return nil, s.errf("keys in use: %w", err)
	}
	defer rows.Close()
	keys := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, s.errf("keys in use: %w", err)
		}
		keys[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("keys in use: %w", err)
	}
	return keys, nil
}
