package cuda

import (
	"fmt"
	"math/bits"
	"sort"
)

// memory is raw device memory: cuMemAlloc/cuMemFree, or the emulator's.
type memory interface {
	malloc(bytes int) (uintptr, error)
	free(ptr uintptr) error
}

// allocator is a caching allocator: freed blocks go to a free list of
// their size class and are handed out again without a driver call (a
// cuMemAlloc/cuMemFree pair costs tens of microseconds and synchronises
// the device). All work runs on one stream, so a block freed after its
// last use was queued may be reused by work queued later.
//
// Size classes: at least 512 bytes, then four classes per power of two
// (1, 1.25, 1.5, 1.75 × 2^k), so at most 25% of a block is slack.
type allocator struct {
	mem       memory
	freeLists map[int][]uintptr // class size -> cached blocks
	live      map[uintptr]int   // allocated block -> class size

	liveBytes, cachedBytes, peakBytes int
	driverAllocs                      int // blocks obtained from mem
}

func newAllocator(m memory) *allocator {
	return &allocator{mem: m, freeLists: map[int][]uintptr{}, live: map[uintptr]int{}}
}

const minBlock = 512

// sizeClass rounds a request up to its class.
func sizeClass(bytes int) int {
	if bytes <= minBlock {
		return minBlock
	}
	// top is the power of two at or below bytes; the class step is top/4.
	top := 1 << (bits.Len(uint(bytes)) - 1)
	step := top / 4
	return (bytes + step - 1) / step * step
}

// alloc returns a block of at least bytes. When the device is out of
// memory it returns the cached blocks to the driver and tries once more.
func (a *allocator) alloc(bytes int) (uintptr, error) {
	if bytes <= 0 {
		return 0, fmt.Errorf("allocate %d bytes: size must be positive", bytes)
	}
	cls := sizeClass(bytes)
	if l := a.freeLists[cls]; len(l) > 0 {
		p := l[len(l)-1]
		a.freeLists[cls] = l[:len(l)-1]
		a.cachedBytes -= cls
		a.markLive(p, cls)
		return p, nil
	}
	p, err := a.mem.malloc(cls)
	if err != nil && a.cachedBytes > 0 {
		if terr := a.trim(); terr != nil {
			return 0, fmt.Errorf("%w (and releasing cached blocks failed: %v)", err, terr)
		}
		p, err = a.mem.malloc(cls)
	}
	if err != nil {
		return 0, err
	}
	a.driverAllocs++
	a.markLive(p, cls)
	return p, nil
}

func (a *allocator) markLive(p uintptr, cls int) {
	a.live[p] = cls
	a.liveBytes += cls
	if a.liveBytes > a.peakBytes {
		a.peakBytes = a.liveBytes
	}
}

// release puts a live block back on its free list.
func (a *allocator) release(p uintptr) error {
	cls, ok := a.live[p]
	if !ok {
		return fmt.Errorf("free of device address %#x: not a live block of this backend (freed twice?)", p)
	}
	delete(a.live, p)
	a.liveBytes -= cls
	a.freeLists[cls] = append(a.freeLists[cls], p)
	a.cachedBytes += cls
	return nil
}

// trim returns every cached block to the driver. The caller must make
// sure no queued work still uses them (Backend.Trim synchronises first).
func (a *allocator) trim() error {
	var first error
	classes := make([]int, 0, len(a.freeLists))
	for c := range a.freeLists {
		classes = append(classes, c)
	}
	sort.Ints(classes)
	for _, c := range classes {
		for _, p := range a.freeLists[c] {
			if err := a.mem.free(p); err != nil && first == nil {
				first = err
			}
			a.cachedBytes -= c
		}
		delete(a.freeLists, c)
	}
	return first
}

// MemStats is the caching allocator's bookkeeping.
type MemStats struct {
	LiveBytes    int // in blocks handed out and not freed
	CachedBytes  int // in freed blocks kept for reuse
	PeakBytes    int // the most LiveBytes ever
	DriverAllocs int // blocks obtained from the driver
}

func (a *allocator) stats() MemStats {
	return MemStats{LiveBytes: a.liveBytes, CachedBytes: a.cachedBytes, PeakBytes: a.peakBytes, DriverAllocs: a.driverAllocs}
}
