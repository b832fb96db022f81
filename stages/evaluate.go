package stages

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"

	"lethe/data"
	"lethe/dsl"
	"lethe/metrics"
	"lethe/nn"
)

func init() { Register(dsl.KindEvaluate, evaluateKind{}) }

type evaluateKind struct{}

type evaluateTask struct {
	st      *dsl.Stage
	metrics []string
	forget  []int
	batch   int
	seed    int
	attack  string
	miaC    float64
	miaCap  int
}

func (evaluateKind) Prepare(st *dsl.Stage, _ *dsl.Experiment) (Stage, error) {
	p := &params{st: st}
	t := &evaluateTask{st: st, metrics: p.strs("metrics"), forget: p.ints("forget"), batch: p.int("batch_size"), seed: p.int("seed")}
	mia := p.object("mia")
	t.attack, _ = mia["attack"].(string)
	t.miaC = p.field(mia, "mia", "c", metrics.DefaultMIAC)
	t.miaCap = int(p.field(mia, "mia", "max_per_side", 0))
	if p.err != nil {
		return nil, p.err
	}
	if !slices.Contains(metrics.Attacks(), t.attack) {
		return nil, fmt.Errorf("mia attack %q: want one of %v", t.attack, metrics.Attacks())
	}
	for _, m := range t.metrics {
		if !slices.Contains(dsl.Metrics, m) {
			return nil, fmt.Errorf("unknown metric %q", m)
		}
	}
	return t, nil
}

func (t *evaluateTask) Material() ([]byte, error) { return canonical(t.st) }

// Optional: without its retrained reference an evaluation still measures
// everything but js_retrain.
func (t *evaluateTask) Optional(param string) bool { return param == "retrain" }

// MetricsFile is an evaluate stage's artifact.
const MetricsFile = "metrics.json"

// EvalResult is an evaluate stage's record (metrics.json).
type EvalResult struct {
	Model   string             `json:"model"` // the evaluated stage's address
	Forget  []int              `json:"forget"`
	Metrics map[string]float64 `json:"metrics"`
	// Missing holds the requested metrics that could not be computed, and
	// why (a trained model has no unlearning time; the retrained reference
	// failed).
	Missing map[string]string `json:"missing,omitempty"`
	Details EvalDetails       `json:"details"`
}

// EvalDetails records how the metrics were computed.
type EvalDetails struct {
	Test        int                     `json:"test_images"`
	MIA         *metrics.MIAResult      `json:"mia,omitempty"`
	MIALogReg   *metrics.MIAResult      `json:"mia_logreg,omitempty"`
	PerClass    []metrics.ClassAccuracy `json:"per_class,omitempty"`
	RetrainedBy string                  `json:"retrained_by,omitempty"`
}

func (t *evaluateTask) has(m string) bool { return slices.Contains(t.metrics, m) }

