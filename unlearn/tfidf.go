package unlearn

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"lethe/nn"
)

// TFIDF is class-discriminative channel pruning (Wang et al., WWW 2022;
// METHODS.md, Baselines): a channel's TF-IDF score for a class says how
// much more it fires for that class than for the others. The filters with
// the highest scores for the forget classes (over all layers together)
// are zeroed, then the model is fine-tuned on D_r with the zeroed filters
// held at zero. PruneLowest selects the lowest scores instead, which is
// what the reference code does (its mask keeps score > threshold).
type TFIDF struct {
	Ratio          float64 // NaN: by architecture and class count (see ratioFor)
	Batches        int     // 0: by class count (see batchesFor)
	BatchSize      int
	PruneLowest    bool
	FinetuneEpochs int
	Finetune       nn.OptimConfig
	FinetuneBatch  int
}

func init() { register("tfidf", newTFIDF) }

func newTFIDF(p Params) (Method, error) {
	if err := validate("tfidf", p); err != nil {
		return nil, err
	}
	g := &getter{method: "tfidf", p: p}
	t := &TFIDF{
		Ratio:          g.optFloat("ratio"),
		BatchSize:      g.int("batch_size"),
		PruneLowest:    g.str("prune", "top", "lowest") == "lowest",
		FinetuneEpochs: g.int("finetune_epochs"),
		Finetune: nn.OptimConfig{Name: "sgd", LR: g.float("finetune_lr"), Momentum: g.float("finetune_momentum"),
			WeightDecay: g.float("finetune_weight_decay"), Nesterov: g.bool("finetune_nesterov")},
		FinetuneBatch: g.int("finetune_batch_size"),
	}
	if nb := g.optFloat("batches"); !math.IsNaN(nb) {
		t.Batches = int(nb)
	}
	if t.Finetune.Nesterov && t.Finetune.Momentum == 0 {
		g.fail("finetune_nesterov", "Nesterov momentum needs finetune_momentum > 0")
	}
	if g.err != nil {
		return nil, g.err
	}
	return t, nil
}

func (t *TFIDF) Name() string { return "tfidf" }

// ratioFor is the pruning ratio: the parameter, or METHODS.md's defaults
// (0.05 ResNet / 0.11 VGG on 10 classes, 0.10 / 0.15 on 100). Other
// architectures take the ResNet values; fewer than 100 classes the
// 10-class ones.
func (t *TFIDF) ratioFor(cfg nn.Config) float64 {
	if !math.IsNaN(t.Ratio) {
		return t.Ratio
	}
	vgg := cfg.Arch == "vgg16_bn"
	switch {
	case cfg.Classes >= 100 && vgg:
		return 0.15
	case cfg.Classes >= 100:
		return 0.10
	case vgg:
		return 0.11
	}
	return 0.05
}

// batchesFor is the number of feature batches: the parameter, or one for
// up to 10 classes and ceil(classes/5) beyond (20 for 100 classes, as
// METHODS.md says).
func (t *TFIDF) batchesFor(classes int) int {
	if t.Batches > 0 {
		return t.Batches
	}
	if classes <= 10 {
		return 1
	}
	return (classes + 4) / 5
}

// TFIDFRecord is what TF-IDF did.
type TFIDFRecord struct {
	Ratio   float64 `json:"ratio"`
	Batches int     `json:"batches"`
	Prune   string  `json:"prune"` // top | lowest
	// ClassSamples counts the feature samples of each class.
	ClassSamples []int        `json:"class_samples"`
	Layers       []TFIDFLayer `json:"layers"`
	Pruned       int          `json:"pruned"`
	Filters      int          `json:"filters"`
	Finetune     []EpochLoss  `json:"finetune,omitempty"`
}

// TFIDFLayer is one convolution's scores and its zeroed filters.
type TFIDFLayer struct {
	Unit   string    `json:"unit"`
	Scores []float64 `json:"scores"`
	Pruned []int     `json:"pruned"`
}

