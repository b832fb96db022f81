package data

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"lethe/nn"
)

// augmentGolden is testdata/augment_golden.json (see gen_golden.py).
type augmentGolden struct {
	Cases []struct {
		C, H, W       int
		Augment       bool
		DX, DY        int
		Flip          bool
		Mean, Std     []float64
		Input, Output string
	}
}

// The crop, flip and normalisation match torchvision's RandomCrop(32,
// padding=4) + RandomHorizontalFlip + ToTensor + Normalize for the same
// draws, value for value.
func TestAugmentMatchesTorchvision(t *testing.T) {
	b, err := os.ReadFile("testdata/augment_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g augmentGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) < 7 {
		t.Fatalf("%d golden cases", len(g.Cases))
	}
	for k, c := range g.Cases {
		in, _ := base64.StdEncoding.DecodeString(c.Input)
		raw, _ := base64.StdEncoding.DecodeString(c.Output)
		want := make([]float32, len(raw)/4)
		for i := range want {
			want[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		if len(in) != c.C*c.H*c.W || len(want) != len(in) {
			t.Fatalf("case %d: %d inputs, %d outputs", k, len(in), len(want))
		}
		lut := normTables(c.Mean, c.Std)
		got := make([]float32, len(in))
		if c.Augment {
			cropFlip(got, in, lut, c.C, c.H, c.W, c.DX, c.DY, c.Flip)
		} else {
			for i, v := range in {
				got[i] = lut[i/(c.H*c.W)][v]
			}
		}
		bad := 0
		for i := range got {
			if got[i] != want[i] {
				if bad < 3 {
					t.Errorf("case %d (dx %d dy %d flip %v): value %d = %v, torchvision %v", k, c.DX, c.DY, c.Flip, i, got[i], want[i])
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("case %d: %d of %d values differ", k, bad, len(got))
		}
	}
}

// collect runs one pass and returns the batches' values, labels and sizes.
func collect(t *testing.T, l nn.Loader) (x []float32, y []int32, sizes []int) {
	t.Helper()
	var b nn.Batch
	for l.Next(&b) {
		x = append(x, b.X...)
		y = append(y, b.Y...)
		sizes = append(sizes, b.N)
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	return x, y, sizes
}

func TestEvalFeedIsOrderedAndNormalised(t *testing.T) {
	d := synthDataset(t, 3, 5, 2, 3, 4, 4, AugCropFlip)
	d.Mean, d.Std = []float64{0.5, 0.25, 0}, []float64{0.5, 0.25, 1}
	var f nn.Dataset = d.Train.EvalFeed()
	if c, h, w := f.Shape(); f.Len() != 15 || f.NumClasses() != 3 || c != 3 || h != 4 || w != 4 {
		t.Fatalf("feed len %d classes %d shape %d %d %d", f.Len(), f.NumClasses(), c, h, w)
	}
	x, y, sizes := collect(t, f.Batches(0, 4))
	if !slices.Equal(sizes, []int{4, 4, 4, 3}) {
		t.Errorf("batch sizes %v, want [4 4 4 3]", sizes)
	}
	for i := 0; i < 15; i++ {
		if y[i] != d.Train.Label(i) {
			t.Fatalf("label %d = %d, want %d (subset order)", i, y[i], d.Train.Label(i))
		}
		img := d.Train.Image(i)
		for p, v := range img {
			c := p / 16
			want := float32((float64(v)/255 - d.Mean[c]) / d.Std[c])
			if math.Abs(float64(x[i*48+p]-want)) > 1e-6 {
				t.Fatalf("image %d value %d = %v, want %v", i, p, x[i*48+p], want)
			}
		}
	}
	// A second pass is the same.
	x2, _, _ := collect(t, f.Batches(5, 4))
	if !slices.Equal(x, x2) {
		t.Error("evaluation passes differ between epochs")
	}
}

func TestTrainFeedShufflesAndAugmentsDeterministically(t *testing.T) {
	d := synthDataset(t, 4, 16, 1, 3, 8, 8, AugCropFlip)
	f := d.Train.TrainFeed(11)
	x1, y1, _ := collect(t, f.Batches(3, 10))
	x2, y2, _ := collect(t, f.Batches(3, 10))
	if !slices.Equal(x1, x2) || !slices.Equal(y1, y2) {
		t.Error("the same epoch gave different batches")
	}
	x3, y3, _ := collect(t, f.Batches(4, 10))
	if slices.Equal(y1, y3) || slices.Equal(x1, x3) {
		t.Error("epochs 3 and 4 gave the same order")
	}
	// Each pass is a permutation of the subset.
	sorted := slices.Clone(y1)
	slices.Sort(sorted)
	want := make([]int32, 0, 64)
	for c := int32(0); c < 4; c++ {
		for k := 0; k < 16; k++ {
			want = append(want, c)
		}
	}
	if !slices.Equal(sorted, want) {
		t.Error("a shuffled pass is not a permutation of the subset")
	}
	// Augmentation of an image does not depend on the batch size.
	x4, _, _ := collect(t, f.Batches(3, 7))
	if !slices.Equal(x1, x4) {
		t.Error("batch size changed the augmented images")
	}
	// Another seed gives other batches.
	x5, _, _ := collect(t, d.Train.TrainFeed(12).Batches(3, 10))
	if slices.Equal(x1, x5) {
		t.Error("seeds 11 and 12 gave the same pass")
	}
}

// The draws cover every offset and both flips about evenly.
func TestAugmentDrawsAreSpread(t *testing.T) {
	d := synthDataset(t, 1, 1, 1, 1, 4, 4, AugCropFlip)
	f := d.Train.TrainFeed(1)
	var dx, dy [9]int
	flips := 0
	const n = 9000
	for e := 0; e < n; e++ {
		a, b, fl := f.augDraw(uint64(e), 0)
		dx[a]++
		dy[b]++
		if fl {
			flips++
		}
	}
	for k := 0; k < 9; k++ {
		if dx[k] < 850 || dx[k] > 1150 || dy[k] < 850 || dy[k] > 1150 {
			t.Errorf("offset %d drawn %d (x) / %d (y) times of %d, want about 1000", k, dx[k], dy[k], n)
		}
	}
	if flips < 4300 || flips > 4700 {
		t.Errorf("%d flips of %d, want about half", flips, n)
	}
}

func TestMNISTFeedDoesNotAugment(t *testing.T) {
	d := synthDataset(t, 2, 3, 1, 1, 5, 5, AugNone)
	aug, err := d.Train.Feed(FeedOptions{Augment: true})
	if err != nil {
		t.Fatal(err)
	}
	x1, _, _ := collect(t, aug.Batches(0, 6))
	x2, _, _ := collect(t, d.Train.EvalFeed().Batches(0, 6))
	if !slices.Equal(x1, x2) {
		t.Error("augmenting a dataset whose policy is none changed the images")
	}
}

func TestFeedLabelOverrides(t *testing.T) {
	d := synthDataset(t, 3, 4, 1, 1, 2, 2, AugNone)
	df := d.Train.OfClasses(1)
	// Random labels: every image of class 1 relabelled to another class.
	f, err := df.Feed(FeedOptions{Relabel: func(i int, y int32) int32 { return (y + 1 + int32(i%2)) % 3 }})
	if err != nil {
		t.Fatal(err)
	}
	_, y, _ := collect(t, f.Batches(0, 3))
	if !slices.Equal(y, []int32{2, 0, 2, 0}) {
		t.Errorf("relabelled %v, want [2 0 2 0]", y)
	}
	// Explicit labels (Bad Teacher's 0/1).
	g, err := df.Feed(FeedOptions{Labels: []int32{1, 1, 0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, y, _ := collect(t, g.Batches(0, 4)); !slices.Equal(y, []int32{1, 1, 0, 1}) {
		t.Errorf("explicit labels %v", y)
	}
	if _, err := df.Feed(FeedOptions{Labels: []int32{1}}); err == nil {
		t.Error("labels of the wrong length accepted")
	}
	if _, err := df.Feed(FeedOptions{Relabel: func(int, int32) int32 { return 3 }}); err == nil {
		t.Error("a label out of range accepted")
	}
}

func TestLoaderPositionsAndDropLast(t *testing.T) {
	d := synthDataset(t, 2, 5, 1, 1, 2, 2, AugNone)
	f, _ := d.Train.Feed(FeedOptions{Shuffle: true, Seed: 4, DropLast: true})
	l := f.Loader(1, 4)
	var b nn.Batch
	seen := map[int32]bool{}
	n := 0
	for l.Next(&b) {
		if b.N != 4 {
			t.Errorf("batch of %d with DropLast", b.N)
		}
		for k, p := range l.Positions() {
			if b.Y[k] != f.Label(int(p)) {
				t.Errorf("position %d has label %d in the batch, %d in the feed", p, b.Y[k], f.Label(int(p)))
			}
			seen[p] = true
		}
		n++
	}
	if n != 2 || len(seen) != 8 {
		t.Errorf("%d batches covering %d images, want 2 and 8", n, len(seen))
	}
}

func TestLoaderReusesCallerBuffers(t *testing.T) {
	d := synthDataset(t, 2, 8, 1, 1, 2, 2, AugNone)
	l := d.Train.EvalFeed().Loader(0, 4)
	defer l.Close()
	b := nn.Batch{X: make([]float32, 0, 64), Y: make([]int32, 0, 8)}
	x0, y0 := &b.X[:1][0], &b.Y[:1][0]
	for l.Next(&b) {
		if &b.X[0] != x0 || &b.Y[0] != y0 {
			t.Fatal("Next replaced the caller's buffers although they were large enough")
		}
	}
}

func TestLoaderErrorsAndClose(t *testing.T) {
	d := synthDataset(t, 2, 8, 1, 1, 2, 2, AugNone)
	l := d.Train.EvalFeed().Loader(0, 0)
	var b nn.Batch
	if l.Next(&b) || l.Err() == nil {
		t.Error("batch size 0: want no batch and an error")
	}
	// Closing mid-pass stops the producer and ends the pass.
	l = d.Train.EvalFeed().Loader(0, 2)
	if !l.Next(&b) {
		t.Fatal("no first batch")
	}
	l.Close()
	select {
	case <-l.p.exited:
	default:
		t.Fatal("producer still running after Close")
	}
	if l.Next(&b) {
		t.Error("Next after Close returned a batch")
	}
	l.Close() // twice is fine
}

// An abandoned loader's goroutine ends once the loader is collected.
func TestAbandonedLoaderStops(t *testing.T) {
	d := synthDataset(t, 2, 50, 1, 1, 2, 2, AugNone)
	l := d.Train.EvalFeed().Loader(0, 2)
	var b nn.Batch
	l.Next(&b)
	exited := l.p.exited
	l = nil
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		runtime.GC()
		select {
		case <-exited:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Error("the producer of an abandoned loader did not stop")
}
