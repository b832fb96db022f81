package stages

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lethe/dsl"
	"lethe/nn"
	"lethe/nn/device"
)

func load(t *testing.T, src string) *dsl.Experiment {
	t.Helper()
	exp, diags := dsl.LoadSources([]dsl.Source{{Name: "spec.hcl", Bytes: []byte(src)}}, dsl.Options{})
	if diags.HasErrors() {
		t.Fatalf("spec: %v", diags)
	}
	return exp
}

func stage(t *testing.T, exp *dsl.Experiment, addr string) *dsl.Stage {
	t.Helper()
	st, ok := exp.Stage(addr)
	if !ok {
		var all []string
		for _, s := range exp.Stages {
			all = append(all, s.Address)
		}
		t.Fatalf("no stage %s in %v", addr, all)
	}
	return st
}

const recipes = `
experiment "r" { seeds = [3] }
dataset "d" { kind = "mnist" }
train "sgd" {
  dataset       = dataset.d
  arch          = "smallcnn"
  epochs        = 7
  batch_size    = 16
  optimizer     = { name = "sgd", lr = 0.2, momentum = 0.8, nesterov = true, weight_decay = 1e-4 }
  schedule      = { name = "multistep", milestones = [3, 5], gamma = 0.5, warmup_epochs = 1 }
  ortho_lambda  = 1e-3
  ortho_exclude = ["shortcut", "first"]
}
train "adam" {
  dataset   = dataset.d
  arch      = "smallcnn"
  epochs    = 2
  optimizer = { name = "adamw", lr = 0.003, betas = [0.8, 0.99] }
  schedule  = { name = "exponential", gamma = 0.7 }
  augment   = true
}
`

func TestTrainRecipeFollowsTheSpec(t *testing.T) {
	exp := load(t, recipes)
	r, err := TrainRecipe(stage(t, exp, "train.sgd[seed=3]"))
	if err != nil {
		t.Fatal(err)
	}
	c := r.Train
	if c.Epochs != 7 || c.BatchSize != 16 || c.OrthoLambda != 1e-3 || !c.OrthoExclude.Shortcut || !c.OrthoExclude.First ||
		c.Optim.Name != "sgd" || c.Optim.LR != 0.2 || c.Optim.Momentum != 0.8 || !c.Optim.Nesterov || c.Optim.WeightDecay != 1e-4 ||
		c.Schedule.Name != "multistep" || len(c.Schedule.Milestones) != 2 || c.Schedule.Milestones[1] != 5 ||
		c.Schedule.Gamma != 0.5 || c.Schedule.WarmupEpochs != 1 || r.Seed != 3 || r.Augment {
		t.Errorf("sgd recipe = %+v", r)
	}
	r, err = TrainRecipe(stage(t, exp, "train.adam[seed=3]"))
	if err != nil {
		t.Fatal(err)
	}
	c = r.Train
	if c.Optim.Name != "adamw" || c.Optim.LR != 0.003 || c.Optim.Beta1 != 0.8 || c.Optim.Beta2 != 0.99 ||
		c.Optim.WeightDecay != 0.01 || c.Optim.Eps != 1e-8 || c.Schedule.Name != "exponential" || c.Schedule.Gamma != 0.7 ||
		!r.Augment || c.BatchSize != 128 {
		t.Errorf("adamw recipe = %+v", r)
	}
	if _, err := TrainRecipe(stage(t, exp, "dataset.d")); err == nil {
		t.Error("a dataset stage gave a recipe")
	}
}

// chain is a small experiment with every metric, to run stage by stage.
const chain = `
experiment "c" { title = "chain" }
dataset "d" {
  kind            = "mnist"
  train_per_class = 15
  test_per_class  = 8
}
train "m" {
  dataset    = dataset.d
  arch       = "smallcnn"
  width      = 0.25
  epochs     = 1
  batch_size = 32
  optimizer  = { name = "sgd", lr = 0.05 }
}
unlearn "osp" {
  model    = train.m
  method   = "osp"
  forget   = [3]
  ratio    = 0.2
  n_forget = 8
  n_retain = 8
}
unlearn "retrain" {
  model  = train.m
  method = "retrain"
  forget = [3]
}
evaluate "e" {
  models  = [train.m, unlearn.osp]
  forget  = [3]
  retrain = unlearn.retrain
  metrics = ["acc_forget", "acc_retain", "acc_forget_train", "acc_retain_train", "acc_per_class",
             "mia", "mia_logreg", "js_retrain", "zrf", "time"]
}
report "r" {
  from    = evaluate.e
  rows    = ["method"]
  values  = ["acc_forget", "acc_per_class", "time"]
}
`

