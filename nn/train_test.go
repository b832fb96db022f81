package nn_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lethe/nn"
)

// synth is a generated classification task: class k is a grating at
// angle k·π/classes with a random phase, plus noise. Its evidence is local
// texture, so a network with global pooling can separate it.
type synth struct {
	c, h, w, classes int
	x                []float32
	y                []int32
	shuffle          bool
}

func newSynth(n, classes, c, h, w int, noise float64, seed uint64) *synth {
	r := rand.New(rand.NewPCG(seed, 99))
	s := &synth{c: c, h: h, w: w, classes: classes, shuffle: true}
	for i := 0; i < n; i++ {
		k := i % classes
		s.y = append(s.y, int32(k))
		angle := math.Pi * float64(k) / float64(classes)
		fx, fy := math.Cos(angle), math.Sin(angle)
		phase := r.Float64() * 2 * math.Pi
		for ch := 0; ch < c; ch++ {
			for yy := 0; yy < h; yy++ {
				for xx := 0; xx < w; xx++ {
					v := math.Sin(1.3*(fx*float64(xx)+fy*float64(yy)) + phase)
					s.x = append(s.x, float32(v+r.NormFloat64()*noise))
				}
			}
		}
	}
	return s
}

func (s *synth) Len() int               { return len(s.y) }
func (s *synth) NumClasses() int        { return s.classes }
func (s *synth) Shape() (int, int, int) { return s.c, s.h, s.w }
func (s *synth) Batches(epoch, bs int) nn.Loader {
	order := make([]int, len(s.y))
	for i := range order {
		order[i] = i
	}
	if s.shuffle {
		r := rand.New(rand.NewPCG(uint64(epoch), 5))
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	return &synthLoader{s: s, order: order, bs: bs}
}

type synthLoader struct {
	s     *synth
	order []int
	bs    int
	pos   int
}

func (l *synthLoader) Next(b *nn.Batch) bool {
	if l.pos >= len(l.order) {
		return false
	}
	idx := l.order[l.pos:min(l.pos+l.bs, len(l.order))]
	l.pos += len(idx)
	d := l.s.c * l.s.h * l.s.w
	b.N, b.C, b.H, b.W = len(idx), l.s.c, l.s.h, l.s.w
	b.X, b.Y = b.X[:0], b.Y[:0]
	for _, i := range idx {
		b.X = append(b.X, l.s.x[i*d:(i+1)*d]...)
		b.Y = append(b.Y, l.s.y[i])
	}
	return true
}

func (l *synthLoader) Err() error { return nil }

func smallRecipe(epochs int) nn.TrainConfig {
	return nn.TrainConfig{Epochs: epochs, BatchSize: 32,
		Optim:    nn.OptimConfig{Name: "sgd", LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4},
		Schedule: nn.ScheduleConfig{Name: "cosine"}}
}

func TestSmallCNNLearnsSeparableTask(t *testing.T) {
	b := backend(t)
	train := newSynth(640, 10, 1, 28, 28, 1.0, 1)
	test := newSynth(300, 10, 1, 28, 28, 1.0, 2)
	test.shuffle = false
	m, err := nn.New(b, nn.Config{Arch: "smallcnn", Classes: 10, InC: 1, InH: 28, InW: 28, Width: 0.5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := smallRecipe(2)
	cfg.OrthoLambda = 1e-3
	steps := 0
	cfg.Progress = func(p nn.TrainProgress) { steps++ }
	stats, err := nn.Train(context.Background(), m, train, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if steps != 2*20 {
		t.Errorf("progress called %d times, want 40 (2 epochs of 20 steps)", steps)
	}
	if len(stats) != 2 || stats[1].Loss >= stats[0].Loss {
		t.Errorf("loss did not fall: %+v", stats)
	}
	r, err := nn.Evaluate(context.Background(), m, test, 100)
	if err != nil {
		t.Fatal(err)
	}
	if acc := r.Accuracy(); acc < 0.95 {
		t.Fatalf("test accuracy %.3f on a separable task, want > 0.95", acc)
	}
	for k := 0; k < 10; k++ {
		if r.Total[k] != 30 {
			t.Fatalf("class %d has %d test samples, want 30", k, r.Total[k])
		}
	}
}

func TestTrainingIsDeterministic(t *testing.T) {
	b := backend(t)
	data := newSynth(96, 4, 3, 8, 8, 0.5, 3)
	run := func() []float32 {
		m, err := nn.New(b, nn.Config{Arch: "resnet18", Classes: 4, InC: 3, InH: 8, InW: 8, Width: 1.0 / 16, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Release()
		cfg := smallRecipe(1)
		cfg.OrthoLambda = 1e-4
		if _, err := nn.Train(context.Background(), m, data, cfg); err != nil {
			t.Fatal(err)
		}
		out := make([]float32, m.NumParams())
		b.Download(out, m.Values())
		return out
	}
	a, c := run(), run()
	for i := range a {
		if a[i] != c[i] {
			t.Fatalf("parameter %d differs between identical runs: %v vs %v", i, a[i], c[i])
		}
	}
}

func TestDivergenceNamesStepAndLayer(t *testing.T) {
	b := backend(t)
	data := newSynth(64, 4, 1, 8, 8, 0.5, 3)
	m, err := nn.New(b, nn.Config{Arch: "smallcnn", Classes: 4, InC: 1, InH: 8, InW: 8, Width: 0.25, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	w := m.Param("conv2.weight")
	vals := nn.ToHost(b, w.Value)
	vals[3] = float32(math.NaN())
	b.Upload(w.Value.Data, vals)
	_, err = nn.Train(context.Background(), m, data, smallRecipe(1))
	var nf *nn.NonFiniteError
	if !errors.As(err, &nf) {
		t.Fatalf("want a NonFiniteError, got %v", err)
	}
	if nf.Epoch != 1 || nf.Step != 1 || !strings.Contains(err.Error(), "conv2.weight") {
		t.Fatalf("error does not name the step and the layer: %v", err)
	}

	// A learning rate that blows up: the error still names a step.
	m2, _ := nn.New(b, nn.Config{Arch: "smallcnn", Classes: 4, InC: 1, InH: 8, InW: 8, Width: 0.25, Seed: 1})
	cfg := smallRecipe(3)
	cfg.Optim.LR = 1e12
	_, err = nn.Train(context.Background(), m2, data, cfg)
	if !errors.As(err, &nf) || nf.Step < 1 {
		t.Fatalf("want a NonFiniteError for a huge learning rate, got %v", err)
	}
}

func TestTrainHonoursCancellation(t *testing.T) {
	b := backend(t)
	data := newSynth(64, 4, 1, 8, 8, 0.5, 3)
	m, _ := nn.New(b, nn.Config{Arch: "smallcnn", Classes: 4, InC: 1, InH: 8, InW: 8, Width: 0.25, Seed: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cfg := smallRecipe(5)
	cfg.Progress = func(p nn.TrainProgress) {
		if p.Step == 1 {
			cancel()
		}
	}
	_, err := nn.Train(ctx, m, data, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestCheckpointRoundTripAndErrors(t *testing.T) {
	b := backend(t)
	dir := t.TempDir()
	cfg := nn.Config{Arch: "resnet18", Classes: 10, InC: 3, InH: 32, InW: 32, Width: 1.0 / 16, Seed: 5}
	m, err := nn.New(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Train a step so running statistics and num_batches_tracked move.
	data := newSynth(32, 10, 3, 32, 32, 0.5, 1)
	if _, err := nn.Train(context.Background(), m, data, smallRecipe(1)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m.safetensors")
	if err := m.Save(path, map[string]string{"note": "test"}); err != nil {
		t.Fatal(err)
	}
	got, err := nn.LoadModel(b, path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Config != m.Config {
		t.Fatalf("config %+v, want %+v", got.Config, m.Config)
	}
	for i, p := range m.Params {
		assertClose(t, p.Name, nn.ToHost(b, got.Params[i].Value), nn.ToHost(b, p.Value), 0, 0)
	}
	for i, p := range m.State {
		assertClose(t, p.Name, nn.ToHost(b, got.State[i].Value), nn.ToHost(b, p.Value), 0, 0)
	}
	ts, meta, err := nn.ReadTensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta["note"] != "test" || ts["bn1.num_batches_tracked"].Data[0] != 1 {
		t.Fatalf("metadata %v, num_batches_tracked %v", meta, ts["bn1.num_batches_tracked"])
	}

	// Errors name the tensor at fault.
	wider, _ := nn.New(b, nn.Config{Arch: "resnet18", Classes: 10, InC: 3, InH: 32, InW: 32, Width: 1.0 / 8})
	if err := wider.Load(path); err == nil || !strings.Contains(err.Error(), "conv1.weight has shape [4 3 3 3], the model expects [8 3 3 3]") {
		t.Errorf("wrong-shape load: %v", err)
	}
	small, _ := nn.New(b, nn.Config{Arch: "smallcnn", Classes: 10, InC: 3, InH: 32, InW: 32})
	if err := small.Load(path); err == nil || !strings.Contains(err.Error(), "tensor conv1.weight has shape [4 3 3 3], the model expects [32 3 3 3]") {
		t.Errorf("wrong-architecture load: %v", err)
	}
	raw, _ := os.ReadFile(path)
	trunc := filepath.Join(dir, "trunc.safetensors")
	os.WriteFile(trunc, raw[:len(raw)-100], 0o644)
	if _, err := nn.LoadModel(b, trunc); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated checkpoint: %v", err)
	}
	garbage := filepath.Join(dir, "garbage.safetensors")
	os.WriteFile(garbage, []byte("definitely not a checkpoint"), 0o644)
	if _, err := nn.LoadModel(b, garbage); err == nil {
		t.Error("garbage file loaded without error")
	}
	// Drop one tensor: the error names it.
	missing := filepath.Join(dir, "missing.safetensors")
	m2, _ := nn.NewCustom(b, nn.Config{Arch: "x", Classes: 1, InC: 1, InH: 4, InW: 4}, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
		return nn.Sequential{mb.Conv("conv1", 1, 4, 3, 1, 1, false)}, nil
	})
	if err := m2.Save(missing, nil); err != nil {
		t.Fatal(err)
	}
	m3, _ := nn.NewCustom(b, nn.Config{Arch: "x", Classes: 1, InC: 1, InH: 4, InW: 4}, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
		return nn.Sequential{mb.Conv("conv1", 1, 4, 3, 1, 1, true)}, nil
	})
	if err := m3.Load(missing); err == nil || !strings.Contains(err.Error(), "tensor conv1.bias is missing") {
		t.Errorf("missing tensor: %v", err)
	}
}

func TestShapeErrorsNameTheLayer(t *testing.T) {
	b := backend(t)
	m, _ := nn.New(b, nn.Config{Arch: "smallcnn", Classes: 10, InC: 1, InH: 28, InW: 28, Width: 0.25})
	_, err := m.Forward(&nn.Ctx{}, nn.FromHost(b, make([]float32, 2*3*28*28), 2, 3, 28, 28))
	if err == nil || !strings.Contains(err.Error(), "smallcnn input") {
		t.Fatalf("wrong channel count: %v", err)
	}
	if _, _, err := m.Input(&nn.Batch{N: 1, C: 1, H: 32, W: 32, X: make([]float32, 1024), Y: []int32{0}}); err == nil {
		t.Fatal("a 32x32 batch was accepted by a 28x28 model")
	}
	if _, err := nn.New(b, nn.Config{Arch: "resnet34", Classes: 10, InC: 3, InH: 32, InW: 32}); err == nil || !strings.Contains(err.Error(), "resnet18") {
		t.Fatalf("unknown arch error should list the known ones: %v", err)
	}
	if _, err := nn.New(b, nn.Config{Arch: "vgg16_bn", Classes: 10, InC: 3, InH: 16, InW: 16}); err == nil {
		t.Fatal("vgg16_bn accepted a 16x16 input")
	}
	// Batch norm in training mode needs more than one value per channel.
	bn, _ := nn.NewCustom(b, nn.Config{Arch: "bn", Classes: 1, InC: 1, InH: 1, InW: 1}, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
		return nn.Sequential{mb.Conv("conv", 1, 2, 1, 1, 0, false), mb.BN("bn", 2)}, nil
	})
	if _, err := bn.Forward(&nn.Ctx{Train: true}, nn.FromHost(b, []float32{1}, 1, 1, 1, 1)); err == nil || !strings.Contains(err.Error(), "bn:") {
		t.Fatalf("single-value batch norm: %v", err)
	}
}

func TestTapsReportEveryUnit(t *testing.T) {
	b := backend(t)
	m, err := nn.New(b, nn.Config{Arch: "resnet18", Classes: 10, InC: 3, InH: 16, InW: 16, Width: 1.0 / 16})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Units) != 20 {
		t.Fatalf("resnet18 has %d convolution units, want 20 (17 3x3 + 3 shortcuts)", len(m.Units))
	}
	seen := map[nn.TapPoint]map[int]int{nn.TapConv: {}, nn.TapBN: {}, nn.TapReLU: {}}
	var bnOut, reluOut []float32
	tap := func(unit int, p nn.TapPoint, y *nn.Tensor) {
		seen[p][unit]++
		if y.Dim(1) != m.Units[unit].Conv.Out {
			t.Errorf("unit %d (%s) tap %s has %d channels, want %d", unit, m.Units[unit].Name(), p, y.Dim(1), m.Units[unit].Conv.Out)
		}
		if unit == 1 && p == nn.TapBN {
			bnOut = nn.ToHost(b, y)
		}
		if unit == 1 && p == nn.TapReLU {
			reluOut = nn.ToHost(b, y)
		}
	}
	x := nn.FromHost(b, randVals(rand.New(rand.NewPCG(1, 1)), 2*3*16*16, 1), 2, 3, 16, 16)
	if _, err := m.Forward(&nn.Ctx{Tap: tap}, x); err != nil {
		t.Fatal(err)
	}
	for p, units := range seen {
		if len(units) != 20 {
			t.Errorf("tap %s reported %d units, want 20", p, len(units))
		}
	}
	// Unit 1 is layer1.0.conv1: its ReLU output is max(BN output, 0).
	for i := range bnOut {
		if want := float32(math.Max(float64(bnOut[i]), 0)); reluOut[i] != want {
			t.Fatalf("relu tap %v at %d, bn tap %v", reluOut[i], i, bnOut[i])
		}
	}
	if !m.Units[0].First || m.Units[0].Name() != "conv1" {
		t.Errorf("unit 0 is %s (first=%v), want conv1", m.Units[0].Name(), m.Units[0].First)
	}
	shortcuts := 0
	for _, u := range m.Units {
		if u.Shortcut {
			shortcuts++
			if !strings.HasSuffix(u.Name(), "downsample.0") || u.BN == nil {
				t.Errorf("shortcut unit %s", u.Name())
			}
		}
	}
	if shortcuts != 3 {
		t.Errorf("%d shortcut units, want 3", shortcuts)
	}
}

func TestSchedules(t *testing.T) {
	const base = 0.1
	cases := []struct {
		s                  nn.ScheduleConfig
		epoch, step, steps int
		want               float64
	}{
		{nn.ScheduleConfig{Name: "constant"}, 7, 0, 10, 0.1},
		{nn.ScheduleConfig{Name: "multistep", Milestones: []int{2, 4}, Gamma: 0.1}, 1, 0, 10, 0.1},
		{nn.ScheduleConfig{Name: "multistep", Milestones: []int{2, 4}, Gamma: 0.1}, 2, 0, 10, 0.01},
		{nn.ScheduleConfig{Name: "multistep", Milestones: []int{2, 4}, Gamma: 0.1}, 5, 0, 10, 0.001},
		{nn.ScheduleConfig{Name: "cosine"}, 0, 0, 10, 0.1},
		{nn.ScheduleConfig{Name: "cosine"}, 5, 0, 10, 0.05},
		{nn.ScheduleConfig{Name: "exponential", Gamma: 0.5}, 3, 0, 10, 0.0125},
		{nn.ScheduleConfig{Name: "constant", WarmupEpochs: 1}, 0, 4, 10, 0.05},
		{nn.ScheduleConfig{Name: "constant", WarmupEpochs: 1}, 1, 0, 10, 0.1},
	}
	for _, c := range cases {
		if got := c.s.LR(base, c.epoch, 10, c.step, c.steps); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%+v epoch %d step %d: lr %v, want %v", c.s, c.epoch, c.step, got, c.want)
		}
	}
	for _, bad := range []nn.ScheduleConfig{{Name: "step"}, {Name: "multistep", Gamma: 0.1}, {Name: "exponential"}} {
		if bad.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
}

// A trainer with FrozenBN updates the parameters but leaves the batch-norm
// running statistics and their counters alone; gradient masks freeze
// exactly the masked values.
func TestTrainerFrozenBNAndMask(t *testing.T) {
	b := backend(t)
	m, err := nn.New(b, nn.Config{Arch: "smallcnn", Classes: 4, InC: 1, InH: 8, InW: 8, Width: 0.25, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := nn.NewTrainer(m, nn.OptimConfig{Name: "sgd", LR: 0.1, Momentum: 0.9}, 0, nn.OrthoExclude{})
	if err != nil {
		t.Fatal(err)
	}
	tr.FrozenBN = true
	mask := make([]float32, m.NumParams())
	for i := range mask {
		mask[i] = float32(i % 2)
	}
	tr.Mask = b.Alloc(len(mask))
	b.Upload(tr.Mask, mask)
	state0 := nn.ToHost(b, &nn.Tensor{Shape: []int{m.StateValues().Len()}, Data: m.StateValues()})
	vals0 := nn.ToHost(b, &nn.Tensor{Shape: []int{m.NumParams()}, Data: m.Values()})
	data := newSynth(32, 4, 1, 8, 8, 0.5, 3)
	var bt nn.Batch
	ld := data.Batches(0, 16)
	for ld.Next(&bt) {
		if _, _, err := tr.Step(&bt, 0.1, 1); err != nil {
			t.Fatal(err)
		}
	}
	state1 := nn.ToHost(b, &nn.Tensor{Shape: []int{m.StateValues().Len()}, Data: m.StateValues()})
	for i := range state0 {
		if state0[i] != state1[i] {
			t.Fatal("FrozenBN training changed a running statistic")
		}
	}
	vals1 := nn.ToHost(b, &nn.Tensor{Shape: []int{m.NumParams()}, Data: m.Values()})
	moved := 0
	for i := range vals0 {
		if mask[i] == 0 && vals0[i] != vals1[i] {
			t.Fatalf("masked parameter %d moved", i)
		}
		if mask[i] == 1 && vals0[i] != vals1[i] {
			moved++
		}
	}
	if moved < len(vals0)/4 {
		t.Fatalf("only %d unmasked parameters moved", moved)
	}
}
