// Package device opens the compute backend a command or a stage asks for by
// name: "cpu", "cuda" or "cuda:N" (an NVIDIA GPU), or "auto" (a GPU when
// there is one, else the CPU). It is the one place that maps device names to
// nn.Backend implementations, so the runner and the CLI agree on what the
// names mean; it sits beside the backends, above nn.
package device

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"lethe/nn"
	"lethe/nn/cpu"
	"lethe/nn/cuda"
)

// Names describes the accepted forms, for messages and --help.
const Names = `"auto" (a GPU when there is one, else the CPU), "cpu", "cuda" or "cuda:N" (GPU N)`

// Options tune the backend Open makes.
type Options struct {
	// Threads is how many goroutines a CPU op may use; 0 means GOMAXPROCS.
	// Parallel stages each get their own backend with a share of the cores,
	// so that together they do not oversubscribe the machine.
	Threads int
	// BLAS is the CPU GEMM: "auto" (or ""), "openblas" or "gonum" (see
	// cpu.Options).
	BLAS string
	// CUDA are the GPU backend's settings (its Device is set from the name).
	CUDA cuda.Options
}

// Option sets one of Options.
type Option func(*Options)

// Threads sets Options.Threads.
func Threads(n int) Option { return func(o *Options) { o.Threads = n } }

// BLAS sets Options.BLAS.
func BLAS(name string) Option { return func(o *Options) { o.BLAS = name } }

// CUDA sets the GPU backend's options.
func CUDA(c cuda.Options) Option { return func(o *Options) { o.CUDA = c } }

// parse splits a device name into its kind ("cpu", "cuda" or "auto") and
// GPU index.
func parse(name string) (kind string, gpu int, err error) {
	n := strings.ToLower(strings.TrimSpace(name))
	switch {
	case n == "cpu":
		return "cpu", 0, nil
	case n == "" || n == "auto":
		return "auto", 0, nil
	case n == "cuda":
		return "cuda", 0, nil
	case strings.HasPrefix(n, "cuda:"):
		i, err := strconv.Atoi(strings.TrimPrefix(n, "cuda:"))
		if err != nil || i < 0 {
			return "", 0, fmt.Errorf("device %q: the GPU number must be a non-negative integer; want %s", name, Names)
		}
		return "cuda", i, nil
	}
	return "", 0, fmt.Errorf("unknown device %q; want %s", name, Names)
}

// Check reports whether name is a device Open can use here, without
// opening anything: "cuda" on a machine without a usable GPU is an error
// that says why. Commands call it before they start work.
func Check(name string) error {
	kind, _, err := parse(name)
	if err != nil {
		return err
	}
	if kind == "cuda" {
		if err := cuda.Available(); err != nil {
			return fmt.Errorf("device %q: %w (use --device cpu or auto)", name, err)
		}
	}
	return nil
}

// Resolve says what a name picks: "cpu", or "cuda:N"; "auto" becomes the
// device Open would use.
func Resolve(name string) (string, error) {
	kind, gpu, err := parse(name)
	if err != nil {
		return "", err
	}
	switch kind {
	case "cpu":
		return "cpu", nil
	case "auto":
		if cuda.Available() != nil {
			return "cpu", nil
		}
	}
	if err := Check(name); err != nil {
		return "", err
	}
	return fmt.Sprintf("cuda:%d", gpu), nil
}

// GPUs is how many GPUs the device name gives the runner (one worker
// each); 0 for the CPU. "auto" and "cuda" use every GPU present;
// "cuda:N" only GPU N.
func GPUs(name string) (int, error) {
	resolved, err := Resolve(name)
	if err != nil || resolved == "cpu" {
		return 0, err
	}
	if explicitGPU(name) {
		return 1, nil
	}
	devs, err := cuda.Describe()
	if err != nil {
		return 0, err
	}
	return max(1, len(devs)), nil
}

// explicitGPU reports whether name names one GPU ("cuda:N").
func explicitGPU(name string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(name)), "cuda:")
}

// Open makes a backend for the named device. For "auto" and "cuda" with
// several GPUs, worker selects the GPU (worker modulo the GPU count) so
// that the runner's workers spread over them; other callers pass 0.
func Open(name string, opts ...Option) (nn.Backend, error) {
	return OpenWorker(name, 0, opts...)
}

// OpenWorker is Open for the runner's worker number worker.
func OpenWorker(name string, worker int, opts ...Option) (nn.Backend, error) {
	var o Options
	for _, f := range opts {
		f(&o)
	}
	_, gpu, err := parse(name)
	if err != nil {
		return nil, err
	}
	resolved, err := Resolve(name)
	if err != nil {
		return nil, err
	}
	if resolved == "cpu" {
		if o.Threads < 0 {
			return nil, fmt.Errorf("device cpu: %d threads; want 0 (all cores) or more", o.Threads)
		}
		return cpu.New(cpu.Options{Threads: o.Threads, BLAS: o.BLAS})
	}
	c := o.CUDA
	c.Device = gpu
	if !explicitGPU(name) {
		if n, err := GPUs(name); err == nil && n > 0 {
			c.Device = worker % n
		}
	}
	b, err := cuda.New(c)
	if err != nil {
		return nil, fmt.Errorf("device %q: %w", name, err)
	}
	return b, nil
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
