package metrics_test

import (
	"fmt"

	"lethe/metrics"
)

// A model's softmax outputs on a tiny 3-class test split, class 2
// forgotten: the accuracies, and the JS divergence and ZRF against other
// models' outputs on the same samples.
func Example() {
	labels := []int32{0, 1, 2, 2}
	unlearned, err := metrics.NewOutputs([]float32{
		0.8, 0.1, 0.1,
		0.2, 0.7, 0.1,
		0.5, 0.4, 0.1, // class 2 no longer recognised
		0.3, 0.6, 0.1,
	}, labels, 3)
	if err != nil {
		panic(err)
	}
	retrained, _ := metrics.NewOutputs([]float32{
		0.9, 0.05, 0.05,
		0.1, 0.85, 0.05,
		0.5, 0.45, 0.05,
		0.35, 0.6, 0.05,
	}, labels, 3)
	untrained, _ := metrics.NewOutputs([]float32{
		0.34, 0.33, 0.33,
		0.33, 0.34, 0.33,
		0.33, 0.33, 0.34,
		0.33, 0.34, 0.33,
	}, labels, 3)

	forget := []int{2}
	accF, accR, _ := metrics.ForgetRetainAccuracy(unlearned, forget)
	js, _ := metrics.JSToRetrain(unlearned, retrained, forget)
	zrf, _ := metrics.ZRF(unlearned, untrained, forget)
	fmt.Printf("Acc_f %.2f  Acc_r %.2f  JS to retrain %.4f  ZRF %.3f\n", accF, accR, js, zrf)
	// Output: Acc_f 0.00  Acc_r 1.00  JS to retrain 0.0051  ZRF 0.952
}
