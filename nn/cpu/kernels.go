package cpu

import "math"

// Channel kernels of batch norm, the element-wise kernels of ReLU and
// Add, and SGD's momentum update. The ops call them through these variables, which start as the Go
// kernels below; builds with cgo on amd64 point them at AVX2 versions
// (kernels_avx2.go) when the CPU has AVX2 and FMA. The Go kernels remain the
// reference the tests hold the AVX2 ones to, and the code everywhere else.
//
// A channel is n planes of hw values, plane i starting at x[i·stride].
var (
	chanSum        = chanSumGo
	chanSumSqDev   = chanSumSqDevGo
	chanSumsDyDev  = chanSumsDyDevGo
	chanAffine     = chanAffineGo
	chanBNBackward = chanBNBackwardGo
	relu           = reluGo
	reluBackward   = reluBackwardGo
	add            = addGo
	sgdMomentum    = sgdMomentumGo

	// haveAVX2 says whether the AVX2 kernels are in use.
	haveAVX2 bool
)

func chanSumGo(x []float32, n, hw, stride int) float64 {
	var s float64
	for i := 0; i < n; i++ {
		s += sum64(x[i*stride : i*stride+hw])
	}
	return s
}

func chanSumSqDevGo(x []float32, n, hw, stride int, mean float64) float64 {
	var s float64
	for i := 0; i < n; i++ {
		s += sumSquaredDev64(x[i*stride:i*stride+hw], mean)
	}
	return s
}

func chanSumsDyDevGo(dy, x []float32, n, hw, stride int, mean float64) (sdy, sdyx float64) {
	for i := 0; i < n; i++ {
		a, b := sumsDyDev64(dy[i*stride:i*stride+hw], x[i*stride:i*stride+hw], mean)
		sdy += a
		sdyx += b
	}
	return sdy, sdyx
}

// chanAffineGo sets dst = x·scale + shift.
func chanAffineGo(dst, x []float32, n, hw, stride int, scale, shift float32) {
	for i := 0; i < n; i++ {
		d, s := dst[i*stride:i*stride+hw], x[i*stride:i*stride+hw]
		for j, v := range s {
			d[j] = v*scale + shift
		}
	}
}

// chanBNBackwardGo sets dx = k·(dy − mdy − (x − mean)·coef).
func chanBNBackwardGo(dx, dy, x []float32, n, hw, stride int, k, mdy, coef, mean float32) {
	for i := 0; i < n; i++ {
		xs := x[i*stride : i*stride+hw]
		ds := dy[i*stride : i*stride+hw]
		dst := dx[i*stride : i*stride+hw]
		for j, d := range ds {
			dst[j] = k * (d - mdy - (xs[j]-mean)*coef)
		}
	}
}

func reluGo(x, y []float32) {
	// max compiles to branch-free code; an if on the sign costs a
	// misprediction on every other value of a random activation
	// (measured 5.3 ns against 0.65 ns a value).
	y = y[:len(x)]
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

func reluBackwardGo(y, dy, dx []float32) {
	// Branch-free, as in reluGo: y > 0 exactly when its bits, as a signed
	// integer, lie in (0, +Inf]; the mask keeps or clears dy.
	dy, dx = dy[:len(y)], dx[:len(y)]
	for i, v := range y {
		u := int32(math.Float32bits(v))
		var m uint32
		if u > 0 && u <= 0x7f800000 {
			m = ^uint32(0)
		}
		dx[i] = math.Float32frombits(math.Float32bits(dy[i]) & m)
	}
}

func addGo(d, a, b []float32) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = a[i] + b[i]
	}
}

// sgdMomentumGo is SGDStep's common case (momentum, not the first step, not
// Nesterov): d = g + wd·p, m = mom·m + (1 − damp)·d, p −= lr·m, each product
// rounded before its sum (no fused multiply-add), as the generic loop does.
func sgdMomentumGo(p, g, m []float32, lr, mom, damp, wd float32) {
	g, m = g[:len(p)], m[:len(p)]
	keep := 1 - damp
	for i, v := range p {
		d := g[i] + wd*v
		mi := mom*m[i] + keep*d
		m[i] = mi
		p[i] = v - lr*mi
	}
}
