package data

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"sync"
	"testing"
)

// The figures below are ../shared/data/README.md's.

var (
	cifar10Once sync.Once
	cifar10Set  *Dataset
	cifar10Err  error
)

// sharedCIFAR10 opens ../shared/data/cifar10/cifar-10-jpeg.tar.gz once for
// all tests (decoding 60,000 JPEGs takes seconds).
func sharedCIFAR10(t *testing.T) *Dataset {
	p := sharedPath(t, "cifar10/cifar-10-jpeg.tar.gz")
	cifar10Once.Do(func() { cifar10Set, cifar10Err = Open(Config{Kind: KindCIFAR10, Path: p}) })
	if cifar10Err != nil {
		t.Fatal(cifar10Err)
	}
	return cifar10Set
}

// checkStats compares a subset's statistics with the README's 0-255 values
// (given to four decimals).
func checkStats(t *testing.T, s Subset, mean, std []float64) {
	t.Helper()
	m, sd := s.Stats()
	for c := range mean {
		if math.Abs(m[c]*255-mean[c]) > 6e-5 || math.Abs(sd[c]*255-std[c]) > 6e-5 {
			t.Errorf("channel %d: mean %.4f std %.4f (0-255), README says %.4f / %.4f", c, m[c]*255, sd[c]*255, mean[c], std[c])
		}
	}
}

func checkCounts(t *testing.T, what string, s Subset, want int) {
	t.Helper()
	for c, n := range s.Counts() {
		if n != want {
			t.Errorf("%s: class %d has %d images, want %d", what, c, n, want)
		}
	}
}

func TestSharedCIFAR10JPEG(t *testing.T) {
	d := sharedCIFAR10(t)
	if d.Kind != KindCIFAR10 || d.C != 3 || d.H != 32 || d.W != 32 {
		t.Fatalf("kind %s shape %dx%dx%d, want cifar10 3x32x32", d.Kind, d.C, d.H, d.W)
	}
	for i, name := range []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"} {
		if d.Classes[i] != name {
			t.Errorf("class %d is %q, want %q", i, d.Classes[i], name)
		}
	}
	if d.Train.Len() != 50000 || d.Test.Len() != 10000 {
		t.Errorf("train %d test %d, want 50000 / 10000", d.Train.Len(), d.Test.Len())
	}
	checkCounts(t, "train", d.Train, 5000)
	checkCounts(t, "test", d.Test, 1000)
	checkStats(t, d.Train, []float64{125.2444, 122.9113, 113.8401}, []float64{62.8634, 62.1626, 66.7788})
	if d.NormSource != "train split" || math.Abs(d.Mean[0]-125.2444/255) > 1e-6 {
		t.Errorf("normalisation %v / %v from %s, want the train split's statistics", d.Mean, d.Std, d.NormSource)
	}

	// The decoded-pixel check: the first 100 train images (airplane
	// 0000..0099), CHW and HWC.
	chw, hwc := sha256.New(), sha256.New()
	for i := 0; i < 100; i++ {
		if d.Train.Label(i) != 0 {
			t.Fatalf("train image %d has label %d, want 0 (airplane)", i, d.Train.Label(i))
		}
		img := d.Train.Image(i)
		chw.Write(img)
		px := make([]byte, 0, 3072)
		for p := 0; p < 1024; p++ {
			px = append(px, img[p], img[1024+p], img[2048+p])
		}
		hwc.Write(px)
	}
	if got := hex.EncodeToString(chw.Sum(nil)); got != "aefd1ebbcb36d096a6d7bd072cec30918bb20d13bd5b6eb11a2daa94b7992ada" {
		t.Errorf("CHW checksum of the first 100 train images %s, README says aefd1ebb...", got)
	}
	if got := hex.EncodeToString(hwc.Sum(nil)); got != "fb24b36591824ea04f64e964aa7badacf2303139b6d4be9fb47728ccf77f9bcc" {
		t.Errorf("HWC checksum of the first 100 train images %s, README says fb24b365...", got)
	}
	// Labels are class-major: the last train image is a truck, the first
	// test image an airplane.
	if y := d.Train.Label(d.Train.Len() - 1); y != 9 {
		t.Errorf("last train label %d, want 9", y)
	}
	if y := d.Test.Label(0); y != 0 {
		t.Errorf("first test label %d, want 0", y)
	}
}

func TestSharedCIFAR10Digest(t *testing.T) {
	d := sharedCIFAR10(t)
	p := sharedPath(t, "cifar10/cifar-10-jpeg.tar.gz")
	got, err := Digest(Config{Kind: KindCIFAR10, Path: p})
	if err != nil {
		t.Fatal(err)
	}
	if got != d.Digest() {
		t.Errorf("Digest(cfg) = %s, Open(cfg).Digest() = %s: must agree", got, d.Digest())
	}
	// Auto-detection sees CIFAR-10's class folders.
	if k, err := DetectKind(p); err != nil || k != KindCIFAR10 {
		t.Errorf("DetectKind = %q, %v; want cifar10", k, err)
	}
}

