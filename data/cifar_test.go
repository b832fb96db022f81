package data

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// cifar10Batch builds n CIFAR-10 records; record i has label (i+off)%10 and
// every pixel equal to i+off.
func cifar10Batch(n, off int) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		b = append(b, byte((i+off)%10))
		for p := 0; p < cifarPixels; p++ {
			b = append(b, byte(i+off))
		}
	}
	return b
}

// cifar100File builds n records; record i has fine label (i+off)%100 and
// coarse label fine/5.
func cifar100File(n, off int) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		fine := (i + off) % 100
		b = append(b, byte(fine/5), byte(fine))
		for p := 0; p < cifarPixels; p++ {
			b = append(b, byte(p+i))
		}
	}
	return b
}

func cifar10Files(t *testing.T, gz bool) files {
	fs := files{}
	for k := 1; k <= 5; k++ {
		name, b := fmt.Sprintf("cifar-10-batches-bin/data_batch_%d.bin", k), cifar10Batch(20, 20*(k-1))
		if gz {
			name, b = name+".gz", gzipBytes(t, b)
		}
		fs[name] = b
	}
	fs["cifar-10-batches-bin/test_batch.bin"] = cifar10Batch(10, 0)
	fs["cifar-10-batches-bin/batches.meta.txt"] = []byte(strings.Join(cifar10Classes, "\n") + "\n\n")
	return fs
}

func TestCIFAR10Binary(t *testing.T) {
	for _, layout := range []string{"dir", "dir-gz", "tar", "tar.gz"} {
		t.Run(layout, func(t *testing.T) {
			fs := cifar10Files(t, layout == "dir-gz" || layout == "tar.gz")
			var p string
			switch layout {
			case "dir", "dir-gz":
				p = fs.writeDir(t)
			case "tar":
				p = writeFile(t, "cifar-10-binary.tar", fs.tarBytes(t, false))
			default:
				p = writeFile(t, "cifar-10-binary.tar.gz", fs.tarBytes(t, true))
			}
			d, err := Open(Config{Path: p})
			if err != nil {
				t.Fatal(err)
			}
			if d.Kind != KindCIFAR10 || d.Train.Len() != 100 || d.Test.Len() != 10 || d.Classes[9] != "truck" {
				t.Fatalf("kind %s, %d/%d images, classes %v", d.Kind, d.Train.Len(), d.Test.Len(), d.Classes)
			}
			checkCounts(t, "train", d.Train, 10)
			// File order, batches 1..5: train image 47 is record 7 of batch 3.
			if d.Train.Label(47) != 7 || d.Train.Image(47)[100] != 47 {
				t.Errorf("train image 47: label %d pixel %d, want 7 and 47", d.Train.Label(47), d.Train.Image(47)[100])
			}
			if len(d.Warnings) != 6 { // every file is smaller than the official 10,000 records
				t.Errorf("warnings %v, want one per short batch", d.Warnings)
			}
			lim, err := Open(Config{Kind: KindCIFAR10, Path: p, TrainPerClass: 3, TestPerClass: 1})
			if err != nil {
				t.Fatal(err)
			}
			checkCounts(t, "limited train", lim.Train, 3)
			checkCounts(t, "limited test", lim.Test, 1)
			if lim.Train.Image(0)[0] != 0 || lim.Train.Image(29)[0] != 29 { // the first 3 of each class: records 0..29
				t.Errorf("limited train keeps records %d..%d, want 0..29", lim.Train.Image(0)[0], lim.Train.Image(29)[0])
			}
		})
	}
}

func TestCIFARBadInput(t *testing.T) {
	good := cifar10Files(t, false)
	with := func(name string, b []byte) files {
		fs := files{}
		for k, v := range good {
			fs[k] = v
		}
		if b == nil {
			delete(fs, name)
		} else {
			fs[name] = b
		}
		return fs
	}
	batch3 := "cifar-10-batches-bin/data_batch_3.bin"
	badLabel := cifar10Batch(20, 0)
	badLabel[5*cifar10Rec] = 10
	for _, c := range []struct {
		name  string
		fs    files
		wants []string
	}{
		{"truncated record", with(batch3, cifar10Batch(20, 0)[:20*cifar10Rec-1]), []string{batch3, "not a whole number of 3073-byte records", "truncated"}},
		{"CIFAR-100 record size", with(batch3, cifar100File(20, 0)), []string{batch3, "3073-byte records"}},
		{"label out of range", with(batch3, badLabel), []string{batch3, "record 5", "label 10", "expected 0..9"}},
		{"empty batch", with(batch3, []byte{}), []string{batch3, "empty file"}},
		{"missing batch", with(batch3, nil), []string{batch3, "missing file"}},
		{"truncated gzip", with(batch3+".gz", gzipBytes(t, cifar10Batch(20, 0))[:200]), []string{batch3, "truncated or corrupt gzip"}},
		{"class names", with("cifar-10-batches-bin/batches.meta.txt", []byte("a\nb\n")), []string{"batches.meta.txt", "2 names: expected 10"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := c.fs
			if c.name == "truncated gzip" {
				delete(fs, batch3)
			}
			p := fs.writeDir(t)
			_, err := Open(Config{Kind: KindCIFAR10, Path: p})
			wantDataError(t, err, append([]string{p}, c.wants...)...)
		})
	}
}

