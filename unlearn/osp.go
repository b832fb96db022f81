package unlearn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"

	"lethe/data"
	"lethe/nn"
)

// OSP is Orthogonal Soft Pruning as METHODS.md specifies it: measure each
// filter's activation difference Δ between forget and retained samples in
// one forward pass, select the top ceil(ρ·C_out) filters of each layer (or
// a global top fraction of z-scored Δ), and scale them down with a
// rank-adaptive factor; optionally repeat for several rounds and fine-tune
// on the retained data.
type OSP struct {
	Ratio, Strength  float64
	NForget, NRetain int
	Tap              nn.TapPoint
	Schedule         string // linear | constant
	GammaMin         float64
	ScaleBN          bool    // bn = "scale"
	Rounds           int     // measure-select-attenuate rounds
	Target           float64 // stop once forget-sample accuracy ≤ Target; NaN: never
	Scope            string  // layer | global
	Finetune         FinetuneConfig
	// FreezeAttenuated keeps the attenuated filters (and, with bn = scale,
	// their batch-norm channels) fixed during fine-tuning, so the repair
	// cannot grow back what was pruned.
	FreezeAttenuated bool
	// Reprune runs the rounds again after fine-tuning, until the forget
	// samples are back at the target.
	Reprune bool
	// RepruneEachEpoch fine-tunes one epoch at a time and re-prunes after
	// each, freezing what every re-pruning attenuated before the next
	// epoch: each repair then has less to undo, so the last re-pruning
	// takes fewer retained-class filters.
	RepruneEachEpoch bool
}

func init() { register("osp", newOSP) }

func newOSP(p Params) (Method, error) {
	g := &getter{method: "osp", p: p}
	o := &OSP{
		Ratio:    g.float("ratio"),
		Strength: g.float("strength"),
		NForget:  g.int("n_forget"),
		NRetain:  g.int("n_retain"),
		Schedule: g.str("schedule", "linear", "constant"),
		GammaMin: g.float("gamma_min"),
		ScaleBN:  g.str("bn", "keep", "scale") == "scale",
		Rounds:   g.int("rounds"),
		Target:   g.optFloat("target"),
		Scope:    g.str("scope", "layer", "global"),
		Finetune: FinetuneConfig{
			Epochs:    g.int("finetune_epochs"),
			LR:        g.float("finetune_lr"),
			Gamma:     g.float("finetune_gamma"),
			Momentum:  g.float("finetune_momentum"),
			BatchSize: g.int("finetune_batch_size"),
			Patience:  g.int("finetune_patience"),
			FrozenBN:  g.str("finetune_bn", "train", "frozen") == "frozen",
		},
		FreezeAttenuated: g.bool("finetune_freeze"),
		Reprune:          g.bool("finetune_reprune"),
		RepruneEachEpoch: g.bool("finetune_reprune_each_epoch"),
	}
	tap, err := nn.ParseTapPoint(g.str("tap", "conv", "bn", "relu"))
	if err == nil {
		o.Tap = tap
	}
	g.in("ratio", o.Ratio, 0, 1)
	g.in("strength", o.Strength, 0, 1)
	g.in("gamma_min", o.GammaMin, 0, 1)
	if !math.IsNaN(o.Target) {
		g.in("target", o.Target, 0, 1)
	}
	if o.NForget < 1 || o.NRetain < 1 {
		g.fail("n_forget", "n_forget and n_retain must be at least 1 (got %d, %d)", o.NForget, o.NRetain)
	}
	if o.Rounds < 1 {
		g.fail("rounds", "%d: at least one round", o.Rounds)
	}
	if o.Reprune && (o.Finetune.Epochs == 0 || math.IsNaN(o.Target)) {
		g.fail("finetune_reprune", "needs finetune_epochs > 0 and a target to prune back to")
	}
	if o.RepruneEachEpoch && !o.Reprune {
		g.fail("finetune_reprune_each_epoch", "needs finetune_reprune = true")
	}
	if g.err != nil {
		return nil, g.err
	}
	return o, nil
}