// Unlearn prunes a copy of req.Model and fine-tunes it. Seconds covers
// the feature pass, the scoring and the zeroing, FinetuneSeconds the
// fine-tuning.
func (t *TFIDF) Unlearn(ctx context.Context, req *Request) (*Result, error) {
	split, err := beginSplit("tfidf", req)
	if err != nil {
		return nil, err
	}
	if len(req.Model.Units) == 0 {
		return nil, fmt.Errorf("tfidf: model %s has no convolutions to prune", req.Model.Config.Arch)
	}
	full, err := split.Dr.Union(split.Df)
	if err != nil {
		return nil, fmt.Errorf("tfidf: %w", err)
	}
	m, err := req.Model.Clone()
	if err != nil {
		return nil, err
	}
	rec := &TFIDFRecord{Ratio: t.ratioFor(m.Config), Batches: t.batchesFor(m.Config.Classes), Prune: "top"}
	if t.PruneLowest {
		rec.Prune = "lowest"
	}
	res := &Result{Model: m, Method: "tfidf", Details: rec}
	var pruned [][]int
	res.Seconds, err = timed(m.Backend(), func() error {
		feats, counts, err := classFeatures(ctx, m, full.TrainFeed(req.Seed+111), rec.Batches, t.BatchSize)
		if err != nil {
			return err
		}
		rec.ClassSamples = counts
		scores, err := tfidfScores(feats, counts, split.Forget)
		if err != nil {
			return err
		}
		pruned = pruneSelection(scores, rec.Ratio, t.PruneLowest)
		zeroFilters(m, pruned)
		for u, unit := range m.Units {
			rec.Layers = append(rec.Layers, TFIDFLayer{Unit: unit.Name(), Scores: scores[u], Pruned: pruned[u]})
			rec.Pruned += len(pruned[u])
			rec.Filters += unit.Conv.Out
		}
		return nil
	})
	if err != nil {
		m.Release()
		return nil, fmt.Errorf("tfidf: %w", err)
	}
	progress(req, "tfidf prune", 1, 1)
	if t.FinetuneEpochs > 0 {
		res.FinetuneSeconds, err = timed(m.Backend(), func() error {
			return t.finetune(ctx, req, m, pruned, split.Dr.TrainFeed(req.Seed+112), rec)
		})
		if err != nil {
			m.Release()
			return nil, fmt.Errorf("tfidf: fine-tuning: %w", err)
		}
	}
	return res, nil
}

// classFeatures runs m in evaluation mode over the first `batches`
// batches of ds and returns, per unit, F[k][n]: the mean over class n's
// samples of the spatial mean of ReLU(conv output) of filter k, and the
// number of samples of each class.
func classFeatures(ctx context.Context, m *nn.Model, ds nn.Dataset, batches, batchSize int) ([][][]float64, []int, error) {
	b := m.Backend()
	k := m.Config.Classes
	sums := make([][][]float64, len(m.Units))
	for u, unit := range m.Units {
		sums[u] = make([][]float64, unit.Conv.Out)
		for f := range sums[u] {
			sums[u][f] = make([]float64, k)
		}
	}
	counts := make([]int, k)
	relu := &deviceScratch{}
	means := make([]deviceScratch, len(m.Units))
	defer func() {
		relu.release(b)
		for i := range means {
			means[i].release(b)
		}
	}()
	host := make([][]float32, len(m.Units))
	seen := make([]bool, len(m.Units))
	c := &nn.Ctx{Tap: func(unit int, p nn.TapPoint, y *nn.Tensor) {
		if p != nn.TapConv {
			return
		}
		n, ch, hw := y.Dim(0), y.Dim(1), y.Dim(2)*y.Dim(3)
		r := relu.get(b, y.Numel())
		b.ReLUForward(y.Data, r)
		out := means[unit].get(b, n*ch)
		b.ChannelMean(r, n, ch, hw, out)
		host[unit] = growSlice(host[unit], n*ch)
		b.Download(host[unit], out)
		seen[unit] = true
	}}
	ld := ds.Batches(0, batchSize)
	defer closeLoader(ld)
	var bt nn.Batch
	for done := 0; done < batches && ld.Next(&bt); done++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		x, _, err := m.Input(&bt)
		if err != nil {
			return nil, nil, err
		}
		clear(seen)
		if _, err := m.Forward(c, x); err != nil {
			return nil, nil, err
		}
		for u, unit := range m.Units {
			if !seen[u] {
				return nil, nil, fmt.Errorf("no convolution output was tapped for %s", unit.Name())
			}
			ch := unit.Conv.Out
			for i := 0; i < bt.N; i++ {
				y := bt.Y[i]
				for f, v := range host[u][i*ch : (i+1)*ch] {
					sums[u][f][y] += float64(v)
				}
			}
		}
		for _, y := range bt.Y[:bt.N] {
			counts[y]++
		}
	}
	if err := ld.Err(); err != nil {
		return nil, nil, err
	}
	for u := range sums {
		for f := range sums[u] {
			for n, cnt := range counts {
				if cnt > 0 {
					sums[u][f][n] /= float64(cnt)
				}
			}
		}
	}
	return sums, counts, nil
}

