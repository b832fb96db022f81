package data

import (
	"fmt"
	"path"
	"strings"
)

// CIFAR binary record layouts.
const (
	cifarPixels  = 3 * 32 * 32
	cifar10Rec   = 1 + cifarPixels // label, R, G, B planes
	cifar100Rec  = 2 + cifarPixels // coarse label, fine label, R, G, B planes
	cifarPerFile = 10000           // records in each official CIFAR-10 batch
)

// cifar100Fine and cifar100Coarse are CIFAR-100's label names in the
// official order (the line order of fine_label_names.txt and
// coarse_label_names.txt), used when those files are absent.
var (
	cifar100Fine   = []string{"apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple", "motorcycle", "mountain", "mouse", "mushroom", "oak", "orange", "orchid", "otter", "palm", "pear", "pickup_truck", "pine", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow", "wolf", "woman", "worm"}
	cifar100Coarse = []string{"aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables", "household_electrical_devices", "household_furniture", "insects", "large_carnivores", "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2"}
)

// cifarRecords is a parsed CIFAR binary file.
type cifarRecords struct {
	n      int
	labels [][]uint8 // labels[k][i]: label byte k of record i
	data   []byte    // the file, records back to back
	rec    int       // record size
}

// pixels returns record i's 3,072 pixel bytes (R, G, B planes of 32x32).
func (r *cifarRecords) pixels(i int) []byte {
	off := i*r.rec + len(r.labels)
	return r.data[off : off+cifarPixels]
}

// parseCIFAR checks a decompressed CIFAR binary file: records of
// len(numClasses) label bytes and 3,072 pixel bytes, each label byte below
// its class count. The error names the record at fault.
func parseCIFAR(b []byte, numClasses []int) (*cifarRecords, error) {
	rec := len(numClasses) + cifarPixels
	if len(b) == 0 {
		return nil, fmt.Errorf("empty file: expected records of %d bytes", rec)
	}
	if len(b)%rec != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of %d-byte records (%d records and %d bytes left over: truncated or not this CIFAR format)",
			len(b), rec, len(b)/rec, len(b)%rec)
	}
	r := &cifarRecords{n: len(b) / rec, data: b, rec: rec, labels: make([][]uint8, len(numClasses))}
	for k := range r.labels {
		r.labels[k] = make([]uint8, r.n)
	}
	for i := 0; i < r.n; i++ {
		for k, nc := range numClasses {
			y := b[i*rec+k]
			if int(y) >= nc {
				return nil, fmt.Errorf("record %d (byte offset %d): label %d: expected 0..%d", i, i*rec+k, y, nc-1)
			}
			r.labels[k][i] = y
		}
	}
	return r, nil
}

// cifarSplit gathers the records of several files into one split, keeping
// the first limit images of each class (0 = all) in file order.
func cifarSplit(parts []*cifarRecords, labelByte, numClasses, limit int) rawSplit {
	seen := make([]int, numClasses)
	total := 0
	for _, p := range parts {
		total += p.n
	}
	if limit > 0 {
		total = min(total, limit*numClasses)
	}
	s := rawSplit{pixels: make([]uint8, 0, total*cifarPixels), labels: make([]int32, 0, total)}
	for _, p := range parts {
		for i := 0; i < p.n; i++ {
			y := p.labels[labelByte][i]
			if limit > 0 && seen[y] >= limit {
				continue
			}
			seen[y]++
			s.labels = append(s.labels, int32(y))
			s.pixels = append(s.pixels, p.pixels(i)...)
		}
	}
	return s
}

// readCIFARFile finds name or name.gz in dir and parses it.
func readCIFARFile(t *tree, dir, name string, numClasses []int) (*cifarRecords, string, error) {
	f := t.files[join(dir, name)]
	if f == nil {
		f = t.files[join(dir, name+".gz")]
	}
	if f == nil {
		return nil, "", errorf(t.path, join(dir, name), "missing file: expected %s or %s.gz in the same folder", name, name)
	}
	b, err := t.readAll(f)
	if err != nil {
		return nil, "", err
	}
	r, err := parseCIFAR(b, numClasses)
	if err != nil {
		return nil, "", &Error{File: t.path, Entry: f.name, Err: err}
	}
	return r, f.name, nil
}