func TestCIFAR100Binary(t *testing.T) {
	fs := files{
		"train.bin":            cifar100File(200, 0),
		"test.bin.gz":          gzipBytes(t, cifar100File(100, 0)),
		"fine_label_names.txt": []byte(strings.Join(cifar100Fine, "\n") + "\n"),
	}
	p := fs.writeDir(t)
	fine, err := Open(Config{Kind: KindCIFAR100, Path: p})
	if err != nil {
		t.Fatal(err)
	}
	coarse, err := Open(Config{Path: p, Labels: "coarse"})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, "fine", fine.Train, 2)
	checkCounts(t, "coarse", coarse.Train, 10)
	checkCounts(t, "coarse test", coarse.Test, 5)
	if fine.Train.Label(123) != 23 || coarse.Train.Label(123) != 4 || coarse.Classes[4] != "fruit_and_vegetables" {
		t.Errorf("record 123: fine %d coarse %d (%s), want 23 and 4", fine.Train.Label(123), coarse.Train.Label(123), coarse.Classes[4])
	}
	if string(fine.Train.Image(3)[:3]) != "\x03\x04\x05" {
		t.Errorf("record 3 pixels start %v, want 3 4 5", fine.Train.Image(3)[:3])
	}

	// A fine class under two superclasses is refused.
	bad := cifar100File(200, 0)
	bad[150*cifar100Rec] = 19 // record 150: fine 50 (coarse 10) claims coarse 19
	fs["train.bin"] = bad
	_, err = Open(Config{Kind: KindCIFAR100, Path: fs.writeDir(t)})
	wantDataError(t, err, "train.bin", "record 150", "one superclass per fine class")

	// An empty class is refused, not silently dropped.
	fs["train.bin"] = cifar100File(99, 0)
	_, err = Open(Config{Kind: KindCIFAR100, Path: fs.writeDir(t)})
	wantDataError(t, err, "empty class", "train split has no image of class 99 (worm)")

	// labels = coarse on another kind is a configuration error.
	if _, err := Open(Config{Kind: KindCIFAR10, Path: p, Labels: "coarse"}); err == nil || !strings.Contains(err.Error(), "applies only to kind") {
		t.Errorf("labels on cifar10: error %v", err)
	}
}

func TestPathErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := Open(Config{Kind: KindCIFAR10, Path: missing})
	wantDataError(t, err, missing, "cannot open dataset path")

	notArchive := writeFile(t, "x.bin", []byte("hello, this is not a tar archive at all"))
	_, err = Open(Config{Kind: KindCIFAR10, Path: notArchive})
	wantDataError(t, err, notArchive, "not a directory, tar or .tar.gz archive")

	single := writeFile(t, "data_batch_1.bin.gz", gzipBytes(t, cifar10Batch(3, 0)))
	_, err = Open(Config{Kind: KindCIFAR10, Path: single})
	wantDataError(t, err, single, "holds no tar archive", "give the folder")

	arch := cifar10Files(t, false).tarBytes(t, true)
	cut := writeFile(t, "cut.tar.gz", arch[:len(arch)/2])
	_, err = Open(Config{Kind: KindCIFAR10, Path: cut})
	wantDataError(t, err, cut, "truncated")

	// A gzip stream cut in its trailer is noticed after the last entry.
	trailer := writeFile(t, "trailer.tar.gz", arch[:len(arch)-4])
	_, err = Open(Config{Kind: KindCIFAR10, Path: trailer})
	wantDataError(t, err, trailer, "truncated or corrupt archive")

	// A tar (not gz) cut inside a member names the member.
	plain := cifar10Files(t, false).tarBytes(t, false)
	cutTar := writeFile(t, "cut.tar", plain[:512+cifar10Rec*7])
	_, err = Open(Config{Kind: KindCIFAR10, Path: cutTar})
	wantDataError(t, err, cutTar, "truncated archive member")

	empty := t.TempDir()
	_, err = Open(Config{Path: empty})
	wantDataError(t, err, empty, "cannot tell the dataset kind")

	if _, err := Open(Config{Kind: "imagenet", Path: empty}); err == nil || !strings.Contains(err.Error(), "unknown dataset kind") {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := Open(Config{Kind: KindCIFAR10}); err == nil || !strings.Contains(err.Error(), "needs a path") {
		t.Errorf("no path: %v", err)
	}
}

// FuzzCIFAR: the CIFAR record reader never panics; what it accepts has
// whole records with labels in range. Run with go test -fuzz=FuzzCIFAR ./data.
func FuzzCIFAR(f *testing.F) {
	f.Add(cifar10Batch(2, 0), false)
	f.Add(cifar100File(2, 0), true)
	f.Add([]byte{1, 2, 3}, false)
	f.Fuzz(func(t *testing.T, b []byte, hundred bool) {
		classes := []int{10}
		if hundred {
			classes = []int{20, 100}
		}
		r, err := parseCIFAR(b, classes)
		if err != nil {
			return
		}
		if r.n*r.rec != len(b) || r.n == 0 {
			t.Fatalf("%d records of %d bytes from %d bytes", r.n, r.rec, len(b))
		}
		for k, nc := range classes {
			for i := 0; i < r.n; i++ {
				if int(r.labels[k][i]) >= nc {
					t.Fatalf("record %d label %d >= %d", i, r.labels[k][i], nc)
				}
			}
		}
		_ = r.pixels(r.n - 1)
		if hundred {
			_ = checkCoarseFine(r)
		}
		s := cifarSplit([]*cifarRecords{r}, len(classes)-1, classes[len(classes)-1], 1)
		if len(s.pixels) != len(s.labels)*cifarPixels {
			t.Fatalf("split of %d labels has %d pixel bytes", len(s.labels), len(s.pixels))
		}
	})
}
