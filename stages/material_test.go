package stages

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// imageFolder writes a tiny image-folder dataset (two classes, two 4x4
// PNGs each per split) with fixed modification times.
func imageFolder(t *testing.T, root string, shade uint8, when time.Time) {
	t.Helper()
	for _, split := range []string{"train", "test"} {
		for ci, class := range []string{"a", "b"} {
			dir := filepath.Join(root, split, class)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				img := image.NewGray(image.Rect(0, 0, 4, 4))
				for p := range img.Pix {
					img.Pix[p] = shade + uint8(40*ci+10*i+p)
				}
				img.Set(0, 0, color.Gray{Y: shade})
				var buf bytes.Buffer
				if err := png.Encode(&buf, img); err != nil {
					t.Fatal(err)
				}
				f := filepath.Join(dir, string(rune('0'+i))+".png")
				if err := os.WriteFile(f, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(f, when, when); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func datasetMaterial(t *testing.T, path string) string {
	t.Helper()
	exp := load(t, `
experiment "m" {}
dataset "f" {
  kind = "imagefolder"
  path = "`+filepath.ToSlash(path)+`"
}
`)
	task, err := Prepare(stage(t, exp, "dataset.f"), exp)
	if err != nil {
		t.Fatal(err)
	}
	m, err := task.Material()
	if err != nil {
		t.Fatal(err)
	}
	return string(m)
}

func TestDatasetMaterialIsTheContentNotThePath(t *testing.T) {
	a, b, c := filepath.Join(t.TempDir(), "first-copy"), filepath.Join(t.TempDir(), "elsewhere", "b"), filepath.Join(t.TempDir(), "c")
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	imageFolder(t, a, 0, when)
	imageFolder(t, b, 0, when)
	// data.Digest covers a directory's listing (names, sizes, modification
	// times), so rewritten images count as changed.
	imageFolder(t, c, 100, when.Add(time.Hour))
	ma, mb, mc := datasetMaterial(t, a), datasetMaterial(t, b), datasetMaterial(t, c)
	if ma != mb {
		t.Errorf("the same images in another place give another key:\n%s\n%s", ma, mb)
	}
	if strings.Contains(ma, filepath.Base(a)) {
		t.Errorf("the material names the path: %s", ma)
	}
	if ma == mc {
		t.Error("different images give the same key")
	}
}

const labelled = `
experiment "l" { title = "T" }
dataset "d" { kind = "mnist" }
train "NAME" {
  dataset = dataset.d
  arch    = "smallcnn"
  epochs  = 1
}
unlearn "osp" {
  model  = train.NAME
  method = "osp"
  forget = [1]
  sweep { ratio = [0.02, 0.1] }
}
evaluate "e" {
  models = [train.NAME, unlearn.osp]
  forget = [1]
  metrics = ["acc_forget"]
}
report "r" {
  from    = evaluate.e
  rows    = ["method", "ratio"]
  columns = ["model"]
}
`

func TestDimLabels(t *testing.T) {
	exp := load(t, strings.ReplaceAll(labelled, "NAME", "ortho"))
	for _, c := range []struct{ addr, dim, want string }{
		{"evaluate.e[models=ortho,seed=0]", "method", "original"},
		{"evaluate.e[models=ortho,seed=0]", "model", "ortho"},
		{"evaluate.e[models=ortho,seed=0]", "ratio", "—"},
		{"evaluate.e[models=osp,ratio=0.02,seed=0]", "ratio", "0.02"},
		{"evaluate.e[models=osp,ratio=0.02,seed=0]", "method", "osp"},
		{"evaluate.e[models=osp,ratio=0.1,seed=0]", "model", "ortho"},
		{"evaluate.e[models=osp,ratio=0.1,seed=0]", "forget", "[1]"},
		{"evaluate.e[models=osp,ratio=0.1,seed=0]", "seed", "0"},
	} {
		if got := DimLabel(stage(t, exp, c.addr), c.dim); got != c.want {
			t.Errorf("%s %s = %q, want %q", c.addr, c.dim, got, c.want)
		}
	}
}

// Renaming a block keeps the keys of its stages (their material has no
// names) but changes the report's, whose table shows the name.
func TestRenamingABlockChangesOnlyTheReportsMaterial(t *testing.T) {
	material := func(src, addr string) string {
		exp := load(t, src)
		task, err := Prepare(stage(t, exp, addr), exp)
		if err != nil {
			t.Fatal(err)
		}
		m, err := task.Material()
		if err != nil {
			t.Fatal(err)
		}
		return string(m)
	}
	a, b := strings.ReplaceAll(labelled, "NAME", "ortho"), strings.ReplaceAll(labelled, "NAME", "orthogonal")
	if material(a, "train.ortho[seed=0]") != material(b, "train.orthogonal[seed=0]") {
		t.Error("renaming a train block changed its material")
	}
	if material(a, "report.r") == material(b, "report.r") {
		t.Error("the report's material ignores the labels it shows")
	}
	if material(a, "report.r") == material(strings.Replace(a, `title = "T"`, `title = "U"`, 1), "report.r") {
		t.Error("the report's material ignores the experiment title it shows")
	}
}
