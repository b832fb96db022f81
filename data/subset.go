package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// store holds the decoded images of one split: n images of C*H*W uint8
// values each, channel-major (CHW) per image, and their labels.
type store struct {
	name   string // "train" or "test"
	ds     *Dataset
	pixels []uint8
	labels []int32
}

func (s *store) imageSize() int { return s.ds.C * s.ds.H * s.ds.W }

func (s *store) all() Subset {
	idx := make([]int32, len(s.labels))
	for i := range idx {
		idx[i] = int32(i)
	}
	return Subset{st: s, idx: idx}
}

// Subset is a view of some images of one split: a list of indices into the
// split's decoded images, in a fixed order. Subsets are cheap to make and
// share the pixels; their methods return new subsets and never modify the
// receiver. The zero Subset is empty and belongs to no dataset.
type Subset struct {
	st  *store
	idx []int32
}

// Len is the number of images.
func (s Subset) Len() int { return len(s.idx) }

// Dataset is the dataset the subset belongs to (nil for the zero Subset).
func (s Subset) Dataset() *Dataset {
	if s.st == nil {
		return nil
	}
	return s.st.ds
}

// Split names the split the images come from: "train" or "test".
func (s Subset) Split() string {
	if s.st == nil {
		return ""
	}
	return s.st.name
}

// Index is the position of the i-th image in its split (0 <= i < Len).
func (s Subset) Index(i int) int { return int(s.idx[i]) }

// Indices returns a copy of the split positions of the images, in order.
func (s Subset) Indices() []int {
	out := make([]int, len(s.idx))
	for i, v := range s.idx {
		out[i] = int(v)
	}
	return out
}

// Label is the label of the i-th image.
func (s Subset) Label(i int) int32 { return s.st.labels[s.idx[i]] }

// Image is the i-th image as C*H*W uint8 values (CHW). It aliases the
// dataset's storage: do not modify it.
func (s Subset) Image(i int) []uint8 {
	n := s.st.imageSize()
	off := int(s.idx[i]) * n
	return s.st.pixels[off : off+n : off+n]
}

// Counts returns the number of images of each class.
func (s Subset) Counts() []int {
	if s.st == nil {
		return nil
	}
	out := make([]int, len(s.st.ds.Classes))
	for _, i := range s.idx {
		out[s.st.labels[i]]++
	}
	return out
}

func (s Subset) with(idx []int32) Subset { return Subset{st: s.st, idx: idx} }

// Filter keeps the images whose label satisfies keep, in order.
func (s Subset) Filter(keep func(label int32) bool) Subset {
	var idx []int32
	for _, i := range s.idx {
		if keep(s.st.labels[i]) {
			idx = append(idx, i)
		}
	}
	return s.with(idx)
}

// OfClasses keeps the images of the given classes.
func (s Subset) OfClasses(classes ...int) Subset {
	set := classSet(classes)
	return s.Filter(func(y int32) bool { return set[y] })
}

// ExceptClasses drops the images of the given classes.
func (s Subset) ExceptClasses(classes ...int) Subset {
	set := classSet(classes)
	return s.Filter(func(y int32) bool { return !set[y] })
}

func classSet(classes []int) map[int32]bool {
	set := make(map[int32]bool, len(classes))
	for _, c := range classes {
		set[int32(c)] = true
	}
	return set
}

// byClass groups positions within s (not split indices) by label.
func (s Subset) byClass() [][]int {
	groups := make([][]int, len(s.st.ds.Classes))
	for p, i := range s.idx {
		y := s.st.labels[i]
		groups[y] = append(groups[y], p)
	}
	return groups
}

// pick keeps the given positions of s, in s's order.
func (s Subset) pick(positions []int) Subset {
	sort.Ints(positions)
	idx := make([]int32, len(positions))
	for k, p := range positions {
		idx[k] = s.idx[p]
	}
	return s.with(idx)
}