func (t *evaluateTask) Run(ctx context.Context, env *Env) error {
	in, err := env.input("models")
	if err != nil {
		return err
	}
	ds, err := openData(env.Data, t.st)
	if err != nil {
		return err
	}
	split, err := ds.Unlearning(t.forget...)
	if err != nil {
		return err
	}
	m, err := nn.LoadModel(env.Backend, in.Path(ModelFile))
	if err != nil {
		return err
	}
	defer m.Release()
	env.Logf("evaluating %s: metrics %v, forget %v", in.Stage.Address, t.metrics, t.forget)
	res := EvalResult{Model: in.Stage.Address, Forget: t.forget, Metrics: map[string]float64{}, Missing: map[string]string{}}
	seed := uint64(t.seed)
	predict := func(what string, s data.Subset, model *nn.Model) (metrics.Outputs, error) {
		o, err := Predict(ctx, model, s.EvalFeed(), t.batch)
		if err != nil {
			return o, fmt.Errorf("predicting %s: %w", what, err)
		}
		env.Logf("predicted %d images of %s", o.Len(), what)
		return o, nil
	}
	test, err := predict("the test split", ds.Test, m)
	if err != nil {
		return err
	}
	res.Details.Test = test.Len()
	tf, tr, err := test.SplitForget(t.forget)
	if err != nil {
		return err
	}
	if t.has("acc_forget") || t.has("acc_retain") {
		accF, accR, err := metrics.ForgetRetainAccuracy(test, t.forget)
		if err != nil {
			return err
		}
		t.put(&res, "acc_forget", accF)
		t.put(&res, "acc_retain", accR)
	}
	if t.has("acc_per_class") {
		pc, err := metrics.PerClassAccuracy(test)
		if err != nil {
			return err
		}
		res.Details.PerClass = pc
		for _, c := range pc {
			res.Metrics["acc_class_"+strconv.Itoa(c.Class)] = c.Accuracy()
		}
	}

	var df metrics.Outputs
	if t.has("mia") || t.has("mia_logreg") || t.has("acc_forget_train") {
		if df, err = predict("D_f (training images of the forget classes)", split.Df, m); err != nil {
			return err
		}
		if t.has("acc_forget_train") {
			a, err := metrics.Accuracy(df)
			if err != nil {
				return err
			}
			t.put(&res, "acc_forget_train", a)
		}
	}
	if t.has("acc_retain_train") {
		dr, err := predict("D_r (training images of the retained classes)", split.Dr, m)
		if err != nil {
			return err
		}
		a, err := metrics.Accuracy(dr)
		if err != nil {
			return err
		}
		t.put(&res, "acc_retain_train", a)
	}
	svm := t.has("mia") && t.attack == metrics.AttackSVMConfidence
	if svm {
		// The attack trains on |T_r| images of D_r (capped): predict only
		// those, not the whole of D_r.
		capN := t.miaCap
		if capN == 0 {
			capN = metrics.DefaultMIACap
		}
		n := min(tr.Len(), capN)
		dr, err := predict(fmt.Sprintf("a sample of %d images of D_r", n), split.Dr.Sample(n, seed), m)
		if err != nil {
			return err
		}
		r, err := metrics.SVMConfidenceMIA(dr, tr, df, metrics.MIAOptions{Cap: capN, Seed: seed, C: t.miaC})
		if err != nil {
			return err
		}
		res.Details.MIA = &r
		t.put(&res, "mia", r.Value)
	}
	if (t.has("mia") && !svm) || t.has("mia_logreg") {
		capN := 0
		if t.attack == metrics.AttackLogRegEntropy {
			capN = t.miaCap
		}
		drS, testS := split.Dr, ds.Test
		if capN > 0 {
			drS, testS = split.Dr.Sample(capN, seed), ds.Test.Sample(capN, seed+1)
		}
		dr, err := predict(fmt.Sprintf("%d images of D_r", drS.Len()), drS, m)
		if err != nil {
			return err
		}
		to := test
		if capN > 0 && testS.Len() < ds.Test.Len() {
			if to, err = predict(fmt.Sprintf("%d test images", testS.Len()), testS, m); err != nil {
				return err
			}
		}
		r, err := metrics.LogRegEntropyMIA(dr, to, df)
		if err != nil {
			return err
		}
		res.Details.MIALogReg = &r
		if t.has("mia") && !svm {
			t.put(&res, "mia", r.Value)
		}
		t.put(&res, "mia_logreg", r.Value)
	}

	if t.has("js_retrain") {
		if err := t.jsRetrain(ctx, env, &res, tf, split, predict); err != nil {
			return err
		}
	}
	if t.has("zrf") {
		cfg := m.Config
		// A fixed offset keeps the random model apart from the trained
		// model's own initialisation while staying seeded.
		cfg.Seed = seed + 0x5a5f
		random, err := nn.New(env.Backend, cfg)
		if err != nil {
			return err
		}
		ro, err := predict("T_f with a randomly initialised model", split.Tf, random)
		random.Release()
		if err != nil {
			return err
		}
		z, err := metrics.ZRF(tf, ro, t.forget)
		if err != nil {
			return err
		}
		t.put(&res, "zrf", z)
	}
	if t.has("time") {
		if in.Stage.Kind == dsl.KindUnlearn {
			var ur UnlearnResult
			if err := ReadJSON(in.Path(ResultFile), &ur); err != nil {
				return fmt.Errorf("the result of %s: %w", in.Stage.Address, err)
			}
			t.put(&res, "time", ur.Seconds)
			res.Metrics["time_finetune"] = ur.FinetuneSeconds
		} else {
			res.Missing["time"] = in.Stage.Address + " is a trained model: it has no unlearning time"
		}
	}
	for name, v := range res.Metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			// JSON cannot hold them; a class without test images, say.
			delete(res.Metrics, name)
			res.Missing[name] = "not a finite number"
			continue
		}
		if err := env.metric(name, 0, v); err != nil {
			return err
		}
		env.Logf("%s = %.6g", name, v)
	}
	for name, why := range res.Missing {
		env.Logf("%s not computed: %s", name, why)
	}
	return WriteJSON(filepath.Join(env.Dir, MetricsFile), res)
}

func (t *evaluateTask) put(res *EvalResult, name string, v float64) {
	if t.has(name) {
		res.Metrics[name] = v
	}
}

func (t *evaluateTask) jsRetrain(ctx context.Context, env *Env, res *EvalResult, tf metrics.Outputs, split data.Unlearning,
	predict func(string, data.Subset, *nn.Model) (metrics.Outputs, error)) error {
	rin, err := env.input("retrain")
	if err != nil {
		res.Missing["js_retrain"] = "no retrained reference"
		return nil
	}
	if rin.Missing != "" {
		res.Missing["js_retrain"] = rin.Stage.Address + " has no result: " + rin.Missing
		return nil
	}
	rm, err := nn.LoadModel(env.Backend, rin.Path(ModelFile))
	if err != nil {
		return err
	}
	defer rm.Release()
	ro, err := predict("T_f with the retrained model "+rin.Stage.Address, split.Tf, rm)
	if err != nil {
		return err
	}
	js, err := metrics.JSToRetrain(tf, ro, t.forget)
	if err != nil {
		return err
	}
	res.Details.RetrainedBy = rin.Stage.Address
	t.put(res, "js_retrain", js)
	return nil
}

// Predict runs m over a dataset and gathers its softmax outputs.
func Predict(ctx context.Context, m *nn.Model, feed nn.Dataset, batch int) (metrics.Outputs, error) {
	probs := make([]float32, 0, feed.Len()*m.Config.Classes)
	labels := make([]int32, 0, feed.Len())
	err := nn.Predict(ctx, m, feed, batch, func(p []float32, y []int32) error {
		probs = append(probs, p...)
		labels = append(labels, y...)
		return nil
	})
	if err != nil {
		return metrics.Outputs{}, err
	}
	return metrics.NewOutputs(probs, labels, m.Config.Classes)
}
