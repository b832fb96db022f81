package cuda

import (
	"math"
	"strings"
	"testing"

	"lethe/nn"
)

func expectPanic(t *testing.T, what, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("%s: no panic", what)
			return
		}
		if msg, _ := r.(string); !strings.Contains(msg, want) {
			t.Errorf("%s: panic %v, want one containing %q", what, r, want)
		}
	}()
	f()
}

func TestFreeingViewsAndTwiceIsAnError(t *testing.T) {
	be := newEmuBackend(t)
	x := be.Alloc(100)
	be.Free(x.Slice(10, 20))
	err := be.Sync()
	if err == nil || !strings.Contains(err.Error(), "view made by Slice cannot be freed") {
		t.Fatalf("freeing a view: Sync = %v", err)
	}
	be = newEmuBackend(t)
	x = be.Alloc(100)
	be.Free(x)
	be.Free(x)
	if err := be.Sync(); err == nil || !strings.Contains(err.Error(), "freed twice") {
		t.Fatalf("double free: Sync = %v", err)
	}
}

func TestErrorsAreSticky(t *testing.T) {
	be := newEmuBackend(t)
	x := be.Alloc(10)
	be.Upload(x, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	be.Free(x.Slice(0, 1)) // an error
	out := make([]float32, 10)
	be.Download(out, x)
	for _, v := range out {
		if !math.IsNaN(float64(v)) {
			t.Fatalf("Download after an error gave %v, want NaN", out)
		}
	}
	if d := be.Dot(x, x); !math.IsNaN(d) {
		t.Errorf("Dot after an error = %v, want NaN", d)
	}
	if n := be.CountNonFinite(x); n != 10 {
		t.Errorf("CountNonFinite after an error = %d, want all 10", n)
	}
	if err := be.Sync(); err == nil || err != be.Err() {
		t.Errorf("Sync = %v, Err = %v", err, be.Err())
	}
}

func TestProgrammingErrorsPanicWithTheOpName(t *testing.T) {
	be := newEmuBackend(t)
	x, y := be.Alloc(10), be.Alloc(11)
	expectPanic(t, "mismatched lengths", "cuda.Add: buffers of 10 and 11 values", func() { be.Add(x, x, y) })
	expectPanic(t, "a foreign buffer", "does not belong to a CUDA backend", func() { be.Scale(reference().Alloc(1), 2) })
	expectPanic(t, "another backend's buffer", "belongs to another CUDA backend", func() { be.Scale(newEmuBackend(t).Alloc(3), 2) })
	expectPanic(t, "a view out of range", "Slice(5, 6) of a buffer of 10", func() { x.Slice(5, 6) })
	expectPanic(t, "upload of the wrong size", "3 values into a buffer of 10", func() { be.Upload(x, []float32{1, 2, 3}) })
	be.Free(y)
	expectPanic(t, "use after free", "used after Free", func() { be.Scale(y, 2) })
	if err := be.Sync(); err != nil {
		t.Errorf("panicking checks left an error: %v", err)
	}
}

func TestFreedMemoryIsReused(t *testing.T) {
	be := newEmuBackend(t)
	before := be.MemStats()
	for i := 0; i < 5; i++ {
		b := be.Alloc(10000)
		be.Free(b)
	}
	s := be.MemStats()
	if s.DriverAllocs-before.DriverAllocs != 1 {
		t.Errorf("%d driver allocations for 5 alloc/free pairs, want 1", s.DriverAllocs-before.DriverAllocs)
	}
	if err := be.Trim(); err != nil {
		t.Fatal(err)
	}
	if s := be.MemStats(); s.CachedBytes != 0 {
		t.Errorf("after Trim %d bytes cached", s.CachedBytes)
	}
	// Empty buffers are fine everywhere.
	e := be.Alloc(0)
	be.Fill(e, 1)
	be.Upload(e, nil)
	be.Free(e)
	var _ nn.Buf = e
	if err := be.Sync(); err != nil {
		t.Error(err)
	}
}
