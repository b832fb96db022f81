package metrics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// LogRegParams configures FitLogReg. Start from DefaultLogRegParams.
type LogRegParams struct {
	// C is the inverse L2 strength, as scikit-learn's: the objective is
	// Σ_i s_i·logloss_i + ‖w‖²/(2C), the intercept unpenalised. C > 0.
	C float64
	// Balanced weighs each sample by n/(2·n_class), scikit-learn's
	// class_weight="balanced".
	Balanced bool
	// Multinomial fits scikit-learn's multi_class="multinomial" model on the
	// two classes (what SSD's MIA uses): a two-row softmax with both rows
	// penalised. Its optimum is the binary model with 2C whose weights are
	// split evenly between the rows, so it is fitted that way and Coef and
	// Intercept are the second row's (half the binary ones), as
	// scikit-learn reports them. Predictions follow the sign of the
	// decision value in both cases.
	Multinomial bool
	// Tol stops Newton's method once every gradient entry is below
	// Tol·Σ_i s_i.
	Tol float64
	// MaxIter bounds Newton iterations; not converging by then is an error.
	MaxIter int
}

// DefaultLogRegParams is scikit-learn's LogisticRegression() regularisation
// (C = 1, binary, unweighted), solved to a much tighter tolerance than
// lbfgs's 1e-4 so that the result is the objective's minimiser itself.
func DefaultLogRegParams() LogRegParams {
	return LogRegParams{C: 1, Tol: 1e-10, MaxIter: 100}
}

// LogReg is a fitted binary logistic regression:
//
//	decision(x) = Coef·x + Intercept,  P(Classes[1] | x) = σ(scale·decision(x))
//
// with scale 1, or 2 for the multinomial form; the prediction is
// Classes[1] where decision(x) > 0 (scikit-learn's rule).
type LogReg struct {
	Classes     [2]int
	Coef        []float64
	Intercept   float64
	Multinomial bool
	Iterations  int // Newton iterations
}

// FitLogReg fits L2-regularised logistic regression on rows x with labels
// y (two distinct values; the larger is the positive class) by Newton's
// method with a backtracking line search, minimising exactly the
// objective scikit-learn's LogisticRegression minimises.
func FitLogReg(x [][]float64, y []int, p LogRegParams) (*LogReg, error) {
	switch {
	case !(p.C > 0) || math.IsInf(p.C, 0):
		return nil, fmt.Errorf("logistic regression: C = %v, must be a finite number > 0", p.C)
	case !(p.Tol > 0):
		return nil, fmt.Errorf("logistic regression: tol = %v, must be > 0", p.Tol)
	case p.MaxIter < 1:
		return nil, fmt.Errorf("logistic regression: max iterations %d, must be >= 1", p.MaxIter)
	}
	d, err := checkRows("logistic regression", x)
	if err != nil {
		return nil, err
	}
	if len(y) != len(x) {
		return nil, fmt.Errorf("logistic regression: %d rows but %d labels", len(x), len(y))
	}
	classes, err := twoClasses("logistic regression", y)
	if err != nil {
		return nil, err
	}

	n := len(x)
	t := make([]float64, n) // targets in {0, 1}
	s := make([]float64, n) // sample weights
	var count [2]int
	for i, yi := range y {
		if yi == classes[1] {
			t[i] = 1
			count[1]++
		} else {
			count[0]++
		}
	}
	weightSum := 0.0
	for i := range s {
		s[i] = 1
		if p.Balanced {
			s[i] = float64(n) / (2 * float64(count[int(t[i])]))
		}
		weightSum += s[i]
	}
	c := p.C
	if p.Multinomial {
		c = 2 * p.C
	}
	f := logisticObjective{x: x, t: t, s: s, lambda: 1 / c, d: d}

	theta := make([]float64, d+1) // w, then b
	grad := make([]float64, d+1)
	hess := mat.NewSymDense(d+1, nil)
	var chol mat.Cholesky
	step := mat.NewVecDense(d+1, nil)
	trial := make([]float64, d+1)
	gtol := p.Tol * weightSum

	iter := 0
	for ; ; iter++ {
		value := f.eval(theta, grad, hess)
		if maxAbs(grad) <= gtol {
			break
		}
		if iter == p.MaxIter {
			return nil, fmt.Errorf("logistic regression: no convergence in %d Newton iterations (largest gradient entry %.3g, tolerance %.3g)", p.MaxIter, maxAbs(grad), gtol)
		}
		if ok := chol.Factorize(hess); !ok {
			return nil, fmt.Errorf("logistic regression: the Hessian is singular at iteration %d (are all rows identical?)", iter)
		}
		if err := chol.SolveVecTo(step, mat.NewVecDense(d+1, grad)); err != nil {
			return nil, fmt.Errorf("logistic regression: Newton step: %w", err)
		}
		slope := 0.0 // gᵀΔ with Δ = −H⁻¹g
		for k := range grad {
			slope -= grad[k] * step.AtVec(k)
		}
		// Backtracking (Armijo) line search along Δ.
		accepted := false
		for a := 1.0; a > 1e-10; a /= 2 {
			for k := range theta {
				trial[k] = theta[k] - a*step.AtVec(k)
			}
			if f.eval(trial, nil, nil) <= value+1e-4*a*slope {
				copy(theta, trial)
				accepted = true
				break
			}
		}
		if !accepted {
			// No decrease is representable: at the minimum up to rounding.
			if maxAbs(grad) <= 1e3*gtol {
				break
			}
			return nil, fmt.Errorf("logistic regression: line search failed at iteration %d (largest gradient entry %.3g)", iter, maxAbs(grad))
		}
	}

	m := &LogReg{Classes: classes, Coef: theta[:d], Intercept: theta[d], Multinomial: p.Multinomial, Iterations: iter}
	if p.Multinomial {
		for k := range m.Coef {
			m.Coef[k] /= 2
		}
		m.Intercept /= 2
	}
	return m, nil
}

