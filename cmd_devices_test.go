package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestDevicesCommand(t *testing.T) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"devices", "--blas", "gonum", "--threads", "1"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cpu:", "1 threads per op", "BLAS: gonum"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// A GPU is listed with its compute capability, or the absence of one
	// explained.
	if o := out.String(); !strings.Contains(o, "GPUs: none usable (no CUDA device: ") && !strings.Contains(o, "compute capability") {
		t.Errorf("output neither lists a GPU nor says why there is none:\n%s", o)
	}
	root = newRootCmd()
	root.SetOut(&out)
	root.SetArgs([]string{"devices", "--blas", "atlas"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "atlas") {
		t.Fatalf("--blas atlas: err = %v", err)
	}
}
