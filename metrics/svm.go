package metrics

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
)

// SVCParams configures FitSVC. Start from DefaultSVCParams: the zero value
// has C = 0, which FitSVC rejects.
type SVCParams struct {
	// C is the penalty on margin violations; it must be > 0.
	C float64
	// Gamma is the RBF width in K(x, x') = exp(-Gamma·||x − x'||²). Zero
	// means 1/n_features: scikit-learn's gamma="auto", which METHODS.md asks
	// for (not gamma="scale", which also divides by the feature variance).
	Gamma float64
	// Tol stops SMO once the largest KKT violation m(α) − M(α) is below it
	// (LIBSVM's eps, scikit-learn's tol).
	Tol float64
	// Shrinking turns on LIBSVM's shrinking heuristic: variables that look
	// settled at a bound leave the working problem until the end.
	Shrinking bool
	// CacheMB bounds the kernel-column cache, in MiB (scikit-learn: 200).
	CacheMB float64
	// MaxIter bounds SMO iterations; 0 means no bound (scikit-learn's -1).
	// A fit that hits it returns a model with Converged = false.
	MaxIter int
}

// DefaultSVCParams are scikit-learn's SVC defaults except gamma ("auto"
// here): C = 1, tol = 1e-3, shrinking on, a 200 MiB cache, no iteration
// bound.
func DefaultSVCParams() SVCParams {
	return SVCParams{C: 1, Tol: 1e-3, Shrinking: true, CacheMB: 200}
}

func (p SVCParams) validate() error {
	switch {
	case !(p.C > 0) || math.IsInf(p.C, 0):
		return fmt.Errorf("svm: C = %v, must be a finite number > 0", p.C)
	case !(p.Gamma >= 0) || math.IsInf(p.Gamma, 0):
		return fmt.Errorf("svm: gamma = %v, must be finite and >= 0 (0 means 1/n_features)", p.Gamma)
	case !(p.Tol > 0) || math.IsInf(p.Tol, 0):
		return fmt.Errorf("svm: tol = %v, must be a finite number > 0", p.Tol)
	case !(p.CacheMB > 0) || math.IsInf(p.CacheMB, 0):
		return fmt.Errorf("svm: cache size %v MiB, must be > 0", p.CacheMB)
	case p.MaxIter < 0:
		return fmt.Errorf("svm: max iterations %d, must be >= 0 (0 means no bound)", p.MaxIter)
	}
	return nil
}

// SVC is a fitted binary RBF-kernel C-support-vector classifier. Its fields
// follow scikit-learn's SVC attributes, so the two can be compared:
//
//	decision(x) = Σ_i DualCoef[i]·exp(−Gamma·||SupportVectors[i] − x||²) + Intercept
//
// and the prediction is Classes[1] where decision(x) >= 0, else Classes[0].
type SVC struct {
	Classes        [2]int      // the two labels, ascending
	Gamma          float64     // the kernel width actually used
	NFeatures      int         // length of each input row
	Support        []int       // training-set indices of the support vectors: those of Classes[0] first, each group in training order
	SupportVectors [][]float64 // the rows Support points at
	NSupport       [2]int      // support vectors per class
	DualCoef       []float64   // y_i·α_i with y = +1 for Classes[1]
	Intercept      float64
	Iterations     int     // SMO iterations (scikit-learn's n_iter_)
	Converged      bool    // false only when MaxIter stopped SMO early
	Objective      float64 // dual objective ½αᵀQα − eᵀα at the solution

	// LIBSVM's own orientation, kept to reproduce its predictions exactly:
	// internal decision = Σ coef_i K(sv_i, x) − rho, positive for Classes[0].
	coef []float64
	rho  float64
	sv   []float64 // support vectors, row-major
}

// FitSVC trains an RBF C-SVC on rows x with labels y (exactly two distinct
// values) by LIBSVM's SMO, as scikit-learn's SVC does: the same ordering of
// the data (grouped by class, ascending labels), working-set selection
// (WSS3, second order), shrinking and stopping rule, so that it takes the
// same steps and arrives at the same solution.
func FitSVC(x [][]float64, y []int, p SVCParams) (*SVC, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	d, err := checkRows("svm", x)
	if err != nil {
		return nil, err
	}
	if len(y) != len(x) {
		return nil, fmt.Errorf("svm: %d rows but %d labels", len(x), len(y))
	}
	classes, err := twoClasses("svm", y)
	if err != nil {
		return nil, err
	}
	gamma := p.Gamma
	if gamma == 0 {
		gamma = 1 / float64(d)
	}

	// LIBSVM (scikit-learn's copy) groups the data by class with labels
	// sorted ascending, keeping the training order inside each class; the
	// first class gets y = +1. The order decides ties in working-set
	// selection, so it is part of reproducing its results.
	l := len(x)
	perm := make([]int, 0, l)
	for _, c := range classes {
		for i, yi := range y {
			if yi == c {
				perm = append(perm, i)
			}
		}
	}
	flat := make([]float64, l*d)
	ys := make([]int8, l)
	for k, i := range perm {
		copy(flat[k*d:(k+1)*d], x[i])
		if y[i] == classes[0] {
			ys[k] = +1
		} else {
			ys[k] = -1
		}
	}

	q := newSVCQ(flat, d, ys, gamma, p.CacheMB)
	s := newSMO(q, ys, p.C, p.Tol)
	iter, timedOut := s.solve(p.MaxIter, p.Shrinking)
	rho := s.calculateRho()
	obj := s.objective()
	alpha := s.solution()

	m := &SVC{
		Classes:    classes,
		Gamma:      gamma,
		NFeatures:  d,
		Intercept:  rho, // scikit-learn flips LIBSVM's signs for two classes
		Iterations: iter,
		Converged:  !timedOut,
		Objective:  obj,
		rho:        rho,
	}
	for k, a := range alpha {
		coef := a * float64(ys[k])
		if math.Abs(coef) > 0 {
			i := perm[k]
			m.Support = append(m.Support, i)
			m.SupportVectors = append(m.SupportVectors, append([]float64(nil), x[i]...))
			m.sv = append(m.sv, x[i]...)
			m.coef = append(m.coef, coef)
			m.DualCoef = append(m.DualCoef, -coef)
			if ys[k] > 0 {
				m.NSupport[0]++
			} else {
				m.NSupport[1]++
			}
		}
	}
	return m, nil
}

