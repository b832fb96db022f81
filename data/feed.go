package data

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"

	"lethe/nn"
)

// FeedOptions say how a Feed turns a subset into batches.
type FeedOptions struct {
	// Shuffle draws a new order every epoch from Seed and the epoch;
	// otherwise batches follow the subset's order.
	Shuffle bool
	// Augment applies the dataset's Augmentation policy; the draws depend
	// only on Seed, the epoch and the image's position in the subset.
	Augment bool
	// Seed fixes shuffling and augmentation.
	Seed uint64
	// Labels, when not nil, replaces the labels: one per image, in the
	// subset's order (Bad Teacher's 0/1 labels, for instance).
	Labels []int32
	// Relabel, when not nil, maps each image's label (after Labels) given
	// its position i in the subset: the Random-labels baseline's relabelling.
	Relabel func(i int, y int32) int32
	// DropLast leaves out a final batch smaller than the batch size.
	DropLast bool
}

// Feed is a subset as an nn.Dataset: batches of normalised float32 NCHW
// images (x/255 - mean) / std with int32 labels, optionally shuffled and
// augmented, built from the shared uint8 images.
type Feed struct {
	sub    Subset
	opts   FeedOptions
	labels []int32        // per position in sub
	lut    [][256]float32 // per channel: normalised value of each byte
	aug    Augmentation   // policy in force (AugNone unless opts.Augment)
	c, h   int
	w      int
}

var _ nn.Dataset = (*Feed)(nil)

// Feed makes an nn.Dataset of the subset. It fails when Labels has the
// wrong length or a label (given or relabelled) is out of range.
func (s Subset) Feed(o FeedOptions) (*Feed, error) {
	if s.st == nil { // the zero Subset: an empty feed
		if len(o.Labels) > 0 {
			return nil, fmt.Errorf("data: feed labels: %d given for an empty subset", len(o.Labels))
		}
		return &Feed{sub: s, opts: o}, nil
	}
	d := s.st.ds
	f := &Feed{sub: s, opts: o, c: d.C, h: d.H, w: d.W}
	if o.Augment {
		f.aug = d.Augmentation
	}
	f.labels = make([]int32, s.Len())
	if o.Labels != nil && len(o.Labels) != s.Len() {
		return nil, fmt.Errorf("data: feed labels: %d given for a subset of %d images: expected one per image", len(o.Labels), s.Len())
	}
	for i := range f.labels {
		y := s.Label(i)
		if o.Labels != nil {
			y = o.Labels[i]
		}
		if o.Relabel != nil {
			y = o.Relabel(i, y)
		}
		if y < 0 || int(y) >= d.NumClasses() {
			return nil, fmt.Errorf("data: feed label %d for image %d of the subset: expected 0..%d", y, i, d.NumClasses()-1)
		}
		f.labels[i] = y
	}
	f.lut = normTables(d.Mean, d.Std)
	return f, nil
}

// TrainFeed is the training feed of a subset: shuffled and augmented with
// seed, the subset's own labels.
func (s Subset) TrainFeed(seed uint64) *Feed {
	f, err := s.Feed(FeedOptions{Shuffle: true, Augment: true, Seed: seed})
	if err != nil {
		panic(err) // unreachable: the subset's own labels are valid
	}
	return f
}

// EvalFeed is the evaluation feed of a subset: its order, no augmentation.
func (s Subset) EvalFeed() *Feed {
	f, err := s.Feed(FeedOptions{})
	if err != nil {
		panic(err) // unreachable: the subset's own labels are valid
	}
	return f
}

// normTables computes, per channel, the normalised value of every byte the
// way torchvision's ToTensor + Normalize do it in float32:
// (float32(v)/255 - mean) / std.
func normTables(mean, std []float64) [][256]float32 {
	lut := make([][256]float32, len(mean))
	for c := range lut {
		m, s := float32(mean[c]), float32(std[c])
		for v := range lut[c] {
			x := float32(v) / 255
			lut[c][v] = (x - m) / s
		}
	}
	return lut
}

// Subset is the subset the feed reads.
func (f *Feed) Subset() Subset { return f.sub }

