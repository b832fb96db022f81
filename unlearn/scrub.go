package unlearn

import (
	"context"
	"fmt"
	"time"

	"lethe/nn"
)

// SCRUB is Kurmanji et al.'s teacher-student method (NeurIPS 2023;
// METHODS.md, More baselines). The teacher is the original model, the
// student a copy; KD(s, t) = KL(softmax(t/T) ‖ softmax(s/T))·T². Each of
// the first MaxEpochs epochs starts with a pass over D_f that maximises
// KD; every epoch then passes over D_r minimising γ·CE + α·KD. SGD with
// momentum and weight decay.
type SCRUB struct {
	Temperature              float64
	Epochs, MaxEpochs        int
	Optim                    nn.OptimConfig
	ForgetBatch, RetainBatch int
	Alpha, Gamma             float64
}

func init() { register("scrub", newSCRUB) }

func newSCRUB(p Params) (Method, error) {
	if err := validate("scrub", p); err != nil {
		return nil, err
	}
	g := &getter{method: "scrub", p: p}
	s := &SCRUB{
		Temperature: g.float("temperature"), Epochs: g.int("epochs"), MaxEpochs: g.int("max_epochs"),
		Optim:       nn.OptimConfig{Name: "sgd", LR: g.float("lr"), Momentum: g.float("momentum"), WeightDecay: g.float("weight_decay")},
		ForgetBatch: g.int("forget_batch_size"), RetainBatch: g.int("retain_batch_size"),
		Alpha: g.float("alpha"), Gamma: g.float("gamma"),
	}
	if g.err != nil {
		return nil, g.err
	}
	return s, nil
}

func (s *SCRUB) Name() string { return "scrub" }

// Unlearn trains a student copy of req.Model against a frozen teacher
// copy. The recorded losses are the optimised objectives with the
// distillation term written as T²·cross-entropy to the teacher (KD plus
// the teacher's entropy, a constant): "forget-max" records −T²·CE_KD,
// "retain" γ·CE + α·T²·CE_KD.
func (s *SCRUB) Unlearn(ctx context.Context, req *Request) (*Result, error) {
	split, err := beginSplit("scrub", req)
	if err != nil {
		return nil, err
	}
	student, err := req.Model.Clone()
	if err != nil {
		return nil, err
	}
	tm, err := req.Model.Clone()
	if err != nil {
		student.Release()
		return nil, err
	}
	t := &teacher{m: tm}
	defer t.release()
	rec := &TrainingRecord{}
	secs, err := timed(student.Backend(), func() error {
		return s.train(ctx, req, student, t, split.Df.TrainFeed(req.Seed+71), split.Dr.TrainFeed(req.Seed+72), rec)
	})
	if err != nil {
		student.Release()
		return nil, fmt.Errorf("scrub: %w", err)
	}
	return &Result{Model: student, Method: "scrub", Seconds: secs, Details: rec}, nil
}

func (s *SCRUB) train(ctx context.Context, req *Request, student *nn.Model, t *teacher, forget, retain nn.Dataset, rec *TrainingRecord) error {
	tr, err := nn.NewTrainer(student, s.Optim, 0, nn.OrthoExclude{})
	if err != nil {
		return err
	}
	defer tr.Release()
	b := student.Backend()
	var kd nn.CrossEntropy
	defer kd.Release(b)
	c := &nn.Ctx{Train: true}
	T := s.Temperature
	pass := func(phase string, ds nn.Dataset, epoch, batchSize int, loss func(pt *nn.Tensor) lossGrad) error {
		t0 := time.Now()
		mean, err := runEpoch(ctx, student, ds, epoch, batchSize, func(bt *nn.Batch) (float64, error) {
			pt, err := t.softmax(bt, T)
			if err != nil {
				return 0, err
			}
			student.ZeroGrad()
			v, err := accumulate(student, c, bt, loss(pt))
			if err != nil || !finite(v) {
				return v, err
			}
			update(tr, s.Optim.LR, nil)
			return v, nil
		})
		if err != nil {
			return fmt.Errorf("%s epoch %d: %w", phase, epoch+1, err)
		}
		rec.Epochs = append(rec.Epochs, EpochLoss{Phase: phase, Epoch: epoch + 1, LR: s.Optim.LR, Loss: mean, Seconds: time.Since(t0).Seconds()})
		return nil
	}
	maxKD := func(pt *nn.Tensor) lossGrad {
		return func(logits *nn.Tensor, _ nn.IntBuf, bt *nn.Batch) (*nn.Tensor, float64, error) {
			g, v := scrubForgetGrad(b, &kd, logits, pt, T)
			return g, v, nil
		}
	}
	minMixed := func(pt *nn.Tensor) lossGrad {
		return func(logits *nn.Tensor, y nn.IntBuf, bt *nn.Batch) (*nn.Tensor, float64, error) {
			g, v := scrubRetainGrad(b, &tr.CE, &kd, logits, y, pt, T, s.Gamma, s.Alpha)
			return g, v, nil
		}
	}
	for e := 0; e < s.Epochs; e++ {
		if e < s.MaxEpochs {
			if err := pass("forget-max", forget, e, s.ForgetBatch, maxKD); err != nil {
				return err
			}
		}
		if err := pass("retain", retain, e, s.RetainBatch, minMixed); err != nil {
			return err
		}
		progress(req, "scrub", e+1, s.Epochs)
	}
	return nil
}

// scrubForgetGrad is the max step's gradient: of −T²·mean_i CE(pt_i,
// softmax(z_i/T)), which differs from −KD by the teacher's entropy only.
func scrubForgetGrad(b nn.Backend, kd *nn.CrossEntropy, logits, pt *nn.Tensor, T float64) (*nn.Tensor, float64) {
	n := logits.Dim(0)
	scale := float32(T * T / float64(n))
	g := kd.ComputeSoft(b, logits, pt, T, -scale)
	return g, -T * T * kd.Mean(b)
}

// scrubRetainGrad is the min step's gradient: of γ·CE(z, y) +
// α·T²·mean_i CE(pt_i, softmax(z_i/T)). It is left in ce's gradient
// buffer.
func scrubRetainGrad(b nn.Backend, ce, kd *nn.CrossEntropy, logits *nn.Tensor, y nn.IntBuf, pt *nn.Tensor, T, gamma, alpha float64) (*nn.Tensor, float64) {
	n := logits.Dim(0)
	g := ce.Compute(b, logits, y, float32(gamma/float64(n)))
	gk := kd.ComputeSoft(b, logits, pt, T, float32(alpha*T*T/float64(n)))
	b.Add(g.Data, g.Data, gk.Data)
	return g, gamma*ce.Mean(b) + alpha*T*T*kd.Mean(b)
}
