package cpu

import "lethe/nn"

// Convolutions that the direct kernels (direct.go) do not take, and the
// backward-data passes that are not flipped forward ones, are im2col +
// GEMM. The columns of several images are laid
// side by side, col[C·R·S, nb·P·Q], so that one GEMM covers a chunk of nb
// images: for the small late layers of a CIFAR network (4x4 outputs) a
// per-image GEMM would be 16 columns wide and far from the BLAS's peak.
// The GEMM output [K, nb·P·Q] is then scattered into NCHW (a copy of K·P·Q
// values per image, small next to the GEMM's 2·K·C·R·S·P·Q flops).
//
// With at least as many images as workers, each worker takes its own share
// of the batch and runs every step of its chunks alone (single-threaded
// GEMM, its own scratch); the filter gradient is summed per worker and
// reduced at the end. Measured on 2 cores (BenchmarkConv, ResNet-18 CIFAR
// shapes at batch 32): splitting each chunk's GEMM over the workers ran the
// 64-channel 32x32 layer at 82 GFLOP/s in all, barely above one thread's
// 88, because the two halves of a small GEMM share and re-pack the same
// columns; two workers on their own images ran at ~150. With fewer images
// than workers (batch 1 in probes) every step of a chunk runs on all
// workers instead.

// maxConvScratch bounds the values of a chunk's scratch (columns plus GEMM
// output): 64 MiB. A single image that needs more still runs, in one chunk.
const maxConvScratch = 16 << 20

// convTargetCols is how many GEMM columns (nb·P·Q) a chunk aims for.
// Measured (BenchmarkConv, one thread, CPU time of the ResNet-18 and
// SmallCNN shapes): 1024 columns 495 ms, per image 552, 2048 525, 4096
// 553, 8192 554. Wider chunks only add memory traffic once the GEMM is
// near its peak (the columns fall out of L2), while per-image GEMMs are
// too narrow for the 4x4 layers.
var convTargetCols = 1024

// flipMinChannels and flipMinHW gate the flipped-filter backward-data
// path (see ConvBackwardData).
const flipMinChannels, flipMinHW = 16, 64

// direct1x1MinPQ: a 1x1, stride-1, unpadded convolution is a plain GEMM on
// each image's [C, H·W] matrix, no im2col, when H·W is at least this wide.
var direct1x1MinPQ = 256

func convChecks(op string, g nn.ConvGeom, x, w, y []float32) {
	if len(x) != g.N*g.C*g.H*g.W {
		fail(op, "input has %d values, geometry %+v needs %d", len(x), g, g.N*g.C*g.H*g.W)
	}
	if len(w) != g.K*g.C*g.R*g.S {
		fail(op, "filter has %d values, geometry %+v needs %d", len(w), g, g.K*g.C*g.R*g.S)
	}
	if len(y) != g.N*g.K*g.P*g.Q {
		fail(op, "output has %d values, geometry %+v needs %d", len(y), g, g.N*g.K*g.P*g.Q)
	}
}

func is1x1Direct(g nn.ConvGeom) bool {
	return g.R == 1 && g.S == 1 && g.Stride == 1 && g.Pad == 0 && g.P*g.Q >= direct1x1MinPQ
}

// chunkImages is how many of n images one chunk holds.
func chunkImages(g nn.ConvGeom, n int) int {
	if is1x1Direct(g) {
		return 1
	}
	pq := g.P * g.Q
	nb := max(1, convTargetCols/pq)
	perImage := (g.C*g.R*g.S + g.K) * pq
	if nb*perImage > maxConvScratch {
		nb = max(1, maxConvScratch/perImage)
	}
	return min(nb, n)
}

