//go:build cgo && amd64

package cpu

/*
#cgo CFLAGS: -O2
#include <immintrin.h>
#include <stdint.h>

static int lethe_have_avx2(void) {
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

__attribute__((target("avx2,fma")))
static double lethe_hsum(__m256d a) {
	__m128d s = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
	return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

// Sums keep four 4-wide float64 accumulators: 16 values a step, and four
// independent chains so the adds' latency overlaps.
__attribute__((target("avx2,fma")))
static double lethe_chan_sum(const float *x, long n, long hw, long stride) {
	__m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
	double tail = 0;
	for (long i = 0; i < n; i++) {
		const float *p = x + i * stride;
		long j = 0;
		for (; j + 16 <= hw; j += 16) {
			__m256 v = _mm256_loadu_ps(p + j), w = _mm256_loadu_ps(p + j + 8);
			a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
			a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
			a2 = _mm256_add_pd(a2, _mm256_cvtps_pd(_mm256_castps256_ps128(w)));
			a3 = _mm256_add_pd(a3, _mm256_cvtps_pd(_mm256_extractf128_ps(w, 1)));
		}
		for (; j < hw; j++) tail += p[j];
	}
	return lethe_hsum(_mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3))) + tail;
}

__attribute__((target("avx2,fma")))
static double lethe_chan_sumsqdev(const float *x, long n, long hw, long stride, double mean) {
	__m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0, m = _mm256_set1_pd(mean);
	double tail = 0;
	for (long i = 0; i < n; i++) {
		const float *p = x + i * stride;
		long j = 0;
		for (; j + 16 <= hw; j += 16) {
			__m256 v = _mm256_loadu_ps(p + j), w = _mm256_loadu_ps(p + j + 8);
			__m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), m);
			__m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), m);
			__m256d d2 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(w)), m);
			__m256d d3 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(w, 1)), m);
			a0 = _mm256_fmadd_pd(d0, d0, a0);
			a1 = _mm256_fmadd_pd(d1, d1, a1);
			a2 = _mm256_fmadd_pd(d2, d2, a2);
			a3 = _mm256_fmadd_pd(d3, d3, a3);
		}
		for (; j < hw; j++) {
			double d = (double)p[j] - mean;
			tail += d * d;
		}
	}
	return lethe_hsum(_mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3))) + tail;
}

__attribute__((target("avx2,fma")))
static void lethe_chan_sums_dydev(const float *dy, const float *x, long n, long hw, long stride, double mean, double *out) {
	__m256d a0 = _mm256_setzero_pd(), a1 = a0, b0 = a0, b1 = a0, m = _mm256_set1_pd(mean);
	double ta = 0, tb = 0;
	for (long i = 0; i < n; i++) {
		const float *d = dy + i * stride, *p = x + i * stride;
		long j = 0;
		for (; j + 8 <= hw; j += 8) {
			__m256 dv = _mm256_loadu_ps(d + j), xv = _mm256_loadu_ps(p + j);
			__m256d d0 = _mm256_cvtps_pd(_mm256_castps256_ps128(dv));
			__m256d d1 = _mm256_cvtps_pd(_mm256_extractf128_ps(dv, 1));
			__m256d x0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(xv)), m);
			__m256d x1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(xv, 1)), m);
			a0 = _mm256_add_pd(a0, d0);
			a1 = _mm256_add_pd(a1, d1);
			b0 = _mm256_fmadd_pd(d0, x0, b0);
			b1 = _mm256_fmadd_pd(d1, x1, b1);
		}
		for (; j < hw; j++) {
			ta += d[j];
			tb += (double)d[j] * ((double)p[j] - mean);
		}
	}
	out[0] = lethe_hsum(_mm256_add_pd(a0, a1)) + ta;
	out[1] = lethe_hsum(_mm256_add_pd(b0, b1)) + tb;
}

__attribute__((target("avx2,fma")))
static void lethe_chan_affine(float *dst, const float *x, long n, long hw, long stride, float scale, float shift) {
	__m256 s = _mm256_set1_ps(scale), t = _mm256_set1_ps(shift);
	for (long i = 0; i < n; i++) {
		float *d = dst + i * stride;
		const float *p = x + i * stride;
		long j = 0;
		for (; j + 8 <= hw; j += 8)
			_mm256_storeu_ps(d + j, _mm256_fmadd_ps(_mm256_loadu_ps(p + j), s, t));
		for (; j < hw; j++) d[j] = __builtin_fmaf(p[j], scale, shift);
	}
}

__attribute__((target("avx2,fma")))
static void lethe_chan_bn_backward(float *dx, const float *dy, const float *x, long n, long hw, long stride,
                                   float k, float mdy, float coef, float mean) {
	__m256 kv = _mm256_set1_ps(k), mv = _mm256_set1_ps(mdy), cv = _mm256_set1_ps(coef), mn = _mm256_set1_ps(mean);
	for (long i = 0; i < n; i++) {
		float *o = dx + i * stride;
		const float *d = dy + i * stride, *p = x + i * stride;
		long j = 0;
		for (; j + 8 <= hw; j += 8) {
			__m256 xm = _mm256_sub_ps(_mm256_loadu_ps(p + j), mn);
			__m256 r = _mm256_fnmadd_ps(xm, cv, _mm256_sub_ps(_mm256_loadu_ps(d + j), mv));
			_mm256_storeu_ps(o + j, _mm256_mul_ps(kv, r));
		}
		for (; j < hw; j++) o[j] = k * __builtin_fmaf(-(p[j] - mean), coef, d[j] - mdy);
	}
}

// ReLU keeps x where x > 0 or x is NaN ("not less or equal", unordered
// true), else +0: Go's max(x, 0), -0 included.
__attribute__((target("avx2,fma")))
static void lethe_relu(const float *x, float *y, long n) {
	__m256 z = _mm256_setzero_ps();
	long i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_loadu_ps(x + i);
		_mm256_storeu_ps(y + i, _mm256_and_ps(v, _mm256_cmp_ps(v, z, _CMP_NLE_UQ)));
	}
	for (; i < n; i++) y[i] = x[i] > 0 || x[i] != x[i] ? x[i] : 0;
}

__attribute__((target("avx2,fma")))
static void lethe_relu_backward(const float *y, const float *dy, float *dx, long n) {
	__m256 z = _mm256_setzero_ps();
	long i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 m = _mm256_cmp_ps(_mm256_loadu_ps(y + i), z, _CMP_GT_OQ);
		_mm256_storeu_ps(dx + i, _mm256_and_ps(m, _mm256_loadu_ps(dy + i)));
	}
	for (; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
}

__attribute__((target("avx2,fma")))
static void lethe_add(float *d, const float *a, const float *b, long n) {
	long i = 0;
	for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
	for (; i < n; i++) d[i] = a[i] + b[i];
}

// No fused multiply-adds (fp-contract=off): the same roundings as the Go
// kernel, which SGDStep's generic loop shares.
__attribute__((target("avx2,fma"), optimize("fp-contract=off")))
static void lethe_sgd_momentum(float *p, const float *g, float *m, long n, float lr, float mom, float damp, float wd) {
	float keep = 1 - damp;
	__m256 lrv = _mm256_set1_ps(lr), mv = _mm256_set1_ps(mom), kv = _mm256_set1_ps(keep), wv = _mm256_set1_ps(wd);
	long i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 pv = _mm256_loadu_ps(p + i);
		__m256 d = _mm256_add_ps(_mm256_loadu_ps(g + i), _mm256_mul_ps(wv, pv));
		__m256 mi = _mm256_add_ps(_mm256_mul_ps(mv, _mm256_loadu_ps(m + i)), _mm256_mul_ps(kv, d));
		_mm256_storeu_ps(m + i, mi);
		_mm256_storeu_ps(p + i, _mm256_sub_ps(pv, _mm256_mul_ps(lrv, mi)));
	}
	for (; i < n; i++) {
		float d = g[i] + wd * p[i];
		float mi = mom * m[i] + keep * d;
		m[i] = mi;
		p[i] = p[i] - lr * mi;
	}
}

// Direct stride-1 convolution (see direct.go). One tile is 4 output
// channels by 3 vectors of 8 output positions (12 accumulators, 3 input
// loads and 4 broadcasts per filter tap). xoff[t] is tap t's offset into
// the padded input, vb/ob each vector's offset into the padded input and
// the output, w the filters as [K][taps] (a tile broadcasts its channels'
// weights of one tap from rows taps apart: packing them side by side cost
// more than it saved, measured).
__attribute__((target("avx2,fma")))
static void lethe_direct_tile(const float *xp, const float *w, const long *xoff, long taps,
                              const long *vb, const long *ob, float *y, long pq) {
	__m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
	__m256 a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
	const float *x0 = xp + vb[0], *x1 = xp + vb[1], *x2 = xp + vb[2];
	for (long t = 0; t < taps; t++) {
		long o = xoff[t];
		__m256 v0 = _mm256_loadu_ps(x0 + o), v1 = _mm256_loadu_ps(x1 + o), v2 = _mm256_loadu_ps(x2 + o);
		__m256 b = _mm256_broadcast_ss(w + 0 * taps);
		a00 = _mm256_fmadd_ps(b, v0, a00); a01 = _mm256_fmadd_ps(b, v1, a01); a02 = _mm256_fmadd_ps(b, v2, a02);
		b = _mm256_broadcast_ss(w + 1 * taps);
		a10 = _mm256_fmadd_ps(b, v0, a10); a11 = _mm256_fmadd_ps(b, v1, a11); a12 = _mm256_fmadd_ps(b, v2, a12);
		b = _mm256_broadcast_ss(w + 2 * taps);
		a20 = _mm256_fmadd_ps(b, v0, a20); a21 = _mm256_fmadd_ps(b, v1, a21); a22 = _mm256_fmadd_ps(b, v2, a22);
		b = _mm256_broadcast_ss(w + 3 * taps);
		a30 = _mm256_fmadd_ps(b, v0, a30); a31 = _mm256_fmadd_ps(b, v1, a31); a32 = _mm256_fmadd_ps(b, v2, a32);
		w++;
	}
	_mm256_storeu_ps(y + ob[0], a00); _mm256_storeu_ps(y + ob[1], a01); _mm256_storeu_ps(y + ob[2], a02);
	y += pq;
	_mm256_storeu_ps(y + ob[0], a10); _mm256_storeu_ps(y + ob[1], a11); _mm256_storeu_ps(y + ob[2], a12);
	y += pq;
	_mm256_storeu_ps(y + ob[0], a20); _mm256_storeu_ps(y + ob[1], a21); _mm256_storeu_ps(y + ob[2], a22);
	y += pq;
	_mm256_storeu_ps(y + ob[0], a30); _mm256_storeu_ps(y + ob[1], a31); _mm256_storeu_ps(y + ob[2], a32);
}

__attribute__((target("avx2,fma")))
static void lethe_conv_direct(const float *xp, const float *w, const long *xoff, long taps,
                              const long *vb, const long *ob, long nvec, float *y, long pq, long kb0, long kb1) {
	for (long kb = kb0; kb < kb1; kb++)
		for (long v = 0; v < nvec; v += 3)
			lethe_direct_tile(xp, w + kb * taps * 4, xoff, taps, vb + v, ob + v, y + kb * 4 * pq, pq);
}

// The same with AVX-512VL's 32 vector registers: 8 output channels by 3
// vectors (24 accumulators, 3 loads and 8 broadcasts per tap).
__attribute__((target("avx2,fma,avx512f,avx512vl")))
static void lethe_direct_tile8(const float *xp, const float *w, const long *xoff, long taps,
                               const long *vb, const long *ob, float *y, long pq) {
	__m256 a[8][3];
	for (int m = 0; m < 8; m++) a[m][0] = a[m][1] = a[m][2] = _mm256_setzero_ps();
	const float *x0 = xp + vb[0], *x1 = xp + vb[1], *x2 = xp + vb[2];
	for (long t = 0; t < taps; t++) {
		long o = xoff[t];
		__m256 v0 = _mm256_loadu_ps(x0 + o), v1 = _mm256_loadu_ps(x1 + o), v2 = _mm256_loadu_ps(x2 + o);
#pragma GCC unroll 8
		for (int m = 0; m < 8; m++) {
			__m256 b = _mm256_broadcast_ss(w + m * taps);
			a[m][0] = _mm256_fmadd_ps(b, v0, a[m][0]);
			a[m][1] = _mm256_fmadd_ps(b, v1, a[m][1]);
			a[m][2] = _mm256_fmadd_ps(b, v2, a[m][2]);
		}
		w++;
	}
#pragma GCC unroll 8
	for (int m = 0; m < 8; m++) {
		_mm256_storeu_ps(y + ob[0], a[m][0]); _mm256_storeu_ps(y + ob[1], a[m][1]); _mm256_storeu_ps(y + ob[2], a[m][2]);
		y += pq;
	}
}

__attribute__((target("avx2,fma,avx512f,avx512vl")))
static void lethe_conv_direct8(const float *xp, const float *w, const long *xoff, long taps,
                               const long *vb, const long *ob, long nvec, float *y, long pq, long kb0, long kb1) {
	for (long kb = kb0; kb < kb1; kb++)
		for (long v = 0; v < nvec; v += 3)
			lethe_direct_tile8(xp, w + kb * taps * 8, xoff, taps, vb + v, ob + v, y + kb * 8 * pq, pq);
}

static int lethe_have_avx512vl(void) {
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
}

// Direct backward filter (see direct.go): dw[k][t] (+)= Σ_v dy[ob[v] +
// k·pq ..+8] · xp[vb[v] + xoff[t] ..+8] for 8 output channels by 3 taps at
// a time (24 accumulators of 8 lanes, summed across lanes at the end).
// With acc the sums are added to dw, else they replace it.
__attribute__((target("avx2,fma,avx512f,avx512vl")))
static void lethe_direct_bwdf8(const float *xp, const float *dy, const long *xoff, long taps,
                               const long *vb, const long *ob, long nvec, float *dw, long pq, long acc,
                               long kb0, long kb1) {
	for (long kb = kb0; kb < kb1; kb++) {
		const float *d = dy + kb * 8 * pq;
		for (long t = 0; t < taps; t += 3) {
			__m256 a[8][3];
			for (int m = 0; m < 8; m++) a[m][0] = a[m][1] = a[m][2] = _mm256_setzero_ps();
			long o0 = xoff[t], o1 = xoff[t + 1], o2 = xoff[t + 2];
			for (long v = 0; v < nvec; v++) {
				const float *xv = xp + vb[v], *dv = d + ob[v];
				__m256 x0 = _mm256_loadu_ps(xv + o0), x1 = _mm256_loadu_ps(xv + o1), x2 = _mm256_loadu_ps(xv + o2);
#pragma GCC unroll 8
				for (int m = 0; m < 8; m++) {
					__m256 g = _mm256_loadu_ps(dv + m * pq);
					a[m][0] = _mm256_fmadd_ps(g, x0, a[m][0]);
					a[m][1] = _mm256_fmadd_ps(g, x1, a[m][1]);
					a[m][2] = _mm256_fmadd_ps(g, x2, a[m][2]);
				}
			}
			// Lane sums of the 8 channels' accumulators of each tap, by a
			// tree of horizontal adds: r[m] = Σ lanes of a[m][j].
			for (int j = 0; j < 3; j++) {
				__m256 t0 = _mm256_hadd_ps(a[0][j], a[1][j]), t1 = _mm256_hadd_ps(a[2][j], a[3][j]);
				__m256 t2 = _mm256_hadd_ps(a[4][j], a[5][j]), t3 = _mm256_hadd_ps(a[6][j], a[7][j]);
				__m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
				__m256 r = _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
				float sum[8];
				_mm256_storeu_ps(sum, r);
				float *o = dw + kb * 8 * taps + t + j;
				for (int m = 0; m < 8; m++) o[m * taps] = acc ? o[m * taps] + sum[m] : sum[m];
			}
		}
	}
}
*/
import "C"