// rng returns the generator for a seed and a purpose, so different uses of
// one seed draw independent streams.
func rng(seed uint64, purpose uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, purpose^0x9e3779b97f4a7c15))
}

// Purposes of random streams (arbitrary distinct constants).
const (
	streamPerClass = 1 + iota
	streamStratified
	streamSample
	streamHoldOut
	streamShuffle
	streamAugment
)

// choose returns k of the positions, drawn without replacement.
func choose(r *rand.Rand, positions []int, k int) []int {
	p := append([]int(nil), positions...)
	for i := 0; i < k; i++ {
		j := i + r.IntN(len(p)-i)
		p[i], p[j] = p[j], p[i]
	}
	return p[:k]
}

// PerClass keeps up to n images of each class, drawn with seed; classes
// with fewer keep all of theirs. The order of s is kept.
func (s Subset) PerClass(n int, seed uint64) Subset {
	if s.st == nil || n < 0 {
		return s.with(nil)
	}
	r := rng(seed, streamPerClass)
	var keep []int
	for _, g := range s.byClass() {
		keep = append(keep, choose(r, g, min(n, len(g)))...)
	}
	return s.pick(keep)
}

// Stratified draws n images in total with seed, spread over the classes
// present in proportion to their counts (largest remainders get the
// rounding), keeping the order of s. It is an error to ask for more than
// Len images.
func (s Subset) Stratified(n int, seed uint64) (Subset, error) {
	if n < 0 || n > s.Len() {
		return Subset{}, fmt.Errorf("data: stratified sample of %d images from a subset of %d: expected 0..%d", n, s.Len(), s.Len())
	}
	if n == 0 {
		return s.with(nil), nil
	}
	groups := s.byClass()
	quota := proportional(groups, n, s.Len())
	r := rng(seed, streamStratified)
	var keep []int
	for c, g := range groups {
		keep = append(keep, choose(r, g, quota[c])...)
	}
	return s.pick(keep), nil
}

// proportional splits n over groups in proportion to their sizes
// (Hamilton's largest-remainder method; ties go to the lower class).
func proportional(groups [][]int, n, total int) []int {
	quota := make([]int, len(groups))
	type rem struct {
		class int
		frac  float64
	}
	var rems []rem
	given := 0
	for c, g := range groups {
		exact := float64(n) * float64(len(g)) / float64(total)
		quota[c] = int(math.Floor(exact))
		given += quota[c]
		rems = append(rems, rem{c, exact - float64(quota[c])})
	}
	sort.SliceStable(rems, func(i, j int) bool { return rems[i].frac > rems[j].frac })
	for k := 0; given < n; k++ {
		c := rems[k%len(rems)].class
		if quota[c] < len(groups[c]) {
			quota[c]++
			given++
		}
	}
	return quota
}

// Sample draws up to n images uniformly with seed (all of them when the
// subset is no larger), keeping the order of s: the cap on MIA's shadow
// sets.
func (s Subset) Sample(n int, seed uint64) Subset {
	if n >= s.Len() {
		return s
	}
	if n <= 0 {
		return s.with(nil)
	}
	all := make([]int, s.Len())
	for i := range all {
		all[i] = i
	}
	return s.pick(choose(rng(seed, streamSample), all, n))
}

// HoldOut splits s into (rest, held): held takes round(fraction * count)
// images of every class (at least one where the class has two or more),
// drawn with seed; rest keeps the others. Both keep the order of s.
func (s Subset) HoldOut(fraction float64, seed uint64) (rest, held Subset, err error) {
	if !(fraction > 0 && fraction < 1) {
		return Subset{}, Subset{}, fmt.Errorf("data: hold-out fraction %v: expected 0 < fraction < 1", fraction)
	}
	if s.st == nil {
		return s, s, nil
	}
	r := rng(seed, streamHoldOut)
	inHeld := make([]bool, s.Len())
	for _, g := range s.byClass() {
		k := int(math.Round(fraction * float64(len(g))))
		if k == 0 && len(g) >= 2 {
			k = 1
		}
		if k >= len(g) && len(g) > 0 {
			k = len(g) - 1
		}
		for _, p := range choose(r, g, k) {
			inHeld[p] = true
		}
	}
	var a, b []int32
	for p, i := range s.idx {
		if inHeld[p] {
			b = append(b, i)
		} else {
			a = append(a, i)
		}
	}
	return s.with(a), s.with(b), nil
}