func TestSharedCIFAR100(t *testing.T) {
	p := sharedPath(t, "cifar100")
	fine, err := Open(Config{Kind: KindCIFAR100, Path: p})
	if err != nil {
		t.Fatal(err)
	}
	coarse, err := Open(Config{Kind: KindCIFAR100, Path: p, Labels: "coarse"})
	if err != nil {
		t.Fatal(err)
	}
	if fine.NumClasses() != 100 || coarse.NumClasses() != 20 {
		t.Fatalf("classes %d fine, %d coarse; want 100 and 20", fine.NumClasses(), coarse.NumClasses())
	}
	if fine.Classes[0] != "apple" || fine.Classes[1] != "aquarium_fish" || fine.Classes[99] != "worm" {
		t.Errorf("fine names %q %q ... %q", fine.Classes[0], fine.Classes[1], fine.Classes[99])
	}
	if coarse.Classes[0] != "aquatic_mammals" || coarse.Classes[19] != "vehicles_2" {
		t.Errorf("coarse names %q ... %q", coarse.Classes[0], coarse.Classes[19])
	}
	checkCounts(t, "fine train", fine.Train, 30)
	checkCounts(t, "fine test", fine.Test, 10)
	checkCounts(t, "coarse train", coarse.Train, 150)
	checkCounts(t, "coarse test", coarse.Test, 50)
	// Record order is the file's: the README's first five (coarse, fine).
	for _, c := range []struct {
		s            Subset
		coarse, fine []int32
		split        string
	}{
		{fine.Train, []int32{17, 8, 16, 14, 8}, []int32{59, 97, 74, 11, 3}, "train"},
		{fine.Test, []int32{18, 2, 12, 14, 3}, []int32{13, 82, 75, 35, 10}, "test"},
	} {
		cs := coarse.Train
		if c.split == "test" {
			cs = coarse.Test
		}
		for i := range c.fine {
			if c.s.Label(i) != c.fine[i] || cs.Label(i) != c.coarse[i] {
				t.Errorf("%s record %d: (coarse, fine) = (%d, %d), README says (%d, %d)", c.split, i, cs.Label(i), c.s.Label(i), c.coarse[i], c.fine[i])
			}
		}
	}
	checkStats(t, fine.Train, []float64{129.7505, 124.7843, 113.6288}, []float64{68.4443, 65.4530, 70.5790})
	if fine.Digest() == coarse.Digest() {
		t.Error("fine and coarse label sets have the same digest")
	}
	for _, d := range []*Dataset{fine, coarse} {
		want, err := Digest(Config{Kind: KindCIFAR100, Path: p, Labels: map[int]string{100: "fine", 20: "coarse"}[d.NumClasses()]})
		if err != nil || want != d.Digest() {
			t.Errorf("Digest(cfg) = %s, %v; Open(cfg).Digest() = %s", want, err, d.Digest())
		}
	}
	// The pixels are shared: image i is the same bytes under either label set.
	if &fine.Train.Image(5)[0] == &coarse.Train.Image(5)[0] || string(fine.Train.Image(5)) != string(coarse.Train.Image(5)) {
		t.Error("fine and coarse opens should decode the same pixels into separate datasets")
	}
}

func TestSharedTinyImageNet(t *testing.T) {
	p := sharedPath(t, "tinyimagenet/tiny-imagenet-200-mini.tar.gz")
	d, err := Open(Config{Path: p}) // kind detected
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != KindTinyImageNet || d.C != 3 || d.H != 64 || d.W != 64 || d.NumClasses() != 200 {
		t.Fatalf("kind %s shape %dx%dx%d classes %d", d.Kind, d.C, d.H, d.W, d.NumClasses())
	}
	// Label order is wnids.txt's, not sorted.
	if d.Classes[0] != "n02124075" || d.Classes[199] != "n02504458" {
		t.Errorf("classes[0] = %s, classes[199] = %s; want wnids.txt order n02124075 ... n02504458", d.Classes[0], d.Classes[199])
	}
	if d.Descriptions[0] != "Egyptian cat" {
		t.Errorf("description of n02124075 = %q, want \"Egyptian cat\"", d.Descriptions[0])
	}
	checkCounts(t, "train", d.Train, 20)
	checkCounts(t, "val", d.Test, 10)
	checkStats(t, d.Train, []float64{122.8171, 114.5240, 101.8510}, []float64{70.7160, 68.6156, 72.0768})
	if len(d.Warnings) != 0 { // the release layout: nothing unexpected
		t.Errorf("warnings on the release layout: %v", d.Warnings)
	}
}

func TestSharedTinyImageNetLimits(t *testing.T) {
	p := sharedPath(t, "tinyimagenet/tiny-imagenet-200-mini.tar.gz")
	d, err := Open(Config{Kind: KindTinyImageNet, Path: p, TrainPerClass: 3, TestPerClass: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, "train", d.Train, 3)
	checkCounts(t, "val", d.Test, 2)
	full, err := Digest(Config{Kind: KindTinyImageNet, Path: p})
	if err != nil || full == d.Digest() {
		t.Errorf("limited and full datasets share digest %s (%v)", full, err)
	}
}