func (o *OSP) Name() string { return "osp" }

// OSPRecord is what OSP did: per round, per layer, the selected filters,
// their Δ and scale factors; the forget-sample accuracy before each round
// and at the end; the fine-tuning epochs.
type OSPRecord struct {
	Rounds []OSPRound `json:"rounds"`
	// FinalForgetSampleAcc is the accuracy on the n_forget samples after
	// the last round (before any fine-tuning).
	FinalForgetSampleAcc float64         `json:"final_forget_sample_acc"`
	Finetune             []FinetuneEpoch `json:"finetune,omitempty"`
	// Selected counts the filters attenuated over all rounds (with
	// repetitions) out of Filters in the network.
	Selected int `json:"selected"`
	Filters  int `json:"filters"`
}

// OSPRound records one measure-select-attenuate round.
type OSPRound struct {
	// Phase is 0 for rounds before fine-tuning, c+1 for the re-pruning
	// after fine-tuning cycle c (finetune_reprune; one cycle unless
	// finetune_reprune_each_epoch).
	Phase           int              `json:"phase"`
	ForgetSampleAcc float64          `json:"forget_sample_acc"` // before this round's pruning
	Layers          []LayerSelection `json:"layers"`
}

// LayerSelection is one convolution's Δ and what was done to it.
type LayerSelection struct {
	Unit    string    `json:"unit"`
	Delta   []float64 `json:"delta"`   // Δ_k of every filter k
	Filters []int     `json:"filters"` // selected filters, largest Δ first
	Scale   []float64 `json:"scale"`   // γ_r applied to each selected filter
}

// Unlearn runs OSP on a copy of req.Model.
func (o *OSP) Unlearn(ctx context.Context, req *Request) (*Result, error) {
	if err := checkForget(req); err != nil {
		return nil, err
	}
	if len(req.Model.Units) == 0 {
		return nil, fmt.Errorf("osp: model %s has no convolutions to prune", req.Model.Config.Arch)
	}
	if o.Tap == nn.TapBN {
		for _, u := range req.Model.Units {
			if u.BN == nil {
				return nil, fmt.Errorf("osp: tap = \"bn\" but %s has no batch norm after it", u.Name())
			}
		}
	}
	if o.ScaleBN {
		for _, u := range req.Model.Units {
			if u.BN == nil {
				return nil, fmt.Errorf("osp: bn = \"scale\" but %s has no batch norm after it", u.Name())
			}
		}
	}
	split, err := req.Data.Unlearning(req.Forget...)
	if err != nil {
		return nil, err
	}
	probe, err := o.probeBatch(split, req.Seed)
	if err != nil {
		return nil, err
	}
	m, err := req.Model.Clone()
	if err != nil {
		return nil, err
	}
	rec := &OSPRecord{}
	for _, u := range m.Units {
		rec.Filters += u.Conv.Out
	}
	meter := newActivationMeter(m, o.Tap)
	defer meter.release()
	secs, err := o.prune(ctx, m, meter, probe, rec, 0, req.Progress)
	if err != nil {
		m.Release()
		return nil, err
	}
	res := &Result{Model: m, Method: "osp", Seconds: secs, Details: rec}
	if o.Finetune.Epochs > 0 {
		// Without re-pruning after each epoch, one cycle holds them all.
		cycles, perCycle := 1, o.Finetune.Epochs
		if o.RepruneEachEpoch {
			cycles, perCycle = o.Finetune.Epochs, 1
		}
		for c := 0; c < cycles; c++ {
			ft := o.Finetune
			ft.Epochs = perCycle
			// The exponential schedule runs on over the cycles.
			ft.LR = o.Finetune.LR * math.Pow(o.Finetune.Gamma, float64(c*perCycle))
			if o.FreezeAttenuated {
				ft.Freeze = o.freezeMask(m, rec)
			}
			epochs, ftSecs, err := finetuneOnRetained(ctx, m, split, req, ft)
			if err != nil {
				m.Release()
				return nil, fmt.Errorf("osp: fine-tuning: %w", err)
			}
			for _, e := range epochs {
				if e.Epoch == 0 && c > 0 {
					continue
				}
				e.Epoch += c * perCycle
				rec.Finetune = append(rec.Finetune, e)
			}
			res.FinetuneSeconds += ftSecs
			if o.Reprune {
				// The repair can bring some of the forget classes back
				// through the unpruned filters and the classifier; prune
				// again until the forget samples are back at the target.
				more, err := o.prune(ctx, m, meter, probe, rec, 1+c, req.Progress)
				if err != nil {
					m.Release()
					return nil, err
				}
				res.Seconds += more
			}
		}
	}
	for _, r := range rec.Rounds {
		for _, l := range r.Layers {
			rec.Selected += len(l.Filters)
		}
	}
	return res, nil
}

