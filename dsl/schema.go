package dsl

import (
	"sort"

	"github.com/zclconf/go-cty/cty"
)

// Stage kinds, in the order their blocks may depend on each other.
const (
	KindDataset  = "dataset"
	KindTrain    = "train"
	KindUnlearn  = "unlearn"
	KindEvaluate = "evaluate"
	KindReport   = "report"
)

// Kinds lists the stage kinds a spec can declare.
var Kinds = []string{KindDataset, KindTrain, KindUnlearn, KindEvaluate, KindReport}

// ParamSpec describes one parameter: its type, default and the values it
// accepts. The tables in this file and in methods.go are built from it.
type ParamSpec struct {
	Name string
	Doc  string
	// Type is the parameter's type: cty.Number, cty.String, cty.Bool,
	// cty.List(cty.Number), cty.List(cty.String), or cty.DynamicPseudoType
	// for object parameters (see Object) and references (see Refs).
	Type cty.Type
	// Default is the value used when a spec leaves the parameter out;
	// cty.NilVal means the parameter is required.
	Default cty.Value
	// Nullable parameters accept null (meaning "automatic" or "none").
	Nullable bool
	// Min and Max bound numbers and the elements of number lists, inclusive
	// unless the matching *Excl flag is set. nil means unbounded.
	Min, Max         *float64
	MinExcl, MaxExcl bool
	// Integer numbers (and number-list elements) must be whole.
	Integer bool
	// OneOf lists the accepted strings (for lists: accepted elements).
	OneOf []string
	// Unique lists may not repeat an element; NonEmpty lists need one.
	Unique, NonEmpty bool
	// Object parameters are written as { name = "...", field = ... }; the
	// name field selects a variant whose fields are checked and filled.
	Object *ObjectSpec
	// Refs makes the parameter a reference to blocks of these kinds. A list
	// of references fans out (or, for FanIn parameters, gathers all the
	// referenced instances into one).
	Refs   []string
	FanIn  bool
	Single bool // takes one reference, never a list
	// NoSweep parameters cannot appear in sweep or zip blocks.
	NoSweep bool
}

// ObjectSpec describes an object parameter with a discriminating field.
type ObjectSpec struct {
	Key      string // the discriminating field, e.g. "name"
	Common   []ParamSpec
	Variants []Variant
}

// Variant is one choice of an object parameter (an optimiser, a schedule)
// or an unlearning method: a name and the parameters that come with it.
type Variant struct {
	Name   string
	Doc    string
	Source string // where its definition and defaults come from
	Params []ParamSpec
}

// Param returns the variant's parameter called name.
func (v *Variant) Param(name string) (ParamSpec, bool) {
	for _, p := range v.Params {
		if p.Name == name {
			return p, true
		}
	}
	return ParamSpec{}, false
}

// Defaults returns every parameter's default value by name.
func (v *Variant) Defaults() map[string]cty.Value {
	out := make(map[string]cty.Value, len(v.Params))
	for _, p := range v.Params {
		out[p.Name] = p.Default
	}
	return out
}

func (o *ObjectSpec) variant(name string) *Variant {
	for i := range o.Variants {
		if o.Variants[i].Name == name {
			return &o.Variants[i]
		}
	}
	return nil
}

func (o *ObjectSpec) variantNames() []string {
	names := make([]string, len(o.Variants))
	for i, v := range o.Variants {
		names[i] = v.Name
	}
	return names
}

// Builders keep the tables below readable: num("lr", 0.1).above(0).

func num(name string, def float64) ParamSpec {
	return ParamSpec{Name: name, Type: cty.Number, Default: cty.NumberFloatVal(def)}
}

func integer(name string, def int64) ParamSpec {
	return ParamSpec{Name: name, Type: cty.Number, Default: cty.NumberIntVal(def), Integer: true}
}

func nullNum(name string) ParamSpec {
	return ParamSpec{Name: name, Type: cty.Number, Default: cty.NullVal(cty.Number), Nullable: true}
}

func str(name, def string, oneOf ...string) ParamSpec {
	return ParamSpec{Name: name, Type: cty.String, Default: cty.StringVal(def), OneOf: oneOf}
}

func boolean(name string, def bool) ParamSpec {
	return ParamSpec{Name: name, Type: cty.Bool, Default: cty.BoolVal(def)}
}

func numList(name string, def ...float64) ParamSpec {
	vals := make([]cty.Value, len(def))
	for i, f := range def {
		vals[i] = cty.NumberFloatVal(f)
	}
	return ParamSpec{Name: name, Type: cty.List(cty.Number), Default: listOrEmpty(cty.Number, vals)}
}

func strList(name string, oneOf []string, def ...string) ParamSpec {
	vals := make([]cty.Value, len(def))
	for i, s := range def {
		vals[i] = cty.StringVal(s)
	}
	return ParamSpec{Name: name, Type: cty.List(cty.String), Default: listOrEmpty(cty.String, vals), OneOf: oneOf, Unique: true}
}

