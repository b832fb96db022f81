package cpu

import "lethe/nn"

// Direct convolution: stride-1 forward passes (and so the flipped-filter
// backward-data passes) without im2col. Each output vector of 8 positions
// in a row is, for every filter tap (c, r, s), 8 consecutive values of a
// zero-padded copy of the input, so a kernel can multiply-add them
// straight from that copy: the input is copied once (padded) instead of
// R·S times, and nothing is packed or scattered. The kernel (AVX2, see
// kernels_avx2.go) keeps a tile of 4 output channels by 3 vectors in
// registers.
//
// Measured on the 2-core Zen 4 VM, one thread, ResNet-18's 3x3 layers at
// batch 32 (best of five): the kernel alone ran at 95-100 GFLOP/s against
// 75-82 for im2col and OpenBLAS.

// convDirectKernel runs the tiles of a chunk for filter blocks [kb0, kb1)
// (see lethe_conv_direct). Nil without the AVX2 kernels.
var convDirectKernel func(xp, wp []float32, xoff, vb, ob []int, y []float32, kpq, kb0, kb1 int)

// convDirectFilterKernel adds (acc) or writes a chunk's filter gradient
// for filter blocks [kb0, kb1) of 8 channels (see lethe_direct_bwdf8).
// Nil without the AVX-512VL kernels.
var convDirectFilterKernel func(xp, dy []float32, xoff, vb, ob []int, dw []float32, pq int, acc bool, kb0, kb1 int)

// directMR is how many output channels a kernel tile holds: 4 with
// AVX2's 16 vector registers, 8 with AVX-512VL's 32.
var directMR = 4

// useDirectConv lets tests run the im2col path where the direct one
// applies.
var useDirectConv = true

// directVecsPerChunk is how many output vectors a chunk aims for: a
// chunk's last tile repeats its last vector to fill its 3, so small
// planes (8x8: 8 vectors) are grouped by several images.
const directVecsPerChunk = 24

// isDirectConv reports whether the direct kernel runs g's forward pass.
func isDirectConv(g nn.ConvGeom) bool {
	return convDirectKernel != nil && useDirectConv && g.Stride == 1 && g.R*g.S > 1 && g.Q%8 == 0 && g.K%directMR == 0
}

// isDirectFilter reports whether the direct kernel runs g's
// backward-filter pass.
func isDirectFilter(g nn.ConvGeom) bool {
	return convDirectFilterKernel != nil && useDirectConv && g.Stride == 1 && g.R*g.S > 1 && g.Q%8 == 0 && g.K%8 == 0 && g.C*g.R*g.S%3 == 0
}

// directFilterVecs is how many output vectors a backward-filter chunk aims
// for: each tile's 24 sums are reduced across lanes once per chunk.
const directFilterVecs = 128

// directChunk is how many images a direct chunk holds.
func directChunk(g nn.ConvGeom) int {
	vecs := g.P * g.Q / 8
	return max(1, (directVecsPerChunk+vecs-1)/vecs)
}

func (b *Backend) convForwardDirect(g nn.ConvGeom, X, Wt, Y []float32) {
	taps := g.C * g.R * g.S
	mr := directMR
	kblocks := g.K / mr

	// Filters packed as [K/mr][taps][mr]: a tile reads its channels'
	// weights for one tap side by side.
	if cap(b.packed) < len(Wt) {
		b.packed = make([]float32, len(Wt))
	}
	packed := b.packed[:len(Wt)]
	b.pool.split(kblocks, 8, func(_, lo, hi int) {
		for kb := lo; kb < hi; kb++ {
			dst := packed[kb*taps*mr : (kb+1)*taps*mr]
			for m := 0; m < mr; m++ {
				src := Wt[(kb*mr+m)*taps : (kb*mr+m+1)*taps]
				for t, v := range src {
					dst[t*mr+m] = v
				}
			}
		}
	})
	xoff := b.directTaps(g)
	kpq := g.K * g.P * g.Q
	outer := b.imageWorkers(g)
	if outer < b.threads {
		// Fewer images than workers (probes): the workers share each
		// image's filter blocks.
		for n := 0; n < g.N; n++ {
			xp, vb, ob := b.directInput(g, 0, X, n, 1, true)
			y := Y[n*kpq : (n+1)*kpq]
			b.pool.split(kblocks, 1, func(_, lo, hi int) {
				convDirectKernel(xp, packed, xoff, vb, ob, y, g.P*g.Q, lo, hi)
			})
		}
		return
	}
	nb := min(directChunk(g), (g.N+outer-1)/outer)
	b.claimChunks(outer, g.N, nb, func(w, n0, cnt int) {
		xp, vb, ob := b.directInput(g, w, X, n0, cnt, true)
		convDirectKernel(xp, packed, xoff, vb, ob, Y[n0*kpq:(n0+cnt)*kpq], g.P*g.Q, 0, kblocks)
	})
}

