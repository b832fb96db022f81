package cpu

import "lethe/nn"

// Direct convolution: forward passes (and so the flipped-filter
// backward-data passes) and backward-filter passes without im2col. The
// kernels (kernels_avx2.go) work on vectors of 8 lanes: for an output
// vector v and a filter tap t = (c, r, s), the 8 input values it meets lie
// side by side at xp[vb[v] + xoff[t]] in a zero-padded copy of the input,
// so the kernels multiply-add them straight from that copy. The input is
// copied once instead of R·S times, and nothing is packed for a BLAS. Two
// layouts give that property:
//
//   - rows: the lanes are 8 consecutive outputs of a row (stride 1, Q a
//     multiple of 8); xp holds each image padded, as NCHW.
//   - batch: the lanes are 8 images at one output position (any stride and
//     size, batches of 8 or more); xp holds a group of 8 images
//     interleaved, [C, H+2pad, W+2pad, 8], and the output is produced as
//     [K, P·Q, 8] and transposed back.
//
// The forward kernel keeps a tile of 8 output channels (4 without
// AVX-512VL's 32 registers) by 3 vectors in registers; the
// backward-filter kernel 8 channels by 3 taps, summing the lanes of each
// at the end of a chunk.
//
// Measured on the 2-core Zen 4 VM by BenchmarkConvDirect (each call
// alternating with the im2col path, 2 threads, two runs; time of im2col
// over direct): ResNet-18 at batch 32, forward 32x32 1.10-1.12, 16x16
// 1.19-1.30, 8x8 1.17-1.26, stride 2 to 16x16 1.11-1.14 and to 8x8
// 0.92-1.01; backward filter 32x32 1.02-1.15, 16x16 1.10-1.18, 8x8
// 0.96-0.97, stride 2 1.10-1.23 and 1.00-1.06; SmallCNN at batch 64, 14x14
// 1.06-1.12 and 1.09-1.10, 7x7 1.29-1.35 and 1.23-1.27. Whole training
// steps (BenchmarkTrainStepDirect): ResNet-18 1.03-1.10, SmallCNN
// 1.08-1.14, the lower figures while the VM ran slow.

// convDirectKernel runs the tiles of a chunk for filter blocks [kb0, kb1)
// of directMR channels (see lethe_conv_direct); pq is the output's stride
// between channels. Nil without the AVX2 kernels.
var convDirectKernel func(xp, w []float32, xoff, vb, ob []int, y []float32, pq, kb0, kb1 int)

// convDirectFilterKernel adds (acc) or writes a chunk's filter gradient
// for filter blocks [kb0, kb1) of 8 channels (see lethe_direct_bwdf8).
// Nil without the AVX-512VL kernels.
var convDirectFilterKernel func(xp, dy []float32, xoff, vb, ob []int, dw []float32, pq int, acc bool, kb0, kb1 int)

// directMR is how many output channels a forward tile holds: 4 with
// AVX2's 16 vector registers, 8 with AVX-512VL's 32.
var directMR = 4

// useDirectConv lets tests run the im2col path where the direct one
// applies.
var useDirectConv = true

// directLanes is the kernels' vector width.
const directLanes = 8

// directVecs and directFilterVecs are how many output vectors a forward
// and a backward-filter chunk aim for: a forward chunk's last tile repeats
// its last vector to fill its 3, and a backward-filter tile sums its lanes
// once per chunk.
const directVecs, directFilterVecs = 24, 64

// directBatchMinTaps and directBatchMinPQ gate the batch layout, whose
// transposes cost about what im2col does when a filter has few taps, and
// which does not beat OpenBLAS on ResNet-18's 512-channel 4x4 planes.
// Measured interleaved (2 threads, batch 64 or 32): SmallCNN's 1 → 32
// channels at 28x28 (9 taps) 0.37-0.62x the im2col path, 32 → 64 at 14x14
// 1.07-1.16x, 64 → 128 at 7x7 1.34-1.39x; ResNet-18's stride-2 layers
// 1.02-1.23x; 512 channels at 4x4 0.93-1.04x.
const directBatchMinTaps, directBatchMinPQ = 64, 32

