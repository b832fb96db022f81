package unlearn

// Pieces the baselines share: checking parameters against the method
// table's ranges, optimisation steps with a custom loss on the logits and
// an optional gradient mask, gradient passes over a data set, relabelling,
// fresh initialisation, and the per-epoch record.

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/zclconf/go-cty/cty"

	"lethe/data"
	"lethe/dsl"
	"lethe/nn"
)

// validate checks the numbers in p against the ranges of the method's
// parameter table (dsl.Methods), so Go callers get the errors a spec
// would. Strings are checked where they are read (getter.str).
func validate(method string, p Params) error {
	v, ok := dsl.LookupMethod(method)
	if !ok {
		return fmt.Errorf("method %q has no parameter table in dsl.Methods", method)
	}
	for _, spec := range v.Params {
		val, present := p[spec.Name]
		if !present || spec.Type != cty.Number {
			continue
		}
		if val == nil {
			if spec.Nullable {
				continue
			}
			return fmt.Errorf("%s: parameter %s must not be null", method, spec.Name)
		}
		var f float64
		switch x := val.(type) {
		case float64:
			f = x
		case int:
			f = float64(x)
		case int64:
			f = float64(x)
		default:
			return fmt.Errorf("%s: parameter %s: want a number, got %v (%T)", method, spec.Name, val, val)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%s: parameter %s: %v is not a finite number", method, spec.Name, f)
		}
		if spec.Integer && f != math.Trunc(f) {
			return fmt.Errorf("%s: parameter %s: want a whole number, got %v", method, spec.Name, f)
		}
		if spec.Min != nil && (f < *spec.Min || (spec.MinExcl && f == *spec.Min)) {
			return fmt.Errorf("%s: parameter %s: %v is out of range (must be %s %v)", method, spec.Name, f, map[bool]string{true: ">", false: ">="}[spec.MinExcl], *spec.Min)
		}
		if spec.Max != nil && (f > *spec.Max || (spec.MaxExcl && f == *spec.Max)) {
			return fmt.Errorf("%s: parameter %s: %v is out of range (must be %s %v)", method, spec.Name, f, map[bool]string{true: "<", false: "<="}[spec.MaxExcl], *spec.Max)
		}
	}
	return nil
}

// EpochLoss records one epoch (or one pass) of a training-based method.
type EpochLoss struct {
	Phase   string  `json:"phase"` // e.g. "impair", "repair", "forget-max", "retain"
	Epoch   int     `json:"epoch"` // from 1
	LR      float64 `json:"lr"`
	Loss    float64 `json:"loss"` // mean over the pass of the loss the phase optimises
	Seconds float64 `json:"seconds"`
}

// TrainingRecord is the Details of a method that only trains: its passes.
type TrainingRecord struct {
	Epochs []EpochLoss `json:"epochs"`
	// Stopped says why training ended before its last epoch, if it did.
	Stopped string `json:"stopped,omitempty"`
}

// beginSplit checks a request and splits its dataset by the forget
// classes.
func beginSplit(method string, req *Request) (data.Unlearning, error) {
	if err := checkForget(req); err != nil {
		return data.Unlearning{}, fmt.Errorf("%s: %w", method, err)
	}
	if req.Data == nil {
		return data.Unlearning{}, fmt.Errorf("%s: the request has no dataset", method)
	}
	split, err := req.Data.Unlearning(req.Forget...)
	if err != nil {
		return split, fmt.Errorf("%s: %w", method, err)
	}
	if split.Df.Len() == 0 {
		return split, fmt.Errorf("%s: the forget classes %v have no training samples", method, req.Forget)
	}
	if split.Dr.Len() == 0 {
		return split, fmt.Errorf("%s: the retained classes have no training samples", method)
	}
	return split, nil
}

func progress(req *Request, phase string, done, total int) {
	if req.Progress != nil {
		req.Progress(phase, done, total)
	}
}

// lossGrad computes a batch loss from the logits: its gradient with
// respect to the logits (already scaled for the step) and its value.
type lossGrad func(logits *nn.Tensor, labels nn.IntBuf, bt *nn.Batch) (grad *nn.Tensor, loss float64, err error)

// ceLoss is sign·(mean cross-entropy) against the batch's labels.
func ceLoss(b nn.Backend, ce *nn.CrossEntropy, sign float32) lossGrad {
	return func(logits *nn.Tensor, labels nn.IntBuf, bt *nn.Batch) (*nn.Tensor, float64, error) {
		g := ce.Compute(b, logits, labels, sign/float32(bt.N))
		return g, float64(sign) * ce.Mean(b), nil
	}
}

// accumulate runs forward, the loss and backward on one batch, adding the
// parameter gradient into m's gradient vector (callers zero it once per
// step, so several batches can add into one step). A non-finite loss is
// returned without a backward pass.
func accumulate(m *nn.Model, c *nn.Ctx, bt *nn.Batch, loss lossGrad) (float64, error) {
	x, y, err := m.Input(bt)
	if err != nil {
		return 0, err
	}
	logits, err := m.Forward(c, x)
	if err != nil {
		return 0, err
	}
	grad, value, err := loss(logits, y, bt)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return value, nil
	}
	_, err = m.Backward(c, grad)
	return value, err
}

