// Package paper holds the published numbers of the paper Lethe implements,
// so that a report can place them beside the values Lethe measures.
//
// The paper is "Orthogonal Soft Pruning for Efficient Class Unlearning"
// (its text is ../shared/paper/orthogonal-soft-pruning.txt in a development
// checkout). Its experiments ran on an NVIDIA TITAN Xp (12 GB) with PyTorch
// 1.13 and CUDA 11.7, on CIFAR-10, CIFAR-100 and TinyImageNet with
// ResNet-18, ResNet-50 and VGG-16. It reports, all on the test split:
//
//   - table1: accuracy of each dataset × architecture trained without
//     ("Orig.", Lethe's plain model) and with ("Ortho.") the orthogonality
//     penalty, before any unlearning, on the class to be forgotten
//     (acc_forget, the paper's D_u) and on the retained classes
//     (acc_retain, D_r). 9 printed rows × 4 values.
//   - table2: OSP ("Ours") against Retrain, SSD, EMNI and TF-IDF (printed
//     "TD-IDF") on every dataset × architecture: acc_forget, acc_retain,
//     unlearning time in seconds and the SVM membership-inference attack's
//     success (mia). 15 printed rows × 12 values.
//   - table3a: ResNet-18 on CIFAR-10, OSP at pruning ratios 0.01 to 0.05 on
//     the orthogonal and the original (plain) model: acc_forget and
//     acc_retain. 5 printed rows × 4 values.
//   - table3b: ResNet-18 on CIFAR-10, orthogonal model, OSP at pruning
//     strengths 1.0 down to 0.2: acc_forget and acc_retain. 9 printed rows
//     × 2 values.
//   - appendix_a: CIFAR-10, every class forgotten in turn, on the
//     orthogonal ResNet-18, ResNet-50 and VGG-16 (three untitled tables):
//     the raw model, the pruned model and the pruned model after a short
//     fine-tuning (3 to 5 epochs, says the prose), acc_forget and
//     acc_retain of each, and a time. 3 × 10 printed rows × 7 values.
//
// The text lost its math: the D_u / D_r column headers, the tables'
// captions and the settings in them are gone. Describe gives, per table,
// what is printed, what was inferred and from which evidence (for example
// CIFAR-10's forget class 1, and the architecture of each Appendix A
// table, both read off numbers that recur across tables).
//
// # Keys
//
// Every value is keyed with Lethe's own names, so that a report cell's
// dimension labels can look it up directly:
//
//	dataset   cifar10, cifar100, tinyimagenet (the spec's dataset block names)
//	arch      resnet18, resnet50, vgg16_bn (the paper's VGG-16)
//	model     ortho or plain: the train block the shipped specs name so
//	method    original (the model before unlearning), osp, retrain, ssd,
//	          emni, tfidf, finetune (Appendix A's fine-tuning after OSP)
//	forget    the forgotten class, e.g. 1 (Lethe labels it [1])
//	ratio     OSP's pruning ratio ρ
//	strength  OSP's pruning strength s
//
// and the metric: acc_forget, acc_retain, mia, time. A value keeps the
// number and unit as printed (97.60% is 97.6 percent, 4360.8s is 4360.8
// seconds); Value.In converts it for a renderer that shows fractions.
//
// Lookup matches a value whose keys agree with every key of the query that
// the value has. Keys the value lacks (the paper did not state or vary
// them, such as seed, width or CIFAR-100's forget class) do not prevent a
// match; a query that leaves out a key in which rows differ (asking Table 2
// without a method) matches several values and finds none.
package paper
