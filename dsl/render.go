package dsl

import (
	"fmt"
	"io"
	"strings"
)

// WriteText lists the stages in execution order with the stages each one
// reads; with params, also every parameter, its value and where it was set
// (or "default").
func (e *Experiment) WriteText(w io.Writer, params bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "experiment %q: %d stages, seeds %v\n", e.Name, len(e.Stages), e.Seeds)
	for _, s := range e.Stages {
		fmt.Fprintf(&b, "%s\n", s.Address)
		for _, d := range s.Deps {
			fmt.Fprintf(&b, "    <- %s: %s\n", d.Param, d.Stage.Address)
		}
		if !params {
			continue
		}
		for _, name := range s.ParamNames() {
			if isRefParam(s.Kind, name) {
				continue
			}
			p := s.Params[name]
			where := "default"
			if !p.Default {
				where = fmt.Sprintf("%s:%d", p.Range.Filename, p.Range.Start.Line)
			}
			fmt.Fprintf(&b, "    %s = %s  (%s)\n", name, formatValue(p.Value), where)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func isRefParam(kind, name string) bool {
	p, ok := kindParam(kind, name)
	return ok && p.Refs != nil
}

// WriteDot writes the stage graph in Graphviz DOT, one cluster per block,
// edges labelled with the parameter that references the upstream stage.
func (e *Experiment) WriteDot(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", dotQuote(e.Name))
	b.WriteString("  rankdir=LR;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n")
	var current string
	for i, s := range e.Stages {
		block := s.Kind + "." + s.Name
		if block != current {
			if current != "" {
				b.WriteString("  }\n")
			}
			current = block
			fmt.Fprintf(&b, "  subgraph %s {\n    label=%s;\n", dotQuote(fmt.Sprintf("cluster_%d", i)), dotQuote(block))
		}
		fmt.Fprintf(&b, "    %s;\n", dotQuote(s.Address))
	}
	if current != "" {
		b.WriteString("  }\n")
	}
	for _, s := range e.Stages {
		for _, d := range s.Deps {
			fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", dotQuote(d.Stage.Address), dotQuote(s.Address), dotQuote(d.Param))
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
