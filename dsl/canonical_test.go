package dsl

import (
	"encoding/json"
	"testing"
)

const canonA = `experiment "c" { seeds = [0] }
dataset "m" { kind = "mnist" }
train "t" {
  dataset      = dataset.m
  arch         = "smallcnn"
  epochs       = 3
  ortho_lambda = 0.001
  optimizer    = { name = "sgd", lr = 0.05 }
}
unlearn "u" {
  model  = train.t
  method = "ssd"
  forget = [2]
}
`

// canonB is canonA rewritten: other order, other spelling of the same
// numbers, values through a variable and a local, explicit defaults.
const canonB = `locals { classes = [1 + 1] }
variable "lambda" { default = 1e-3 }
unlearn "u" {
  forget = local.classes
  method = "ssd"
  model  = train.t
  alpha  = 10.0
}
train "t" {
  optimizer    = { lr = 5e-2, momentum = 0.9, name = "sgd" }
  ortho_lambda = var.lambda
  epochs       = 3
  arch         = "smallcnn"
  dataset      = dataset.m
  batch_size   = 128
}
dataset "m" { kind = "mnist" }
experiment "c" { seeds = [0] }
`

// TestCanonicalDeterminism checks that equal specs give byte-identical
// canonical parameters and different ones do not.
func TestCanonicalDeterminism(t *testing.T) {
	a := mustLoad(t, canonA, Options{})
	a2 := mustLoad(t, canonA, Options{})
	b := mustLoad(t, canonB, Options{})
	if len(a.Stages) != len(b.Stages) {
		t.Fatalf("%d vs %d stages", len(a.Stages), len(b.Stages))
	}
	for i, s := range a.Stages {
		if got := string(a2.Stages[i].Canonical()); got != string(s.Canonical()) {
			t.Errorf("%s: two loads differ:\n%s\n%s", s.Address, s.Canonical(), got)
		}
		other, ok := b.Stage(s.Address)
		if !ok {
			t.Fatalf("%s missing from the rewritten spec", s.Address)
		}
		if string(other.Canonical()) != string(s.Canonical()) {
			t.Errorf("%s: rewritten spec differs:\n%s\n%s", s.Address, s.Canonical(), other.Canonical())
		}
		var m map[string]any
		if err := json.Unmarshal(s.Canonical(), &m); err != nil {
			t.Errorf("%s: not JSON: %v", s.Address, err)
		}
	}
	u, _ := a.Stage("unlearn.u[seed=0]")
	const want = `{"alpha":10,"batch_size":64,"forget":[2],"lambda":1,"method":"ssd","seed":0}`
	if got := string(u.Canonical()); got != want {
		t.Errorf("canonical\n got %s\nwant %s", got, want)
	}
	tr, _ := a.Stage("train.t[seed=0]")
	const wantTrain = `{"arch":"smallcnn","augment":false,"batch_size":128,"epochs":3,` +
		`"optimizer":{"lr":0.05,"momentum":0.9,"name":"sgd","nesterov":false,"weight_decay":0.0005},` +
		`"ortho_exclude":[],"ortho_lambda":0.001,` +
		`"schedule":{"min_lr":0,"name":"cosine","warmup_epochs":0},"seed":0,"width":1}`
	if got := string(tr.Canonical()); got != wantTrain {
		t.Errorf("canonical\n got %s\nwant %s", got, wantTrain)
	}

	changed := mustLoad(t, canonA+`unlearn "v" {
  model  = train.t
  method = "ssd"
  forget = [2]
  alpha  = 10.5
}`, Options{})
	v, _ := changed.Stage("unlearn.v[seed=0]")
	if string(v.Canonical()) == string(u.Canonical()) {
		t.Error("a changed alpha gives the same canonical parameters")
	}
}
