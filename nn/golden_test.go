package nn_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"lethe/nn"
)

// Fixtures come from nn/testdata/gen_golden.py (PyTorch 1.13, float32).

func readFixture(t *testing.T, name string) map[string]nn.HostTensor {
	t.Helper()
	ts, _, err := nn.ReadTensors(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func assertClose(t *testing.T, what string, got, want []float32, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > atol+rtol*math.Abs(float64(want[i])) || math.IsNaN(float64(got[i])) {
			if bad < 3 {
				t.Errorf("%s[%d] = %.7g, PyTorch %.7g", what, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(got))
	}
}

func TestBasicBlockMatchesPyTorch(t *testing.T) {
	b := backend(t)
	fx := readFixture(t, "basicblock.safetensors")
	for _, mode := range []string{"train", "eval"} {
		t.Run(mode, func(t *testing.T) {
			m, err := nn.NewCustom(b, nn.Config{Arch: "block", Classes: 1, InC: 4, InH: 7, InW: 7}, func(mb *nn.Builder, c nn.Config) (nn.Sequential, error) {
				return nn.Sequential{mb.BasicBlock("blk", 4, 8, 2)}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range append(append([]*nn.Param{}, m.Params...), m.State...) {
				v, ok := fx["init."+strings.TrimPrefix(p.Name, "blk.")]
				if !ok {
					t.Fatalf("fixture lacks %s", p.Name)
				}
				b.Upload(p.Value.Data, v.Data)
			}
			x := nn.FromHost(b, fx["x"].Data, fx["x"].Shape...)
			ctx := &nn.Ctx{Train: mode == "train", InputGrad: true}
			m.ZeroGrad()
			y, err := m.Forward(ctx, x)
			if err != nil {
				t.Fatal(err)
			}
			assertClose(t, "y", nn.ToHost(b, y), fx[mode+".y"].Data, 1e-5, 1e-4)
			dx, err := m.Backward(ctx, nn.FromHost(b, fx["dy"].Data, fx["dy"].Shape...))
			if err != nil {
				t.Fatal(err)
			}
			assertClose(t, "dx", nn.ToHost(b, dx), fx[mode+".dx"].Data, 1e-5, 1e-4)
			for _, p := range m.Params {
				assertClose(t, "grad "+p.Name, nn.ToHost(b, p.Grad), fx[mode+".grad."+strings.TrimPrefix(p.Name, "blk.")].Data, 1e-4, 1e-4)
			}
			if mode == "train" {
				for _, p := range m.State {
					assertClose(t, p.Name+" after one step", nn.ToHost(b, p.Value), fx["train.after."+strings.TrimPrefix(p.Name, "blk.")].Data, 1e-6, 1e-5)
				}
			}
		})
	}
}

func TestResNet18MatchesPyTorch(t *testing.T) {
	b := backend(t)
	m, err := nn.LoadModel(b, filepath.Join("testdata", "resnet18_w16.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	io := readFixture(t, "resnet18_w16_io.safetensors")
	x := nn.FromHost(b, io["x"].Data, io["x"].Shape...)
	logits, err := m.Forward(&nn.Ctx{}, x)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "eval logits", nn.ToHost(b, logits), io["logits_eval"].Data, 1e-4, 1e-3)

	labels := make([]int32, len(io["labels"].Data))
	for i, v := range io["labels"].Data {
		labels[i] = int32(v)
	}
	yb := b.AllocInt(len(labels))
	b.UploadInt(yb, labels)
	ctx := &nn.Ctx{Train: true}
	m.ZeroGrad()
	logits, err = m.Forward(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "train logits", nn.ToHost(b, logits), io["logits_train"].Data, 1e-4, 1e-3)
	var ce nn.CrossEntropy
	grad := ce.Compute(b, logits, yb, 1/float32(len(labels)))
	if got, want := ce.Mean(b), float64(io["loss"].Data[0]); math.Abs(got-want) > 1e-5 {
		t.Errorf("loss %v, PyTorch %v", got, want)
	}
	if _, err := m.Backward(ctx, grad); err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params {
		assertClose(t, "grad "+p.Name, nn.ToHost(b, p.Grad), io["grad."+p.Name].Data, 1e-4, 2e-3)
	}
	for _, p := range m.State {
		assertClose(t, p.Name, nn.ToHost(b, p.Value), io["after."+p.Name].Data, 1e-6, 1e-4)
	}
}

// The tensors Lethe writes carry torchvision's state-dict names and shapes.
func TestStateDictNamesMatchTorchvision(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "state_dict_names.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string][][]any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	b := backend(t)
	for _, tc := range []struct{ arch, key, prefix string }{
		{"resnet18", "resnet18", ""},
		{"resnet50", "resnet50", ""},
		{"vgg16_bn", "vgg16_bn.features", "features."},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			m, err := nn.New(b, nn.Config{Arch: tc.arch, Classes: 10, InC: 3, InH: 32, InW: 32})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Release()
			path := filepath.Join(t.TempDir(), "m.safetensors")
			if err := m.Save(path, nil); err != nil {
				t.Fatal(err)
			}
			saved, _, err := nn.ReadTensors(path)
			if err != nil {
				t.Fatal(err)
			}
			var got, exp []string
			for name, ten := range saved {
				if strings.HasPrefix(name, tc.prefix) {
					got = append(got, name+nn.ShapeString(ten.Shape))
				}
			}
			for _, e := range want[tc.key] {
				var shape []int
				for _, d := range e[1].([]any) {
					shape = append(shape, int(d.(float64)))
				}
				exp = append(exp, e[0].(string)+nn.ShapeString(shape))
			}
			sort.Strings(got)
			sort.Strings(exp)
			if strings.Join(got, "\n") != strings.Join(exp, "\n") {
				t.Fatalf("state dict differs from torchvision's:\nLethe:\n%s\ntorchvision:\n%s", diffLines(got, exp), diffLines(exp, got))
			}
		})
	}
}

// diffLines lists the entries of a missing from b.
func diffLines(a, b []string) string {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if !in[s] {
			out = append(out, "  "+s)
		}
	}
	return strings.Join(out, "\n")
}
