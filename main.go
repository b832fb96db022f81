// Command lethe runs class-unlearning experiments: it trains CNNs with
// orthogonal kernels, forgets classes with Orthogonal Soft Pruning and its
// baselines, and reports paper-style tables. This file holds the CLI only;
// the work lives in the packages below it (see README.md).
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"lethe/stages"
)

// version is set at build time by the Makefile (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "lethe",
		Short: "Class-unlearning experiments: Orthogonal Soft Pruning and its baselines",
		Long: `Lethe trains CNNs with orthogonal convolution kernels, forgets classes with
Orthogonal Soft Pruning (OSP) and the common baselines, and runs whole
experiments declared in HCL files, on the CPU or an NVIDIA GPU.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCmd())
	root.AddCommand(newDevicesCmd())
	root.AddCommand(newRunsCmd(), newShowCmd())
	root.AddCommand(newDataCmd())
	root.AddCommand(newValidateCmd(), newGraphCmd())
	root.AddCommand(newRunCmd(), newPlanCmd(), newGCCmd())
	root.AddCommand(newReportCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print Lethe's version, its numerics version and the Go toolchain",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			v := version
			if info, ok := debug.ReadBuildInfo(); ok && v == "dev" {
				for _, s := range info.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						v = "dev-" + s.Value[:12]
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "lethe %s, numerics %s (%s, %s/%s)\n", v, stages.NumericsVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}
