package stages

import (
	"context"
	"fmt"
	"math"
	"path/filepath"

	"lethe/data"
	"lethe/dsl"
	"lethe/nn"
)

func init() { Register(dsl.KindTrain, trainKind{}) }

type trainKind struct{}

type trainTask struct {
	st     *dsl.Stage
	recipe Recipe
	arch   string
	width  float64
}

func (trainKind) Prepare(st *dsl.Stage, _ *dsl.Experiment) (Stage, error) {
	r, err := TrainRecipe(st)
	if err != nil {
		return nil, err
	}
	p := &params{st: st}
	t := &trainTask{st: st, recipe: r, arch: p.str("arch"), width: p.float("width")}
	if p.err != nil {
		return nil, p.err
	}
	return t, nil
}

func (t *trainTask) Material() ([]byte, error) { return canonical(t.st) }
func (t *trainTask) Optional(string) bool      { return false }

// TrainResult is a train stage's record (result.json).
type TrainResult struct {
	Config     nn.Config       `json:"config"`
	Params     int             `json:"params"`
	Epochs     []nn.EpochStats `json:"epochs"`
	EvalSplit  string          `json:"eval_split"` // the split eval_acc was measured on
	TestAcc    float64         `json:"test_acc"`
	Seconds    float64         `json:"seconds"`
	TrainCount int             `json:"train_images"`
}

// ModelFile, RecipeFile and ResultFile are the artifacts of stages that
// make models.
const (
	ModelFile  = "model.safetensors"
	RecipeFile = "recipe.json"
	ResultFile = "result.json"
)

func (t *trainTask) Run(ctx context.Context, env *Env) error {
	ds, err := openData(env.Data, t.st)
	if err != nil {
		return err
	}
	c, h, w := ds.Shape()
	cfg := nn.Config{Arch: t.arch, Classes: ds.NumClasses(), InC: c, InH: h, InW: w, Width: t.width, Seed: uint64(t.recipe.Seed)}
	m, err := nn.New(env.Backend, cfg)
	if err != nil {
		return err
	}
	defer m.Release()
	feed, err := ds.Train.Feed(data.FeedOptions{Shuffle: true, Augment: t.recipe.Augment, Seed: uint64(t.recipe.Seed)})
	if err != nil {
		return err
	}
	evalSplit, eval := "test", ds.Test
	if ds.Val.Len() > 0 {
		evalSplit, eval = "val", ds.Val
	}
	rc := t.recipe.Train
	rc.Eval = eval.EvalFeed()
	rc.Progress = func(p nn.TrainProgress) {
		env.progress(Progress{Phase: "epoch", Done: p.Step, Total: p.StepsPerEpoch, Epoch: p.Epoch, Epochs: p.Epochs})
	}
	env.Logf("training %s (width %g, %d parameters) on %d images for %d epochs, batch %d, %s lr %g, λ %g, augment %v, seed %d",
		cfg.Arch, cfg.Width, m.NumParams(), ds.Train.Len(), rc.Epochs, rc.BatchSize, rc.Optim.Name, rc.Optim.LR,
		rc.OrthoLambda, t.recipe.Augment, t.recipe.Seed)
	stats, err := trainLogged(ctx, env, m, feed, rc, evalSplit)
	if err != nil {
		return err
	}
	res := TrainResult{Config: cfg, Params: m.NumParams(), Epochs: stats, EvalSplit: evalSplit, TrainCount: ds.Train.Len()}
	for _, s := range stats {
		res.Seconds += s.Seconds
	}
	// The accuracy on the test split: the last epoch's when the epochs were
	// evaluated on it, else measured now.
	if evalSplit == "test" && len(stats) > 0 {
		res.TestAcc = stats[len(stats)-1].EvalAcc
	} else {
		r, err := nn.Evaluate(ctx, m, ds.Test.EvalFeed(), max(rc.BatchSize, 256))
		if err != nil {
			return fmt.Errorf("final evaluation: %w", err)
		}
		res.TestAcc = r.Accuracy()
		if err := env.metric("test_acc", int64(len(stats)), res.TestAcc); err != nil {
			return err
		}
	}
	env.Logf("test accuracy %.4f after %.1fs of training", res.TestAcc, res.Seconds)
	if err := m.Save(filepath.Join(env.Dir, ModelFile), map[string]string{"lethe.address": t.st.Address}); err != nil {
		return err
	}
	if err := WriteJSON(filepath.Join(env.Dir, RecipeFile), t.recipe); err != nil {
		return err
	}
	return WriteJSON(filepath.Join(env.Dir, ResultFile), res)
}

// trainLogged trains with the recipe and records each epoch's statistics
// as metric curves (step = epoch) and log lines.
func trainLogged(ctx context.Context, env *Env, m *nn.Model, feed nn.Dataset, rc nn.TrainConfig, evalSplit string) ([]nn.EpochStats, error) {
	if rc.Epochs == 0 {
		return nil, nil
	}
	// nn.Train returns the epochs' statistics at the end (training epoch by
	// epoch would restart the schedule), so the curves are logged from its
	// result; the log gets a line as each epoch ends.
	inner := rc.Progress
	rc.Progress = func(p nn.TrainProgress) {
		if inner != nil {
			inner(p)
		}
		if p.Step == p.StepsPerEpoch {
			env.Logf("epoch %d/%d done: train accuracy %.4f, last batch loss %.4f, lr %g",
				p.Epoch, p.Epochs, p.EpochAccuracySoFar, p.Loss, p.LR)
		}
	}
	stats, err := nn.Train(ctx, m, feed, rc)
	for _, s := range stats {
		step := int64(s.Epoch)
		for _, v := range []struct {
			name string
			x    float64
		}{{"loss", s.Loss}, {"train_acc", s.TrainAcc}, {evalSplit + "_acc", s.EvalAcc}, {"lr", s.LR},
			{"ortho", s.Ortho}, {"ortho_deviation", s.Deviation}, {"epoch_seconds", s.Seconds}} {
			if merr := env.metric(v.name, step, v.x); merr != nil && err == nil {
				err = merr
			}
		}
		env.Logf("epoch %d: loss %.4f, train accuracy %.4f, %s accuracy %.4f, orthogonality deviation %.4g, %.1fs",
			s.Epoch, s.Loss, s.TrainAcc, evalSplit, s.EvalAcc, s.Deviation, s.Seconds)
	}
	if err != nil {
		return stats, err
	}
	for _, s := range stats {
		if math.IsNaN(s.Loss) {
			return stats, fmt.Errorf("epoch %d: loss is NaN", s.Epoch)
		}
	}
	return stats, nil
}
