package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newGraphCmd() *cobra.Command {
	var flags specFlags
	var format string
	var params bool
	cmd := &cobra.Command{
		Use:   "graph [files or directories...] [--format text|dot] [-var name=value] [-var-file file]",
		Short: "Print the expanded stage graph of an experiment spec",
		Long: `graph loads a spec like validate and prints every stage instance in the
order the runner would execute them, with the stages each one reads.
--format dot writes Graphviz input (one cluster per block); pipe it to
"dot -Tsvg" to draw it.`,
		Example: `  lethe graph experiments/quickstart.hcl
  lethe graph experiments/quickstart.hcl --params
  lethe graph experiments/quickstart.hcl --format dot | dot -Tsvg > graph.svg`,
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text (stages and their inputs) or dot (Graphviz)")
	cmd.Flags().BoolVar(&params, "params", false, "text format: also list every parameter, its value and where it was set")
	withSpecFlags(cmd, func(cmd *cobra.Command, paths []string) error {
		if format != "text" && format != "dot" {
			return fmt.Errorf("--format %q: use text or dot", format)
		}
		exp, err := flags.load(cmd, paths)
		if err != nil {
			return err
		}
		if format == "dot" {
			return exp.WriteDot(cmd.OutOrStdout())
		}
		return exp.WriteText(cmd.OutOrStdout(), params)
	})
	return cmd
}
