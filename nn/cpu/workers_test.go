package cpu

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestWorkersRunEachShareOnce runs ops back to back (helpers spinning),
// after pauses longer than the spin (helpers asleep) and with fewer
// workers than the pool has: every worker index below k runs exactly once
// per op, and none above it.
func TestWorkersRunEachShareOnce(t *testing.T) {
	p := newWorkers(4)
	defer p.stop()
	var calls [4]atomic.Int32
	for op := 0; op < 300; op++ {
		k := 1 + op%4
		if op%50 == 49 {
			time.Sleep(2 * spinFor)
		}
		for w := range calls {
			calls[w].Store(0)
		}
		p.run(k, func(w int) { calls[w].Add(1) })
		for w := range calls {
			want := int32(0)
			if w < k {
				want = 1
			}
			if got := calls[w].Load(); got != want {
				t.Fatalf("op %d with %d workers: worker %d ran %d times, want %d", op, k, w, got, want)
			}
		}
	}
}

// TestWorkersStop: after stop, runs still complete (on the caller).
func TestWorkersStop(t *testing.T) {
	p := newWorkers(3)
	p.run(3, func(int) {})
	p.stop()
	var n atomic.Int32
	p.run(3, func(int) { n.Add(1) })
	if n.Load() != 3 {
		t.Fatalf("after stop, %d of 3 shares ran", n.Load())
	}
}

// TestWorkersShareCoversEachItemOnce: share hands out every item of
// [0, total) exactly once, in pieces of at least grain items (but for a
// job too small to cut, run whole), for pools of 1 to 3 workers.
func TestWorkersShareCoversEachItemOnce(t *testing.T) {
	for n := 1; n <= 3; n++ {
		p := newWorkers(n)
		for _, c := range []struct{ total, grain int }{{0, 1}, {1, 1}, {5, 1}, {7, 3}, {100, 1}, {100, 30}, {1000, 7}, {33, 64}} {
			seen := make([]atomic.Int32, c.total)
			var pieces atomic.Int32
			p.share(c.total, c.grain, func(lo, hi int) {
				pieces.Add(1)
				if hi-lo < c.grain && !(lo == 0 && hi == c.total) {
					t.Errorf("n=%d total=%d grain=%d: piece [%d,%d) below the grain", n, c.total, c.grain, lo, hi)
				}
				for i := lo; i < hi; i++ {
					seen[i].Add(1)
				}
			})
			for i := range seen {
				if got := seen[i].Load(); got != 1 {
					t.Fatalf("n=%d total=%d grain=%d: item %d taken %d times", n, c.total, c.grain, i, got)
				}
			}
			if max := int32(n * piecesPerWorker); pieces.Load() > max {
				t.Errorf("n=%d total=%d: %d pieces, want at most %d", n, c.total, pieces.Load(), max)
			}
		}
		p.stop()
	}
}
