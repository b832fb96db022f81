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
