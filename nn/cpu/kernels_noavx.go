//go:build !(cgo && amd64)

package cpu

// Without cgo on amd64 the Go kernels of kernels.go run everywhere.

var haveAVX2 = false

func chanSum(x []float32, n, hw, stride int) float64 { return chanSumGo(x, n, hw, stride) }

func chanSumSqDev(x []float32, n, hw, stride int, mean float64) float64 {
	return chanSumSqDevGo(x, n, hw, stride, mean)
}

func chanSumsDyDev(dy, x []float32, n, hw, stride int, mean float64) (float64, float64) {
	return chanSumsDyDevGo(dy, x, n, hw, stride, mean)
}

func chanAffine(dst, x []float32, n, hw, stride int, scale, shift float32) {
	chanAffineGo(dst, x, n, hw, stride, scale, shift)
}

func chanBNBackward(dx, dy, x []float32, n, hw, stride int, k, mdy, coef, mean float32) {
	chanBNBackwardGo(dx, dy, x, n, hw, stride, k, mdy, coef, mean)
}

func relu(x, y []float32) { reluGo(x, y) }

func reluBackward(y, dy, dx []float32) { reluBackwardGo(y, dy, dx) }

func add(d, a, b []float32) { addGo(d, a, b) }
