package unlearn

import (
	"context"
	"fmt"
	"math"
	"time"

	"lethe/data"
	"lethe/nn"
)

// BadTeacher is Chundawat et al.'s competent/incompetent teacher method
// (AAAI 2023; METHODS.md, More baselines): the student (a copy of the
// model) is distilled, on D_f (l = 1) and a random fraction of D_r
// (l = 0), towards p = l·softmax(z_bad/T) + (1−l)·softmax(z_full/T), where
// z_full are the original model's logits and z_bad those of a randomly
// initialised copy; loss KL(p ‖ softmax(z_student/T)), Adam.
type BadTeacher struct {
	RetainFraction, Temperature, LR float64
	Epochs, BatchSize               int
}

func init() { register("bad_teacher", newBadTeacher) }

func newBadTeacher(p Params) (Method, error) {
	if err := validate("bad_teacher", p); err != nil {
		return nil, err
	}
	g := &getter{method: "bad_teacher", p: p}
	t := &BadTeacher{RetainFraction: g.float("retain_fraction"), Temperature: g.float("temperature"), LR: g.float("lr"),
		Epochs: g.int("epochs"), BatchSize: g.int("batch_size")}
	if g.err != nil {
		return nil, g.err
	}
	return t, nil
}

func (t *BadTeacher) Name() string { return "bad_teacher" }

// BadTeacherRecord is what Bad Teacher did.
type BadTeacherRecord struct {
	Forget   int         `json:"forget_samples"`   // |D_f|, label 1
	Retained int         `json:"retained_samples"` // the D_r fraction, label 0
	Epochs   []EpochLoss `json:"epochs"`           // loss: cross-entropy to the target (KL + its entropy)
}

// Unlearn distils a copy of req.Model. The incompetent teacher's
// initialisation and the D_r fraction are drawn from req.Seed.
func (t *BadTeacher) Unlearn(ctx context.Context, req *Request) (*Result, error) {
	split, err := beginSplit("bad_teacher", req)
	if err != nil {
		return nil, err
	}
	retained := split.Dr.Sample(int(math.Round(t.RetainFraction*float64(split.Dr.Len()))), req.Seed+61)
	mix, err := retained.Union(split.Df)
	if err != nil {
		return nil, fmt.Errorf("bad_teacher: %w", err)
	}
	isForget := map[int32]bool{}
	for _, c := range split.Forget {
		isForget[int32(c)] = true
	}
	labels := make([]int32, mix.Len())
	for i := range labels {
		if isForget[mix.Label(i)] {
			labels[i] = 1
		}
	}
	feed, err := mix.Feed(data.FeedOptions{Shuffle: true, Augment: true, Seed: req.Seed + 62, Labels: labels})
	if err != nil {
		return nil, fmt.Errorf("bad_teacher: %w", err)
	}
	student, err := req.Model.Clone()
	if err != nil {
		return nil, err
	}
	competent, err := req.Model.Clone()
	if err != nil {
		student.Release()
		return nil, err
	}
	incompetent, err := freshModel(req.Model, req.Seed^0x626164)
	if err != nil {
		releaseAll(student, competent)
		return nil, fmt.Errorf("bad_teacher: incompetent teacher: %w", err)
	}
	full, bad := &teacher{m: competent}, &teacher{m: incompetent}
	defer full.release()
	defer bad.release()
	rec := &BadTeacherRecord{Forget: split.Df.Len(), Retained: retained.Len()}
	secs, err := timed(student.Backend(), func() error { return t.distil(ctx, req, student, full, bad, feed, rec) })
	if err != nil {
		student.Release()
		return nil, fmt.Errorf("bad_teacher: %w", err)
	}
	return &Result{Model: student, Method: "bad_teacher", Seconds: secs, Details: rec}, nil
}

func (t *BadTeacher) distil(ctx context.Context, req *Request, student *nn.Model, full, bad *teacher, feed nn.Dataset, rec *BadTeacherRecord) error {
	tr, err := nn.NewTrainer(student, nn.OptimConfig{Name: "adam", LR: t.LR}, 0, nn.OrthoExclude{})
	if err != nil {
		return err
	}
	defer tr.Release()
	b := student.Backend()
	var mixer targetMixer
	defer mixer.release(b)
	c := &nn.Ctx{Train: true}
	for e := 0; e < t.Epochs; e++ {
		t0 := time.Now()
		loss, err := runEpoch(ctx, student, feed, e, t.BatchSize, func(bt *nn.Batch) (float64, error) {
			pBad, err := bad.softmax(bt, t.Temperature)
			if err != nil {
				return 0, err
			}
			pFull, err := full.softmax(bt, t.Temperature)
			if err != nil {
				return 0, err
			}
			target := mixer.mix(b, pBad, pFull, bt.Y[:bt.N])
			student.ZeroGrad()
			v, err := accumulate(student, c, bt, func(logits *nn.Tensor, _ nn.IntBuf, bt *nn.Batch) (*nn.Tensor, float64, error) {
				g := tr.CE.ComputeSoft(b, logits, target, t.Temperature, 1/float32(bt.N))
				return g, tr.CE.Mean(b), nil
			})
			if err != nil || !finite(v) {
				return v, err
			}
			update(tr, t.LR, nil)
			return v, nil
		})
		if err != nil {
			return fmt.Errorf("epoch %d: %w", e+1, err)
		}
		rec.Epochs = append(rec.Epochs, EpochLoss{Phase: "distil", Epoch: e + 1, LR: t.LR, Loss: loss, Seconds: time.Since(t0).Seconds()})
		progress(req, "bad teacher", e+1, t.Epochs)
	}
	return nil
}

// targetMixer builds Bad Teacher's target p = l·pBad + (1−l)·pFull row by
// row on the device, from host labels l ∈ {0, 1}.
type targetMixer struct {
	lw, rw, a, out deviceScratch
	host           []float32
	t              nn.Tensor
}

// mix returns the target [N classes]; valid until the next call.
func (x *targetMixer) mix(b nn.Backend, pBad, pFull *nn.Tensor, labels []int32) *nn.Tensor {
	n, k := pBad.Dim(0), pBad.Dim(1)
	if cap(x.host) < 2*n*k {
		x.host = make([]float32, 2*n*k)
	}
	l, r := x.host[:n*k], x.host[n*k:2*n*k]
	for i, y := range labels {
		for j := 0; j < k; j++ {
			l[i*k+j] = float32(y)
			r[i*k+j] = 1 - float32(y)
		}
	}
	lw, rw, a, out := x.lw.get(b, n*k), x.rw.get(b, n*k), x.a.get(b, n*k), x.out.get(b, n*k)
	b.Upload(lw, l)
	b.Upload(rw, r)
	b.Mul(a, pBad.Data, lw)
	b.Mul(out, pFull.Data, rw)
	b.Add(out, out, a)
	x.t = nn.Tensor{Shape: []int{n, k}, Data: out}
	return &x.t
}

func (x *targetMixer) release(b nn.Backend) {
	x.lw.release(b)
	x.rw.release(b)
	x.a.release(b)
	x.out.release(b)
}
