package metrics

import (
	"math/bits"
	"math/rand/v2"
	"slices"
)

// sampleSorted picks k distinct indices of [0, n) uniformly at random
// (all of them when k >= n) and returns them ascending, so the sample
// keeps the data set's order. The choice depends only on (n, k, seed,
// stream): PCG's output is fixed by its specification, and the bounded
// draws and the partial Fisher-Yates shuffle are written here rather than
// taken from math/rand/v2, whose helper algorithms may change between Go
// releases. Cached MIA results stay reproducible that way.
func sampleSorted(n, k int, seed, stream uint64) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if k >= n {
		return idx
	}
	src := rand.NewPCG(seed, stream)
	for i := range k {
		j := i + int(boundedUint64(src, uint64(n-i)))
		idx[i], idx[j] = idx[j], idx[i]
	}
	idx = idx[:k]
	slices.Sort(idx)
	return idx
}

// boundedUint64 draws uniformly from [0, n), n > 0, by Lemire's
// multiply-and-reject method.
func boundedUint64(src *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		threshold := -n % n
		for lo < threshold {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}
