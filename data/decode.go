package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers JPEG for image.Decode
	_ "image/png"  // registers PNG for image.Decode
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// imageExts are the file name extensions (lower case) read as images.
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true}

func isImageName(name string) bool { return imageExts[strings.ToLower(path.Ext(name))] }

// decodeRGB decodes a JPEG or PNG into dst as 3 x h x w uint8 planes (R,
// G, B), replicating grayscale into all three. dst must hold 3*h*w bytes;
// the image must be exactly w x h. YCbCr JPEGs are converted with
// color.YCbCrToRGB, the same values as image.At(x, y).RGBA() >> 8; images
// with alpha keep their colour values and drop alpha (as PIL's
// convert("RGB") does).
func decodeRGB(b []byte, dst []uint8, w, h int) error {
	m, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return err
	}
	r := m.Bounds()
	if r.Dx() != w || r.Dy() != h {
		return fmt.Errorf("image is %dx%d: expected %dx%d like the others (Lethe does not resize)", r.Dx(), r.Dy(), w, h)
	}
	toRGB(m, dst)
	return nil
}

// imageSize decodes only the header of an image.
func imageSize(b []byte) (w, h int, err error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return 0, 0, err
	}
	return cfg.Width, cfg.Height, nil
}

// toRGB writes m as R, G, B planes into dst.
func toRGB(m image.Image, dst []uint8) {
	r := m.Bounds()
	w, h := r.Dx(), r.Dy()
	plane := w * h
	R, G, B := dst[:plane], dst[plane:2*plane], dst[2*plane:3*plane]
	switch m := m.(type) {
	case *image.YCbCr:
		if m.SubsampleRatio == image.YCbCrSubsampleRatio420 {
			// The common JPEG case, with COffset's arithmetic hoisted out of
			// the row; same values as the general loop below.
			for y := 0; y < h; y++ {
				py := r.Min.Y + y
				yrow := m.Y[y*m.YStride : y*m.YStride+w]
				ci := (py/2 - m.Rect.Min.Y/2) * m.CStride
				cb, cr := m.Cb[ci:], m.Cr[ci:]
				cx0 := m.Rect.Min.X / 2
				for x, yy := range yrow {
					c := (r.Min.X+x)/2 - cx0
					R[y*w+x], G[y*w+x], B[y*w+x] = color.YCbCrToRGB(yy, cb[c], cr[c])
				}
			}
			return
		}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				px, py := r.Min.X+x, r.Min.Y+y
				yi, ci := m.YOffset(px, py), m.COffset(px, py)
				R[y*w+x], G[y*w+x], B[y*w+x] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			copy(R[y*w:], row)
			copy(G[y*w:], row)
			copy(B[y*w:], row)
		}
	case *image.RGBA:
		// Decoders return *image.RGBA only for opaque images, where
		// premultiplied and straight colour agree.
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := 0; x < w; x++ {
				R[y*w+x], G[y*w+x], B[y*w+x] = row[4*x], row[4*x+1], row[4*x+2]
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := 0; x < w; x++ {
				R[y*w+x], G[y*w+x], B[y*w+x] = row[4*x], row[4*x+1], row[4*x+2]
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBA64Model.Convert(m.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA64)
				R[y*w+x], G[y*w+x], B[y*w+x] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
			}
		}
	}
}

// imageJob is one image file to decode into a split's pixel slab.
type imageJob struct {
	f   *file
	dst []uint8 // 3*h*w bytes of the slab
}

// decodeAll decodes the jobs with the given number of goroutines. The
// error, if any, is that of the earliest failing job in order, so it does
// not depend on scheduling.
func decodeAll(t *tree, jobs []imageJob, w, h, workers int) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(len(jobs), 1))
	var next atomic.Int64
	var failed atomic.Bool
	errs := make([]error, workers)
	errAt := make([]int, workers)
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			errAt[k] = -1
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				j := jobs[i]
				b, err := j.f.read()
				if err == nil {
					err = decodeRGB(b, j.dst, w, h)
				}
				if err != nil {
					errs[k], errAt[k] = &Error{File: t.path, Entry: j.f.name, Msg: "cannot decode image", Err: err}, i
					failed.Store(true)
					return
				}
			}
		}(k)
	}
	wg.Wait()
	first := -1
	for k := range errs {
		if errs[k] != nil && (first < 0 || errAt[k] < errAt[first]) {
			first = k
		}
	}
	if first >= 0 {
		return errs[first]
	}
	return nil
}
