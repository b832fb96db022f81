package tracking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// applicationID marks a SQLite file as a Lethe store ("LETH"), so that
// pointing --store at some other database fails clearly instead of Lethe
// adding its tables to it.
const applicationID = 0x4C455448

// ErrNewerSchema is wrapped by the error Open returns for a database written
// by a newer Lethe whose schema this one does not know.
var ErrNewerSchema = errors.New("database schema is newer than this Lethe supports")

// migration moves the schema from version-1 to version. Migrations are
// applied in order, each in the same transaction as its schema_version row,
// and are never edited once released: a change is a new migration.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations is the schema's history. Times are unix microseconds.
var migrations = []migration{
	{1, "initial schema", `
CREATE TABLE experiments (
	id            INTEGER PRIMARY KEY,
	name          TEXT    NOT NULL,
	spec_path     TEXT    NOT NULL DEFAULT '',
	spec_digest   TEXT    NOT NULL DEFAULT '',
	host          TEXT    NOT NULL DEFAULT '',
	pid           INTEGER NOT NULL DEFAULT 0,
	lethe_version TEXT    NOT NULL DEFAULT '',
	started_at    INTEGER NOT NULL,
	ended_at      INTEGER
);
CREATE INDEX experiments_name ON experiments(name, id);

CREATE TABLE runs (
	id            INTEGER PRIMARY KEY,
	experiment_id INTEGER REFERENCES experiments(id),
	address       TEXT    NOT NULL,
	kind          TEXT    NOT NULL,
	cache_key     TEXT    NOT NULL DEFAULT '',
	status        TEXT    NOT NULL CHECK (status IN ('QUEUED','RUNNING','FINISHED','FAILED','KILLED','CACHED')),
	queued_at     INTEGER NOT NULL,
	started_at    INTEGER,
	ended_at      INTEGER,
	host          TEXT    NOT NULL DEFAULT '',
	pid           INTEGER NOT NULL DEFAULT 0,
	proc_start    TEXT    NOT NULL DEFAULT '', -- boot id and start time of pid, to tell a reused pid
	device        TEXT    NOT NULL DEFAULT '',
	lethe_version TEXT    NOT NULL DEFAULT '',
	error         TEXT    NOT NULL DEFAULT '',
	source_run    INTEGER REFERENCES runs(id)  -- for CACHED: the FINISHED run that made the cache entry
);
CREATE INDEX runs_address ON runs(address, id);
CREATE INDEX runs_cache_key ON runs(cache_key, status, id);
CREATE INDEX runs_live ON runs(status) WHERE status IN ('QUEUED','RUNNING');

CREATE TABLE params (
	run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	name   TEXT    NOT NULL,
	value  TEXT    NOT NULL, -- canonical JSON
	source TEXT    NOT NULL DEFAULT '', -- file:line of its definition
	PRIMARY KEY (run_id, name)
) WITHOUT ROWID;

CREATE TABLE metrics (
	run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	name      TEXT    NOT NULL,
	step      INTEGER NOT NULL,
	value     REAL,              -- NULL is NaN: SQLite cannot store NaN
	logged_at INTEGER NOT NULL,
	PRIMARY KEY (run_id, name, step)
) WITHOUT ROWID;

CREATE TABLE artifacts (
	run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	path   TEXT    NOT NULL,
	sha256 TEXT    NOT NULL,
	bytes  INTEGER NOT NULL,
	PRIMARY KEY (run_id, path)
) WITHOUT ROWID;
`},
}

// SchemaVersion is the schema version this Lethe writes.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// migrate brings the database at dbPath up to the last of ms. Two processes
// opening a new store at once both get here; the version is re-read inside
// the write transaction, so only the first applies anything.
func migrate(ctx context.Context, w *sql.DB, dbPath string, ms []migration, letheVersion string) error {
	fail := func(err error) error { return fmt.Errorf("tracking: %s: %w", dbPath, err) }
	latest := ms[len(ms)-1].version

	// Most opens find the schema current; check without taking the write
	// lock. This check's statements do not see one snapshot (another
	// process may be creating the schema between them), so only a current
	// schema is taken from it; everything else is decided again inside the
	// write transaction.
	if cur, err := schemaState(ctx, w); err == nil && cur == latest {
		return nil
	}

	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	cur, err := schemaState(ctx, tx)
	if err != nil {
		return fail(err)
	}
	if cur > latest {
		return fail(fmt.Errorf("%w: it has schema version %d, this Lethe (%s) knows versions up to %d; use a newer Lethe or another store",
			ErrNewerSchema, cur, letheVersion, latest))
	}
	if cur == 0 {
		stmts := []string{
			fmt.Sprintf("PRAGMA application_id = %d", applicationID),
			`CREATE TABLE schema_version (
				version       INTEGER PRIMARY KEY,
				name          TEXT    NOT NULL,
				applied_at    INTEGER NOT NULL,
				lethe_version TEXT    NOT NULL
			)`,
		}
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fail(err)
			}
		}
	}
	for _, m := range ms {
		if m.version <= cur {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fail(fmt.Errorf("migration %d (%s): %w", m.version, m.name, err))
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_version (version, name, applied_at, lethe_version) VALUES (?, ?, ?, ?)`,
			m.version, m.name, micros(time.Now()), letheVersion); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// schemaState returns the database's schema version, 0 for an empty file, or
// an error for a database that is not a Lethe store.
func schemaState(ctx context.Context, q queryer) (int, error) {
	var appID int64
	if err := q.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return 0, err
	}
	if appID != 0 && appID != applicationID {
		return 0, fmt.Errorf("not a Lethe store: SQLite application_id is %#x, Lethe's is %#x", appID, applicationID)
	}
	rows, err := q.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return 0, err
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return 0, err
		}
		tables = append(tables, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	hasVersion := false
	for _, t := range tables {
		hasVersion = hasVersion || t == "schema_version"
	}
	switch {
	case len(tables) == 0:
		return 0, nil
	case !hasVersion || appID == 0:
		return 0, fmt.Errorf("not a Lethe store: it holds tables %s but no Lethe schema", strings.Join(tables, ", "))
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_version").Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}
