package metrics

import (
	"math"
	"runtime"
	"sync"
)

// svcQ serves columns of Q_ij = y_i y_j K(x_i, x_j) for the RBF kernel, in
// float32 as LIBSVM stores them (its Qfloat), through an LRU cache of
// columns. Positions move when the solver shrinks (swapIndex), so rows,
// norms, labels, the diagonal and cached entries move with them.
type svcQ struct {
	x     []float64 // l rows of d features, row-major, in position order
	d     int
	xsq   []float64 // ||x_i||²
	y     []int8
	qd    []float64 // K(x_i, x_i), in float64 as LIBSVM keeps it
	gamma float64
	cache *columnCache

	// With one feature, equal values have equal kernel columns; the MIA's
	// confidences repeat a lot (every saturated softmax gives exactly 1),
	// so fill computes each distinct value's kernel once per column.
	vid     []int32 // distinct-value id of each position (d == 1 only)
	scratch []fillScratch
}

// fillScratch memoises kernel values by value id during one fill; stamp
// marks which entries belong to the current fill.
type fillScratch struct {
	memo  []float64
	stamp []uint32
	gen   uint32
}

// parallelFill is the column length from which fill splits the work over
// the CPUs: below it a goroutine costs more than it saves.
const parallelFill = 2048

func newSVCQ(x []float64, d int, y []int8, gamma, cacheMB float64) *svcQ {
	l := len(y)
	q := &svcQ{x: x, d: d, xsq: make([]float64, l), y: append([]int8(nil), y...), qd: make([]float64, l), gamma: gamma}
	for i := range l {
		q.xsq[i] = q.dot(i, i)
	}
	for i := range l {
		q.qd[i] = q.kernel(i, i)
	}
	q.cache = newColumnCache(l, int64(cacheMB*(1<<20)))
	workers := 1
	if l >= parallelFill {
		workers = min(runtime.GOMAXPROCS(0), 8)
	}
	if d == 1 {
		ids := make(map[uint64]int32, l)
		q.vid = make([]int32, l)
		for i, v := range x {
			key := math.Float64bits(v)
			id, ok := ids[key]
			if !ok {
				id = int32(len(ids))
				ids[key] = id
			}
			q.vid[i] = id
		}
		q.scratch = make([]fillScratch, workers)
		for w := range q.scratch {
			q.scratch[w] = fillScratch{memo: make([]float64, len(ids)), stamp: make([]uint32, len(ids))}
		}
	} else {
		q.scratch = make([]fillScratch, workers)
	}
	return q
}

func (q *svcQ) dot(i, j int) float64 {
	a, b := q.x[i*q.d:(i+1)*q.d], q.x[j*q.d:(j+1)*q.d]
	sum := 0.0
	for k := range a {
		sum += float64(a[k] * b[k])
	}
	return sum
}

// kernel is LIBSVM's training-time RBF: exp(−γ(||x_i||² + ||x_j||² − 2 x_i·x_j)).
// (Prediction uses Σ(x − x')² instead, as LIBSVM's k_function does.)
func (q *svcQ) kernel(i, j int) float64 {
	return math.Exp(-q.gamma * (q.xsq[i] + q.xsq[j] - 2*q.dot(i, j)))
}

// column returns Q's column i at positions [0, n).
func (q *svcQ) column(i, n int) []float32 {
	data, start := q.cache.get(i, n)
	if start < n {
		q.fill(i, data, start, n)
	}
	return data[:n]
}

// fill computes data[from:to] of column i, split over the CPUs when long.
func (q *svcQ) fill(i int, data []float32, from, to int) {
	workers := len(q.scratch)
	if workers == 1 || to-from < parallelFill {
		q.fillRange(i, data, from, to, &q.scratch[0])
		return
	}
	var wg sync.WaitGroup
	chunk := (to - from + workers - 1) / workers
	for w := range workers {
		lo, hi := from+w*chunk, min(from+(w+1)*chunk, to)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.fillRange(i, data, lo, hi, &q.scratch[w])
		}()
	}
	wg.Wait()
}

func (q *svcQ) fillRange(i int, data []float32, from, to int, sc *fillScratch) {
	yi := q.y[i]
	if q.vid == nil {
		for j := from; j < to; j++ {
			data[j] = float32(float64(yi*q.y[j]) * q.kernel(i, j))
		}
		return
	}
	// One feature: the same arithmetic as kernel, inlined and memoised.
	sc.gen++
	if sc.gen == 0 { // wrapped: old stamps could look current
		clear(sc.stamp)
		sc.gen = 1
	}
	xi, xsqi, g := q.x[i], q.xsq[i], q.gamma
	xs, xsq, ys, ids := q.x[from:to], q.xsq[from:to], q.y[from:to], q.vid[from:to]
	out := data[from:to]
	for k := range out {
		id := ids[k]
		var v float64
		if sc.stamp[id] == sc.gen {
			v = sc.memo[id]
		} else {
			v = math.Exp(-g * (xsqi + xsq[k] - 2*float64(xi*xs[k])))
			sc.memo[id], sc.stamp[id] = v, sc.gen
		}
		out[k] = float32(float64(yi*ys[k]) * v)
	}
}

