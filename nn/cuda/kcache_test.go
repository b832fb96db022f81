package cuda

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCompiler counts compilations and returns an image derived from its
// inputs, so a wrong cache hit shows.
type fakeCompiler struct{ calls int }

func (f *fakeCompiler) compile(src string, t compileTarget) ([]byte, error) {
	f.calls++
	return []byte("image of " + t.Arch + " for " + src), nil
}

func TestKernelCacheCompilesOncePerKey(t *testing.T) {
	c := kernelCache{dir: filepath.Join(t.TempDir(), "nvrtc")}
	f := &fakeCompiler{}
	sm90 := compileTarget{Arch: "sm_90", Cubin: true}
	img, cached, err := c.load("src A", sm90, "13.0", f.compile, nil)
	if err != nil || cached || string(img) != "image of sm_90 for src A" || f.calls != 1 {
		t.Fatalf("first load: %q cached=%v err=%v calls=%d", img, cached, err, f.calls)
	}
	img, cached, err = c.load("src A", sm90, "13.0", f.compile, nil)
	if err != nil || !cached || string(img) != "image of sm_90 for src A" || f.calls != 1 {
		t.Fatalf("second load: %q cached=%v err=%v calls=%d", img, cached, err, f.calls)
	}
	// Each input of the key forces a new compilation.
	for _, k := range []struct {
		src, ver string
		t        compileTarget
	}{
		{"src B", "13.0", sm90},
		{"src A", "12.8", sm90},
		{"src A", "13.0", compileTarget{Arch: "sm_80", Cubin: true}},
		{"src A", "13.0", compileTarget{Arch: "compute_90"}},
	} {
		before := f.calls
		img, cached, err := c.load(k.src, k.t, k.ver, f.compile, nil)
		if err != nil || cached || f.calls != before+1 || !strings.Contains(string(img), k.src) {
			t.Errorf("%+v: %q cached=%v err=%v", k, img, cached, err)
		}
	}
}

func TestKernelCacheRecompilesDamagedFiles(t *testing.T) {
	c := kernelCache{dir: t.TempDir()}
	f := &fakeCompiler{}
	tg := compileTarget{Arch: "sm_90", Cubin: true}
	if _, _, err := c.load("src", tg, "13.0", f.compile, nil); err != nil {
		t.Fatal(err)
	}
	path := c.path(cacheKey("src", tg, "13.0", compileOptions(tg)), tg)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, damaged := range map[string][]byte{
		"truncated":      good[:len(good)-3],
		"flipped byte":   append(append([]byte{}, good[:len(good)-1]...), good[len(good)-1]^1),
		"no header":      []byte("image of sm_90 for src"),
		"empty":          {},
		"wrong checksum": bytes.Replace(good, []byte(cacheMagic), []byte(cacheMagic+"0"), 1),
	} {
		if err := os.WriteFile(path, damaged, 0o644); err != nil {
			t.Fatal(err)
		}
		before := f.calls
		img, cached, err := c.load("src", tg, "13.0", f.compile, nil)
		if err != nil || cached || f.calls != before+1 || string(img) != "image of sm_90 for src" {
			t.Errorf("%s: %q cached=%v err=%v", name, img, cached, err)
		}
	}
}

func TestKernelCacheUnwritableWarns(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := kernelCache{dir: filepath.Join(blocker, "nvrtc")} // a directory below a file
	var warned []string
	f := &fakeCompiler{}
	img, _, err := c.load("src", compileTarget{Arch: "sm_90", Cubin: true}, "13.0", f.compile, func(s string) { warned = append(warned, s) })
	if err != nil || string(img) == "" {
		t.Fatalf("load: %q %v", img, err)
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "kernel cache") {
		t.Errorf("warnings %q", warned)
	}
}

func TestKernelCacheDisabledAndCompileErrors(t *testing.T) {
	c := kernelCache{}
	f := &fakeCompiler{}
	tg := compileTarget{Arch: "sm_90", Cubin: true}
	for i := 0; i < 2; i++ {
		if _, cached, err := c.load("src", tg, "13.0", f.compile, nil); err != nil || cached {
			t.Fatal(cached, err)
		}
	}
	if f.calls != 2 {
		t.Errorf("disabled cache: %d compilations, want 2", f.calls)
	}
	boom := errors.New("compilation failed: line 3")
	_, _, err := kernelCache{dir: t.TempDir()}.load("src", tg, "13.0", func(string, compileTarget) ([]byte, error) { return nil, boom }, nil)
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want the compiler's", err)
	}
}

func TestDefaultKernelCacheDir(t *testing.T) {
	t.Setenv(EnvCacheDir, "")
	t.Setenv("XDG_CACHE_HOME", "/some/cache")
	if got := defaultKernelCache().dir; got != filepath.Join("/some/cache", "lethe", "nvrtc") {
		t.Errorf("with XDG_CACHE_HOME: %s", got)
	}
	t.Setenv(EnvCacheDir, "/elsewhere")
	if got := defaultKernelCache().dir; got != "/elsewhere" {
		t.Errorf("with %s: %s", EnvCacheDir, got)
	}
	t.Setenv(EnvCacheDir, "off")
	if got := defaultKernelCache().dir; got != "" {
		t.Errorf("with %s=off: %q", EnvCacheDir, got)
	}
}

func TestChooseTarget(t *testing.T) {
	for _, c := range []struct {
		major, minor int
		archs        []int
		want         compileTarget
		err          bool
	}{
		{9, 0, []int{75, 80, 86, 89, 90, 100, 120}, compileTarget{Arch: "sm_90", Cubin: true}, false},
		{9, 0, nil, compileTarget{Arch: "sm_90", Cubin: true}, false},
		// A GPU newer than NVRTC: PTX for the newest older architecture.
		{12, 1, []int{75, 80, 90, 100, 120}, compileTarget{Arch: "compute_120"}, false},
		{10, 3, []int{75, 80, 90, 100}, compileTarget{Arch: "compute_100"}, false},
		{7, 0, []int{75, 80}, compileTarget{}, true},
	} {
		got, err := chooseTarget(c.major, c.minor, c.archs)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("cc %d.%d with %v: %+v, %v; want %+v (error %v)", c.major, c.minor, c.archs, got, err, c.want, c.err)
		}
	}
	opts := strings.Join(compileOptions(compileTarget{Arch: "sm_90", Cubin: true}), " ")
	if !strings.Contains(opts, "--gpu-architecture=sm_90") || strings.Contains(opts, "fast-math") {
		t.Errorf("options %q", opts)
	}
}
