package metrics

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	for _, name := range []string{"blobs1d", "mia1d", "mia1d_noshrink", "moons2d", "imbalanced2d", "separable1d", "identical1d"} {
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

// TestSVCCacheSizeDoesNotChangeTheResult fits the largest golden set with
// a cache of two columns, so that columns are evicted, recomputed, and
// dropped while shrinking swaps positions: the solution must be the same
// bit for bit as with everything cached.
func TestSVCCacheSizeDoesNotChangeTheResult(t *testing.T) {
	var g svmGolden
	loadJSON(t, "svm_mia1d.json", &g)
	p := DefaultSVCParams()
	p.C = g.Params.C
	big, err := FitSVC(g.X, g.Y, p)
	if err != nil {
		t.Fatal(err)
	}
	p.CacheMB = 1e-6 // clamped to LIBSVM's minimum, two whole columns
	small, err := FitSVC(g.X, g.Y, p)
	if err != nil {
		t.Fatal(err)
	}
	if small.Iterations != big.Iterations || small.Intercept != big.Intercept || !slices.Equal(small.DualCoef, big.DualCoef) {
		t.Errorf("two-column cache: %d iterations, intercept %v; full cache: %d, %v",
			small.Iterations, small.Intercept, big.Iterations, big.Intercept)
	}
}

// TestSVCSatisfiesKKT checks the solution on random 3-feature data without
// reference values: Σ y_i α_i = 0, 0 ≤ α_i ≤ C, and the optimality
// conditions y_i f(x_i) ≥ 1 at α_i = 0, = 1 when free, ≤ 1 at α_i = C,
// to within the stopping tolerance.
func TestSVCSatisfiesKKT(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	n := 400
	x := make([][]float64, n)
	y := make([]int, n)
	for i := range x {
		y[i] = rng.IntN(2)
		shift := float64(y[i])
		x[i] = []float64{rng.NormFloat64() + shift, rng.NormFloat64() - shift, rng.NormFloat64()}
	}
	p := DefaultSVCParams()
	p.C = 2
	m, err := FitSVC(x, y, p)
	if err != nil {
		t.Fatal(err)
	}
	alpha := make([]float64, n) // y_i α_i, 0 off the support
	sum := 0.0
	for k, i := range m.Support {
		alpha[i] = m.DualCoef[k]
		sum += m.DualCoef[k]
	}
	if math.Abs(sum) > 1e-9 {
		t.Errorf("Σ y_i α_i = %v, want 0", sum)
	}
	dec, err := m.DecisionFunction(x)
	if err != nil {
		t.Fatal(err)
	}
	const slack = 2e-3 // the stopping rule bounds the violation by tol = 1e-3 on each side
	for i := range x {
		yi := -1.0
		if y[i] == m.Classes[1] {
			yi = 1
		}
		a := math.Abs(alpha[i])
		margin := yi * dec[i]
		switch {
		case a > p.C+1e-12:
			t.Fatalf("α_%d = %v > C", i, a)
		case a == 0 && margin < 1-slack:
			t.Errorf("α_%d = 0 but y·f = %v < 1", i, margin)
		case a > 0 && a < p.C && math.Abs(margin-1) > slack:
			t.Errorf("α_%d free but y·f = %v ≠ 1", i, margin)
		case a >= p.C && margin > 1+slack:
			t.Errorf("α_%d = C but y·f = %v > 1", i, margin)
		}
	}
}

func TestSVCMaxIter(t *testing.T) {
	var g svmGolden
	loadJSON(t, "svm_blobs1d.json", &g)
	p := DefaultSVCParams()
	p.MaxIter = 5
	m, err := FitSVC(g.X, g.Y, p)
	if err != nil {
		t.Fatal(err)
	}
	if m.Converged || m.Iterations != 5 {
		t.Errorf("MaxIter 5: converged %v after %d iterations", m.Converged, m.Iterations)
	}
}

func TestSVCBadInput(t *testing.T) {
	x := [][]float64{{0}, {1}, {2}}
	for _, tc := range []struct {
		name string
		x    [][]float64
		y    []int
		p    func(*SVCParams)
		want string
	}{
		{"one class", x, []int{1, 1, 1}, nil, "two are needed"},
		{"three classes", x, []int{0, 1, 2}, nil, "more than two classes"},
		{"label count", x, []int{0, 1}, nil, "3 rows but 2 labels"},
		{"infinite feature", [][]float64{{0}, {math.Inf(1)}, {2}}, []int{0, 1, 0}, nil, "row 1, feature 0 is +Inf"},
		{"empty row", [][]float64{{}, {}}, []int{0, 1}, nil, "row 0 has no features"},
		{"C = 0", x, []int{0, 1, 0}, func(p *SVCParams) { p.C = 0 }, "C = 0"},
		{"negative gamma", x, []int{0, 1, 0}, func(p *SVCParams) { p.Gamma = -1 }, "gamma = -1"},
		{"NaN tol", x, []int{0, 1, 0}, func(p *SVCParams) { p.Tol = math.NaN() }, "tol = NaN"},
		{"no cache", x, []int{0, 1, 0}, func(p *SVCParams) { p.CacheMB = 0 }, "cache size"},
	} {
		p := DefaultSVCParams()
		if tc.p != nil {
			tc.p(&p)
		}
		_, err := FitSVC(tc.x, tc.y, p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	m, err := FitSVC(x, []int{0, 1, 0}, DefaultSVCParams())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Predict([][]float64{{1, 2}}); err == nil || !strings.Contains(err.Error(), "2 features") {
		t.Errorf("predicting 2 features with a 1-feature model: error %v", err)
	}
	if _, err := m.DecisionFunction([][]float64{{math.NaN()}}); err == nil {
		t.Error("NaN query: no error")
	}
}
