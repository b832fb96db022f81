package metrics

import "fmt"

// The membership-inference attacks, by the names specs use.
const (
	AttackSVMConfidence = "svm-confidence" // the paper's (default)
	AttackLogRegEntropy = "logreg-entropy"
)

// Attacks lists the attack names MembershipInference accepts.
func Attacks() []string { return []string{AttackSVMConfidence, AttackLogRegEntropy} }

// METHODS.md's settings for svm-confidence.
const (
	DefaultMIACap = 5000 // samples per side of the shadow data
	DefaultMIAC   = 3.0  // SVM penalty
)

// MIAOptions tunes the attacks; the zero value means METHODS.md's settings.
type MIAOptions struct {
	// Cap bounds each side of svm-confidence's shadow data; 0 means 5,000.
	Cap int
	// Seed chooses the samples when a side is larger than the cap, and the
	// |T_r| samples of D_r.
	Seed uint64
	// C and Gamma of svm-confidence's SVM; 0 means C = 3 and
	// γ = 1/n_features (= 1 for the one-feature attack).
	C, Gamma float64
}

// MIAResult is an attack's outcome.
type MIAResult struct {
	Attack string `json:"attack"`
	// Value is the fraction of D_f the attack calls "member", in [0, 1];
	// lower is better after unlearning, a retrained model scores near 0.
	// (SalUn reports 1 − Value as "MIA-efficacy".)
	Value      float64 `json:"value"`
	Members    int     `json:"members"`     // attack training samples labelled member (from D_r)
	NonMembers int     `json:"non_members"` // attack training samples labelled non-member (from the test split)
	Targets    int     `json:"targets"`     // |D_f|, the samples scored
}

// MembershipInference runs the named attack given a model's outputs on the
// whole training split (D = D_r ∪ D_f) and the whole test split, and the
// forget classes. opt applies to svm-confidence only.
func MembershipInference(attack string, train, test Outputs, forget []int, opt MIAOptions) (MIAResult, error) {
	if train.Classes != test.Classes {
		return MIAResult{}, fmt.Errorf("MIA: training outputs have %d classes, test outputs %d", train.Classes, test.Classes)
	}
	dF, dR, err := train.SplitForget(forget)
	if err != nil {
		return MIAResult{}, fmt.Errorf("MIA: %w", err)
	}
	switch attack {
	case AttackSVMConfidence:
		_, tR, _ := test.SplitForget(forget)
		return SVMConfidenceMIA(dR, tR, dF, opt)
	case AttackLogRegEntropy:
		return LogRegEntropyMIA(dR, test, dF)
	}
	return MIAResult{}, fmt.Errorf("MIA: unknown attack %q (known: %q)", attack, Attacks())
}