import "unsafe"

// init switches the kernels to AVX2 when the CPU has AVX2 and FMA, and
// the direct convolutions to 8-channel tiles and a direct backward filter
// when it also has AVX-512VL (whose 32 vector registers those need; the
// vectors stay 256 bits wide). Measured on the 2-core Zen 4 VM (BenchmarkBatchNorm, 32x64x1024, both
// cores): batch-norm forward 2.15 → 0.66 ms, backward 2.61 → 1.26 ms (Go's
// compiler does not vectorise); training steps, median of paired runs
// against the Go kernels, ResNet-18 +4.5%, SmallCNN +10.6%.
func init() {
	if C.lethe_have_avx2() == 0 {
		return
	}
	haveAVX2 = true
	chanSum, chanSumSqDev, chanSumsDyDev = chanSumAVX2, chanSumSqDevAVX2, chanSumsDyDevAVX2
	chanAffine, chanBNBackward = chanAffineAVX2, chanBNBackwardAVX2
	relu, reluBackward, add = reluAVX2, reluBackwardAVX2, addAVX2
	sgdMomentum = sgdMomentumAVX2
	convDirectKernel = convDirectAVX2
	if C.lethe_have_avx512vl() != 0 {
		directMR = 8
		convDirectFilterKernel = convDirectFilterAVX512
	}
}

