package nn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// TrainConfig is a training recipe.
type TrainConfig struct {
	Epochs       int            `json:"epochs"`
	BatchSize    int            `json:"batch_size"`
	Optim        OptimConfig    `json:"optimizer"`
	Schedule     ScheduleConfig `json:"schedule"`
	OrthoLambda  float64        `json:"ortho_lambda"`
	OrthoExclude OrthoExclude   `json:"ortho_exclude"`
	// Progress, when set, is called after every step.
	Progress func(TrainProgress) `json:"-"`
	// Eval, when set, is evaluated after every epoch (accuracy in the stats).
	Eval Dataset `json:"-"`
}

// Validate checks the recipe.
func (c *TrainConfig) Validate() error {
	if c.Epochs < 0 {
		return fmt.Errorf("epochs %d is negative", c.Epochs)
	}
	if c.BatchSize < 1 {
		return fmt.Errorf("batch_size %d must be at least 1", c.BatchSize)
	}
	if c.OrthoLambda < 0 || math.IsNaN(c.OrthoLambda) {
		return fmt.Errorf("ortho_lambda %v must be non-negative", c.OrthoLambda)
	}
	if err := c.Optim.validate(); err != nil {
		return err
	}
	return c.Schedule.Validate()
}

// TrainProgress reports one finished step.
type TrainProgress struct {
	Epoch, Epochs       int // Epoch counts from 1
	Step, StepsPerEpoch int // Step counts from 1 within the epoch
	Loss, LR            float64
	Samples             int // samples seen in this epoch so far
	EpochAccuracySoFar  float64
}

// EpochStats summarises one epoch.
type EpochStats struct {
	Epoch     int     `json:"epoch"` // from 1
	Loss      float64 `json:"loss"`  // mean cross-entropy over the epoch
	Ortho     float64 `json:"ortho"` // λ·Σ||WWᵀ−I||² at the end of the epoch
	TrainAcc  float64 `json:"train_acc"`
	EvalAcc   float64 `json:"eval_acc,omitempty"` // NaN-free: 0 when no Eval set
	LR        float64 `json:"lr"`
	Seconds   float64 `json:"seconds"`
	Samples   int     `json:"samples"`
	Deviation float64 `json:"ortho_deviation"` // Σ||WWᵀ−I||² without λ
}

// NonFiniteError reports a NaN or infinite loss and where it came from.
type NonFiniteError struct {
	Epoch, Step int
	Where       string
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("training diverged at epoch %d step %d: %s", e.Epoch, e.Step, e.Where)
}

// Trainer holds what one training step needs, so that loops elsewhere
// (fine-tuning, the unlearning baselines) reuse the same pieces.
type Trainer struct {
	M     *Model
	Opt   *Optimizer
	Ortho *Orthogonality // nil when λ = 0
	// Mask, when set, multiplies the gradient vector before each update
	// (0 freezes a parameter): frozen filters, saliency masks.
	Mask Buf
	// FrozenBN trains with batch norm in evaluation mode: the running
	// statistics normalise and stay as they are (a common fine-tuning
	// choice; it keeps a scaled convolution scaled).
	FrozenBN bool
	CE       CrossEntropy
	ctx      Ctx
	probs    []float32
}

// NewTrainer prepares an optimiser (and the orthogonality term when
// lambda > 0) for m.
func NewTrainer(m *Model, optim OptimConfig, lambda float64, ex OrthoExclude) (*Trainer, error) {
	opt, err := NewOptimizer(m, optim)
	if err != nil {
		return nil, err
	}
	t := &Trainer{M: m, Opt: opt, ctx: Ctx{Train: true}}
	if lambda > 0 {
		t.Ortho = NewOrthogonality(m, lambda, ex)
	}
	return t, nil
}

// Release frees the trainer's buffers (not the model).
func (t *Trainer) Release() {
	t.Opt.Release()
	t.CE.release(t.M.b)
	if t.Ortho != nil {
		t.Ortho.gram.release(t.M.b)
	}
}

// Step runs forward, cross-entropy (scaled by sign: +1 descends, -1
// ascends), backward, the orthogonality gradient and an optimiser update
// on one batch. It returns the batch's mean loss and how many samples it
// classified correctly. A non-finite loss is returned without an update.
func (t *Trainer) Step(bt *Batch, lr float64, sign float32) (loss float64, correct int, err error) {
	m := t.M
	x, y, err := m.Input(bt)
	if err != nil {
		return 0, 0, err
	}
	m.ZeroGrad()
	t.ctx.Train = !t.FrozenBN
	logits, err := m.Forward(&t.ctx, x)
	if err != nil {
		return 0, 0, err
	}
	grad := t.CE.Compute(m.b, logits, y, sign/float32(bt.N))
	// The loss is read before the update so that a non-finite one leaves
	// the parameters as they were, for the diagnosis and the caller.
	loss = t.CE.Mean(m.b)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, 0, nil
	}
	if _, err := m.Backward(&t.ctx, grad); err != nil {
		return 0, 0, err
	}
	if t.Ortho != nil {
		t.Ortho.Apply(m.b, false)
	}
	if t.Mask != nil {
		m.b.Mul(m.grads, m.grads, t.Mask)
	}
	t.Opt.Step(lr)
	correct = t.countCorrect(bt)
	return loss, correct, nil
}

