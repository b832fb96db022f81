package cpu

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"lethe/nn"
)

// Naive convolution loops, float64 sums, each returning Σ|terms| per output
// for the tolerance (see closeToScaled).

func inputAt(g nn.ConvGeom, x []float32, n, c, h, w int) (float64, bool) {
	if h < 0 || h >= g.H || w < 0 || w >= g.W {
		return 0, false
	}
	return float64(x[((n*g.C+c)*g.H+h)*g.W+w]), true
}

func naiveConvForward(g nn.ConvGeom, x, w []float32) (y, scale []float64) {
	y = make([]float64, g.N*g.K*g.P*g.Q)
	scale = make([]float64, len(y))
	for n := 0; n < g.N; n++ {
		for k := 0; k < g.K; k++ {
			for p := 0; p < g.P; p++ {
				for q := 0; q < g.Q; q++ {
					var s, a float64
					for c := 0; c < g.C; c++ {
						for r := 0; r < g.R; r++ {
							for t := 0; t < g.S; t++ {
								xv, ok := inputAt(g, x, n, c, p*g.Stride-g.Pad+r, q*g.Stride-g.Pad+t)
								if !ok {
									continue
								}
								v := xv * float64(w[((k*g.C+c)*g.R+r)*g.S+t])
								s += v
								a += math.Abs(v)
							}
						}
					}
					i := ((n*g.K+k)*g.P+p)*g.Q + q
					y[i], scale[i] = s, a
				}
			}
		}
	}
	return y, scale
}

// naiveConvBackwardData scatters every output gradient back through the
// window, the plain adjoint of naiveConvForward.
func naiveConvBackwardData(g nn.ConvGeom, w, dy []float32) (dx, scale []float64) {
	dx = make([]float64, g.N*g.C*g.H*g.W)
	scale = make([]float64, len(dx))
	for n := 0; n < g.N; n++ {
		for k := 0; k < g.K; k++ {
			for p := 0; p < g.P; p++ {
				for q := 0; q < g.Q; q++ {
					d := float64(dy[((n*g.K+k)*g.P+p)*g.Q+q])
					for c := 0; c < g.C; c++ {
						for r := 0; r < g.R; r++ {
							for t := 0; t < g.S; t++ {
								h, ww := p*g.Stride-g.Pad+r, q*g.Stride-g.Pad+t
								if h < 0 || h >= g.H || ww < 0 || ww >= g.W {
									continue
								}
								v := d * float64(w[((k*g.C+c)*g.R+r)*g.S+t])
								i := ((n*g.C+c)*g.H+h)*g.W + ww
								dx[i] += v
								scale[i] += math.Abs(v)
							}
						}
					}
				}
			}
		}
	}
	return dx, scale
}

func naiveConvBackwardFilter(g nn.ConvGeom, x, dy, dw0 []float32) (dw, scale []float64) {
	dw = f64(dw0)
	scale = make([]float64, len(dw))
	for i, v := range dw0 {
		scale[i] = math.Abs(float64(v))
	}
	for n := 0; n < g.N; n++ {
		for k := 0; k < g.K; k++ {
			for p := 0; p < g.P; p++ {
				for q := 0; q < g.Q; q++ {
					d := float64(dy[((n*g.K+k)*g.P+p)*g.Q+q])
					for c := 0; c < g.C; c++ {
						for r := 0; r < g.R; r++ {
							for t := 0; t < g.S; t++ {
								xv, ok := inputAt(g, x, n, c, p*g.Stride-g.Pad+r, q*g.Stride-g.Pad+t)
								if !ok {
									continue
								}
								i := ((k*g.C+c)*g.R+r)*g.S + t
								dw[i] += d * xv
								scale[i] += math.Abs(d * xv)
							}
						}
					}
				}
			}
		}
	}
	return dw, scale
}

