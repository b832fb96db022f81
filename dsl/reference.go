package dsl

import (
	"fmt"
	"io"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// WriteReference writes the parameter tables of every stage kind, object
// parameter and unlearning method as Markdown, from the same tables the
// loader checks specs against; docs/spec-language.md embeds its output.
func WriteReference(w io.Writer) error {
	var b strings.Builder
	for _, kind := range Kinds {
		fmt.Fprintf(&b, "### `%s` parameters\n\n", kind)
		writeParamTable(&b, kindParams[kind])
		for _, p := range kindParams[kind] {
			if p.Object == nil {
				continue
			}
			fmt.Fprintf(&b, "#### `%s` objects (`%s.%s`)\n\n", p.Name, kind, p.Name)
			fmt.Fprintf(&b, "`%s` selects the variant", p.Object.Key)
			if len(p.Object.Common) > 0 {
				var names []string
				for _, c := range p.Object.Common {
					names = append(names, "`"+c.Name+"`")
				}
				fmt.Fprintf(&b, "; every variant also takes %s", strings.Join(names, ", "))
				b.WriteString(" (")
				for i, c := range p.Object.Common {
					if i > 0 {
						b.WriteString(", ")
					}
					fmt.Fprintf(&b, "default %s", docDefault(c))
				}
				b.WriteString(")")
			}
			b.WriteString(".\n\n| variant | fields (default, accepted values) |\n|---|---|\n")
			for _, v := range p.Object.Variants {
				var fields []string
				for _, f := range v.Params {
					fields = append(fields, fmt.Sprintf("`%s` %s%s", f.Name, docDefault(f), docAccepts(f, " ")))
				}
				if len(fields) == 0 {
					fields = []string{"none"}
				}
				fmt.Fprintf(&b, "| `%s` | %s |\n", v.Name, strings.Join(fields, "; "))
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("### Unlearning methods (`unlearn.method`)\n\n")
	for _, m := range Methods {
		fmt.Fprintf(&b, "#### `%s`\n\n%s. Follows %s.\n\n", m.Name, upperFirst(m.Doc), m.Source)
		if len(m.Params) == 0 {
			b.WriteString("No parameters.\n\n")
			continue
		}
		writeParamTable(&b, m.Params)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeParamTable(b *strings.Builder, params []ParamSpec) {
	b.WriteString("| parameter | default | accepts | meaning |\n|---|---|---|---|\n")
	for _, p := range params {
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", p.Name, docDefault(p), docAccepts(p, ""), p.Doc)
	}
	b.WriteString("\n")
}

func docDefault(p ParamSpec) string {
	switch {
	case p.Name == "seed":
		return "see meaning"
	case p.Default == cty.NilVal:
		return "required"
	case p.Default.IsNull():
		return "`null`"
	case p.Object != nil:
		return "`{ " + p.Object.Key + " = \"" + p.Default.GetAttr(p.Object.Key).AsString() + "\" }`"
	case p.Default.Type() == cty.String:
		if p.Default.AsString() == "" {
			return "`\"\"`"
		}
		return "`\"" + p.Default.AsString() + "\"`"
	}
	return "`" + formatValue(p.Default) + "`"
}

func docAccepts(p ParamSpec, prefix string) string {
	var parts []string
	switch {
	case p.Refs != nil:
		var refs []string
		for _, r := range p.Refs {
			refs = append(refs, "`"+r+".NAME`")
		}
		s := strings.Join(refs, " or ")
		if !p.Single {
			s += ", or a list of them"
		}
		parts = append(parts, s)
	case p.Object != nil:
		parts = append(parts, "object, see below")
	case p.Type.IsListType():
		parts = append(parts, "list of "+friendly(p.Type.ElementType())+"s")
	default:
		parts = append(parts, friendly(p.Type))
	}
	if p.Integer {
		parts = append(parts, "whole")
	}
	if p.Min != nil || p.Max != nil {
		parts = append(parts, bounds(p))
	}
	if len(p.OneOf) > 0 {
		parts = append(parts, "one of "+strings.Join(quoted(p.OneOf), ", "))
	}
	if p.Nullable {
		parts = append(parts, "or null")
	}
	if p.Unique {
		parts = append(parts, "no repeats")
	}
	if p.NonEmpty {
		parts = append(parts, "non-empty")
	}
	if prefix != "" {
		return prefix + "(" + strings.Join(parts, ", ") + ")"
	}
	return strings.Join(parts, ", ")
}

func quoted(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = "`" + x + "`"
	}
	return out
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