// prune runs the measure-select-attenuate rounds on m, appending them to
// rec with the given phase (0 before fine-tuning, 1 after), and returns
// their device-synchronised wall clock. It then measures the forget-sample
// accuracy into rec.FinalForgetSampleAcc (outside the clock when the
// rounds ran out rather than meeting the target).
func (o *OSP) prune(ctx context.Context, m *nn.Model, meter *activationMeter, probe *nn.Batch, rec *OSPRecord, phase int, progress func(string, int, int)) (float64, error) {
	met := false
	secs, err := timed(m.Backend(), func() error {
		for round := 0; round < o.Rounds; round++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			acc, err := meter.measure(probe, o.NForget)
			if err != nil {
				return err
			}
			if !math.IsNaN(o.Target) && acc <= o.Target {
				rec.FinalForgetSampleAcc, met = acc, true
				return nil
			}
			layers := o.selectAndAttenuate(m, meter.delta(o.NForget))
			rec.Rounds = append(rec.Rounds, OSPRound{Phase: phase, ForgetSampleAcc: acc, Layers: layers})
			if progress != nil {
				progress("osp rounds", round+1, o.Rounds)
			}
		}
		return nil
	})
	if err != nil || met {
		return secs, err
	}
	rec.FinalForgetSampleAcc, err = meter.measure(probe, o.NForget)
	return secs, err
}

// freezeMask is 1 over the parameter vector except the attenuated
// filters' weights and biases and, with bn = scale, their batch-norm γ, β.
func (o *OSP) freezeMask(m *nn.Model, rec *OSPRecord) []float32 {
	mask := make([]float32, m.NumParams())
	for i := range mask {
		mask[i] = 1
	}
	zero := func(p *nn.Param, from, n int) {
		for i := 0; i < n; i++ {
			mask[p.Offset+from+i] = 0
		}
	}
	for _, round := range rec.Rounds {
		for u, l := range round.Layers {
			unit := m.Units[u]
			per := unit.Conv.Weight.Numel() / unit.Conv.Out
			for _, k := range l.Filters {
				zero(unit.Conv.Weight, k*per, per)
				if unit.Conv.Bias != nil {
					zero(unit.Conv.Bias, k, 1)
				}
				if o.ScaleBN {
					zero(unit.BN.Weight, k, 1)
					zero(unit.BN.Bias, k, 1)
				}
			}
		}
	}
	return mask
}

