/* A stand-in for libcudnn.so.9 with the legacy functions Lethe binds,
 * following cudnn_graph.h, cudnn_ops.h and cudnn_cnn.h: descriptors,
 * convolution forward/backward (naive, with alpha and beta), an algorithm
 * search that returns cudnnConvolution*AlgoPerf_t records (one algorithm
 * needs a workspace, one fails), and spatial batch norm with double
 * arguments among many pointers. It checks what the real library checks
 * (descriptor consistency, mode, workspace size, epsilon), so the tests
 * verify the Go bindings' argument order and the descriptor logic. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_STREAM ((void *)0x5678)
#define HANDLE ((void *)0xd00d)
enum { OK = 0, BAD_PARAM = 2000, NOT_SUPPORTED = 3000 };

typedef struct { int n, c, h, w; } Tensor;
typedef struct { int k, c, h, w; } Filter;
typedef struct { int ph, pw, u, v, dh, dw, mode, ctype, math; } Conv;
typedef struct {
    int algo, status;
    float time;
    size_t memory;
    int determinism, mathType, reserved[3];
} Perf;

size_t cudnnGetVersion(void) { return 92400; }
const char *cudnnGetErrorString(int s) {
    switch (s) {
    case OK: return "CUDNN_STATUS_SUCCESS";
    case BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM";
    case NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED";
    }
    return "CUDNN_STATUS_INTERNAL_ERROR";
}
int cudnnCreate(void **h) { *h = HANDLE; return OK; }
int cudnnDestroy(void *h) { return h == HANDLE ? OK : BAD_PARAM; }
int cudnnSetStream(void *h, void *s) { return h == HANDLE && s == FAKE_STREAM ? OK : BAD_PARAM; }

int cudnnCreateTensorDescriptor(Tensor **d) { *d = calloc(1, sizeof(Tensor)); return OK; }
int cudnnDestroyTensorDescriptor(Tensor *d) { free(d); return OK; }
int cudnnSetTensor4dDescriptor(Tensor *d, int format, int dtype, int n, int c, int h, int w) {
    if (format != 0 || dtype != 0 || n < 1 || c < 1 || h < 1 || w < 1) return BAD_PARAM;
    *d = (Tensor){n, c, h, w};
    return OK;
}
int cudnnCreateFilterDescriptor(Filter **d) { *d = calloc(1, sizeof(Filter)); return OK; }
int cudnnDestroyFilterDescriptor(Filter *d) { free(d); return OK; }
int cudnnSetFilter4dDescriptor(Filter *d, int dtype, int format, int k, int c, int h, int w) {
    if (format != 0 || dtype != 0 || k < 1 || c < 1 || h < 1 || w < 1) return BAD_PARAM;
    *d = (Filter){k, c, h, w};
    return OK;
}
int cudnnCreateConvolutionDescriptor(Conv **d) { *d = calloc(1, sizeof(Conv)); return OK; }
int cudnnDestroyConvolutionDescriptor(Conv *d) { free(d); return OK; }
int cudnnSetConvolution2dDescriptor(Conv *d, int ph, int pw, int u, int v, int dh, int dw, int mode, int ctype) {
    if (ph < 0 || pw < 0 || u < 1 || v < 1 || dh < 1 || dw < 1 || (mode != 0 && mode != 1) || ctype != 0) return BAD_PARAM;
    *d = (Conv){ph, pw, u, v, dh, dw, mode, ctype, d->math};
    return OK;
}
int cudnnSetConvolutionMathType(Conv *d, int m) {
    if (m < 0 || m > 3) return BAD_PARAM;
    d->math = m;
    return OK;
}
static int outDim(int in, int pad, int k, int dil, int stride) { return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1; }
int cudnnGetConvolution2dForwardOutputDim(Conv *cv, Tensor *x, Filter *w, int *n, int *c, int *h, int *wd) {
    if (x->c != w->c) return BAD_PARAM;
    *n = x->n;
    *c = w->k;
    *h = outDim(x->h, cv->ph, w->h, cv->dh, cv->u);
    *wd = outDim(x->w, cv->pw, w->w, cv->dw, cv->v);
    return OK;
}
/* consistent: the tensors and filter describe one convolution, in
 * cross-correlation mode (what Lethe must ask for). */
