package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// sharedPath returns a path under the shared data directory, or skips the
// test with a message when it is absent.
func sharedPath(t testing.TB, rel string) string {
	t.Helper()
	dir, err := SharedDir()
	if err != nil {
		t.Skipf("shared data absent: %v", err)
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data absent: %v", err)
	}
	return p
}

// synthDataset builds a dataset in memory: perClass train and testPerClass
// test images of each class, every pixel of image i equal to i mod 251 plus
// its channel, so tests can recognise images.
func synthDataset(t testing.TB, classes, perClass, testPerClass, c, h, w int, aug Augmentation) *Dataset {
	t.Helper()
	dec := &decoded{kind: "synthetic", source: "memory", c: c, h: h, w: w, aug: aug}
	for k := 0; k < classes; k++ {
		dec.classes = append(dec.classes, string(rune('a'+k)))
	}
	fill := func(n int) rawSplit {
		var s rawSplit
		for i := 0; i < n*classes; i++ {
			s.labels = append(s.labels, int32(i%classes)) // interleaved classes
			for ch := 0; ch < c; ch++ {
				for p := 0; p < h*w; p++ {
					s.pixels = append(s.pixels, uint8((i+ch*7+p)%251))
				}
			}
		}
		return s
	}
	dec.train, dec.test = fill(perClass), fill(testPerClass)
	d, err := assemble(dec, Config{}, "synthetic")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// files is a small file tree for building test datasets.
type files map[string][]byte

// writeDir writes the files under a new temporary directory.
func (fs files) writeDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range fs {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tarBytes archives the files (names ending in "/" are directories), gzipped
// when gz is set.
func (fs files) tarBytes(t testing.TB, gz bool) []byte {
	t.Helper()
	var names []string
	for n := range fs {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	var w *tar.Writer
	var z *gzip.Writer
	if gz {
		z = gzip.NewWriter(&buf)
		w = tar.NewWriter(z)
	} else {
		w = tar.NewWriter(&buf)
	}
	for _, n := range names {
		hdr := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(fs[n])), Typeflag: tar.TypeReg}
		if strings.HasSuffix(n, "/") {
			hdr = &tar.Header{Name: n, Mode: 0o755, Typeflag: tar.TypeDir}
		}
		if err := w.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(fs[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if z != nil {
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// writeFile writes b to a new temporary file with the given name.
func writeFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	z.Write(b)
	z.Close()
	return buf.Bytes()
}

// pngRGB encodes a w x h RGB image whose pixel (x, y) is (seed+x, seed+y,
// seed+x+y).
func pngRGB(t testing.TB, w, h int, seed uint8) []byte {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.SetNRGBA(x, y, color.NRGBA{seed + uint8(x), seed + uint8(y), seed + uint8(x+y), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngGray encodes a w x h grayscale image whose pixel (x, y) is seed+x*y.
func pngGray(t testing.TB, w, h int, seed uint8) []byte {
	t.Helper()
	m := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.SetGray(x, y, color.Gray{seed + uint8(x*y)})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jpegRGB encodes a w x h colour JPEG.
func jpegRGB(t testing.TB, w, h int, seed uint8) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Set(x, y, color.RGBA{seed + uint8(4*x), seed + uint8(4*y), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wantDataError checks that err is an *Error whose message contains every
// fragment (the file, the member, what was expected).
func wantDataError(t testing.TB, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", fragments)
	}
	var de *Error
	if !errors.As(err, &de) {
		t.Fatalf("error %q (%T) is not a *data.Error", err, err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not mention %q", err, f)
		}
	}
}
