package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"lethe/dsl"
)

// specFlags are the flags of every command that loads a spec.
type specFlags struct {
	vars     []string
	varFiles []string
}

func (f *specFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.vars, "var", nil,
		"set a variable, name=value (repeatable); strings are taken as typed, other types are HCL expressions such as [0, 1]")
	cmd.Flags().StringArrayVar(&f.varFiles, "var-file", nil,
		"read variables from an HCL file of name = value lines (repeatable; -var wins over it)")
}

// withSpecFlags lets a command take Terraform-style single-dash flags
// (-var, -var-file) besides the usual --var: cobra would read -var as the
// shorthands -v -a -r, so such commands parse their own arguments.
func withSpecFlags(cmd *cobra.Command, run func(cmd *cobra.Command, paths []string) error) {
	cmd.DisableFlagParsing = true
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := cmd.Flags().Parse(doubleDash(args)); err != nil {
			return fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())
		}
		if help, _ := cmd.Flags().GetBool("help"); help {
			return cmd.Help()
		}
		return run(cmd, cmd.Flags().Args())
	}
}

// doubleDash rewrites single-dash long flags (-var, -var-file=f, -format)
// to their double-dash form.
func doubleDash(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if a == "--" {
			copy(out[i:], args[i:])
			break
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && len(name) > 1 {
			out[i] = "-" + a
		}
	}
	return out
}

// load reads the spec and prints its diagnostics to stderr; it fails when
// the spec has errors.
func (f *specFlags) load(cmd *cobra.Command, paths []string) (*dsl.Experiment, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("name the spec files or directories to load (see %s --help)", cmd.CommandPath())
	}
	vars := map[string]string{}
	for _, kv := range f.vars {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("-var %q: write -var name=value", kv)
		}
		vars[name] = value
	}
	exp, diags := dsl.LoadWithOptions(paths, dsl.Options{Vars: vars, VarFiles: f.varFiles, DataDir: defaultDataDir()})
	if len(diags) > 0 {
		stderr := cmd.ErrOrStderr()
		if err := dsl.WriteDiagnostics(stderr, exp.Files, diags, 0, isTerminal(stderr)); err != nil {
			return nil, err
		}
	}
	if n := len(diags.Errs()); n > 0 {
		return nil, fmt.Errorf("the spec has %d error%s", n, plural(n))
	}
	return exp, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// defaultDataDir is var.data's default: $LETHE_DATA, else ../shared/data
// beside the enclosing Go module (a development checkout), else "data".
func defaultDataDir() string {
	if d := os.Getenv("LETHE_DATA"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return "data"
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			shared := filepath.Join(dir, "..", "shared", "data")
			if _, err := os.Stat(shared); err == nil {
				return shared
			}
			return "data"
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "data"
		}
		dir = parent
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

func newValidateCmd() *cobra.Command {
	var flags specFlags
	cmd := &cobra.Command{
		Use:   "validate [files or directories...] [-var name=value] [-var-file file]",
		Short: "Check experiment specs and report every error with its position",
		Long: `validate loads the spec files (a directory contributes its *.hcl files),
resolves variables, expands sweeps, fan-out and seeds, and checks every
reference, type, method and parameter. Errors are printed as
file:line:col with the source line and a suggestion; the exit status is 1
if there are any.`,
		Example: `  lethe validate experiments/quickstart.hcl
  lethe validate experiments/ -var epochs=2 -var-file local.vars`,
	}
	flags.register(cmd)
	withSpecFlags(cmd, func(cmd *cobra.Command, paths []string) error {
		exp, err := flags.load(cmd, paths)
		if err != nil {
			return err
		}
		counts := map[string]int{}
		for _, s := range exp.Stages {
			counts[s.Kind]++
		}
		var parts []string
		for _, k := range dsl.Kinds {
			if counts[k] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
			}
		}
		files := make([]string, 0, len(exp.Files))
		for name := range exp.Files {
			files = append(files, name)
		}
		sort.Strings(files)
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "experiment %q is valid: %d stages (%s), seeds %v\n",
			exp.Name, len(exp.Stages), strings.Join(parts, ", "), exp.Seeds)
		return err
	})
	return cmd
}