static int consistent(Tensor *x, Filter *w, Conv *cv, Tensor *y) {
    if (cv->mode != 1) return 0;
    return x->c == w->c && y->n == x->n && y->c == w->k && y->h == outDim(x->h, cv->ph, w->h, cv->dh, cv->u) &&
           y->w == outDim(x->w, cv->pw, w->w, cv->dw, cv->v);
}
/* The three directions share one loop; which operand is written depends
 * on dir (0 forward y, 1 backward data dx, 2 backward filter dw). */
static void conv(int dir, Tensor *X, const float *x, Filter *W, const float *w, Conv *cv, Tensor *Y, const float *y,
                 float *out, float alpha, float beta) {
    size_t nout = dir == 0 ? (size_t)Y->n * Y->c * Y->h * Y->w
                : dir == 1 ? (size_t)X->n * X->c * X->h * X->w
                           : (size_t)W->k * W->c * W->h * W->w;
    double *acc = calloc(nout, sizeof(double));
    for (int n = 0; n < Y->n; n++)
        for (int k = 0; k < Y->c; k++)
            for (int p = 0; p < Y->h; p++)
                for (int q = 0; q < Y->w; q++)
                    for (int c = 0; c < X->c; c++)
                        for (int r = 0; r < W->h; r++)
                            for (int s = 0; s < W->w; s++) {
                                int h = p * cv->u - cv->ph + r * cv->dh, ww = q * cv->v - cv->pw + s * cv->dw;
                                if (h < 0 || h >= X->h || ww < 0 || ww >= X->w) continue;
                                size_t xi = (((size_t)n * X->c + c) * X->h + h) * X->w + ww;
                                size_t wi = (((size_t)k * W->c + c) * W->h + r) * W->w + s;
                                size_t yi = (((size_t)n * Y->c + k) * Y->h + p) * Y->w + q;
                                if (dir == 0) acc[yi] += (double)x[xi] * w[wi];
                                else if (dir == 1) acc[xi] += (double)y[yi] * w[wi];
                                else acc[wi] += (double)x[xi] * y[yi];
                            }
    for (size_t i = 0; i < nout; i++) out[i] = beta == 0 ? (float)(alpha * acc[i]) : (float)(alpha * acc[i] + beta * out[i]);
    free(acc);
}
/* Algorithms: 2 is fastest and needs 256 bytes of workspace, 1 needs
 * none, 0 is not supported. */
static int wsNeed(int algo, size_t *bytes) {
    if (algo == 0) return NOT_SUPPORTED;
    if (algo < 0 || algo > 2) return BAD_PARAM;
    *bytes = algo == 2 ? 256 : 0;
    return OK;
}
static int checkAlgo(int algo, void *ws, size_t wsBytes) {
    size_t need;
    int st = wsNeed(algo, &need);
    if (st != OK) return st;
    if (need > 0 && (ws == NULL || wsBytes < need)) return BAD_PARAM;
    return OK;
}
static void fillPerf(Perf *p, int requested, int *returned, Conv *cv, size_t wsBytes) {
    Perf all[3] = {{2, OK, 1.0f, 256, 1, cv->math, {0}}, {1, OK, 2.0f, 0, 1, cv->math, {0}}, {0, NOT_SUPPORTED, -1, 0, 0, cv->math, {0}}};
    if (wsBytes < 256) all[0].status = NOT_SUPPORTED; /* did not fit: cuDNN reports it failed */
    int n = requested < 3 ? requested : 3;
    memcpy(p, all, n * sizeof(Perf));
    *returned = n;
}
static int count(void *h, int *n) { *n = 3; return h == HANDLE ? OK : BAD_PARAM; }
int cudnnGetConvolutionForwardAlgorithmMaxCount(void *h, int *n) { return count(h, n); }
int cudnnGetConvolutionBackwardDataAlgorithmMaxCount(void *h, int *n) { return count(h, n); }
int cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(void *h, int *n) { return count(h, n); }

