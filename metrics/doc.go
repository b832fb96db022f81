// Package metrics computes what every unlearning experiment reports:
// accuracy (overall, per class, and the Acc_f / Acc_r pair for the forget
// and retained classes), membership-inference attacks (MIA), the
// Jensen-Shannon divergence to a retrained model, the zero-retrain
// forgetting score (ZRF), and device-synchronised wall-clock time.
//
// The package is host-side and knows nothing of the engine: the caller runs
// a model, hands over its softmax outputs and the true labels as Outputs,
// and gets numbers back. The definitions follow ../shared/METHODS.md
// ("Metrics"); where it is silent they follow the reference code it names
// (SalUn's evaluation/SVC_MIA.py for svm-confidence, SSD's metrics.py for
// logreg-entropy), and each such choice is written next to the code.
//
// Accuracies, MIA values and the like are fractions in [0, 1] (reports
// scale them to percent); divergences are in nats; times in seconds.
//
// The attacks need two small learners, written here so that their results
// match scikit-learn's: SVC, an RBF-kernel C-SVM solved by LIBSVM's SMO
// (second-order working-set selection, shrinking, kernel-column cache), and
// LogReg, L2-regularised logistic regression with balanced class weights.
// Both are checked against values produced by the scripts in testdata/.
package metrics
