package cuda

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// kernelCache keeps compiled kernel images on disk, keyed by everything
// that determines them: the source, the target architecture, the NVRTC
// version and the compiler options. A process compiles the kernels once;
// later processes load them in milliseconds.
type kernelCache struct {
	dir string // "" disables the cache
}

// EnvCacheDir overrides where compiled kernels are cached; "off" disables
// the cache.
const EnvCacheDir = "LETHE_NVRTC_CACHE"

// defaultKernelCache is $LETHE_NVRTC_CACHE, else $XDG_CACHE_HOME/lethe/nvrtc,
// else ~/.cache/lethe/nvrtc (os.UserCacheDir's rules).
func defaultKernelCache() kernelCache {
	if d := os.Getenv(EnvCacheDir); d != "" {
		if d == "off" {
			return kernelCache{}
		}
		return kernelCache{dir: d}
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return kernelCache{}
	}
	return kernelCache{dir: filepath.Join(base, "lethe", "nvrtc")}
}

const cacheMagic = "LETHE-NVRTC 1\n"

// cacheKey hashes the inputs of a compilation. Fields are length-prefixed
// so that no two different inputs give the same byte stream.
func cacheKey(src string, t compileTarget, nvrtcVersion string, opts []string) string {
	h := sha256.New()
	put := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	put(src)
	put(t.Arch)
	put(fmt.Sprint(t.Cubin))
	put(nvrtcVersion)
	put(strings.Join(opts, "\x00"))
	return hex.EncodeToString(h.Sum(nil))
}

func (c kernelCache) path(key string, t compileTarget) string {
	ext := ".ptx"
	if t.Cubin {
		ext = ".cubin"
	}
	return filepath.Join(c.dir, key+ext)
}

// get returns the cached image for key, or ok=false when there is none or
// the file is damaged (wrong header, truncated, checksum mismatch).
func (c kernelCache) get(key string, t compileTarget) (image []byte, ok bool) {
	if c.dir == "" {
		return nil, false
	}
	data, err := os.ReadFile(c.path(key, t))
	if err != nil || !bytes.HasPrefix(data, []byte(cacheMagic)) {
		return nil, false
	}
	rest := data[len(cacheMagic):]
	nl := bytes.IndexByte(rest, '\n')
	if nl != 64 {
		return nil, false
	}
	sum, payload := string(rest[:nl]), rest[nl+1:]
	got := sha256.Sum256(payload)
	if hex.EncodeToString(got[:]) != sum || len(payload) == 0 {
		return nil, false
	}
	return payload, true
}

// put stores an image atomically (temporary file, then rename), so a
// concurrent reader sees the old file, the new one, or none.
func (c kernelCache) put(key string, t compileTarget, image []byte) error {
	if c.dir == "" {
		return nil
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("kernel cache %s: %w", c.dir, err)
	}
	f, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("kernel cache %s: %w", c.dir, err)
	}
	sum := sha256.Sum256(image)
	_, werr := f.WriteString(cacheMagic + hex.EncodeToString(sum[:]) + "\n")
	if werr == nil {
		_, werr = f.Write(image)
	}
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("kernel cache: writing %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), c.path(key, t)); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("kernel cache: %w", err)
	}
	return nil
}

// compileFunc compiles src for a target (NVRTC in production, a fake in
// the tests).
type compileFunc func(src string, t compileTarget) ([]byte, error)

// load returns the image for src from the cache, compiling and storing it
// when absent or damaged. A cache that cannot be written is reported
// through warn but does not fail the load.
func (c kernelCache) load(src string, t compileTarget, nvrtcVersion string, compile compileFunc, warn func(string)) (image []byte, cached bool, err error) {
	key := cacheKey(src, t, nvrtcVersion, compileOptions(t))
	if img, ok := c.get(key, t); ok {
		return img, true, nil
	}
	img, err := compile(src, t)
	if err != nil {
		return nil, false, err
	}
	if err := c.put(key, t, img); err != nil && warn != nil {
		warn(err.Error())
	}
	return img, false, nil
}
