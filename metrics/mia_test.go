package metrics

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

type miaGolden struct {
	Classes     int       `json:"classes"`
	Forget      []int     `json:"forget"`
	TestLabels  []int32   `json:"test_labels"`
	TestProbs   []float32 `json:"test_probs"`
	TrainLabels []int32   `json:"train_labels"`
	Cases       []struct {
		Name          string    `json:"name"`
		TrainProbs    []float32 `json:"train_probs"`
		SVMConfidence float64   `json:"svm_confidence"`
		LogRegEntropy float64   `json:"logreg_entropy"`
	} `json:"cases"`
}

// TestMIAMatchesReference runs both attacks on the outputs of
// testdata/gen_mia_golden.py and compares with the reference code run by
// scikit-learn (SalUn's SVC_fit_predict, SSD's get_membership_attack_prob).
// Each value is a fraction of 100 forget samples, so equality means every
// prediction agrees.
func TestMIAMatchesReference(t *testing.T) {
	var g miaGolden
	loadJSON(t, "mia_golden.json", &g)
	test, err := NewOutputs(g.TestProbs, g.TestLabels, g.Classes)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			train, err := NewOutputs(c.TrainProbs, g.TrainLabels, g.Classes)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []struct {
				attack string
				value  float64
			}{{AttackSVMConfidence, c.SVMConfidence}, {AttackLogRegEntropy, c.LogRegEntropy}} {
				got, err := MembershipInference(want.attack, train, test, g.Forget, MIAOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if got.Value != want.value {
					t.Errorf("%s = %v, reference %v", want.attack, got.Value, want.value)
				}
				if got.Targets != 100 {
					t.Errorf("%s scored %d forget samples, want 100", want.attack, got.Targets)
				}
				t.Logf("%s: %+v", want.attack, got)
			}
		})
	}
}

// confidenceOutputs makes n samples of a 4-class model whose probability
// on the true label is drawn from [lo, hi], the rest spread evenly.
func confidenceOutputs(rng *rand.Rand, n int, labels []int32, lo, hi float64) Outputs {
	const classes = 4
	o := Outputs{Classes: classes}
	for i := range n {
		y := labels[i%len(labels)]
		conf := lo + (hi-lo)*rng.Float64()
		for k := range classes {
			p := (1 - conf) / (classes - 1)
			if int32(k) == y {
				p = conf
			}
			o.Probs = append(o.Probs, float32(p))
		}
		o.Labels = append(o.Labels, y)
	}
	return o
}

