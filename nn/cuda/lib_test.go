package cuda

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebitengine/purego"
)

func cc(t *testing.T) string {
	t.Helper()
	for _, c := range []string{os.Getenv("CC"), "cc", "gcc", "clang"} {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	t.Skip("no C compiler (cc, gcc, clang) to build the fake libraries")
	return ""
}

// buildLib compiles testdata/fakelibs/src into dir/name. The fake CUDA
// drivers get a soname of their own: a library loaded under the soname
// libcuda.so.1 would be what every later dlopen("libcuda.so.1") in the
// test process returns.
func buildLib(t *testing.T, dir, name, src string, flags ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	soname := name
	if strings.HasPrefix(name, "libcuda.") || strings.HasPrefix(name, "libcudnn.") || strings.HasPrefix(name, "libcublas.") {
		soname = "liblethe-fake-" + filepath.Base(dir) + ".so"
	}
	args := append([]string{"-shared", "-fPIC", "-o", out, filepath.Join("testdata", "fakelibs", src)}, flags...)
	args = append(args, "-Wl,-soname,"+soname)
	if b, err := exec.Command(cc(t), args...).CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", name, err, b)
	}
	return out
}

func TestOpenLibraryReportsEveryAttempt(t *testing.T) {
	env, known := t.TempDir(), t.TempDir()
	// A file that exists but is no shared library: its loader error must
	// be reported.
	if err := os.WriteFile(filepath.Join(known, "liblethe-test.so.1"), []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := libSpec{what: "test library", names: []string{"liblethe-test.so.2", "liblethe-test.so.1"}}
	_, err := openLibrary(spec, searchPath{envDirs: []string{env}, useLoader: true, wellKnown: []string{known}})
	var le *LibraryError
	if !errors.As(err, &le) {
		t.Fatalf("error %v (%T), want *LibraryError", err, err)
	}
	msg := err.Error()
	for _, want := range []string{
		"cannot load the test library (liblethe-test.so.2 or liblethe-test.so.1)",
		`dlopen("liblethe-test.so.2") on the loader's default path`,
		filepath.Join(known, "liblethe-test.so.1") + ":",
		"not found in: " + env,
		EnvLibDirs,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	t.Logf("the error reads:\n%s", msg)
}

func TestOpenLibrarySearchOrder(t *testing.T) {
	env, known := t.TempDir(), t.TempDir()
	buildLib(t, known, "liblethe-order.so.1", "companion.c")
	buildLib(t, env, "liblethe-order.so.1", "companion.c")
	l, err := openLibrary(libSpec{what: "x", names: []string{"liblethe-order.so.1"}}, searchPath{envDirs: []string{env}, wellKnown: []string{known}})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(env, "liblethe-order.so.1"); l.path != want {
		t.Errorf("found %s, want %s (LETHE_CUDA_LIBS comes first)", l.path, want)
	}
	// The newest name wins even when only an older one is in an earlier
	// directory.
	buildLib(t, known, "liblethe-order.so.2", "companion.c")
	l, err = openLibrary(libSpec{what: "x", names: []string{"liblethe-order.so.2", "liblethe-order.so.1"}}, searchPath{envDirs: []string{env}, wellKnown: []string{known}})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(known, "liblethe-order.so.2"); l.path != want {
		t.Errorf("found %s, want %s", l.path, want)
	}
}

func TestCompanionsLoadFirst(t *testing.T) {
	dir := t.TempDir()
	buildLib(t, dir, "liblethe-comp.so.9", "companion.c")
	// Linked against the companion by soname, without a run path: the
	// loader cannot find the companion on its own.
	buildLib(t, dir, "liblethe-main.so.9", "needscompanion.c", "-L"+dir, "-l:liblethe-comp.so.9")
	spec := libSpec{what: "main", names: []string{"liblethe-main.so.9"}}
	if _, err := openLibrary(spec, searchPath{wellKnown: []string{dir}}); err == nil {
		// Another test (or the environment) may have loaded the companion
		// already; only the failure without companions is informative.
		t.Log("loaded without companions (companion already loaded in this process)")
	}
	spec.companions = []string{"liblethe-comp.so.*"}
	l, err := openLibrary(spec, searchPath{wellKnown: []string{dir}})
	if err != nil {
		t.Fatalf("with the companion loaded first: %v", err)
	}
	var f func() int32
	newBinder(l).fn(&f, "lethe_main_value")
	if got := f(); got != 43 {
		t.Errorf("lethe_main_value() = %d, want 43", got)
	}
}

func TestMissingSymbolNamesSymbolAndLibrary(t *testing.T) {
	dir := t.TempDir()
	path := buildLib(t, dir, "libcuda.so.1", "fakecuda.c", "-DOMIT_DRIVER_VERSION")
	_, err := bindDriver(searchPath{envDirs: []string{dir}})
	var se *SymbolError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want *SymbolError", err, err)
	}
	if se.Symbol != "cuDriverGetVersion" || se.Library != "libcuda.so.1" || se.Path != path {
		t.Errorf("SymbolError %+v", se)
	}
	t.Logf("the error reads: %v", err)
}

func TestDriverErrorsAreNamedByTheDriver(t *testing.T) {
	dir := t.TempDir()
	buildLib(t, dir, "libcuda.so.1", "fakecuda.c", "-DINIT_RESULT=100")
	_, err := bindDriver(searchPath{envDirs: []string{dir}})
	var de *DriverError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T), want *DriverError", err, err)
	}
	if de.Call != "cuInit" || de.Code != 100 || de.Name != "CUDA_ERROR_NO_DEVICE" || de.Text != "no CUDA-capable device is detected" {
		t.Errorf("DriverError %+v", de)
	}
	want := "initialise the CUDA driver: cuInit failed: CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestFakeDriverDeviceQueries(t *testing.T) {
	dir := t.TempDir()
	buildLib(t, dir, "libcuda.so.1", "fakecuda.c", "-DDEVICES=1")
	d, err := bindDriver(searchPath{envDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	_, p, err := d.deviceProps(0)
	if err != nil {
		t.Fatal(err)
	}
	want := DeviceProps{Ordinal: 0, Name: "Fake GPU", TotalMemory: 80 << 30, Major: 9, Minor: 0, Multiprocessors: 132}
	if p != want {
		t.Errorf("props %+v, want %+v", p, want)
	}
	if _, err := openGPU(d, 3); err == nil || !strings.Contains(err.Error(), "GPU 3 requested, but the driver found 1") {
		t.Errorf("opening GPU 3 of 1: %v", err)
	}
	g, err := openGPU(d, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The fake's cuMemAlloc reports out of memory: the error carries the
	// driver's name and text and the request.
	_, err = g.malloc(4096)
	if err == nil || err.Error() != "allocate 4096 bytes on the GPU: cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory" {
		t.Errorf("malloc error: %v", err)
	}
	// Through cuLaunchKernel's raw call: the fake returns success.
	if r := d.launch(1, [3]uint32{1, 1, 1}, [3]uint32{32, 1, 1}, 0, g.stream, nil); r != cudaSuccess {
		t.Errorf("launch = %d", r)
	}
}

func TestFakeDriverWithoutDevices(t *testing.T) {
	dir := t.TempDir()
	buildLib(t, dir, "libcuda.so.1", "fakecuda.c")
	d, err := bindDriver(searchPath{envDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = openGPU(d, 0)
	if err == nil || !strings.Contains(err.Error(), "found no GPU") {
		t.Errorf("error %v, want one saying no GPU was found", err)
	}
}

// TestNewWithoutGPU checks the message a user without a GPU sees. On a
// machine with a working GPU there is nothing to check.
func TestNewWithoutGPU(t *testing.T) {
	be, err := New(Options{})
	if err == nil {
		be.Close()
		t.Skip("a GPU is present")
	}
	if !strings.HasPrefix(err.Error(), "no CUDA device: ") {
		t.Errorf("error %q does not start with \"no CUDA device: \"", err)
	}
	t.Logf("without a GPU, New says: %v", err)
}

func TestDlopenFlagsExportSymbolsGlobally(t *testing.T) {
	// cuDNN's front library finds its sub-libraries' symbols only when they
	// were loaded with RTLD_GLOBAL.
	if dlFlags&purego.RTLD_GLOBAL == 0 || dlFlags&purego.RTLD_NOW == 0 {
		t.Errorf("dlFlags = %#x, want RTLD_NOW|RTLD_GLOBAL", dlFlags)
	}
}

func TestAvailableAndDescribeWithoutGPU(t *testing.T) {
	if Available() == nil {
		t.Skip("a GPU is present")
	}
	for name, err := range map[string]error{"Available": Available(), "Describe": func() error { _, err := Describe(); return err }()} {
		if err == nil || !strings.HasPrefix(err.Error(), "no CUDA device: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
