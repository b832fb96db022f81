package dsl

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestBrokenSpecs checks that each broken spec gives its diagnostic at the
// exact position, with the exact message.
func TestBrokenSpecs(t *testing.T) {
	cases := []struct {
		name    string
		src     string // appended to base unless noBase
		noBase  bool
		pos     string // line:col of the diagnostic's subject
		summary string
		detail  string
	}{
		{name: "cycle", pos: "22:12", src: `
unlearn "a" {
  model  = unlearn.b
  method = "osp"
  forget = [0]
}
unlearn "b" {
  model  = unlearn.a
  method = "finetune"
  forget = [0]
}`, summary: "Cycle between blocks",
			detail: "Blocks refer to each other in a cycle: unlearn.a -> unlearn.b -> unlearn.a. A stage cannot depend on its own output."},
		{name: "unknown reference", pos: "17:12", src: `
unlearn "u" {
  model  = train.orth
  method = "osp"
  forget = [0]
}`, summary: "Reference to undeclared name", detail: `There is no train block named "orth". Did you mean "ortho"?`},
		{name: "reference to the wrong kind", pos: "17:26", src: `
unlearn "u" {
  model  = [train.ortho, dataset.mnist]
  method = "osp"
  forget = [0]
}`, summary: "Wrong kind of block", detail: "model must refer to a train or unlearn block; dataset.mnist is a dataset block."},
		{name: "wrong type", pos: "19:13", src: `
train "t" {
  dataset = dataset.mnist
  arch    = "smallcnn"
  epochs  = "ten"
}`, summary: "Incorrect value type", detail: "epochs needs a number, not a string."},
		{name: "unknown attribute", pos: "19:3", src: `
train "t" {
  dataset = dataset.mnist
  arch    = "smallcnn"
  epoch   = 3
}`, summary: "Unsupported argument", detail: `An argument named "epoch" is not expected in a train block. Did you mean "epochs"?`},
		{name: "unknown method", pos: "18:20", src: `
unlearn "u" {
  model  = train.ortho
  method = ["osp", "sdd"]
  forget = [0]
}`, summary: "Unknown method", detail: `There is no unlearning method "sdd". Did you mean "ssd"? Methods: "osp", "retrain", "ssd", "emni", "tfidf", "finetune", "neggrad", "random_labels", "bad_teacher", "scrub", "salun", "boundary_shrink".`},
		{name: "unknown method parameter", pos: "21:5", src: `
unlearn "u" {
  model  = train.ortho
  method = "osp"
  forget = [0]
  sweep {
    ratoi = [0.01, 0.02]
  }
}`, summary: "Unsupported method parameter", detail: `Method osp has no parameter "ratoi". Did you mean "ratio"?`},
		{name: "parameter of another method", pos: "20:3", src: `
unlearn "u" {
  model  = train.ortho
  method = "osp"
  forget = [0]
  alpha  = 5
}`, summary: "Unsupported method parameter", detail: `Method osp has no parameter "alpha". It belongs to ssd, neggrad, scrub.`},
		{name: "duplicate block name", pos: "16:7", src: `
train "ortho" {
  dataset = dataset.mnist
  arch    = "smallcnn"
  epochs  = 2
}`, summary: "Duplicate block name", detail: `A train block named "ortho" was already defined at spec.hcl:3,1-14; block names must be unique within their kind.`},
		{name: "failed variable validation", pos: "18:13", src: `
variable "epochs" {
  type    = number
  default = 0
  validation {
    condition     = var.epochs > 0
    error_message = "epochs must be positive."
  }
}`, summary: "Invalid value for variable", detail: "epochs must be positive.\n\nThis was checked by the validation rule at spec.hcl:20,21-35."},
		{name: "value out of range", pos: "21:19", src: `
unlearn "u" {
  model  = train.ortho
  method = "osp"
  forget = [0]
  sweep {
    ratio = [0.5, 1.5]
  }
}`, summary: "Value out of range", detail: "ratio must be in [0, 1], not 1.5."},
		{name: "value not among choices", pos: "20:12", src: `
unlearn "u" {
  model  = train.ortho
  method = "osp"
  forget = [0]
  tap    = "convv"
}`, summary: "Invalid value", detail: `tap cannot be "convv"; it takes one of "conv", "bn", "relu". Did you mean "conv"?`},
		{name: "unknown block type", pos: "16:1", src: `
trian "t" {
}`, summary: "Unsupported block type", detail: `Blocks of type "trian" are not expected here. Did you mean "train"?`},
		{name: "cycle of locals", pos: "17:3", src: `
locals {
  a = local.b + 1
  b = local.a + 1
}`, summary: "Cycle between local values", detail: "Local values refer to each other in a cycle: local.a -> local.b -> local.a."},
		{name: "undeclared variable", pos: "20:13", src: `
variable "epochs" { default = 3 }
train "t" {
  dataset = dataset.mnist
  arch    = "smallcnn"
  epochs  = var.epoch
}`, summary: "Reference to undeclared name", detail: `There is no variable named "epoch". Did you mean "epochs"?`},
		{name: "zip lengths differ", pos: "22:16", src: `
unlearn "u" {
  model  = train.ortho
  method = "osp"
  forget = [0]
  zip {
    ratio    = [0.01, 0.02]
    strength = [0.2, 0.4, 0.6]
  }
}`, summary: "Zip lists differ in length", detail: "strength has 3 values but ratio has 2; the lists of a zip block move together, so they need the same length."},
		{name: "sweep of a single value", pos: "21:13", src: `
unlearn "u" {
  model  = train.ortho
  method = "osp"
  forget = [0]
  sweep {
    ratio = 0.01
  }
}`, summary: "Sweep values must be a list", detail: "In a sweep block every parameter takes a list of values: write ratio = [0.01] to use one value."},
		{name: "parameter set twice", pos: "22:5", src: `
unlearn "u" {
  model  = train.ortho
  method = "osp"
  forget = [0]
  ratio  = 0.01
  sweep {
    ratio = [0.01, 0.02]
  }
}`, summary: "Parameter set twice", detail: "ratio is already set at spec.hcl:20,3-8; a parameter is either fixed, swept or zipped, once."},
		{name: "forget class out of range", pos: "19:16", src: `
unlearn "u" {
  model  = train.ortho
  method = "ssd"
  forget = [3, 10]
}`, summary: "Value out of range", detail: "forget names class 10, but dataset.mnist has 10 classes (0-9)."},
		{name: "js_retrain without retrain", pos: "23:28", src: `
unlearn "u" {
  model  = train.ortho
  method = "ssd"
  forget = [0]
}
evaluate "e" {
  models  = unlearn.u
  metrics = ["acc_forget", "js_retrain"]
}`, summary: "Missing retrain reference", detail: `Metric js_retrain compares against a retrained model: set retrain = unlearn.<name>, an unlearn block with method "retrain".`},
		{name: "report dimension unknown", pos: "25:11", src: `
unlearn "u" {
  model  = train.ortho
  method = "osp"
  forget = [0]
  sweep { ratio = [0.01, 0.02] }
}
evaluate "e" { models = unlearn.u }
report "r" {
  from = evaluate.e
  rows = ["ratoi"]
}`, summary: "Unknown report dimension", detail: `rows names "ratoi", which is neither a sweep key nor a parameter of the evaluated stages. Did you mean "ratio"?`},
		{name: "report value not computed", pos: "27:27", src: `
unlearn "u" {
  model  = train.ortho
  method = "osp"
  forget = [0]
}
evaluate "e" {
  models  = unlearn.u
  metrics = ["acc_forget", "acc_retain"]
}
report "r" {
  from   = evaluate.e
  values = ["acc_forget", "mia"]
}`, summary: "Unknown report value", detail: `No evaluate block of this report computes "mia". Computed: "acc_forget", "acc_retain".`},
		{name: "optimizer field of another optimizer", pos: "20:15", src: `
train "t" {
  dataset   = dataset.mnist
  arch      = "smallcnn"
  epochs    = 1
  optimizer = { name = "adam", momentum = 0.9 }
}`, summary: "Unsupported field", detail: `optimizer "adam" has no field "momentum". It belongs to "sgd".`},
		{name: "missing required argument", pos: "16:1", src: `
unlearn "u" {
  model  = train.ortho
  method = "osp"
}`, summary: "Missing required argument", detail: `The argument "forget" is required, but no definition was found in unlearn.u.`},
		{name: "dataset without path", pos: "16:1", src: `
dataset "c" {
  kind = "cifar10"
}`, summary: "Missing required argument", detail: "A cifar10 dataset needs a path (only mnist ships with Lethe)."},
		{name: "syntax error", pos: "17:12", src: `
train "t" {
  epochs = = 3
}`, summary: "Invalid expression", detail: "Expected the start of an expression, but found an invalid expression token."},
		{name: "missing experiment block", pos: "1:1", noBase: true, src: `dataset "m" { kind = "mnist" }
`, summary: "Missing experiment block", detail: `A spec needs one block experiment "name" { seeds = [0] } to name the experiment.`},
		{name: "trained model evaluated without forget set", pos: "17:13", src: `
evaluate "e" {
  models = [train.ortho]
}`, summary: "Missing forget set", detail: "train.ortho[seed=0] is a trained model with no forget set; set forget = [...] in evaluate.e to say which classes its accuracies split off."},
		{name: "duplicate variable", pos: "17:10", src: `
variable "n" { default = 1 }
variable "n" { default = 2 }`, summary: "Duplicate variable", detail: `A variable named "n" was already declared at spec.hcl:16,1-13.`},
		{name: "sweeping a reference", pos: "19:11", src: `
unlearn "u" {
  method = "osp"
  forget = [0]
  sweep { model = [train.ortho, train.plain] }
}`, summary: "Cannot sweep parameter", detail: "model cannot be swept in a sweep block; a list of references fans out by itself: model = [a, b]."},
		{name: "duplicate sweep value", pos: "20:26", src: `
unlearn "u" {
  model  = train.ortho
  method = "osp"
  forget = [0]
  sweep { ratio = [0.01, 0.01] }
}`, summary: "Duplicate value", detail: "ratio lists 0.01 twice."},
		{name: "block used as a number", pos: "19:13", src: `
train "t" {
  dataset = dataset.mnist
  arch    = "smallcnn"
  epochs  = train.ortho
}`, summary: "Incorrect value type", detail: "epochs needs a number, not a reference to a block."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := base + c.src
			if c.noBase {
				src = c.src
			}
			exp, diags := loadString(t, src, Options{})
			if !diags.HasErrors() {
				t.Fatalf("spec loaded without errors")
			}
			if len(exp.Stages) != 0 {
				t.Errorf("a broken spec returned %d stages", len(exp.Stages))
			}
			var printed strings.Builder
			if err := WriteDiagnostics(&printed, exp.Files, diags, 0, false); err != nil {
				t.Fatal(err)
			}
			got := diags.Errs()[0].(*hcl.Diagnostic)
			if got.Subject == nil {
				t.Fatalf("diagnostic has no position:\n%s", printed.String())
			}
			gotPos := fmt.Sprintf("%s:%d:%d", got.Subject.Filename, got.Subject.Start.Line, got.Subject.Start.Column)
			if want := "spec.hcl:" + c.pos; gotPos != want {
				t.Errorf("position %s, want %s\n%s", gotPos, want, printed.String())
			}
			if got.Summary != c.summary || got.Detail != c.detail {
				t.Errorf("got  %q: %q\nwant %q: %q", got.Summary, got.Detail, c.summary, c.detail)
			}
			// The printed form leads with file:line:col and shows the source.
			header := fmt.Sprintf("%s: Error: %s\n", gotPos, c.summary)
			snippet := fmt.Sprintf("  %d: ", got.Subject.Start.Line)
			if !strings.HasPrefix(printed.String(), header) || !strings.Contains(printed.String(), snippet) ||
				!strings.Contains(printed.String(), c.detail[:20]) {
				t.Errorf("printed diagnostics lack %q, the source line or the detail:\n%s", header, printed.String())
			}
		})
	}
}
