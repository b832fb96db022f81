package data

import (
	"path"
	"sort"
	"strings"
)

// cifar10Classes are CIFAR-10's class names in the official label order
// (also alphabetical, so an image folder of CIFAR-10 has the same order).
var cifar10Classes = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// imageFolderRoot finds the directory of the tree holding train/<class>/:
// the tree's root, or the shallowest directory below it that has one.
func imageFolderRoot(t *tree) (string, error) {
	var roots []string
	best := -1
	for d := range t.dirs {
		if path.Base(d) != "train" || len(t.subdirs(d)) == 0 {
			continue
		}
		root := path.Dir(d)
		if root == "." {
			root = ""
		}
		depth := 0
		if root != "" {
			depth = strings.Count(root, "/") + 1
		}
		if best < 0 || depth < best {
			best, roots = depth, roots[:0]
		}
		if depth == best {
			roots = append(roots, root)
		}
	}
	switch len(roots) {
	case 0:
		return "", errorf(t.path, "", "no class folders: expected the image-folder layout <split>/<class>/<image> with a train/ folder of class folders")
	case 1:
		return roots[0], nil
	}
	sort.Strings(roots)
	return "", errorf(t.path, "", "ambiguous image-folder layout: train/ class folders found under %s", strings.Join(roots, " and "))
}

// folderSplit lists one split's images: per class, in file-name order.
func folderSplit(t *tree, root, split string, classes []string, limit int) (files [][]*file, warnings []string, err error) {
	dir := join(root, split)
	known := map[string]bool{}
	for _, c := range classes {
		known[c] = true
	}
	for _, c := range t.subdirs(dir) {
		if !known[c] {
			return nil, nil, errorf(t.path, join(dir, c), "class folder not present in %s: the splits must have the same classes", join(root, "train"))
		}
	}
	for _, f := range t.filesUnder(dir) {
		if path.Dir(f.name) == dir {
			if isImageName(f.name) {
				return nil, nil, errorf(t.path, f.name, "image outside a class folder: expected %s/<class>/<image>", dir)
			}
			warnings = append(warnings, "ignored "+f.name+" (not in a class folder)")
		}
	}
	files = make([][]*file, len(classes))
	for k, c := range classes {
		cdir := join(dir, c)
		if !t.dirs[cdir] {
			return nil, nil, errorf(t.path, cdir, "missing class folder: every split needs a folder for each of the %d classes", len(classes))
		}
		for _, f := range t.filesUnder(cdir) {
			if !isImageName(f.name) {
				warnings = append(warnings, "ignored "+f.name+" (not .jpg, .jpeg or .png)")
				continue
			}
			files[k] = append(files[k], f)
		}
		if len(files[k]) == 0 {
			return nil, nil, errorf(t.path, cdir, "empty class: expected at least one .jpg, .jpeg or .png image")
		}
		if limit > 0 && len(files[k]) > limit {
			files[k] = files[k][:limit]
		}
	}
	return files, warnings, nil
}

// loadImageFolder reads <root>/train/<class>/<image> and the test split
// from <root>/test/ (or <root>/val/ when there is no test/). Labels are
// the class folders' indices in sorted name order.
func loadImageFolder(t *tree, cfg Config, kind string) (*decoded, error) {
	root, err := imageFolderRoot(t)
	if err != nil {
		return nil, err
	}
	classes := t.subdirs(join(root, "train"))
	testSplit := "test"
	if !t.dirs[join(root, "test")] {
		testSplit = "val"
		if !t.dirs[join(root, "val")] {
			return nil, errorf(t.path, join(root, "test"), "missing test split: expected %s/ or %s/ next to %s/",
				join(root, "test"), join(root, "val"), join(root, "train"))
		}
	}
	if kind == KindCIFAR10 && strings.Join(classes, ",") != strings.Join(cifar10Classes, ",") {
		return nil, errorf(t.path, join(root, "train"), "class folders %v: expected CIFAR-10's %v (use kind \"imagefolder\" for other data)", classes, cifar10Classes)
	}
	trainFiles, w1, err := folderSplit(t, root, "train", classes, cfg.TrainPerClass)
	if err != nil {
		return nil, err
	}
	testFiles, w2, err := folderSplit(t, root, testSplit, classes, cfg.TestPerClass)
	if err != nil {
		return nil, err
	}
	first := trainFiles[0][0]
	b, err := first.read()
	if err == nil {
		_, _, err = imageSize(b)
	}
	if err != nil {
		return nil, &Error{File: t.path, Entry: first.name, Msg: "cannot read image", Err: err}
	}
	w, h, _ := imageSize(b)
	if kind == KindCIFAR10 && (w != 32 || h != 32) {
		return nil, errorf(t.path, first.name, "image is %dx%d: CIFAR-10 images are 32x32", w, h)
	}
	dec := &decoded{kind: kind, source: t.path, classes: classes, c: 3, h: h, w: w, aug: AugCropFlip,
		warnings: append(w1, w2...)}
	var jobs []imageJob
	dec.train, jobs = folderJobs(trainFiles, 3*h*w, jobs)
	dec.test, jobs = folderJobs(testFiles, 3*h*w, jobs)
	if err := decodeAll(t, jobs, w, h, cfg.Workers); err != nil {
		return nil, err
	}
	return dec, nil
}

// folderJobs allocates a split's slab and appends one job per image.
func folderJobs(files [][]*file, size int, jobs []imageJob) (rawSplit, []imageJob) {
	n := 0
	for _, fs := range files {
		n += len(fs)
	}
	s := rawSplit{pixels: make([]uint8, n*size), labels: make([]int32, 0, n)}
	for c, fs := range files {
		for _, f := range fs {
			i := len(s.labels)
			s.labels = append(s.labels, int32(c))
			jobs = append(jobs, imageJob{f: f, dst: s.pixels[i*size : (i+1)*size]})
		}
	}
	return s, jobs
}