// directPlan is how g's images are laid out for the kernels.
type directPlan struct {
	g      nn.ConvGeom
	batch  bool // lanes are images (else consecutive outputs of a row)
	hp, wp int  // padded input plane
	// per is how many images one unit of the layout holds (1 image in
	// rows, a group of 8 in batch), unitIn its padded input values and
	// unitOut its output values.
	per, unitIn, unitOut int
	vecs                 int // output vectors per unit
}

// directPlanFor returns g's layout and whether the direct kernels take g
// (forward needs K a multiple of directMR; the backward filter's own
// condition is in isDirectFilter).
func directPlanFor(g nn.ConvGeom) (directPlan, bool) {
	pl := directPlan{g: g, hp: g.H + 2*g.Pad, wp: g.W + 2*g.Pad}
	switch {
	case convDirectKernel == nil || !useDirectConv || g.R*g.S == 1:
		return pl, false
	case g.Stride == 1 && g.Q%directLanes == 0:
		pl.per, pl.vecs = 1, g.P*g.Q/directLanes
	case g.N >= directLanes && g.C*g.R*g.S >= directBatchMinTaps && g.P*g.Q >= directBatchMinPQ:
		pl.batch, pl.per, pl.vecs = true, directLanes, g.P*g.Q
	default:
		return pl, false
	}
	pl.unitIn = g.C * pl.hp * pl.wp * pl.per
	pl.unitOut = g.K * g.P * g.Q * pl.per
	// A unit's scratch (padded input and output) is bounded as im2col's
	// chunks are: planes far beyond the datasets' 64x64 take im2col.
	return pl, pl.unitIn+pl.unitOut <= maxConvScratch
}

// isDirectConv reports whether the direct kernel runs g's forward pass.
func isDirectConv(g nn.ConvGeom) bool {
	_, ok := directPlanFor(g)
	return ok && g.K%directMR == 0
}

// isDirectFilter reports whether the direct kernel runs g's
// backward-filter pass.
func isDirectFilter(g nn.ConvGeom) bool {
	_, ok := directPlanFor(g)
	return ok && convDirectFilterKernel != nil && g.K%8 == 0 && g.C*g.R*g.S%3 == 0
}

// chunkImages is how many images a chunk of about `target` vectors holds,
// with `workers` workers sharing the batch.
func (pl directPlan) chunkImages(target, workers int) int {
	units := max(1, (target+pl.vecs-1)/pl.vecs)
	perWorker := (pl.g.N + workers - 1) / workers
	return min(units*pl.per, max(pl.per, (perWorker+pl.per-1)/pl.per*pl.per))
}

// directTaps returns each filter tap's offset into a padded unit, in the order
// of a filter's [C, R, S] values.
func (b *Backend) directTaps(pl directPlan) []int {
	g := pl.g
	taps := g.C * g.R * g.S
	if cap(b.xoff) < taps {
		b.xoff = make([]int, taps)
	}
	xoff := b.xoff[:taps]
	lane := 1
	if pl.batch {
		lane = directLanes
	}
	for c := 0; c < g.C; c++ {
		for r := 0; r < g.R; r++ {
			for s := 0; s < g.S; s++ {
				xoff[(c*g.R+r)*g.S+s] = ((c*pl.hp+r)*pl.wp + s) * lane
			}
		}
	}
	return xoff
}

