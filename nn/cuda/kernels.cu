// Lethe's CUDA kernels. They are compiled at run time by NVRTC for the
// device's compute capability (see nvrtc.go) and, in the tests, by a host
// C++ compiler against emulator/shim.h, which runs them on the CPU.
//
// Rules that keep both compilers and the Go launcher happy:
//   - every kernel is `extern "C" __global__ void name(args)` on one line,
//     with parameters of type float*, const float*, int*, const int*,
//     double*, const double*, int or float only (kernelsig.go parses them
//     and checks every launch against the signature);
//   - blocks have at most 256 threads, a power of two when the kernel
//     reduces in shared memory; reductions use only __syncthreads (no warp
//     shuffles), in a fixed order, so results are deterministic;
//   - no headers, no fast-math intrinsics: results must agree with the CPU
//     backend to a few ulps.

#define MAX_THREADS 256
#define GRID_STRIDE(i, n) for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += blockDim.x * gridDim.x)

__device__ __forceinline__ bool is_finite_f(float x) {
    return (__float_as_uint(x) & 0x7f800000u) != 0x7f800000u;
}

__device__ __forceinline__ float nan_f() { return __uint_as_float(0x7fc00000u); }
__device__ __forceinline__ float neg_inf_f() { return __uint_as_float(0xff800000u); }

// block_sum_d returns the sum of v over the block (blockDim.x a power of
// two, at most MAX_THREADS) to every thread.
__device__ double block_sum_d(double v, double* sh) {
    int t = threadIdx.x;
    sh[t] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) sh[t] += sh[t + s];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads();
    return r;
}

__device__ float block_max_f(float v, float* sh) {
    int t = threadIdx.x;
    sh[t] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) {
            float o = sh[t + s];
            // NaN wins, as in PyTorch's max reductions.
            if (o > sh[t] || o != o) sh[t] = o;
        }
        __syncthreads();
    }
    float r = sh[0];
    __syncthreads();
    return r;
}

// ---- element-wise ---------------------------------------------------------

extern "C" __global__ void relu_fwd(const float* x, float* y, int n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        y[i] = v < 0.0f ? 0.0f : v;
    }
}

extern "C" __global__ void relu_bwd(const float* y, const float* dy, float* dx, int n) {
    GRID_STRIDE(i, n) { dx[i] = y[i] > 0.0f ? dy[i] : 0.0f; }
}

extern "C" __global__ void add_vec(float* dst, const float* a, const float* b, int n) {
    GRID_STRIDE(i, n) { dst[i] = a[i] + b[i]; }
}

extern "C" __global__ void axpy_vec(float alpha, const float* x, float* y, int n) {
    GRID_STRIDE(i, n) { y[i] += alpha * x[i]; }
}

extern "C" __global__ void scale_vec(float* x, float alpha, int n) {
    GRID_STRIDE(i, n) { x[i] *= alpha; }
}

extern "C" __global__ void mul_vec(float* dst, const float* a, const float* b, int n) {
    GRID_STRIDE(i, n) { dst[i] = a[i] * b[i]; }
}

extern "C" __global__ void add_squared(float* acc, const float* x, float alpha, int n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        acc[i] += alpha * v * v;
    }
}

extern "C" __global__ void add_diag(float* x, int n, float v) {
    GRID_STRIDE(i, n) { x[(long long)i * n + i] += v; }
}

extern "C" __global__ void selective_dampen(float* w, const float* impF, const float* impD, float alpha, float lambda, int n) {
    GRID_STRIDE(i, n) {
        float f = impF[i], d = impD[i];
        if (f > alpha * d) {
            float beta = lambda * d / f;
            if (beta < 1.0f) w[i] *= beta;
        }
    }
}

// ---- reductions to one value ----------------------------------------------
// Each block writes one partial; a single block then adds the partials in
// order, so the result does not depend on scheduling.

