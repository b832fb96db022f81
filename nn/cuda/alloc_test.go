package cuda

import (
	"errors"
	"strings"
	"testing"
)

// fakeMemory hands out increasing addresses and can be told to fail.
type fakeMemory struct {
	next     uintptr
	live     map[uintptr]int
	capacity int // bytes; 0 = unlimited
	used     int
	frees    int
}

func newFakeMemory(capacity int) *fakeMemory {
	return &fakeMemory{next: 1 << 20, live: map[uintptr]int{}, capacity: capacity}
}

func (m *fakeMemory) malloc(n int) (uintptr, error) {
	if m.capacity > 0 && m.used+n > m.capacity {
		return 0, errors.New("out of memory")
	}
	p := m.next
	m.next += uintptr(n)
	m.live[p] = n
	m.used += n
	return p, nil
}

func (m *fakeMemory) free(p uintptr) error {
	n, ok := m.live[p]
	if !ok {
		return errors.New("bad free")
	}
	delete(m.live, p)
	m.used -= n
	m.frees++
	return nil
}

func TestSizeClasses(t *testing.T) {
	prev := 0
	for n := 1; n < 1<<22; n += 1 + n/7 {
		c := sizeClass(n)
		if c < n || c < minBlock {
			t.Fatalf("sizeClass(%d) = %d, smaller than the request", n, c)
		}
		if n > minBlock && float64(c) > 1.25*float64(n)+1 {
			t.Fatalf("sizeClass(%d) = %d wastes more than 25%%", n, c)
		}
		if c < prev {
			t.Fatalf("sizeClass not monotone at %d", n)
		}
		prev = c
	}
	// Four classes per power of two.
	got := []int{sizeClass(1025), sizeClass(1280), sizeClass(1281), sizeClass(1537), sizeClass(1793), sizeClass(2049)}
	want := []int{1280, 1280, 1536, 1792, 2048, 2560}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("size classes %v, want %v", got, want)
			break
		}
	}
}

func TestAllocatorReusesFreedBlocks(t *testing.T) {
	m := newFakeMemory(0)
	a := newAllocator(m)
	p1, err := a.alloc(1000)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := a.alloc(1000)
	if p1 == p2 {
		t.Fatal("two live blocks share an address")
	}
	if err := a.release(p1); err != nil {
		t.Fatal(err)
	}
	// Same class (1000 and 1020 both round to 1024): the freed block returns.
	p3, _ := a.alloc(1020)
	if p3 != p1 {
		t.Errorf("a freed block of the same class was not reused")
	}
	p4, _ := a.alloc(5000)
	if p4 == p1 || p4 == p2 {
		t.Errorf("a block of another class was reused")
	}
	s := a.stats()
	if s.DriverAllocs != 3 || s.LiveBytes != 1024+1024+5120 || s.CachedBytes != 0 {
		t.Errorf("stats %+v", s)
	}
	if err := a.release(p1); err != nil {
		t.Fatal(err)
	}
	if err := a.release(p1); err == nil || !strings.Contains(err.Error(), "freed twice") {
		t.Errorf("double free: %v", err)
	}
	if err := a.release(12345); err == nil {
		t.Error("freeing an unknown address succeeded")
	}
	if s := a.stats(); s.CachedBytes != 1024 || s.PeakBytes != 1024+1024+5120 {
		t.Errorf("stats %+v", s)
	}
	if err := a.trim(); err != nil {
		t.Fatal(err)
	}
	if s := a.stats(); s.CachedBytes != 0 || m.frees != 1 {
		t.Errorf("after trim: %+v, %d driver frees", s, m.frees)
	}
	if _, err := a.alloc(0); err == nil {
		t.Error("allocating 0 bytes succeeded")
	}
}

func TestAllocatorTrimsWhenOutOfMemory(t *testing.T) {
	m := newFakeMemory(8192)
	a := newAllocator(m)
	p, err := a.alloc(4096)
	if err != nil {
		t.Fatal(err)
	}
	q, err := a.alloc(3000) // class 3072
	if err != nil {
		t.Fatal(err)
	}
	a.release(p)
	a.release(q)
	// 6000 bytes (class 6144) fit only after the cached blocks go back.
	if _, err := a.alloc(6000); err != nil {
		t.Fatalf("allocation after trimming the cache: %v", err)
	}
	if m.frees != 2 {
		t.Errorf("%d blocks returned to the driver, want 2", m.frees)
	}
	if _, err := a.alloc(6000); err == nil || !strings.Contains(err.Error(), "out of memory") {
		t.Errorf("allocation beyond capacity: %v", err)
	}
}