// Label is the (possibly replaced) label of the i-th image of the subset.
func (f *Feed) Label(i int) int32 { return f.labels[i] }

// Len is the number of images.
func (f *Feed) Len() int { return f.sub.Len() }

// NumClasses is the dataset's class count.
func (f *Feed) NumClasses() int {
	if f.sub.st == nil {
		return 0
	}
	return f.sub.st.ds.NumClasses()
}

// Shape is the C, H, W of one image.
func (f *Feed) Shape() (c, h, w int) { return f.c, f.h, f.w }

// Batches returns a loader over one pass (see Loader). The loader it
// returns is a *Loader; call its Close when abandoning a pass early.
func (f *Feed) Batches(epoch, batchSize int) nn.Loader { return f.Loader(epoch, batchSize) }

// order is the pass's sequence of subset positions.
func (f *Feed) order(epoch uint64) []int32 {
	n := f.sub.Len()
	out := make([]int32, n)
	if !f.opts.Shuffle {
		for i := range out {
			out[i] = int32(i)
		}
		return out
	}
	r := rand.New(rand.NewPCG(f.opts.Seed, mix(epoch, streamShuffle)))
	for i, p := range r.Perm(n) {
		out[i] = int32(p)
	}
	return out
}

// mix is splitmix64 of a and b: a well-spread 64-bit value per pair.
func mix(a, b uint64) uint64 {
	z := a*0x9e3779b97f4a7c15 + b + 0x632be59bd9b4e019
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// cropPad is the zero padding of AugCropFlip.
const cropPad = 4

// augDraw returns the crop offsets (0..2*cropPad within the padded image)
// and the flip of the image at subset position pos in the given epoch.
func (f *Feed) augDraw(epoch uint64, pos int32) (dx, dy int, flip bool) {
	z := mix(mix(f.opts.Seed, streamAugment), mix(epoch, uint64(pos)))
	const k = 2*cropPad + 1
	dx = int((z & 0xffffffff) * k >> 32)
	dy = int((z >> 32 & 0xfffffff) * k >> 28)
	flip = z>>63 == 1
	return dx, dy, flip
}

// fillImage writes the normalised (and, with the policy, augmented) image
// at subset position pos into dst (C*H*W floats).
func (f *Feed) fillImage(dst []float32, pos int32, epoch uint64) {
	img := f.sub.Image(int(pos))
	hw := f.h * f.w
	if f.aug != AugCropFlip {
		for c := 0; c < f.c; c++ {
			lut := &f.lut[c]
			src, out := img[c*hw:(c+1)*hw], dst[c*hw:(c+1)*hw]
			for i, v := range src {
				out[i] = lut[v]
			}
		}
		return
	}
	dx, dy, flip := f.augDraw(epoch, pos)
	cropFlip(dst, img, f.lut, f.c, f.h, f.w, dx, dy, flip)
}

// cropFlip is torchvision's RandomCrop(padding=cropPad, fill 0) then
// RandomHorizontalFlip, then ToTensor + Normalize, for given draws: output
// pixel (y, x) is input pixel (y+dy-pad, x'+dx-pad) with x' = W-1-x when
// flipped, and the normalised value of 0 where that falls in the padding.
func cropFlip(dst []float32, img []uint8, lut [][256]float32, C, H, W, dx, dy int, flip bool) {
	hw := H * W
	for c := 0; c < C; c++ {
		lut := &lut[c]
		pad := lut[0]
		for y := 0; y < H; y++ {
			out := dst[c*hw+y*W : c*hw+(y+1)*W]
			sy := y + dy - cropPad
			if sy < 0 || sy >= H {
				for x := range out {
					out[x] = pad
				}
				continue
			}
			row := img[c*hw+sy*W : c*hw+(sy+1)*W]
			for x := range out {
				xs := x
				if flip {
					xs = W - 1 - x
				}
				xs += dx - cropPad
				if xs < 0 || xs >= W {
					out[x] = pad
				} else {
					out[x] = lut[row[xs]]
				}
			}
		}
	}
}

// Loader is one pass over a Feed. A background goroutine prepares the next
// batch while the caller uses the current one; it stops at the end of the
// pass, on Close, or when the Loader is garbage collected.
type Loader struct {
	p   *pipe
	pos []int32
}

var _ nn.Loader = (*Loader)(nil)

// pipe is the part of a Loader the producer goroutine sees (it must not
// reference the Loader, so that an abandoned Loader can be collected).
type pipe struct {
	feed      *Feed
	epoch     uint64
	order     []int32
	batchSize int
	ready     chan *slot
	free      chan *slot
	done      chan struct{}
	exited    chan struct{}
	stopOnce  sync.Once
	started   bool // the producer goroutine was started
	err       error
	finished  bool
}

// slot is one batch buffer owned by the loader.
type slot struct {
	n   int
	x   []float32
	y   []int32
	pos []int32
}

// Loader returns the loader of one pass: epoch selects the shuffle and the
// augmentation draws; the last batch may be smaller unless DropLast.
func (f *Feed) Loader(epoch, batchSize int) *Loader {
	p := &pipe{feed: f, epoch: uint64(epoch), batchSize: batchSize,
		ready: make(chan *slot, 1), free: make(chan *slot, 2),
		done: make(chan struct{}), exited: make(chan struct{})}
	if batchSize <= 0 {
		p.err = fmt.Errorf("data: batch size %d: expected at least 1", batchSize)
	}
	l := &Loader{p: p}
	runtime.AddCleanup(l, func(p *pipe) { p.stop() }, p)
	return l
}

func (p *pipe) stop() { p.stopOnce.Do(func() { close(p.done) }) }

func (p *pipe) start() {
	if p.started {
		return
	}
	p.started = true
	p.order = p.feed.order(p.epoch)
	chw := p.feed.c * p.feed.h * p.feed.w
	n := min(p.batchSize, len(p.order))
	for k := 0; k < cap(p.free); k++ {
		p.free <- &slot{x: make([]float32, n*chw), y: make([]int32, n), pos: make([]int32, n)}
	}
	go p.produce()
}

func (p *pipe) produce() {
	defer close(p.exited)
	defer close(p.ready)
	f := p.feed
	chw := f.c * f.h * f.w
	for start := 0; start < len(p.order); start += p.batchSize {
		end := min(start+p.batchSize, len(p.order))
		if f.opts.DropLast && end-start < p.batchSize {
			return
		}
		var s *slot
		select {
		case s = <-p.free:
		case <-p.done:
			return
		}
		s.n = end - start
		for k, pos := range p.order[start:end] {
			f.fillImage(s.x[k*chw:(k+1)*chw], pos, p.epoch)
			s.y[k] = f.labels[pos]
			s.pos[k] = pos
		}
		select {
		case p.ready <- s:
		case <-p.done:
			return
		}
	}
}

// Next fills b with the next batch, reusing b.X and b.Y when they are large
// enough, and reports whether there was one.
func (l *Loader) Next(b *nn.Batch) bool {
	p := l.p
	if p.err != nil || p.finished {
		return false
	}
	p.start()
	var s *slot
	var ok bool
	select {
	case s, ok = <-p.ready:
	case <-p.done:
	}
	if !ok {
		p.finished = true
		return false
	}
	f := p.feed
	chw := f.c * f.h * f.w
	b.N, b.C, b.H, b.W = s.n, f.c, f.h, f.w
	b.X = grow(b.X, s.n*chw)
	b.Y = grow(b.Y, s.n)
	copy(b.X, s.x[:s.n*chw])
	copy(b.Y, s.y[:s.n])
	l.pos = append(l.pos[:0], s.pos[:s.n]...)
	p.free <- s
	return true
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// Err is the first error of the pass (an invalid batch size), or nil.
func (l *Loader) Err() error { return l.p.err }

// Positions returns the subset positions of the images of the last batch
// Next returned, in batch order; the slice is reused by the next call. A
// caller uses it to look up per-image values kept beside the subset.
func (l *Loader) Positions() []int32 { return l.pos }

// Close stops the background goroutine and waits for it; Next then reports
// no more batches. It is safe to call more than once, and needed only when
// a pass is abandoned before its end.
func (l *Loader) Close() error {
	l.p.stop()
	l.p.finished = true
	if l.p.started {
		<-l.p.exited
	}
	return nil
}