func ref(name string, kinds ...string) ParamSpec {
	return ParamSpec{Name: name, Type: cty.DynamicPseudoType, Refs: kinds, NoSweep: true}
}

func object(name, def string, spec *ObjectSpec) ParamSpec {
	return ParamSpec{Name: name, Type: cty.DynamicPseudoType, Object: spec,
		Default: cty.ObjectVal(map[string]cty.Value{spec.Key: cty.StringVal(def)})}
}

func listOrEmpty(ty cty.Type, vals []cty.Value) cty.Value {
	if len(vals) == 0 {
		return cty.ListValEmpty(ty)
	}
	return cty.ListVal(vals)
}

func (p ParamSpec) doc(s string) ParamSpec { p.Doc = s; return p }
func (p ParamSpec) required() ParamSpec    { p.Default = cty.NilVal; return p }
func (p ParamSpec) in(lo, hi float64) ParamSpec {
	p.Min, p.Max = &lo, &hi
	return p
}
func (p ParamSpec) atLeast(lo float64) ParamSpec { p.Min = &lo; return p }
func (p ParamSpec) above(lo float64) ParamSpec {
	p.Min, p.MinExcl = &lo, true
	return p
}
func (p ParamSpec) below(hi float64) ParamSpec {
	p.Max, p.MaxExcl = &hi, true
	return p
}
func (p ParamSpec) ints() ParamSpec     { p.Integer = true; return p }
func (p ParamSpec) nonEmpty() ParamSpec { p.NonEmpty = true; return p }
func (p ParamSpec) unique() ParamSpec   { p.Unique = true; return p }
func (p ParamSpec) nullable() ParamSpec {
	p.Nullable = true
	p.Default = cty.NullVal(p.Type)
	return p
}
func (p ParamSpec) noSweep() ParamSpec { p.NoSweep = true; return p }

// Dataset kinds and the number of classes each has (0: known only at run
// time). cifar100's count depends on its labels parameter.
var datasetClasses = map[string]int{
	"mnist": 10, "cifar10": 10, "cifar100": 100, "imagefolder": 0, "tinyimagenet": 200,
}

// Architectures a train block can build.
var Archs = []string{"smallcnn", "resnet18", "resnet50", "vgg16_bn"}

// Metrics an evaluate block can compute (METHODS.md, "Metrics").
var Metrics = []string{"acc_forget", "acc_retain", "acc_forget_train", "acc_retain_train",
	"acc_per_class", "mia", "mia_logreg", "js_retrain", "zrf", "time"}

var optimizerSpec = &ObjectSpec{Key: "name", Variants: []Variant{
	{Name: "sgd", Doc: "SGD with momentum", Params: []ParamSpec{
		num("lr", 0.1).above(0), num("momentum", 0.9).in(0, 1), num("weight_decay", 5e-4).atLeast(0),
		boolean("nesterov", false)}},
	{Name: "adam", Doc: "Adam", Params: []ParamSpec{
		num("lr", 1e-3).above(0), numList("betas", 0.9, 0.999).in(0, 1), num("weight_decay", 0).atLeast(0),
		num("eps", 1e-8).above(0)}},
	{Name: "adamw", Doc: "AdamW (decoupled weight decay)", Params: []ParamSpec{
		num("lr", 1e-3).above(0), numList("betas", 0.9, 0.999).in(0, 1), num("weight_decay", 0.01).atLeast(0),
		num("eps", 1e-8).above(0)}},
}}

var scheduleSpec = &ObjectSpec{Key: "name",
	Common: []ParamSpec{integer("warmup_epochs", 0).atLeast(0).doc("epochs of linear warm-up from lr/10")},
	Variants: []Variant{
		{Name: "constant", Doc: "constant learning rate"},
		{Name: "multistep", Doc: "lr multiplied by gamma at each milestone epoch", Params: []ParamSpec{
			numList("milestones").atLeast(1).ints().unique(), num("gamma", 0.1).above(0)}},
		{Name: "cosine", Doc: "cosine annealing to min_lr over the epochs", Params: []ParamSpec{
			num("min_lr", 0).atLeast(0)}},
		{Name: "exponential", Doc: "lr multiplied by gamma after every epoch", Params: []ParamSpec{
			num("gamma", 0.9).above(0)}},
	}}

var miaSpec = &ObjectSpec{Key: "attack", Variants: []Variant{
	{Name: "svm-confidence", Doc: "RBF SVM on the true-label probability (METHODS.md, MIA)", Params: []ParamSpec{
		num("c", 3).above(0), integer("max_per_side", 5000).atLeast(1)}},
	{Name: "logreg-entropy", Doc: "logistic regression on the softmax entropy", Params: []ParamSpec{
		integer("max_per_side", 0).atLeast(0).doc("0: no cap")}},
}}

