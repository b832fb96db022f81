package metrics

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

type logregFit struct {
	Coef      []float64 `json:"coef"`
	Intercept float64   `json:"intercept"`
	Decision  []float64 `json:"decision"`
	Proba     []float64 `json:"proba"`
	Predict   []int     `json:"predict"`
}

type logregGolden struct {
	Data map[string]struct {
		X     [][]float64 `json:"x"`
		Y     []int       `json:"y"`
		Query [][]float64 `json:"query"`
	} `json:"data"`
	Cases []struct {
		Name        string    `json:"name"`
		Data        string    `json:"data"`
		C           float64   `json:"C"`
		Balanced    bool      `json:"balanced"`
		Multinomial bool      `json:"multinomial"`
		Classes     []int     `json:"classes"`
		Default     logregFit `json:"default"`
		Tight       logregFit `json:"tight"`
	} `json:"cases"`
}

// TestLogRegMatchesSklearn compares FitLogReg with scikit-learn 1.2.1's
// LogisticRegression on testdata/logreg_golden.json. FitLogReg minimises
// the same objective exactly, so it must agree with the tightly solved
// reference (newton-cg, tol 1e-14) to 1e-7 relative; against lbfgs at its
// default tolerance, which stops early, to 1e-4 relative, with identical
// predictions.
func TestLogRegMatchesSklearn(t *testing.T) {
	var g logregGolden
	loadJSON(t, "logreg_golden.json", &g)
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			data := g.Data[c.Data]
			p := DefaultLogRegParams()
			p.C, p.Balanced, p.Multinomial = c.C, c.Balanced, c.Multinomial
			m, err := FitLogReg(data.X, data.Y, p)
			if err != nil {
				t.Fatal(err)
			}
			if got := []int{m.Classes[0], m.Classes[1]}; !slices.Equal(got, c.Classes) {
				t.Fatalf("classes %v, sklearn %v", got, c.Classes)
			}
			dec, err := m.DecisionFunction(data.Query)
			if err != nil {
				t.Fatal(err)
			}
			proba, err := m.PredictProba(data.Query)
			if err != nil {
				t.Fatal(err)
			}
			pred, err := m.Predict(data.Query)
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range []struct {
				name string
				fit  logregFit
				rtol float64
			}{{"tight", c.Tight, 1e-7}, {"lbfgs default", c.Default, 1e-4}} {
				close := func(what string, got, want float64) {
					if math.Abs(got-want) > ref.rtol*max(1, math.Abs(want)) {
						t.Errorf("%s: %s = %.10g, sklearn %.10g", ref.name, what, got, want)
					}
				}
				for k := range ref.fit.Coef {
					close("coef", m.Coef[k], ref.fit.Coef[k])
				}
				close("intercept", m.Intercept, ref.fit.Intercept)
				for i := range dec {
					close("decision", dec[i], ref.fit.Decision[i])
					close("probability", proba[i], ref.fit.Proba[i])
				}
				if !slices.Equal(pred, ref.fit.Predict) {
					t.Errorf("%s: predictions differ from sklearn", ref.name)
				}
			}
			t.Logf("coef %v intercept %.6g in %d Newton iterations", m.Coef, m.Intercept, m.Iterations)
		})
	}
}

// TestLogRegGradientFiniteDifferences checks the analytic gradient and
// Hessian of the objective against central differences.
func TestLogRegGradientFiniteDifferences(t *testing.T) {
	x := [][]float64{{0.3, -1.2}, {1.5, 0.4}, {-0.7, 0.9}, {2.2, -0.1}, {0.0, 0.5}}
	f := logisticObjective{x: x, t: []float64{1, 0, 1, 0, 1}, s: []float64{0.8, 1.3, 0.8, 1.3, 0.8}, lambda: 0.7, d: 2}
	theta := []float64{0.4, -0.9, 0.2}
	grad := make([]float64, 3)
	hess := newSym(3)
	f.eval(theta, grad, hess)
	const h = 1e-5
	for k := range theta {
		plus, minus := slices.Clone(theta), slices.Clone(theta)
		plus[k] += h
		minus[k] -= h
		gp, gm := make([]float64, 3), make([]float64, 3)
		fp := f.eval(plus, gp, newSym(3))
		fm := f.eval(minus, gm, newSym(3))
		if num := (fp - fm) / (2 * h); math.Abs(num-grad[k]) > 1e-7 {
			t.Errorf("d/dθ%d: analytic %.9g, numeric %.9g", k, grad[k], num)
		}
		for r := range theta {
			if num := (gp[r] - gm[r]) / (2 * h); math.Abs(num-hess.At(r, k)) > 1e-7 {
				t.Errorf("H[%d][%d]: analytic %.9g, numeric %.9g", r, k, hess.At(r, k), num)
			}
		}
	}
}

func TestLogRegBadInput(t *testing.T) {
	x := [][]float64{{1}, {2}, {3}}
	for _, tc := range []struct {
		name string
		x    [][]float64
		y    []int
		p    func(*LogRegParams)
	}{
		{"one class", x, []int{1, 1, 1}, nil},
		{"three classes", x, []int{0, 1, 2}, nil},
		{"label count", x, []int{0, 1}, nil},
		{"NaN feature", [][]float64{{1}, {math.NaN()}, {3}}, []int{0, 1, 0}, nil},
		{"ragged rows", [][]float64{{1}, {2, 3}, {3}}, []int{0, 1, 0}, nil},
		{"no rows", nil, nil, nil},
		{"C = 0", x, []int{0, 1, 0}, func(p *LogRegParams) { p.C = 0 }},
	} {
		p := DefaultLogRegParams()
		if tc.p != nil {
			tc.p(&p)
		}
		if _, err := FitLogReg(tc.x, tc.y, p); err == nil {
			t.Errorf("%s: no error", tc.name)
		} else {
			t.Logf("%s: %v", tc.name, err)
		}
	}
	m, err := FitLogReg(x, []int{0, 1, 1}, DefaultLogRegParams())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Predict([][]float64{{1, 2}}); err == nil {
		t.Error("predicting a 2-feature row with a 1-feature model: no error")
	}
}

func newSym(n int) *mat.SymDense { return mat.NewSymDense(n, nil) }
