package unlearn

import (
	"context"
	"fmt"
	"math/rand/v2"

	"lethe/nn"
)

// EMNI is error-maximising noise, impair and repair (UNSIR, Tarun et al.,
// TNNLS 2023; METHODS.md, Baselines). For each forget class c a batch of
// noise images N (in the input-normalised space) is learned with Adam to
// minimise −CE(f(N), c) + reg·mean_i ‖N_i‖², the model frozen in
// evaluation mode. Impair: one epoch of Adam on copies of the noise
// labelled c shuffled together with a few training images of each
// retained class; repair: one epoch of Adam on those retained images.
type EMNI struct {
	NoiseBatch, NoiseSteps int
	NoiseLR, NoiseReg      float64
	NoiseCopies            int
	RetainPerClass         int
	ImpairLR               float64
	ImpairBatch            int
	RepairLR               float64
	RepairBatch            int
}

func init() { register("emni", newEMNI) }

func newEMNI(p Params) (Method, error) {
	if err := validate("emni", p); err != nil {
		return nil, err
	}
	g := &getter{method: "emni", p: p}
	e := &EMNI{
		NoiseBatch: g.int("noise_batch"), NoiseSteps: g.int("noise_steps"),
		NoiseLR: g.float("noise_lr"), NoiseReg: g.float("noise_reg"),
		NoiseCopies: g.int("noise_copies"), RetainPerClass: g.int("retain_per_class"),
		ImpairLR: g.float("impair_lr"), ImpairBatch: g.int("impair_batch_size"),
		RepairLR: g.float("repair_lr"), RepairBatch: g.int("repair_batch_size"),
	}
	if g.err != nil {
		return nil, g.err
	}
	return e, nil
}

func (e *EMNI) Name() string { return "emni" }

// EMNIRecord is what EMNI did.
type EMNIRecord struct {
	// NoiseObjective is, per forget class, the objective −CE + reg·mean‖N‖²
	// before each Adam step and after the last one.
	NoiseObjective [][]float64 `json:"noise_objective"`
	// NoiseCE is, per forget class, CE(f(N), c) of the final noise.
	NoiseCE         []float64   `json:"noise_ce"`
	NoiseSamples    int         `json:"noise_samples"`    // noise images in the impair set
	RetainedSamples int         `json:"retained_samples"` // retained images in the impair and repair sets
	Epochs          []EpochLoss `json:"epochs"`
}

// Unlearn runs noise, impair and repair on a copy of req.Model. Seconds
// covers the noise and the impair epoch, FinetuneSeconds the repair.
func (e *EMNI) Unlearn(ctx context.Context, req *Request) (*Result, error) {
	split, err := beginSplit("emni", req)
	if err != nil {
		return nil, err
	}
	retained := split.Dr.PerClass(e.RetainPerClass, req.Seed+101)
	m, err := req.Model.Clone()
	if err != nil {
		return nil, err
	}
	rec := &EMNIRecord{RetainedSamples: retained.Len()}
	res := &Result{Model: m, Method: "emni", Details: rec}
	res.Seconds, err = timed(m.Backend(), func() error {
		set := &noiseMixture{retain: retained.TrainFeed(req.Seed + 102), copies: e.NoiseCopies, seed: req.Seed + 103}
		set.c, set.h, set.w = m.Config.InC, m.Config.InH, m.Config.InW
		set.classes = m.Config.Classes
		for i, c := range split.Forget {
			noise, obj, ce, err := e.learnNoise(ctx, m, c, req.Seed+104+uint64(i))
			if err != nil {
				return fmt.Errorf("noise for class %d: %w", c, err)
			}
			rec.NoiseObjective = append(rec.NoiseObjective, obj)
			rec.NoiseCE = append(rec.NoiseCE, ce)
			set.noise = append(set.noise, noise...)
			for j := 0; j < e.NoiseBatch; j++ {
				set.noiseY = append(set.noiseY, int32(c))
			}
		}
		rec.NoiseSamples = len(set.noiseY) * set.copies
		progress(req, "emni", 1, 3)
		rec2 := &TrainingRecord{}
		err := trainPlain(ctx, req, m, nn.OptimConfig{Name: "adam", LR: e.ImpairLR}, set, "impair", 1, e.ImpairBatch, 1, rec2)
		rec.Epochs = append(rec.Epochs, rec2.Epochs...)
		progress(req, "emni", 2, 3)
		return err
	})
	if err != nil {
		m.Release()
		return nil, fmt.Errorf("emni: %w", err)
	}
	res.FinetuneSeconds, err = timed(m.Backend(), func() error {
		rec2 := &TrainingRecord{}
		err := trainPlain(ctx, req, m, nn.OptimConfig{Name: "adam", LR: e.RepairLR}, retained.TrainFeed(req.Seed+105), "repair", 1, e.RepairBatch, 1, rec2)
		rec.Epochs = append(rec.Epochs, rec2.Epochs...)
		return err
	})
	if err != nil {
		m.Release()
		return nil, fmt.Errorf("emni: %w", err)
	}
	progress(req, "emni", 3, 3)
	return res, nil
}

