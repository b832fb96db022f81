// Package tracking is Lethe's record of what ran: a SQLite database (through
// github.com/mattn/go-sqlite3) holding experiments, runs, their parameters,
// metric curves and artifacts, plus one log file per run, all under a store
// directory:
//
//	<store>/lethe.db          the database (WAL mode)
//	<store>/logs/<run>.log    each run's log
//
// The runner records each stage as a run (QueueRun / StartRun / RecordCached,
// then FinishRun); reports read the latest results per address
// (LatestByAddress); the CLI lists and shows runs.
//
// Several Lethe processes may use one store at once. Each Store writes through
// a single connection and every write transaction is BEGIN IMMEDIATE with a
// busy timeout, so writers queue for SQLite's lock instead of failing with
// "database is locked" (a deferred transaction that later upgrades to a write
// can fail that way without waiting). Readers use their own connections and
// never block writers (WAL).
//
// A run left QUEUED or RUNNING by a process that died shows as KILLED: each
// run records the host, pid and the process's start time, and the store
// checks them whenever it is opened or listed.
package tracking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3" // also registers the "sqlite3" driver
)

// DBName is the database file's name inside a store directory.
const DBName = "lethe.db"

// DefaultDirName is the store directory made beside a spec when neither
// --store nor LETHE_STORE names one.
const DefaultDirName = ".lethe"

// EnvStore is the environment variable that names the store directory.
const EnvStore = "LETHE_STORE"

// busyTimeout bounds how long a writer waits for another process's write
// transaction. Lethe's transactions take milliseconds, so reaching it means a
// process is stuck, not busy.
const busyTimeout = 30 * time.Second

// ResolveDir says which store directory a command uses: flagValue (--store)
// if set, else $LETHE_STORE if set, else .lethe beside specPath (inside it
// when specPath is a directory of spec files), else .lethe in the working
// directory when there is no spec.
func ResolveDir(flagValue, specPath string) string {
	if flagValue != "" {
		return filepath.Clean(flagValue)
	}
	if env := os.Getenv(EnvStore); env != "" {
		return filepath.Clean(env)
	}
	if specPath == "" {
		return DefaultDirName
	}
	if fi, err := os.Stat(specPath); err == nil && fi.IsDir() {
		return filepath.Join(specPath, DefaultDirName)
	}
	return filepath.Join(filepath.Dir(specPath), DefaultDirName)
}

// Store is an open tracking store. Its methods are safe for concurrent use.
type Store struct {
	dir     string
	dbPath  string
	version string
	host    string
	self    procIdentity

	w *sql.DB // the single writer connection
	r *sql.DB // readers

	metrics *metricBuffer

	knownMu sync.Mutex
	known   map[RunID]bool // runs that exist, so LogMetric can check cheaply

	closeOnce sync.Once
	closeErr  error
}

// Option configures Open.
type Option func(*Store)

// WithVersion records v as the Lethe version in the runs and experiments this
// Store creates and in the schema migrations it applies.
func WithVersion(v string) Option { return func(s *Store) { s.version = v } }

// Open opens the store in dir, creating the directory and the database if
// they do not exist and migrating an older schema to the current one.
func Open(dir string, opts ...Option) (*Store, error) {
	return open(dir, false, migrations, opts)
}

// OpenExisting is Open for commands that only read: it fails, with an error
// that wraps fs.ErrNotExist, when dir holds no database, instead of creating
// an empty store. It migrates an older schema as Open does.
func OpenExisting(dir string, opts ...Option) (*Store, error) {
	return open(dir, true, migrations, opts)
}