int cudnnGetConvolutionForwardWorkspaceSize(void *h, Tensor *x, Filter *w, Conv *cv, Tensor *y, int algo, size_t *b) {
    return consistent(x, w, cv, y) ? wsNeed(algo, b) : BAD_PARAM;
}
int cudnnGetConvolutionBackwardDataWorkspaceSize(void *h, Filter *w, Tensor *dy, Conv *cv, Tensor *dx, int algo, size_t *b) {
    return consistent(dx, w, cv, dy) ? wsNeed(algo, b) : BAD_PARAM;
}
int cudnnGetConvolutionBackwardFilterWorkspaceSize(void *h, Tensor *x, Tensor *dy, Conv *cv, Filter *dw, int algo, size_t *b) {
    return consistent(x, dw, cv, dy) ? wsNeed(algo, b) : BAD_PARAM;
}
int cudnnFindConvolutionForwardAlgorithmEx(void *h, Tensor *xd, const float *x, Filter *wd, const float *w, Conv *cv, Tensor *yd,
                                           float *y, int requested, int *returned, Perf *perf, void *ws, size_t wsBytes) {
    if (h != HANDLE || !consistent(xd, wd, cv, yd) || requested < 1) return BAD_PARAM;
    conv(0, xd, x, wd, w, cv, yd, NULL, y, 1, 0);
    fillPerf(perf, requested, returned, cv, wsBytes);
    return OK;
}
int cudnnFindConvolutionBackwardDataAlgorithmEx(void *h, Filter *wd, const float *w, Tensor *dyd, const float *dy, Conv *cv,
                                                Tensor *dxd, float *dx, int requested, int *returned, Perf *perf, void *ws,
                                                size_t wsBytes) {
    if (h != HANDLE || !consistent(dxd, wd, cv, dyd) || requested < 1) return BAD_PARAM;
    conv(1, dxd, NULL, wd, w, cv, dyd, dy, dx, 1, 0);
    fillPerf(perf, requested, returned, cv, wsBytes);
    return OK;
}
int cudnnFindConvolutionBackwardFilterAlgorithmEx(void *h, Tensor *xd, const float *x, Tensor *dyd, const float *dy, Conv *cv,
                                                  Filter *dwd, float *dw, int requested, int *returned, Perf *perf, void *ws,
                                                  size_t wsBytes) {
    if (h != HANDLE || !consistent(xd, dwd, cv, dyd) || requested < 1) return BAD_PARAM;
    conv(2, xd, x, dwd, NULL, cv, dyd, dy, dw, 1, 0);
    fillPerf(perf, requested, returned, cv, wsBytes);
    return OK;
}
int cudnnConvolutionForward(void *h, const float *alpha, Tensor *xd, const float *x, Filter *wd, const float *w, Conv *cv, int algo,
                            void *ws, size_t wsBytes, const float *beta, Tensor *yd, float *y) {
    if (h != HANDLE || !consistent(xd, wd, cv, yd)) return BAD_PARAM;
    int st = checkAlgo(algo, ws, wsBytes);
    if (st != OK) return st;
    conv(0, xd, x, wd, w, cv, yd, NULL, y, *alpha, *beta);
    return OK;
}
int cudnnConvolutionBackwardData(void *h, const float *alpha, Filter *wd, const float *w, Tensor *dyd, const float *dy, Conv *cv,
                                 int algo, void *ws, size_t wsBytes, const float *beta, Tensor *dxd, float *dx) {
    if (h != HANDLE || !consistent(dxd, wd, cv, dyd)) return BAD_PARAM;
    int st = checkAlgo(algo, ws, wsBytes);
    if (st != OK) return st;
    conv(1, dxd, NULL, wd, w, cv, dyd, dy, dx, *alpha, *beta);
    return OK;
}
int cudnnConvolutionBackwardFilter(void *h, const float *alpha, Tensor *xd, const float *x, Tensor *dyd, const float *dy, Conv *cv,
                                   int algo, void *ws, size_t wsBytes, const float *beta, Filter *dwd, float *dw) {
    if (h != HANDLE || !consistent(xd, dwd, cv, dyd)) return BAD_PARAM;
    int st = checkAlgo(algo, ws, wsBytes);
    if (st != OK) return st;
    conv(2, xd, x, dwd, NULL, cv, dyd, dy, dw, *alpha, *beta);
    return OK;
}