// learnNoise learns NoiseBatch images for class c against the frozen
// model m (evaluation mode; m's parameters are not changed). It returns
// the noise on the host, the objective before each step and after the
// last, and the final noise's cross-entropy to c. The noise starts as
// standard normal draws (the reference's torch.randn).
func (e *EMNI) learnNoise(ctx context.Context, m *nn.Model, c int, seed uint64) ([]float32, []float64, float64, error) {
	b := m.Backend()
	cfg := m.Config
	n := e.NoiseBatch
	size := n * cfg.InC * cfg.InH * cfg.InW
	r := rand.New(rand.NewPCG(seed, 0x6e6f697365))
	host := make([]float32, size)
	for i := range host {
		host[i] = float32(r.NormFloat64())
	}
	noise := nn.FromHost(b, host, n, cfg.InC, cfg.InH, cfg.InW)
	grad, m1, m2 := b.Alloc(size), b.Alloc(size), b.Alloc(size)
	labels := b.AllocInt(n)
	defer func() {
		b.Free(noise.Data)
		b.Free(grad)
		b.Free(m1)
		b.Free(m2)
		b.FreeInt(labels)
	}()
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(c)
	}
	b.UploadInt(labels, y)
	obj := noiseObjective{m: m, reg: e.NoiseReg}
	defer obj.release()
	var trace []float64
	for step := 1; step <= e.NoiseSteps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, 0, err
		}
		v, _, err := obj.eval(noise, labels, grad)
		if err != nil {
			return nil, nil, 0, err
		}
		if !finite(v) {
			return nil, nil, 0, fmt.Errorf("the noise objective is not finite at step %d (noise_lr %g too large?)", step, e.NoiseLR)
		}
		trace = append(trace, v)
		b.AdamStep(noise.Data, grad, m1, m2, float32(e.NoiseLR), 0.9, 0.999, 1e-8, 0, step, false)
	}
	v, ce, err := obj.eval(noise, labels, nil)
	if err != nil {
		return nil, nil, 0, err
	}
	trace = append(trace, v)
	b.Download(host, noise.Data)
	return host, trace, ce, nil
}

// noiseObjective evaluates EMNI's noise objective J(N) = −CE(f(N), y) +
// reg·mean_i ‖N_i‖² and its gradient with respect to N.
type noiseObjective struct {
	m   *nn.Model
	reg float64
	ce  nn.CrossEntropy
}

