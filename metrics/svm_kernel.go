package metrics

import "math"

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
}

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

func (q *svcQ) fill(i int, data []float32, from, to int) {
	yi := q.y[i]
	if q.d == 1 {
		// The MIA's case: one feature; the same arithmetic as kernel, inlined.
		xi, xsqi, g := q.x[i], q.xsq[i], q.gamma
		xs, xsq, ys := q.x[from:to], q.xsq[from:to], q.y[from:to]
		out := data[from:to]
		for k := range out {
			v := math.Exp(-g * (xsqi + xsq[k] - 2*float64(xi*xs[k])))
			out[k] = float32(float64(yi*ys[k]) * v)
		}
		return
	}
	for j := from; j < to; j++ {
		data[j] = float32(float64(yi*q.y[j]) * q.kernel(i, j))
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
}

// columnCache is LIBSVM's Cache: per position a prefix data[0, len) of its
// column, the least recently used columns evicted first once the budget
// (in float32 values) is spent. Entries are linked in a circular list
// through indices; entry l is the list's sentinel.
type columnCache struct {
	l      int
	budget int64 // float32 values still free
	heads  []cacheEntry
}

type cacheEntry struct {
	prev, next int
	data       []float32
	n          int // data[0, n) is cached
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

// get returns column i's storage for at least n values and the position
// from which the caller must fill it (n when nothing is missing).
func (c *columnCache) get(i, n int) ([]float32, int) {
	h := &c.heads[i]
	if h.n > 0 {
		c.unlink(i)
	}
	start := n
	if more := int64(n - h.n); more > 0 {
		for c.budget < more {
			old := c.heads[c.l].next
			c.unlink(old)
			c.budget += int64(c.heads[old].n)
			c.heads[old].data, c.heads[old].n = nil, 0
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
	if hi.n > 0 {
		c.pushBack(i)
	}
	if hj.n > 0 {
		c.pushBack(j)
	}
	if i > j {
		i, j = j, i
	}
	for h := c.heads[c.l].next; h != c.l; {
		e := &c.heads[h]
		next := e.next
		if e.n > i {
			if e.n > j {
				e.data[i], e.data[j] = e.data[j], e.data[i]
			} else {
				// The column covers i but not j: drop it, as LIBSVM does.
				c.unlink(h)
				c.budget += int64(e.n)
				e.data, e.n = nil, 0
			}
		}
		h = next
	}
}
