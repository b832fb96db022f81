package cpu

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"lethe/nn"
)

// Golden values from PyTorch 1.13 (CPU, float32), written by
// testdata/gen_golden.py. Tolerances: 1e-5 absolute + 1e-4 relative for
// single ops (float32 rounding in a different summation order), looser
// where noted.

func loadGolden(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("golden fixture: %v (regenerate with /usr/bin/python3 testdata/gen_golden.py)", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("golden fixture %s: %v", name, err)
	}
}

func requireCases(t *testing.T, n int) {
	t.Helper()
	if n == 0 {
		t.Fatal("golden fixture holds no cases")
	}
}

func TestGoldenConv(t *testing.T) {
	var f struct {
		Cases []struct {
			N, C, H, W, K, R, Stride, Pad int
			X, Weight, Y, Dy, Dx, Dw      []float32
		}
	}
	loadGolden(t, "conv.json", &f)
	requireCases(t, len(f.Cases))
	forEachBackend(t, func(t *testing.T, be *Backend) {
		for _, c := range f.Cases {
			g, err := nn.NewConvGeom(c.N, c.C, c.H, c.W, c.K, c.R, c.R, c.Stride, c.Pad)
			if err != nil {
				t.Fatal(err)
			}
			name := geomName(g)
			y := nanBuf(len(c.Y))
			be.ConvForward(g, Buf(c.X), Buf(c.Weight), y)
			closeTo(t, name+"/y", y, f64(c.Y), 1e-5, 1e-4)
			dx := nanBuf(len(c.Dx))
			be.ConvBackwardData(g, Buf(c.Weight), Buf(c.Dy), dx)
			closeTo(t, name+"/dx", dx, f64(c.Dx), 1e-5, 1e-4)
			dw := make(Buf, len(c.Dw))
			be.ConvBackwardFilter(g, Buf(c.X), Buf(c.Dy), dw)
			closeTo(t, name+"/dw", dw, f64(c.Dw), 1e-5, 1e-4)
		}
	})
}

func TestGoldenBatchNorm(t *testing.T) {
	var f struct {
		Cases []struct {
			N, C, HW             int
			X, Gamma, Beta, Dy   []float32
			RunMean0             []float32 `json:"run_mean0"`
			RunVar0              []float32 `json:"run_var0"`
			Y, Dx, Dgamma, Dbeta []float32
			RunMean              []float32 `json:"run_mean"`
			RunVar               []float32 `json:"run_var"`
			EvalY                []float32 `json:"eval_y"`
			EvalDx               []float32 `json:"eval_dx"`
			EvalDgamma           []float32 `json:"eval_dgamma"`
			EvalDbeta            []float32 `json:"eval_dbeta"`
		}
	}
	loadGolden(t, "batchnorm.json", &f)
	requireCases(t, len(f.Cases))
	forEachBackend(t, func(t *testing.T, be *Backend) {
		for _, c := range f.Cases {
			n, ch, hw := c.N, c.C, c.HW
			y, rm, rv := nanBuf(len(c.X)), clone(c.RunMean0), clone(c.RunVar0)
			sm, si := nanBuf(ch), nanBuf(ch)
			be.BatchNormTrain(n, ch, hw, Buf(c.X), Buf(c.Gamma), Buf(c.Beta), y, rm, rv, sm, si, 0.1, 1e-5)
			closeTo(t, "train/y", y, f64(c.Y), 1e-5, 1e-4)
			closeTo(t, "train/running_mean", rm, f64(c.RunMean), 1e-6, 1e-5)
			closeTo(t, "train/running_var", rv, f64(c.RunVar), 1e-6, 1e-5)
			dx, dg, db := nanBuf(len(c.X)), make(Buf, ch), make(Buf, ch)
			be.BatchNormBackward(n, ch, hw, Buf(c.X), Buf(c.Dy), Buf(c.Gamma), sm, si, dx, dg, db)
			closeTo(t, "train/dx", dx, f64(c.Dx), 1e-5, 1e-4)
			closeTo(t, "train/dgamma", dg, f64(c.Dgamma), 1e-5, 1e-4)
			closeTo(t, "train/dbeta", db, f64(c.Dbeta), 1e-5, 1e-4)

			ye := nanBuf(len(c.X))
			be.BatchNormEval(n, ch, hw, Buf(c.X), Buf(c.Gamma), Buf(c.Beta), Buf(c.RunMean), Buf(c.RunVar), ye, 1e-5)
			closeTo(t, "eval/y", ye, f64(c.EvalY), 1e-5, 1e-4)
			dx, dg, db = nanBuf(len(c.X)), make(Buf, ch), make(Buf, ch)
			be.BatchNormEvalBackward(n, ch, hw, Buf(c.X), Buf(c.Dy), Buf(c.Gamma), Buf(c.RunMean), Buf(c.RunVar), dx, dg, db, 1e-5)
			closeTo(t, "eval/dx", dx, f64(c.EvalDx), 1e-5, 1e-4)
			closeTo(t, "eval/dgamma", dg, f64(c.EvalDgamma), 1e-5, 1e-4)
			closeTo(t, "eval/dbeta", db, f64(c.EvalDbeta), 1e-5, 1e-4)
		}
	})
}

