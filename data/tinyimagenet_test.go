package data

import (
	"strings"
	"testing"
)

// tinyFiles is a two-class TinyImageNet in the release layout (with a
// top-level folder, wnids.txt not in sorted order, CRLF annotations).
func tinyFiles(t *testing.T) files {
	j := func(seed uint8) []byte { return jpegRGB(t, 64, 64, seed) }
	return files{
		"tiny/wnids.txt":                   []byte("n02\nn01\n"),
		"tiny/words.txt":                   []byte("n01\tfirst thing\nn02\tsecond, other\nn99\tunused"),
		"tiny/train/n01/images/n01_0.JPEG": j(0),
		"tiny/train/n01/images/n01_1.JPEG": j(10),
		"tiny/train/n01/n01_boxes.txt":     []byte("n01_0.JPEG\t0\t0\t10\t10\n"),
		"tiny/train/n02/images/n02_0.JPEG": pngGray(t, 64, 64, 3),
		"tiny/val/images/val_0.JPEG":       j(20),
		"tiny/val/images/val_1.JPEG":       j(30),
		"tiny/val/images/val_2.JPEG":       j(40),
		"tiny/val/val_annotations.txt":     []byte("val_0.JPEG\tn01\t0\t0\t1\t1\r\nval_1.JPEG\tn02\t0\t0\t1\t1\r\nval_2.JPEG\tn01\t0\t0\t1\t1\r\n"),
		"tiny/test/images/test_0.JPEG":     j(50),
	}
}

func TestTinyImageNet(t *testing.T) {
	p := writeFile(t, "tiny.tar.gz", tinyFiles(t).tarBytes(t, true))
	d, err := Open(Config{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != KindTinyImageNet || strings.Join(d.Classes, ",") != "n02,n01" {
		t.Fatalf("kind %s classes %v, want wnids.txt order n02,n01", d.Kind, d.Classes)
	}
	if strings.Join(d.Descriptions, "|") != "second, other|first thing" {
		t.Errorf("descriptions %q", d.Descriptions)
	}
	if got := d.Train.Counts(); got[0] != 1 || got[1] != 2 {
		t.Errorf("train counts %v, want [1 2]", got)
	}
	if got := d.Test.Counts(); got[0] != 1 || got[1] != 2 {
		t.Errorf("val counts %v, want [1 2]", got)
	}
	// Class-major: n02's gray image first, replicated into RGB.
	g := d.Train.Image(0)
	if d.Train.Label(0) != 0 || g[64*2+3] != 3+6 || g[64*64+64*2+3] != 9 {
		t.Errorf("first train image: label %d, pixel %d/%d, want class 0 and gray 9", d.Train.Label(0), g[64*2+3], g[64*64+64*2+3])
	}
	// Val of n01 in annotation order: val_0 (seed 20) then val_2 (seed 40).
	if d.Test.Label(1) != 1 || d.Test.Label(2) != 1 || d.Test.Image(1)[0] > d.Test.Image(2)[0] {
		t.Errorf("val order: labels %d %d, first pixels %d %d", d.Test.Label(1), d.Test.Label(2), d.Test.Image(1)[0], d.Test.Image(2)[0])
	}
}

func TestTinyImageNetBadInput(t *testing.T) {
	edit := func(change func(files)) files {
		fs := tinyFiles(t)
		change(fs)
		return fs
	}
	for _, c := range []struct {
		name  string
		fs    files
		wants []string
	}{
		{"unknown wnid in annotations", edit(func(fs files) {
			fs["tiny/val/val_annotations.txt"] = []byte("val_0.JPEG\tn03\t0\t0\t1\t1\nval_1.JPEG\tn02\nval_2.JPEG\tn01\n")
		}), []string{"tiny/val/val_annotations.txt", "line 1", "n03 is not listed"}},
		{"unannotated val image", edit(func(fs files) { fs["tiny/val/images/val_9.JPEG"] = jpegRGB(t, 64, 64, 0) }),
			[]string{"tiny/val/images/val_9.JPEG", "no line in val_annotations.txt"}},
		{"annotated image missing", edit(func(fs files) { delete(fs, "tiny/val/images/val_2.JPEG") }),
			[]string{"tiny/val/images/val_2.JPEG", "line 3"}},
		{"missing annotations", edit(func(fs files) { delete(fs, "tiny/val/val_annotations.txt") }),
			[]string{"val_annotations.txt", "missing"}},
		{"train folder missing", edit(func(fs files) {
			delete(fs, "tiny/train/n02/images/n02_0.JPEG")
		}), []string{"tiny/train/n02/images", "missing class folder", "line 1 of wnids.txt"}},
		{"empty class", edit(func(fs files) {
			delete(fs, "tiny/train/n02/images/n02_0.JPEG")
			fs["tiny/train/n02/images/"] = nil
		}), []string{"tiny/train/n02/images", "empty class"}},
		{"extra train folder", edit(func(fs files) { fs["tiny/train/n03/images/a.JPEG"] = jpegRGB(t, 64, 64, 0) }),
			[]string{"tiny/train/n03", "not listed in tiny/wnids.txt"}},
		{"wrong size", edit(func(fs files) { fs["tiny/train/n01/images/n01_1.JPEG"] = jpegRGB(t, 32, 32, 0) }),
			[]string{"tiny/train/n01/images/n01_1.JPEG", "expected 64x64"}},
		{"class without val", edit(func(fs files) {
			fs["tiny/val/val_annotations.txt"] = []byte("val_0.JPEG\tn01\nval_1.JPEG\tn01\nval_2.JPEG\tn01\n")
		}), []string{"empty class", "n02"}},
		{"duplicate wnid", edit(func(fs files) { fs["tiny/wnids.txt"] = []byte("n02\nn01\nn02\n") }),
			[]string{"wnids.txt", "line 3", "listed twice"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, "tiny.tar.gz", c.fs.tarBytes(t, true))
			_, err := Open(Config{Kind: KindTinyImageNet, Path: p})
			wantDataError(t, err, append([]string{p}, c.wants...)...)
		})
	}
}