// TestMIAKnownAnswers builds cases whose answer is known: members are
// predicted with confidence 1 (entropy 0), non-members with confidence
// 0.25-0.45. A forget set that looks like members must score 1, one that
// looks like non-members 0, under both attacks.
func TestMIAKnownAnswers(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	retained := []int32{0, 1, 3}
	dR := confidenceOutputs(rng, 600, retained, 1, 1)
	tR := confidenceOutputs(rng, 300, retained, 0.25, 0.45)
	tF := confidenceOutputs(rng, 100, []int32{2}, 0.25, 0.45)
	test := concatOutputs(tR, tF)
	for _, tc := range []struct {
		name string
		dF   Outputs
		want float64
	}{
		{"forget set remembered", confidenceOutputs(rng, 200, []int32{2}, 1, 1), 1},
		{"forget set forgotten", confidenceOutputs(rng, 200, []int32{2}, 0.25, 0.45), 0},
	} {
		svm, err := SVMConfidenceMIA(dR, tR, tc.dF, MIAOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if svm.Value != tc.want {
			t.Errorf("%s: svm-confidence %v, want %v", tc.name, svm.Value, tc.want)
		}
		if svm.Members != 300 || svm.NonMembers != 300 || svm.Targets != 200 {
			t.Errorf("%s: svm-confidence used %d members, %d non-members, %d targets; want 300 (|T_r|), 300, 200",
				tc.name, svm.Members, svm.NonMembers, svm.Targets)
		}
		lr, err := LogRegEntropyMIA(dR, test, tc.dF)
		if err != nil {
			t.Fatal(err)
		}
		if lr.Value != tc.want {
			t.Errorf("%s: logreg-entropy %v, want %v", tc.name, lr.Value, tc.want)
		}
		if lr.Members != 600 || lr.NonMembers != 400 {
			t.Errorf("%s: logreg-entropy used %d members, %d non-members; want all of D_r (600) and the whole test set (400)",
				tc.name, lr.Members, lr.NonMembers)
		}
	}
}

// TestMIACapAndSeed checks the cap on each side and that the sample
// depends on the seed alone.
func TestMIACapAndSeed(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	dR := confidenceOutputs(rng, 900, []int32{0, 1}, 0.6, 1)
	tR := confidenceOutputs(rng, 700, []int32{0, 1}, 0.3, 0.9)
	dF := confidenceOutputs(rng, 300, []int32{2}, 0.4, 1)
	run := func(seed uint64) MIAResult {
		r, err := SVMConfidenceMIA(dR, tR, dF, MIAOptions{Cap: 120, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := run(1), run(1)
	if a != b {
		t.Errorf("same seed, different results: %+v vs %+v", a, b)
	}
	if a.Members != 120 || a.NonMembers != 120 {
		t.Errorf("cap 120: %d members, %d non-members", a.Members, a.NonMembers)
	}
	if a.Value <= 0 || a.Value >= 1 {
		t.Errorf("overlapping distributions gave MIA %v; expected strictly between 0 and 1", a.Value)
	}
	differs := false
	for seed := uint64(2); seed < 6 && !differs; seed++ {
		differs = run(seed).Value != a.Value
	}
	if !differs {
		t.Error("five seeds gave the same MIA value: the seed does not reach the sample")
	}
}

func TestSampleSorted(t *testing.T) {
	got := sampleSorted(1000, 10, 3, 1)
	if len(got) != 10 {
		t.Fatalf("%d indices, want 10", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("indices not strictly ascending: %v", got)
		}
	}
	if all := sampleSorted(5, 10, 3, 1); len(all) != 5 || all[4] != 4 {
		t.Errorf("k > n: %v, want all of 0..4", all)
	}
	// Every index is equally likely: 20,000 draws of 3 of 10 put each
	// index in ~6,000 samples.
	counts := make([]int, 10)
	for s := range uint64(20000) {
		for _, i := range sampleSorted(10, 3, s, 1) {
			counts[i]++
		}
	}
	for i, c := range counts {
		if math.Abs(float64(c)-6000) > 300 { // ~4.6 standard deviations
			t.Errorf("index %d drawn %d times, expected about 6,000", i, c)
		}
	}
}

func TestMIABadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	train := concatOutputs(confidenceOutputs(rng, 50, []int32{0, 1, 3}, 0.5, 1), confidenceOutputs(rng, 20, []int32{2}, 0.5, 1))
	test := confidenceOutputs(rng, 40, []int32{0, 1, 2, 3}, 0.3, 1)
	logits := Outputs{Classes: 4, Labels: []int32{0, 1}, Probs: []float32{2.5, -1, 0.3, 0.1, 3, 1, -2, 0}}
	for _, tc := range []struct {
		name, attack string
		train, test  Outputs
		forget       []int
		want         string
	}{
		{"unknown attack", "loss-threshold", train, test, []int{2}, "unknown attack"},
		{"forget class out of range", AttackSVMConfidence, train, test, []int{4}, "forget class 4"},
		{"no forget classes", AttackSVMConfidence, train, test, nil, "no forget classes"},
		{"every class forgotten", AttackLogRegEntropy, train, test, []int{0, 1, 2, 3}, "nothing is retained"},
		{"no forget samples", AttackSVMConfidence, confidenceOutputs(rng, 30, []int32{0, 1}, 0.5, 1), test, []int{2}, "D_f outputs hold no samples"},
		{"logits", AttackLogRegEntropy, train, logits, []int{2}, "logits instead of softmax"},
	} {
		_, err := MembershipInference(tc.attack, tc.train, tc.test, tc.forget, MIAOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

func concatOutputs(a, b Outputs) Outputs {
	return Outputs{
		Classes: a.Classes,
		Labels:  append(append([]int32(nil), a.Labels...), b.Labels...),
		Probs:   append(append([]float32(nil), a.Probs...), b.Probs...),
	}
}