// forChunks calls fn(w, inner, n0, cnt) for consecutive chunks of the
// batch: worker w's images [n0, n0+cnt), whose steps may use `inner`
// workers (all of them when the batch is run chunk by chunk, 1 when each
// worker has its own images).
//
// The workers claim chunks as they go, so a worker slowed by the machine
// does not hold the other up (measured on the 2-core VM: ResNet-18 step
// +6.6%, median of six paired runs, against each worker taking half the
// batch). The chunks are the same whoever takes them and each is computed
// alone, so results do not depend on which worker took it; chunk n0/nb
// (nb = dynamicChunk) is the same chunk in every run.
func (b *Backend) forChunks(g nn.ConvGeom, fn func(w, inner, n0, cnt int)) {
	outer := b.imageWorkers(g)
	if outer <= 1 {
		nb := chunkImages(g, g.N)
		for n0 := 0; n0 < g.N; n0 += nb {
			fn(0, b.threads, n0, min(nb, g.N-n0))
		}
		return
	}
	b.claimChunks(outer, g.N, b.dynamicChunk(g), func(w, n0, cnt int) { fn(w, 1, n0, cnt) })
}

// claimChunks has `workers` workers claim chunks of nb of n images in
// turn, calling fn(w, n0, cnt) for each.
func (b *Backend) claimChunks(workers, n, nb int, fn func(w, n0, cnt int)) {
	next := &b.nextChunk
	next.Store(0)
	b.pool.run(workers, func(w int) {
		for {
			n0 := int(next.Add(1)-1) * nb
			if n0 >= n {
				return
			}
			fn(w, n0, min(nb, n-n0))
		}
	})
}

// dynamicChunk is how many images each chunk of forChunks holds when the
// workers take images.
func (b *Backend) dynamicChunk(g nn.ConvGeom) int {
	outer := b.imageWorkers(g)
	return chunkImages(g, (g.N+outer-1)/outer)
}

// imageWorkers is how many workers take images of g's batch in forChunks.
func (b *Backend) imageWorkers(g nn.ConvGeom) int { return min(b.threads, g.N) }

// spread calls fn over [0, total) in one piece, or cut into contiguous
// ranges on the workers when inner > 1.
func (b *Backend) spread(inner, total int, fn func(lo, hi int)) {
	if inner <= 1 {
		if total > 0 {
			fn(0, total)
		}
		return
	}
	b.pool.share(total, 1, func(lo, hi int) { fn(lo, hi) })
}

// ConvForward: y[N,K,P,Q] = x[N,C,H,W] ⋆ w[K,C,R,S] (cross-correlation).
func (b *Backend) ConvForward(g nn.ConvGeom, x, w, y nn.Buf) {
	X, Wt, Y := Floats(x), Floats(w), Floats(y)
	convChecks("ConvForward", g, X, Wt, Y)
	b.convForward(g, X, Wt, Y)
}

// flipFilters returns w[K,C,R,S] rearranged as f[C,K,R,S] with
// f[c,k,r,s] = w[k,c,R−1−r,S−1−s], in the backend's reusable buffer.
func (b *Backend) flipFilters(g nn.ConvGeom, w []float32) []float32 {
	rs := g.R * g.S
	if cap(b.flipped) < len(w) {
		b.flipped = make([]float32, len(w))
	}
	f := b.flipped[:len(w)]
	for k := 0; k < g.K; k++ {
		for c := 0; c < g.C; c++ {
			src := w[(k*g.C+c)*rs : (k*g.C+c+1)*rs]
			dst := f[(c*g.K+k)*rs : (c*g.K+k+1)*rs]
			for i, v := range src {
				dst[rs-1-i] = v
			}
		}
	}
	return f
}

