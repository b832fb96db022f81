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

// directChunk is how many images a direct chunk holds.
func directChunk(g nn.ConvGeom) int {
	vecs := g.P * g.Q / 8
	return max(1, (directVecsPerChunk+vecs-1)/vecs)
}

func (b *Backend) convForwardDirect(g nn.ConvGeom, X, Wt, Y []float32) {
	taps, kpq, chw := g.C*g.R*g.S, g.K*g.P*g.Q, g.C*g.H*g.W
	hp, wp := g.H+2*g.Pad, g.W+2*g.Pad
	plane := hp * wp
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

	// chunk pads cnt images from n0 into worker w's scratch and lays out
	// their vectors; run then covers filter blocks [kb0, kb1).
	chunk := func(w, n0, cnt int) (xp []float32, vb, ob []int) {
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
		padded := (vecs + 2) / 3 * 3
		tab := b.directTable(w, 2*padded)
		vb, ob = tab[:padded], tab[padded:]
		perRow := g.Q / 8
		for v := 0; v < vecs; v++ {
			j, i := v/(g.P*perRow), v%(g.P*perRow)
			p, q := i/perRow, i%perRow*8
			vb[v] = j*img + p*wp + q
			ob[v] = j*kpq + p*g.Q + q
		}
		// The last tile repeats the last vector: the same values
		// computed and stored again.
		for v := vecs; v < padded; v++ {
			vb[v], ob[v] = vb[vecs-1], ob[vecs-1]
		}
		return xp, vb, ob
	}
	outer := b.imageWorkers(g)
	if outer < b.threads {
		// Fewer images than workers (probes): the workers share each
		// image's filter blocks.
		for n := 0; n < g.N; n++ {
			xp, vb, ob := chunk(0, n, 1)
			y := Y[n*kpq : (n+1)*kpq]
			b.pool.split(kblocks, 1, func(_, lo, hi int) {
				convDirectKernel(xp, packed, xoff, vb, ob, y, g.P*g.Q, lo, hi)
			})
		}
		return
	}
	nb := min(directChunk(g), (g.N+outer-1)/outer)
	b.claimChunks(outer, g.N, nb, func(w, n0, cnt int) {
		xp, vb, ob := chunk(w, n0, cnt)
		convDirectKernel(xp, packed, xoff, vb, ob, Y[n0*kpq:(n0+cnt)*kpq], g.P*g.Q, 0, kblocks)
	})
}

// directTable returns worker w's vector table with n entries.
func (b *Backend) directTable(w, n int) []int {
	if cap(b.directTabs[w]) < n {
		b.directTabs[w] = make([]int, n)
	}
	return b.directTabs[w][:n]
}
