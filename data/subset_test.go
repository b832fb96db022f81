package data

import (
	"slices"
	"testing"
)

func TestUnlearningSplitsDoNotLeak(t *testing.T) {
	for _, d := range []*Dataset{synthDataset(t, 10, 30, 7, 3, 4, 4, AugCropFlip), builtinMNIST(t)} {
		u, err := d.Unlearning(7, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(u.Forget, []int{2, 7}) {
			t.Errorf("forget classes %v, want sorted [2 7]", u.Forget)
		}
		for _, c := range []struct {
			name   string
			s      Subset
			forget bool
			split  string
		}{{"Df", u.Df, true, "train"}, {"Dr", u.Dr, false, "train"}, {"Tf", u.Tf, true, "test"}, {"Tr", u.Tr, false, "test"}} {
			if c.s.Split() != c.split {
				t.Errorf("%s is from %s, want %s", c.name, c.s.Split(), c.split)
			}
			for i := 0; i < c.s.Len(); i++ {
				y := c.s.Label(i)
				if (y == 2 || y == 7) != c.forget {
					t.Fatalf("%s holds an image of class %d", c.name, y)
				}
			}
		}
		// Df and Dr partition the train split; Tf and Tr the test split.
		all, err := u.Df.Union(u.Dr)
		if err != nil {
			t.Fatal(err)
		}
		if u.Df.Len()+u.Dr.Len() != d.Train.Len() || !slices.Equal(all.Indices(), d.Train.Indices()) {
			t.Errorf("Df (%d) + Dr (%d) != train (%d)", u.Df.Len(), u.Dr.Len(), d.Train.Len())
		}
		if u.Tf.Len()+u.Tr.Len() != d.Test.Len() {
			t.Errorf("Tf (%d) + Tr (%d) != test (%d)", u.Tf.Len(), u.Tr.Len(), d.Test.Len())
		}
		counts := d.Test.Counts()
		if u.Tf.Len() != counts[2]+counts[7] {
			t.Errorf("Tf has %d images, classes 2 and 7 have %d", u.Tf.Len(), counts[2]+counts[7])
		}
	}
}

func TestUnlearningErrors(t *testing.T) {
	d := synthDataset(t, 3, 2, 1, 1, 2, 2, AugNone)
	for _, forget := range [][]int{nil, {3}, {-1}, {1, 1}, {0, 1, 2}} {
		if _, err := d.Unlearning(forget...); err == nil {
			t.Errorf("Unlearning(%v) gave no error", forget)
		}
	}
}

func TestValidationCarveLeavesTrainDisjoint(t *testing.T) {
	dec := func() *Dataset { return synthDataset(t, 4, 50, 5, 1, 2, 2, AugNone) }
	base := dec()
	d, err := assemble(&decoded{kind: "synthetic", classes: base.Classes, c: 1, h: 2, w: 2,
		train: rawSplit{pixels: base.Train.st.pixels, labels: base.Train.st.labels},
		test:  rawSplit{pixels: base.Test.st.pixels, labels: base.Test.st.labels}},
		Config{ValFraction: 0.1, Seed: 3}, "x")
	if err != nil {
		t.Fatal(err)
	}
	for c, n := range d.Val.Counts() {
		if n != 5 {
			t.Errorf("val class %d: %d images, want 5 (10%% of 50)", c, n)
		}
	}
	if d.Train.Len()+d.Val.Len() != 200 {
		t.Errorf("train %d + val %d != 200", d.Train.Len(), d.Val.Len())
	}
	inTrain := map[int]bool{}
	for _, i := range d.Train.Indices() {
		inTrain[i] = true
	}
	for _, i := range d.Val.Indices() {
		if inTrain[i] {
			t.Fatalf("image %d is in both train and val", i)
		}
	}
	// Unlearning splits exclude the validation images.
	u, _ := d.Unlearning(0)
	if u.Df.Len()+u.Dr.Len() != d.Train.Len() {
		t.Errorf("Df+Dr = %d, want the carved train's %d", u.Df.Len()+u.Dr.Len(), d.Train.Len())
	}
}

func TestPerClassAndStratified(t *testing.T) {
	d := synthDataset(t, 5, 40, 2, 1, 2, 2, AugNone)
	a := d.Train.PerClass(7, 1)
	b := d.Train.PerClass(7, 1)
	c := d.Train.PerClass(7, 2)
	for k, n := range a.Counts() {
		if n != 7 {
			t.Errorf("PerClass(7): class %d has %d", k, n)
		}
	}
	if !slices.Equal(a.Indices(), b.Indices()) {
		t.Error("PerClass with the same seed differs")
	}
	if slices.Equal(a.Indices(), c.Indices()) {
		t.Error("PerClass with different seeds is identical")
	}
	if !slices.IsSorted(a.Indices()) {
		t.Error("PerClass does not keep the subset's order")
	}
	if got := d.Train.PerClass(1000, 1).Len(); got != 200 {
		t.Errorf("PerClass beyond the class sizes keeps %d, want all 200", got)
	}

	// Stratified over an unbalanced subset: classes 0..2 only, 40 each,
	// plus 10 of class 3.
	three := d.Train.OfClasses(0, 1, 2)
	few := d.Train.OfClasses(3).PerClass(10, 9)
	mixed, err := three.Union(few)
	if err != nil {
		t.Fatal(err)
	}
	s, err := mixed.Stratified(26, 5)
	if err != nil {
		t.Fatal(err)
	}
	// 26 * 40/130 = 8 each for 0..2 and 2 for class 3.
	if got := s.Counts(); !slices.Equal(got, []int{8, 8, 8, 2, 0}) {
		t.Errorf("Stratified(26) counts %v, want [8 8 8 2 0]", got)
	}
	if _, err := mixed.Stratified(131, 5); err == nil {
		t.Error("Stratified beyond the subset size gave no error")
	}
	if got := d.Train.Sample(13, 4); got.Len() != 13 || !slices.IsSorted(got.Indices()) {
		t.Errorf("Sample(13) has %d images (sorted %v)", got.Len(), slices.IsSorted(got.Indices()))
	}
	if got := d.Train.Sample(5000, 4); got.Len() != 200 {
		t.Errorf("Sample caps to %d, want all 200", got.Len())
	}
}

func TestUnionRejectsOtherSplits(t *testing.T) {
	d := synthDataset(t, 2, 3, 3, 1, 1, 1, AugNone)
	if _, err := d.Train.Union(d.Test); err == nil {
		t.Error("union of train and test gave no error")
	}
	u, err := d.Train.OfClasses(0).Union(d.Train.OfClasses(0), d.Train.OfClasses(1))
	if err != nil || u.Len() != 6 {
		t.Errorf("union = %d images, %v; want 6 without duplicates", u.Len(), err)
	}
}

func TestSubsetsShareThePixels(t *testing.T) {
	d := synthDataset(t, 2, 4, 1, 3, 2, 2, AugNone)
	s := d.Train.OfClasses(1).PerClass(2, 0)
	i := s.Index(0)
	if &s.Image(0)[0] != &d.Train.Image(i)[0] {
		t.Error("a subset's image is a copy, want a view of the dataset's pixels")
	}
}

// The zero Subset is empty everywhere, never a panic.
func TestZeroSubset(t *testing.T) {
	var z Subset
	if z.Len() != 0 || z.Counts() != nil || z.Dataset() != nil || z.Split() != "" {
		t.Error("zero subset is not empty")
	}
	if a, b, err := z.HoldOut(0.5, 1); err != nil || a.Len()+b.Len() != 0 {
		t.Errorf("HoldOut of the zero subset: %d %d %v", a.Len(), b.Len(), err)
	}
	if s, err := z.Stratified(0, 1); err != nil || s.Len() != 0 {
		t.Errorf("Stratified(0): %v", err)
	}
	if z.PerClass(3, 1).Len() != 0 || z.Sample(3, 1).Len() != 0 {
		t.Error("sampling the zero subset gave images")
	}
	f := z.TrainFeed(1)
	if _, _, sizes := collect(t, f.Batches(0, 8)); len(sizes) != 0 || f.NumClasses() != 0 {
		t.Errorf("feed of the zero subset gave batches %v", sizes)
	}
}
