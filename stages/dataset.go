package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"lethe/data"
	"lethe/dsl"
)

func init() { Register(dsl.KindDataset, datasetKind{}) }

type datasetKind struct{}

type datasetTask struct {
	st  *dsl.Stage
	cfg data.Config
}

func (datasetKind) Prepare(st *dsl.Stage, _ *dsl.Experiment) (Stage, error) {
	cfg, err := DatasetConfig(st)
	if err != nil {
		return nil, err
	}
	return &datasetTask{st: st, cfg: cfg}, nil
}

// Material leaves the path out and adds the data's digest instead: the
// result depends on the files' content, not on where they are (a checkout
// moved, a dataset copied to a faster disk keep their cache).
func (d *datasetTask) Material() ([]byte, error) {
	params, err := canonical(d.st, "path")
	if err != nil {
		return nil, err
	}
	digest, err := data.Digest(d.cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.st.Address, err)
	}
	return json.Marshal(struct {
		Params json.RawMessage `json:"params"`
		Data   string          `json:"data"`
	}{params, digest})
}

func (d *datasetTask) Optional(string) bool { return false }

// DatasetInfo is what a dataset stage records about the data it read.
type DatasetInfo struct {
	Kind         string    `json:"kind"`
	Source       string    `json:"source"`
	Digest       string    `json:"digest"`
	Classes      []string  `json:"classes"`
	Shape        [3]int    `json:"shape"` // C, H, W
	Train        int       `json:"train"`
	Val          int       `json:"val"`
	Test         int       `json:"test"`
	TrainCounts  []int     `json:"train_counts"`
	TestCounts   []int     `json:"test_counts"`
	Mean         []float64 `json:"mean"`
	Std          []float64 `json:"std"`
	NormSource   string    `json:"norm_source"`
	Augmentation string    `json:"augmentation"`
	Warnings     []string  `json:"warnings,omitempty"`
}

func (d *datasetTask) Run(ctx context.Context, env *Env) error {
	ds, err := env.Data.Open(d.cfg)
	if err != nil {
		return err
	}
	info := DatasetInfo{Kind: ds.Kind, Source: ds.Source, Digest: ds.Digest(), Classes: ds.Classes,
		Shape: [3]int{ds.C, ds.H, ds.W}, Train: ds.Train.Len(), Val: ds.Val.Len(), Test: ds.Test.Len(),
		TrainCounts: ds.Train.Counts(), TestCounts: ds.Test.Counts(), Mean: ds.Mean, Std: ds.Std,
		NormSource: ds.NormSource, Augmentation: ds.Augmentation.String(), Warnings: ds.Warnings}
	env.Logf("%s from %s: %d classes, %dx%dx%d, train %d, val %d, test %d", info.Kind, info.Source,
		len(info.Classes), ds.C, ds.H, ds.W, info.Train, info.Val, info.Test)
	for _, w := range ds.Warnings {
		env.Logf("warning: %s", w)
	}
	for _, m := range []struct {
		name string
		n    int
	}{{"train_images", info.Train}, {"val_images", info.Val}, {"test_images", info.Test}, {"classes", len(info.Classes)}} {
		if err := env.metric(m.name, 0, float64(m.n)); err != nil {
			return err
		}
	}
	return WriteJSON(filepath.Join(env.Dir, "dataset.json"), info)
}
