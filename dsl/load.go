package dsl

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Options controls how a spec is loaded.
type Options struct {
	// Vars are -var values by variable name, as typed on the command line:
	// a string variable takes the text as it is, other types parse it as an
	// HCL expression (e.g. "[0, 1]").
	Vars map[string]string
	// VarFiles are -var-file paths (HCL files of name = value lines),
	// applied in order before Vars.
	VarFiles []string
	// DataDir is the default of the predeclared variable data (var.data),
	// which specs use as the root of dataset paths. Empty means "data".
	DataDir string
}

// Source is one spec file's name and contents.
type Source struct {
	Name  string
	Bytes []byte
}

// Limits that keep a hostile or mistaken spec from exhausting memory.
const (
	maxInstancesPerBlock = 10000
	maxStages            = 100000
)

// Load reads the spec files and directories in paths (a directory
// contributes its *.hcl files in name order), applies the -var values and
// -var files, and expands the experiment. The Experiment is returned even
// when there are errors, with Files set so that the diagnostics can be
// printed with their source; its Stages are complete only if
// !diags.HasErrors().
func Load(paths []string, vars map[string]string, varFiles []string) (*Experiment, hcl.Diagnostics) {
	return LoadWithOptions(paths, Options{Vars: vars, VarFiles: varFiles})
}

// LoadWithOptions is Load with every option.
func LoadWithOptions(paths []string, opts Options) (*Experiment, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var sources []Source
	if len(paths) == 0 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No spec files",
			Detail: "Name at least one .hcl file or a directory that holds some."})
	}
	seen := map[string]bool{}
	for _, p := range paths {
		files, d := specFiles(p)
		diags = append(diags, d...)
		for _, f := range files {
			if seen[f] {
				continue
			}
			seen[f] = true
			src, err := os.ReadFile(f)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read spec file",
					Detail: fmt.Sprintf("Reading %s: %s.", f, err)})
				continue
			}
			sources = append(sources, Source{Name: f, Bytes: src})
		}
	}
	if diags.HasErrors() {
		return &Experiment{Files: map[string]*hcl.File{}}, diags
	}
	exp, d := LoadSources(sources, opts)
	return exp, append(diags, d...)
}

// specFiles lists the spec files a path names.
func specFiles(path string) ([]string, hcl.Diagnostics) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read spec path",
			Detail: fmt.Sprintf("%s.", err)}}
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read spec directory",
			Detail: fmt.Sprintf("%s.", err)}}
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".hcl") {
			out = append(out, filepath.Join(path, e.Name()))
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No spec files in directory",
			Detail: fmt.Sprintf("Directory %s holds no .hcl files.", path)}}
	}
	return out, nil
}

// LoadSources loads a spec from in-memory files (tests, tools, fuzzing);
// Options.VarFiles are still read from disk.
func LoadSources(sources []Source, opts Options) (*Experiment, hcl.Diagnostics) {
	l := newLoader(opts)
	l.run(sources)
	if l.diags.HasErrors() {
		// Stages of a broken spec would mislead a runner.
		l.exp.Stages = nil
	}
	return l.exp, l.diags
}

var topSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "experiment", LabelNames: []string{"name"}},
	{Type: "variable", LabelNames: []string{"name"}},
	{Type: "locals"},
	{Type: KindDataset, LabelNames: []string{"name"}},
	{Type: KindTrain, LabelNames: []string{"name"}},
	{Type: KindUnlearn, LabelNames: []string{"name"}},
	{Type: KindEvaluate, LabelNames: []string{"name"}},
	{Type: KindReport, LabelNames: []string{"name"}},
}}

type loader struct {
	opts   Options
	parser *hclparse.Parser
	exp    *Experiment
	diags  hcl.Diagnostics

	experiment *hcl.Block
	seedsAt    choice // where the seeds were written
	vars       map[string]*varDecl
	varOrder   []string
	varVals    map[string]cty.Value
	locals     map[string]*localDef
	localOrder []string
	blocks     []*block
	byKind     map[string]map[string]*block
	stageCount int
	ctx        *hcl.EvalContext
}

func newLoader(opts Options) *loader {
	return &loader{
		opts:   opts,
		parser: hclparse.NewParser(),
		exp:    &Experiment{Files: map[string]*hcl.File{}, Variables: map[string]cty.Value{}},
		vars:   map[string]*varDecl{},
		locals: map[string]*localDef{},
		byKind: map[string]map[string]*block{},
	}
}

func (l *loader) errorf(subject *hcl.Range, summary, format string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary,
		Detail: fmt.Sprintf(format, args...), Subject: subject})
}