// convGeoms covers batch 1 and more, 1/3/odd channels, kernels 1/3/5/7 and
// a non-square one, strides 1 and 2, paddings 0/1/3, non-square inputs, a
// 1x1 stride-1 case wide enough for the direct GEMM path, a padding so
// large that some windows see only zeros, and "same" convolutions (Q = W)
// with square and non-square kernels, which take im2col's contiguous path,
// and planes so small that some taps see only padding.
var convGeoms = [][9]int{
	// n, c, h, w, k, r, s, stride, pad
	{1, 1, 5, 5, 1, 1, 1, 1, 0},
	{2, 3, 7, 9, 4, 3, 3, 1, 1},
	{3, 5, 8, 6, 7, 3, 3, 2, 1},
	{2, 3, 11, 13, 5, 5, 5, 1, 3},
	{1, 3, 10, 12, 4, 7, 7, 2, 3},
	{5, 7, 9, 7, 3, 5, 5, 2, 0},
	{3, 4, 16, 17, 6, 1, 1, 1, 0},
	{3, 6, 7, 5, 5, 1, 1, 2, 0},
	{2, 2, 3, 3, 2, 3, 3, 1, 3},
	{4, 3, 6, 9, 5, 3, 5, 1, 1},
	{7, 1, 4, 4, 3, 3, 3, 2, 1},
	{3, 2, 8, 7, 4, 5, 3, 1, 1},
	{2, 3, 9, 8, 4, 5, 5, 1, 2},
	// Enough channels and pixels for the flipped-filter backward-data
	// path: "same" 3x3, 5x5 with pad 0 (a "full" transposed convolution)
	// and 3x3 with pad 2 (R−1−pad = 0).
	{3, 16, 16, 16, 5, 3, 3, 1, 1},
	{2, 17, 18, 16, 3, 5, 5, 1, 0},
	{2, 16, 16, 17, 4, 3, 3, 1, 2},
	// Rows a multiple of 8 wide for the direct kernel (K a multiple of 8):
	// one image's vectors in several tiles, several images in a chunk
	// (8x8, with a partial last chunk), no padding, batch 1, and a
	// flipped-filter backward-data pass that takes it too.
	{3, 5, 8, 16, 8, 3, 3, 1, 1},
	{5, 3, 10, 10, 8, 3, 3, 1, 0},
	{1, 4, 8, 8, 8, 3, 3, 1, 1},
	{2, 16, 8, 8, 16, 3, 3, 1, 1},
	// Batches of 8 or more, 64 taps or more and 32 outputs or more for
	// the direct kernels' batch layout: a row not a multiple of 8 (and a
	// partial group of images), stride 2, a non-square kernel; and 4x4
	// planes as in ResNet-18's last stage, left to im2col.
	{9, 8, 7, 7, 8, 3, 3, 1, 1},
	{10, 8, 11, 11, 16, 3, 3, 2, 1},
	{8, 5, 12, 10, 8, 5, 3, 2, 2},
	{16, 8, 4, 4, 8, 3, 3, 1, 1},
	// Padding wider than the filter, in both layouts: some vectors see
	// only zeros.
	{2, 4, 4, 4, 8, 3, 3, 1, 3},
	{8, 8, 3, 3, 8, 3, 3, 1, 3},
	// Taps whose columns all fall in the padding next to taps that do
	// not (ResNet-18's last stage on 8x8 inputs: 2x2 → 1x1, stride 2).
	{2, 3, 2, 2, 4, 3, 3, 2, 1},
	{3, 2, 3, 2, 3, 3, 3, 2, 1},
}

// geomOf builds the geometry {n, c, h, w, k, r, s, stride, pad}.
func geomOf(t testing.TB, gv [9]int) nn.ConvGeom {
	t.Helper()
	g, err := nn.NewConvGeom(gv[0], gv[1], gv[2], gv[3], gv[4], gv[5], gv[6], gv[7], gv[8])
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func geomName(g nn.ConvGeom) string {
	return fmt.Sprintf("n%d_c%d_%dx%d_k%d_%dx%d_s%d_p%d", g.N, g.C, g.H, g.W, g.K, g.R, g.S, g.Stride, g.Pad)
}

// chunkings run each geometry per image, in chunks of two images (so the
// last chunk is partial for odd batches) and with the default chunking;
// the 1x1 threshold 1 sends every 1x1 stride-1 case down the direct path.
var chunkings = []struct {
	name               string
	targetCols, min1x1 int
	noDirect           bool // im2col where the direct kernel would run
	mr4                bool // the direct kernel's 4-channel tiles
}{
	{"perImage", 1, 1 << 30, false, false},
	{"pairs", -2, 1 << 30, false, false},
	{"default", 4096, 256, false, false},
	{"direct1x1", 4096, 1, false, false},
	{"im2colOnly", 4096, 256, true, false},
	{"directMR4", 4096, 256, false, true},
}

func TestConvAgainstNaive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be *Backend) {
		rng := newRNG(3)
		for _, gv := range convGeoms {
			g := geomOf(t, gv)
			x := randBuf(rng, g.N*g.C*g.H*g.W)
			w := randBuf(rng, g.K*g.C*g.R*g.S)
			dy := randBuf(rng, g.N*g.K*g.P*g.Q)
			dw0 := randBuf(rng, len(w))
			wantY, scY := naiveConvForward(g, x, w)
			wantDX, scDX := naiveConvBackwardData(g, w, dy)
			wantDW, scDW := naiveConvBackwardFilter(g, x, dy, dw0)
			for _, ch := range chunkings {
				target := ch.targetCols
				if target < 0 {
					target = -target * g.P * g.Q
				}
				useDirectConv = !ch.noDirect
				mr := directMR
				if ch.mr4 {
					directMR = 4
				}
				withConvTuning(target, ch.min1x1, func() {
					name := geomName(g) + "/" + ch.name
					// Outputs start as NaN: every value must be written.
					y := nanBuf(len(wantY))
					be.ConvForward(g, x, w, y)
					closeToScaled(t, name+"/y", y, wantY, scY, 1e-5)
					dx := nanBuf(len(wantDX))
					be.ConvBackwardData(g, w, dy, dx)
					closeToScaled(t, name+"/dx", dx, wantDX, scDX, 1e-5)
					dw := clone(dw0)
					be.ConvBackwardFilter(g, x, dy, dw)
					closeToScaled(t, name+"/dw", dw, wantDW, scDW, 1e-5)
				})
				useDirectConv, directMR = true, mr
			}
		}
	})
}

