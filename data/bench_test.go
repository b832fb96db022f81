package data

import (
	"testing"

	"lethe/nn"
)

// BenchmarkOpenCIFAR10JPEG loads and decodes all of CIFAR-10 from
// ../shared/data/cifar10/cifar-10-jpeg.tar.gz (target: under 10 s on 2
// cores).
func BenchmarkOpenCIFAR10JPEG(b *testing.B) {
	p := sharedPath(b, "cifar10/cifar-10-jpeg.tar.gz")
	for b.Loop() {
		d, err := Open(Config{Kind: KindCIFAR10, Path: p})
		if err != nil {
			b.Fatal(err)
		}
		if d.Train.Len() != 50000 {
			b.Fatal(d.Train.Len())
		}
	}
	b.ReportMetric(60000*float64(b.N)/b.Elapsed().Seconds(), "img/s")
}

// BenchmarkDigestCIFAR10 is the cache-key digest of the same archive.
func BenchmarkDigestCIFAR10(b *testing.B) {
	p := sharedPath(b, "cifar10/cifar-10-jpeg.tar.gz")
	for b.Loop() {
		if _, err := Digest(Config{Kind: KindCIFAR10, Path: p}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenTinyImageNetMini loads the 6,000-image TinyImageNet sample.
func BenchmarkOpenTinyImageNetMini(b *testing.B) {
	p := sharedPath(b, "tinyimagenet/tiny-imagenet-200-mini.tar.gz")
	for b.Loop() {
		if _, err := Open(Config{Kind: KindTinyImageNet, Path: p}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(6000*float64(b.N)/b.Elapsed().Seconds(), "img/s")
}

// benchLoader runs full passes of a feed over 10,000 CIFAR-shaped images
// and reports batches and images per second. The target for the
// augmenting loader is at least 20x the ResNet-18 CPU training rate
// (PyTorch, 1 thread: 27 img/s, DESIGN.md), i.e. 540 img/s.
func benchLoader(b *testing.B, augment bool, batch int) {
	d := synthDataset(b, 10, 1000, 1, 3, 32, 32, AugCropFlip)
	f, err := d.Train.Feed(FeedOptions{Shuffle: true, Augment: augment, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	var nb nn.Batch
	batches := 0
	b.ResetTimer()
	for e := 0; b.Loop(); e++ {
		l := f.Loader(e, batch)
		for l.Next(&nb) {
			batches++
		}
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(batches)/s, "batches/s")
	b.ReportMetric(float64(batches*batch)/s, "img/s")
}

func BenchmarkLoaderAugment32(b *testing.B)  { benchLoader(b, true, 32) }
func BenchmarkLoaderAugment128(b *testing.B) { benchLoader(b, true, 128) }
func BenchmarkLoaderEval256(b *testing.B)    { benchLoader(b, false, 256) }