func fp(s []float32) *C.float { return (*C.float)(unsafe.Pointer(unsafe.SliceData(s))) }

// span checks that a channel's n planes fit in s (the C side does not).
func span(s []float32, n, hw, stride int) []float32 {
	if n == 0 || hw == 0 {
		return nil
	}
	return s[:(n-1)*stride+hw]
}

func chanSumAVX2(x []float32, n, hw, stride int) float64 {
	x = span(x, n, hw, stride)
	return float64(C.lethe_chan_sum(fp(x), C.long(n), C.long(hw), C.long(stride)))
}

func chanSumSqDevAVX2(x []float32, n, hw, stride int, mean float64) float64 {
	x = span(x, n, hw, stride)
	return float64(C.lethe_chan_sumsqdev(fp(x), C.long(n), C.long(hw), C.long(stride), C.double(mean)))
}

func chanSumsDyDevAVX2(dy, x []float32, n, hw, stride int, mean float64) (float64, float64) {
	dy, x = span(dy, n, hw, stride), span(x, n, hw, stride)
	var out [2]C.double
	C.lethe_chan_sums_dydev(fp(dy), fp(x), C.long(n), C.long(hw), C.long(stride), C.double(mean), &out[0])
	return float64(out[0]), float64(out[1])
}

func chanAffineAVX2(dst, x []float32, n, hw, stride int, scale, shift float32) {
	dst, x = span(dst, n, hw, stride), span(x, n, hw, stride)
	C.lethe_chan_affine(fp(dst), fp(x), C.long(n), C.long(hw), C.long(stride), C.float(scale), C.float(shift))
}

