package unlearn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"

	"lethe/data"
	"lethe/nn"
	"lethe/nn/cpu"
)

func testBackend(t testing.TB) nn.Backend {
	t.Helper()
	b, err := cpu.New(cpu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	tinyOnce sync.Once
	tinyDS   *data.Dataset
	tinyErr  error
)

// tinyMNIST is MNIST with 30 training and 10 test images per digit.
func tinyMNIST(t testing.TB) *data.Dataset {
	t.Helper()
	tinyOnce.Do(func() {
		tinyDS, tinyErr = data.Open(data.Config{Kind: "mnist", TrainPerClass: 30, TestPerClass: 10})
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyDS
}

func tinyModel(t testing.TB, b nn.Backend) *nn.Model {
	t.Helper()
	m, err := nn.New(b, nn.Config{Arch: "smallcnn", Classes: 10, InC: 1, InH: 28, InW: 28, Width: 0.25, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustOSP(t *testing.T, p Params) *OSP {
	t.Helper()
	m, err := New("osp", p)
	if err != nil {
		t.Fatal(err)
	}
	return m.(*OSP)
}

func TestOSPScaleSchedule(t *testing.T) {
	o := mustOSP(t, Params{"strength": 0.4})
	// Linear: s_r = s(1 - (r-1)/m), γ = 1 - s_r.
	for r, want := range []float64{0.6, 0.7, 0.8, 0.9} {
		if got := o.scale(r+1, 4); math.Abs(got-want) > 1e-12 {
			t.Errorf("linear rank %d of 4: γ = %v, want %v", r+1, got, want)
		}
	}
	c := mustOSP(t, Params{"strength": 1, "schedule": "constant", "gamma_min": 0.05})
	for r := 1; r <= 3; r++ {
		if got := c.scale(r, 3); got != 0.05 {
			t.Errorf("constant s=1: γ = %v, want the floor 0.05", got)
		}
	}
}

func TestSelectCount(t *testing.T) {
	for _, c := range []struct {
		ratio float64
		n     int
		want  int
	}{{0.05, 20, 1}, {0.05, 64, 4}, {0.05, 512, 26}, {0, 64, 0}, {1, 64, 64}, {0.01, 3, 1}, {0.1, 10, 1}} {
		if got := selectCount(c.ratio, c.n); got != c.want {
			t.Errorf("ceil(%v·%d) = %d, want %d", c.ratio, c.n, got, c.want)
		}
	}
}

// Per-layer selection picks the top ceil(ρ·C_out) filters by Δ and scales
// exactly those (weights, and with bn = scale the batch norm's γ and β).
func TestOSPSelectAndAttenuateLayerScope(t *testing.T) {
	b := testBackend(t)
	m := tinyModel(t, b)
	r := rand.New(rand.NewPCG(3, 3))
	delta := make([][]float64, len(m.Units))
	for u, unit := range m.Units {
		delta[u] = make([]float64, unit.Conv.Out)
		for k := range delta[u] {
			delta[u][k] = r.NormFloat64()
		}
	}
	before := nn.ToHost(b, &nn.Tensor{Shape: []int{m.NumParams()}, Data: m.Values()})
	o := mustOSP(t, Params{"ratio": 0.25, "strength": 0.4, "bn": "scale"})
	layers := o.selectAndAttenuate(m, delta)
	after := nn.ToHost(b, &nn.Tensor{Shape: []int{m.NumParams()}, Data: m.Values()})
	for u, unit := range m.Units {
		c := unit.Conv.Out
		want := selectCount(0.25, c)
		sel := layers[u]
		if len(sel.Filters) != want || len(sel.Scale) != want {
			t.Fatalf("%s: %d filters selected, want ceil(0.25·%d) = %d", unit.Name(), len(sel.Filters), c, want)
		}
		order := make([]int, c)
		for i := range order {
			order[i] = i
		}
		sort.Slice(order, func(i, j int) bool { return delta[u][order[i]] > delta[u][order[j]] })
		scaleOf := map[int]float64{}
		for i, k := range sel.Filters {
			if k != order[i] {
				t.Fatalf("%s: rank %d is filter %d, want %d (largest Δ first)", unit.Name(), i+1, k, order[i])
			}
			if want := o.scale(i+1, len(sel.Filters)); sel.Scale[i] != want {
				t.Errorf("%s rank %d: recorded γ %v, want %v", unit.Name(), i+1, sel.Scale[i], want)
			}
			scaleOf[k] = sel.Scale[i]
		}
		w := unit.Conv.Weight
		per := w.Numel() / c
		for k := 0; k < c; k++ {
			g, ok := scaleOf[k]
			if !ok {
				g = 1
			}
			for j := 0; j < per; j++ {
				i := w.Offset + k*per + j
				if want := float32(g) * before[i]; math.Abs(float64(after[i]-want)) > 1e-7 {
					t.Fatalf("%s filter %d: weight %v, want %v·%v", unit.Name(), k, after[i], g, before[i])
				}
			}
			for _, p := range []*nn.Param{unit.BN.Weight, unit.BN.Bias} {
				i := p.Offset + k
				if want := float32(g) * before[i]; math.Abs(float64(after[i]-want)) > 1e-7 {
					t.Fatalf("%s channel %d: %v, want %v·%v", p.Name, k, after[i], g, before[i])
				}
			}
		}
	}
	// Nothing else moved: the linear layers are untouched.
	for _, p := range m.Params {
		if p.Kind == nn.LinearWeight || p.Kind == nn.LinearBias {
			for j := 0; j < p.Numel(); j++ {
				if after[p.Offset+j] != before[p.Offset+j] {
					t.Fatalf("%s changed", p.Name)
				}
			}
		}
	}
}

// Global scope z-scores Δ within each layer and takes one top fraction
// over all filters; a layer whose Δ stand out gets the selections.
func TestOSPGlobalScope(t *testing.T) {
	b := testBackend(t)
	m := tinyModel(t, b) // units: conv1 (8 filters), conv2 (16), conv3 (32)
	delta := [][]float64{make([]float64, 8), make([]float64, 16), make([]float64, 32)}
	for k := range delta[0] {
		delta[0][k] = float64(k) // evenly spread: largest z ≈ 1.53
	}
	delta[1][5] = 100 // one outlier: z ≈ 3.87
	delta[1][9] = 50
	o := mustOSP(t, Params{"ratio": 2.0 / 56, "scope": "global"})
	layers := o.selectAndAttenuate(m, delta)
	if got := layers[1].Filters; len(got) != 2 || got[0] != 5 || got[1] != 9 {
		t.Fatalf("global selection in conv2: %v, want [5 9]", got)
	}
	if len(layers[0].Filters) != 0 {
		t.Fatalf("conv1 should get no selection, got %v", layers[0].Filters)
	}
}

// The activation pass computes Δ_k = mean_f max_ij a_k − mean_r max_ij a_k
// from the tapped outputs.
func TestActivationMeterDelta(t *testing.T) {
	b := testBackend(t)
	m := tinyModel(t, b)
	ds := tinyMNIST(t)
	split, err := ds.Unlearning(3)
	if err != nil {
		t.Fatal(err)
	}
	o := mustOSP(t, Params{"n_forget": 5, "n_retain": 7, "tap": "relu"})
	probe, err := o.probeBatch(split, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if probe.Y[i] != 3 {
			t.Fatalf("probe sample %d has label %d; forget samples come first", i, probe.Y[i])
		}
	}
	for i := 5; i < 12; i++ {
		if probe.Y[i] == 3 {
			t.Fatalf("retain probe sample %d is a forget-class image", i)
		}
	}
	meter := newActivationMeter(m, nn.TapReLU)
	defer meter.release()
	if _, err := meter.measure(probe, 5); err != nil {
		t.Fatal(err)
	}
	got := meter.delta(5)
	// Recompute from the taps on the host.
	want := make([][]float64, len(m.Units))
	x, _, _ := m.Input(probe)
	_, err = m.Forward(&nn.Ctx{Tap: func(unit int, p nn.TapPoint, y *nn.Tensor) {
		if p != nn.TapReLU {
			return
		}
		v := nn.ToHost(b, y)
		n, c, hw := y.Dim(0), y.Dim(1), y.Dim(2)*y.Dim(3)
		d := make([]float64, c)
		for i := 0; i < n; i++ {
			for k := 0; k < c; k++ {
				mx := math.Inf(-1)
				for j := 0; j < hw; j++ {
					mx = math.Max(mx, float64(v[(i*c+k)*hw+j]))
				}
				if i < 5 {
					d[k] += mx / 5
				} else {
					d[k] -= mx / 7
				}
			}
		}
		want[unit] = d
	}}, x)
	if err != nil {
		t.Fatal(err)
	}
	for u := range want {
		for k := range want[u] {
			if math.Abs(got[u][k]-want[u][k]) > 1e-5 {
				t.Fatalf("unit %d filter %d: Δ %v, want %v", u, k, got[u][k], want[u][k])
			}
		}
	}
}

func TestOSPUnlearnEndToEnd(t *testing.T) {
	b := testBackend(t)
	m := tinyModel(t, b)
	ds := tinyMNIST(t)
	orig := nn.ToHost(b, &nn.Tensor{Shape: []int{m.NumParams()}, Data: m.Values()})
	o := mustOSP(t, Params{"ratio": 1, "strength": 1, "schedule": "constant", "gamma_min": 0.01, "n_forget": 10, "n_retain": 20})
	res, err := o.Unlearn(context.Background(), &Request{Model: m, Forget: []int{2, 7}, Data: ds, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Model.Release()
	if res.Seconds <= 0 || res.Method != "osp" {
		t.Fatalf("result %+v", res)
	}
	// The original model is untouched.
	now := nn.ToHost(b, &nn.Tensor{Shape: []int{m.NumParams()}, Data: m.Values()})
	for i := range orig {
		if orig[i] != now[i] {
			t.Fatal("OSP modified the original model")
		}
	}
	// ρ = 1, s = 1, constant: every filter is scaled to the 0.01 floor.
	got := nn.ToHost(b, &nn.Tensor{Shape: []int{m.NumParams()}, Data: res.Model.Values()})
	for _, u := range m.Units {
		w := u.Conv.Weight
		for j := 0; j < w.Numel(); j++ {
			if want := 0.01 * orig[w.Offset+j]; math.Abs(float64(got[w.Offset+j]-want)) > 1e-8 {
				t.Fatalf("%s[%d] = %v, want %v", w.Name, j, got[w.Offset+j], want)
			}
		}
	}
	rec := res.Details.(*OSPRecord)
	if len(rec.Rounds) != 1 || rec.Selected != rec.Filters || rec.Filters != 8+16+32 {
		t.Fatalf("record: %d rounds, %d of %d filters", len(rec.Rounds), rec.Selected, rec.Filters)
	}
	for u, l := range rec.Rounds[0].Layers {
		if len(l.Delta) != m.Units[u].Conv.Out || l.Unit != m.Units[u].Name() {
			t.Fatalf("layer record %d: %s with %d Δ", u, l.Unit, len(l.Delta))
		}
	}
}

// Rounds stop as soon as the forget-sample accuracy reaches the target;
// a selected filter's attenuation compounds over rounds.
func TestOSPRoundsAndTarget(t *testing.T) {
	b := testBackend(t)
	m := tinyModel(t, b)
	ds := tinyMNIST(t)
	// Target 1: already met before any pruning, so nothing changes.
	o := mustOSP(t, Params{"rounds": 5, "target": 1.0, "n_forget": 10, "n_retain": 10})
	res, err := o.Unlearn(context.Background(), &Request{Model: m, Forget: []int{4}, Data: ds, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rec := res.Details.(*OSPRecord); len(rec.Rounds) != 0 {
		t.Fatalf("%d rounds ran although the target was met", len(rec.Rounds))
	}
	res.Model.Release()
	// No target: all rounds run; with ρ = 1, s = 0.5 constant every filter
	// is scaled by 0.5³.
	o = mustOSP(t, Params{"rounds": 3, "ratio": 1, "strength": 0.5, "schedule": "constant", "n_forget": 10, "n_retain": 10})
	res, err = o.Unlearn(context.Background(), &Request{Model: m, Forget: []int{4}, Data: ds, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Model.Release()
	rec := res.Details.(*OSPRecord)
	if len(rec.Rounds) != 3 {
		t.Fatalf("%d rounds, want 3", len(rec.Rounds))
	}
	w := m.Units[1].Conv.Weight
	a, c := nn.ToHost(b, w.Value), nn.ToHost(b, res.Model.Param(w.Name).Value)
	for j := range a {
		if math.Abs(float64(c[j]-0.125*a[j])) > 1e-7 {
			t.Fatalf("compounded scale: %v, want 0.125·%v", c[j], a[j])
		}
	}
}

func TestOSPBadInput(t *testing.T) {
	b := testBackend(t)
	m := tinyModel(t, b)
	ds := tinyMNIST(t)
	for _, c := range []struct {
		params Params
		want   string
	}{
		{Params{"ratio": 1.5}, "ratio: 1.5 is outside [0, 1]"},
		{Params{"strength": -0.1}, "strength: -0.1 is outside [0, 1]"},
		{Params{"tap": "pool"}, `"pool" is not one of conv, bn, relu`},
		{Params{"rato": 0.1}, "unknown parameter(s) rato"},
	} {
		if _, err := New("osp", c.params); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.params, err, c.want)
		}
	}
	ctx := context.Background()
	o := mustOSP(t, Params{})
	if _, err := o.Unlearn(ctx, &Request{Model: m, Forget: []int{10}, Data: ds}); err == nil || !strings.Contains(err.Error(), "forget class 10 is not in the dataset") {
		t.Errorf("forget class 10: %v", err)
	}
	big := mustOSP(t, Params{"n_forget": 31})
	if _, err := big.Unlearn(ctx, &Request{Model: m, Forget: []int{1}, Data: ds}); err == nil || !strings.Contains(err.Error(), "n_forget = 31 but the forget classes have 30 training samples") {
		t.Errorf("n_forget too large: %v", err)
	}
	lin, err := nn.NewCustom(b, nn.Config{Arch: "mlp", Classes: 10, InC: 1, InH: 28, InW: 28}, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
		return nn.Sequential{&nn.Flatten{}, mb.Linear("fc", 784, 10)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Unlearn(ctx, &Request{Model: lin, Forget: []int{1}, Data: ds}); err == nil || !strings.Contains(err.Error(), "no convolutions") {
		t.Errorf("model without convolutions: %v", err)
	}
}

// Fine-tuning with finetune_freeze leaves the attenuated filters (and their
// batch-norm channels) exactly as pruning left them, while the rest learns.
func TestOSPFinetuneFreezesAttenuatedFilters(t *testing.T) {
	b := testBackend(t)
	m := tinyModel(t, b)
	ds := tinyMNIST(t)
	run := func(freeze bool) (*Result, *Result) {
		base := Params{"ratio": 0.25, "strength": 0.9, "bn": "scale", "n_forget": 10, "n_retain": 10}
		pruned, err := mustOSP(t, base).Unlearn(context.Background(), &Request{Model: m, Forget: []int{6}, Data: ds, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		ft := Params{"finetune_epochs": 1, "finetune_lr": 0.05, "finetune_patience": 0, "finetune_batch_size": 16, "finetune_freeze": freeze}
		for k, v := range base {
			ft[k] = v
		}
		tuned, err := mustOSP(t, ft).Unlearn(context.Background(), &Request{Model: m, Forget: []int{6}, Data: ds, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		return pruned, tuned
	}
	pruned, tuned := run(true)
	rec := tuned.Details.(*OSPRecord)
	if len(rec.Finetune) != 2 || tuned.FinetuneSeconds <= 0 {
		t.Fatalf("fine-tuning record %+v (%.3fs)", rec.Finetune, tuned.FinetuneSeconds)
	}
	p := nn.ToHost(b, &nn.Tensor{Shape: []int{m.NumParams()}, Data: pruned.Model.Values()})
	q := nn.ToHost(b, &nn.Tensor{Shape: []int{m.NumParams()}, Data: tuned.Model.Values()})
	mask := mustOSP(t, Params{"bn": "scale"}).freezeMask(tuned.Model, rec)
	frozen, moved := 0, 0
	for i := range p {
		if mask[i] == 0 {
			frozen++
			if p[i] != q[i] {
				t.Fatalf("frozen parameter %d moved during fine-tuning: %v -> %v", i, p[i], q[i])
			}
		} else if p[i] != q[i] {
			moved++
		}
	}
	if frozen == 0 || moved < len(p)/2 {
		t.Fatalf("%d frozen, %d of %d others moved", frozen, moved, len(p)-frozen)
	}
	// Without freezing the same filters do move.
	pruned2, tuned2 := run(false)
	p2 := nn.ToHost(b, &nn.Tensor{Shape: []int{m.NumParams()}, Data: pruned2.Model.Values()})
	q2 := nn.ToHost(b, &nn.Tensor{Shape: []int{m.NumParams()}, Data: tuned2.Model.Values()})
	changed := 0
	for i := range p2 {
		if mask[i] == 0 && p2[i] != q2[i] {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("without finetune_freeze the attenuated filters should train too")
	}
}

// finetune_reprune runs the rounds again after fine-tuning, recorded as
// phase 1, until the forget samples are back at the target.
func TestOSPRepruneAfterFinetuning(t *testing.T) {
	f := fixture(t)
	p := Params{"ratio": 0.1, "strength": 0.6, "bn": "scale", "tap": "relu", "rounds": 30, "target": 0.0,
		"n_forget": 40, "n_retain": 40, "finetune_epochs": 1, "finetune_lr": 0.05, "finetune_patience": 0,
		"finetune_batch_size": 16, "finetune_reprune": true}
	res, err := mustOSP(t, p).Unlearn(context.Background(), &Request{Model: f.model, Forget: []int{3}, Data: f.ds, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Model.Release()
	rec := res.Details.(*OSPRecord)
	phases := map[int]int{}
	for _, r := range rec.Rounds {
		phases[r.Phase]++
	}
	if phases[0] == 0 || rec.FinalForgetSampleAcc != 0 {
		t.Fatalf("rounds per phase %v, final forget-sample accuracy %v (want 0)", phases, rec.FinalForgetSampleAcc)
	}
	// The returned (fine-tuned, re-pruned) model is at the target on the
	// same probe samples.
	o := mustOSP(t, p)
	split, _ := f.ds.Unlearning(3)
	probe, err := o.probeBatch(split, 1)
	if err != nil {
		t.Fatal(err)
	}
	meter := newActivationMeter(res.Model, nn.TapReLU)
	defer meter.release()
	if acc, err := meter.measure(probe, 40); err != nil || acc != 0 {
		t.Fatalf("forget-sample accuracy of the returned model %v (%v), want 0", acc, err)
	}
	if _, err := New("osp", Params{"finetune_reprune": true, "target": 0.0}); err == nil || !strings.Contains(err.Error(), "finetune_epochs > 0") {
		t.Errorf("reprune without fine-tuning: %v", err)
	}
}

// finetune_reprune_each_epoch fine-tunes one epoch at a time, re-pruning
// after each (phases 1, 2, ...), with the exponential schedule running on
// over the epochs and the filters of phase 0 kept frozen throughout.
func TestOSPRepruneEachEpoch(t *testing.T) {
	f := fixture(t)
	p := Params{"ratio": 0.1, "strength": 0.6, "bn": "keep", "tap": "relu", "rounds": 30, "target": 0.0,
		"n_forget": 40, "n_retain": 40, "finetune_epochs": 2, "finetune_lr": 0.01, "finetune_gamma": 0.5,
		"finetune_patience": 0, "finetune_batch_size": 16, "finetune_freeze": true, "finetune_bn": "train",
		"finetune_reprune": true, "finetune_reprune_each_epoch": true}
	b := f.model.Backend()
	before := nn.ToHost(b, &nn.Tensor{Shape: []int{f.model.NumParams()}, Data: f.model.Values()})
	res, err := mustOSP(t, p).Unlearn(context.Background(), &Request{Model: f.model, Forget: []int{3}, Data: f.ds, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Model.Release()
	rec := res.Details.(*OSPRecord)
	if rec.FinalForgetSampleAcc != 0 {
		t.Fatalf("final forget-sample accuracy %v, want 0", rec.FinalForgetSampleAcc)
	}
	var got []string
	for _, e := range rec.Finetune {
		got = append(got, fmt.Sprintf("%d@%g", e.Epoch, e.LR))
	}
	if want := "0@0 1@0.01 2@0.005"; strings.Join(got, " ") != want {
		t.Errorf("fine-tuning epochs %q, want %q (one record per epoch, lr decaying over the cycles)", strings.Join(got, " "), want)
	}
	// Batch norm in training mode brings the class back in each epoch
	// (bn = keep), so each epoch is followed by re-pruning.
	phases := map[int]int{}
	for _, r := range rec.Rounds {
		phases[r.Phase]++
	}
	if len(phases) != 3 || phases[0] == 0 || phases[1] == 0 || phases[2] == 0 {
		t.Errorf("rounds per phase %v, want some in each of 0 (before), 1 and 2 (after each epoch)", phases)
	}
	// A filter attenuated in phase 0 is frozen from then on: neither epoch
	// trains it, and later re-prunings only scale it further, so it ends as
	// its original weights times the product of all its scales.
	scale := map[[2]int]float64{}
	for _, r := range rec.Rounds {
		for u, l := range r.Layers {
			for i, k := range l.Filters {
				key := [2]int{u, k}
				if s, ok := scale[key]; ok {
					scale[key] = s * l.Scale[i]
				} else if r.Phase == 0 {
					scale[key] = l.Scale[i]
				}
			}
		}
	}
	after := nn.ToHost(b, &nn.Tensor{Shape: []int{f.model.NumParams()}, Data: res.Model.Values()})
	checked := 0
	for key, s := range scale {
		unit := res.Model.Units[key[0]]
		per := unit.Conv.Weight.Numel() / unit.Conv.Out
		off := unit.Conv.Weight.Offset + key[1]*per
		for i := 0; i < per; i++ {
			if want := float64(before[off+i]) * s; math.Abs(float64(after[off+i])-want) > 1e-5*math.Max(1, math.Abs(want)) {
				t.Fatalf("unit %d filter %d weight %d: %v, want %v (frozen, scaled by %v)", key[0], key[1], i, after[off+i], want, s)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no filter attenuated before fine-tuning; the fixture does not exercise the freeze")
	}
	if _, err := New("osp", Params{"finetune_reprune_each_epoch": true, "finetune_epochs": 1, "target": 0.0}); err == nil || !strings.Contains(err.Error(), "needs finetune_reprune") {
		t.Errorf("each-epoch re-pruning without finetune_reprune: %v", err)
	}
}
