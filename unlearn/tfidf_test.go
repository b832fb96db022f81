package unlearn

import (
	"context"
	"math"
	"slices"
	"testing"

	"lethe/nn"
)

// A hand-worked example of METHODS.md's definition. One layer, three
// filters, three classes, forget class 0:
//
//	F = [3 1 1; 1 1 1; 0 2 4]      column 0 sums to 4: TF[·,0] = .75, .25, 0
//	filter 0: mean 5/3, df 1, IDF ln(3/2)  -> score .75·ln 1.5
//	filter 1: mean 1,   df 3, IDF ln(3/4)  -> score .25·ln .75
//	filter 2: mean 2,   df 2, IDF ln 1 = 0 -> score 0
func TestTFIDFScoresByHand(t *testing.T) {
	F := [][][]float64{{{3, 1, 1}, {1, 1, 1}, {0, 2, 4}}}
	got, err := tfidfScores(F, []int{5, 5, 5}, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.75 * math.Log(1.5), 0.25 * math.Log(0.75), 0}
	for k := range want {
		if math.Abs(got[0][k]-want[k]) > 1e-12 {
			t.Errorf("score of filter %d = %v, want %v", k, got[0][k], want[k])
		}
	}
	// A class without samples is left out (C = 2): filter 0's mean over
	// classes 0 and 1 is 2, df 1, IDF ln(2/2) = 0; filter 2's mean 1, df 1
	// (class 1), IDF 0 too; filter 1: df 2, IDF ln(2/3).
	got, err = tfidfScores(F, []int{5, 5, 0}, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	want = []float64{0, 0.25 * math.Log(2.0/3), 0}
	for k := range want {
		if math.Abs(got[0][k]-want[k]) > 1e-12 {
			t.Errorf("class 2 absent: score of filter %d = %v, want %v", k, got[0][k], want[k])
		}
	}
	if _, err := tfidfScores(F, []int{0, 5, 5}, []int{0}); err == nil {
		t.Error("a forget class without feature samples gave no error")
	}
}

// The paper prunes the highest scores, the reference code the lowest: the
// two sets are the two ends of the pooled ranking, disjoint, and exactly
// the filters zeroed in the model; nothing else changes before
// fine-tuning, and fine-tuning keeps the pruned filters at zero.
func TestTFIDFPrunesTopOrLowestScores(t *testing.T) {
	f := fixture(t)
	type outcome struct {
		rec    *TFIDFRecord
		values []float32
	}
	run := func(p Params) outcome {
		res, err := mustNew(t, "tfidf", p).Unlearn(context.Background(), f.request(1))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Model.Release()
		return outcome{res.Details.(*TFIDFRecord), values(res.Model)}
	}
	top := run(Params{"ratio": 0.2, "finetune_epochs": 0})
	low := run(Params{"ratio": 0.2, "finetune_epochs": 0, "prune": "lowest"})
	original := values(f.model)
	total := 0
	for _, u := range f.model.Units {
		total += u.Conv.Out
	}
	wantCount := int(math.Ceil(0.2 * float64(total)))
	for _, o := range []outcome{top, low} {
		if o.rec.Pruned != wantCount || o.rec.Filters != total {
			t.Fatalf("%s: pruned %d of %d filters, want %d", o.rec.Prune, o.rec.Pruned, o.rec.Filters, wantCount)
		}
	}
	// Same data and seed: the same scores in both modes.
	for u := range top.rec.Layers {
		if !slices.Equal(top.rec.Layers[u].Scores, low.rec.Layers[u].Scores) {
			t.Fatalf("unit %s: scores differ between the modes", top.rec.Layers[u].Unit)
		}
	}
	check := func(o outcome, higherIsPruned bool) map[[2]int]bool {
		set := map[[2]int]bool{}
		for u, l := range o.rec.Layers {
			for _, k := range l.Pruned {
				set[[2]int{u, k}] = true
			}
		}
		// Every pruned score lies at or beyond every kept score.
		worstPruned, bestKept := math.Inf(1), math.Inf(-1)
		if !higherIsPruned {
			worstPruned, bestKept = math.Inf(-1), math.Inf(1)
		}
		for u, l := range o.rec.Layers {
			for k, s := range l.Scores {
				pruned := set[[2]int{u, k}]
				switch {
				case pruned && higherIsPruned:
					worstPruned = math.Min(worstPruned, s)
				case pruned:
					worstPruned = math.Max(worstPruned, s)
				case higherIsPruned:
					bestKept = math.Max(bestKept, s)
				default:
					bestKept = math.Min(bestKept, s)
				}
			}
		}
		if (higherIsPruned && worstPruned < bestKept) || (!higherIsPruned && worstPruned > bestKept) {
			t.Errorf("%s: a pruned score %v is on the wrong side of a kept one %v", o.rec.Prune, worstPruned, bestKept)
		}
		// Exactly the pruned filters are zero; everything else is as it was.
		changed := make([]bool, len(original))
		for u, unit := range f.model.Units {
			w := unit.Conv.Weight
			per := w.Numel() / unit.Conv.Out
			for k := 0; k < unit.Conv.Out; k++ {
				for i := w.Offset + k*per; i < w.Offset+(k+1)*per; i++ {
					changed[i] = set[[2]int{u, k}]
					if changed[i] && o.values[i] != 0 {
						t.Fatalf("%s: filter %d of %s is not zero", o.rec.Prune, k, unit.Name())
					}
				}
			}
		}
		for i := range original {
			if !changed[i] && o.values[i] != original[i] {
				t.Fatalf("%s: parameter element %d outside the pruned filters changed", o.rec.Prune, i)
			}
		}
		return set
	}
	topSet, lowSet := check(top, true), check(low, false)
	for key := range topSet {
		if lowSet[key] {
			t.Errorf("filter %v is pruned in both modes", key)
		}
	}
	// Fine-tuning moves the model but not the pruned filters.
	tuned := run(Params{"ratio": 0.2, "finetune_epochs": 1})
	moved := false
	for u, unit := range f.model.Units {
		w := unit.Conv.Weight
		per := w.Numel() / unit.Conv.Out
		for k := 0; k < unit.Conv.Out; k++ {
			block := tuned.values[w.Offset+k*per : w.Offset+(k+1)*per]
			if topSet[[2]int{u, k}] {
				for _, v := range block {
					if v != 0 {
						t.Fatalf("fine-tuning revived pruned filter %d of %s", k, unit.Name())
					}
				}
			} else if !slices.Equal(block, original[w.Offset+k*per:w.Offset+(k+1)*per]) {
				moved = true
			}
		}
	}
	if !moved || len(tuned.rec.Finetune) != 1 {
		t.Errorf("fine-tuning did not run (moved %v, %d epochs)", moved, len(tuned.rec.Finetune))
	}
}

func TestTFIDFAutomaticSettings(t *testing.T) {
	m := mustNew(t, "tfidf", nil).(*TFIDF)
	cases := []struct {
		arch    string
		classes int
		ratio   float64
		batches int
	}{
		{"resnet18", 10, 0.05, 1}, {"vgg16_bn", 10, 0.11, 1}, {"resnet18", 100, 0.10, 20},
		{"vgg16_bn", 100, 0.15, 20}, {"smallcnn", 10, 0.05, 1},
	}
	for _, c := range cases {
		cfg := archConfig(c.arch, c.classes)
		if r := m.ratioFor(cfg); r != c.ratio {
			t.Errorf("%s, %d classes: ratio %v, want %v", c.arch, c.classes, r, c.ratio)
		}
		if b := m.batchesFor(c.classes); b != c.batches {
			t.Errorf("%d classes: %d batches, want %d", c.classes, b, c.batches)
		}
	}
	set := mustNew(t, "tfidf", Params{"ratio": 0.3, "batches": 2}).(*TFIDF)
	if set.ratioFor(archConfig("vgg16_bn", 100)) != 0.3 || set.batchesFor(100) != 2 {
		t.Error("explicit ratio and batches are not used")
	}
}

func archConfig(arch string, classes int) nn.Config { return nn.Config{Arch: arch, Classes: classes} }