func chanBNBackwardAVX2(dx, dy, x []float32, n, hw, stride int, k, mdy, coef, mean float32) {
	dx, dy, x = span(dx, n, hw, stride), span(dy, n, hw, stride), span(x, n, hw, stride)
	C.lethe_chan_bn_backward(fp(dx), fp(dy), fp(x), C.long(n), C.long(hw), C.long(stride), C.float(k), C.float(mdy), C.float(coef), C.float(mean))
}

func reluAVX2(x, y []float32) {
	y = y[:len(x)]
	C.lethe_relu(fp(x), fp(y), C.long(len(x)))
}

func reluBackwardAVX2(y, dy, dx []float32) {
	dy, dx = dy[:len(y)], dx[:len(y)]
	C.lethe_relu_backward(fp(y), fp(dy), fp(dx), C.long(len(y)))
}

func addAVX2(d, a, b []float32) {
	a, b = a[:len(d)], b[:len(d)]
	C.lethe_add(fp(d), fp(a), fp(b), C.long(len(d)))
}

func sgdMomentumAVX2(p, g, m []float32, lr, mom, damp, wd float32) {
	g, m = g[:len(p)], m[:len(p)]
	C.lethe_sgd_momentum(fp(p), fp(g), fp(m), C.long(len(p)), C.float(lr), C.float(mom), C.float(damp), C.float(wd))
}

