package cuda

import "testing"

func TestEmulatorRunsAKernel(t *testing.T) {
	be := newEmuBackend(t)
	x := be.Alloc(1000)
	vals := make([]float32, 1000)
	for i := range vals {
		vals[i] = float32(i) - 500
	}
	be.Upload(x, vals)
	y := be.Alloc(1000)
	be.ReLUForward(x, y)
	got := make([]float32, 1000)
	be.Download(got, y)
	if err := be.Sync(); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		want := max(vals[i], 0)
		if v != want {
			t.Fatalf("relu[%d] = %v, want %v", i, v, want)
		}
	}
	if d := be.Dot(x, x); d != 83333500 {
		t.Fatalf("dot = %v", d)
	}
}
