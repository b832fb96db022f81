package device

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"lethe/nn/cpu"
)

func TestOpenCPUAndAuto(t *testing.T) {
	for _, name := range []string{"cpu", "auto", "CPU"} {
		b, err := Open(name, Threads(1), BLAS("gonum"))
		if err != nil {
			t.Fatalf("Open(%q): %v", name, err)
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

func TestCUDAFailsClearly(t *testing.T) {
	_, err := Open("cuda")
	if !errors.Is(err, ErrNoCUDA) || !strings.Contains(err.Error(), "no CUDA backend") {
		t.Fatalf("Open(cuda) = %v, want ErrNoCUDA", err)
	}
	if err := Check("cuda"); !errors.Is(err, ErrNoCUDA) {
		t.Fatalf("Check(cuda) = %v", err)
	}
}

func TestUnknownDeviceAndBadThreads(t *testing.T) {
	if _, err := Open("tpu"); err == nil || !strings.Contains(err.Error(), `unknown device "tpu"`) {
		t.Fatalf("Open(tpu) = %v", err)
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
