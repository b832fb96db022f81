package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func runLethe(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func writePNG(t *testing.T, p string, v uint8) {
	t.Helper()
	m := image.NewGray(image.Rect(0, 0, 4, 4))
	for i := range m.Pix {
		m.Pix[i] = v
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	png.Encode(&b, m)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDataInspectImageFolder(t *testing.T) {
	dir := t.TempDir()
	for i, p := range []string{"train/dog/1.png", "train/dog/2.png", "train/cat/1.png", "test/dog/1.png", "test/cat/1.png", "test/cat/2.png", "test/cat/3.png"} {
		writePNG(t, filepath.Join(dir, p), uint8(40*i))
	}
	out, err := runLethe(t, "data", "inspect", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`kind\s+imagefolder`,
		`shape\s+3 x 4 x 4`,
		`images\s+train 3, val 0, test 4`,
		`(?m)^0\s+cat\s+1\s+3$`, // sorted class order: cat before dog
		`(?m)^1\s+dog\s+2\s+1$`,
		`digest\s+sha256:[0-9a-f]{64}`,
		`augmentation\s+random crop`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", want, out)
		}
	}

	// An empty class is an error naming the folder.
	os.Remove(filepath.Join(dir, "test/dog/1.png"))
	_, err = runLethe(t, "data", "inspect", dir)
	if err == nil || !strings.Contains(err.Error(), "test/dog") || !strings.Contains(err.Error(), "empty class") {
		t.Errorf("error %v, want one naming test/dog as an empty class", err)
	}
}

func TestDataInspectBuiltinMNIST(t *testing.T) {
	out, err := runLethe(t, "data", "inspect", "mnist", "--train-per-class", "3", "--test-per-class", "2")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`kind\s+mnist`, `(?m)^7\s+7\s+3\s+2$`, `mean\s+0.1307 \(conventional`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", want, out)
		}
	}
}

func TestDataInspectBadArgument(t *testing.T) {
	_, err := runLethe(t, "data", "inspect", filepath.Join(t.TempDir(), "missing"))
	if err == nil || !strings.Contains(err.Error(), "not a dataset kind") {
		t.Errorf("error %v", err)
	}
	out, err := runLethe(t, "data", "inspect", "--help")
	if err != nil || !strings.Contains(out, "--train-per-class") || !strings.Contains(out, "--labels") {
		t.Errorf("help: %v\n%s", err, out)
	}
}
