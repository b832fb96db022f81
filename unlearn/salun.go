package unlearn

import (
	"context"
	"fmt"
	"slices"
	"time"

	"lethe/nn"
)

// SalUn is saliency-masked random-label training (Fan et al., ICLR 2024;
// METHODS.md, More baselines): the saliency of a parameter element is
// |Σ over D_f batches of grad(−CE)| (the model in evaluation mode, as the
// reference's generate_mask.py); the mask keeps the top Fraction of all
// elements; then the model trains on D_f with random labels (never the
// true class) mixed with D_r, its gradient multiplied by the mask before
// each SGD step.
type SalUn struct {
	Fraction  float64
	Epochs    int
	Optim     nn.OptimConfig
	BatchSize int
}

func init() { register("salun", newSalUn) }

func newSalUn(p Params) (Method, error) {
	if err := validate("salun", p); err != nil {
		return nil, err
	}
	g := &getter{method: "salun", p: p}
	s := &SalUn{
		Fraction:  g.float("fraction"),
		Epochs:    g.int("epochs"),
		Optim:     nn.OptimConfig{Name: "sgd", LR: g.float("lr"), Momentum: g.float("momentum"), WeightDecay: g.float("weight_decay")},
		BatchSize: g.int("batch_size"),
	}
	if g.err != nil {
		return nil, g.err
	}
	return s, nil
}

func (s *SalUn) Name() string { return "salun" }

// SalUnRecord is what SalUn did.
type SalUnRecord struct {
	Masked      int         `json:"masked"` // parameter elements the mask keeps
	Parameters  int         `json:"parameters"`
	MaskSeconds float64     `json:"mask_seconds"`
	Epochs      []EpochLoss `json:"epochs"`
}

// Unlearn builds the mask and trains a copy of req.Model under it.
func (s *SalUn) Unlearn(ctx context.Context, req *Request) (*Result, error) {
	split, err := beginSplit("salun", req)
	if err != nil {
		return nil, err
	}
	feed, err := relabelledMixture(split, req, req.Seed+81)
	if err != nil {
		return nil, fmt.Errorf("salun: %w", err)
	}
	m, err := req.Model.Clone()
	if err != nil {
		return nil, err
	}
	b := m.Backend()
	mask := b.Alloc(m.NumParams())
	defer b.Free(mask)
	rec := &SalUnRecord{Parameters: m.NumParams()}
	secs, err := timed(b, func() error {
		t0 := time.Now()
		var err error
		if rec.Masked, err = s.saliencyMask(ctx, m, split.Df.EvalFeed(), mask); err != nil {
			return fmt.Errorf("saliency: %w", err)
		}
		rec.MaskSeconds = time.Since(t0).Seconds()
		return s.train(ctx, req, m, feed, mask, rec)
	})
	if err != nil {
		m.Release()
		return nil, fmt.Errorf("salun: %w", err)
	}
	return &Result{Model: m, Method: "salun", Seconds: secs, Details: rec}, nil
}

// saliencyMask writes the 0/1 mask of the top Fraction of saliencies
// into mask and returns how many elements it keeps.
func (s *SalUn) saliencyMask(ctx context.Context, m *nn.Model, forget nn.Dataset, mask nn.Buf) (int, error) {
	b := m.Backend()
	sal := b.Alloc(m.NumParams())
	defer b.Free(sal)
	if _, err := gradientPass(ctx, m, forget, s.BatchSize, -1, func(g nn.Buf) { b.Axpy(1, g, sal) }); err != nil {
		return 0, err
	}
	// g² orders the elements as |g| does; no backend op takes |·|.
	b.Mul(sal, sal, sal)
	host := make([]float32, sal.Len())
	b.Download(host, sal)
	keep, kept := topFractionMask(host, s.Fraction)
	b.Upload(mask, keep)
	return kept, nil
}

// topFractionMask returns a 0/1 mask that keeps the floor(fraction·n)
// largest values (as the reference's int(len·fraction)); among equal
// values at the threshold the lower indices are kept, so the count is
// exact.
func topFractionMask(v []float32, fraction float64) ([]float32, int) {
	n := len(v)
	k := min(max(int(fraction*float64(n)+1e-9), 0), n)
	mask := make([]float32, n)
	if k == 0 {
		return mask, 0
	}
	sorted := slices.Clone(v)
	slices.Sort(sorted)
	threshold := sorted[n-k] // the k-th largest
	above := 0
	for _, x := range v {
		if x > threshold {
			above++
		}
	}
	ties := k - above // equal to the threshold: keep the first ones
	for i, x := range v {
		switch {
		case x > threshold:
			mask[i] = 1
		case x == threshold && ties > 0:
			mask[i] = 1
			ties--
		}
	}
	return mask, k
}

func (s *SalUn) train(ctx context.Context, req *Request, m *nn.Model, feed nn.Dataset, mask nn.Buf, rec *SalUnRecord) error {
	tr, err := nn.NewTrainer(m, s.Optim, 0, nn.OrthoExclude{})
	if err != nil {
		return err
	}
	defer tr.Release()
	c := &nn.Ctx{Train: true}
	loss := ceLoss(m.Backend(), &tr.CE, 1)
	for e := 0; e < s.Epochs; e++ {
		t0 := time.Now()
		mean, err := runEpoch(ctx, m, feed, e, s.BatchSize, func(bt *nn.Batch) (float64, error) {
			m.ZeroGrad()
			v, err := accumulate(m, c, bt, loss)
			if err != nil || !finite(v) {
				return v, err
			}
			update(tr, s.Optim.LR, mask)
			return v, nil
		})
		if err != nil {
			return fmt.Errorf("epoch %d: %w", e+1, err)
		}
		rec.Epochs = append(rec.Epochs, EpochLoss{Phase: "masked random labels", Epoch: e + 1, LR: s.Optim.LR, Loss: mean, Seconds: time.Since(t0).Seconds()})
		progress(req, "salun", e+1, s.Epochs)
	}
	return nil
}
