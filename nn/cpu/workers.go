package cpu

import (
	"runtime"
	"sync"
)

// workers is a small persistent pool of goroutines. An op hands it one
// function per worker; the calling goroutine runs worker 0 itself, so an op
// on a one-thread backend never touches a channel. Work is split statically
// (worker w always gets the same share of the same op), which keeps results
// bit-identical from run to run for a given thread count.
type workers struct {
	n    int
	jobs chan job
	wg   sync.WaitGroup
}

type job struct {
	fn func(w int)
	w  int
}

func newWorkers(n int) *workers {
	p := &workers{n: n}
	if n > 1 {
		p.jobs = make(chan job, n)
		for i := 1; i < n; i++ {
			go p.loop(p.jobs)
		}
	}
	return p
}

func (p *workers) loop(jobs chan job) {
	for j := range jobs {
		j.fn(j.w)
		p.wg.Done()
	}
}

// stop ends the helper goroutines. It is called by a cleanup when the
// Backend becomes unreachable, or by Backend.Close.
func (p *workers) stop() {
	if p.jobs != nil {
		close(p.jobs)
		p.jobs = nil
	}
}

// run calls fn(w) for w in [0, k) concurrently, k ≤ p.n, and waits.
func (p *workers) run(k int, fn func(w int)) {
	if k > p.n {
		k = p.n
	}
	if k <= 1 || p.jobs == nil {
		for w := 0; w < k; w++ {
			fn(w)
		}
		return
	}
	p.wg.Add(k - 1)
	for w := 1; w < k; w++ {
		p.jobs <- job{fn: fn, w: w}
	}
	fn(0)
	p.wg.Wait()
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

func defaultThreads() int { return runtime.GOMAXPROCS(0) }
