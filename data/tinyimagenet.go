package data

import (
	"path"
	"sort"
	"strings"
)

// tinySize is TinyImageNet's image side.
const tinySize = 64

// splitLines splits text into lines, accepting LF and CRLF endings and a
// missing final newline.
func splitLines(b []byte) []string {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// loadTinyImageNet reads TinyImageNet's release layout: wnids.txt (label i
// = line i), train/<wnid>/images/*.JPEG, and val/images/ labelled by
// val/val_annotations.txt, which becomes the test split. words.txt, when
// present, gives the class descriptions. The test/ folder of the release
// has no labels and is not read.
func loadTinyImageNet(t *tree, cfg Config) (*decoded, error) {
	marks := t.find("wnids.txt")
	if len(marks) == 0 {
		return nil, errorf(t.path, "", "no wnids.txt: expected TinyImageNet's layout (wnids.txt, train/<wnid>/images/, val/images/, val/val_annotations.txt)")
	}
	if len(marks) > 1 {
		return nil, errorf(t.path, "", "several wnids.txt files (%s, %s): expected one TinyImageNet root", marks[0].name, marks[1].name)
	}
	root := path.Dir(marks[0].name)
	if root == "." {
		root = ""
	}
	raw, err := marks[0].read()
	if err != nil {
		return nil, &Error{File: t.path, Entry: marks[0].name, Msg: "read error", Err: err}
	}
	var wnids []string
	label := map[string]int32{}
	for i, line := range splitLines(raw) {
		id := strings.TrimSpace(line)
		if id == "" {
			return nil, errorf(t.path, marks[0].name, "line %d is empty: expected one wnid per line", i+1)
		}
		if _, dup := label[id]; dup {
			return nil, errorf(t.path, marks[0].name, "line %d: wnid %s listed twice", i+1, id)
		}
		label[id] = int32(len(wnids))
		wnids = append(wnids, id)
	}
	if len(wnids) == 0 {
		return nil, errorf(t.path, marks[0].name, "no wnids: expected one class id per line")
	}
	dec := &decoded{kind: KindTinyImageNet, source: t.path, classes: wnids, c: 3, h: tinySize, w: tinySize, aug: AugCropFlip}
	if f := t.files[join(root, "words.txt")]; f != nil {
		if b, err := f.read(); err == nil {
			words := map[string]string{}
			for _, line := range splitLines(b) {
				if id, names, ok := strings.Cut(line, "\t"); ok {
					words[id] = strings.TrimSpace(names)
				}
			}
			dec.descriptions = make([]string, len(wnids))
			for i, id := range wnids {
				dec.descriptions[i] = words[id]
			}
		}
	}

	// Train: train/<wnid>/images/, every wnid present, nothing extra.
	trainDir := join(root, "train")
	if !t.dirs[trainDir] {
		return nil, errorf(t.path, trainDir, "missing train folder: expected train/<wnid>/images/")
	}
	for _, d := range t.subdirs(trainDir) {
		if _, ok := label[d]; !ok {
			return nil, errorf(t.path, join(trainDir, d), "class folder not listed in %s", marks[0].name)
		}
	}
	trainFiles := make([][]*file, len(wnids))
	for c, id := range wnids {
		dir := join(join(trainDir, id), "images")
		if !t.dirs[dir] {
			return nil, errorf(t.path, dir, "missing class folder for wnid %s (line %d of wnids.txt)", id, c+1)
		}
		for _, f := range t.filesUnder(dir) {
			if isImageName(f.name) {
				trainFiles[c] = append(trainFiles[c], f)
			} else {
				dec.warnings = append(dec.warnings, "ignored "+f.name+" (not an image)")
			}
		}
		if len(trainFiles[c]) == 0 {
			return nil, errorf(t.path, dir, "empty class: expected JPEG images")
		}
		if cfg.TrainPerClass > 0 && len(trainFiles[c]) > cfg.TrainPerClass {
			trainFiles[c] = trainFiles[c][:cfg.TrainPerClass]
		}
	}

	// Val (our test split): val/images/ labelled by val_annotations.txt.
	annName := join(root, "val/val_annotations.txt")
	ann := t.files[annName]
	if ann == nil {
		return nil, errorf(t.path, annName, "missing: expected val/val_annotations.txt labelling val/images/")
	}
	b, err := ann.read()
	if err != nil {
		return nil, &Error{File: t.path, Entry: annName, Msg: "read error", Err: err}
	}
	valDir := join(root, "val/images")
	testFiles := make([][]*file, len(wnids))
	annotated := map[string]bool{}
	for i, line := range splitLines(b) {
		fields := strings.Split(line, "\t")
		if len(fields) < 2 {
			return nil, errorf(t.path, annName, "line %d: expected \"<file>\\t<wnid>\\t<box>\", got %q", i+1, line)
		}
		name, id := fields[0], fields[1]
		c, ok := label[id]
		if !ok {
			return nil, errorf(t.path, annName, "line %d: wnid %s is not listed in wnids.txt", i+1, id)
		}
		if annotated[name] {
			return nil, errorf(t.path, annName, "line %d: %s annotated twice", i+1, name)
		}
		annotated[name] = true
		f := t.files[join(valDir, name)]
		if f == nil {
			return nil, errorf(t.path, join(valDir, name), "missing image named on line %d of val_annotations.txt", i+1)
		}
		testFiles[c] = append(testFiles[c], f)
	}
	for _, f := range t.filesUnder(valDir) {
		if !annotated[path.Base(f.name)] && path.Dir(f.name) == valDir && isImageName(f.name) {
			return nil, errorf(t.path, f.name, "image has no line in val_annotations.txt")
		}
	}
	var missing []string
	for c := range testFiles {
		if len(testFiles[c]) == 0 {
			missing = append(missing, wnids[c])
		}
		if cfg.TestPerClass > 0 && len(testFiles[c]) > cfg.TestPerClass {
			testFiles[c] = testFiles[c][:cfg.TestPerClass]
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, errorf(t.path, annName, "empty class: no val images for %d wnids (first %s)", len(missing), missing[0])
	}
	var jobs []imageJob
	dec.train, jobs = folderJobs(trainFiles, 3*tinySize*tinySize, jobs)
	dec.test, jobs = folderJobs(testFiles, 3*tinySize*tinySize, jobs)
	if err := decodeAll(t, jobs, tinySize, tinySize, cfg.Workers); err != nil {
		return nil, err
	}
	return dec, nil
}