func (t *Trainer) countCorrect(bt *Batch) int {
	p := t.CE.Probs()
	if cap(t.probs) < p.Numel() {
		t.probs = make([]float32, p.Numel())
	}
	probs := t.probs[:p.Numel()]
	t.M.b.Download(probs, p.Data)
	return CountCorrect(probs, bt.Y[:bt.N], p.Shape[1])
}

// CountCorrect counts rows of probs [n classes] whose argmax is the label.
func CountCorrect(probs []float32, labels []int32, classes int) int {
	correct := 0
	for i, y := range labels {
		if Argmax(probs[i*classes:(i+1)*classes]) == int(y) {
			correct++
		}
	}
	return correct
}

// Argmax is the index of the largest value (the first on ties).
func Argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// Train runs the recipe on data. It stops at the first non-finite loss
// with a *NonFiniteError naming the step and the first layer whose output
// went bad, and returns ctx.Err() when cancelled.
func Train(ctx context.Context, m *Model, data Dataset, cfg TrainConfig) ([]EpochStats, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if data.Len() == 0 {
		return nil, errors.New("training set is empty")
	}
	t, err := NewTrainer(m, cfg.Optim, cfg.OrthoLambda, cfg.OrthoExclude)
	if err != nil {
		return nil, err
	}
	defer t.Release()
	ortho := t.Ortho
	if ortho == nil {
		ortho = NewOrthogonality(m, 0, cfg.OrthoExclude)
		defer ortho.gram.release(m.b)
	}
	stepsPerEpoch := (data.Len() + cfg.BatchSize - 1) / cfg.BatchSize
	var stats []EpochStats
	var bt Batch
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		start := time.Now()
		ld := data.Batches(epoch, cfg.BatchSize)
		var sumLoss float64
		var seen, correct, step int
		var lr float64
		for ld.Next(&bt) {
			if err := ctx.Err(); err != nil {
				closeLoader(ld)
				return stats, err
			}
			lr = cfg.Schedule.LR(cfg.Optim.LR, epoch, cfg.Epochs, step, stepsPerEpoch)
			loss, ok, err := t.Step(&bt, lr, 1)
			if err != nil {
				closeLoader(ld)
				return stats, fmt.Errorf("epoch %d step %d: %w", epoch+1, step+1, err)
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				closeLoader(ld)
				return stats, &NonFiniteError{Epoch: epoch + 1, Step: step + 1, Where: m.DiagnoseNonFinite(&bt)}
			}
			step++
			seen += bt.N
			correct += ok
			sumLoss += loss * float64(bt.N)
			if cfg.Progress != nil {
				cfg.Progress(TrainProgress{Epoch: epoch + 1, Epochs: cfg.Epochs, Step: step, StepsPerEpoch: stepsPerEpoch,
					Loss: loss, LR: lr, Samples: seen, EpochAccuracySoFar: float64(correct) / float64(seen)})
			}
		}
		if err := ld.Err(); err != nil {
			return stats, fmt.Errorf("epoch %d: loading data: %w", epoch+1, err)
		}
		if err := m.b.Sync(); err != nil {
			return stats, fmt.Errorf("epoch %d: %w", epoch+1, err)
		}
		dev := ortho.Deviation(m.b)
		es := EpochStats{Epoch: epoch + 1, Loss: sumLoss / float64(max(seen, 1)), Ortho: cfg.OrthoLambda * dev,
			Deviation: dev, TrainAcc: float64(correct) / float64(max(seen, 1)), LR: lr, Samples: seen}
		if cfg.Eval != nil {
			r, err := Evaluate(ctx, m, cfg.Eval, cfg.BatchSize)
			if err != nil {
				return stats, fmt.Errorf("epoch %d: evaluation: %w", epoch+1, err)
			}
			es.EvalAcc = r.Accuracy()
		}
		es.Seconds = time.Since(start).Seconds()
		stats = append(stats, es)
	}
	return stats, nil
}

// closeLoader stops a loader's background work when a pass is abandoned.
func closeLoader(ld Loader) {
	switch c := ld.(type) {
	case interface{ Close() error }:
		c.Close()
	case interface{ Close() }:
		c.Close()
	}
}