func (b *Backend) convForward(g nn.ConvGeom, X, Wt, Y []float32) {
	if isDirectConv(g) {
		b.convForwardDirect(g, X, Wt, Y)
		return
	}
	crs, pq, chw, kpq := g.C*g.R*g.S, g.P*g.Q, g.C*g.H*g.W, g.K*g.P*g.Q
	direct := is1x1Direct(g)
	taps := b.convTaps(g)
	b.forChunks(g, func(w, inner, n0, cnt int) {
		if direct {
			b.gemm(false, false, g.K, pq, g.C, 1, Wt, g.C, X[n0*chw:], pq, 0, Y[n0*kpq:], pq, inner)
			return
		}
		cols := cnt * pq
		col := b.buf(w, (crs+g.K)*cols)
		col, out := col[:crs*cols], col[crs*cols:]
		b.im2col(g, taps, X[n0*chw:], cnt, col, inner)
		if cnt == 1 {
			b.gemm(false, false, g.K, pq, crs, 1, Wt, crs, col, cols, 0, Y[n0*kpq:], pq, inner)
			return
		}
		b.gemm(false, false, g.K, cols, crs, 1, Wt, crs, col, cols, 0, out, cols, inner)
		// Scatter [K, cnt·PQ] into cnt images of [K, PQ].
		b.spread(inner, cnt*g.K, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				j, k := i/g.K, i%g.K
				copy(Y[(n0+j)*kpq+k*pq:(n0+j)*kpq+(k+1)*pq], out[k*cols+j*pq:])
			}
		})
	})
}

// ConvBackwardData: dx = conv_transpose(dy, w), overwriting dx.
func (b *Backend) ConvBackwardData(g nn.ConvGeom, w, dy, dx nn.Buf) {
	Wt, DY, DX := Floats(w), Floats(dy), Floats(dx)
	convChecks("ConvBackwardData", g, DX, Wt, DY)
	crs, pq, chw, kpq := g.C*g.R*g.S, g.P*g.Q, g.C*g.H*g.W, g.K*g.P*g.Q
	if g.Stride == 1 && g.R == g.S && g.R > 1 && g.Pad <= g.R-1 && g.C >= flipMinChannels && g.H*g.W >= flipMinHW {
		// A stride-1 backward-data pass is a forward convolution of dy
		// with the filters flipped in space and transposed in channels,
		// padded by R−1−pad. That trades col2im's scalar scatter-add for
		// im2col's copies. Measured (one thread, CPU time): 64ch 32x32
		// −17%, 128ch 16x16 −12%; with channel-major im2col (2 threads,
		// best of three) 256ch 8x8 −8%, but 512ch 4x4 +10%; and with few
		// input channels the GEMM has too few rows (3 → 64 stem: 4x
		// slower), hence the thresholds.
		g2 := nn.ConvGeom{N: g.N, C: g.K, H: g.P, W: g.Q, K: g.C, R: g.R, S: g.S, Stride: 1, Pad: g.R - 1 - g.Pad, P: g.H, Q: g.W}
		b.convForward(g2, DY, b.flipFilters(g, Wt), DX)
		return
	}
	direct := is1x1Direct(g)
	taps := b.convTaps(g)
	b.forChunks(g, func(w, inner, n0, cnt int) {
		if direct {
			b.gemm(true, false, g.C, pq, g.K, 1, Wt, g.C, DY[n0*kpq:], pq, 0, DX[n0*chw:], pq, inner)
			return
		}
		cols := cnt * pq
		buf := b.buf(w, (crs+g.K)*cols)
		dcol, dyg := buf[:crs*cols], buf[crs*cols:]
		src, ld := DY[n0*kpq:], pq
		if cnt > 1 {
			b.gatherImages(g.K, pq, cnt, DY[n0*kpq:], dyg, inner)
			src, ld = dyg, cols
		}
		b.gemm(true, false, crs, cols, g.K, 1, Wt, crs, src, ld, 0, dcol, cols, inner)
		b.col2im(g, taps, dcol, cnt, DX[n0*chw:], inner)
	})
}

