package data

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"runtime"
	"strings"
)

// Kinds of dataset Open understands.
const (
	KindMNIST        = "mnist"
	KindCIFAR10      = "cifar10"
	KindCIFAR100     = "cifar100"
	KindImageFolder  = "imagefolder"
	KindTinyImageNet = "tinyimagenet"
)

// Kinds lists the dataset kinds, for help texts and validation.
var Kinds = []string{KindMNIST, KindCIFAR10, KindCIFAR100, KindImageFolder, KindTinyImageNet}

// Config says which dataset to open and how. The zero value of every field
// but Kind (and Path, for kinds other than mnist) is a sensible default.
type Config struct {
	// Kind is one of Kinds, or "" / "auto" to detect it from what Path holds.
	Kind string
	// Path is a directory or a .tar / .tar.gz archive. Empty for the
	// built-in MNIST.
	Path string
	// Labels selects CIFAR-100's label set: "fine" (100 classes, default)
	// or "coarse" (20 superclasses). Must be empty for other kinds.
	Labels string
	// TrainPerClass and TestPerClass keep only the first n images of each
	// class, in the dataset's order (0 = all): CI-scale runs. Images beyond
	// the limit are not decoded.
	TrainPerClass, TestPerClass int
	// ValFraction carves a validation split from train: that fraction of
	// each class (rounded, at least one image per class when > 0), chosen
	// with Seed. 0 = no validation split.
	ValFraction float64
	// Seed fixes the validation carve.
	Seed uint64
	// Mean and Std override the normalisation statistics (per channel, on
	// the 0-1 scale; one value is used for every channel).
	Mean, Std []float64
	// Workers is the number of goroutines decoding images (0 = GOMAXPROCS).
	// It does not change the result.
	Workers int
}

// Augmentation is a training-time augmentation policy.
type Augmentation int

const (
	// AugNone leaves images as they are (MNIST).
	AugNone Augmentation = iota
	// AugCropFlip is a random crop with 4 pixels of zero padding on every
	// side followed by a horizontal flip with probability 1/2 (CIFAR,
	// TinyImageNet, image folders), as torchvision's RandomCrop(size,
	// padding=4) + RandomHorizontalFlip().
	AugCropFlip
)

func (a Augmentation) String() string {
	switch a {
	case AugNone:
		return "none"
	case AugCropFlip:
		return "random crop (padding 4) + horizontal flip"
	}
	return fmt.Sprintf("Augmentation(%d)", int(a))
}

// Dataset is an opened dataset: decoded uint8 images held once in memory,
// their labels, and what a model needs to know about them. Train, Val and
// Test are views over the decoded images; every subset derived from them is
// an index list, never a copy of pixels.
type Dataset struct {
	Kind   string // one of Kinds
	Source string // the path it was read from, or "built-in (module@version)"
	// Classes are the class names; label i is Classes[i].
	Classes []string
	// Descriptions are human-readable class names where the dataset has
	// them (TinyImageNet's words.txt); otherwise nil.
	Descriptions []string
	C, H, W      int
	// Mean and Std are the per-channel normalisation statistics on the 0-1
	// scale: x_norm = (x/255 - Mean[c]) / Std[c].
	Mean, Std []float64
	// NormSource says where Mean and Std come from: "conventional",
	// "train split" or "config".
	NormSource string
	// Augmentation is the training augmentation policy of this kind.
	Augmentation Augmentation
	// Train, Val and Test are the splits. Val is empty unless
	// Config.ValFraction > 0; its images are taken out of Train.
	// TinyImageNet's "val" folder is Test here.
	Train, Val, Test Subset
	// Warnings lists things ignored while reading (hidden files, files
	// that are not images), so a user can check nothing was lost.
	Warnings []string

	digest string
}

// NumClasses is the number of classes.
func (d *Dataset) NumClasses() int { return len(d.Classes) }

// Shape is the C, H, W of one image.
func (d *Dataset) Shape() (c, h, w int) { return d.C, d.H, d.W }

// Digest identifies the dataset's content and the options it was opened
// with; it is what Digest(cfg) returns for the same Config. It changes when
// the data changes, and does not depend on where the data lives (except for
// directories, whose digest covers their listing with modification times).
func (d *Dataset) Digest() string { return d.digest }

// ClassIndex returns the label of a class name, or -1.
func (d *Dataset) ClassIndex(name string) int {
	for i, c := range d.Classes {
		if c == name {
			return i
		}
	}
	return -1
}

