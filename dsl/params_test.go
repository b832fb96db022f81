package dsl

import (
	"reflect"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// TestParamsFilled checks that every instance carries its method's
// parameters with defaults from the methods table, and only those.
func TestParamsFilled(t *testing.T) {
	exp := mustLoad(t, base+`
unlearn "b" {
  model   = train.ortho
  method  = ["finetune", "neggrad"]
  forget  = [0]
  epochs  = 2
  variant = "plus"
}`, Options{})
	ft, _ := exp.Stage("unlearn.b[method=finetune,seed=0]")
	ng, _ := exp.Stage("unlearn.b[method=neggrad,seed=0]")
	if ft == nil || ng == nil {
		t.Fatal("instances missing")
	}
	for _, s := range []*Stage{ft, ng} {
		if e, _ := s.Int("epochs"); e != 2 || s.Params["epochs"].Default {
			t.Errorf("%s: epochs %d, want the written 2", s.Address, e)
		}
		m, _ := s.String("method")
		method, _ := LookupMethod(m)
		for _, p := range method.Params {
			if _, ok := s.Params[p.Name]; !ok {
				t.Errorf("%s lacks %s", s.Address, p.Name)
			}
		}
		want := len(method.Params) + len(KindParams(KindUnlearn))
		if len(s.Params) != want {
			t.Errorf("%s has %d parameters, want %d: %v", s.Address, len(s.Params), want, s.ParamNames())
		}
	}
	if _, ok := ft.Params["variant"]; ok {
		t.Error("finetune got neggrad's variant")
	}
	if v, _ := ng.String("variant"); v != "plus" {
		t.Errorf("neggrad variant %q", v)
	}
	if lr, _ := ng.Float("lr"); lr != 0.02 || !ng.Params["lr"].Default {
		t.Errorf("neggrad lr %v, want the default 0.02", lr)
	}
}

func TestObjectAndKindDefaults(t *testing.T) {
	exp := mustLoad(t, base+`
dataset "c" {
  kind = "cifar10"
  path = "${var.data}/cifar10"
}
train "adam" {
  dataset   = dataset.c
  arch      = "resnet18"
  epochs    = 1
  optimizer = { name = "adam", lr = 0.01 }
  schedule  = { name = "multistep", milestones = [10, 20] }
}`, Options{DataDir: "/data"})
	s, _ := exp.Stage("train.adam[seed=0]")
	opt := s.Value("optimizer").AsValueMap()
	if got := formatValue(cty.ObjectVal(opt)); got != "{betas=[0.9,0.999],eps=1e-08,lr=0.01,name=adam,weight_decay=0}" {
		t.Errorf("optimizer %s", got)
	}
	if got := formatValue(s.Value("schedule")); got != "{gamma=0.1,milestones=[10,20],name=multistep,warmup_epochs=0}" {
		t.Errorf("schedule %s", got)
	}
	if a, _ := s.Bool("augment"); !a {
		t.Error("cifar10 training should augment by default")
	}
	if a, _ := exp.Block(KindTrain, "ortho")[0].Bool("augment"); a {
		t.Error("mnist training should not augment by default")
	}
	ds, _ := exp.Stage("dataset.c")
	if p, _ := ds.String("path"); p != "/data/cifar10" {
		t.Errorf("path %q: var.data should default to Options.DataDir", p)
	}
	if _, ok := ds.Params["labels"]; ok {
		t.Error("labels belongs to cifar100 only")
	}
}

// TestRetrainPairing checks that js_retrain pairs each evaluated model with
// the retrain of the same trained model and forget set.
func TestRetrainPairing(t *testing.T) {
	exp := mustLoad(t, base+`
unlearn "osp" {
  model  = [train.ortho, train.plain]
  method = "osp"
  forget = [0]
}
unlearn "base" {
  model  = [train.ortho, train.plain]
  method = ["retrain", "ssd"]
  forget = [0]
}
evaluate "all" {
  models  = [unlearn.osp, unlearn.base]
  retrain = unlearn.base
  metrics = ["acc_forget", "js_retrain"]
}`, Options{})
	for _, s := range exp.Block(KindEvaluate, "all") {
		model := s.Deps[0].Stage
		var retrain *Stage
		for _, d := range s.Deps {
			if d.Param == "retrain" {
				retrain = d.Stage
			}
		}
		if retrain == nil {
			t.Fatalf("%s has no retrain dependency", s.Address)
		}
		if m, _ := retrain.String("method"); m != "retrain" || trainOf(retrain) != trainOf(model) {
			t.Errorf("%s compares against %s", s.Address, retrain.Address)
		}
		if got, _ := s.String("retrain"); got != retrain.Address {
			t.Errorf("retrain parameter %q, dep %s", got, retrain.Address)
		}
		if f, _ := s.Ints("forget"); !reflect.DeepEqual(f, []int{0}) {
			t.Errorf("%s: forget %v not taken from its model", s.Address, f)
		}
	}
}

// TestLookup checks the dimension lookup reports use.
func TestLookup(t *testing.T) {
	exp := mustLoad(t, base+`
unlearn "osp" {
  model  = [train.ortho, train.plain]
  method = "osp"
  forget = [0]
  sweep { ratio = [0.01] }
}
unlearn "base" {
  model  = train.ortho
  method = ["ssd"]
  forget = [0]
}
evaluate "all" { models = [unlearn.osp, unlearn.base] }`, Options{})
	for addr, want := range map[string]map[string]string{
		"evaluate.all[model=plain,models=osp,ratio=0.01,seed=0]": {"method": "osp", "model": "plain", "ratio": "0.01", "arch": "smallcnn"},
		"evaluate.all[method=ssd,models=base,seed=0]":            {"method": "ssd", "model": "ortho", "ortho_lambda": "0.001"},
	} {
		s, ok := exp.Stage(addr)
		if !ok {
			t.Fatalf("no stage %s", addr)
		}
		for dim, w := range want {
			v, ok := s.Lookup(dim)
			if !ok || formatValue(v) != w {
				t.Errorf("%s: %s = %s, want %s", addr, dim, formatValue(v), w)
			}
		}
		if _, ok := s.Lookup("no_such_thing"); ok {
			t.Error("lookup of an unknown dimension succeeded")
		}
	}
}

// TestChainedForget checks that an unlearn block reading an unlearned
// model inherits its forget set, and that one reading a trained model
// needs its own.
func TestChainedForget(t *testing.T) {
	exp := mustLoad(t, base+`
unlearn "each" {
  model  = train.ortho
  method = "osp"
  sweep { forget = [[1], [2]] }
}
unlearn "repair" {
  model  = unlearn.each
  method = "finetune"
}`, Options{})
	for _, s := range exp.Block(KindUnlearn, "repair") {
		want, _ := s.Deps[0].Stage.Ints("forget")
		got, _ := s.Ints("forget")
		if !reflect.DeepEqual(got, want) || !s.Params["forget"].Default {
			t.Errorf("%s: forget %v, want its model's %v", s.Address, got, want)
		}
	}
	if n := len(exp.Block(KindUnlearn, "repair")); n != 2 {
		t.Errorf("%d repairs, want 2", n)
	}
}
