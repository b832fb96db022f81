package metrics

import (
	"math/rand/v2"
	"testing"
)

// TestColumnCacheKeepsColumnsInPositionOrder drives the cache the way the
// solver does (requests of varying length, swaps of positions, a budget
// that forces evictions) and checks after every request that the column
// holds, at each position, the value for the rows now at those positions.
// The value of (column row a, row b) is a·l + b, so any entry left behind
// by a swap shows.
func TestColumnCacheKeepsColumnsInPositionOrder(t *testing.T) {
	const l = 60
	rng := rand.New(rand.NewPCG(11, 11))
	for _, budgetColumns := range []int{2, 5, 40} {
		c := newColumnCache(l, 0)
		c.budget = int64(budgetColumns * l)
		pos := make([]int, l) // row at each position
		for i := range pos {
			pos[i] = i
		}
		active := l
		for step := range 20000 {
			switch r := rng.IntN(10); {
			case r < 2 && active > 1: // shrink: swap a position with the end of the active range
				i, j := rng.IntN(active), active-1
				c.swapIndex(i, j)
				pos[i], pos[j] = pos[j], pos[i]
				active--
			case r < 3: // unshrink
				active = l
			default:
				i := rng.IntN(active)
				n := active
				if rng.IntN(3) == 0 {
					n = l
				}
				data, start := c.get(i, n)
				for j := start; j < n; j++ {
					data[j] = float32(pos[i]*l + pos[j])
				}
				for j := range n {
					if want := float32(pos[i]*l + pos[j]); data[j] != want {
						t.Fatalf("budget %d columns, step %d: column at position %d, entry %d holds %v, want %v",
							budgetColumns, step, i, j, data[j], want)
					}
				}
			}
			if c.budget < 0 {
				t.Fatalf("budget %d columns, step %d: overspent by %d values", budgetColumns, step, -c.budget)
			}
		}
	}
}