// tfidfScores computes per unit and filter the TF-IDF score for the
// forget classes from F[u][k][n] (METHODS.md): TF[k,n] = F[k,n]/Σ_k F[k,n];
// df[k] = #{n : F[k,n] ≥ mean_n F[k,·]}; IDF[k] = ln(C/(df[k]+1));
// score[k] = TF[k,c]·IDF[k], summed over the forget classes c. Classes
// without samples (counts[n] = 0) are left out, C counting the others;
// a forget class without samples is an error.
func tfidfScores(F [][][]float64, counts []int, forget []int) ([][]float64, error) {
	var present []int
	for n, c := range counts {
		if c > 0 {
			present = append(present, n)
		}
	}
	for _, c := range forget {
		if c >= len(counts) || counts[c] == 0 {
			return nil, fmt.Errorf("the feature batches hold no sample of forget class %d (raise batches)", c)
		}
	}
	C := float64(len(present))
	scores := make([][]float64, len(F))
	for u, layer := range F {
		colSum := make([]float64, len(counts))
		for _, row := range layer {
			for _, n := range present {
				colSum[n] += row[n]
			}
		}
		scores[u] = make([]float64, len(layer))
		for k, row := range layer {
			mean := 0.0
			for _, n := range present {
				mean += row[n]
			}
			mean /= C
			df := 0
			for _, n := range present {
				if row[n] >= mean {
					df++
				}
			}
			idf := math.Log(C / float64(df+1))
			for _, c := range forget {
				tf := 0.0
				if colSum[c] > 0 {
					tf = row[c] / colSum[c]
				}
				scores[u][k] += tf * idf
			}
		}
	}
	return scores, nil
}

// pruneSelection pools the scores of all units and returns, per unit, the
// filters among the ceil(ratio·total) highest (or lowest) scores, in
// ascending filter order. Ties go to the earlier unit and filter.
func pruneSelection(scores [][]float64, ratio float64, lowest bool) [][]int {
	type cand struct {
		unit, filter int
		score        float64
	}
	var all []cand
	for u, s := range scores {
		for k, v := range s {
			all = append(all, cand{u, k, v})
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if lowest {
			return all[i].score < all[j].score
		}
		return all[i].score > all[j].score
	})
	out := make([][]int, len(scores))
	for _, c := range all[:selectCount(ratio, len(all))] {
		out[c.unit] = append(out[c.unit], c.filter)
	}
	for u := range out {
		sort.Ints(out[u])
	}
	return out
}

// zeroFilters sets the selected filters' kernels (and biases) to zero.
func zeroFilters(m *nn.Model, pruned [][]int) {
	b := m.Backend()
	for u, unit := range m.Units {
		w := unit.Conv.Weight
		per := w.Numel() / unit.Conv.Out
		for _, k := range pruned[u] {
			b.Fill(w.Value.Data.Slice(k*per, per), 0)
			if unit.Conv.Bias != nil {
				b.Fill(unit.Conv.Bias.Value.Data.Slice(k, 1), 0)
			}
		}
	}
}

// finetune trains on D_r with Nesterov SGD and a cosine schedule,
// masking the gradient of the zeroed filters: a zero weight with a zero
// gradient stays zero under SGD's weight decay and momentum, as under the
// reference's torch pruning mask.
func (t *TFIDF) finetune(ctx context.Context, req *Request, m *nn.Model, pruned [][]int, retain nn.Dataset, rec *TFIDFRecord) error {
	b := m.Backend()
	mask := b.Alloc(m.NumParams())
	defer b.Free(mask)
	b.Fill(mask, 1)
	for u, unit := range m.Units {
		w := unit.Conv.Weight
		per := w.Numel() / unit.Conv.Out
		for _, k := range pruned[u] {
			b.Fill(mask.Slice(w.Offset+k*per, per), 0)
			if bias := unit.Conv.Bias; bias != nil {
				b.Fill(mask.Slice(bias.Offset+k, 1), 0)
			}
		}
	}
	tr, err := nn.NewTrainer(m, t.Finetune, 0, nn.OrthoExclude{})
	if err != nil {
		return err
	}
	defer tr.Release()
	c := &nn.Ctx{Train: true}
	loss := ceLoss(b, &tr.CE, 1)
	schedule := nn.ScheduleConfig{Name: "cosine"}
	for e := 0; e < t.FinetuneEpochs; e++ {
		t0 := time.Now()
		lr := schedule.LR(t.Finetune.LR, e, t.FinetuneEpochs, 0, 1)
		mean, err := runEpoch(ctx, m, retain, e, t.FinetuneBatch, func(bt *nn.Batch) (float64, error) {
			m.ZeroGrad()
			v, err := accumulate(m, c, bt, loss)
			if err != nil || !finite(v) {
				return v, err
			}
			update(tr, lr, mask)
			return v, nil
		})
		if err != nil {
			return fmt.Errorf("epoch %d: %w", e+1, err)
		}
		rec.Finetune = append(rec.Finetune, EpochLoss{Phase: "finetune", Epoch: e + 1, LR: lr, Loss: mean, Seconds: time.Since(t0).Seconds()})
		progress(req, "tfidf finetune", e+1, t.FinetuneEpochs)
	}
	return nil
}
