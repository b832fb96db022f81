package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"lethe/data"
)

func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Check datasets: how Lethe reads them",
	}
	cmd.AddCommand(newDataInspectCmd())
	return cmd
}

func newDataInspectCmd() *cobra.Command {
	var cfg data.Config
	cmd := &cobra.Command{
		Use:   "inspect PATH-or-KIND",
		Short: "Print a dataset's kind, classes, counts per class, shape, normalisation and digest",
		Long: `Inspect opens a dataset as an experiment would and prints what Lethe sees:
its kind, class names in label order, images per class in each split, the
image shape, the normalisation statistics, the augmentation policy and the
content digest that cache keys use. Use it to check that Lethe reads your
data as you expect before running experiments on it.

The argument is a dataset path (a directory or a .tar/.tar.gz archive; the
kind is detected unless --kind says it) or the name of the built-in kind
"mnist".`,
		Example: `  lethe data inspect mnist
  lethe data inspect ../shared/data/cifar10/cifar-10-jpeg.tar.gz
  lethe data inspect --labels coarse ../shared/data/cifar100`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := args[0]
			if _, err := os.Stat(arg); err == nil {
				cfg.Path = arg
			} else if isKind(arg) {
				if cfg.Kind != "" && cfg.Kind != arg {
					return fmt.Errorf("argument names kind %q but --kind says %q", arg, cfg.Kind)
				}
				cfg.Kind = arg
			} else {
				return fmt.Errorf("%s: no such file or directory, and not a dataset kind (%s)", arg, strings.Join(data.Kinds, ", "))
			}
			start := time.Now()
			d, err := data.Open(cfg)
			if err != nil {
				return err
			}
			printDataset(cmd.OutOrStdout(), d, time.Since(start))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Kind, "kind", "", "dataset kind: "+strings.Join(data.Kinds, ", ")+" (default: detect from the files)")
	f.StringVar(&cfg.Labels, "labels", "", `CIFAR-100 label set: "fine" (100 classes, default) or "coarse" (20 superclasses)`)
	f.IntVar(&cfg.TrainPerClass, "train-per-class", 0, "keep only the first N train images of each class (0 = all)")
	f.IntVar(&cfg.TestPerClass, "test-per-class", 0, "keep only the first N test images of each class (0 = all)")
	f.Float64Var(&cfg.ValFraction, "val-fraction", 0, "carve this fraction of each class out of train as a validation split (0 = none)")
	f.Uint64Var(&cfg.Seed, "seed", 0, "seed of the validation carve")
	f.IntVar(&cfg.Workers, "workers", 0, "goroutines decoding images (0 = one per CPU); does not change the result")
	return cmd
}

func isKind(s string) bool {
	for _, k := range data.Kinds {
		if s == k {
			return true
		}
	}
	return false
}

func printDataset(out io.Writer, d *data.Dataset, took time.Duration) {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "kind\t%s\n", d.Kind)
	fmt.Fprintf(w, "source\t%s\n", d.Source)
	fmt.Fprintf(w, "digest\t%s\n", d.Digest())
	fmt.Fprintf(w, "shape\t%d x %d x %d (C x H x W)\n", d.C, d.H, d.W)
	fmt.Fprintf(w, "classes\t%d\n", d.NumClasses())
	fmt.Fprintf(w, "images\ttrain %d, val %d, test %d\n", d.Train.Len(), d.Val.Len(), d.Test.Len())
	fmt.Fprintf(w, "mean\t%s (%s, 0-1 scale)\n", floats(d.Mean), d.NormSource)
	fmt.Fprintf(w, "std\t%s\n", floats(d.Std))
	fmt.Fprintf(w, "augmentation\t%s\n", d.Augmentation)
	fmt.Fprintf(w, "read in\t%.2fs\n", took.Seconds())
	w.Flush()

	fmt.Fprintln(out)
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	header := []string{"label", "class", "train"}
	if d.Val.Len() > 0 {
		header = append(header, "val")
	}
	header = append(header, "test")
	if d.Descriptions != nil {
		header = append(header, "description")
	}
	fmt.Fprintln(w, strings.Join(header, "\t"))
	train, val, test := d.Train.Counts(), d.Val.Counts(), d.Test.Counts()
	for i, name := range d.Classes {
		row := []string{fmt.Sprint(i), name, fmt.Sprint(train[i])}
		if d.Val.Len() > 0 {
			row = append(row, fmt.Sprint(val[i]))
		}
		row = append(row, fmt.Sprint(test[i]))
		if d.Descriptions != nil {
			row = append(row, d.Descriptions[i])
		}
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	w.Flush()
	if len(d.Warnings) > 0 {
		fmt.Fprintf(out, "\n%d warnings:\n", len(d.Warnings))
		for _, s := range d.Warnings {
			fmt.Fprintln(out, "  "+s)
		}
	}
}

func floats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.4f", x)
	}
	return strings.Join(s, " ")
}