// probeBatch draws n_f forget and n_r retained training samples
// (stratified, fixed seed, no augmentation) as one host batch, forget
// samples first.
func (o *OSP) probeBatch(split data.Unlearning, seed uint64) (*nn.Batch, error) {
	if o.NForget > split.Df.Len() {
		return nil, fmt.Errorf("osp: n_forget = %d but the forget classes have %d training samples", o.NForget, split.Df.Len())
	}
	if o.NRetain > split.Dr.Len() {
		return nil, fmt.Errorf("osp: n_retain = %d but the retained classes have %d training samples", o.NRetain, split.Dr.Len())
	}
	sf, err := split.Df.Stratified(o.NForget, seed)
	if err != nil {
		return nil, err
	}
	sr, err := split.Dr.Stratified(o.NRetain, seed+1)
	if err != nil {
		return nil, err
	}
	return loadAll(sf, sr)
}

// loadAll decodes subsets into one host batch, in order.
func loadAll(subsets ...data.Subset) (*nn.Batch, error) {
	out := &nn.Batch{}
	for _, s := range subsets {
		var bt nn.Batch
		ld := s.EvalFeed().Batches(0, max(s.Len(), 1))
		for ld.Next(&bt) {
			out.N += bt.N
			out.C, out.H, out.W = bt.C, bt.H, bt.W
			out.X = append(out.X, bt.X[:bt.N*bt.C*bt.H*bt.W]...)
			out.Y = append(out.Y, bt.Y[:bt.N]...)
		}
		if err := ld.Err(); err != nil {
			return nil, err
		}
	}
	if out.N == 0 {
		return nil, errors.New("no samples to load")
	}
	return out, nil
}

// selectAndAttenuate ranks filters by Δ, selects per layer or globally and
// scales the selected filters in place.
func (o *OSP) selectAndAttenuate(m *nn.Model, delta [][]float64) []LayerSelection {
	layers := make([]LayerSelection, len(m.Units))
	chosen := make([][]int, len(m.Units))
	switch o.Scope {
	case "global":
		type cand struct {
			unit, filter int
			z            float64
		}
		var all []cand
		for u, d := range delta {
			mean, std := meanStd(d)
			for k, v := range d {
				z := 0.0
				if std > 0 {
					z = (v - mean) / std
				}
				all = append(all, cand{u, k, z})
			}
		}
		sort.SliceStable(all, func(i, j int) bool { return all[i].z > all[j].z })
		for _, c := range all[:selectCount(o.Ratio, len(all))] {
			chosen[c.unit] = append(chosen[c.unit], c.filter)
		}
	default:
		for u, d := range delta {
			chosen[u] = topByDelta(d, selectCount(o.Ratio, len(d)))
		}
	}
	b := m.Backend()
	for u, unit := range m.Units {
		filters := chosen[u]
		if o.Scope == "global" {
			// Rank within the layer by Δ, largest first.
			d := delta[u]
			sort.SliceStable(filters, func(i, j int) bool { return d[filters[i]] > d[filters[j]] })
		}
		sel := LayerSelection{Unit: unit.Name(), Delta: delta[u], Filters: filters}
		w := unit.Conv.Weight
		per := w.Numel() / unit.Conv.Out
		for r, k := range filters {
			gamma := o.scale(r+1, len(filters))
			sel.Scale = append(sel.Scale, gamma)
			g := float32(gamma)
			b.Scale(w.Value.Data.Slice(k*per, per), g)
			if unit.Conv.Bias != nil {
				b.Scale(unit.Conv.Bias.Value.Data.Slice(k, 1), g)
			}
			if o.ScaleBN {
				b.Scale(unit.BN.Weight.Value.Data.Slice(k, 1), g)
				b.Scale(unit.BN.Bias.Value.Data.Slice(k, 1), g)
			}
		}
		layers[u] = sel
	}
	return layers
}

// scale is γ_r for rank r (1 = largest Δ) of m selected filters.
func (o *OSP) scale(r, m int) float64 {
	s := o.Strength
	if o.Schedule == "linear" {
		s *= 1 - float64(r-1)/float64(m)
	}
	return math.Max(1-s, o.GammaMin)
}

// selectCount is ceil(ρ·n), guarded against floating-point noise
// (0.05·20 must select 1, not 2).
func selectCount(ratio float64, n int) int {
	k := int(math.Ceil(ratio*float64(n) - 1e-9))
	return min(max(k, 0), n)
}

