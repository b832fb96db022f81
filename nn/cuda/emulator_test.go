package cuda

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The emulator compiles kernels.cu with the host C++ compiler against
// testdata/emulator/shim.h and runs it on the CPU, so every op of the
// Backend (launch packing, grids, kernels, the fallback GEMM and im2col
// convolutions) is tested without a GPU. Tests that need it skip when no
// C++ compiler is installed.

// emuWrappers generates, for every kernel, a function that unpacks the
// launch's argument array and calls the kernel, and the table runtime.cpp
// looks kernels up in.
func emuWrappers(sigs []kernelSig) string {
	var b strings.Builder
	for _, s := range sigs {
		fmt.Fprintf(&b, "static void emu_w_%s(void** a) { %s(", s.Name, s.Name)
		for i, ct := range s.CTypes {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*(%s*)a[%d]", ct, i)
		}
		b.WriteString("); }\n")
	}
	b.WriteString("extern const EmuKernel emu_kernels[] = {\n")
	for _, s := range sigs {
		fmt.Fprintf(&b, "  {%q, emu_w_%s},\n", s.Name, s.Name)
	}
	b.WriteString("};\n")
	fmt.Fprintf(&b, "extern const int emu_kernel_count = %d;\n", len(sigs))
	return b.String()
}

func emuSource(t testing.TB) string {
	sigs, err := parseKernels(kernelSource)
	if err != nil {
		t.Fatal(err)
	}
	shim, err := os.ReadFile(filepath.Join("testdata", "emulator", "shim.h"))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := os.ReadFile(filepath.Join("testdata", "emulator", "runtime.cpp"))
	if err != nil {
		t.Fatal(err)
	}
	return string(shim) + "\n" + kernelSource + "\n" + string(rt) + "\n" + emuWrappers(sigs)
}

