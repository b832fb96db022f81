package tracking

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// Metric points are buffered and written in batches: a training curve logged
// point by point would otherwise cost a transaction (and an fsync of the WAL)
// per point. A batch is written when it is full, every flushInterval, on
// Flush, FinishRun and Close.
const (
	maxPendingPoints = 1024
	flushInterval    = time.Second
)

// Point is one value of a metric.
type Point struct {
	Step  int64
	Value float64 // NaN is kept as NaN
	Time  time.Time
}

// Series is one metric of a run, its points in step order.
type Series struct {
	Name   string
	Points []Point
}

// Last is the point with the highest step; ok is false for an empty series.
func (s Series) Last() (p Point, ok bool) {
	if len(s.Points) == 0 {
		return Point{}, false
	}
	return s.Points[len(s.Points)-1], true
}

type pendingPoint struct {
	run   RunID
	name  string
	step  int64
	value float64
	at    int64
}

type metricBuffer struct {
	s *Store

	mu      sync.Mutex // guards pending and err
	pending []pendingPoint
	err     error // a background flush's failure, reported by the next call

	flushMu sync.Mutex // one flush at a time, so batches commit in order

	stop chan struct{}
	done chan struct{}
}

func newMetricBuffer(s *Store) *metricBuffer {
	b := &metricBuffer{s: s, stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

func (b *metricBuffer) loop() {
	defer close(b.done)
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			if err := b.flushWith(nil); err != nil {
				b.mu.Lock()
				if b.err == nil {
					b.err = err
				}
				b.mu.Unlock()
			}
		}
	}
}

// LogMetric records value as metric name of run at step (an epoch, an
// iteration; 0 for a single final value). Logging the same step again
// replaces its value. Points reach the database in batches (see Flush); an
// error from writing an earlier batch is returned by a later call.
func (s *Store) LogMetric(run RunID, name string, step int64, value float64) error {
	if name == "" {
		return fmt.Errorf("tracking: log metric of run %d: empty name", run)
	}
	if step < 0 {
		return fmt.Errorf("tracking: log metric %s of run %d: negative step %d", name, run, step)
	}
	ok, err := s.runExists(run)
	if err != nil {
		return err
	}
	if !ok {
		return s.errf("log metric %s: run %d: %w", name, run, ErrNotFound)
	}
	b := s.metrics
	b.mu.Lock()
	if err := b.err; err != nil {
		b.err = nil
		b.mu.Unlock()
		return err
	}
	b.pending = append(b.pending, pendingPoint{run, name, step, value, micros(time.Now())})
	full := len(b.pending) >= maxPendingPoints
	b.mu.Unlock()
	if full {
		return b.flushWith(nil)
	}
	return nil
}

// Flush writes the buffered metric points now.
func (s *Store) Flush() error {
	b := s.metrics
	b.mu.Lock()
	err := b.err
	b.err = nil
	b.mu.Unlock()
	return errors.Join(err, b.flushWith(nil))
}

// flushWith writes the pending points and then runs also (if not nil) in the
// same transaction. If the transaction fails, the points are lost and the
// error says how many.
func (b *metricBuffer) flushWith(also func(tx *sql.Tx) error) error {
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	b.mu.Lock()
	batch := b.pending
	b.pending = nil
	b.mu.Unlock()
	if len(batch) == 0 && also == nil {
		return nil
	}
	err := b.s.write(func(tx *sql.Tx) error {
		if len(batch) > 0 {
			if err := insertPoints(tx, batch); err != nil {
				return b.s.errf("write %d metric points: %w", len(batch), err)
			}
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
	if err != nil && len(batch) > 0 && also != nil {
		// also's failure (say, finishing a run twice) must not lose points
		// that are fine on their own.
		if err2 := b.s.write(func(tx *sql.Tx) error { return insertPoints(tx, batch) }); err2 != nil {
			err = errors.Join(err, b.s.errf("write %d metric points: %w", len(batch), err2))
		}
	}
	return err
}

func insertPoints(tx *sql.Tx, batch []pendingPoint) error {
	stmt, err := tx.Prepare(`INSERT INTO metrics (run_id, name, step, value, logged_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (run_id, name, step) DO UPDATE SET value = excluded.value, logged_at = excluded.logged_at`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, p := range batch {
		var v any = p.value
		if math.IsNaN(p.value) {
			v = nil
		}
		if _, err := stmt.Exec(int64(p.run), p.name, p.step, v, p.at); err != nil {
			return fmt.Errorf("metric %s step %d of run %d: %w", p.name, p.step, p.run, err)
		}
	}
	return nil
}

func (b *metricBuffer) close() error {
	close(b.stop)
	<-b.done
	b.mu.Lock()
	err := b.err
	b.mu.Unlock()
	return errors.Join(err, b.flushWith(nil))
}