// input copies images [n0, n0+cnt) of X, zero-padded (and interleaved in
// the batch layout), into buf and returns each output vector's offset into
// it (vb) and into the chunk's output (ob: [cnt, K, P, Q] in rows,
// [units, K, P·Q, 8] in batch), in worker w's tables. With fill3 the
// vectors are padded to a multiple of 3 by repeating the last one (the
// forward kernel's tiles; its values are computed and stored again).
func (b *Backend) directInput(pl directPlan, w int, X []float32, n0, cnt int, buf []float32, fill3 bool) (vb, ob []int) {
	g := pl.g
	plane, chw := pl.hp*pl.wp, g.C*g.H*g.W
	clear(buf)
	for j := 0; j < cnt; j++ {
		for c := 0; c < g.C; c++ {
			src := X[(n0+j)*chw+c*g.H*g.W : (n0+j)*chw+(c+1)*g.H*g.W]
			if !pl.batch {
				dst := buf[j*pl.unitIn+c*plane+g.Pad*pl.wp+g.Pad:]
				for h := 0; h < g.H; h++ {
					copy(dst[h*pl.wp:h*pl.wp+g.W], src[h*g.W:(h+1)*g.W])
				}
				continue
			}
			unit, lane := j/directLanes, j%directLanes
			dst := buf[unit*pl.unitIn+((c*pl.hp+g.Pad)*pl.wp+g.Pad)*directLanes+lane:]
			for h := 0; h < g.H; h++ {
				row := dst[h*pl.wp*directLanes:]
				for x, v := range src[h*g.W : (h+1)*g.W] {
					row[x*directLanes] = v
				}
			}
		}
	}
	units := (cnt + pl.per - 1) / pl.per
	vecs := units * pl.vecs
	n := vecs
	if fill3 {
		n = (vecs + 2) / 3 * 3
	}
	tab := b.directTable(w, 2*n)
	vb, ob = tab[:n], tab[n:]
	for v := 0; v < vecs; v++ {
		u, i := v/pl.vecs, v%pl.vecs
		if pl.batch {
			p, q := i/g.Q, i%g.Q
			vb[v] = u*pl.unitIn + (p*g.Stride*pl.wp+q*g.Stride)*directLanes
			ob[v] = u*pl.unitOut + i*directLanes
			continue
		}
		perRow := g.Q / directLanes
		p, q := i/perRow, i%perRow*directLanes
		vb[v] = u*pl.unitIn + p*pl.wp + q
		ob[v] = u*pl.unitOut + p*g.Q + q
	}
	for v := vecs; v < n; v++ {
		vb[v], ob[v] = vb[vecs-1], ob[vecs-1]
	}
	return vb, ob
}

// directTable returns worker w's vector table with n entries.
func (b *Backend) directTable(w, n int) []int {
	if cap(b.directTabs[w]) < n {
		b.directTabs[w] = make([]int, n)
	}
	return b.directTabs[w][:n]
}

// interleave copies images [n0, n0+cnt) of the [N, K, P·Q] tensor Y into
// dst as units of [K, P·Q, 8] (lanes past cnt zero), or back with
// fromDst.
func interleave(g nn.ConvGeom, Y []float32, n0, cnt int, dst []float32, fromDst bool) {
	kpq := g.K * g.P * g.Q
	if !fromDst {
		clear(dst)
	}
	for j := 0; j < cnt; j++ {
		unit, lane := j/directLanes, j%directLanes
		d := dst[unit*kpq*directLanes+lane:]
		y := Y[(n0+j)*kpq : (n0+j+1)*kpq]
		if fromDst {
			for i := range y {
				y[i] = d[i*directLanes]
			}
		} else {
			for i, v := range y {
				d[i*directLanes] = v
			}
		}
	}
}

func (b *Backend) convForwardDirect(g nn.ConvGeom, X, Wt, Y []float32) {
	pl, _ := directPlanFor(g)
	kblocks := g.K / directMR
	xoff := b.directTaps(pl)
	pq, kpq := g.P*g.Q, g.K*g.P*g.Q
	if b.directPerImage(pl, X, kblocks, true, func(n int, xp []float32, vb, ob []int, lo, hi int) {
		convDirectKernel(xp, Wt, xoff, vb, ob, Y[n*kpq:(n+1)*kpq], pq, lo, hi)
	}) {
		return
	}
	b.directChunks(pl, X, directVecs, true, func(n0, cnt int, xp, out []float32, vb, ob []int) {
		if !pl.batch {
			convDirectKernel(xp, Wt, xoff, vb, ob, Y[n0*kpq:(n0+cnt)*kpq], pq, 0, kblocks)
			return
		}
		convDirectKernel(xp, Wt, xoff, vb, ob, out, pq*directLanes, 0, kblocks)
		interleave(g, Y, n0, cnt, out, true)
	})
}