func convDirectAVX2(xp, w []float32, xoff, vb, ob []int, y []float32, pq, kb0, kb1 int) {
	mr := directMR
	if len(vb)%3 != 0 || len(w) < kb1*len(xoff)*mr {
		panic("cpu: convDirectAVX2: inconsistent tables")
	}
	if !directSpansFit("convDirectAVX2", xp, xoff, vb, ob, y, pq, kb0, kb1, mr) {
		return
	}
	if mr == 8 {
		C.lethe_conv_direct8(fp(xp), fp(w), lp(xoff), C.long(len(xoff)), lp(vb), lp(ob), C.long(len(vb)), fp(y), C.long(pq), C.long(kb0), C.long(kb1))
	} else {
		C.lethe_conv_direct(fp(xp), fp(w), lp(xoff), C.long(len(xoff)), lp(vb), lp(ob), C.long(len(vb)), fp(y), C.long(pq), C.long(kb0), C.long(kb1))
	}
}

func convDirectFilterAVX512(xp, dy []float32, xoff, vb, ob []int, dw []float32, pq int, acc bool, kb0, kb1 int) {
	if len(xoff)%3 != 0 || len(dw) < kb1*8*len(xoff) {
		panic("cpu: convDirectFilterAVX512: inconsistent tables")
	}
	if !directSpansFit("convDirectFilterAVX512", xp, xoff, vb, ob, dy, pq, kb0, kb1, 8) {
		return
	}
	a := C.long(0)
	if acc {
		a = 1
	}
	C.lethe_direct_bwdf8(fp(xp), fp(dy), lp(xoff), C.long(len(xoff)), lp(vb), lp(ob), C.long(len(vb)), fp(dw), C.long(pq), a, C.long(kb0), C.long(kb1))
}

