package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// workers is a small persistent pool of goroutines. An op hands it one
// function per worker; the calling goroutine runs worker 0 itself, so an op
// on a one-thread backend never touches the pool. split cuts work
// statically (worker w always gets the same share of the same op) for ops
// that sum per worker, which keeps results bit-identical from run to run
// for a given thread count; share lets the workers claim pieces as they
// go, for ops whose every item is computed whole by whoever takes it.
//
// Helpers spin for a short while after each op before they sleep: a
// training step is hundreds of ops back to back, and waking a sleeping
// goroutine took ~120 µs per op on this 2-core VM (measured: 20 ms of a
// 930 ms ResNet-18 step went to hand-offs), against ~1 µs for a spinning
// one.
type workers struct {
	n int

	mu   sync.Mutex
	wake *sync.Cond
	// gen is bumped by each run, with the run's worker count in its low
	// 16 bits (so a helper not taking part never reads shared state that the
	// next run may be writing); helpers wait for it to change.
	gen     atomic.Uint64
	fn      func(w int)
	pending atomic.Int32 // helpers of the current run still working
	done    chan struct{}
	stopped atomic.Bool
	// nextPiece is the next piece to claim in share.
	nextPiece atomic.Int64
}

// maxThreads bounds a backend's workers (a run's worker count travels in
// 16 bits of gen).
const maxThreads = 1<<16 - 1

// spinFor is how long an idle helper polls for the next op before it
// sleeps.
const spinFor = 200 * time.Microsecond

func newWorkers(n int) *workers {
	p := &workers{n: n, done: make(chan struct{}, 1)}
	p.wake = sync.NewCond(&p.mu)
	for w := 1; w < n; w++ {
		go p.loop(w)
	}
	return p
}

func (p *workers) loop(w int) {
	// gen starts at 0 in newWorkers; a helper that starts late still
	// sees the runs made before it.
	var seen uint64
	for {
		g := p.await(seen)
		if p.stopped.Load() {
			return
		}
		seen = g
		if w < int(g&0xffff) {
			p.fn(w)
			if p.pending.Add(-1) == 0 {
				p.done <- struct{}{}
			}
		}
	}
}

// await returns the first generation after seen, spinning for spinFor and
// then sleeping on the condition variable.
func (p *workers) await(seen uint64) uint64 {
	if spin(func() bool { return p.gen.Load() != seen || p.stopped.Load() }) {
		return p.gen.Load()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.gen.Load() == seen && !p.stopped.Load() {
		p.wake.Wait()
	}
	return p.gen.Load()
}

// spin polls cond for up to spinFor, yielding now and then so that other
// goroutines on this thread still run, and reports whether it came true.
func spin(cond func() bool) bool {
	start := time.Now()
	for i := 0; ; i++ {
		if cond() {
			return true
		}
		if i&63 == 63 {
			if time.Since(start) > spinFor {
				return false
			}
			runtime.Gosched()
		}
	}
}

// stop ends the helper goroutines. It is called by a cleanup when the
// Backend becomes unreachable, or by Backend.Close.
func (p *workers) stop() {
	p.mu.Lock()
	p.stopped.Store(true)
	p.wake.Broadcast()
	p.mu.Unlock()
}

// run calls fn(w) for w in [0, k) concurrently, k ≤ p.n, and waits.
func (p *workers) run(k int, fn func(w int)) {
	if k > p.n {
		k = p.n
	}
	if k <= 1 || p.stopped.Load() {
		for w := 0; w < k; w++ {
			fn(w)
		}
		return
	}
	p.fn = fn
	p.pending.Store(int32(k - 1))
	// The lock orders the bump against a helper about to sleep: it either
	// sees the new generation or is woken by the broadcast.
	p.mu.Lock()
	p.gen.Store((p.gen.Load()>>16+1)<<16 | uint64(k))
	p.wake.Broadcast()
	p.mu.Unlock()
	fn(0)
	// The last helper to finish sends on done; spinning first saves the
	// wake-up when it is about to.
	spin(func() bool { return p.pending.Load() == 0 })
	<-p.done
	p.fn = nil
}

// split runs fn(w, lo, hi) over [0, total) cut into contiguous ranges, one
// per worker, using no more workers than leave each at least grain items.
// Small jobs run inline on the caller.
func (p *workers) split(total, grain int, fn func(w, lo, hi int)) {
	if total <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	k := total / grain
	if k > p.n {
		k = p.n
	}
	if k <= 1 {
		fn(0, 0, total)
		return
	}
	p.run(k, func(w int) {
		lo, hi := w*total/k, (w+1)*total/k
		if lo < hi {
			fn(w, lo, hi)
		}
	})
}

// piecesPerWorker is how many pieces share splits cut [0, total) into
// for each worker.
const piecesPerWorker = 4

// share runs fn(lo, hi) over [0, total) cut into contiguous pieces of at
// least grain items (up to piecesPerWorker per worker) that the workers
// claim as they go, so that a worker slowed by the machine takes fewer
// (batch norm, ReLU, Add and SGD were split in halves and left a worker
// idle for a third of their time; interleaved training steps on 2 cores:
// ResNet-18 +2.4%, SmallCNN +2.7%).
// fn learns no worker index: it must write only its own items (which
// makes the result independent of who took which piece). Small jobs run
// inline on the caller.
func (p *workers) share(total, grain int, fn func(lo, hi int)) {
	if total <= 0 {
		return
	}
	grain = max(grain, 1)
	pieces := min(total/grain, p.n*piecesPerWorker)
	if pieces <= 1 || p.n <= 1 {
		fn(0, total)
		return
	}
	next := &p.nextPiece
	next.Store(0)
	p.run(min(p.n, pieces), func(int) {
		for {
			i := int(next.Add(1) - 1)
			if i >= pieces {
				return
			}
			fn(i*total/pieces, (i+1)*total/pieces)
		}
	})
}

func defaultThreads() int { return runtime.GOMAXPROCS(0) }