// convBackwardFilterDirect adds the filter gradient of g's batch to DW,
// summed by chunks as the im2col pass is (see chunkSumDst).
func (b *Backend) convBackwardFilterDirect(g nn.ConvGeom, X, DY, DW []float32) {
	pl, _ := directPlanFor(g)
	xoff := b.directTaps(pl)
	kpq, pq, kblocks := g.K*g.P*g.Q, g.P*g.Q, g.K/8
	if b.directPerImage(pl, X, kblocks, false, func(n int, xp []float32, vb, ob []int, lo, hi int) {
		convDirectFilterKernel(xp, DY[n*kpq:(n+1)*kpq], xoff, vb, ob, DW, pq, true, lo, hi)
	}) {
		return
	}
	nb := pl.chunkImages(directFilterVecs, b.directWorkers(pl))
	chunks := (g.N + nb - 1) / nb
	sums := b.sums((chunks - 1) * len(DW))
	b.directChunks(pl, X, directFilterVecs, false, func(n0, cnt int, xp, dyp []float32, vb, ob []int) {
		dst, beta := chunkSumDst(DW, sums, n0/nb)
		if !pl.batch {
			convDirectFilterKernel(xp, DY[n0*kpq:(n0+cnt)*kpq], xoff, vb, ob, dst, pq, beta != 0, 0, kblocks)
			return
		}
		interleave(g, DY, n0, cnt, dyp, false)
		convDirectFilterKernel(xp, dyp, xoff, vb, ob, dst, pq*directLanes, beta != 0, 0, kblocks)
	})
	b.addChunkSums(DW, sums, chunks)
}

// directPerImage runs a batch smaller than the pool (probes) in the rows
// layout image by image, the workers sharing each image's filter blocks:
// fn(n, xp, vb, ob, lo, hi) for image n's padded input and tables and
// blocks [lo, hi). It reports whether it ran the batch (else the caller
// uses directChunks).
func (b *Backend) directPerImage(pl directPlan, X []float32, kblocks int, fill3 bool, fn func(n int, xp []float32, vb, ob []int, lo, hi int)) bool {
	if pl.batch || pl.g.N >= b.threads {
		return false
	}
	for n := 0; n < pl.g.N; n++ {
		xp := b.buf(0, pl.unitIn)
		vb, ob := b.directInput(pl, 0, X, n, 1, xp, fill3)
		b.pool.split(kblocks, 1, func(_, lo, hi int) { fn(n, xp, vb, ob, lo, hi) })
	}
	return true
}

// directWorkers is how many workers take chunks of pl's batch.
func (b *Backend) directWorkers(pl directPlan) int {
	return min(b.threads, (pl.g.N+pl.per-1)/pl.per)
}

// directChunks has the workers claim chunks of about `target` vectors
// and calls fn(n0, cnt, xp, out, vb, ob) for each: images [n0, n0+cnt)
// padded (see directInput) into the claiming worker's scratch, followed by
// room for the chunk's units of output (out).
func (b *Backend) directChunks(pl directPlan, X []float32, target int, fill3 bool, fn func(n0, cnt int, xp, out []float32, vb, ob []int)) {
	workers := b.directWorkers(pl)
	b.claimChunks(workers, pl.g.N, pl.chunkImages(target, workers), func(w, n0, cnt int) {
		units := (cnt + pl.per - 1) / pl.per
		in := units * pl.unitIn
		buf := b.buf(w, in+units*pl.unitOut)
		vb, ob := b.directInput(pl, w, X, n0, cnt, buf[:in], fill3)
		fn(n0, cnt, buf[:in], buf[in:], vb, ob)
	})
}
