package unlearn

import (
	"context"
	"fmt"

	"lethe/nn"
)

// SSD is Selective Synaptic Dampening (Foster et al., AAAI 2024; METHODS.md,
// Baselines): with the model in evaluation mode, the importance of every
// parameter element is the mean over batches of its squared loss
// gradient, I_f over D_f and I_D over D = D_r ∪ D_f; where I_f > α·I_D the
// element is multiplied by β = min(λ·I_D/I_f, 1). Every trainable
// parameter takes part (batch norm and the classifier included).
type SSD struct {
	Alpha, Lambda float64
	BatchSize     int
}

func init() { register("ssd", newSSD) }

func newSSD(p Params) (Method, error) {
	if err := validate("ssd", p); err != nil {
		return nil, err
	}
	g := &getter{method: "ssd", p: p}
	s := &SSD{Alpha: g.float("alpha"), Lambda: g.float("lambda"), BatchSize: g.int("batch_size")}
	if g.err != nil {
		return nil, g.err
	}
	return s, nil
}

func (s *SSD) Name() string { return "ssd" }

// SSDRecord is what SSD did: how many elements it dampened, per tensor
// and in total, and how many batches each importance averaged.
type SSDRecord struct {
	Dampened      int         `json:"dampened"`
	Parameters    int         `json:"parameters"`
	Tensors       []SSDTensor `json:"tensors"`
	ForgetBatches int         `json:"forget_batches"`
	FullBatches   int         `json:"full_batches"`
}

// SSDTensor counts the dampened elements of one parameter tensor.
type SSDTensor struct {
	Name     string `json:"name"`
	Dampened int    `json:"dampened"`
	Size     int    `json:"size"`
}

// Unlearn computes both importances and dampens a copy of req.Model.
// Importances use the training images without augmentation: they measure
// the data, not a random view of it.
func (s *SSD) Unlearn(ctx context.Context, req *Request) (*Result, error) {
	split, err := beginSplit("ssd", req)
	if err != nil {
		return nil, err
	}
	full, err := split.Dr.Union(split.Df)
	if err != nil {
		return nil, fmt.Errorf("ssd: %w", err)
	}
	m, err := req.Model.Clone()
	if err != nil {
		return nil, err
	}
	b := m.Backend()
	impF, impD := b.Alloc(m.NumParams()), b.Alloc(m.NumParams())
	defer b.Free(impF)
	defer b.Free(impD)
	rec := &SSDRecord{Parameters: m.NumParams()}
	secs, err := timed(b, func() error {
		var err error
		progress(req, "ssd importances", 0, 2)
		if rec.ForgetBatches, err = meanSquaredGradient(ctx, m, split.Df.EvalFeed(), s.BatchSize, impF); err != nil {
			return fmt.Errorf("importance over D_f: %w", err)
		}
		progress(req, "ssd importances", 1, 2)
		if rec.FullBatches, err = meanSquaredGradient(ctx, m, full.EvalFeed(), s.BatchSize, impD); err != nil {
			return fmt.Errorf("importance over D: %w", err)
		}
		progress(req, "ssd importances", 2, 2)
		b.SelectiveDampen(m.Values(), impF, impD, float32(s.Alpha), float32(s.Lambda))
		return nil
	})
	if err != nil {
		m.Release()
		return nil, fmt.Errorf("ssd: %w", err)
	}
	s.count(m, impF, impD, rec)
	return &Result{Model: m, Method: "ssd", Seconds: secs, Details: rec}, nil
}

// count fills the record's tallies (outside the clock: it reads the
// importances back to the host).
func (s *SSD) count(m *nn.Model, impF, impD nn.Buf, rec *SSDRecord) {
	b := m.Backend()
	f := make([]float32, impF.Len())
	d := make([]float32, impD.Len())
	b.Download(f, impF)
	b.Download(d, impD)
	alpha := float32(s.Alpha)
	for _, p := range m.Params {
		t := SSDTensor{Name: p.Name, Size: p.Numel()}
		for i := p.Offset; i < p.Offset+p.Numel(); i++ {
			if f[i] > alpha*d[i] {
				t.Dampened++
			}
		}
		rec.Dampened += t.Dampened
		rec.Tensors = append(rec.Tensors, t)
	}
}

// meanSquaredGradient sets acc to the mean over the batches of ds of the
// element-wise squared gradient of the batch-mean cross-entropy (SSD's
// importance, as the reference code's calc_importance).
func meanSquaredGradient(ctx context.Context, m *nn.Model, ds nn.Dataset, batchSize int, acc nn.Buf) (int, error) {
	b := m.Backend()
	b.Fill(acc, 0)
	n, err := gradientPass(ctx, m, ds, batchSize, 1, func(g nn.Buf) { b.AddSquared(acc, g, 1) })
	if err != nil {
		return n, err
	}
	if n == 0 {
		return 0, fmt.Errorf("no batches")
	}
	b.Scale(acc, 1/float32(n))
	return n, nil
}
