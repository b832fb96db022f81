package device

import (
	"runtime"
	"strings"
	"testing"

	"lethe/nn/cpu"
	"lethe/nn/cuda"
)

func TestOpenCPUAndAuto(t *testing.T) {
	gpu := cuda.Available() == nil
	for _, name := range []string{"cpu", "auto", "CPU", ""} {
		b, err := Open(name, Threads(1), BLAS("gonum"))
		if err != nil {
			t.Fatalf("Open(%q): %v", name, err)
		}
		if gpu && name != "cpu" && name != "CPU" {
			if !strings.HasPrefix(b.Name(), "cuda:") {
				t.Errorf("Open(%q) with a GPU chose %s", name, b.Name())
			}
			Close(b)
			continue
		}
		c, ok := b.(*cpu.Backend)
		if !ok {
			t.Fatalf("Open(%q) gave %T, want the CPU backend", name, b)
		}
		if c.Threads() != 1 {
			t.Errorf("Open(%q, Threads(1)) uses %d threads", name, c.Threads())
		}
		Close(b)
	}
}

func TestCUDAWithoutAGPUFailsClearly(t *testing.T) {
	if cuda.Available() == nil {
		t.Skip("this machine has a GPU")
	}
	_, err := Open("cuda")
	if err == nil || !strings.Contains(err.Error(), `device "cuda": no CUDA device: `) || !strings.Contains(err.Error(), "libcuda.so.1") {
		t.Fatalf("Open(cuda) = %v", err)
	}
	if err := Check("cuda"); err == nil || !strings.Contains(err.Error(), "use --device cpu or auto") {
		t.Fatalf("Check(cuda) = %v", err)
	}
	if r, err := Resolve("auto"); err != nil || r != "cpu" {
		t.Fatalf("Resolve(auto) = %q, %v", r, err)
	}
	if n, err := GPUs("auto"); err != nil || n != 0 {
		t.Fatalf("GPUs(auto) = %d, %v", n, err)
	}
}

func TestUnknownDeviceAndBadInput(t *testing.T) {
	for name, want := range map[string]string{
		"cuda:x":  "non-negative integer",
		"cuda:-1": "non-negative integer",
		"tpu":     `unknown device "tpu"`,
	} {
		if _, err := Open(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%s) = %v, want an error containing %q", name, err, want)
		}
		if err := Check(name); err == nil {
			t.Errorf("Check(%s) accepted it", name)
		}
	}
	if _, err := Open("cpu", Threads(-1)); err == nil {
		t.Fatal("Open(cpu, Threads(-1)) succeeded")
	}
}

func TestCPUThreadsSharesTheCores(t *testing.T) {
	n := runtime.GOMAXPROCS(0)
	if got := CPUThreads(1); got != n {
		t.Errorf("CPUThreads(1) = %d, want GOMAXPROCS %d", got, n)
	}
	if got := CPUThreads(n * 4); got != 1 {
		t.Errorf("CPUThreads(%d) = %d, want 1", n*4, got)
	}
	if got := CPUThreads(0); got != n {
		t.Errorf("CPUThreads(0) = %d, want %d", got, n)
	}
}
