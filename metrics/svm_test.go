package metrics

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// svmGolden is one file written by testdata/gen_svm_golden.py.
type svmGolden struct {
	Sklearn string `json:"sklearn"`
	Params  struct {
		C         float64 `json:"C"`
		Gamma     float64 `json:"gamma"`
		GammaAuto bool    `json:"gamma_auto"`
		Shrinking bool    `json:"shrinking"`
		Tol       float64 `json:"tol"`
	} `json:"params"`
	X            [][]float64 `json:"x"`
	Y            []int       `json:"y"`
	Query        [][]float64 `json:"query"`
	Classes      []int       `json:"classes"`
	Decision     []float64   `json:"decision"`
	Predict      []int       `json:"predict"`
	TrainPredict []int       `json:"train_predict"`
	Support      []int       `json:"support"`
	NSupport     []int       `json:"n_support"`
	DualCoef     []float64   `json:"dual_coef"`
	Intercept    float64     `json:"intercept"`
	NIter        int         `json:"n_iter"`
}

func loadJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestSVCMatchesSklearn fits the golden data sets and compares with
// scikit-learn 1.2.1's SVC. Since FitSVC takes LIBSVM's steps, the
// iteration count, the support set and its size must be identical, and
// numbers may differ only by rounding (exp in Go and glibc can differ in
// the last bit, Q is float32): decision values, dual coefficients and the
// intercept agree to 1e-9 absolute.
func TestSVCMatchesSklearn(t *testing.T) {
	const tol = 1e-9
	for _, name := range []string{"blobs1d", "mia1d", "mia1d_noshrink", "moons2d", "imbalanced2d", "separable1d"} {
		t.Run(name, func(t *testing.T) {
			var g svmGolden
			loadJSON(t, "svm_"+name+".json", &g)
			p := DefaultSVCParams()
			p.C = g.Params.C
			if !g.Params.GammaAuto {
				p.Gamma = g.Params.Gamma
			}
			p.Shrinking = g.Params.Shrinking
			p.Tol = g.Params.Tol
			m, err := FitSVC(g.X, g.Y, p)
			if err != nil {
				t.Fatal(err)
			}
			if got := []int{m.Classes[0], m.Classes[1]}; !slices.Equal(got, g.Classes) {
				t.Errorf("classes %v, sklearn %v", got, g.Classes)
			}
			if m.Iterations != g.NIter {
				t.Errorf("iterations %d, sklearn %d", m.Iterations, g.NIter)
			}
			if got := []int{m.NSupport[0], m.NSupport[1]}; !slices.Equal(got, g.NSupport) {
				t.Errorf("n_support %v, sklearn %v", got, g.NSupport)
			}
			if !slices.Equal(m.Support, g.Support) {
				t.Errorf("support indices differ: %d vs sklearn %d", len(m.Support), len(g.Support))
			} else {
				for k := range g.DualCoef {
					if d := math.Abs(m.DualCoef[k] - g.DualCoef[k]); d > tol {
						t.Errorf("dual_coef[%d] = %.12g, sklearn %.12g", k, m.DualCoef[k], g.DualCoef[k])
						break
					}
				}
			}
			if d := math.Abs(m.Intercept - g.Intercept); d > tol {
				t.Errorf("intercept %.12g, sklearn %.12g", m.Intercept, g.Intercept)
			}
			dec, err := m.DecisionFunction(g.Query)
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for k := range dec {
				worst = max(worst, math.Abs(dec[k]-g.Decision[k]))
			}
			if worst > tol {
				t.Errorf("decision values differ from sklearn by up to %.3g", worst)
			}
			pred, err := m.Predict(g.Query)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(pred, g.Predict) {
				t.Errorf("predictions on the queries differ from sklearn")
			}
			trainPred, err := m.Predict(g.X)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(trainPred, g.TrainPredict) {
				t.Errorf("predictions on the training rows differ from sklearn")
			}
			t.Logf("l=%d iter=%d nSV=%v max|Δdecision|=%.2g", len(g.X), m.Iterations, m.NSupport, worst)
		})
	}
}
