package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"lethe/nn/cpu"
)

func newDevicesCmd() *cobra.Command {
	var opts cpu.Options
	cmd := &cobra.Command{
		Use:   "devices",
		Short: "List the devices Lethe can run on: the CPU with its BLAS, and GPUs",
		Long: `List the compute devices Lethe can use. For the CPU it prints the model,
the threads an op uses, the instruction-set extensions that matter for speed
and the GEMM library in use (OpenBLAS with the kernel it picked, or gonum's
pure-Go GEMM and why).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			be, err := cpu.New(opts)
			if err != nil {
				return err
			}
			defer be.Close()
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, be.Describe())
			listGPUs(out)
			return nil
		},
	}
	cmd.Flags().IntVar(&opts.Threads, "threads", 0, "goroutines a CPU op may use (0 = all cores, GOMAXPROCS)")
	cmd.Flags().StringVar(&opts.BLAS, "blas", "auto", `CPU GEMM: "auto" (OpenBLAS if it loads and passes its check, else gonum), "openblas" (fail without it) or "gonum"`)
	return cmd
}

// listGPUs prints the GPUs. The CUDA backend adds its device listing here;
// until then the only thing known cheaply is that a machine without the
// NVIDIA kernel driver has no usable GPU.
func listGPUs(w io.Writer) {
	if _, err := os.Stat("/proc/driver/nvidia"); os.IsNotExist(err) {
		fmt.Fprintln(w, "GPUs: none found (no NVIDIA driver loaded)")
	}
}
