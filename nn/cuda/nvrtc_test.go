package cuda

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// These tests need NVRTC but no GPU: NVRTC compiles without a device
// (Debian's libnvrtc11.2 is enough). Without NVRTC they skip.

func nvrtcForTest(t *testing.T) *nvrtcAPI {
	t.Helper()
	n, err := loadNVRTC()
	if err != nil {
		var le *LibraryError
		if errors.As(err, &le) {
			t.Skipf("NVRTC not installed: %v", firstLine(err))
		}
		t.Fatal(err)
	}
	return n
}

// TestNVRTCCompilesTheKernels compiles kernels.cu as New does, to real
// machine code for sm_90 and to PTX, and checks that every kernel is in
// the output.
func TestNVRTCCompilesTheKernels(t *testing.T) {
	n := nvrtcForTest(t)
	ver, err := n.versionString()
	if err != nil {
		t.Fatal(err)
	}
	archs := n.archs()
	t.Logf("NVRTC %s (%s), architectures %v", ver, n.lib.path, archs)
	sigs, err := parseKernels(kernelSource)
	if err != nil {
		t.Fatal(err)
	}
	cubinTarget, err := chooseTarget(9, 0, archs)
	if err != nil {
		t.Fatal(err)
	}
	img, err := n.compile(kernelSource, "lethe_kernels.cu", cubinTarget)
	if err != nil {
		t.Fatalf("compiling for %s: %v", cubinTarget.Arch, err)
	}
	if cubinTarget.Cubin && !bytes.HasPrefix(img, []byte("\x7fELF")) {
		t.Errorf("the %s image is not an ELF cubin", cubinTarget.Arch)
	}
	for _, s := range sigs {
		if !bytes.Contains(img, []byte(s.Name)) {
			t.Errorf("kernel %s missing from the %s image", s.Name, cubinTarget.Arch)
		}
	}
	t.Logf("%s: %d bytes", cubinTarget.Arch, len(img))
	ptx, err := n.compile(kernelSource, "lethe_kernels.cu", compileTarget{Arch: "compute_80"})
	if err != nil {
		t.Fatalf("compiling PTX: %v", err)
	}
	if ptx[len(ptx)-1] != 0 {
		t.Error("PTX is not NUL-terminated (cuModuleLoadData needs it)")
	}
	for _, s := range sigs {
		if !bytes.Contains(ptx, []byte(".entry "+s.Name+"(")) {
			t.Errorf("PTX lacks .entry %s", s.Name)
		}
	}
	// No kernel may need double-precision atomics or more shared memory
	// than a block of any GPU has (48 KiB statically).
	t.Logf("compute_80 PTX: %d bytes", len(ptx))
}

func TestNVRTCReportsCompileErrors(t *testing.T) {
	n := nvrtcForTest(t)
	src := "extern \"C\" __global__ void broken(float* x) {\n  x[0] = undeclared_name;\n}\n"
	_, err := n.compile(src, "broken.cu", compileTarget{Arch: "compute_80"})
	var le *LibError
	if !errors.As(err, &le) || le.Call != "nvrtcCompileProgram" {
		t.Fatalf("error %v, want a failed nvrtcCompileProgram", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "undeclared_name") || !strings.Contains(msg, "broken.cu(2)") {
		t.Errorf("the error does not carry the compiler log with the line:\n%s", msg)
	}
}

// TestKernelCacheWithNVRTC goes through the disk cache with the real
// compiler: the second load comes from disk, byte for byte.
func TestKernelCacheWithNVRTC(t *testing.T) {
	n := nvrtcForTest(t)
	c := kernelCache{dir: t.TempDir()}
	ver, _ := n.versionString()
	tg := compileTarget{Arch: "compute_80"}
	compile := func(src string, t compileTarget) ([]byte, error) { return n.compile(src, "lethe_kernels.cu", t) }
	a, cached, err := c.load(kernelSource, tg, ver, compile, nil)
	if err != nil || cached {
		t.Fatal(cached, err)
	}
	b, cached, err := c.load(kernelSource, tg, ver, compile, nil)
	if err != nil || !cached || !bytes.Equal(a, b) {
		t.Fatalf("second load: cached=%v err=%v equal=%v", cached, err, bytes.Equal(a, b))
	}
}
