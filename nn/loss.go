package nn

// CrossEntropy is softmax cross-entropy over a batch with reusable
// buffers. After Compute, Probs holds the softmax and Grad the gradient of
// the (scaled) loss with respect to the logits.
type CrossEntropy struct {
	probs, losses, grad out
	ones                scratch
	n                   int
}

// Compute evaluates the loss of logits [N C] against integer labels.
// scale multiplies the gradient: 1/N gives the gradient of the batch mean,
// -1/N that of its negation (gradient ascent).
func (l *CrossEntropy) Compute(b Backend, logits *Tensor, labels IntBuf, scale float32) (grad *Tensor) {
	n, c := logits.Shape[0], logits.Shape[1]
	l.n = n
	p := l.probs.get(b, n, c)
	ls := l.losses.get(b, n)
	g := l.grad.get(b, n, c)
	b.SoftmaxCrossEntropy(logits.Data, labels, n, c, p.Data, ls.Data, g.Data, scale)
	return g
}

// ComputeSoft is Compute against target distributions [N C] with
// temperature T: the loss is -Σ t·log softmax(z/T) and Grad is
// scale·(softmax(z/T) − t)/T, the gradient of the scaled loss.
func (l *CrossEntropy) ComputeSoft(b Backend, logits, targets *Tensor, temperature float64, scale float32) (grad *Tensor) {
	n, c := logits.Shape[0], logits.Shape[1]
	l.n = n
	p := l.probs.get(b, n, c)
	ls := l.losses.get(b, n)
	g := l.grad.get(b, n, c)
	b.SoftTargetCrossEntropy(logits.Data, targets.Data, n, c, float32(1/temperature), p.Data, ls.Data, g.Data, scale/float32(temperature))
	return g
}

// Probs is the softmax of the last Compute.
func (l *CrossEntropy) Probs() *Tensor { return &l.probs.t }

// Losses is the per-sample loss of the last Compute.
func (l *CrossEntropy) Losses() *Tensor { return &l.losses.t }

// Mean is the batch-mean loss of the last Compute (waits for the device).
func (l *CrossEntropy) Mean(b Backend) float64 {
	ones := l.ones.get(b, l.n)
	b.Fill(ones, 1)
	return b.Dot(l.losses.t.Data, ones) / float64(l.n)
}

// Release frees the loss's device buffers; the zero CrossEntropy (or a
// released one) may be used again and allocates anew.
func (l *CrossEntropy) Release(b Backend) { l.release(b) }

func (l *CrossEntropy) release(b Backend) {
	l.probs.release(b)
	l.losses.release(b)
	l.grad.release(b)
	l.ones.release(b)
}

// OrthoExclude says which convolutions the orthogonality term leaves out.
type OrthoExclude struct {
	Shortcut bool `json:"shortcut"` // 1x1 projections on residual shortcuts
	First    bool `json:"first"`    // the network's first convolution
}

// Orthogonality is the regulariser λ·Σ_l ||W_l W_lᵀ − I||²_F over
// convolution kernels reshaped to [C_out, C_in·k·k] (METHODS.md).
type Orthogonality struct {
	Lambda float64
	Units  []*Unit
	gram   scratch
}

// NewOrthogonality selects m's convolutions minus the excluded ones.
func NewOrthogonality(m *Model, lambda float64, ex OrthoExclude) *Orthogonality {
	o := &Orthogonality{Lambda: lambda}
	for _, u := range m.Units {
		if (ex.Shortcut && u.Shortcut) || (ex.First && u.First) {
			continue
		}
		o.Units = append(o.Units, u)
	}
	return o
}

// Apply adds the regulariser's gradient 4λ(WWᵀ−I)W to each kernel's
// gradient. With wantValue it also returns the regulariser's value
// λ·Σ||WWᵀ−I||² (which waits for the device); otherwise it returns 0.
func (o *Orthogonality) Apply(b Backend, wantValue bool) float64 {
	return o.Lambda * o.run(b, o.Lambda, wantValue)
}

// Deviation returns Σ_l ||W_l W_lᵀ − I||²_F (without λ), a measure of how
// orthogonal the kernels are, leaving gradients alone.
func (o *Orthogonality) Deviation(b Backend) float64 {
	return o.run(b, 0, true)
}

func (o *Orthogonality) run(b Backend, lambda float64, wantValue bool) float64 {
	var total float64
	for _, u := range o.Units {
		w := u.Conv.Weight
		k := w.Shape[0]
		d := w.Numel() / k
		g := o.gram.get(b, k*k)
		b.Gemm(false, true, k, k, d, 1, w.Value.Data, d, w.Value.Data, d, 0, g, k)
		b.AddDiag(g, k, -1)
		if wantValue {
			total += b.Dot(g, g)
		}
		if lambda != 0 {
			b.Gemm(false, false, k, d, k, float32(4*lambda), g, k, w.Value.Data, d, 1, w.Grad.Data, d)
		}
	}
	return total
}