func (q *svcQ) swapIndex(i, j int) {
	q.cache.swapIndex(i, j)
	d := q.d
	for k := range d {
		q.x[i*d+k], q.x[j*d+k] = q.x[j*d+k], q.x[i*d+k]
	}
	q.xsq[i], q.xsq[j] = q.xsq[j], q.xsq[i]
	q.y[i], q.y[j] = q.y[j], q.y[i]
	q.qd[i], q.qd[j] = q.qd[j], q.qd[i]
	if q.vid != nil {
		q.vid[i], q.vid[j] = q.vid[j], q.vid[i]
	}
}

// columnCache is LIBSVM's Cache: per position a prefix data[0, n) of its
// column, the least recently used columns evicted first once the budget
// (in float32 values) is spent. Entries are linked in a circular list
// through indices; entry l is the list's sentinel.
//
// One change, which does not alter any value the solver sees: LIBSVM
// applies each shrinking swap to every cached column at once; here swaps
// are logged and a column replays those it missed when it is next asked
// for, so columns evicted in between never pay (at 10,000 points this was
// a quarter of the fitting time).
type columnCache struct {
	l      int
	budget int64 // float32 values still free
	heads  []cacheEntry
	swaps  [][2]int32 // every swapIndex(i, j), i < j, in order
}

type cacheEntry struct {
	prev, next int
	data       []float32
	n          int // data[0, n) is cached
	synced     int // data reflects swaps[:synced]
}

func newColumnCache(l int, bytes int64) *columnCache {
	const entryBytes = 40 // what LIBSVM charges per entry (its head_t)
	budget := bytes/4 - int64(l)*entryBytes/4
	budget = max(budget, 2*int64(l)) // room for at least two whole columns
	c := &columnCache{l: l, budget: budget, heads: make([]cacheEntry, l+1)}
	c.heads[l].prev, c.heads[l].next = l, l
	return c
}

func (c *columnCache) unlink(h int) {
	e := &c.heads[h]
	c.heads[e.prev].next = e.next
	c.heads[e.next].prev = e.prev
}

func (c *columnCache) pushBack(h int) {
	s := c.l
	c.heads[h].next = s
	c.heads[h].prev = c.heads[s].prev
	c.heads[c.heads[h].prev].next = h
	c.heads[s].prev = h
}

// drop frees entry h's data; the caller has unlinked it.
func (c *columnCache) drop(h int) {
	e := &c.heads[h]
	c.budget += int64(e.n)
	e.data, e.n = nil, 0
}

// catchUp applies the swaps entry h has missed. A swap that moves a cached
// value beyond the cached prefix loses it; LIBSVM then gives up the whole
// column, and so does catchUp. It reports whether the column survived.
func (c *columnCache) catchUp(h int) bool {
	e := &c.heads[h]
	for _, s := range c.swaps[e.synced:] {
		i, j := int(s[0]), int(s[1])
		if e.n > i {
			if e.n <= j {
				c.drop(h)
				break
			}
			e.data[i], e.data[j] = e.data[j], e.data[i]
		}
	}
	e.synced = len(c.swaps)
	return e.n > 0
}

// get returns column i's storage for at least n values and the position
// from which the caller must fill it (n when nothing is missing).
func (c *columnCache) get(i, n int) ([]float32, int) {
	h := &c.heads[i]
	if h.n > 0 {
		c.unlink(i)
		c.catchUp(i)
	}
	h.synced = len(c.swaps)
	start := n
	if more := int64(n - h.n); more > 0 {
		for c.budget < more {
			old := c.heads[c.l].next
			c.unlink(old)
			c.drop(old)
		}
		if cap(h.data) < n {
			grown := make([]float32, n)
			copy(grown, h.data[:h.n])
			h.data = grown
		}
		h.data = h.data[:n]
		c.budget -= more
		start = h.n
		h.n = n
	}
	c.pushBack(i)
	return h.data, start
}

// swapIndex exchanges positions i and j: the columns stored for them trade
// places at once, the entries inside every column lazily (see catchUp).
func (c *columnCache) swapIndex(i, j int) {
	if i == j {
		return
	}
	hi, hj := &c.heads[i], &c.heads[j]
	if hi.n > 0 {
		c.unlink(i)
	}
	if hj.n > 0 {
		c.unlink(j)
	}
	hi.data, hj.data = hj.data, hi.data
	hi.n, hj.n = hj.n, hi.n
	hi.synced, hj.synced = hj.synced, hi.synced
	if hi.n > 0 {
		c.pushBack(i)
	}
	if hj.n > 0 {
		c.pushBack(j)
	}
	c.swaps = append(c.swaps, [2]int32{int32(min(i, j)), int32(max(i, j))})
}
