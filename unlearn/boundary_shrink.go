package unlearn

import (
	"context"
	"fmt"
	"math"
	"time"

	"lethe/nn"
)

// BoundaryShrink is Chen et al.'s boundary shrinking (CVPR 2023; METHODS.md,
// More baselines): a frozen copy f0 of the model finds, for each D_f
// image, its nearest neighbour across the decision boundary with one FGSM
// step in pixel space, x_adv = clamp(x + ε·sign(∇x CE(f0(x), y)), 0, 1);
// the model then trains on (x, argmax f0(x_adv)), SGD with momentum.
// (The reference code takes 5 PGD steps of 8/255 within ε; METHODS.md's
// single FGSM step is what is implemented.)
type BoundaryShrink struct {
	Epsilon   float64
	Optim     nn.OptimConfig
	Epochs    int
	BatchSize int
}

func init() { register("boundary_shrink", newBoundaryShrink) }

func newBoundaryShrink(p Params) (Method, error) {
	if err := validate("boundary_shrink", p); err != nil {
		return nil, err
	}
	g := &getter{method: "boundary_shrink", p: p}
	s := &BoundaryShrink{
		Epsilon:   g.float("epsilon"),
		Optim:     nn.OptimConfig{Name: "sgd", LR: g.float("lr"), Momentum: g.float("momentum")},
		Epochs:    g.int("epochs"),
		BatchSize: g.int("batch_size"),
	}
	if g.err != nil {
		return nil, g.err
	}
	return s, nil
}

func (s *BoundaryShrink) Name() string { return "boundary_shrink" }

// BoundaryShrinkRecord is what Boundary Shrink did: per epoch the loss
// and how often the neighbour's label differed from the true one, and
// the neighbour labels' counts per class over the last epoch.
type BoundaryShrinkRecord struct {
	Epochs          []EpochLoss `json:"epochs"`
	CrossedFraction []float64   `json:"crossed_fraction"`
	NeighbourCounts []int       `json:"neighbour_counts"`
}

// Unlearn shrinks the boundary of a copy of req.Model.
func (s *BoundaryShrink) Unlearn(ctx context.Context, req *Request) (*Result, error) {
	split, err := beginSplit("boundary_shrink", req)
	if err != nil {
		return nil, err
	}
	m, err := req.Model.Clone()
	if err != nil {
		return nil, err
	}
	f0, err := req.Model.Clone()
	if err != nil {
		m.Release()
		return nil, err
	}
	nb := &neighbourFinder{f0: f0, eps: s.Epsilon, mean: req.Data.Mean, std: req.Data.Std}
	defer nb.release()
	rec := &BoundaryShrinkRecord{}
	secs, err := timed(m.Backend(), func() error {
		return s.train(ctx, req, m, nb, split.Df.TrainFeed(req.Seed+91), rec)
	})
	if err != nil {
		m.Release()
		return nil, fmt.Errorf("boundary_shrink: %w", err)
	}
	return &Result{Model: m, Method: "boundary_shrink", Seconds: secs, Details: rec}, nil
}

func (s *BoundaryShrink) train(ctx context.Context, req *Request, m *nn.Model, nb *neighbourFinder, forget nn.Dataset, rec *BoundaryShrinkRecord) error {
	tr, err := nn.NewTrainer(m, s.Optim, 0, nn.OrthoExclude{})
	if err != nil {
		return err
	}
	defer tr.Release()
	k := m.Config.Classes
	for e := 0; e < s.Epochs; e++ {
		t0 := time.Now()
		crossed, seen := 0, 0
		counts := make([]int, k)
		mean, err := runEpoch(ctx, m, forget, e, s.BatchSize, func(bt *nn.Batch) (float64, error) {
			labels, err := nb.labels(bt)
			if err != nil {
				return 0, err
			}
			for i, y := range labels {
				if y != bt.Y[i] {
					crossed++
				}
				counts[y]++
			}
			seen += bt.N
			copy(bt.Y, labels)
			loss, _, err := tr.Step(bt, s.Optim.LR, 1)
			return loss, err
		})
		if err != nil {
			return fmt.Errorf("epoch %d: %w", e+1, err)
		}
		rec.Epochs = append(rec.Epochs, EpochLoss{Phase: "shrink", Epoch: e + 1, LR: s.Optim.LR, Loss: mean, Seconds: time.Since(t0).Seconds()})
		rec.CrossedFraction = append(rec.CrossedFraction, float64(crossed)/float64(max(seen, 1)))
		rec.NeighbourCounts = counts
		progress(req, "boundary shrink", e+1, s.Epochs)
	}
	return nil
}