// kindParams lists each stage kind's parameters. unlearn's method
// parameters come from Methods on top of these.
var kindParams = map[string][]ParamSpec{
	KindDataset: {
		str("kind", "", "mnist", "cifar10", "cifar100", "imagefolder", "tinyimagenet").required().
			doc("dataset format"),
		ParamSpec{Name: "path", Type: cty.String, Default: cty.NullVal(cty.String), Nullable: true}.
			doc("where the files are (required except for mnist, which ships with Lethe)"),
		str("labels", "fine", "fine", "coarse").doc("cifar100 only: 100 fine or 20 coarse classes"),
		integer("train_per_class", 0).atLeast(0).doc("keep this many training images per class (0: all)"),
		integer("test_per_class", 0).atLeast(0).doc("keep this many test images per class (0: all)"),
		num("val_fraction", 0).in(0, 1).below(1).doc("fraction of the training set held out for validation"),
		integer("split_seed", 0).atLeast(0).doc("seed of the subsets and the validation split"),
	},
	KindTrain: {
		ref("dataset", KindDataset).required().doc("the data to train on"),
		str("arch", "", Archs...).required().doc("architecture"),
		num("width", 1).above(0).doc("channel-width multiplier"),
		integer("epochs", 0).atLeast(0).required().doc("training epochs"),
		integer("batch_size", 128).atLeast(1).doc("mini-batch size"),
		object("optimizer", "sgd", optimizerSpec).doc("optimiser and its settings"),
		object("schedule", "cosine", scheduleSpec).doc("learning-rate schedule over the epochs"),
		num("ortho_lambda", 0).atLeast(0).doc("weight of the orthogonality penalty (0: plain training)"),
		strList("ortho_exclude", []string{"shortcut", "first"}).doc("convolutions the penalty leaves out"),
		ParamSpec{Name: "augment", Type: cty.Bool, Default: cty.NullVal(cty.Bool), Nullable: true}.
			doc("random crop and flip (default, or null: true except for mnist)"),
		integer("seed", 0).atLeast(0).doc("default: the experiment's replicate seed"),
	},
	KindUnlearn: {
		ref("model", KindTrain, KindUnlearn).required().doc("the model to unlearn from (an unlearned one too: methods chain)"),
		str("method", "", MethodNames()...).required().doc("unlearning method, or a list of them (fans out)"),
		numList("forget").atLeast(0).ints().unique().nonEmpty().required().doc("class indices to forget"),
		integer("seed", 0).atLeast(0).doc("default: the model's seed"),
	},
	KindEvaluate: {
		ref("models", KindTrain, KindUnlearn).required().doc("models to evaluate; each instance evaluates one"),
		func() ParamSpec { p := ref("retrain", KindUnlearn).nullable(); p.Single = true; return p }().doc("unlearn block whose retrain instances js_retrain compares against"),
		strList("metrics", Metrics, "acc_forget", "acc_retain", "mia", "time").nonEmpty().doc("metrics to compute (METHODS.md, Metrics)"),
		numList("forget").atLeast(0).ints().unique().nonEmpty().nullable().
			doc("forget classes for train models (unlearn models bring their own)"),
		object("mia", "svm-confidence", miaSpec).doc("membership-inference attack behind the mia metric"),
		integer("batch_size", 256).atLeast(1).doc("mini-batch size of the forward passes"),
		integer("seed", 0).atLeast(0).doc("default: the model's seed"),
	},
	KindReport: {
		func() ParamSpec { p := ref("from", KindEvaluate).required(); p.FanIn = true; return p }().
			doc("evaluate blocks whose instances (all seeds) the report gathers"),
		strList("rows", nil).doc("dimensions (sweep keys or parameters) that make the rows"),
		strList("columns", nil).doc("dimensions that make the columns"),
		strList("values", nil).doc("metrics to show (default: all metrics of the evaluate blocks)"),
		str("format", "markdown", "markdown", "csv", "json", "latex").doc("output format"),
		ParamSpec{Name: "title", Type: cty.String, Default: cty.StringVal("")}.doc("caption (empty: the experiment's title)"),
		integer("precision", 2).in(0, 10).doc("decimals shown"),
		ParamSpec{Name: "paper", Type: cty.String, Default: cty.NullVal(cty.String), Nullable: true}.
			doc("name of the published table whose numbers are placed beside Lethe's"),
	},
}

// KindParams returns the parameters of a stage kind (for unlearn: the
// common ones; each method adds its own, see Methods).
func KindParams(kind string) []ParamSpec { return kindParams[kind] }

func kindParam(kind, name string) (ParamSpec, bool) {
	for _, p := range kindParams[kind] {
		if p.Name == name {
			return p, true
		}
	}
	return ParamSpec{}, false
}

// primaryRef names the reference parameter whose instances a stage
// inherits its sweep keys and seed from.
var primaryRef = map[string]string{
	KindTrain: "dataset", KindUnlearn: "model", KindEvaluate: "models", KindReport: "from",
}

// seeded kinds are replicated over the experiment's seeds.
func seeded(kind string) bool {
	return kind == KindTrain || kind == KindUnlearn || kind == KindEvaluate
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