/* Spatial batch norm (mode 1). bn must be 1 x C x 1 x 1. */
static int bnCheck(void *h, int mode, Tensor *x, Tensor *y, Tensor *bn, double eps) {
    if (h != HANDLE || mode != 1 || eps < 1e-5) return BAD_PARAM;
    if (y->n != x->n || y->c != x->c || y->h != x->h || y->w != x->w) return BAD_PARAM;
    if (bn->n != 1 || bn->c != x->c || bn->h != 1 || bn->w != 1) return BAD_PARAM;
    return OK;
}
#define AT(t, n, c, i) ((((size_t)(n) * (t)->c + (c)) * (t)->h * (t)->w) + (i))
int cudnnBatchNormalizationForwardTraining(void *h, int mode, const float *alpha, const float *beta, Tensor *xd, const float *x,
                                           Tensor *yd, float *y, Tensor *bnd, const float *scale, const float *bias,
                                           double factor, float *runMean, float *runVar, double eps, float *saveMean,
                                           float *saveInvVar) {
    int st = bnCheck(h, mode, xd, yd, bnd, eps);
    if (st != OK) return st;
    int hw = xd->h * xd->w;
    double m = (double)xd->n * hw;
    for (int c = 0; c < xd->c; c++) {
        double s = 0, ss = 0;
        for (int n = 0; n < xd->n; n++)
            for (int i = 0; i < hw; i++) s += x[AT(xd, n, c, i)];
        double mean = s / m;
        for (int n = 0; n < xd->n; n++)
            for (int i = 0; i < hw; i++) ss += (x[AT(xd, n, c, i)] - mean) * (x[AT(xd, n, c, i)] - mean);
        double var = ss / m, inv = 1 / sqrt(var + eps);
        saveMean[c] = (float)mean;
        saveInvVar[c] = (float)inv;
        runMean[c] = (float)((1 - factor) * runMean[c] + factor * mean);
        runVar[c] = (float)((1 - factor) * runVar[c] + factor * var * m / (m - 1));
        for (int n = 0; n < xd->n; n++)
            for (int i = 0; i < hw; i++) {
                size_t k = AT(xd, n, c, i);
                double v = (x[k] - mean) * inv * scale[c] + bias[c];
                y[k] = *beta == 0 ? (float)(*alpha * v) : (float)(*alpha * v + *beta * y[k]);
            }
    }
    return OK;
}
int cudnnBatchNormalizationForwardInference(void *h, int mode, const float *alpha, const float *beta, Tensor *xd, const float *x,
                                            Tensor *yd, float *y, Tensor *bnd, const float *scale, const float *bias,
                                            const float *mean, const float *var, double eps) {
    int st = bnCheck(h, mode, xd, yd, bnd, eps);
    if (st != OK) return st;
    int hw = xd->h * xd->w;
    for (int n = 0; n < xd->n; n++)
        for (int c = 0; c < xd->c; c++)
            for (int i = 0; i < hw; i++) {
                size_t k = AT(xd, n, c, i);
                double v = (x[k] - mean[c]) / sqrt(var[c] + eps) * scale[c] + bias[c];
                y[k] = *beta == 0 ? (float)(*alpha * v) : (float)(*alpha * v + *beta * y[k]);
            }
    return OK;
}
int cudnnBatchNormalizationBackward(void *h, int mode, const float *aData, const float *bData, const float *aParam,
                                    const float *bParam, Tensor *xd, const float *x, Tensor *dyd, const float *dy, Tensor *dxd,
                                    float *dx, Tensor *bnd, const float *scale, float *dScale, float *dBias, double eps,
                                    const float *savedMean, const float *savedInvVar) {
    int st = bnCheck(h, mode, xd, dyd, bnd, eps);
    if (st == OK) st = bnCheck(h, mode, xd, dxd, bnd, eps);
    if (st != OK) return st;
    if (!savedMean || !savedInvVar) return NOT_SUPPORTED; /* Lethe always passes them */
    int hw = xd->h * xd->w;
    double m = (double)xd->n * hw;
    for (int c = 0; c < xd->c; c++) {
        double mu = savedMean[c], inv = savedInvVar[c], sdy = 0, sdyx = 0;
        for (int n = 0; n < xd->n; n++)
            for (int i = 0; i < hw; i++) {
                size_t k = AT(xd, n, c, i);
                sdy += dy[k];
                sdyx += dy[k] * (x[k] - mu) * inv;
            }
        dScale[c] = *bParam == 0 ? (float)(*aParam * sdyx) : (float)(*aParam * sdyx + *bParam * dScale[c]);
        dBias[c] = *bParam == 0 ? (float)(*aParam * sdy) : (float)(*aParam * sdy + *bParam * dBias[c]);
        for (int n = 0; n < xd->n; n++)
            for (int i = 0; i < hw; i++) {
                size_t k = AT(xd, n, c, i);
                double v = scale[c] * inv * (dy[k] - sdy / m - (x[k] - mu) * inv * sdyx / m);
                dx[k] = *bData == 0 ? (float)(*aData * v) : (float)(*aData * v + *bData * dx[k]);
            }
    }
    return OK;
}