// directSpansFit checks a direct kernel's tables against its slices, as
// the C side does not: every input vector (vb + xoff, 8 values) must lie in
// xp and every output vector of filter blocks [kb0, kb1) of mr channels
// (ob + c·pq) in out. It panics, naming op, on tables that break that, and
// reports whether there is any work.
func directSpansFit(op string, xp []float32, xoff, vb, ob []int, out []float32, pq, kb0, kb1, mr int) bool {
	if len(ob) != len(vb) || kb0 < 0 || kb1 < kb0 {
		panic("cpu: " + op + ": inconsistent tables")
	}
	if kb1 == kb0 || len(xoff) == 0 || len(vb) == 0 {
		return false
	}
	if minInt(vb) < 0 || minInt(xoff) < 0 || minInt(ob) < 0 || maxInt(vb)+maxInt(xoff)+8 > len(xp) || maxInt(ob)+(kb1*mr-1)*pq+8 > len(out) {
		panic("cpu: " + op + ": a vector falls outside its slice")
	}
	return true
}

func maxInt(s []int) int {
	m := s[0]
	for _, v := range s[1:] {
		m = max(m, v)
	}
	return m
}

func minInt(s []int) int {
	m := s[0]
	for _, v := range s[1:] {
		m = min(m, v)
	}
	return m
}

// lp passes an []int table to C as long* (both 64 bits on amd64).
func lp(s []int) *C.long { return (*C.long)(unsafe.Pointer(unsafe.SliceData(s))) }