// topByDelta returns the indices of the k largest values, largest first
// (lower index first on ties).
func topByDelta(d []float64, k int) []int {
	idx := make([]int, len(d))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return d[idx[i]] > d[idx[j]] })
	return append([]int(nil), idx[:k]...)
}

func meanStd(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)))
}

// activationMeter runs the activation pass: one forward in evaluation
// mode, per unit the spatial maximum of each filter at the tap point,
// gathered in one device buffer so one download fetches them all.
type activationMeter struct {
	m      *nn.Model
	tap    nn.TapPoint
	off    []int  // each unit's offset in maxima, in units of N
	maxima nn.Buf // [Σ_u N·C_u] on the device
	all    []float32
	host   [][]float32 // per unit, views into all
	probs  []float32
	ce     nn.CrossEntropy
	n      int
}

func newActivationMeter(m *nn.Model, tap nn.TapPoint) *activationMeter {
	a := &activationMeter{m: m, tap: tap, off: make([]int, len(m.Units)+1), host: make([][]float32, len(m.Units))}
	for u, unit := range m.Units {
		a.off[u+1] = a.off[u] + unit.Conv.Out
	}
	return a
}

func (a *activationMeter) release() {
	if a.maxima != nil {
		a.m.Backend().Free(a.maxima)
		a.maxima = nil
	}
}

// measure runs the pass over bt and returns the accuracy on its first
// nForget samples.
func (a *activationMeter) measure(bt *nn.Batch, nForget int) (float64, error) {
	m, b := a.m, a.m.Backend()
	x, y, err := m.Input(bt)
	if err != nil {
		return 0, err
	}
	n := bt.N
	if a.n != n {
		a.release()
		total := n * a.off[len(m.Units)]
		a.maxima = b.Alloc(total)
		a.all = make([]float32, total)
		for u := range m.Units {
			a.host[u] = a.all[n*a.off[u] : n*a.off[u+1]]
		}
		a.n = n
	}
	seen := make([]bool, len(m.Units))
	ctx := &nn.Ctx{Tap: func(unit int, p nn.TapPoint, t *nn.Tensor) {
		if p != a.tap {
			return
		}
		c := t.Dim(1)
		b.ChannelMax(t.Data, t.Dim(0), c, t.Dim(2)*t.Dim(3), a.maxima.Slice(n*a.off[unit], n*c))
		seen[unit] = true
	}}
	logits, err := m.Forward(ctx, x)
	if err != nil {
		return 0, err
	}
	for u, ok := range seen {
		if !ok {
			return 0, fmt.Errorf("osp: no %s output was tapped for %s", a.tap, m.Units[u].Name())
		}
	}
	b.Download(a.all, a.maxima)
	a.ce.Compute(b, logits, y, 0)
	k := m.Config.Classes
	if cap(a.probs) < n*k {
		a.probs = make([]float32, n*k)
	}
	a.probs = a.probs[:n*k]
	b.Download(a.probs, a.ce.Probs().Data)
	return float64(nn.CountCorrect(a.probs[:nForget*k], bt.Y[:nForget], k)) / float64(nForget), nil
}

// delta returns Δ_k = A_k(S_f) − A_k(S_r) per unit from the last measure,
// whose first nForget samples are S_f.
func (a *activationMeter) delta(nForget int) [][]float64 {
	out := make([][]float64, len(a.host))
	nr := a.n - nForget
	for u, h := range a.host {
		c := len(h) / a.n
		d := make([]float64, c)
		for i := 0; i < a.n; i++ {
			row := h[i*c : (i+1)*c]
			for k, v := range row {
				if i < nForget {
					d[k] += float64(v) / float64(nForget)
				} else {
					d[k] -= float64(v) / float64(nr)
				}
			}
		}
		out[u] = d
	}
	return out
}