// runStage runs one stage into a fresh directory with the given inputs.
func runStage(t *testing.T, env *Env, exp *dsl.Experiment, st *dsl.Stage, inputs ...Input) string {
	t.Helper()
	task, err := Prepare(st, exp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := task.Material(); err != nil {
		t.Fatal(err)
	}
	e := *env
	e.Dir = t.TempDir()
	e.Inputs = inputs
	if err := task.Run(context.Background(), &e); err != nil {
		t.Fatalf("%s: %v", st.Address, err)
	}
	return e.Dir
}

type metricLog map[string]float64

func (m metricLog) Metric(name string, step int64, v float64) error {
	m[name] = v
	return nil
}

func TestStagesChainComputesEveryMetric(t *testing.T) {
	exp := load(t, chain)
	b, err := device.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer device.Close(b)
	var log strings.Builder
	env := &Env{Backend: b, Data: NewDataCache(), Log: &log, Metrics: metricLog{}}

	ds := stage(t, exp, "dataset.d")
	dsDir := runStage(t, env, exp, ds)
	var info DatasetInfo
	if err := ReadJSON(filepath.Join(dsDir, "dataset.json"), &info); err != nil {
		t.Fatal(err)
	}
	if info.Train != 150 || info.Test != 80 || len(info.Classes) != 10 || info.Shape != [3]int{1, 28, 28} {
		t.Errorf("dataset info = %+v", info)
	}
	tr := stage(t, exp, "train.m[seed=0]")
	trDir := runStage(t, env, exp, tr, Input{Param: "dataset", Stage: ds, Dir: dsDir})
	var recipe Recipe
	if err := ReadJSON(filepath.Join(trDir, RecipeFile), &recipe); err != nil || recipe.From != tr.Address || recipe.Train.Epochs != 1 {
		t.Fatalf("recipe %+v (%v)", recipe, err)
	}
	osp := stage(t, exp, "unlearn.osp[seed=0]")
	ospDir := runStage(t, env, exp, osp, Input{Param: "model", Stage: tr, Dir: trDir})
	var ur UnlearnResult
	if err := ReadJSON(filepath.Join(ospDir, ResultFile), &ur); err != nil || ur.Method != "osp" || !(ur.Seconds > 0) {
		t.Fatalf("unlearn result %+v (%v)", ur, err)
	}

	// The retrained reference is missing (its method may not exist yet):
	// the evaluation computes everything else and says why js_retrain is
	// not there.
	retrain := stage(t, exp, "unlearn.retrain[seed=0]")
	ev := stage(t, exp, "evaluate.e[models=osp,seed=0]")
	evDir := runStage(t, env, exp, ev, Input{Param: "models", Stage: osp, Dir: ospDir},
		Input{Param: "retrain", Stage: retrain, Missing: "it failed"})
	var r EvalResult
	if err := ReadJSON(filepath.Join(evDir, MetricsFile), &r); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"acc_forget", "acc_retain", "acc_forget_train", "acc_retain_train", "mia", "mia_logreg", "zrf", "time", "acc_class_3"} {
		v, ok := r.Metrics[m]
		if !ok || math.IsNaN(v) || v < 0 || (m != "time" && v > 1) {
			t.Errorf("metric %s = %v (present %v)", m, v, ok)
		}
	}
	if r.Metrics["acc_forget"] != r.Metrics["acc_class_3"] {
		t.Errorf("forgetting class 3 alone: acc_forget %v != acc_class_3 %v", r.Metrics["acc_forget"], r.Metrics["acc_class_3"])
	}
	if r.Metrics["time"] != ur.Seconds {
		t.Errorf("time %v, the unlearn stage took %v", r.Metrics["time"], ur.Seconds)
	}
	if z := r.Metrics["zrf"]; z < 1-math.Ln2-1e-9 {
		t.Errorf("zrf %v below its floor 1-ln2", z)
	}
	if why := r.Missing["js_retrain"]; !strings.Contains(why, "unlearn.retrain[seed=0] has no result") {
		t.Errorf("missing js_retrain: %q", why)
	}
	if r.Details.MIA == nil || r.Details.MIA.Targets != 15 || r.Details.MIALogReg == nil {
		t.Errorf("MIA details %+v", r.Details)
	}
	// The accuracies agree with the engine's own evaluation.
	m, err := nn.LoadModel(b, filepath.Join(ospDir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := DatasetConfig(ds)
	if err != nil {
		t.Fatal(err)
	}
	dset, err := env.Data.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	er, err := nn.Evaluate(context.Background(), m, dset.Test.EvalFeed(), 64)
	m.Release()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Metrics["acc_forget"], er.AccuracyOn([]int{3}); got != want {
		t.Errorf("acc_forget %v, nn.Evaluate says %v", got, want)
	}

	// With a reference, js_retrain is the divergence to it: 0 against the
	// model itself.
	evDir = runStage(t, env, exp, ev, Input{Param: "models", Stage: osp, Dir: ospDir},
		Input{Param: "retrain", Stage: retrain, Dir: ospDir})
	if err := ReadJSON(filepath.Join(evDir, MetricsFile), &r); err != nil {
		t.Fatal(err)
	}
	if js, ok := r.Metrics["js_retrain"]; !ok || math.Abs(js) > 1e-9 {
		t.Errorf("js_retrain of a model against itself = %v (present %v)", js, ok)
	}

	// A trained model has no unlearning time.
	ev0 := stage(t, exp, "evaluate.e[models=m,seed=0]")
	ev0Dir := runStage(t, env, exp, ev0, Input{Param: "models", Stage: tr, Dir: trDir},
		Input{Param: "retrain", Stage: retrain, Dir: ospDir})
	var r0 EvalResult
	if err := ReadJSON(filepath.Join(ev0Dir, MetricsFile), &r0); err != nil {
		t.Fatal(err)
	}
	if _, ok := r0.Metrics["time"]; ok || !strings.Contains(r0.Missing["time"], "trained model") {
		t.Errorf("train model's time: %v / %q", r0.Metrics["time"], r0.Missing["time"])
	}

	// The report: one row per method, per-class accuracy expanded, and the
	// missing time of the original model shown as such.
	rep := stage(t, exp, "report.r")
	repDir := runStage(t, env, exp, rep, Input{Param: "from", Stage: ev0, Dir: ev0Dir}, Input{Param: "from", Stage: ev, Dir: evDir})
	md, err := os.ReadFile(filepath.Join(repDir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### chain", "| original ", "| osp ", "Acc class 0 (%)", "Acc class 9 (%)", "time (s)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if _, err := os.Stat(filepath.Join(repDir, ReportJSONFile)); err != nil {
		t.Error(err)
	}
}
