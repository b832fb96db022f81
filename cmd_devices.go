package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"lethe/nn/cpu"
	"lethe/nn/cuda"
)

func newDevicesCmd() *cobra.Command {
	var opts cpu.Options
	cmd := &cobra.Command{
		Use:   "devices",
		Short: "List the devices Lethe can run on: the CPU with its BLAS, and GPUs",
		Long: `List the compute devices Lethe can use. For the CPU it prints the model,
the threads an op uses, the instruction-set extensions that matter for speed
and the GEMM library in use (OpenBLAS with the kernel it picked, or gonum's
pure-Go GEMM and why). For each GPU the CUDA driver sees it prints the name,
memory, compute capability and the versions of the driver, NVRTC, cuBLAS and
cuDNN that Lethe loads; without one it says why (which libraries were
looked for, and where). LETHE_CUDA_LIBS adds directories to search.`,
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

// listGPUs prints the GPUs the CUDA driver sees, with the library
// versions Lethe would use, or why there are none.
func listGPUs(w io.Writer) {
	devs, err := cuda.Describe()
	if err != nil {
		fmt.Fprintf(w, "GPUs: none usable (%v)\n", err)
		return
	}
	for _, d := range devs {
		fmt.Fprintln(w, d)
	}
}