// directTaps returns each filter tap's offset into a padded image, in
// the order of a filter's [C, R, S] values.
func (b *Backend) directTaps(g nn.ConvGeom) []int {
	taps, wp := g.C*g.R*g.S, g.W+2*g.Pad
	plane := (g.H + 2*g.Pad) * wp
	if cap(b.xoff) < taps {
		b.xoff = make([]int, taps)
	}
	xoff := b.xoff[:taps]
	for c := 0; c < g.C; c++ {
		for r := 0; r < g.R; r++ {
			for s := 0; s < g.S; s++ {
				xoff[(c*g.R+r)*g.S+s] = c*plane + r*wp + s
			}
		}
	}
	return xoff
}

// directInput copies images [n0, n0+cnt) of X, zero-padded, into worker
// w's scratch and returns it with each output vector's offset into it
// (vb) and into the chunk's [cnt, K, P, Q] output or output gradient
// (ob). With fill3 the vectors are padded to a multiple of 3 by
// repeating the last one (the forward kernel's tiles; the values are
// computed and stored again).
func (b *Backend) directInput(g nn.ConvGeom, w int, X []float32, n0, cnt int, fill3 bool) (xp []float32, vb, ob []int) {
	hp, wp := g.H+2*g.Pad, g.W+2*g.Pad
	plane, chw, kpq := hp*wp, g.C*g.H*g.W, g.K*g.P*g.Q
	img := g.C * plane
	xp = b.buf(w, cnt*img)
	clear(xp)
	for j := 0; j < cnt; j++ {
		for c := 0; c < g.C; c++ {
			src := X[(n0+j)*chw+c*g.H*g.W:]
			dst := xp[j*img+c*plane+g.Pad*wp+g.Pad:]
			for h := 0; h < g.H; h++ {
				copy(dst[h*wp:h*wp+g.W], src[h*g.W:(h+1)*g.W])
			}
		}
	}
	vecs := cnt * g.P * g.Q / 8
	n := vecs
	if fill3 {
		n = (vecs + 2) / 3 * 3
	}
	tab := b.directTable(w, 2*n)
	vb, ob = tab[:n], tab[n:]
	perRow := g.Q / 8
	for v := 0; v < vecs; v++ {
		j, i := v/(g.P*perRow), v%(g.P*perRow)
		p, q := i/perRow, i%perRow*8
		vb[v] = j*img + p*wp + q
		ob[v] = j*kpq + p*g.Q + q
	}
	for v := vecs; v < n; v++ {
		vb[v], ob[v] = vb[vecs-1], ob[vecs-1]
	}
	return xp, vb, ob
}

// directTable returns worker w's vector table with n entries.
func (b *Backend) directTable(w, n int) []int {
	if cap(b.directTabs[w]) < n {
		b.directTabs[w] = make([]int, n)
	}
	return b.directTabs[w][:n]
}

// convBackwardFilterDirect adds the filter gradient of g's batch to DW.
// As in the im2col pass, chunk 0 adds into DW and every other chunk writes
// its own buffer, added in chunk order, so the result does not depend on
// which worker took which chunk.
func (b *Backend) convBackwardFilterDirect(g nn.ConvGeom, X, DY, DW []float32) {
	xoff := b.directTaps(g)
	kpq, pq, kblocks := g.K*g.P*g.Q, g.P*g.Q, g.K/8
	outer := b.imageWorkers(g)
	if outer < b.threads {
		for n := 0; n < g.N; n++ {
			xp, vb, ob := b.directInput(g, 0, X, n, 1, false)
			dy := DY[n*kpq : (n+1)*kpq]
			b.pool.split(kblocks, 1, func(_, lo, hi int) {
				convDirectFilterKernel(xp, dy, xoff, vb, ob, DW, pq, true, lo, hi)
			})
		}
		return
	}
	vecs := pq / 8
	nb := min(max(1, (directFilterVecs+vecs-1)/vecs), (g.N+outer-1)/outer)
	chunks := (g.N + nb - 1) / nb
	sums := b.sums((chunks - 1) * len(DW))
	b.claimChunks(outer, g.N, nb, func(w, n0, cnt int) {
		dst, acc := DW, true
		if c := n0 / nb; c > 0 {
			dst, acc = sums[(c-1)*len(DW):c*len(DW)], false
		}
		xp, vb, ob := b.directInput(g, w, X, n0, cnt, false)
		convDirectFilterKernel(xp, DY[n0*kpq:(n0+cnt)*kpq], xoff, vb, ob, dst, pq, acc, 0, kblocks)
	})
	b.addChunkSums(DW, sums, chunks)
}
