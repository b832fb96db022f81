package unlearn

import (
	"slices"
	"testing"

	"lethe/data"
)

// randomOtherLabels never gives a forget image its own class, keeps the
// retained images' labels, and spreads the forget images over all the
// other classes.
func TestRandomLabelsNeverAssignTheTrueClass(t *testing.T) {
	ds, err := data.Open(data.Config{Kind: "mnist", TrainPerClass: 150, TestPerClass: 1})
	if err != nil {
		t.Fatal(err)
	}
	forget := []int{3, 8}
	split, _ := ds.Unlearning(forget...)
	mix, err := split.Dr.Union(split.Df)
	if err != nil {
		t.Fatal(err)
	}
	labels := randomOtherLabels(mix, forget, 10, 11)
	counts := map[int32][10]int{}
	for i, y := range labels {
		orig := mix.Label(i)
		switch {
		case orig != 3 && orig != 8:
			if y != orig {
				t.Fatalf("retained image %d relabelled %d → %d", i, orig, y)
			}
		case y == orig:
			t.Fatalf("forget image %d kept its true class %d", i, y)
		case y < 0 || y > 9:
			t.Fatalf("label %d out of range", y)
		default:
			c := counts[orig]
			c[y]++
			counts[orig] = c
		}
	}
	for _, orig := range []int32{3, 8} {
		for k, n := range counts[orig] {
			// 150 draws over 9 classes: 16.7 expected; 4 is far in the tail.
			if int32(k) != orig && n < 4 {
				t.Errorf("class %d images got label %d only %d times of 150: not uniform", orig, k, n)
			}
		}
	}
	if again := randomOtherLabels(mix, forget, 10, 11); !slices.Equal(again, labels) {
		t.Error("the relabelling is not deterministic for a seed")
	}
}

// The method's own feed is the relabelled mixture: every forget image is
// in it with a label other than its own, every retained image with its own.
func TestRandomLabelsFeed(t *testing.T) {
	f := fixture(t)
	split, _ := f.ds.Unlearning(6)
	feed, err := relabelledMixture(split, f.request(6), 5)
	if err != nil {
		t.Fatal(err)
	}
	if feed.Len() != split.Df.Len()+split.Dr.Len() {
		t.Fatalf("feed of %d images, want %d", feed.Len(), split.Df.Len()+split.Dr.Len())
	}
	sub := feed.Subset()
	forgetSeen := 0
	for i := 0; i < sub.Len(); i++ {
		y, orig := feed.Label(i), sub.Label(i)
		if orig == 6 {
			forgetSeen++
			if y == 6 {
				t.Fatalf("forget image %d carries its true label", sub.Index(i))
			}
		} else if y != orig {
			t.Fatalf("retained image %d relabelled", sub.Index(i))
		}
	}
	if forgetSeen != split.Df.Len() {
		t.Errorf("%d forget images in the feed, want %d", forgetSeen, split.Df.Len())
	}
}