// update applies tr's optimiser to the accumulated gradient, first
// multiplying it by mask when one is given. The mask applies to the loss
// gradient only: weight decay and momentum act as the optimiser defines
// them (as SalUn's reference code, which masks p.grad before step()).
func update(tr *nn.Trainer, lr float64, mask nn.Buf) {
	if mask != nil {
		g := tr.M.Grads()
		tr.M.Backend().Mul(g, g, mask)
	}
	tr.Opt.Step(lr)
}

// runEpoch calls step on every batch of one pass over ds and returns the
// mean of the losses step reports (weighted by batch size). A non-finite
// loss stops the pass with a *nn.NonFiniteError that says where it came
// from.
func runEpoch(ctx context.Context, m *nn.Model, ds nn.Dataset, epoch, batchSize int, step func(bt *nn.Batch) (float64, error)) (float64, error) {
	ld := ds.Batches(epoch, batchSize)
	defer closeLoader(ld)
	var bt nn.Batch
	var sum float64
	n, steps := 0, 0
	for ld.Next(&bt) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		loss, err := step(&bt)
		steps++
		if err != nil {
			return 0, fmt.Errorf("step %d: %w", steps, err)
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return 0, &nn.NonFiniteError{Epoch: epoch + 1, Step: steps, Where: m.DiagnoseNonFinite(&bt)}
		}
		sum += loss * float64(bt.N)
		n += bt.N
	}
	if err := ld.Err(); err != nil {
		return 0, err
	}
	return sum / float64(max(n, 1)), nil
}

// gradientPass runs m (in evaluation mode, so batch norm uses its running
// statistics and they stay as they are) over every batch of ds, computes
// the gradient of sign·(mean cross-entropy of the batch) and hands the
// model's gradient vector to each. It returns the number of batches.
func gradientPass(ctx context.Context, m *nn.Model, ds nn.Dataset, batchSize int, sign float32, each func(grads nn.Buf)) (int, error) {
	var ce nn.CrossEntropy
	b := m.Backend()
	loss := ceLoss(b, &ce, sign)
	c := &nn.Ctx{}
	batches := 0
	_, err := runEpoch(ctx, m, ds, 0, batchSize, func(bt *nn.Batch) (float64, error) {
		m.ZeroGrad()
		v, err := accumulate(m, c, bt, loss)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return v, err
		}
		each(m.Grads())
		batches++
		return v, nil
	})
	ce.Release(b)
	return batches, err
}

// randomOtherLabels gives every image of sub whose label is a forget class
// a label drawn uniformly among the other classes (never its own), and
// every other image its own label: the Random-labels (amnesiac) and SalUn
// relabelling. The draw depends only on seed and the image's position.
func randomOtherLabels(sub data.Subset, forget []int, classes int, seed uint64) []int32 {
	isForget := make([]bool, classes)
	for _, c := range forget {
		isForget[c] = true
	}
	r := rand.New(rand.NewPCG(seed, 0x72616e646f6d))
	out := make([]int32, sub.Len())
	for i := range out {
		y := sub.Label(i)
		out[i] = y
		if isForget[y] {
			k := int32(r.IntN(classes - 1))
			if k >= y {
				k++
			}
			out[i] = k
		}
	}
	return out
}

// freshModel builds a newly initialised model of m's configuration with
// the given initialisation seed.
func freshModel(m *nn.Model, seed uint64) (*nn.Model, error) {
	cfg := m.Config
	cfg.Seed = seed
	f, err := nn.New(m.Backend(), cfg)
	if err != nil {
		return nil, fmt.Errorf("building a freshly initialised %s: %w", cfg.Arch, err)
	}
	return f, nil
}

// releaseAll frees models (nil entries are skipped).
func releaseAll(ms ...*nn.Model) {
	for _, m := range ms {
		if m != nil {
			m.Release()
		}
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// deviceScratch is a device buffer that grows on demand and is reused
// between batches.
type deviceScratch struct {
	buf nn.Buf
}

func (s *deviceScratch) get(b nn.Backend, n int) nn.Buf {
	if s.buf == nil || s.buf.Len() < n {
		if s.buf != nil {
			b.Free(s.buf)
		}
		s.buf = b.Alloc(n)
	}
	return s.buf.Slice(0, n)
}

func (s *deviceScratch) release(b nn.Backend) {
	if s.buf != nil {
		b.Free(s.buf)
		s.buf = nil
	}
}

// teacher is a frozen model whose tempered softmax serves as a target. It
// runs in evaluation mode, so its batch-norm statistics never move.
type teacher struct {
	m     *nn.Model
	probs deviceScratch
	t     nn.Tensor
}

// softmax returns softmax(logits/T) [N classes] of the teacher on bt; the
// tensor is valid until the next call.
func (t *teacher) softmax(bt *nn.Batch, temperature float64) (*nn.Tensor, error) {
	x, _, err := t.m.Input(bt)
	if err != nil {
		return nil, err
	}
	logits, err := t.m.Forward(&nn.Ctx{}, x)
	if err != nil {
		return nil, err
	}
	n, k := logits.Dim(0), logits.Dim(1)
	b := t.m.Backend()
	p := t.probs.get(b, n*k)
	b.Softmax(logits.Data, p, n, k, float32(1/temperature))
	t.t = nn.Tensor{Shape: []int{n, k}, Data: p}
	return &t.t, nil
}

func (t *teacher) release() {
	t.probs.release(t.m.Backend())
	t.m.Release()
}
