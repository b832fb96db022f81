package reports

import (
	"fmt"
	"io"
	"testing"
)

// table2Observations is the paper's Table 2 at paper scale with three
// seeds: 3 datasets × 3 architectures × 6 methods × 3 seeds.
func table2Observations() []Observation {
	var obs []Observation
	for _, ds := range []string{"cifar10", "cifar100", "tinyimagenet"} {
		for _, arch := range []string{"resnet18", "resnet50", "vgg16_bn"} {
			for m, method := range []string{"original", "retrain", "ssd", "emni", "tfidf", "osp"} {
				for seed := range 3 {
					obs = append(obs, Observation{
						Dims: map[string]string{"dataset": ds, "arch": arch, "method": method, "seed": fmt.Sprint(seed),
							"forget": "[1]", "model": "ortho"},
						Metrics: map[string]float64{"acc_forget": 0.01 * float64(m+seed), "acc_retain": 0.9 - 0.01*float64(m),
							"time": float64(m*100 + seed), "mia": 0.02 * float64(m), "js_retrain": 0.1 * float64(seed)},
					})
				}
			}
		}
	}
	return obs
}

// BenchmarkTable2 builds the paper-scale Table 2 and renders it in every
// format: what lethe report does per report block besides reading the
// store.
func BenchmarkTable2(b *testing.B) {
	obs := table2Observations()
	spec := Spec{Rows: []string{"arch", "method"}, Columns: []string{"dataset"},
		Values: []string{"acc_forget", "acc_retain", "time", "mia", "js_retrain"}, Precision: 2, References: refs}
	for b.Loop() {
		tab, err := Build(spec, obs)
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range Formats {
			if err := tab.Render(io.Discard, f); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkSweepFigure draws Table 3a's figure as PNG and as SVG.
func BenchmarkSweepFigure(b *testing.B) {
	tab, err := Build(Spec{Rows: []string{"ratio"}, Columns: []string{"model"}, Values: []string{"acc_forget", "acc_retain"}, Precision: 2},
		ratioSweep())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		f, err := tab.SweepFigure("ratio")
		if err != nil {
			b.Fatal(err)
		}
		for _, format := range FigureFormats {
			if err := f.Encode(io.Discard, format); err != nil {
				b.Fatal(err)
			}
		}
	}
}
