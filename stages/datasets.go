package stages

import (
	"fmt"
	"sync"

	"github.com/zclconf/go-cty/cty"

	"lethe/data"
	"lethe/dsl"
)

// DataCache opens each dataset once per process and shares it between the
// stages (and the parallel workers) that use it: decoding CIFAR-10 takes
// seconds, and every training, unlearning and evaluation of an experiment
// reads the same images. A Dataset is read-only once opened, so sharing it
// is safe.
type DataCache struct {
	mu sync.Mutex
	m  map[string]*dataEntry
}

type dataEntry struct {
	once sync.Once
	ds   *data.Dataset
	err  error
}

// NewDataCache makes an empty cache.
func NewDataCache() *DataCache { return &DataCache{m: map[string]*dataEntry{}} }

// Open returns the dataset cfg describes, decoding it on first use.
func (c *DataCache) Open(cfg data.Config) (*data.Dataset, error) {
	id := fmt.Sprintf("%q %q %q %d %d %v %d %v %v", cfg.Kind, cfg.Path, cfg.Labels, cfg.TrainPerClass, cfg.TestPerClass,
		cfg.ValFraction, cfg.Seed, cfg.Mean, cfg.Std)
	c.mu.Lock()
	e, ok := c.m[id]
	if !ok {
		e = &dataEntry{}
		c.m[id] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.ds, e.err = data.Open(cfg) })
	return e.ds, e.err
}

// DatasetConfig is the data.Config of a dataset stage.
func DatasetConfig(st *dsl.Stage) (data.Config, error) {
	if st.Kind != dsl.KindDataset {
		return data.Config{}, fmt.Errorf("%s is a %s stage, not a dataset", st.Address, st.Kind)
	}
	p := params{st: st}
	cfg := data.Config{
		Kind:          p.str("kind"),
		TrainPerClass: p.int("train_per_class"),
		TestPerClass:  p.int("test_per_class"),
		ValFraction:   p.float("val_fraction"),
		Seed:          uint64(p.int("split_seed")),
	}
	if v := st.Value("path"); v != cty.NilVal && !v.IsNull() {
		cfg.Path = p.str("path")
	}
	if _, ok := st.Params["labels"]; ok {
		cfg.Labels = p.str("labels")
	}
	return cfg, p.err
}

// datasetStage finds the dataset a stage's data comes from, following its
// main references (train.dataset, unlearn.model, evaluate.models).
func datasetOf(st *dsl.Stage) (*dsl.Stage, error) {
	for s := st; s != nil; s = primaryDep(s) {
		if s.Kind == dsl.KindDataset {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%s reads no dataset", st.Address)
}

// trainStage finds the training stage a model descends from.
func trainOf(st *dsl.Stage) (*dsl.Stage, error) {
	for s := st; s != nil; s = primaryDep(s) {
		if s.Kind == dsl.KindTrain {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%s descends from no train stage", st.Address)
}

// primaryRefs are the parameters through which a stage reads the stage it
// builds on.
var primaryRefs = map[string]string{
	dsl.KindTrain: "dataset", dsl.KindUnlearn: "model", dsl.KindEvaluate: "models",
}

func primaryDep(st *dsl.Stage) *dsl.Stage {
	ref, ok := primaryRefs[st.Kind]
	if !ok {
		return nil
	}
	for _, d := range st.Deps {
		if d.Param == ref {
			return d.Stage
		}
	}
	return nil
}

// openData opens the dataset under st.
func openData(c *DataCache, st *dsl.Stage) (*data.Dataset, error) {
	dst, err := datasetOf(st)
	if err != nil {
		return nil, err
	}
	cfg, err := DatasetConfig(dst)
	if err != nil {
		return nil, err
	}
	ds, err := c.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dst.Address, err)
	}
	return ds, nil
}