func cxx() (string, error) {
	for _, c := range []string{os.Getenv("CXX"), "g++", "c++", "clang++"} {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no C++ compiler (g++, c++, clang++) on PATH")
}

var (
	emuOnce sync.Once
	emuLib  string
	emuErr  error
)

// buildEmulator compiles the emulator library once per source version,
// caching it in the temporary directory across test runs.
func buildEmulator(t testing.TB) string {
	emuOnce.Do(func() {
		cc, err := cxx()
		if err != nil {
			emuErr = err
			return
		}
		src := emuSource(t)
		sum := sha256.Sum256([]byte(src))
		dir := filepath.Join(os.TempDir(), "lethe-cuda-emulator-"+hex.EncodeToString(sum[:8]))
		lib := filepath.Join(dir, "libemu.so")
		if _, err := os.Stat(lib); err == nil {
			emuLib = lib
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			emuErr = err
			return
		}
		// Unique names: another test process may be building the same
		// library; the rename at the end is atomic.
		f, err := os.CreateTemp(dir, "emu-*.cpp")
		if err != nil {
			emuErr = err
			return
		}
		cpp := f.Name()
		_, werr := f.WriteString(src)
		if err := errors.Join(werr, f.Close()); err != nil {
			emuErr = err
			return
		}
		defer os.Remove(cpp)
		tmp := strings.TrimSuffix(cpp, ".cpp") + ".so"
		out, err := exec.Command(cc, "-std=c++17", "-O1", "-fPIC", "-shared", "-Wall", "-Wno-unused-variable", "-Wno-unused-function", "-o", tmp, cpp).CombinedOutput()
		if err != nil {
			emuErr = fmt.Errorf("compiling the kernel emulator (%s): %v\n%s", cpp, err, out)
			return
		}
		emuErr = os.Rename(tmp, lib)
		emuLib = lib
	})
	if emuErr != nil {
		if strings.HasPrefix(emuErr.Error(), "no C++ compiler") {
			t.Skipf("kernel emulator unavailable: %v", emuErr)
		}
		t.Fatal(emuErr)
	}
	return emuLib
}

// emuDevice implements device on the emulator: device pointers are host
// pointers into the library's guarded heap.
type emuDevice struct {
	find      func(name string) int32
	launchFn  func(k int32, gx, gy, gz, bx, by, bz uint32, args unsafe.Pointer) int32
	lastError func() string
	mallocFn  func(n uint64) uintptr
	freeFn    func(p uintptr) int32
	h2d       func(dst uintptr, src unsafe.Pointer, n uint64)
	d2h       func(dst unsafe.Pointer, src uintptr, n uint64)
	d2d       func(dst, src uintptr, n uint64)
	memsetFn  func(dst uintptr, v uint32, n uint64)
	launches  int
}

var (
	emuDevOnce sync.Once
	emuDev     *emuDevice
	emuDevErr  error
)

func openEmulator(t testing.TB) *emuDevice {
	path := buildEmulator(t)
	emuDevOnce.Do(func() {
		h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err != nil {
			emuDevErr = err
			return
		}
		lib := &library{name: "libemu.so", path: path, handle: h}
		d := &emuDevice{}
		b := newBinder(lib)
		b.fn(&d.find, "emu_find")
		b.fn(&d.launchFn, "emu_launch")
		b.fn(&d.lastError, "emu_last_error")
		b.fn(&d.mallocFn, "emu_malloc")
		b.fn(&d.freeFn, "emu_free")
		b.fn(&d.h2d, "emu_memcpy")
		b.fn(&d.d2h, "emu_memcpy")
		b.fn(&d.d2d, "emu_memcpy")
		b.fn(&d.memsetFn, "emu_memset32")
		emuDev, emuDevErr = d, b.err
	})
	if emuDevErr != nil {
		t.Fatal(emuDevErr)
	}
	return emuDev
}

func (d *emuDevice) enter() error         { return nil }
func (d *emuDevice) leave()               {}
func (d *emuDevice) multiprocessors() int { return 2 }
func (d *emuDevice) sync() error          { return nil }

func (d *emuDevice) malloc(bytes int) (uintptr, error) {
	p := d.mallocFn(uint64(bytes))
	if p == 0 {
		return 0, fmt.Errorf("emulator: out of memory for %d bytes", bytes)
	}
	return p, nil
}

func (d *emuDevice) free(p uintptr) error {
	if d.freeFn(p) != 0 {
		return fmt.Errorf("emulator: free of %#x, not a live block", p)
	}
	return nil
}

func (d *emuDevice) upload(dst uintptr, src []byte) error {
	d.h2d(dst, unsafe.Pointer(&src[0]), uint64(len(src)))
	return nil
}

func (d *emuDevice) download(dst []byte, src uintptr) error {
	d.d2h(unsafe.Pointer(&dst[0]), src, uint64(len(dst)))
	return nil
}

func (d *emuDevice) copyAsync(dst, src uintptr, bytes int) error {
	d.d2d(dst, src, uint64(bytes))
	return nil
}

func (d *emuDevice) memset32(dst uintptr, v uint32, n int) error {
	d.memsetFn(dst, v, uint64(n))
	return nil
}

func (d *emuDevice) function(name string) (uintptr, error) {
	k := d.find(name)
	if k < 0 {
		return 0, fmt.Errorf("emulator: no kernel %s", name)
	}
	return uintptr(k), nil
}

func (d *emuDevice) launch(fn uintptr, grid, block [3]uint32, params unsafe.Pointer) error {
	d.launches++
	if d.launchFn(int32(fn), grid[0], grid[1], grid[2], block[0], block[1], block[2], params) != 0 {
		return fmt.Errorf("emulator: %s", d.lastError())
	}
	return nil
}

// newEmuBackend is a Backend on the emulator: Lethe's kernels only (no
// cuBLAS, no cuDNN), so the fallbacks are what it tests.
func newEmuBackend(t testing.TB) *Backend {
	d := openEmulator(t)
	be, err := newBackend(d, "emu", Options{})
	if err != nil {
		t.Fatal(err)
	}
	return be
}
