// Package device opens the compute backend a command or a stage asks for by
// name: "cpu", "cuda" (an NVIDIA GPU) or "auto" (the GPU when there is one,
// else the CPU). It is the one place that maps device names to nn.Backend
// implementations, so the runner and the CLI agree on what the names mean.
package device

import (
	"errors"
	"fmt"
	"runtime"
	"strings"

	"lethe/nn"
	"lethe/nn/cpu"
)

// Names lists the device names Open accepts.
var Names = []string{"cpu", "cuda", "auto"}

// ErrNoCUDA is wrapped by the error Open returns for "cuda" in a build that
// has no CUDA backend.
var ErrNoCUDA = errors.New("this build has no CUDA backend yet")

// Options tune the backend Open makes.
type Options struct {
	// Threads is how many goroutines a CPU op may use; 0 means GOMAXPROCS.
	// Parallel stages each get their own backend with a share of the cores,
	// so that together they do not oversubscribe the machine.
	Threads int
	// BLAS is the CPU GEMM: "auto" (or ""), "openblas" or "gonum" (see
	// cpu.Options).
	BLAS string
}

// Option sets one of Options.
type Option func(*Options)

// Threads sets Options.Threads.
func Threads(n int) Option { return func(o *Options) { o.Threads = n } }

// BLAS sets Options.BLAS.
func BLAS(name string) Option { return func(o *Options) { o.BLAS = name } }

// Check reports whether name is a device name Open accepts, without opening
// anything; commands call it before they start work.
func Check(name string) error {
	switch strings.ToLower(name) {
	case "cpu", "auto":
		return nil
	case "cuda":
		return fmt.Errorf("device %q: %w (use --device cpu or auto)", name, ErrNoCUDA)
	}
	return fmt.Errorf("unknown device %q (want one of %s)", name, strings.Join(Names, ", "))
}

// Resolve says which device name picks: "auto" becomes the device Open
// would use.
func Resolve(name string) (string, error) {
	if err := Check(name); err != nil {
		return "", err
	}
	// Until the CUDA backend lands every accepted name runs on the CPU.
	return "cpu", nil
}

// GPUs is how many GPUs the device name gives the runner (one worker each);
// 0 for the CPU.
func GPUs(name string) (int, error) {
	if _, err := Resolve(name); err != nil {
		return 0, err
	}
	return 0, nil
}

// Open makes a backend for the named device.
func Open(name string, opts ...Option) (nn.Backend, error) {
	var o Options
	for _, f := range opts {
		f(&o)
	}
	resolved, err := Resolve(name)
	if err != nil {
		return nil, err
	}
	switch resolved {
	case "cpu":
		if o.Threads < 0 {
			return nil, fmt.Errorf("device cpu: %d threads; want 0 (all cores) or more", o.Threads)
		}
		b, err := cpu.New(cpu.Options{Threads: o.Threads, BLAS: o.BLAS})
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	return nil, fmt.Errorf("device %q: no backend", name)
}

// CPUThreads is the thread count each of jobs parallel CPU workers gets, so
// that together they use the machine's cores once: max(1, GOMAXPROCS/jobs).
func CPUThreads(jobs int) int {
	return max(1, runtime.GOMAXPROCS(0)/max(1, jobs))
}

// Close releases a backend's resources (worker goroutines, device memory)
// if it has any to release.
func Close(b nn.Backend) {
	switch c := b.(type) {
	case interface{ Close() error }:
		c.Close()
	case interface{ Close() }:
		c.Close()
	}
}