// normalise checks cfg and fills in defaults; the result is what the digest
// covers.
func (cfg Config) normalise() (Config, error) {
	cfg.Kind = strings.ToLower(strings.TrimSpace(cfg.Kind))
	if cfg.Kind == "auto" {
		cfg.Kind = ""
	}
	if cfg.Kind != "" && !contains(Kinds, cfg.Kind) {
		return cfg, fmt.Errorf("data: unknown dataset kind %q (expected one of %s)", cfg.Kind, strings.Join(Kinds, ", "))
	}
	if cfg.Kind != KindMNIST && cfg.Path == "" {
		if cfg.Kind == "" {
			return cfg, fmt.Errorf("data: no dataset path and no kind (only kind %q is built in)", KindMNIST)
		}
		return cfg, fmt.Errorf("data: dataset kind %q needs a path (a directory or a .tar/.tar.gz archive)", cfg.Kind)
	}
	cfg.Labels = strings.ToLower(strings.TrimSpace(cfg.Labels))
	switch {
	case cfg.Labels == "" || cfg.Labels == "fine" || cfg.Labels == "coarse":
		if cfg.Labels != "" && cfg.Kind != KindCIFAR100 && cfg.Kind != "" {
			return cfg, fmt.Errorf("data: labels = %q applies only to kind %q, not %q", cfg.Labels, KindCIFAR100, cfg.Kind)
		}
	default:
		return cfg, fmt.Errorf("data: labels = %q: expected \"fine\" or \"coarse\"", cfg.Labels)
	}
	if cfg.Kind == KindCIFAR100 && cfg.Labels == "" {
		cfg.Labels = "fine"
	}
	if cfg.TrainPerClass < 0 || cfg.TestPerClass < 0 {
		return cfg, fmt.Errorf("data: per-class limits must be >= 0 (0 = all), got train %d, test %d", cfg.TrainPerClass, cfg.TestPerClass)
	}
	if !(cfg.ValFraction >= 0 && cfg.ValFraction < 1) {
		return cfg, fmt.Errorf("data: validation fraction %v: expected 0 <= fraction < 1", cfg.ValFraction)
	}
	if len(cfg.Mean) != len(cfg.Std) {
		return cfg, fmt.Errorf("data: normalisation mean has %d values and std %d: expected the same count", len(cfg.Mean), len(cfg.Std))
	}
	for i, s := range cfg.Std {
		if !(s > 0) || math.IsInf(s, 0) || math.IsNaN(cfg.Mean[i]) || math.IsInf(cfg.Mean[i], 0) {
			return cfg, fmt.Errorf("data: normalisation mean %v / std %v: expected finite values and std > 0", cfg.Mean, cfg.Std)
		}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	return cfg, nil
}

// digestOf combines the options that shape the dataset with the source's
// content digest. The path and the worker count are left out: they do not
// change the data.
func (cfg Config) digestOf(source string) string {
	h := sha256.New()
	fmt.Fprintf(h, "lethe-data-v1\nkind=%q\nlabels=%q\ntrain_per_class=%d\ntest_per_class=%d\nval_fraction=%v\nseed=%d\nmean=%v\nstd=%v\nsource=%s\n",
		cfg.Kind, cfg.Labels, cfg.TrainPerClass, cfg.TestPerClass, cfg.ValFraction, cfg.Seed, cfg.Mean, cfg.Std, source)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Digest returns the digest that Open(cfg).Digest() would have, without
// decoding the data: it hashes an archive's bytes (tens of milliseconds for
// CIFAR-10) or a directory's listing. A runner keys its cache on it.
func Digest(cfg Config) (string, error) {
	cfg, err := cfg.normalise()
	if err != nil {
		return "", err
	}
	if cfg.Kind == KindMNIST && cfg.Path == "" {
		return cfg.digestOf(mnistBuiltinDigest()), nil
	}
	src, err := sourceDigest(cfg.Path)
	if err != nil {
		return "", err
	}
	return cfg.digestOf(src), nil
}

// decoded is what a format reader returns: the images of both splits with
// the dataset's metadata, before the Dataset is assembled.
type decoded struct {
	kind         string
	source       string
	classes      []string
	descriptions []string
	c, h, w      int
	train, test  rawSplit
	warnings     []string
	aug          Augmentation
	conventional []float64 // mean then std, when the kind has conventional statistics
}

type rawSplit struct {
	pixels []uint8
	labels []int32
}

// Open reads, checks and decodes a dataset. Errors about the data are
// *Error values naming the file (and archive member) at fault.
func Open(cfg Config) (*Dataset, error) {
	cfg, err := cfg.normalise()
	if err != nil {
		return nil, err
	}
	var dec *decoded
	var source string
	if cfg.Kind == KindMNIST && cfg.Path == "" {
		dec, err = loadBuiltinMNIST(cfg)
		source = mnistBuiltinDigest()
	} else {
		var t *tree
		t, err = openTree(cfg.Path)
		if err != nil {
			return nil, err
		}
		source = t.digest
		dec, err = loadTree(t, cfg)
		if err == nil {
			for _, s := range t.skipped {
				dec.warnings = append(dec.warnings, "ignored "+s)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return assemble(dec, cfg, cfg.digestOf(source))
}

// loadTree detects the kind when cfg leaves it open and runs its reader.
func loadTree(t *tree, cfg Config) (*decoded, error) {
	kind := cfg.Kind
	if kind == "" {
		var err error
		if kind, err = detectKind(t); err != nil {
			return nil, err
		}
		if cfg.Labels != "" && kind != KindCIFAR100 {
			return nil, fmt.Errorf("data: labels = %q applies only to kind %q; %s holds %s", cfg.Labels, KindCIFAR100, t.path, kind)
		}
	}
	switch kind {
	case KindMNIST:
		return loadMNISTTree(t, cfg)
	case KindCIFAR10:
		if len(t.find("data_batch_1.bin", "data_batch_1.bin.gz")) > 0 {
			return loadCIFAR10Binary(t, cfg)
		}
		return loadImageFolder(t, cfg, KindCIFAR10)
	case KindCIFAR100:
		return loadCIFAR100(t, cfg)
	case KindTinyImageNet:
		return loadTinyImageNet(t, cfg)
	case KindImageFolder:
		return loadImageFolder(t, cfg, KindImageFolder)
	}
	return nil, fmt.Errorf("data: unknown dataset kind %q", kind)
}

// DetectKind reports which kind of dataset a directory or archive holds,
// by the files that mark each layout.
func DetectKind(path string) (string, error) {
	t, err := openTree(path)
	if err != nil {
		return "", err
	}
	return detectKind(t)
}

func detectKind(t *tree) (string, error) {
	switch {
	case len(t.find("wnids.txt")) > 0:
		return KindTinyImageNet, nil
	case len(t.find("data_batch_1.bin", "data_batch_1.bin.gz")) > 0:
		return KindCIFAR10, nil
	case len(t.find("train.bin", "train.bin.gz")) > 0:
		return KindCIFAR100, nil
	case len(t.find(mnistTrainImages, mnistTrainImages+".gz")) > 0:
		return KindMNIST, nil
	}
	if root, err := imageFolderRoot(t); err == nil {
		// An image folder of CIFAR-10's ten classes is CIFAR-10 (the
		// layout of ../shared/data/cifar10).
		if strings.Join(t.subdirs(join(root, "train")), ",") == strings.Join(cifar10Classes, ",") {
			return KindCIFAR10, nil
		}
		return KindImageFolder, nil
	}
	return "", errorf(t.path, "", "cannot tell the dataset kind: expected wnids.txt (TinyImageNet), data_batch_1.bin (CIFAR-10), train.bin (CIFAR-100), %s (MNIST IDX) or <split>/<class>/<image> folders", mnistTrainImages)
}

// assemble turns decoded images into a Dataset: statistics, subsets, digest.
func assemble(dec *decoded, cfg Config, digest string) (*Dataset, error) {
	d := &Dataset{
		Kind: dec.kind, Source: dec.source, Classes: dec.classes, Descriptions: dec.descriptions,
		C: dec.c, H: dec.h, W: dec.w, Augmentation: dec.aug, Warnings: dec.warnings, digest: digest,
	}
	train := &store{name: "train", ds: d, pixels: dec.train.pixels, labels: dec.train.labels}
	test := &store{name: "test", ds: d, pixels: dec.test.pixels, labels: dec.test.labels}
	d.Train, d.Test = train.all(), test.all()
	switch {
	case len(cfg.Mean) > 0:
		if len(cfg.Mean) != 1 && len(cfg.Mean) != d.C {
			return nil, fmt.Errorf("data: normalisation has %d values: expected 1 or %d (the channel count of %s)", len(cfg.Mean), d.C, d.Kind)
		}
		d.Mean, d.Std, d.NormSource = broadcast(cfg.Mean, d.C), broadcast(cfg.Std, d.C), "config"
	case dec.conventional != nil:
		d.Mean, d.Std, d.NormSource = broadcast(dec.conventional[:1], d.C), broadcast(dec.conventional[1:], d.C), "conventional"
	default:
		d.Mean, d.Std = d.Train.Stats()
		d.NormSource = "train split"
		for c, s := range d.Std {
			if s == 0 {
				return nil, fmt.Errorf("data: %s: channel %d of the train images is constant (std 0): cannot normalise; set mean/std explicitly", d.Source, c)
			}
		}
	}
	if cfg.ValFraction > 0 {
		rest, val, err := d.Train.HoldOut(cfg.ValFraction, cfg.Seed)
		if err != nil {
			return nil, err
		}
		d.Train, d.Val = rest, val
	} else {
		d.Val = Subset{st: train}
	}
	return d, nil
}

func broadcast(v []float64, n int) []float64 {
	if len(v) == n {
		return append([]float64(nil), v...)
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = v[0]
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
