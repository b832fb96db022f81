package unlearn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"lethe/nn"
)

// NegGrad is gradient ascent on the forget data (METHODS.md, More
// baselines): the plain variant maximises the cross-entropy on D_f; the
// "plus" variant (NegGrad+) iterates D_r while cycling D_f and minimises
// α·CE_r − (1−α)·CE_f, one batch of each per step. SGD with momentum and
// weight decay, constant learning rate.
type NegGrad struct {
	Epochs    int
	Optim     nn.OptimConfig
	BatchSize int
	Plus      bool
	Alpha     float64
}

func init() { register("neggrad", newNegGrad) }

func newNegGrad(p Params) (Method, error) {
	if err := validate("neggrad", p); err != nil {
		return nil, err
	}
	g := &getter{method: "neggrad", p: p}
	n := &NegGrad{
		Epochs:    g.int("epochs"),
		Optim:     nn.OptimConfig{Name: "sgd", LR: g.float("lr"), Momentum: g.float("momentum"), WeightDecay: g.float("weight_decay")},
		BatchSize: g.int("batch_size"),
		Plus:      g.str("variant", "plain", "plus") == "plus",
		Alpha:     g.float("alpha"),
	}
	if g.err != nil {
		return nil, g.err
	}
	return n, nil
}

func (n *NegGrad) Name() string { return "neggrad" }

// Unlearn runs the chosen variant on a copy of req.Model. An epoch is a
// pass over D_f (plain) or over D_r (plus).
//
// Gradient ascent has no bounded optimum: with METHODS.md's defaults the
// forget loss reaches infinity within a few epochs. When a step's loss is
// no longer finite, NegGrad stops and returns the parameters from before
// the previous update (the last whose loss was finite), and says so in
// TrainingRecord.Stopped, rather than failing the run.
func (n *NegGrad) Unlearn(ctx context.Context, req *Request) (*Result, error) {
	split, err := beginSplit("neggrad", req)
	if err != nil {
		return nil, err
	}
	m, err := req.Model.Clone()
	if err != nil {
		return nil, err
	}
	last, err := req.Model.Clone()
	if err != nil {
		m.Release()
		return nil, err
	}
	defer last.Release()
	rec := &TrainingRecord{}
	secs, err := timed(m.Backend(), func() error {
		if !n.Plus {
			return n.ascend(ctx, req, m, last, split.Df.TrainFeed(req.Seed+41), rec)
		}
		return n.plus(ctx, req, m, last, split.Dr.TrainFeed(req.Seed+42), split.Df.TrainFeed(req.Seed+43), rec)
	})
	if err != nil {
		m.Release()
		return nil, fmt.Errorf("neggrad: %w", err)
	}
	return &Result{Model: m, Method: "neggrad", Seconds: secs, Details: rec}, nil
}

// errDiverged ends an ascent whose loss is no longer finite.
var errDiverged = errors.New("the loss is no longer finite")

// epochs runs the variant's passes with step, keeping in last a copy of
// the parameters before each update so that a diverging step can be
// undone.
func (n *NegGrad) epochs(ctx context.Context, req *Request, m, last *nn.Model, ds nn.Dataset, phase string, rec *TrainingRecord, step func(bt *nn.Batch) (float64, error)) error {
	for e := 0; e < n.Epochs; e++ {
		t0 := time.Now()
		steps := 0
		loss, err := runEpoch(ctx, m, ds, e, n.BatchSize, func(bt *nn.Batch) (float64, error) {
			steps++
			v, err := step(bt)
			if err == nil && !finite(v) {
				m.CopyFrom(last)
				return 0, errDiverged
			}
			return v, err
		})
		if errors.Is(err, errDiverged) {
			rec.Stopped = fmt.Sprintf("the loss diverged at epoch %d step %d; kept the parameters before the previous update", e+1, steps)
			return nil
		}
		if err != nil {
			return fmt.Errorf("epoch %d: %w", e+1, err)
		}
		rec.Epochs = append(rec.Epochs, EpochLoss{Phase: phase, Epoch: e + 1, LR: n.Optim.LR, Loss: loss, Seconds: time.Since(t0).Seconds()})
		progress(req, phase, e+1, n.Epochs)
	}
	return nil
}

// ascend is plain NegGrad: descend −CE on D_f.
func (n *NegGrad) ascend(ctx context.Context, req *Request, m, last *nn.Model, forget nn.Dataset, rec *TrainingRecord) error {
	tr, err := nn.NewTrainer(m, n.Optim, 0, nn.OrthoExclude{})
	if err != nil {
		return err
	}
	defer tr.Release()
	c := &nn.Ctx{Train: true}
	loss := ceLoss(m.Backend(), &tr.CE, -1)
	return n.epochs(ctx, req, m, last, forget, "ascend", rec, func(bt *nn.Batch) (float64, error) {
		m.ZeroGrad()
		v, err := accumulate(m, c, bt, loss)
		if err != nil || !finite(v) {
			return v, err
		}
		last.CopyFrom(m)
		update(tr, n.Optim.LR, nil)
		return v, nil
	})
}

// plus is NegGrad+: per step one D_r batch (weight α) and the next D_f
// batch (weight −(1−α)), whose gradients add into one update. The D_f
// feed starts a new pass (a new shuffle) whenever it runs out.
func (n *NegGrad) plus(ctx context.Context, req *Request, m, last *nn.Model, retain, forget nn.Dataset, rec *TrainingRecord) error {
	tr, err := nn.NewTrainer(m, n.Optim, 0, nn.OrthoExclude{})
	if err != nil {
		return err
	}
	defer tr.Release()
	b := m.Backend()
	var ceF nn.CrossEntropy
	defer ceF.Release(b)
	c := &nn.Ctx{Train: true}
	cycle := &cyclingLoader{ds: forget, batchSize: n.BatchSize}
	defer cycle.close()
	var fb nn.Batch
	retainLoss := ceLoss(b, &tr.CE, float32(n.Alpha))
	forgetLoss := ceLoss(b, &ceF, -float32(1-n.Alpha))
	return n.epochs(ctx, req, m, last, retain, "neggrad+", rec, func(bt *nn.Batch) (float64, error) {
		if err := cycle.next(&fb); err != nil {
			return 0, err
		}
		m.ZeroGrad()
		lr, err := accumulate(m, c, bt, retainLoss)
		if err != nil || !finite(lr) {
			return lr, err
		}
		lf, err := accumulate(m, c, &fb, forgetLoss)
		if err != nil || !finite(lf) {
			return lf, err
		}
		last.CopyFrom(m)
		update(tr, n.Optim.LR, nil)
		return lr + lf, nil
	})
}

// cyclingLoader yields batches of ds forever, starting a new pass (the
// next epoch's order) whenever one ends.
type cyclingLoader struct {
	ds        nn.Dataset
	batchSize int
	ld        nn.Loader
	pass      int
}

func (c *cyclingLoader) next(bt *nn.Batch) error {
	for tries := 0; tries < 2; tries++ {
		if c.ld == nil {
			c.ld = c.ds.Batches(c.pass, c.batchSize)
			c.pass++
		}
		if c.ld.Next(bt) {
			return nil
		}
		if err := c.ld.Err(); err != nil {
			return err
		}
		c.ld = nil
	}
	return fmt.Errorf("the forget data yields no batches")
}

func (c *cyclingLoader) close() {
	if c.ld != nil {
		closeLoader(c.ld)
	}
}