// TestConvScratchIsReused checks that repeated calls do not grow memory:
// the backend's scratch is allocated once per shape (one geometry on
// im2col, one on the direct kernel where it runs).
func TestConvScratchIsReused(t *testing.T) {
	be, err := New(Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, gv := range [][9]int{{4, 8, 12, 12, 16, 3, 3, 1, 1}, {5, 8, 8, 16, 16, 3, 3, 1, 1}} {
		g := geomOf(t, gv)
		rng := newRNG(5)
		x, w := randBuf(rng, g.N*g.C*g.H*g.W), randBuf(rng, g.K*g.C*g.R*g.S)
		y, dw := make(Buf, g.N*g.K*g.P*g.Q), make(Buf, len(w))
		step := func() {
			be.ConvForward(g, x, w, y)
			be.ConvBackwardData(g, w, y, x)
			be.ConvBackwardFilter(g, x, y, dw)
		}
		step()
		// Chunks are claimed dynamically, so a worker that took none in
		// the first step may grow its scratch later, but never past the
		// largest chunk's need; that growth is not counted below.
		before := scratchBytes(be)
		if before.perWorker == 0 {
			t.Fatal("no scratch buffer after a step")
		}
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		const steps = 20
		for i := 0; i < steps; i++ {
			step()
		}
		runtime.ReadMemStats(&ms1)
		after := scratchBytes(be)
		if after.perWorker != before.perWorker || after.shared != before.shared {
			t.Fatalf("%s: scratch went from %+v to %+v bytes over %d identical steps", geomName(g), before, after, steps)
		}
		// The pool's closures and the BLAS call wrappers allocate a
		// little; an im2col buffer for this shape alone would be 165 KB,
		// and a tap table per chunk (once allocated by mistake) 3.5 KB.
		perStep := float64(ms1.TotalAlloc-ms0.TotalAlloc-uint64(grownBytes(before, after))) / steps
		if perStep > 8<<10 {
			t.Fatalf("%s: %.0f bytes allocated per step, want a few KB", geomName(g), perStep)
		}
		t.Logf("%s: %.0f bytes allocated per step (forward + both backwards)", geomName(g), perStep)
	}
}

// scratchSizes is the backend's reusable memory in bytes: the largest
// worker scratch, the shared buffers, and each buffer's capacity.
type scratchSizes struct {
	perWorker, shared int
	caps              []int
}

func scratchBytes(be *Backend) scratchSizes {
	var s scratchSizes
	for w := range be.scratch {
		s.perWorker = max(s.perWorker, 4*cap(be.scratch[w]))
		s.caps = append(s.caps, 4*cap(be.scratch[w]), 8*cap(be.directTabs[w]))
	}
	s.shared = 4*(cap(be.flipped)+cap(be.chunkSums)) + 8*cap(be.xoff)
	s.caps = append(s.caps, 4*cap(be.flipped), 4*cap(be.chunkSums), 8*cap(be.xoff))
	return s
}

// grownBytes is what the buffers that grew between before and after
// allocated: a buffer that grows is allocated whole, at its new capacity.
func grownBytes(before, after scratchSizes) int {
	n := 0
	for i, c := range after.caps {
		if c != before.caps[i] {
			n += c
		}
	}
	return n
}

// TestConvBackwardFilterIgnoresTiming checks that the filter gradient is
// bit-identical however the workers happen to claim chunks: its chunks are
// claimed dynamically, so a sum kept per worker would change with timing.
// A busy goroutine on some repeats shifts which worker takes which chunk.
func TestConvBackwardFilterIgnoresTiming(t *testing.T) {
	for _, threads := range []int{2, 3} {
		be, err := New(Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		rng := newRNG(9)
		for _, gv := range [][9]int{{12, 8, 8, 8, 16, 3, 3, 1, 1}, {7, 16, 4, 4, 32, 3, 3, 1, 1}, {9, 8, 8, 8, 16, 1, 1, 1, 0}} {
			g := geomOf(t, gv)
			x := randBuf(rng, g.N*g.C*g.H*g.W)
			dy := randBuf(rng, g.N*g.K*g.P*g.Q)
			dw0 := randBuf(rng, g.K*g.C*g.R*g.S)
			withConvTuning(2*g.P*g.Q, 1, func() { // two images a chunk: several chunks per worker
				var first Buf
				for rep := 0; rep < 40; rep++ {
					stop := make(chan struct{})
					if rep%2 == 1 {
						go func() {
							for {
								select {
								case <-stop:
									return
								default:
								}
							}
						}()
					}
					dw := clone(dw0)
					be.ConvBackwardFilter(g, x, dy, dw)
					close(stop)
					if first == nil {
						first = dw
						continue
					}
					for i := range dw {
						if math.Float32bits(dw[i]) != math.Float32bits(first[i]) {
							t.Fatalf("threads %d %s repeat %d: dw[%d] = %v, first run %v", threads, geomName(g), rep, i, dw[i], first[i])
						}
					}
				}
			})
		}
		be.Close()
	}
}
