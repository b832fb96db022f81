package metrics

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzJSDivergence feeds arbitrary float32 pairs (normalised when they are
// valid weights) and checks JSDivergence never panics, rejects what is not
// a probability, and stays in [0, ln 2] and symmetric otherwise.
// Run: go test -fuzz=FuzzJSDivergence ./metrics
func FuzzJSDivergence(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 63})
	f.Add([]byte{205, 204, 204, 62, 0, 0, 0, 63, 0, 0, 192, 127, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		n := len(raw) / 8
		if n == 0 {
			return
		}
		p, q := make([]float32, n), make([]float32, n)
		for k := range n {
			p[k] = math.Float32frombits(binary.LittleEndian.Uint32(raw[8*k:]))
			q[k] = math.Float32frombits(binary.LittleEndian.Uint32(raw[8*k+4:]))
		}
		normalise(p)
		normalise(q)
		pq, err := JSDivergence(p, q)
		if err != nil {
			return
		}
		qp, _ := JSDivergence(q, p)
		if !(pq >= 0 && pq <= math.Ln2) || pq != qp {
			t.Fatalf("JS(p,q) = %v, JS(q,p) = %v for p = %v, q = %v", pq, qp, p, q)
		}
	})
}

// normalise scales finite non-negative weights to sum to 1 and leaves
// anything else as it is (for JSDivergence to reject).
func normalise(p []float32) {
	sum := 0.0
	for _, v := range p {
		if !(v >= 0) || math.IsInf(float64(v), 0) {
			return
		}
		sum += float64(v)
	}
	if sum == 0 || math.IsInf(sum, 0) {
		return
	}
	for k := range p {
		p[k] = float32(float64(p[k]) / sum)
	}
}
