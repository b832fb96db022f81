package unlearn

import (
	"math"
	"math/rand/v2"
	"testing"

	"lethe/nn"
	"lethe/nn/cpu"
)

// hostSoftmax is softmax(z/T) of one row, in float64.
func hostSoftmax(z []float64, T float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, v/T)
	}
	out := make([]float64, len(z))
	sum := 0.0
	for i, v := range z {
		out[i] = math.Exp(v/T - mx)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// kl is KL(p ‖ q).
func kl(p, q []float64) float64 {
	s := 0.0
	for i := range p {
		if p[i] > 0 {
			s += p[i] * math.Log(p[i]/q[i])
		}
	}
	return s
}

func randomLogits(r *rand.Rand, n, k int, scale float64) []float32 {
	out := make([]float32, n*k)
	for i := range out {
		out[i] = float32(r.NormFloat64() * scale)
	}
	return out
}

func row64(v []float32, i, k int) []float64 {
	out := make([]float64, k)
	for j := range out {
		out[j] = float64(v[i*k+j])
	}
	return out
}

// checkLogitGradient compares an analytic gradient with respect to the
// logits with central finite differences of a float64 host loss.
func checkLogitGradient(t *testing.T, what string, logits []float32, n, k int, grad []float32, loss func(z [][]float64) float64) {
	t.Helper()
	z := make([][]float64, n)
	for i := range z {
		z[i] = row64(logits, i, k)
	}
	const h = 1e-5
	worst := 0.0
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			orig := z[i][j]
			z[i][j] = orig + h
			up := loss(z)
			z[i][j] = orig - h
			down := loss(z)
			z[i][j] = orig
			fd := (up - down) / (2 * h)
			diff := math.Abs(fd - float64(grad[i*k+j]))
			if diff > 1e-4+1e-3*math.Abs(fd) {
				t.Fatalf("%s: ∂/∂z[%d,%d]: analytic %v, finite difference %v", what, i, j, grad[i*k+j], fd)
			}
			worst = math.Max(worst, diff)
		}
	}
	t.Logf("%s: largest deviation %.2g", what, worst)
}

// Bad Teacher's target is softmax(z_bad/T) on rows labelled 1 and
// softmax(z_full/T) on rows labelled 0; the student's gradient is that of
// the batch-mean KL(target ‖ softmax(z_s/T)).
func TestBadTeacherTargetAndGradient(t *testing.T) {
	b, err := cpu.New(cpu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n, k, T = 6, 5, 2.0
	r := rand.New(rand.NewPCG(1, 2))
	zBad, zFull, zStudent := randomLogits(r, n, k, 2), randomLogits(r, n, k, 2), randomLogits(r, n, k, 2)
	labels := []int32{1, 0, 0, 1, 1, 0}
	tb, tf := nn.FromHost(b, zBad, n, k), nn.FromHost(b, zFull, n, k)
	pb, pf := &nn.Tensor{Shape: []int{n, k}, Data: b.Alloc(n * k)}, &nn.Tensor{Shape: []int{n, k}, Data: b.Alloc(n * k)}
	b.Softmax(tb.Data, pb.Data, n, k, 1/T)
	b.Softmax(tf.Data, pf.Data, n, k, 1/T)
	var mixer targetMixer
	target := nn.ToHost(b, mixer.mix(b, pb, pf, labels))
	want := make([][]float64, n)
	for i, l := range labels {
		src := zFull
		if l == 1 {
			src = zBad
		}
		want[i] = hostSoftmax(row64(src, i, k), T)
		for j := 0; j < k; j++ {
			if math.Abs(float64(target[i*k+j])-want[i][j]) > 1e-6 {
				t.Fatalf("row %d (l = %d) class %d: target %v, want %v", i, l, j, target[i*k+j], want[i][j])
			}
		}
	}
	// The student's loss, as distil computes its gradient.
	var ce nn.CrossEntropy
	zs := nn.FromHost(b, zStudent, n, k)
	g := nn.ToHost(b, ce.ComputeSoft(b, zs, nn.FromHost(b, target, n, k), T, 1/float32(n)))
	checkLogitGradient(t, "bad teacher", zStudent, n, k, g, func(z [][]float64) float64 {
		s := 0.0
		for i := range z {
			s += kl(want[i], hostSoftmax(z[i], T))
		}
		return s / n
	})
}

// SCRUB's two objectives: the max step descends −KD(s, t) =
// −T²·mean KL(softmax(t/T) ‖ softmax(s/T)); the min step γ·CE + α·KD.
func TestSCRUBGradients(t *testing.T) {
	b, err := cpu.New(cpu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n, k, T, gamma, alpha = 5, 4, 4.0, 0.99, 0.3
	r := rand.New(rand.NewPCG(3, 4))
	zs, zt := randomLogits(r, n, k, 3), randomLogits(r, n, k, 3)
	labels := []int32{0, 3, 1, 1, 2}
	pt := &nn.Tensor{Shape: []int{n, k}, Data: b.Alloc(n * k)}
	b.Softmax(nn.FromHost(b, zt, n, k).Data, pt.Data, n, k, 1/T)
	teacher := make([][]float64, n)
	for i := range teacher {
		teacher[i] = hostSoftmax(row64(zt, i, k), T)
	}
	kd := func(z [][]float64) float64 {
		s := 0.0
		for i := range z {
			s += kl(teacher[i], hostSoftmax(z[i], T))
		}
		return T * T * s / n
	}
	var ce, kdl nn.CrossEntropy
	logits := nn.FromHost(b, zs, n, k)
	g, v := scrubForgetGrad(b, &kdl, logits, pt, T)
	checkLogitGradient(t, "scrub max step", zs, n, k, nn.ToHost(b, g), func(z [][]float64) float64 { return -kd(z) })
	if !finite(v) || v >= 0 {
		t.Errorf("max-step loss %v: want a finite negative value", v)
	}
	y := b.AllocInt(n)
	b.UploadInt(y, labels)
	g, _ = scrubRetainGrad(b, &ce, &kdl, logits, y, pt, T, gamma, alpha)
	checkLogitGradient(t, "scrub min step", zs, n, k, nn.ToHost(b, g), func(z [][]float64) float64 {
		c := 0.0
		for i := range z {
			c -= math.Log(hostSoftmax(z[i], 1)[labels[i]])
		}
		return gamma*c/n + alpha*kd(z)
	})
}