func (l *loader) run(sources []Source) {
	var bodies []hcl.Body
	for _, s := range sources {
		f, d := l.parser.ParseHCL(s.Bytes, s.Name)
		l.diags = append(l.diags, d...)
		if f != nil {
			l.exp.Files[s.Name] = f
		}
		if d.HasErrors() || f == nil {
			continue
		}
		bodies = append(bodies, f.Body)
	}
	if l.diags.HasErrors() {
		return
	}
	for _, body := range bodies {
		content, d := body.Content(topSchema)
		l.diags = append(l.diags, d...)
		for _, b := range content.Blocks {
			l.declare(b)
		}
	}
	if l.experiment == nil && len(sources) > 0 {
		var subject *hcl.Range
		if f := l.exp.Files[sources[0].Name]; f != nil {
			r := f.Body.MissingItemRange()
			subject = &r
		}
		l.errorf(subject, "Missing experiment block",
			`A spec needs one block experiment "name" { seeds = [0] } to name the experiment.`)
	}
	if l.diags.HasErrors() {
		return
	}
	l.resolveVariables()
	if l.diags.HasErrors() {
		return
	}
	l.buildContext()
	l.evalLocals()
	l.decodeExperiment()
	if l.diags.HasErrors() {
		return
	}
	order := l.blockGraph()
	for _, b := range order {
		if !b.failed {
			l.expand(b)
		}
	}
}

// declare files a top-level block by its type.
func (l *loader) declare(b *hcl.Block) {
	if len(b.Labels) == 1 && !hclsyntax.ValidIdentifier(b.Labels[0]) {
		l.errorf(b.LabelRanges[0].Ptr(), "Invalid name",
			"%q is not a valid name: names start with a letter and hold letters, digits, underscores and dashes, so that expressions can refer to them.", b.Labels[0])
		return
	}
	switch b.Type {
	case "experiment":
		if l.experiment != nil {
			l.errorf(b.DefRange.Ptr(), "Duplicate experiment block",
				"A spec has one experiment block; another was defined at %s.", l.experiment.DefRange)
			return
		}
		l.experiment = b
	case "variable":
		l.declareVariable(b)
	case "locals":
		l.declareLocals(b)
	default:
		name := b.Labels[0]
		if prev, ok := l.byKind[b.Type][name]; ok {
			l.errorf(b.LabelRanges[0].Ptr(), "Duplicate block name",
				"A %s block named %q was already defined at %s; block names must be unique within their kind.",
				b.Type, name, prev.def.DefRange)
			return
		}
		body, ok := b.Body.(*hclsyntax.Body)
		if !ok {
			l.errorf(b.DefRange.Ptr(), "Unsupported syntax", "Stage blocks must be written in HCL native syntax.")
			return
		}
		nb := &block{kind: b.Type, name: name, def: b, body: body, order: len(l.blocks)}
		if l.byKind[b.Type] == nil {
			l.byKind[b.Type] = map[string]*block{}
		}
		l.byKind[b.Type][name] = nb
		l.blocks = append(l.blocks, nb)
	}
}

var experimentSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "title"}, {Name: "description"}, {Name: "seeds"},
}}

var seedsSpec = numList("seeds").in(0, math.MaxInt32).ints().unique().nonEmpty()

func (l *loader) decodeExperiment() {
	b := l.experiment
	l.exp.Name = b.Labels[0]
	l.exp.Seeds = []int{0}
	l.seedsAt = choice{rng: b.DefRange}
	content, d := b.Body.Content(experimentSchema)
	l.diags = append(l.diags, d...)
	for _, name := range []string{"title", "description"} {
		if a, ok := content.Attributes[name]; ok {
			v, ok := l.eval(a.Expr)
			if !ok {
				continue
			}
			cv, ve := checkValue(ParamSpec{Type: cty.String}, v, name)
			if ve != nil {
				l.errorf(a.Expr.Range().Ptr(), ve.summary, "%s", ve.detail)
				continue
			}
			if name == "title" {
				l.exp.Title = cv.AsString()
			} else {
				l.exp.Description = cv.AsString()
			}
		}
	}
	if a, ok := content.Attributes["seeds"]; ok {
		v, ok := l.eval(a.Expr)
		if !ok {
			return
		}
		cv, ve := checkValue(seedsSpec, v, "seeds")
		if ve != nil {
			l.errorf(a.Expr.Range().Ptr(), ve.summary, "%s", ve.detail)
			return
		}
		l.exp.Seeds = l.exp.Seeds[:0]
		l.seedsAt = choice{rng: a.Expr.Range(), expr: a.Expr}
		for _, e := range elements(cv) {
			i, _ := e.AsBigFloat().Int64()
			l.exp.Seeds = append(l.exp.Seeds, int(i))
		}
	}
}

// eval evaluates an expression in the spec's context, recording errors.
func (l *loader) eval(expr hcl.Expression) (cty.Value, bool) {
	if d := l.checkTraversals(expr); d.HasErrors() {
		l.diags = append(l.diags, d...)
		return cty.NilVal, false
	}
	v, d := expr.Value(l.ctx)
	if d.HasErrors() {
		l.diags = append(l.diags, d...)
		return cty.NilVal, false
	}
	l.diags = append(l.diags, d...)
	if !v.IsWhollyKnown() {
		l.errorf(expr.Range().Ptr(), "Unknown value", "This value cannot be known when the spec is loaded.")
		return cty.NilVal, false
	}
	return v, true
}