func TestGoldenPool(t *testing.T) {
	var f struct {
		Cases []struct {
			Kind                       string
			N, C, H, W, K, Stride, Pad int
			X, Y, Dy, Dx               []float32
			Argmax                     []int32
		}
	}
	loadGolden(t, "pool.json", &f)
	requireCases(t, len(f.Cases))
	forEachBackend(t, func(t *testing.T, be *Backend) {
		for _, c := range f.Cases {
			g, err := nn.NewPoolGeom(c.N, c.C, c.H, c.W, c.K, c.K, c.Stride, c.Pad)
			if err != nil {
				t.Fatal(err)
			}
			name := c.Kind + "/" + poolName(g)
			y, dx := nanBuf(len(c.Y)), nanBuf(len(c.X))
			if c.Kind == "max" {
				am := make(IntBuf, len(c.Y))
				be.MaxPoolForward(g, Buf(c.X), y, am)
				for i := range am {
					if am[i] != c.Argmax[i] {
						t.Fatalf("%s: argmax[%d] = %d, PyTorch %d", name, i, am[i], c.Argmax[i])
					}
				}
				be.MaxPoolBackward(g, Buf(c.Dy), am, dx)
			} else {
				be.AvgPoolForward(g, Buf(c.X), y)
				be.AvgPoolBackward(g, Buf(c.Dy), dx)
			}
			closeTo(t, name+"/y", y, f64(c.Y), 1e-6, 1e-5)
			closeTo(t, name+"/dx", dx, f64(c.Dx), 1e-6, 1e-5)
		}
	})
}

// TestGoldenLinear composes a linear layer from Gemm, AddChannelBias and
// ChannelSum the way nn's Linear does: y = x·Wᵀ + b.
func TestGoldenLinear(t *testing.T) {
	var f struct {
		Cases []struct {
			N, In, Out                 int
			X, Weight, Bias, Y, Dy, Dx []float32
			Dweight, Dbias             []float32
		}
	}
	loadGolden(t, "linear.json", &f)
	requireCases(t, len(f.Cases))
	forEachBackend(t, func(t *testing.T, be *Backend) {
		for _, c := range f.Cases {
			y := nanBuf(c.N * c.Out)
			be.Gemm(false, true, c.N, c.Out, c.In, 1, Buf(c.X), c.In, Buf(c.Weight), c.In, 0, y, c.Out)
			be.AddChannelBias(y, Buf(c.Bias), c.N, c.Out, 1)
			closeTo(t, "linear/y", y, f64(c.Y), 1e-5, 1e-4)
			dx := nanBuf(c.N * c.In)
			be.Gemm(false, false, c.N, c.In, c.Out, 1, Buf(c.Dy), c.Out, Buf(c.Weight), c.In, 0, dx, c.In)
			closeTo(t, "linear/dx", dx, f64(c.Dx), 1e-5, 1e-4)
			dw, db := make(Buf, c.Out*c.In), make(Buf, c.Out)
			be.Gemm(true, false, c.Out, c.In, c.N, 1, Buf(c.Dy), c.Out, Buf(c.X), c.In, 1, dw, c.In)
			be.ChannelSum(Buf(c.Dy), c.N, c.Out, 1, db)
			closeTo(t, "linear/dweight", dw, f64(c.Dweight), 1e-5, 1e-4)
			closeTo(t, "linear/dbias", db, f64(c.Dbias), 1e-5, 1e-4)
		}
	})
}

func TestGoldenCrossEntropy(t *testing.T) {
	var f struct {
		Cases []struct {
			N, Classes                     int
			Logits, Probs, Losses, Dlogits []float32
			Labels                         []int32
			Loss                           float64
		}
	}
	loadGolden(t, "cross_entropy.json", &f)
	requireCases(t, len(f.Cases))
	be := Default()
	for _, c := range f.Cases {
		p, l, d := nanBuf(len(c.Logits)), nanBuf(c.N), nanBuf(len(c.Logits))
		be.SoftmaxCrossEntropy(Buf(c.Logits), IntBuf(c.Labels), c.N, c.Classes, p, l, d, 1/float32(c.N))
		closeTo(t, "ce/probs", p, f64(c.Probs), 1e-7, 1e-5)
		closeTo(t, "ce/losses", l, f64(c.Losses), 1e-6, 1e-5)
		closeTo(t, "ce/dlogits", d, f64(c.Dlogits), 1e-7, 1e-5)
		var mean float64
		for _, v := range l {
			mean += float64(v) / float64(c.N)
		}
		closeTo(t, "ce/mean", []float32{float32(mean)}, []float64{c.Loss}, 1e-6, 1e-5)
	}
}

func TestGoldenOptimisers(t *testing.T) {
	var f struct {
		Cases []struct {
			Kind                string
			P0                  []float32
			Grads, Params       [][]float32
			LR                  float32 `json:"lr"`
			Momentum, Dampening float32
			Nesterov            bool
			WeightDecay         float32 `json:"weight_decay"`
			Betas               []float32
			Eps                 float32
		}
	}
	loadGolden(t, "optim.json", &f)
	requireCases(t, len(f.Cases))
	be := Default()
	for _, c := range f.Cases {
		p := clone(c.P0)
		m, v := make(Buf, len(p)), make(Buf, len(p))
		for step, g := range c.Grads {
			switch c.Kind {
			case "sgd":
				be.SGDStep(p, Buf(g), m, c.LR, c.Momentum, c.Dampening, c.WeightDecay, c.Nesterov, step == 0)
			case "adam", "adamw":
				be.AdamStep(p, Buf(g), m, v, c.LR, c.Betas[0], c.Betas[1], c.Eps, c.WeightDecay, step+1, c.Kind == "adamw")
			default:
				t.Fatalf("unknown optimiser %q in fixture", c.Kind)
			}
			closeTo(t, c.Kind, p, f64(c.Params[step]), 1e-6, 1e-5)
		}
	}
}