// Union returns the images of s and of the others, each once, in split
// order. All must come from the same split of the same dataset.
func (s Subset) Union(others ...Subset) (Subset, error) {
	seen := map[int32]bool{}
	var idx []int32
	for k, o := range append([]Subset{s}, others...) {
		if o.st == nil && len(o.idx) == 0 {
			continue
		}
		if s.st != o.st {
			return Subset{}, fmt.Errorf("data: union of subsets from different splits or datasets (argument %d)", k)
		}
		for _, i := range o.idx {
			if !seen[i] {
				seen[i] = true
				idx = append(idx, i)
			}
		}
	}
	sort.Slice(idx, func(a, b int) bool { return idx[a] < idx[b] })
	return s.with(idx), nil
}

// Stats returns the per-channel mean and population standard deviation of
// the subset's pixels on the 0-1 scale (sqrt(E[x²] - E[x]²) over every
// pixel of every image), computed exactly from integer sums.
func (s Subset) Stats() (mean, std []float64) {
	if s.st == nil {
		return nil, nil
	}
	c, hw := s.st.ds.C, s.st.ds.H*s.st.ds.W
	sum := make([]uint64, c)
	sq := make([]uint64, c)
	for i := range s.idx {
		img := s.Image(i)
		for ch := 0; ch < c; ch++ {
			var a, b uint64
			for _, v := range img[ch*hw : (ch+1)*hw] {
				a += uint64(v)
				b += uint64(v) * uint64(v)
			}
			sum[ch] += a
			sq[ch] += b
		}
	}
	mean = make([]float64, c)
	std = make([]float64, c)
	n := float64(s.Len()) * float64(hw)
	for ch := range mean {
		if n == 0 {
			continue
		}
		m := float64(sum[ch]) / n
		v := float64(sq[ch])/n - m*m
		mean[ch] = m / 255
		std[ch] = math.Sqrt(math.Max(v, 0)) / 255
	}
	return mean, std
}

// Unlearning holds the four subsets of a class-unlearning experiment, in
// METHODS.md's notation: the training images of the forget classes (Df) and
// of the retained classes (Dr), and the same for the test split (Tf, Tr).
type Unlearning struct {
	Forget         []int // the forget classes F, sorted
	Df, Dr, Tf, Tr Subset
}

// Unlearning splits the dataset's train subset (Val excluded) and test
// split by the forget classes. It is an error to name a class twice, one
// out of range, or every class.
func (d *Dataset) Unlearning(forget ...int) (Unlearning, error) {
	if len(forget) == 0 {
		return Unlearning{}, fmt.Errorf("data: no forget classes given")
	}
	f := append([]int(nil), forget...)
	sort.Ints(f)
	for k, c := range f {
		if c < 0 || c >= d.NumClasses() {
			return Unlearning{}, fmt.Errorf("data: forget class %d out of range: %s has classes 0..%d", c, d.Kind, d.NumClasses()-1)
		}
		if k > 0 && f[k-1] == c {
			return Unlearning{}, fmt.Errorf("data: forget class %d named twice", c)
		}
	}
	if len(f) == d.NumClasses() {
		return Unlearning{}, fmt.Errorf("data: cannot forget all %d classes: nothing would be retained", len(f))
	}
	return Unlearning{
		Forget: f,
		Df:     d.Train.OfClasses(f...), Dr: d.Train.ExceptClasses(f...),
		Tf: d.Test.OfClasses(f...), Tr: d.Test.ExceptClasses(f...),
	}, nil
}