func open(dir string, mustExist bool, ms []migration, opts []Option) (*Store, error) {
	s := &Store{
		dir:     dir,
		dbPath:  filepath.Join(dir, DBName),
		version: "dev",
		self:    selfIdentity(),
		known:   map[RunID]bool{},
	}
	for _, o := range opts {
		o(s)
	}
	if h, err := os.Hostname(); err == nil {
		s.host = h
	}
	if mustExist {
		if _, err := os.Stat(s.dbPath); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("tracking: no Lethe store at %s (it has no %s): %w", dir, DBName, fs.ErrNotExist)
			}
			return nil, fmt.Errorf("tracking: %w", err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tracking: create store directory: %w", err)
	}
	if err := os.MkdirAll(s.logDir(), 0o755); err != nil {
		return nil, fmt.Errorf("tracking: create log directory: %w", err)
	}

	abs, err := filepath.Abs(s.dbPath)
	if err != nil {
		return nil, fmt.Errorf("tracking: %w", err)
	}
	// synchronous=NORMAL: in WAL mode a commit survives the process being
	// killed at any moment (it is in the WAL file); only a power loss can undo
	// the last commits, never corrupt the database.
	base := sqliteURI(abs) + fmt.Sprintf("?_busy_timeout=%d&_journal_mode=WAL&_synchronous=NORMAL&_foreign_keys=on",
		busyTimeout.Milliseconds())
	if s.w, err = sql.Open("sqlite3", base+"&_txlock=immediate"); err != nil {
		return nil, fmt.Errorf("tracking: %s: %w", s.dbPath, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if s.r, err = sql.Open("sqlite3", base); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("tracking: %s: %w", s.dbPath, err)
	}
	s.r.SetMaxOpenConns(4)

	if err := migrateRetrying(s.w, s.dbPath, ms, s.version); err != nil {
		s.w.Close()
		s.r.Close()
		return nil, err
	}
	s.metrics = newMetricBuffer(s)
	if err := s.reconcile(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// migrateRetrying migrates, retrying while SQLite reports the database
// busy. Processes that open a new store at once race to switch it to WAL
// mode as they connect, and SQLite answers one of them SQLITE_BUSY at once,
// without waiting for the busy timeout (waiting could deadlock); the
// switch is done a moment later, so trying again succeeds.
func migrateRetrying(w *sql.DB, dbPath string, ms []migration, version string) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		err := migrate(context.Background(), w, dbPath, ms, version)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Duration(5+rand.IntN(20)) * time.Millisecond)
	}
}

func isBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// sqliteURI turns an absolute path into a file: URI. The go-sqlite3 driver
// splits its DSN at the first '?', and SQLite decodes %HH in URIs, so those
// characters (and '#') must be escaped for paths that contain them.
func sqliteURI(abs string) string {
	var b strings.Builder
	b.WriteString("file:")
	for _, c := range []byte(filepath.ToSlash(abs)) {
		switch c {
		case '%', '?', '#':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Dir is the store directory.
func (s *Store) Dir() string { return s.dir }

// DBPath is the database file.
func (s *Store) DBPath() string { return s.dbPath }

func (s *Store) logDir() string { return filepath.Join(s.dir, "logs") }

// LogPath is the log file of run id, <store>/logs/<id>.log. The directory
// exists once the store is open; the file exists once someone writes it.
func (s *Store) LogPath(id RunID) string {
	return filepath.Join(s.logDir(), fmt.Sprintf("%d.log", id))
}

// Close writes buffered metric points and closes the database. Runs this
// process left QUEUED or RUNNING stay so until FinishRun, or until a later
// Open finds this process gone and marks them KILLED.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.metrics != nil {
			errs = append(errs, s.metrics.close())
		}
		errs = append(errs, s.w.Close(), s.r.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// write runs fn in a BEGIN IMMEDIATE transaction on the writer connection.
func (s *Store) write(fn func(tx *sql.Tx) error) error {
	tx, err := s.w.Begin()
	if err != nil {
		return fmt.Errorf("tracking: %s: begin: %w", s.dbPath, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("tracking: %s: commit: %w", s.dbPath, err)
	}
	return nil
}

// micros is the database's time representation: unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64)
}