// DiagnoseNonFinite looks for the origin of a NaN/Inf: the batch, a
// parameter, or the first unit whose output is not finite in a forward
// pass over bt. It describes what it found.
func (m *Model) DiagnoseNonFinite(bt *Batch) string {
	for i, v := range bt.X[:bt.N*bt.C*bt.H*bt.W] {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Sprintf("the input batch holds a non-finite value (sample %d)", i/(bt.C*bt.H*bt.W))
		}
	}
	for _, y := range bt.Y[:bt.N] {
		if y < 0 || int(y) >= m.Config.Classes {
			return fmt.Sprintf("label %d is outside [0, %d)", y, m.Config.Classes)
		}
	}
	for _, p := range m.Params {
		if n := m.b.CountNonFinite(p.Value.Data); n > 0 {
			return fmt.Sprintf("parameter %s holds %d non-finite values (loss is NaN; try a smaller learning rate)", p.Name, n)
		}
	}
	first := ""
	c := &Ctx{Train: true, Tap: func(unit int, point TapPoint, y *Tensor) {
		if first == "" && m.b.CountNonFinite(y.Data) > 0 {
			first = fmt.Sprintf("the %s output of %s is the first non-finite activation", point, m.Units[unit].Name())
		}
	}}
	x, _, err := m.Input(bt)
	if err != nil {
		return err.Error()
	}
	logits, err := m.Forward(c, x)
	if err != nil {
		return err.Error()
	}
	if first != "" {
		return "loss is not finite; " + first
	}
	if m.b.CountNonFinite(logits.Data) > 0 {
		return "loss is not finite; the classifier's logits are the first non-finite values"
	}
	return "loss is not finite although every activation is finite (overflow in the softmax?)"
}

// EvalResult counts correct predictions per class.
type EvalResult struct {
	Correct, Total []int
	Loss           float64 // mean cross-entropy
}

// Accuracy over all samples.
func (r *EvalResult) Accuracy() float64 {
	c, t := 0, 0
	for i := range r.Total {
		c += r.Correct[i]
		t += r.Total[i]
	}
	if t == 0 {
		return math.NaN()
	}
	return float64(c) / float64(t)
}

// ClassAccuracy is the accuracy on one class (NaN when it has no samples).
func (r *EvalResult) ClassAccuracy(c int) float64 {
	if r.Total[c] == 0 {
		return math.NaN()
	}
	return float64(r.Correct[c]) / float64(r.Total[c])
}

// AccuracyOn is the accuracy over the samples of the given classes
// (NaN when there are none).
func (r *EvalResult) AccuracyOn(classes []int) float64 {
	c, t := 0, 0
	for _, k := range classes {
		c += r.Correct[k]
		t += r.Total[k]
	}
	if t == 0 {
		return math.NaN()
	}
	return float64(c) / float64(t)
}

// Predict runs m in evaluation mode over data and hands each batch's
// softmax probabilities [n classes] and labels to fn (slices reused).
func Predict(ctx context.Context, m *Model, data Dataset, batchSize int, fn func(probs []float32, labels []int32) error) error {
	var ce CrossEntropy
	defer ce.release(m.b)
	c := &Ctx{}
	var bt Batch
	var probs []float32
	ld := data.Batches(0, batchSize)
	for ld.Next(&bt) {
		if err := ctx.Err(); err != nil {
			closeLoader(ld)
			return err
		}
		x, y, err := m.Input(&bt)
		if err != nil {
			closeLoader(ld)
			return err
		}
		logits, err := m.Forward(c, x)
		if err != nil {
			closeLoader(ld)
			return err
		}
		ce.Compute(m.b, logits, y, 0)
		p := ce.Probs()
		if cap(probs) < p.Numel() {
			probs = make([]float32, p.Numel())
		}
		probs = probs[:p.Numel()]
		m.b.Download(probs, p.Data)
		if err := fn(probs, bt.Y[:bt.N]); err != nil {
			closeLoader(ld)
			return err
		}
	}
	if err := ld.Err(); err != nil {
		return err
	}
	return m.b.Sync()
}

// Evaluate measures per-class accuracy and the mean loss of m on data.
func Evaluate(ctx context.Context, m *Model, data Dataset, batchSize int) (*EvalResult, error) {
	k := m.Config.Classes
	r := &EvalResult{Correct: make([]int, k), Total: make([]int, k)}
	var lossSum float64
	n := 0
	err := Predict(ctx, m, data, batchSize, func(probs []float32, labels []int32) error {
		for i, y := range labels {
			if y < 0 || int(y) >= k {
				return fmt.Errorf("label %d outside the model's %d classes", y, k)
			}
			row := probs[i*k : (i+1)*k]
			r.Total[y]++
			if Argmax(row) == int(y) {
				r.Correct[y]++
			}
			lossSum -= math.Log(math.Max(float64(row[y]), 1e-30))
			n++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n > 0 {
		r.Loss = lossSum / float64(n)
	}
	return r, nil
}