// ConvBackwardFilter: dw += x ⋆ dy (summed over the batch).
func (b *Backend) ConvBackwardFilter(g nn.ConvGeom, x, dy, dw nn.Buf) {
	X, DY, DW := Floats(x), Floats(dy), Floats(dw)
	convChecks("ConvBackwardFilter", g, X, DW, DY)
	if isDirectFilter(g) {
		b.convBackwardFilterDirect(g, X, DY, DW)
		return
	}
	crs, pq, chw, kpq := g.C*g.R*g.S, g.P*g.Q, g.C*g.H*g.W, g.K*g.P*g.Q
	direct := is1x1Direct(g)
	taps := b.convTaps(g)
	// Chunks are claimed dynamically, as in the forward pass, yet the sum
	// does not depend on timing: chunk 0 adds into dw and every other
	// chunk into its own buffer (beta 0), added to dw in chunk order
	// below, so the result is the same from run to run for a given thread
	// count. Worker-owned sums over a static split left a worker idle for
	// up to a quarter of the 64-channel layer's pass whenever the VM ran
	// one core slower than the other (measured, 2 cores).
	outer := b.imageWorkers(g)
	var sums []float32
	nb, chunks := g.N, 1
	if outer > 1 {
		nb = b.dynamicChunk(g)
		chunks = (g.N + nb - 1) / nb
		sums = b.sums((chunks - 1) * len(DW))
	}
	b.forChunks(g, func(w, inner, n0, cnt int) {
		dst, beta := chunkSumDst(DW, sums, n0/nb)
		if direct {
			b.gemm(false, true, g.K, g.C, pq, 1, DY[n0*kpq:], pq, X[n0*chw:], pq, beta, dst, g.C, inner)
			return
		}
		cols := cnt * pq
		buf := b.buf(w, (crs+g.K)*cols)
		col, dyg := buf[:crs*cols], buf[crs*cols:]
		b.im2col(g, taps, X[n0*chw:], cnt, col, inner)
		src, ld := DY[n0*kpq:], pq
		if cnt > 1 {
			b.gatherImages(g.K, pq, cnt, DY[n0*kpq:], dyg, inner)
			src, ld = dyg, cols
		}
		b.gemm(false, true, g.K, crs, cols, 1, src, ld, col, cols, beta, dst, crs, inner)
	})
	b.addChunkSums(DW, sums, chunks)
}

// chunkSumDst is where chunk c of a backward-filter pass sums: into dw
// itself (beta 1) for chunk 0, else over its own part of sums (beta 0).
func chunkSumDst(DW, sums []float32, c int) (dst []float32, beta float32) {
	if c == 0 {
		return DW, 1
	}
	return sums[(c-1)*len(DW) : c*len(DW)], 0
}

// addChunkSums adds the filter-gradient sums of chunks 1..chunks−1 to DW,
// in chunk order.
func (b *Backend) addChunkSums(DW, sums []float32, chunks int) {
	if chunks <= 1 {
		return
	}
	b.pool.share(len(DW), 4096, func(lo, hi int) {
		d := DW[lo:hi]
		for c := 1; c < chunks; c++ {
			p := sums[(c-1)*len(DW)+lo : (c-1)*len(DW)+hi]
			for i, v := range p {
				d[i] += v
			}
		}
	})
}

// gatherImages copies cnt images of [rows, pq] into one [rows, cnt·pq]
// matrix.
func (b *Backend) gatherImages(rows, pq, cnt int, src, dst []float32, inner int) {
	cols := cnt * pq
	// Row-major over dst, which is then written front to back.
	b.spread(inner, cnt*rows, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			k, j := i/cnt, i%cnt
			copy(dst[k*cols+j*pq:k*cols+(j+1)*pq], src[j*rows*pq+k*pq:])
		}
	})
}