// eval returns J and CE at noise; when grad is not nil it receives ∂J/∂N.
func (o *noiseObjective) eval(noise *nn.Tensor, labels nn.IntBuf, grad nn.Buf) (j, ce float64, err error) {
	m, b := o.m, o.m.Backend()
	n := noise.Dim(0)
	c := &nn.Ctx{InputGrad: grad != nil}
	logits, err := m.Forward(c, noise)
	if err != nil {
		return 0, 0, err
	}
	g := o.ce.Compute(b, logits, labels, -1/float32(n))
	ce = o.ce.Mean(b)
	j = -ce + o.reg*b.Dot(noise.Data, noise.Data)/float64(n)
	if grad == nil {
		return j, ce, nil
	}
	m.ZeroGrad()
	dx, err := m.Backward(c, g)
	if err != nil {
		return 0, 0, err
	}
	if dx == nil {
		return 0, 0, fmt.Errorf("the model returned no input gradient")
	}
	b.Copy(grad, dx.Data)
	b.Axpy(float32(2*o.reg/float64(n)), noise.Data, grad)
	return j, ce, nil
}

func (o *noiseObjective) release() { o.ce.Release(o.m.Backend()) }

// noiseMixture is EMNI's impair set: copies times each noise image
// (labelled with its class) and the retained images, in one random order
// per epoch. The retained images come in their own feed's (shuffled,
// augmented) order; the interleaving of the two kinds is uniform.
type noiseMixture struct {
	noise   []float32 // noise images, C*H*W values each
	noiseY  []int32
	copies  int
	retain  nn.Dataset
	seed    uint64
	c, h, w int
	classes int
}

func (s *noiseMixture) Len() int               { return len(s.noiseY)*s.copies + s.retain.Len() }
func (s *noiseMixture) NumClasses() int        { return s.classes }
func (s *noiseMixture) Shape() (int, int, int) { return s.c, s.h, s.w }

func (s *noiseMixture) Batches(epoch, batchSize int) nn.Loader {
	nNoise := len(s.noiseY) * s.copies
	order := make([]int32, nNoise+s.retain.Len())
	for i := range order {
		if i < nNoise {
			order[i] = int32(i % len(s.noiseY))
		} else {
			order[i] = -1 // the next retained image
		}
	}
	r := rand.New(rand.NewPCG(s.seed, uint64(epoch)))
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	return &noiseMixtureLoader{s: s, order: order, bs: batchSize, retain: s.retain.Batches(epoch, max(batchSize, 1))}
}

type noiseMixtureLoader struct {
	s      *noiseMixture
	order  []int32
	bs     int
	pos    int
	retain nn.Loader
	rb     nn.Batch // the current retained batch
	rpos   int
	err    error
}

func (l *noiseMixtureLoader) Next(b *nn.Batch) bool {
	if l.err != nil || l.pos >= len(l.order) {
		return false
	}
	if l.bs < 1 {
		l.err = fmt.Errorf("batch size %d: expected at least 1", l.bs)
		return false
	}
	chw := l.s.c * l.s.h * l.s.w
	idx := l.order[l.pos:min(l.pos+l.bs, len(l.order))]
	b.N, b.C, b.H, b.W = len(idx), l.s.c, l.s.h, l.s.w
	b.X = growSlice(b.X, len(idx)*chw)
	b.Y = growSlice(b.Y, len(idx))
	for k, i := range idx {
		dst := b.X[k*chw : (k+1)*chw]
		if i >= 0 {
			copy(dst, l.s.noise[int(i)*chw:(int(i)+1)*chw])
			b.Y[k] = l.s.noiseY[i]
			continue
		}
		if l.rpos >= l.rb.N {
			if !l.retain.Next(&l.rb) {
				l.err = l.retain.Err()
				if l.err == nil {
					l.err = fmt.Errorf("the retained images ran out before the impair set's end")
				}
				return false
			}
			l.rpos = 0
		}
		copy(dst, l.rb.X[l.rpos*chw:(l.rpos+1)*chw])
		b.Y[k] = l.rb.Y[l.rpos]
		l.rpos++
	}
	l.pos += len(idx)
	return true
}

func (l *noiseMixtureLoader) Err() error { return l.err }

// Close stops the retained images' loader.
func (l *noiseMixtureLoader) Close() error {
	closeLoader(l.retain)
	return nil
}