// DecisionFunction returns decision(x) for each row (see SVC).
func (m *SVC) DecisionFunction(x [][]float64) ([]float64, error) {
	internal, err := m.internalDecisions(x)
	if err != nil {
		return nil, err
	}
	for i := range internal {
		internal[i] = -internal[i]
	}
	return internal, nil
}

// Predict returns the predicted label of each row. A row exactly on the
// boundary goes to Classes[1], as in LIBSVM (its vote goes to the second
// class unless the decision value is strictly positive).
func (m *SVC) Predict(x [][]float64) ([]int, error) {
	internal, err := m.internalDecisions(x)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(x))
	for i, v := range internal {
		if v > 0 {
			out[i] = m.Classes[0]
		} else {
			out[i] = m.Classes[1]
		}
	}
	return out, nil
}

// internalDecisions evaluates LIBSVM's decision values (positive for
// Classes[0]) for all rows, spread over the CPUs. Identical 1-D rows, common
// in the MIA (many confidences are exactly 1), are evaluated once.
func (m *SVC) internalDecisions(x [][]float64) ([]float64, error) {
	for i, row := range x {
		if len(row) != m.NFeatures {
			return nil, fmt.Errorf("svm: predict: row %d has %d features, the model was fitted on %d", i, len(row), m.NFeatures)
		}
		for f, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("svm: predict: row %d, feature %d is %v", i, f, v)
			}
		}
	}
	out := make([]float64, len(x))
	todo := make([]int, 0, len(x)) // rows to evaluate; the rest copy a twin
	twin := make([]int, len(x))
	if m.NFeatures == 1 {
		seen := make(map[uint64]int, len(x))
		for i, row := range x {
			key := math.Float64bits(row[0])
			if j, ok := seen[key]; ok {
				twin[i] = j
				continue
			}
			seen[key] = i
			twin[i] = i
			todo = append(todo, i)
		}
	} else {
		for i := range x {
			twin[i] = i
			todo = append(todo, i)
		}
	}

	workers := runtime.GOMAXPROCS(0)
	if n := len(todo) * len(m.coef) / 20000; n < workers {
		workers = max(n, 1) // small jobs are not worth a goroutine
	}
	var wg sync.WaitGroup
	chunk := (len(todo) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(todo))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func(rows []int) {
			defer wg.Done()
			for _, i := range rows {
				out[i] = m.internalDecision(x[i])
			}
		}(todo[lo:hi])
	}
	wg.Wait()
	for i, j := range twin {
		out[i] = out[j]
	}
	return out, nil
}

// internalDecision is LIBSVM's svm_predict_values for two classes: kernel
// values as ||x − sv||² summed per feature, coefficients in support order.
func (m *SVC) internalDecision(row []float64) float64 {
	d := m.NFeatures
	sum := 0.0
	for k, c := range m.coef {
		sv := m.sv[k*d : (k+1)*d]
		dist := 0.0
		for f, v := range row {
			diff := v - sv[f]
			dist += float64(diff * diff)
		}
		sum += float64(c * math.Exp(-m.Gamma*dist))
	}
	return sum - m.rho
}

// checkRows checks that x is a non-empty set of equally long, finite rows
// and returns their length.
func checkRows(what string, x [][]float64) (int, error) {
	if len(x) == 0 {
		return 0, fmt.Errorf("%s: no training rows", what)
	}
	d := len(x[0])
	if d == 0 {
		return 0, fmt.Errorf("%s: row 0 has no features", what)
	}
	for i, row := range x {
		if len(row) != d {
			return 0, fmt.Errorf("%s: row %d has %d features, row 0 has %d", what, i, len(row), d)
		}
		for f, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("%s: row %d, feature %d is %v", what, i, f, v)
			}
		}
	}
	return d, nil
}

// twoClasses returns the two distinct labels of y in ascending order.
func twoClasses(what string, y []int) ([2]int, error) {
	seen := map[int]bool{}
	for _, v := range y {
		seen[v] = true
		if len(seen) > 2 {
			break
		}
	}
	if len(seen) != 2 {
		labels := make([]int, 0, len(seen))
		for v := range seen {
			labels = append(labels, v)
		}
		sort.Ints(labels)
		if len(labels) > 2 {
			return [2]int{}, fmt.Errorf("%s: more than two classes (%v, ...); only binary problems are supported", what, labels)
		}
		return [2]int{}, fmt.Errorf("%s: the labels hold %d class(es) %v; two are needed", what, len(labels), labels)
	}
	var c [2]int
	k := 0
	for v := range seen {
		c[k] = v
		k++
	}
	if c[0] > c[1] {
		c[0], c[1] = c[1], c[0]
	}
	return c, nil
}