// DecisionFunction returns Coef·x + Intercept for each row.
func (m *LogReg) DecisionFunction(x [][]float64) ([]float64, error) {
	out := make([]float64, len(x))
	for i, row := range x {
		if len(row) != len(m.Coef) {
			return nil, fmt.Errorf("logistic regression: predict: row %d has %d features, the model was fitted on %d", i, len(row), len(m.Coef))
		}
		z := m.Intercept
		for k, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("logistic regression: predict: row %d, feature %d is %v", i, k, v)
			}
			z += m.Coef[k] * v
		}
		out[i] = z
	}
	return out, nil
}

// PredictProba returns P(Classes[1] | x) for each row.
func (m *LogReg) PredictProba(x [][]float64) ([]float64, error) {
	z, err := m.DecisionFunction(x)
	if err != nil {
		return nil, err
	}
	scale := 1.0
	if m.Multinomial {
		scale = 2 // softmax of (−z, z)
	}
	for i := range z {
		z[i] = sigmoid(scale * z[i])
	}
	return z, nil
}

// Predict returns Classes[1] where the decision value is > 0, else
// Classes[0].
func (m *LogReg) Predict(x [][]float64) ([]int, error) {
	z, err := m.DecisionFunction(x)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(z))
	for i, v := range z {
		out[i] = m.Classes[0]
		if v > 0 {
			out[i] = m.Classes[1]
		}
	}
	return out, nil
}

// logisticObjective is Σ_i s_i·(log(1 + e^{z_i}) − t_i z_i) + λ‖w‖²/2 with
// z_i = w·x_i + b, over θ = (w, b).
type logisticObjective struct {
	x      [][]float64
	t, s   []float64
	lambda float64
	d      int
}

// eval returns the objective at θ and, when grad and hess are not nil,
// writes its gradient and Hessian there.
func (f *logisticObjective) eval(theta, grad []float64, hess *mat.SymDense) float64 {
	d := f.d
	w, b := theta[:d], theta[d]
	value := 0.0
	var h []float64 // (d+1)², upper triangle used
	if grad != nil {
		clear(grad)
		h = make([]float64, (d+1)*(d+1))
	}
	xr := make([]float64, d+1) // the row with a 1 appended for the intercept
	xr[d] = 1
	for i, row := range f.x {
		z := b
		for k, v := range row {
			z += w[k] * v
		}
		value += f.s[i] * (softplus(z) - f.t[i]*z)
		if grad == nil {
			continue
		}
		copy(xr, row)
		sig := sigmoid(z)
		g := f.s[i] * (sig - f.t[i])
		curv := f.s[i] * sig * (1 - sig)
		for r, vr := range xr {
			grad[r] += g * vr
			for c := r; c <= d; c++ {
				h[r*(d+1)+c] += curv * vr * xr[c]
			}
		}
	}
	for k := range w {
		value += f.lambda * w[k] * w[k] / 2
		if grad != nil {
			grad[k] += f.lambda * w[k]
			h[k*(d+1)+k] += f.lambda
		}
	}
	if grad != nil {
		for r := 0; r <= d; r++ {
			for c := r; c <= d; c++ {
				hess.SetSym(r, c, h[r*(d+1)+c])
			}
		}
	}
	return value
}

// softplus is log(1 + e^z) without overflow.
func softplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

// sigmoid is 1/(1 + e^{−z}) without overflow.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}