extern "C" __global__ void dot_partial(const float* x, const float* y, int n, double* partial) {
    __shared__ double sh[MAX_THREADS];
    double s = 0.0;
    GRID_STRIDE(i, n) { s += (double)x[i] * (double)y[i]; }
    s = block_sum_d(s, sh);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

extern "C" __global__ void nonfinite_partial(const float* x, int n, double* partial) {
    __shared__ double sh[MAX_THREADS];
    double c = 0.0;
    GRID_STRIDE(i, n) {
        if (!is_finite_f(x[i])) c += 1.0;
    }
    c = block_sum_d(c, sh);
    if (threadIdx.x == 0) partial[blockIdx.x] = c;
}

extern "C" __global__ void sum_partials(const double* partial, int m, double* out) {
    __shared__ double sh[MAX_THREADS];
    double s = 0.0;
    for (int i = threadIdx.x; i < m; i += blockDim.x) s += partial[i];
    s = block_sum_d(s, sh);
    if (threadIdx.x == 0) out[0] = s;
}

// ---- per-channel ops on [n, c, hw] ----------------------------------------

extern "C" __global__ void channel_bias(float* y, const float* bias, int c, int hw, int total) {
    GRID_STRIDE(i, total) { y[i] += bias[(i / hw) % c]; }
}

// channel_partial: grid (c, splits). Block (ch, s) sums dy over the images
// [s*n/splits, (s+1)*n/splits) of channel ch into partial[ch*splits+s].
extern "C" __global__ void channel_sum_partial(const float* dy, int n, int c, int hw, int splits, double* partial) {
    __shared__ double sh[MAX_THREADS];
    int ch = blockIdx.x, s = blockIdx.y;
    int n0 = (int)((long long)s * n / splits), n1 = (int)((long long)(s + 1) * n / splits);
    int count = (n1 - n0) * hw;
    double acc = 0.0;
    for (int j = threadIdx.x; j < count; j += blockDim.x) {
        int img = n0 + j / hw, pos = j % hw;
        acc += (double)dy[((long long)img * c + ch) * hw + pos];
    }
    acc = block_sum_d(acc, sh);
    if (threadIdx.x == 0) partial[ch * splits + s] = acc;
}

// channel_sum_finish: db[ch] += Σ_s partial[ch*splits+s]. One thread per channel.
extern "C" __global__ void channel_sum_finish(const double* partial, int c, int splits, float* db) {
    GRID_STRIDE(ch, c) {
        double s = 0.0;
        for (int k = 0; k < splits; k++) s += partial[ch * splits + k];
        db[ch] = (float)((double)db[ch] + s);
    }
}

// channel_max / channel_mean: one block per (image, channel) plane.
extern "C" __global__ void channel_max(const float* x, int hw, float* out) {
    __shared__ float sh[MAX_THREADS];
    const float* p = x + (long long)blockIdx.x * hw;
    float m = neg_inf_f();
    for (int j = threadIdx.x; j < hw; j += blockDim.x) {
        float v = p[j];
        if (v > m || v != v) m = v;
    }
    m = block_max_f(m, sh);
    if (threadIdx.x == 0) out[blockIdx.x] = m;
}

extern "C" __global__ void channel_mean(const float* x, int hw, float* out) {
    __shared__ double sh[MAX_THREADS];
    const float* p = x + (long long)blockIdx.x * hw;
    double s = 0.0;
    for (int j = threadIdx.x; j < hw; j += blockDim.x) s += (double)p[j];
    s = block_sum_d(s, sh);
    if (threadIdx.x == 0) out[blockIdx.x] = (float)(s / hw);
}

// ---- batch norm ------------------------------------------------------------

// bn_stats_partial: grid (c, splits); partial[(ch*splits+s)*2 + {0,1}] =
// Σx, Σx² over the block's images of channel ch.
extern "C" __global__ void bn_stats_partial(const float* x, int n, int c, int hw, int splits, double* partial) {
    __shared__ double sh[MAX_THREADS];
    int ch = blockIdx.x, s = blockIdx.y;
    int n0 = (int)((long long)s * n / splits), n1 = (int)((long long)(s + 1) * n / splits);
    int count = (n1 - n0) * hw;
    double a = 0.0, b = 0.0;
    for (int j = threadIdx.x; j < count; j += blockDim.x) {
        int img = n0 + j / hw, pos = j % hw;
        double v = (double)x[((long long)img * c + ch) * hw + pos];
        a += v;
        b += v * v;
    }
    a = block_sum_d(a, sh);
    b = block_sum_d(b, sh);
    if (threadIdx.x == 0) {
        partial[(ch * splits + s) * 2] = a;
        partial[(ch * splits + s) * 2 + 1] = b;
    }
}

// bn_stats_finish: one thread per channel; biased variance for the batch,
// unbiased for the running estimate (PyTorch).
extern "C" __global__ void bn_stats_finish(const double* partial, int c, int splits, int m, float momentum, float eps, float* runMean, float* runVar, float* saveMean, float* saveInvStd) {
    GRID_STRIDE(ch, c) {
        double a = 0.0, b = 0.0;
        for (int k = 0; k < splits; k++) {
            a += partial[(ch * splits + k) * 2];
            b += partial[(ch * splits + k) * 2 + 1];
        }
        double mean = a / m;
        double var = b / m - mean * mean;
        if (var < 0.0) var = 0.0;
        saveMean[ch] = (float)mean;
        saveInvStd[ch] = (float)(1.0 / sqrt(var + (double)eps));
        double unbiased = m > 1 ? var * m / (m - 1) : var;
        runMean[ch] = (float)((1.0 - momentum) * runMean[ch] + (double)momentum * mean);
        runVar[ch] = (float)((1.0 - momentum) * runVar[ch] + (double)momentum * unbiased);
    }
}

// bn_apply: y = (x - mean[ch])·invStd[ch]·gamma[ch] + beta[ch].
extern "C" __global__ void bn_apply(const float* x, const float* mean, const float* invStd, const float* gamma, const float* beta, float* y, int c, int hw, int total) {
    GRID_STRIDE(i, total) {
        int ch = (i / hw) % c;
        y[i] = (x[i] - mean[ch]) * invStd[ch] * gamma[ch] + beta[ch];
    }
}

// inv_std: out[ch] = 1/sqrt(var[ch] + eps), for the running statistics.
extern "C" __global__ void inv_std(const float* var, float eps, float* out, int c) {
    GRID_STRIDE(ch, c) { out[ch] = (float)(1.0 / sqrt((double)var[ch] + (double)eps)); }
}

// bn_bwd_partial: grid (c, splits); Σdy and Σdy·x̂ with x̂ = (x-mean)·invStd.
extern "C" __global__ void bn_bwd_partial(const float* x, const float* dy, const float* mean, const float* invStd, int n, int c, int hw, int splits, double* partial) {
    __shared__ double sh[MAX_THREADS];
    int ch = blockIdx.x, s = blockIdx.y;
    int n0 = (int)((long long)s * n / splits), n1 = (int)((long long)(s + 1) * n / splits);
    int count = (n1 - n0) * hw;
    float mu = mean[ch], is = invStd[ch];
    double a = 0.0, b = 0.0;
    for (int j = threadIdx.x; j < count; j += blockDim.x) {
        int img = n0 + j / hw, pos = j % hw;
        long long idx = ((long long)img * c + ch) * hw + pos;
        double g = (double)dy[idx];
        a += g;
        b += g * ((double)(x[idx] - mu) * (double)is);
    }
    a = block_sum_d(a, sh);
    b = block_sum_d(b, sh);
    if (threadIdx.x == 0) {
        partial[(ch * splits + s) * 2] = a;
        partial[(ch * splits + s) * 2 + 1] = b;
    }
}

// bn_bwd_finish: dbeta += Σdy, dgamma += Σdy·x̂; coef[2ch] = mean dy,
// coef[2ch+1] = mean dy·x̂ (for bn_bwd_dx).
extern "C" __global__ void bn_bwd_finish(const double* partial, int c, int splits, int m, float* dgamma, float* dbeta, float* coef) {
    GRID_STRIDE(ch, c) {
        double a = 0.0, b = 0.0;
        for (int k = 0; k < splits; k++) {
            a += partial[(ch * splits + k) * 2];
            b += partial[(ch * splits + k) * 2 + 1];
        }
        dbeta[ch] = (float)((double)dbeta[ch] + a);
        dgamma[ch] = (float)((double)dgamma[ch] + b);
        coef[2 * ch] = (float)(a / m);
        coef[2 * ch + 1] = (float)(b / m);
    }
}

// bn_bwd_dx: dx = gamma·invStd·(dy - mean(dy) - x̂·mean(dy·x̂)).
extern "C" __global__ void bn_bwd_dx(const float* x, const float* dy, const float* mean, const float* invStd, const float* gamma, const float* coef, float* dx, int c, int hw, int total) {
    GRID_STRIDE(i, total) {
        int ch = (i / hw) % c;
        float is = invStd[ch];
        float xh = (x[i] - mean[ch]) * is;
        dx[i] = gamma[ch] * is * (dy[i] - coef[2 * ch] - xh * coef[2 * ch + 1]);
    }
}

// bn_scale_dx: dx = dy·gamma·invStd (eval-mode backward).
extern "C" __global__ void bn_scale_dx(const float* dy, const float* gamma, const float* invStd, float* dx, int c, int hw, int total) {
    GRID_STRIDE(i, total) {
        int ch = (i / hw) % c;
        dx[i] = dy[i] * gamma[ch] * invStd[ch];
    }
}

// ---- pooling ---------------------------------------------------------------
// planes = N·C; x is [planes, H, W], y is [planes, P, Q].

extern "C" __global__ void maxpool_fwd(const float* x, float* y, int* argmax, int planes, int H, int W, int P, int Q, int kh, int kw, int stride, int pad) {
    int total = planes * P * Q;
    GRID_STRIDE(o, total) {
        int q = o % Q, p = (o / Q) % P, pl = o / (P * Q);
        const float* xp = x + (long long)pl * H * W;
        int h0 = p * stride - pad, w0 = q * stride - pad;
        float best = neg_inf_f();
        int bi = -1;
        for (int i = 0; i < kh; i++) {
            int h = h0 + i;
            if (h < 0 || h >= H) continue;
            for (int j = 0; j < kw; j++) {
                int w = w0 + j;
                if (w < 0 || w >= W) continue;
                float v = xp[h * W + w];
                // The first maximum in row-major order wins; a NaN wins
                // over numbers (PyTorch), the first NaN over later ones.
                if (bi < 0 || v > best || (v != v && best == best)) {
                    best = v;
                    bi = h * W + w;
                }
            }
        }
        y[o] = best;
        argmax[o] = bi;
    }
}

// maxpool_bwd: one thread per input value gathers the gradients of the
// outputs whose argmax is that value (deterministic, no atomics).
extern "C" __global__ void maxpool_bwd(const float* dy, const int* argmax, float* dx, int planes, int H, int W, int P, int Q, int kh, int kw, int stride, int pad) {
    int total = planes * H * W;
    GRID_STRIDE(i, total) {
        int w = i % W, h = (i / W) % H, pl = i / (H * W);
        int pLo = h + pad - kh + 1 <= 0 ? 0 : (h + pad - kh + 1 + stride - 1) / stride;
        int pHi = (h + pad) / stride;
        int qLo = w + pad - kw + 1 <= 0 ? 0 : (w + pad - kw + 1 + stride - 1) / stride;
        int qHi = (w + pad) / stride;
        if (pHi > P - 1) pHi = P - 1;
        if (qHi > Q - 1) qHi = Q - 1;
        int self = h * W + w;
        float s = 0.0f;
        long long base = (long long)pl * P * Q;
        for (int p = pLo; p <= pHi; p++)
            for (int q = qLo; q <= qHi; q++)
                if (argmax[base + p * Q + q] == self) s += dy[base + p * Q + q];
        dx[i] = s;
    }
}

// avgpool_fwd: the divisor is kh·kw (count_include_pad=True).
extern "C" __global__ void avgpool_fwd(const float* x, float* y, int planes, int H, int W, int P, int Q, int kh, int kw, int stride, int pad) {
    int total = planes * P * Q;
    GRID_STRIDE(o, total) {
        int q = o % Q, p = (o / Q) % P, pl = o / (P * Q);
        const float* xp = x + (long long)pl * H * W;
        int h0 = p * stride - pad, w0 = q * stride - pad;
        float s = 0.0f;
        for (int i = 0; i < kh; i++) {
            int h = h0 + i;
            if (h < 0 || h >= H) continue;
            for (int j = 0; j < kw; j++) {
                int w = w0 + j;
                if (w < 0 || w >= W) continue;
                s += xp[h * W + w];
            }
        }
        y[o] = s / (float)(kh * kw);
    }
}

extern "C" __global__ void avgpool_bwd(const float* dy, float* dx, int planes, int H, int W, int P, int Q, int kh, int kw, int stride, int pad) {
    int total = planes * H * W;
    GRID_STRIDE(i, total) {
        int w = i % W, h = (i / W) % H, pl = i / (H * W);
        int pLo = h + pad - kh + 1 <= 0 ? 0 : (h + pad - kh + 1 + stride - 1) / stride;
        int pHi = (h + pad) / stride;
        int qLo = w + pad - kw + 1 <= 0 ? 0 : (w + pad - kw + 1 + stride - 1) / stride;
        int qHi = (w + pad) / stride;
        if (pHi > P - 1) pHi = P - 1;
        if (qHi > Q - 1) qHi = Q - 1;
        float s = 0.0f;
        long long base = (long long)pl * P * Q;
        for (int p = pLo; p <= pHi; p++)
            for (int q = qLo; q <= qHi; q++) s += dy[base + p * Q + q];
        dx[i] = s / (float)(kh * kw);
    }
}

// ---- softmax and cross-entropy: one block per row --------------------------

// row_softmax writes probs = softmax(invT·z) for the block's row and
// returns log Σ exp(invT·z - max) and max to every thread.
__device__ void row_softmax(const float* z, float* pr, int classes, float invT, float* shf, double* shd, float* outMax, double* outLogSum) {
    float m = neg_inf_f();
    for (int j = threadIdx.x; j < classes; j += blockDim.x) {
        float v = invT * z[j];
        if (v > m || v != v) m = v;
    }
    m = block_max_f(m, shf);
    double s = 0.0;
    for (int j = threadIdx.x; j < classes; j += blockDim.x) s += exp((double)(invT * z[j] - m));
    s = block_sum_d(s, shd);
    for (int j = threadIdx.x; j < classes; j += blockDim.x) pr[j] = (float)(exp((double)(invT * z[j] - m)) / s);
    *outMax = m;
    *outLogSum = log(s);
}

extern "C" __global__ void softmax_rows(const float* logits, float* probs, int classes, float invT) {
    __shared__ float shf[MAX_THREADS];
    __shared__ double shd[MAX_THREADS];
    long long off = (long long)blockIdx.x * classes;
    float m;
    double ls;
    row_softmax(logits + off, probs + off, classes, invT, shf, shd, &m, &ls);
}

// softmax_xent: losses[row] = logΣexp(z-max) - (z[label]-max); dlogits (when
// hasGrad) = (probs - onehot)·scale. A label outside [0, classes) gives a
// NaN loss and a NaN gradient row, as the CPU backend.
extern "C" __global__ void softmax_xent(const float* logits, const int* labels, int classes, float* probs, float* losses, float* dlogits, int hasGrad, float scale) {
    __shared__ float shf[MAX_THREADS];
    __shared__ double shd[MAX_THREADS];
    int row = blockIdx.x;
    long long off = (long long)row * classes;
    float m;
    double ls;
    row_softmax(logits + off, probs + off, classes, 1.0f, shf, shd, &m, &ls);
    __syncthreads();
    int lab = labels[row];
    bool ok = lab >= 0 && lab < classes;
    if (threadIdx.x == 0) losses[row] = ok ? (float)(ls - (double)(logits[off + lab] - m)) : nan_f();
    if (hasGrad) {
        for (int j = threadIdx.x; j < classes; j += blockDim.x) {
            float p = probs[off + j];
            dlogits[off + j] = ok ? (j == lab ? p - 1.0f : p) * scale : nan_f();
        }
    }
}

// soft_xent: losses[row] = -Σ_j t_j·log softmax(invT·z)_j; dlogits (when
// hasGrad) = (probs - t)·scale with the tempered probs.
extern "C" __global__ void soft_xent(const float* logits, const float* targets, int classes, float invT, float* probs, float* losses, float* dlogits, int hasGrad, float scale) {
    __shared__ float shf[MAX_THREADS];
    __shared__ double shd[MAX_THREADS];
    int row = blockIdx.x;
    long long off = (long long)row * classes;
    float m;
    double ls;
    row_softmax(logits + off, probs + off, classes, invT, shf, shd, &m, &ls);
    double acc = 0.0;
    for (int j = threadIdx.x; j < classes; j += blockDim.x) {
        double t = (double)targets[off + j];
        if (t != 0.0) acc -= t * ((double)(invT * logits[off + j] - m) - ls);
    }
    acc = block_sum_d(acc, shd);
    if (threadIdx.x == 0) losses[row] = (float)acc;
    if (hasGrad) {
        for (int j = threadIdx.x; j < classes; j += blockDim.x) dlogits[off + j] = (probs[off + j] - targets[off + j]) * scale;
    }
}

// ---- optimisers ------------------------------------------------------------

extern "C" __global__ void sgd_step(float* p, const float* g, float* buf, float lr, float momentum, float dampening, float wd, int nesterov, int first, int n) {
    GRID_STRIDE(i, n) {
        float gi = g[i];
        if (wd != 0.0f) gi += wd * p[i];
        float dir = gi;
        if (momentum != 0.0f) {
            float b = first ? gi : momentum * buf[i] + (1.0f - dampening) * gi;
            buf[i] = b;
            dir = nesterov ? gi + momentum * b : b;
        }
        p[i] -= lr * dir;
    }
}

// adam_step: torch.optim.Adam / AdamW (single-tensor path). stepSize =
// lr/(1-β1^t) and bc2sqrt = sqrt(1-β2^t) are computed on the host in
// float64, as PyTorch computes them in Python floats.
extern "C" __global__ void adam_step(float* p, const float* g, float* m, float* v, float lr, float beta1, float beta2, float eps, float wd, float stepSize, float bc2sqrt, int decoupled, int n) {
    GRID_STRIDE(i, n) {
        float pi = p[i], gi = g[i];
        if (wd != 0.0f) {
            if (decoupled) pi *= 1.0f - lr * wd;
            else gi += wd * pi;
        }
        float mi = m[i] + (1.0f - beta1) * (gi - m[i]);
        float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2sqrt + eps;
        p[i] = pi - stepSize * (mi / denom);
    }
}

// ---- GEMM and im2col (used when cuBLAS or cuDNN is absent) ----------------

#define TILE 16
// sgemm_tiled: row-major C = alpha·op(A)·op(B) + beta·C; 16x16 blocks.
// beta == 0 does not read C (as BLAS).
extern "C" __global__ void sgemm_tiled(int transA, int transB, int m, int n, int k, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
    __shared__ float As[TILE][TILE + 1];
    __shared__ float Bs[TILE][TILE + 1];
    int tx = threadIdx.x % TILE, ty = threadIdx.x / TILE;
    int row = blockIdx.y * TILE + ty, col = blockIdx.x * TILE + tx;
    float acc = 0.0f;
    for (int k0 = 0; k0 < k; k0 += TILE) {
        int ka = k0 + tx, kb = k0 + ty;
        float a = 0.0f, b = 0.0f;
        if (row < m && ka < k) a = transA ? A[(long long)ka * lda + row] : A[(long long)row * lda + ka];
        if (col < n && kb < k) b = transB ? B[(long long)col * ldb + kb] : B[(long long)kb * ldb + col];
        As[ty][tx] = a;
        Bs[ty][tx] = b;
        __syncthreads();
        for (int j = 0; j < TILE; j++) acc += As[ty][j] * Bs[j][tx];
        __syncthreads();
    }
    if (row < m && col < n) {
        long long ci = (long long)row * ldc + col;
        C[ci] = beta == 0.0f ? alpha * acc : alpha * acc + beta * C[ci];
    }
}

// im2col for one image: col[(c·R + r)·S + s][p·Q + q] = x[c][p·stride-pad+r][q·stride-pad+s].
extern "C" __global__ void im2col(const float* x, float* col, int C, int H, int W, int R, int S, int stride, int pad, int P, int Q) {
    int total = C * R * S * P * Q;
    GRID_STRIDE(i, total) {
        int q = i % Q, p = (i / Q) % P, row = i / (P * Q);
        int s = row % S, r = (row / S) % R, c = row / (R * S);
        int h = p * stride - pad + r, w = q * stride - pad + s;
        col[i] = (h >= 0 && h < H && w >= 0 && w < W) ? x[((long long)c * H + h) * W + w] : 0.0f;
    }
}

// col2im for one image, gathering (one thread per input value): dx[c][h][w]
// = Σ over (r, s, p, q) with p·stride-pad+r = h, q·stride-pad+s = w.
extern "C" __global__ void col2im(const float* col, float* dx, int C, int H, int W, int R, int S, int stride, int pad, int P, int Q) {
    int total = C * H * W;
    GRID_STRIDE(i, total) {
        int w = i % W, h = (i / W) % H, c = i / (H * W);
        float acc = 0.0f;
        for (int r = 0; r < R; r++) {
            int hp = h + pad - r;
            if (hp < 0 || hp % stride != 0) continue;
            int p = hp / stride;
            if (p >= P) continue;
            for (int s = 0; s < S; s++) {
                int wp = w + pad - s;
                if (wp < 0 || wp % stride != 0) continue;
                int q = wp / stride;
                if (q >= Q) continue;
                acc += col[((long long)(c * R + r) * S + s) * P * Q + p * Q + q];
            }
        }
        dx[i] = acc;
    }
}