// validRange returns the output positions [lo, hi) of a row or column whose
// input index o·stride − pad + off falls inside [0, size).
func validRange(out, size, stride, pad, off int) (lo, hi int) {
	// o·stride ≥ pad − off  and  o·stride < size + pad − off.
	lo = ceilDiv(pad-off, stride)
	hi = ceilDiv(size+pad-off, stride)
	lo = max(lo, 0)
	hi = min(hi, out)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

func ceilDiv(a, b int) int {
	if a <= 0 {
		return -((-a) / b)
	}
	return (a + b - 1) / b
}

// tap is one filter position (r, s) of a convolution: the output rows
// [plo, phi) and columns [qlo, qhi) whose input falls inside the image,
// and for stride 1 with Q == W the constant offset from an output index to
// its input index.
type tap struct {
	r, s, plo, phi, qlo, qhi, off int
}

// convTaps returns the R·S taps in (r, s) order, in the backend's reusable
// slice. An op computes them once and hands them to every chunk: the
// ranges need divisions, too slow to redo for every plane of a deep layer.
func (b *Backend) convTaps(g nn.ConvGeom) []tap {
	taps := b.taps[:0]
	for r := 0; r < g.R; r++ {
		plo, phi := validRange(g.P, g.H, g.Stride, g.Pad, r)
		for s := 0; s < g.S; s++ {
			qlo, qhi := validRange(g.Q, g.W, g.Stride, g.Pad, s)
			t := tap{r: r, s: s, plo: plo, phi: phi, qlo: qlo, qhi: qhi, off: (r-g.Pad)*g.W + s - g.Pad}
			if qlo >= qhi {
				t.plo, t.phi = 0, 0 // no valid column: the whole row is padding
			}
			taps = append(taps, t)
		}
	}
	b.taps = taps
	return taps
}

// im2col writes the columns of cnt images (NCHW, starting at x) into
// col[C·R·S, cnt·P·Q]: row (c,r,s), column j·P·Q + p·Q + q holds
// x[j, c, p·stride−pad+r, q·stride−pad+s], or 0 in the padding. Every
// value of col is written, so col needs no clearing.
func (b *Backend) im2col(g nn.ConvGeom, taps []tap, x []float32, cnt int, col []float32, inner int) {
	pq, hw, cols, rs := g.P*g.Q, g.H*g.W, cnt*g.P*g.Q, g.R*g.S
	// Output and input rows have the same stride, so each tap's valid
	// values form one contiguous run at a constant offset.
	contiguous := g.Stride == 1 && g.Q == g.W
	// Channels outer, images inner: each (c,r,s) row of col is then
	// written front to back. Image-major order wrote 2304 short runs one
	// row (4 KiB or more) apart per image of a 256-channel 8x8 layer, and
	// ran at 3 GB/s instead of 20-30.
	b.spread(inner, g.C, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			for t := range taps {
				tp := &taps[t]
				row := c*rs + t
				for j := 0; j < cnt; j++ {
					plane := x[(j*g.C+c)*hw : (j*g.C+c+1)*hw]
					dst := col[row*cols+j*pq : row*cols+(j+1)*pq]
					im2colTap(g, tp, plane, dst, contiguous)
				}
			}
		}
	})
}

// im2colTap writes one tap's row of one image plane (see im2col).
func im2colTap(g nn.ConvGeom, tp *tap, plane, dst []float32, contiguous bool) {
	if tp.plo >= tp.phi {
		clear(dst)
		return
	}
	if tp.plo > 0 {
		clear(dst[:tp.plo*g.Q])
	}
	if tp.phi < g.P {
		clear(dst[tp.phi*g.Q:])
	}
	if contiguous {
		// One copy, then zero the few entries per row that wrapped
		// around from the padding.
		copy(dst[tp.plo*g.Q+tp.qlo:(tp.phi-1)*g.Q+tp.qhi], plane[tp.plo*g.W+tp.qlo+tp.off:])
		if tp.qlo > 0 || tp.qhi < g.Q {
			for p := tp.plo; p < tp.phi; p++ {
				clearEdges(dst[p*g.Q:(p+1)*g.Q], tp.qlo, tp.qhi)
			}
		}
		return
	}
	for p := tp.plo; p < tp.phi; p++ {
		d := dst[p*g.Q : (p+1)*g.Q]
		clearEdges(d, tp.qlo, tp.qhi)
		h := p*g.Stride - g.Pad + tp.r
		w0 := tp.qlo*g.Stride - g.Pad + tp.s
		src := plane[h*g.W:]
		if g.Stride == 1 {
			copy(d[tp.qlo:tp.qhi], src[w0:])
		} else {
			gatherStrided(d[tp.qlo:tp.qhi], src[w0:], g.Stride)
		}
	}
}

