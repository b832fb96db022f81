package cuda

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/ebitengine/purego"
)

// EnvLibDirs names the environment variable with extra directories
// (colon-separated) that are searched for the CUDA libraries before the
// dynamic loader's default path and the well-known locations.
const EnvLibDirs = "LETHE_CUDA_LIBS"

// libSpec says what to look for: the file names in order of preference
// (newest first) and, for each directory where one is found, companion
// libraries to load first from that directory, so that the library's own
// dlopen of them by soname succeeds (cuDNN 9's sub-libraries, cublasLt,
// NVRTC's builtins).
type libSpec struct {
	what       string   // "CUDA driver", used in messages
	names      []string // e.g. libnvrtc.so.13, libnvrtc.so.12
	companions []string // glob patterns relative to the directory, in load order
}

var (
	driverSpec = libSpec{what: "CUDA driver", names: []string{"libcuda.so.1"}}
	// libnvrtc.so.11.2 is the soname of every CUDA 11.2-11.8 NVRTC (Debian's
	// libnvrtc11.2 package): a last resort, enough for sm_90.
	nvrtcSpec = libSpec{what: "NVRTC", names: []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"},
		companions: []string{"libnvrtc-builtins.so.*"}}
	cublasSpec = libSpec{what: "cuBLAS", names: []string{"libcublas.so.13", "libcublas.so.12"},
		companions: []string{"libcublasLt.so.*"}}
	// cuDNN 9's libcudnn.so.9 loads its sub-libraries by soname; loading
	// them first by full path (graph first: the others need it) makes that
	// work for a directory the loader does not search.
	cudnnSpec = libSpec{what: "cuDNN", names: []string{"libcudnn.so.9"},
		companions: []string{"libcudnn_graph.so.9", "libcudnn_engines_precompiled.so.9",
			"libcudnn_engines_runtime_compiled.so.9", "libcudnn_heuristic.so.9",
			"libcudnn_ops.so.9", "libcudnn_cnn.so.9", "libcudnn_adv.so.9"}}
)

// wellKnownDirs are searched after LETHE_CUDA_LIBS and the loader's
// default path: the CUDA toolkit, the driver's usual homes, and the pip
// packages (nvidia-*-cu12/cu13, torch) of any Python under /opt and
// /usr/local. Patterns are expanded with filepath.Glob.
func wellKnownDirs() []string {
	triple := "x86_64-linux-gnu"
	target := "x86_64-linux"
	if runtime.GOARCH == "arm64" {
		triple, target = "aarch64-linux-gnu", "sbsa-linux"
	}
	patterns := []string{
		"/usr/local/cuda/lib64",
		"/usr/local/cuda/targets/" + target + "/lib",
		"/usr/local/cuda-*/lib64",
		"/usr/local/nvidia/lib64",
		"/usr/local/nvidia/lib",
		"/usr/lib/" + triple,
		"/usr/lib64",
		"/usr/lib/wsl/lib",
	}
	for _, py := range []string{
		"/opt/*/.venv/lib/python3*/site-packages",
		"/opt/*/venv/lib/python3*/site-packages",
		"/opt/*/lib/python3*/site-packages",
		"/opt/*/envs/*/lib/python3*/site-packages",
		"/usr/local/lib/python3*/dist-packages",
		"/usr/local/lib/python3*/site-packages",
		"/usr/lib/python3/dist-packages",
	} {
		patterns = append(patterns, py+"/nvidia/*/lib", py+"/torch/lib")
	}
	var dirs []string
	seen := map[string]bool{}
	for _, p := range patterns {
		matches, _ := filepath.Glob(p)
		sort.Strings(matches)
		for _, m := range matches {
			if !seen[m] {
				seen[m] = true
				dirs = append(dirs, m)
			}
		}
	}
	return dirs
}

// searchPath is where libraries are looked for. Tests build their own.
type searchPath struct {
	envDirs   []string // from LETHE_CUDA_LIBS, searched first
	useLoader bool     // try dlopen(name) with the loader's default path
	wellKnown []string // searched last
}

func defaultSearchPath() searchPath {
	var env []string
	for _, d := range strings.Split(os.Getenv(EnvLibDirs), ":") {
		if d = strings.TrimSpace(d); d != "" {
			env = append(env, d)
		}
	}
	return searchPath{envDirs: env, useLoader: true, wellKnown: wellKnownDirs()}
}

// library is an opened shared library.
type library struct {
	what   string
	name   string // the file name that was found, e.g. libnvrtc.so.13
	path   string // full path, or "name (loader default path)"
	handle uintptr
}

// LibraryError says that a library could not be loaded, listing every
// attempt and why it failed.
type LibraryError struct {
	What     string   // e.g. "CUDA driver"
	Names    []string // file names looked for
	Attempts []string // one line per attempt that found a file or asked the loader
	Searched []string // directories searched that held none of Names
}