// SVMConfidenceMIA is the paper's attack (Song & Mittal 2021, as SalUn's
// evaluation/SVC_MIA.py runs it), defined in METHODS.md: the feature is
// the softmax probability of the true label; an RBF SVM (C = 3,
// γ = 1/n_features) learns to tell shadow-in, |T_r| samples of D_r
// (label member), from shadow-out, T_r (label non-member), each side
// capped at 5,000 samples; the result is the fraction of D_f it predicts
// member.
//
// Where METHODS.md is silent: the capped and |T_r|-sized samples are drawn
// uniformly with opt.Seed and kept in data-set order (SalUn takes the first
// |test| samples of D_r); members come before non-members, as in SalUn's
// X_shadow; features are float32 probabilities widened to float64, as
// scikit-learn does with them; the SVM is scikit-learn's SVC defaults
// otherwise (tol 1e-3, shrinking). Unlike SalUn, shadow-out is T_r, not
// the whole test set, as METHODS.md says.
func SVMConfidenceMIA(retainTrain, retainTest, forgetTrain Outputs, opt MIAOptions) (MIAResult, error) {
	const metric = "svm-confidence MIA"
	for _, set := range []struct {
		role string
		o    Outputs
	}{{"D_r", retainTrain}, {"T_r", retainTest}, {"D_f", forgetTrain}} {
		if err := checkOutputs(metric, set.role, set.o); err != nil {
			return MIAResult{}, err
		}
	}
	capN := opt.Cap
	if capN == 0 {
		capN = DefaultMIACap
	}
	if capN < 1 {
		return MIAResult{}, fmt.Errorf("%s: cap %d, must be >= 1", metric, opt.Cap)
	}
	p := DefaultSVCParams()
	p.C = DefaultMIAC
	if opt.C != 0 {
		p.C = opt.C
	}
	p.Gamma = opt.Gamma

	nOut := min(retainTest.Len(), capN)
	nIn := min(nOut, retainTrain.Len())
	in := sampleSorted(retainTrain.Len(), nIn, opt.Seed, 1)
	out := sampleSorted(retainTest.Len(), nOut, opt.Seed, 2)

	x := make([][]float64, 0, nIn+nOut)
	y := make([]int, 0, nIn+nOut)
	for _, i := range in {
		x = append(x, []float64{retainTrain.Confidence(i)})
		y = append(y, 1)
	}
	for _, i := range out {
		x = append(x, []float64{retainTest.Confidence(i)})
		y = append(y, 0)
	}
	svm, err := FitSVC(x, y, p)
	if err != nil {
		return MIAResult{}, fmt.Errorf("%s: %w", metric, err)
	}
	if !svm.Converged {
		return MIAResult{}, fmt.Errorf("%s: the SVM did not converge", metric)
	}
	targets := make([][]float64, forgetTrain.Len())
	for i := range targets {
		targets[i] = []float64{forgetTrain.Confidence(i)}
	}
	pred, err := svm.Predict(targets)
	if err != nil {
		return MIAResult{}, fmt.Errorf("%s: %w", metric, err)
	}
	return MIAResult{Attack: AttackSVMConfidence, Value: fractionOf(pred, 1), Members: nIn, NonMembers: nOut, Targets: len(targets)}, nil
}

// LogRegEntropyMIA is the attack of SSD's metrics.py (from the
// bad-teaching code), defined in METHODS.md: the feature is the entropy of
// the softmax; logistic regression with balanced class weights learns D_r
// (member) against the whole test set (non-member); the result is the mean
// prediction over D_f. As in SSD the model is scikit-learn's
// LogisticRegression(class_weight="balanced", multi_class="multinomial")
// with C = 1 (see LogRegParams.Multinomial), solved to its exact minimiser
// rather than lbfgs's tolerance.
func LogRegEntropyMIA(retainTrain, test, forgetTrain Outputs) (MIAResult, error) {
	const metric = "logreg-entropy MIA"
	for _, set := range []struct {
		role string
		o    Outputs
	}{{"D_r", retainTrain}, {"test", test}, {"D_f", forgetTrain}} {
		if err := checkOutputs(metric, set.role, set.o); err != nil {
			return MIAResult{}, err
		}
	}
	x := make([][]float64, 0, retainTrain.Len()+test.Len())
	y := make([]int, 0, cap(x))
	for i := range retainTrain.Len() {
		x = append(x, []float64{retainTrain.Entropy(i)})
		y = append(y, 1)
	}
	for i := range test.Len() {
		x = append(x, []float64{test.Entropy(i)})
		y = append(y, 0)
	}
	p := DefaultLogRegParams()
	p.Balanced = true
	p.Multinomial = true
	lr, err := FitLogReg(x, y, p)
	if err != nil {
		return MIAResult{}, fmt.Errorf("%s: %w", metric, err)
	}
	targets := make([][]float64, forgetTrain.Len())
	for i := range targets {
		targets[i] = []float64{forgetTrain.Entropy(i)}
	}
	pred, err := lr.Predict(targets)
	if err != nil {
		return MIAResult{}, fmt.Errorf("%s: %w", metric, err)
	}
	return MIAResult{Attack: AttackLogRegEntropy, Value: fractionOf(pred, 1), Members: retainTrain.Len(), NonMembers: test.Len(), Targets: len(targets)}, nil
}

func fractionOf(v []int, label int) float64 {
	n := 0
	for _, x := range v {
		if x == label {
			n++
		}
	}
	return float64(n) / float64(len(v))
}