// clearEdges zeroes d[:lo] and d[hi:] (a handful of values).
func clearEdges(d []float32, lo, hi int) {
	for q := 0; q < lo && q < len(d); q++ {
		d[q] = 0
	}
	for q := hi; q < len(d); q++ {
		d[q] = 0
	}
}

// col2im is the adjoint of im2col: it overwrites the cnt images of dx with
// the sums of their columns' values. With stride 1 and Q == W it first
// zeroes the column entries that fall in the padding (col is scratch), so
// that each (c,r,s) row adds into dx as one contiguous run.
func (b *Backend) col2im(g nn.ConvGeom, taps []tap, col []float32, cnt int, dx []float32, inner int) {
	pq, hw, cols, rs := g.P*g.Q, g.H*g.W, cnt*g.P*g.Q, g.R*g.S
	contiguous := g.Stride == 1 && g.Q == g.W
	// Channels outer, images inner, as in im2col: col's rows are read
	// front to back.
	b.spread(inner, g.C, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			for j := 0; j < cnt; j++ {
				clear(dx[(j*g.C+c)*hw : (j*g.C+c+1)*hw])
			}
			for t := range taps {
				tp := &taps[t]
				if tp.plo >= tp.phi {
					continue
				}
				row := c*rs + t
				for j := 0; j < cnt; j++ {
					plane := dx[(j*g.C+c)*hw : (j*g.C+c+1)*hw]
					src := col[row*cols+j*pq : row*cols+(j+1)*pq]
					col2imTap(g, tp, src, plane, contiguous)
				}
			}
		}
	})
}

// col2imTap adds one tap's row of one image (see col2im) into its plane.
func col2imTap(g nn.ConvGeom, tp *tap, src, plane []float32, contiguous bool) {
	if contiguous {
		if tp.qlo > 0 || tp.qhi < g.Q {
			for p := tp.plo; p < tp.phi; p++ {
				clearEdges(src[p*g.Q:(p+1)*g.Q], tp.qlo, tp.qhi)
			}
		}
		sr := src[tp.plo*g.Q+tp.qlo : (tp.phi-1)*g.Q+tp.qhi]
		d := plane[tp.plo*g.W+tp.qlo+tp.off:]
		d = d[:len(sr)]
		for q, v := range sr {
			d[q] += v
		}
		return
	}
	for p := tp.plo; p < tp.phi; p++ {
		h := p*g.Stride - g.Pad + tp.r
		w0 := tp.qlo*g.Stride - g.Pad + tp.s
		d := plane[h*g.W:]
		sr := src[p*g.Q+tp.qlo : p*g.Q+tp.qhi]
		if g.Stride == 1 {
			d = d[w0 : w0+len(sr)]
			for q, v := range sr {
				d[q] += v
			}
		} else {
			scatterAddStrided(d[w0:], sr, g.Stride)
		}
	}
}

// gatherStrided sets d[i] = src[i·stride].
func gatherStrided(d, src []float32, stride int) {
	if len(d) == 0 {
		return
	}
	src = src[:(len(d)-1)*stride+1]
	for i := range d {
		d[i] = src[i*stride]
	}
}

// scatterAddStrided adds s[i] into d[i·stride].
func scatterAddStrided(d, s []float32, stride int) {
	if len(s) == 0 {
		return
	}
	d = d[:(len(s)-1)*stride+1]
	for i, v := range s {
		d[i*stride] += v
	}
}