func (e *LibraryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cannot load the %s (%s)", e.What, strings.Join(e.Names, " or "))
	for _, a := range e.Attempts {
		b.WriteString("\n  ")
		b.WriteString(a)
	}
	if len(e.Searched) > 0 {
		fmt.Fprintf(&b, "\n  not found in: %s", strings.Join(e.Searched, ", "))
	}
	fmt.Fprintf(&b, "\n  (set %s to the directory that holds it)", EnvLibDirs)
	return b.String()
}

// SymbolError says that a library lacks a function Lethe needs.
type SymbolError struct {
	Symbol  string
	Library string // file name
	Path    string
}

func (e *SymbolError) Error() string {
	return fmt.Sprintf("symbol %s not found in %s (%s): the library is too old or not the one expected", e.Symbol, e.Library, e.Path)
}

const dlFlags = purego.RTLD_NOW | purego.RTLD_GLOBAL

// openLibrary finds and opens the first loadable file of spec: each name
// in order, in LETHE_CUDA_LIBS, then through the loader, then in the
// well-known directories.
func openLibrary(spec libSpec, sp searchPath) (*library, error) {
	e := &LibraryError{What: spec.what, Names: spec.names}
	searched := map[string]bool{}
	tryDir := func(dir, name string) *library {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil {
			if !searched[dir] {
				searched[dir] = true
				e.Searched = append(e.Searched, dir)
			}
			return nil
		}
		loadCompanions(dir, spec.companions)
		h, err := purego.Dlopen(path, dlFlags)
		if err != nil {
			e.Attempts = append(e.Attempts, fmt.Sprintf("%s: %v", path, err))
			return nil
		}
		return &library{what: spec.what, name: name, path: path, handle: h}
	}
	for _, name := range spec.names {
		for _, d := range sp.envDirs {
			if l := tryDir(d, name); l != nil {
				return l, nil
			}
		}
		if sp.useLoader {
			h, err := purego.Dlopen(name, dlFlags)
			if err == nil {
				return &library{what: spec.what, name: name, path: name + " (loader default path)", handle: h}, nil
			}
			e.Attempts = append(e.Attempts, fmt.Sprintf("dlopen(%q) on the loader's default path: %v", name, err))
		}
		for _, d := range sp.wellKnown {
			if l := tryDir(d, name); l != nil {
				return l, nil
			}
		}
	}
	// A directory that held another of the names is not "searched in vain".
	return nil, e
}

// loadCompanions opens the companion libraries found in dir, in order.
// Failures are ignored: the main library's own load reports what is
// really missing.
func loadCompanions(dir string, patterns []string) {
	for _, p := range patterns {
		matches, _ := filepath.Glob(filepath.Join(dir, p))
		sort.Strings(matches)
		for _, m := range matches {
			_, _ = purego.Dlopen(m, dlFlags)
		}
	}
}

// binder binds C functions of one library into Go function variables,
// keeping the first error, so a table of bindings reads as a list.
type binder struct {
	libs []*library // searched in order (cuDNN's symbols may live in sub-libraries)
	err  error
}

func newBinder(libs ...*library) *binder { return &binder{libs: libs} }

// fn binds symbol into fptr (a pointer to a func variable).
func (b *binder) fn(fptr any, symbol string) {
	if b.err != nil {
		return
	}
	addr, err := b.addr(symbol)
	if err != nil {
		b.err = err
		return
	}
	purego.RegisterFunc(fptr, addr)
}

// optional binds symbol when present and reports whether it was.
func (b *binder) optional(fptr any, symbol string) bool {
	addr, err := b.addr(symbol)
	if err != nil {
		return false
	}
	purego.RegisterFunc(fptr, addr)
	return true
}

// addr returns a symbol's address (for purego.SyscallN on hot paths).
func (b *binder) addr(symbol string) (uintptr, error) {
	for _, l := range b.libs {
		if l == nil || l.handle == 0 {
			continue
		}
		if a, err := purego.Dlsym(l.handle, symbol); err == nil && a != 0 {
			return a, nil
		}
	}
	if len(b.libs) == 0 || b.libs[0] == nil {
		return 0, errors.New("symbol " + symbol + ": no library")
	}
	return 0, &SymbolError{Symbol: symbol, Library: b.libs[0].name, Path: b.libs[0].path}
}

// cString copies a NUL-terminated C string (owned by C) into Go.
func cString(p *byte) string {
	if p == nil {
		return ""
	}
	var n int
	for base := p; ; n++ {
		if *(*byte)(unsafeAdd(base, n)) == 0 {
			break
		}
	}
	return string(unsafeSlice(p, n))
}

// dirOf is the directory of a library found by full path ("" when the
// loader found it by name).
func dirOf(path string) string {
	if !filepath.IsAbs(path) {
		return ""
	}
	return filepath.Dir(path)
}

// openInDir opens dir/name if it exists.
func openInDir(dir, name string) (*library, error) {
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	h, err := purego.Dlopen(path, dlFlags)
	if err != nil {
		return nil, err
	}
	return &library{name: name, path: path, handle: h}, nil
}
