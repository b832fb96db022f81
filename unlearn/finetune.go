package unlearn

import (
	"context"
	"fmt"
	"math"
	"time"

	"lethe/data"
	"lethe/nn"
)

// FinetuneConfig is OSP's optional repair: SGD with momentum on D_r,
// lr_e = LR·Gamma^e (the paper's eq. 19), stopping once the retained
// validation accuracy has not improved for Patience epochs (0: never stop
// early). The best model by validation accuracy is kept.
type FinetuneConfig struct {
	Epochs    int
	LR        float64
	Gamma     float64
	Momentum  float64
	BatchSize int
	Patience  int
	// Freeze, when set, is a mask over the model's parameter vector (0 =
	// keep fixed) applied to every gradient.
	Freeze []float32
	// FrozenBN keeps batch norm in evaluation mode (running statistics
	// fixed) while fine-tuning.
	FrozenBN bool
}

// FinetuneEpoch records one fine-tuning epoch (epoch 0: before any).
type FinetuneEpoch struct {
	Epoch     int     `json:"epoch"`
	LR        float64 `json:"lr"`
	Loss      float64 `json:"loss"`
	RetainVal float64 `json:"retain_val_acc"`
	Seconds   float64 `json:"seconds"`
}

// Validation set for early stopping: a slice of D_r held out from the
// fine-tuning data (never the test split), capped so evaluating it stays
// cheap.
const (
	valFraction = 0.05
	valCap      = 2000
)

// finetuneOnRetained fine-tunes m in place on D_r and returns the epochs
// and the wall-clock seconds (device-synchronised).
func finetuneOnRetained(ctx context.Context, m *nn.Model, split data.Unlearning, req *Request, cfg FinetuneConfig) ([]FinetuneEpoch, float64, error) {
	if cfg.BatchSize < 1 {
		return nil, 0, fmt.Errorf("batch size %d", cfg.BatchSize)
	}
	train, val, err := split.Dr.HoldOut(valFraction, req.Seed+17)
	if err != nil {
		return nil, 0, err
	}
	val = val.Sample(valCap, req.Seed+18)
	feed := train.TrainFeed(req.Seed + 19)
	valFeed := val.EvalFeed()
	b := m.Backend()
	if err := b.Sync(); err != nil {
		return nil, 0, err
	}
	start := time.Now()
	tr, err := nn.NewTrainer(m, nn.OptimConfig{Name: "sgd", LR: cfg.LR, Momentum: cfg.Momentum}, 0, nn.OrthoExclude{})
	if err != nil {
		return nil, 0, err
	}
	defer tr.Release()
	tr.FrozenBN = cfg.FrozenBN
	if cfg.Freeze != nil {
		tr.Mask = b.Alloc(len(cfg.Freeze))
		defer b.Free(tr.Mask)
		b.Upload(tr.Mask, cfg.Freeze)
	}
	evalVal := func() (float64, error) {
		r, err := nn.Evaluate(ctx, m, valFeed, 256)
		if err != nil {
			return 0, err
		}
		return r.Accuracy(), nil
	}
	acc0, err := evalVal()
	if err != nil {
		return nil, 0, err
	}
	epochs := []FinetuneEpoch{{Epoch: 0, RetainVal: acc0}}
	best, bestAcc, since := (*nn.Model)(nil), acc0, 0
	defer func() {
		if best != nil {
			best.Release()
		}
	}()
	for e := 0; e < cfg.Epochs; e++ {
		t0 := time.Now()
		lr := cfg.LR * math.Pow(cfg.Gamma, float64(e))
		loss, err := trainEpoch(ctx, tr, feed, e, cfg.BatchSize, lr, 1)
		if err != nil {
			return epochs, 0, fmt.Errorf("epoch %d: %w", e+1, err)
		}
		acc, err := evalVal()
		if err != nil {
			return epochs, 0, err
		}
		epochs = append(epochs, FinetuneEpoch{Epoch: e + 1, LR: lr, Loss: loss, RetainVal: acc, Seconds: time.Since(t0).Seconds()})
		if acc > bestAcc {
			bestAcc, since = acc, 0
			if best == nil {
				if best, err = m.Clone(); err != nil {
					return epochs, 0, err
				}
			} else {
				best.CopyFrom(m)
			}
		} else {
			since++
			if cfg.Patience > 0 && since >= cfg.Patience {
				break
			}
		}
	}
	if best != nil {
		m.CopyFrom(best)
	}
	if err := b.Sync(); err != nil {
		return epochs, 0, err
	}
	return epochs, time.Since(start).Seconds(), nil
}

// trainEpoch runs one pass of tr over data with a fixed learning rate and
// loss sign (+1 descends, -1 ascends); it returns the mean loss.
func trainEpoch(ctx context.Context, tr *nn.Trainer, ds nn.Dataset, epoch, batchSize int, lr float64, sign float32) (float64, error) {
	ld := ds.Batches(epoch, batchSize)
	defer closeLoader(ld)
	var bt nn.Batch
	var sum float64
	n := 0
	for ld.Next(&bt) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		loss, _, err := tr.Step(&bt, lr, sign)
		if err != nil {
			return 0, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return 0, &nn.NonFiniteError{Epoch: epoch + 1, Step: n/batchSize + 1, Where: tr.M.DiagnoseNonFinite(&bt)}
		}
		sum += loss * float64(bt.N)
		n += bt.N
	}
	if err := ld.Err(); err != nil {
		return 0, err
	}
	return sum / float64(max(n, 1)), nil
}

func closeLoader(ld nn.Loader) {
	if c, ok := ld.(interface{ Close() error }); ok {
		c.Close()
	}
}