// neighbourFinder runs the FGSM step on the frozen model (evaluation
// mode) and labels the adversarial images with its prediction.
type neighbourFinder struct {
	f0        *nn.Model
	eps       float64
	mean, std []float64 // the dataset's normalisation, per channel
	ce        nn.CrossEntropy
	grad      []float32
	logits    []float32
	adv       nn.Batch
	out       []int32
}

// adversarial fills nb.adv with the FGSM images of bt (normalised like
// bt) and returns it.
func (nb *neighbourFinder) adversarial(bt *nn.Batch) (*nn.Batch, error) {
	m, b := nb.f0, nb.f0.Backend()
	x, y, err := m.Input(bt)
	if err != nil {
		return nil, err
	}
	c := &nn.Ctx{InputGrad: true}
	logits, err := m.Forward(c, x)
	if err != nil {
		return nil, err
	}
	g := nb.ce.Compute(b, logits, y, 1/float32(bt.N))
	m.ZeroGrad()
	dx, err := m.Backward(c, g)
	if err != nil {
		return nil, err
	}
	if dx == nil {
		return nil, fmt.Errorf("the model returned no input gradient")
	}
	n := bt.N * bt.C * bt.H * bt.W
	nb.grad = growSlice(nb.grad, n)
	b.Download(nb.grad, dx.Data)
	nb.adv.N, nb.adv.C, nb.adv.H, nb.adv.W = bt.N, bt.C, bt.H, bt.W
	nb.adv.X = growSlice(nb.adv.X, n)
	nb.adv.Y = append(nb.adv.Y[:0], bt.Y[:bt.N]...)
	fgsm(nb.adv.X, bt.X[:n], nb.grad, bt.C, bt.H*bt.W, nb.mean, nb.std, nb.eps)
	return &nb.adv, nil
}

// labels returns f0's predictions on the FGSM neighbours of bt's images.
func (nb *neighbourFinder) labels(bt *nn.Batch) ([]int32, error) {
	adv, err := nb.adversarial(bt)
	if err != nil {
		return nil, err
	}
	m, b := nb.f0, nb.f0.Backend()
	x, _, err := m.Input(adv)
	if err != nil {
		return nil, err
	}
	logits, err := m.Forward(&nn.Ctx{}, x)
	if err != nil {
		return nil, err
	}
	k := logits.Dim(1)
	nb.logits = growSlice(nb.logits, bt.N*k)
	b.Download(nb.logits, logits.Data)
	nb.out = growSlice(nb.out, bt.N)
	for i := range nb.out {
		nb.out[i] = int32(nn.Argmax(nb.logits[i*k : (i+1)*k]))
	}
	return nb.out, nil
}

func (nb *neighbourFinder) release() {
	nb.ce.Release(nb.f0.Backend())
	nb.f0.Release()
}

// fgsm writes the normalised adversarial image of x (normalised, c
// channels of hw values per image) given the loss gradient with respect
// to x: one step of eps·sign(gradient) in pixel space (the gradient in
// pixel space has the same sign, std being positive), clamped to [0, 1].
// sign(0) = 0, as torch.sign.
func fgsm(dst, x, grad []float32, c, hw int, mean, std []float64, eps float64) {
	for i, v := range x {
		ch := (i / hw) % c
		m, s := mean[ch%len(mean)], std[ch%len(std)]
		p := float64(v)*s + m
		switch {
		case grad[i] > 0:
			p += eps
		case grad[i] < 0:
			p -= eps
		}
		p = math.Min(math.Max(p, 0), 1)
		dst[i] = float32((p - m) / s)
	}
}

func growSlice[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
