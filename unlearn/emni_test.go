package unlearn

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"lethe/nn"
)

// The noise objective's gradient with respect to the noise, checked by
// central differences on a few coordinates (float32 forward passes, so
// a loose tolerance).
func TestEMNINoiseGradient(t *testing.T) {
	f := fixture(t)
	m, err := f.model.Clone()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	b := m.Backend()
	const n = 4
	size := n * 28 * 28
	r := rand.New(rand.NewPCG(8, 9))
	host := make([]float32, size)
	for i := range host {
		host[i] = float32(r.NormFloat64())
	}
	noise := nn.FromHost(b, host, n, 1, 28, 28)
	labels := b.AllocInt(n)
	b.UploadInt(labels, []int32{3, 3, 3, 3})
	obj := noiseObjective{m: m, reg: 0.1}
	grad := b.Alloc(size)
	if _, _, err := obj.eval(noise, labels, grad); err != nil {
		t.Fatal(err)
	}
	g := make([]float32, size)
	b.Download(g, grad)
	at := func(i int, v float32) float64 {
		saved := host[i]
		host[i] = v
		b.Upload(noise.Data, host)
		host[i] = saved
		j, _, err := obj.eval(noise, labels, nil)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	const h = 1e-2
	bad, checked := 0, 0
	for c := 0; c < 40; c++ {
		i := r.IntN(size)
		fd := (at(i, host[i]+h) - at(i, host[i]-h)) / (2 * h)
		checked++
		if math.Abs(fd-float64(g[i])) > 2e-3+0.05*math.Abs(fd) {
			bad++
			t.Logf("coordinate %d: analytic %v, finite difference %v", i, g[i], fd)
		}
	}
	// A ReLU or max-pool switching inside ±h can spoil a coordinate or two.
	if bad > 2 {
		t.Errorf("%d of %d coordinates disagree", bad, checked)
	}
}

// Learning the noise maximises the error on the forget class: the
// objective falls, the cross-entropy to the class rises, and the impair
// set holds the noise copies and the retained images.
func TestEMNILearnsErrorMaximisingNoise(t *testing.T) {
	f := fixture(t)
	res, err := mustNew(t, "emni", Params{"noise_steps": 15, "noise_copies": 3, "retain_per_class": 4}).Unlearn(context.Background(), f.request(2))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Model.Release()
	rec := res.Details.(*EMNIRecord)
	obj := rec.NoiseObjective[0]
	if len(obj) != 16 || !(obj[len(obj)-1] < obj[0]-1) {
		t.Errorf("noise objective %v: want 16 values falling by more than 1", obj)
	}
	if !(rec.NoiseCE[0] > 2) {
		t.Errorf("the learned noise's cross-entropy to its class is %v: not error-maximising", rec.NoiseCE[0])
	}
	if rec.NoiseSamples != 3*32 || rec.RetainedSamples != 9*4 {
		t.Errorf("impair set: %d noise, %d retained images", rec.NoiseSamples, rec.RetainedSamples)
	}
	if len(rec.Epochs) != 2 || rec.Epochs[0].Phase != "impair" || rec.Epochs[1].Phase != "repair" || !(res.FinetuneSeconds > 0) {
		t.Errorf("phases %+v, repair seconds %v", rec.Epochs, res.FinetuneSeconds)
	}
}

// The impair set is the noise copies, labelled with their class, and the
// retained images, each exactly once per epoch, in an order that changes
// with the epoch.
func TestEMNIImpairSet(t *testing.T) {
	f := fixture(t)
	split, _ := f.ds.Unlearning(0)
	retained := split.Dr.PerClass(3, 1)
	noise := make([]float32, 2*784)
	for i := range noise {
		noise[i] = float32(i/784) + 100 // image j holds 100+j everywhere
	}
	set := &noiseMixture{noise: noise, noiseY: []int32{0, 0}, copies: 5, retain: retained.TrainFeed(2), seed: 3, c: 1, h: 28, w: 28, classes: 10}
	if set.Len() != 10+retained.Len() {
		t.Fatalf("Len %d", set.Len())
	}
	first := map[int][]int32{}
	for epoch := 0; epoch < 2; epoch++ {
		ld := set.Batches(epoch, 7)
		var bt nn.Batch
		noiseSeen, retainedSeen := [2]int{}, 0
		for ld.Next(&bt) {
			for k := 0; k < bt.N; k++ {
				x := bt.X[k*784]
				first[epoch] = append(first[epoch], bt.Y[k])
				switch {
				case x >= 100:
					noiseSeen[int(x-100)]++
					if bt.Y[k] != 0 {
						t.Fatalf("noise labelled %d", bt.Y[k])
					}
				default:
					retainedSeen++
					if bt.Y[k] == 0 {
						t.Fatal("a retained image labelled with the forget class")
					}
				}
			}
		}
		if err := ld.Err(); err != nil {
			t.Fatal(err)
		}
		if noiseSeen != [2]int{5, 5} || retainedSeen != retained.Len() {
			t.Errorf("epoch %d: noise images seen %v, retained %d of %d", epoch, noiseSeen, retainedSeen, retained.Len())
		}
	}
	if slices.Equal(first[0], first[1]) {
		t.Error("two epochs share one order")
	}
}
