// Package device turns a device name from a spec or a flag ("cpu",
// "cuda", "cuda:1", "auto") into an nn.Backend. It sits beside the
// backends, above nn: the runner and the commands call Open and need not
// know either backend.
package device

import (
	"fmt"
	"strconv"
	"strings"

	"lethe/nn"
	"lethe/nn/cpu"
	"lethe/nn/cuda"
)

// Names lists the accepted forms, for messages and --help.
const Names = `"auto" (a GPU when there is one, else the CPU), "cpu", "cuda" or "cuda:N" (GPU N)`

// Options are the backends' settings; the zero value is the usual choice.
type Options struct {
	CPU  cpu.Options
	CUDA cuda.Options // Device is set from the name
}

// Open returns the backend a device name asks for. "cuda" without a
// usable GPU is an error that says why (which libraries were looked for
// and where); "auto" then falls back to the CPU. The second result says
// why auto chose the CPU (empty otherwise), for the run record.
func Open(name string, opts Options) (nn.Backend, string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	switch {
	case n == "cpu":
		b, err := cpu.New(opts.CPU)
		return b, "", err
	case n == "" || n == "auto":
		if err := cuda.Available(); err != nil {
			b, cerr := cpu.New(opts.CPU)
			return b, err.Error(), cerr
		}
		b, err := cuda.New(opts.CUDA)
		if err != nil {
			return nil, "", fmt.Errorf("device auto: a GPU is present but unusable: %w", err)
		}
		return b, "", nil
	case n == "cuda" || strings.HasPrefix(n, "cuda:"):
		o := opts.CUDA
		if rest, ok := strings.CutPrefix(n, "cuda:"); ok {
			i, err := strconv.Atoi(rest)
			if err != nil || i < 0 {
				return nil, "", fmt.Errorf("device %q: the GPU number must be a non-negative integer; want %s", name, Names)
			}
			o.Device = i
		}
		b, err := cuda.New(o)
		if err != nil {
			return nil, "", fmt.Errorf("device %q: %w", name, err)
		}
		return b, "", nil
	}
	return nil, "", fmt.Errorf("device %q: unknown; want %s", name, Names)
}
