package data

import (
	"strings"
	"testing"
)

// folderFiles is a small image folder: classes "zebra", "Ant" and "bee"
// (sorted byte order: Ant, bee, zebra), PNG and JPEG, one grayscale.
func folderFiles(t *testing.T) files {
	return files{
		"ds/train/zebra/b.png":    pngRGB(t, 8, 6, 30),
		"ds/train/zebra/a.png":    pngRGB(t, 8, 6, 20),
		"ds/train/Ant/x.PNG":      pngGray(t, 8, 6, 5),
		"ds/train/bee/1.jpg":      jpegRGB(t, 8, 6, 0),
		"ds/train/bee/sub/2.jpeg": jpegRGB(t, 8, 6, 40),
		"ds/train/bee/notes.txt":  []byte("not an image"),
		"ds/train/bee/._1.jpg":    []byte("macOS metadata"),
		"ds/test/zebra/c.png":     pngRGB(t, 8, 6, 50),
		"ds/test/Ant/y.png":       pngGray(t, 8, 6, 9),
		"ds/test/bee/3.png":       pngRGB(t, 8, 6, 60),
		"ds/test/":                nil,
		"ds/train/":               nil,
	}
}

func TestImageFolder(t *testing.T) {
	fs := folderFiles(t)
	for _, layout := range []string{"dir", "tar", "tar.gz"} {
		t.Run(layout, func(t *testing.T) {
			var p string
			switch layout {
			case "dir":
				p = fs.writeDir(t)
			case "tar":
				p = writeFile(t, "ds.tar", fs.tarBytes(t, false))
			default:
				p = writeFile(t, "ds.tar.gz", fs.tarBytes(t, true))
			}
			d, err := Open(Config{Path: p})
			if err != nil {
				t.Fatal(err)
			}
			if d.Kind != KindImageFolder || strings.Join(d.Classes, ",") != "Ant,bee,zebra" {
				t.Fatalf("kind %s classes %v, want imagefolder Ant,bee,zebra", d.Kind, d.Classes)
			}
			if d.C != 3 || d.H != 6 || d.W != 8 || d.Augmentation != AugCropFlip {
				t.Errorf("shape %dx%dx%d aug %v", d.C, d.H, d.W, d.Augmentation)
			}
			if got := d.Train.Counts(); got[0] != 1 || got[1] != 2 || got[2] != 2 {
				t.Errorf("train counts %v, want [1 2 2]", got)
			}
			// Class-major, file-name order: Ant/x, bee/1, bee/sub/2, zebra/a, zebra/b.
			labels := []int32{0, 1, 1, 2, 2}
			for i, y := range labels {
				if d.Train.Label(i) != y {
					t.Errorf("train label %d = %d, want %d", i, d.Train.Label(i), y)
				}
			}
			// zebra/a.png (seed 20) before zebra/b.png (seed 30); pixel (x=3, y=2)
			// of a is R=23, G=22, B=25.
			img := d.Train.Image(3)
			hw := 6 * 8
			if img[2*8+3] != 23 || img[hw+2*8+3] != 22 || img[2*hw+2*8+3] != 25 {
				t.Errorf("zebra/a.png pixel (3,2) = %d,%d,%d, want 23,22,25", img[2*8+3], img[hw+2*8+3], img[2*hw+2*8+3])
			}
			// Grayscale is replicated: pixel (x=3, y=2) of Ant/x.png is 5+6.
			g := d.Train.Image(0)
			if g[2*8+3] != 11 || g[hw+2*8+3] != 11 || g[2*hw+2*8+3] != 11 {
				t.Errorf("gray pixel = %d,%d,%d, want 11 in every channel", g[2*8+3], g[hw+2*8+3], g[2*hw+2*8+3])
			}
			// JPEG decodes near its source colour (lossy): pixel (1,1) of bee/1.jpg ~ (4,4,128).
			j := d.Train.Image(1)
			if absInt(int(j[8+1])-4) > 12 || absInt(int(j[2*hw+8+1])-128) > 12 {
				t.Errorf("jpeg pixel (1,1) R=%d B=%d, want about 4 and 128", j[8+1], j[2*hw+8+1])
			}
			if len(d.Warnings) != 2 || !strings.Contains(strings.Join(d.Warnings, "\n"), "notes.txt") {
				t.Errorf("warnings %q, want the skipped notes.txt and ._1.jpg", d.Warnings)
			}
		})
	}
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestImageFolderBadInput(t *testing.T) {
	edit := func(change func(files)) files {
		fs := folderFiles(t)
		change(fs)
		return fs
	}
	cutJPEG := jpegRGB(t, 8, 6, 0)
	for _, c := range []struct {
		name  string
		fs    files
		wants []string
	}{
		{"no class folders", files{"ds/train/a.png": pngRGB(t, 8, 6, 0), "ds/test/b.png": pngRGB(t, 8, 6, 0)},
			[]string{"no class folders", "<split>/<class>/<image>"}},
		{"empty class", edit(func(fs files) {
			delete(fs, "ds/test/bee/3.png")
			fs["ds/test/bee/readme.md"] = []byte("x")
		}), []string{"ds/test/bee", "empty class", "at least one"}},
		{"missing class in test", edit(func(fs files) { delete(fs, "ds/test/bee/3.png") }),
			[]string{"ds/test/bee", "missing class folder"}},
		{"extra class in test", edit(func(fs files) { fs["ds/test/wasp/1.png"] = pngRGB(t, 8, 6, 0) }),
			[]string{"ds/test/wasp", "not present in ds/train"}},
		{"size mismatch", edit(func(fs files) { fs["ds/train/zebra/b.png"] = pngRGB(t, 9, 6, 0) }),
			[]string{"ds/train/zebra/b.png", "9x6", "expected 8x6"}},
		{"truncated jpeg", edit(func(fs files) { fs["ds/train/bee/1.jpg"] = cutJPEG[:len(cutJPEG)/2] }),
			[]string{"ds/train/bee/1.jpg", "cannot decode image"}},
		{"not an image", edit(func(fs files) { fs["ds/test/bee/3.png"] = []byte("text") }),
			[]string{"ds/test/bee/3.png", "cannot decode image"}},
		{"no test split", edit(func(fs files) {
			for k := range fs {
				if strings.HasPrefix(k, "ds/test/") {
					delete(fs, k)
				}
			}
		}), []string{"missing test split"}},
		{"image outside class", edit(func(fs files) { fs["ds/test/stray.png"] = pngRGB(t, 8, 6, 0) }),
			[]string{"ds/test/stray.png", "outside a class folder"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, gz := range []bool{false, true} {
				p := writeFile(t, "ds.tar.gz", c.fs.tarBytes(t, gz))
				_, err := Open(Config{Kind: KindImageFolder, Path: p})
				wantDataError(t, err, append([]string{p}, c.wants...)...)
			}
			p := c.fs.writeDir(t)
			_, err := Open(Config{Kind: KindImageFolder, Path: p})
			wantDataError(t, err, append([]string{p}, c.wants...)...)
		})
	}
}

func TestImageFolderValSplitAndLimits(t *testing.T) {
	fs := folderFiles(t)
	for k, v := range fs {
		if strings.HasPrefix(k, "ds/test/") {
			delete(fs, k)
			fs["ds/val/"+strings.TrimPrefix(k, "ds/test/")] = v
		}
	}
	d, err := Open(Config{Kind: KindImageFolder, Path: fs.writeDir(t), TrainPerClass: 1})
	if err != nil {
		t.Fatal(err)
	}
	if d.Test.Len() != 3 || d.Train.Len() != 3 {
		t.Errorf("train %d test %d, want 3 and 3 (val/ as test, one train image per class)", d.Train.Len(), d.Test.Len())
	}
	// The limit keeps the first by file name: zebra/a.png (seed 20).
	if d.Train.Image(2)[0] != 20 {
		t.Errorf("limited zebra image starts %d, want 20 (a.png)", d.Train.Image(2)[0])
	}
	// kind = cifar10 on a folder without CIFAR-10's classes is refused.
	_, err = Open(Config{Kind: KindCIFAR10, Path: fs.writeDir(t)})
	wantDataError(t, err, "expected CIFAR-10's")
}

func TestDecodeWorkersDoNotChangeResult(t *testing.T) {
	p := writeFile(t, "ds.tar", folderFiles(t).tarBytes(t, false))
	one, err := Open(Config{Path: p, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	many, err := Open(Config{Path: p, Workers: 7})
	if err != nil {
		t.Fatal(err)
	}
	if one.Digest() != many.Digest() {
		t.Error("the worker count changed the digest")
	}
	for i := 0; i < one.Train.Len(); i++ {
		if string(one.Train.Image(i)) != string(many.Train.Image(i)) {
			t.Errorf("image %d differs between 1 and 7 workers", i)
		}
	}
}