// readNames reads a label-names file (one name per line) if present.
func readNames(t *tree, dir, name string, want int) ([]string, bool, error) {
	f := t.files[join(dir, name)]
	if f == nil {
		return nil, false, nil
	}
	b, err := f.read()
	if err != nil {
		return nil, false, &Error{File: t.path, Entry: f.name, Msg: "read error", Err: err}
	}
	var names []string
	for _, l := range splitLines(b) {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	if len(names) != want {
		return nil, false, errorf(t.path, f.name, "%d names: expected %d, one per line", len(names), want)
	}
	return names, true, nil
}

// loadCIFAR10Binary reads the official binary release: data_batch_1..5.bin
// and test_batch.bin (each plain or .gz) in one folder; batches.meta.txt
// gives the class names when present.
func loadCIFAR10Binary(t *tree, cfg Config) (*decoded, error) {
	dir := path.Dir(t.find("data_batch_1.bin", "data_batch_1.bin.gz")[0].name)
	if dir == "." {
		dir = ""
	}
	dec := &decoded{kind: KindCIFAR10, source: t.path, c: 3, h: 32, w: 32, aug: AugCropFlip, classes: cifar10Classes}
	if names, ok, err := readNames(t, dir, "batches.meta.txt", 10); err != nil {
		return nil, err
	} else if ok {
		dec.classes = names
	}
	var train []*cifarRecords
	for b := 1; b <= 5; b++ {
		r, name, err := readCIFARFile(t, dir, fmt.Sprintf("data_batch_%d.bin", b), []int{10})
		if err != nil {
			return nil, err
		}
		if r.n != cifarPerFile {
			dec.warnings = append(dec.warnings, fmt.Sprintf("%s holds %d records (official batches hold %d)", name, r.n, cifarPerFile))
		}
		train = append(train, r)
	}
	test, name, err := readCIFARFile(t, dir, "test_batch.bin", []int{10})
	if err != nil {
		return nil, err
	}
	if test.n != cifarPerFile {
		dec.warnings = append(dec.warnings, fmt.Sprintf("%s holds %d records (the official file holds %d)", name, test.n, cifarPerFile))
	}
	dec.train = cifarSplit(train, 0, 10, cfg.TrainPerClass)
	dec.test = cifarSplit([]*cifarRecords{test}, 0, 10, cfg.TestPerClass)
	return dec, checkClassesPresent(t, dec)
}

// loadCIFAR100 reads the official binary release: train.bin and test.bin
// (each plain or .gz) with coarse and fine labels; fine_label_names.txt and
// coarse_label_names.txt give the names when present.
func loadCIFAR100(t *tree, cfg Config) (*decoded, error) {
	marks := t.find("train.bin", "train.bin.gz")
	if len(marks) == 0 {
		return nil, errorf(t.path, "", "no train.bin or train.bin.gz: expected CIFAR-100's binary release (train.bin, test.bin)")
	}
	dir := path.Dir(marks[0].name)
	if dir == "." {
		dir = ""
	}
	coarse := cfg.Labels == "coarse"
	dec := &decoded{kind: KindCIFAR100, source: t.path, c: 3, h: 32, w: 32, aug: AugCropFlip}
	fine, _, err := readNames(t, dir, "fine_label_names.txt", 100)
	if err != nil {
		return nil, err
	}
	coarseNames, _, err := readNames(t, dir, "coarse_label_names.txt", 20)
	if err != nil {
		return nil, err
	}
	labelByte, n := 1, 100
	dec.classes = orDefault(fine, cifar100Fine)
	if coarse {
		labelByte, n = 0, 20
		dec.classes = orDefault(coarseNames, cifar100Coarse)
	}
	var parts [2]*cifarRecords
	official := map[string]int{"train.bin": 50000, "test.bin": 10000}
	for k, name := range []string{"train.bin", "test.bin"} {
		r, entry, err := readCIFARFile(t, dir, name, []int{20, 100})
		if err != nil {
			return nil, err
		}
		if err := checkCoarseFine(r); err != nil {
			return nil, &Error{File: t.path, Entry: entry, Err: err}
		}
		if r.n != official[name] {
			dec.warnings = append(dec.warnings, fmt.Sprintf("%s holds %d records (the official file holds %d)", entry, r.n, official[name]))
		}
		parts[k] = r
	}
	dec.train = cifarSplit(parts[:1], labelByte, n, cfg.TrainPerClass)
	dec.test = cifarSplit(parts[1:], labelByte, n, cfg.TestPerClass)
	return dec, checkClassesPresent(t, dec)
}

func orDefault(names, builtin []string) []string {
	if names != nil {
		return names
	}
	return builtin
}

// checkCoarseFine checks that every fine label comes with one coarse
// label throughout the file, as in the official data: a cheap guard against
// swapped label bytes or a CIFAR-10 file read as CIFAR-100.
func checkCoarseFine(r *cifarRecords) error {
	var coarseOf [100]int
	for i := range coarseOf {
		coarseOf[i] = -1
	}
	for i := 0; i < r.n; i++ {
		c, f := int(r.labels[0][i]), int(r.labels[1][i])
		if coarseOf[f] >= 0 && coarseOf[f] != c {
			return fmt.Errorf("record %d: fine label %d with coarse label %d, but earlier records give it coarse label %d: expected one superclass per fine class", i, f, c, coarseOf[f])
		}
		coarseOf[f] = c
	}
	return nil
}

// checkClassesPresent rejects a split in which some class has no image.
func checkClassesPresent(t *tree, dec *decoded) error {
	for _, s := range []struct {
		name string
		raw  rawSplit
	}{{"train", dec.train}, {"test", dec.test}} {
		counts := make([]int, len(dec.classes))
		for _, y := range s.raw.labels {
			counts[y]++
		}
		for c, n := range counts {
			if n == 0 {
				return errorf(t.path, "", "empty class: the %s split has no image of class %d (%s)", s.name, c, dec.classes[c])
			}
		}
	}
	return nil
}
