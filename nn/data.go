package nn

// Batch is a host-side batch of normalised images in NCHW order with their
// integer labels. Loaders reuse X and Y between calls to Next, so a caller
// that keeps a batch must copy it.
type Batch struct {
	N, C, H, W int
	X          []float32 // N*C*H*W values
	Y          []int32   // N labels
}

// Loader yields the batches of one pass over a dataset.
type Loader interface {
	// Next fills b with the next batch and reports whether there was one.
	Next(b *Batch) bool
	// Err is the first error met while loading (nil at a clean end).
	Err() error
}

// Dataset is what the training loop and evaluation need from a split of
// data: its size, its class count and, per pass, a Loader. Passes are
// deterministic: the same epoch and batch size give the same batches.
type Dataset interface {
	Len() int
	NumClasses() int
	// Shape is the C, H, W of one image.
	Shape() (c, h, w int)
	// Batches returns a loader over one pass. Training datasets shuffle
	// (with a seed fixed by the dataset and the epoch) and augment;
	// evaluation datasets keep their order and do not augment.
	Batches(epoch, batchSize int) Loader
}
