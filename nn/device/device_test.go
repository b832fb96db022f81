package device

import (
	"strings"
	"testing"

	"lethe/nn/cuda"
)

func TestOpen(t *testing.T) {
	gpu := cuda.Available() == nil
	b, why, err := Open("cpu", Options{})
	if err != nil || b.Name() != "cpu" || why != "" {
		t.Fatalf("cpu: %v %q %v", b, why, err)
	}
	b, why, err = Open("auto", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if gpu {
		if !strings.HasPrefix(b.Name(), "cuda:") {
			t.Errorf("auto with a GPU chose %s", b.Name())
		}
	} else if b.Name() != "cpu" || !strings.HasPrefix(why, "no CUDA device: ") {
		t.Errorf("auto without a GPU: %s, reason %q", b.Name(), why)
	}
	if !gpu {
		_, _, err := Open("cuda", Options{})
		if err == nil || !strings.Contains(err.Error(), `device "cuda": no CUDA device: `) || !strings.Contains(err.Error(), "libcuda.so.1") {
			t.Errorf("cuda without a GPU: %v", err)
		}
	}
	for name, want := range map[string]string{
		"cuda:x":  "non-negative integer",
		"cuda:-1": "non-negative integer",
		"tpu":     `device "tpu": unknown`,
	} {
		if _, _, err := Open(name, Options{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, want)
		}
	}
}
